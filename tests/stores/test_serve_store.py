"""`bifrost serve` with its config store: start-up refusals and reconciliation, through the real process.

Each test starts the real gateway (tests/conftest.py Gateway) against a real `bifrost mock` upstream;
the store is SQLite in the app dir, or the real PostgreSQL.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from bifrost.config.loader import parse_config
from bifrost.stores.config import SqlConfigStore, open_config_store
from conftest import Gateway, Mock, openai_provider

KEY_ENV = {"BIFROST_ENCRYPTION_KEY": "serve-test-passphrase-0001"}
NO_KEY = {"BIFROST_ENCRYPTION_KEY": ""}


def exited(gw: Gateway, timeout: float = 30) -> tuple[int, list[str]]:
    """Wait for a gateway that must refuse to start; its exit code and error lines."""
    code = gw.proc.p.wait(timeout)
    gw.stop()
    return code, [r["message"] for r in gw.logs() if r.get("level") in ("error", "fatal")]


def _gateway_in(app_dir: Path, tmp: Path, config: dict[str, Any], env: dict[str, str]) -> Gateway:
    """A Gateway whose app dir is `app_dir` (the harness makes a new one per instance)."""
    (app_dir / "config.json").write_text(json.dumps(config))
    gw = Gateway.__new__(Gateway)
    from conftest import PY, Proc, free_port

    gw.port = free_port()
    gw.url = f"http://127.0.0.1:{gw.port}"
    gw.app_dir = app_dir
    gw.proc = Proc([PY, "-m", "bifrost", "serve", "--app-dir", str(app_dir), "--host", "127.0.0.1",
                    "--port", str(gw.port), "--log-style", "json"], tmp / f"gw-{gw.port}.log",
                   env={"OPENAI_API_KEY": "", **env})
    return gw


def test_unset_encryption_key_variable_stops_start_up_with_the_exact_message(tmp_path: Path) -> None:
    gw = Gateway(tmp_path, {"encryption_key": "env.BIFROST_ENCRYPTION_KEY", "providers": {}}, env=NO_KEY, wait=False)
    code, errors = exited(gw)
    assert code != 0
    assert errors[0] == "encryption key is required: BIFROST_ENCRYPTION_KEY is not set (referenced by encryption_key)"
    assert "set it, or remove encryption_key" in errors[1]


def test_no_key_starts_with_bifrosts_plaintext_warning(tmp_path: Path) -> None:
    gw = Gateway(tmp_path, {"providers": {}}, env=NO_KEY)
    try:
        warnings = [r["message"] for r in gw.logs() if r.get("level") == "warn"]
        assert any(w.startswith("encryption key is not set, encryption will be disabled") for w in warnings)
        assert (gw.app_dir / "config.db").exists()
    finally:
        assert gw.stop() == 0


def test_encrypted_store_then_missing_or_wrong_key_refuses_to_start_and_keeps_the_data(tmp_path: Path) -> None:
    config = {"providers": {"openai": {"keys": [{"name": "k", "value": "sk-secret-1", "models": [], "weight": 1}]}}}
    gw = Gateway(tmp_path, config, env=KEY_ENV)
    assert gw.stop() == 0
    app_dir = gw.app_dir
    db_before = (app_dir / "config.db").read_bytes()
    assert b"sk-secret-1" not in db_before

    code, errors = exited(_gateway_in(app_dir, tmp_path, config, NO_KEY))
    assert code == 1
    assert "holds encrypted secrets but no encryption key is given: set BIFROST_ENCRYPTION_KEY" in errors[-1]
    code, errors = exited(_gateway_in(app_dir, tmp_path, config, {"BIFROST_ENCRYPTION_KEY": "not-the-same-key-42"}))
    assert code == 1
    assert errors[-1].startswith("wrong encryption key: the config store (")
    assert "Start again with the original key" in errors[-1]

    gw = _gateway_in(app_dir, tmp_path, config, KEY_ENV)  # the right key still opens it
    gw.wait_ready()
    assert gw.stop() == 0


def _requests_auth(mock: Mock) -> list[str]:
    return [r["headers"].get("authorization", "") for r in mock.requests("/v1/chat/completions")]


def _chat(gw: Gateway) -> None:
    gw.openai().chat.completions.create(model="openai/gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])


def test_api_edit_survives_restart_and_a_file_change_wins(
        store_section: dict[str, Any], mock: Mock, tmp_path: Path) -> None:
    provider = openai_provider(mock)
    config = {"config_store": store_section, "providers": {"openai": provider}}
    app_dir = tmp_path / "app"
    app_dir.mkdir()
    mock.reset()
    gw = _gateway_in(app_dir, tmp_path, config, KEY_ENV)
    gw.wait_ready()
    _chat(gw)
    assert gw.stop() == 0
    assert _requests_auth(mock) == ["Bearer sk-mock-1"]

    async def api_edit() -> None:  # what a management API write does: no file hash
        cfg = parse_config({**config, "encryption_key": KEY_ENV["BIFROST_ENCRYPTION_KEY"]}, {}, source="t").config
        store = await open_config_store(cfg, app_dir, warn=False)
        assert isinstance(store, SqlConfigStore)
        body = (await store.get_providers())["openai"]
        body["keys"][0]["value"] = "sk-edited-by-api"
        await store.put_provider("openai", body)
        await store.close()
    asyncio.run(api_edit())

    mock.reset()
    gw = _gateway_in(app_dir, tmp_path, config, KEY_ENV)
    gw.wait_ready()
    _chat(gw)
    assert gw.stop() == 0
    assert _requests_auth(mock) == ["Bearer sk-edited-by-api"]

    provider["keys"][0]["value"] = "sk-file-changed"
    mock.reset()
    gw = _gateway_in(app_dir, tmp_path, config, KEY_ENV)
    gw.wait_ready()
    _chat(gw)
    assert gw.stop() == 0
    assert _requests_auth(mock) == ["Bearer sk-file-changed"]
    assert "provider openai was updated in config.json, syncing. Note that: file config takes precedence." in [
        r["message"] for r in gw.logs()]
