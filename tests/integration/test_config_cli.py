"""`python -m bifrost serve|version` as a subprocess: config validation, env.VAR, environment-only
start, and the BIFROST_* environment equivalents of the command-line flags."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

import bifrost
from conftest import PY, Gateway, Mock, Proc, free_port, http, openai_provider

pytestmark = pytest.mark.integration

MSGS = [{"role": "user", "content": "hi"}]
# Variables that would change what the gateway under test does.
CLEAN = {k: "" for k in ("OPENAI_API_KEY", "GROQ_API_KEY", "BIFROST_PORT", "BIFROST_HOST", "BIFROST_APP_DIR",
                         "BIFROST_LOG_LEVEL", "BIFROST_LOG_STYLE")}


def serve_once(app_dir: Path, env: dict[str, str] | None = None, *args: str,
               timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """Run `bifrost serve` expecting it to exit by itself (bad config or environment)."""
    return subprocess.run(
        [PY, "-m", "bifrost", "serve", "--app-dir", str(app_dir), "--host", "127.0.0.1",
         "--port", str(free_port()), *args],
        env={**os.environ, **CLEAN, **(env or {})}, capture_output=True, text=True, timeout=timeout,
    )


def json_lines(text: str) -> list[dict[str, Any]]:
    out = []
    for line in text.splitlines():
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if isinstance(obj, dict):
            out.append(obj)
    return out


def messages(g: Gateway, level: str | None = None) -> list[str]:
    return [r["message"] for r in g.logs() if level is None or r.get("level") == level]


# --------------------------------------------------------------------------- invalid config

def test_invalid_config_one_line_per_problem(tmp_path: Path) -> None:
    cfg = {
        "client": {"drop_excess_requests": "yes"},
        "providers": {
            "openai": {"keys": [{"value": "sk-1", "weight": "heavy"}],
                       "network_config": {"max_retries": "three", "base_url": "ftp://example.test"}},
            "notaprovider": {"keys": []},
        },
    }
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    r = serve_once(tmp_path)
    assert r.returncode != 0
    out = r.stdout + r.stderr
    errors = [x["message"] for x in json_lines(out) if x.get("level") == "error"]
    expected_paths = [
        "$.client.drop_excess_requests",
        "$.providers.openai.keys[0].weight",
        "$.providers.openai.network_config.max_retries",
        "$.providers.openai.network_config.base_url",
        "$.providers.notaprovider",
    ]
    for path in expected_paths:
        lines = [m for m in errors if m.strip().startswith(path + ":")]
        assert len(lines) == 1, (path, errors)
    assert any("5 problem(s)" in m for m in errors), errors
    retries = next(m for m in errors if "max_retries" in m)
    assert "integer" in retries and '"three"' in retries
    assert "successfully started" not in out


def test_malformed_json_file(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text('{"providers": {"openai": {"keys": [}}')
    r = serve_once(tmp_path)
    assert r.returncode != 0
    errors = [x["message"] for x in json_lines(r.stdout + r.stderr) if x.get("level") == "error"]
    assert any("not valid JSON" in m for m in errors), errors
    assert any(str(tmp_path / "config.json") in m for m in errors), errors


def test_config_not_an_object(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("[1, 2]")
    r = serve_once(tmp_path)
    assert r.returncode != 0
    assert "expected an object" in r.stdout + r.stderr


# --------------------------------------------------------------------------- warnings only

def test_unknown_keys_only_warn(tmp_path: Path, mock: Mock) -> None:
    provider = openai_provider(mock)
    provider["network_config"]["retry_backof_initial"] = 100  # typo
    cfg = {"providers": {"openai": provider}, "not_a_setting": True, "mcp": {}}
    g = Gateway(tmp_path, cfg)
    try:
        warns = messages(g, "warn")
        assert any("$.not_a_setting" in m and "unknown key" in m for m in warns), warns
        assert any("$.providers.openai.network_config.retry_backof_initial" in m for m in warns), warns
        # A real Bifrost setting that is not implemented is a notice, not a warning.
        assert any("$.mcp" in m for m in messages(g, "info"))
        resp = g.openai().chat.completions.create(model="openai/gpt-4o-mini", messages=MSGS)
        assert resp.choices[0].message.content
    finally:
        assert g.stop() == 0


def test_env_var_unset(tmp_path: Path, mock: Mock) -> None:
    var, url_var = "BIFROST_TEST_SURELY_UNSET_KEY", "BIFROST_TEST_SURELY_UNSET_URL"
    assert var not in os.environ and url_var not in os.environ
    provider = openai_provider(mock)
    provider["keys"][0]["value"] = f"env.{var}"
    other = {"keys": [{"name": "c", "value": "sk-c"}], "network_config": {"base_url": f"env.{url_var}"},
             "custom_provider_config": {"base_provider_type": "openai"}}
    g = Gateway(tmp_path, {"providers": {"openai": provider, "my-llm": other}})
    cases = {"openai": f"env.{var}: not set (providers.openai.keys[0].value)",
             "my-llm": f"env.{url_var}: not set (providers.my-llm.network_config.base_url)"}
    try:
        warns = messages(g, "warn")
        mock.reset()
        for name, expected in cases.items():
            assert expected in warns, g.proc.output()
            status, _, raw = http("POST", g.url + "/v1/chat/completions",
                                  {"model": f"{name}/gpt-4o-mini", "messages": MSGS})
            err = json.loads(raw)
            assert status >= 400 and err["status_code"] == status
            assert expected in err["error"]["message"]
        assert mock.requests("/v1/chat/completions") == []
        assert http("GET", g.url + "/health")[0] == 200
    finally:
        g.stop()


def test_env_var_set_is_used(tmp_path: Path, mock: Mock) -> None:
    provider = openai_provider(mock)
    provider["keys"][0]["value"] = "env.BIFROST_TEST_KEY_VALUE"
    g = Gateway(tmp_path, {"providers": {"openai": provider}}, env={"BIFROST_TEST_KEY_VALUE": "sk-from-env"})
    try:
        mock.reset()
        g.openai().chat.completions.create(model="openai/gpt-4o-mini", messages=MSGS)
        [got] = mock.requests("/v1/chat/completions")
        assert got["headers"]["authorization"] == "Bearer sk-from-env"
    finally:
        g.stop()


def test_no_config_file_uses_environment(tmp_path: Path) -> None:
    g = Gateway(tmp_path, None, env={"OPENAI_API_KEY": "sk-not-a-real-key"})
    try:
        infos = messages(g, "info")
        assert any("no config.json" in m and "openai (OPENAI_API_KEY)" in m for m in infos), infos
        status, _, raw = http("POST", g.url + "/v1/chat/completions", {"model": "bogus/gpt-4o", "messages": MSGS})
        err = json.loads(raw)
        assert status == 400
        assert "bogus" in err["error"]["message"]
        assert "configured: " in err["error"]["message"] and "openai" in err["error"]["message"]
    finally:
        g.stop()


# --------------------------------------------------------------------------- CLI and environment

def test_version_command() -> None:
    r = subprocess.run([PY, "-m", "bifrost", "version"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0
    assert r.stdout.strip() == f"bifrost {bifrost.__version__}"


def test_env_port_and_pretty_log_style(tmp_path: Path, mock: Mock) -> None:
    app_dir = tmp_path / "app"
    app_dir.mkdir()
    (app_dir / "config.json").write_text(json.dumps({"providers": {"openai": openai_provider(mock)}}))
    port = free_port()
    env = {**CLEAN, "BIFROST_PORT": str(port), "BIFROST_HOST": "127.0.0.1", "BIFROST_APP_DIR": str(app_dir),
           "BIFROST_LOG_STYLE": "pretty"}
    proc = Proc([PY, "-m", "bifrost", "serve"], tmp_path / "gw.log", env=env)
    try:
        deadline = time.monotonic() + 20
        while "successfully started" not in proc.output():
            assert proc.p.poll() is None, proc.output()
            assert time.monotonic() < deadline, proc.output()
            time.sleep(0.05)
        assert http("GET", f"http://127.0.0.1:{port}/health")[0] == 200
        lines = [ln for ln in proc.output().splitlines() if ln.strip()]
        assert lines and json_lines(proc.output()) == []  # pretty style: no JSON lines
        assert any("INFO" in ln and f"http://127.0.0.1:{port}" in ln for ln in lines), lines
        assert any(str(app_dir) in ln for ln in lines), lines
    finally:
        assert proc.stop() == 0


@pytest.mark.parametrize(("var", "value"), [("BIFROST_LOG_LEVEL", "loud"), ("BIFROST_LOG_STYLE", "fancy"),
                                            ("BIFROST_PORT", "99999")])
def test_invalid_env_setting_exits(tmp_path: Path, var: str, value: str) -> None:
    r = serve_once(tmp_path, {var: value})
    assert r.returncode != 0
    assert var in r.stderr and value in r.stderr
    # says what is wrong and what to use instead
    assert ("is not valid" in r.stderr or "is not a valid" in r.stderr) and "use " in r.stderr
    if var == "BIFROST_LOG_LEVEL":
        assert all(level in r.stderr for level in ("debug", "info", "warn", "error"))
    assert not (tmp_path / "config.json").exists()
