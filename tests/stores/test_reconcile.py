"""Reconciling config.json with the config store as Bifrost does (`source_of_truth`), on SQLite and PostgreSQL.

Each "restart" is a fresh open of the store with the file as it then is, exactly what `bifrost serve`
does at start (`prepare_config`); an "API edit" is a store write without a file hash.
"""

from __future__ import annotations

import asyncio
import copy
import logging
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bifrost.config.loader import ConfigInvalid, LoadResult, load_config, parse_config
from bifrost.stores.config import SqlConfigStore, open_config_store
from bifrost.stores.config import tables as T
from bifrost.stores.config.reconcile import effective_config, open_for_server, prepare_config, sync

ENV = {"MY_OPENAI_KEY": "sk-from-env"}


def file_config(section: dict[str, Any]) -> dict[str, Any]:
    return {
        "config_store": section,
        "encryption_key": "reconcile-test-passphrase-01",
        "client": {"drop_excess_requests": False, "initial_pool_size": 100},
        "providers": {
            "openai": {"keys": [{"name": "file-key", "value": "sk-file-1", "models": [], "weight": 1}],
                       "network_config": {"base_url": "http://127.0.0.1:9/v1"}},
            "anthropic": {"keys": [{"name": "env-key", "value": "env.MY_OPENAI_KEY", "models": [], "weight": 1}]},
        },
        "plugins": [{"name": "telemetry", "enabled": True, "config": {}}],
    }


def restart(raw: dict[str, Any], tmp: Path, env: dict[str, str] | None = None) -> LoadResult:
    """One start-up: load the file, open + reconcile the store, build the effective config."""
    env = ENV if env is None else env
    return asyncio.run(prepare_config(parse_config(raw, env, source="config.json").config, tmp, env))


def api(raw: dict[str, Any], tmp: Path, fn: Any) -> Any:
    """Run `fn(store)` against the store between restarts, as a management API write would."""
    async def body() -> Any:
        store = await open_config_store(parse_config(raw, ENV, source="t").config, tmp, warn=False)
        assert isinstance(store, SqlConfigStore)
        try:
            return await fn(store)
        finally:
            await store.close()
    return asyncio.run(body())


def key_value(res: LoadResult, provider: str) -> str:
    return res.config.providers[provider].keys[0].value


def test_empty_store_is_bootstrapped_from_the_file(store_section: dict[str, Any], tmp_path: Path) -> None:
    raw = file_config(store_section)
    res = restart(raw, tmp_path)
    assert key_value(res, "openai") == "sk-file-1"
    assert key_value(res, "anthropic") == "sk-from-env"
    assert res.config.client.initial_pool_size == 100
    providers = api(raw, tmp_path, lambda s: s.get_providers())
    assert providers["openai"] == raw["providers"]["openai"]
    assert api(raw, tmp_path, lambda s: s.get_plugins()) == raw["plugins"]

    async def anthropic_row(store: SqlConfigStore) -> str:
        async with store.db.engine.connect() as conn:
            return str((await conn.execute(select(T.keys.c.value).where(T.keys.c.provider == "anthropic"))).scalar())
    assert api(raw, tmp_path, anthropic_row) == "env.MY_OPENAI_KEY"  # the reference, never the value
    # The variable's value is read at each start: a changed value needs no store change.
    assert key_value(restart(raw, tmp_path, {"MY_OPENAI_KEY": "sk-rotated"}), "anthropic") == "sk-rotated"


def test_api_edits_survive_a_restart_with_an_unchanged_file(store_section: dict[str, Any], tmp_path: Path) -> None:
    raw = file_config(store_section)
    restart(raw, tmp_path)
    edited = copy.deepcopy(raw["providers"]["openai"])
    edited["keys"][0]["value"] = "sk-edited-through-api"

    async def edit(store: SqlConfigStore) -> None:
        await store.put_provider("openai", edited)
        await store.put_provider("groq", {"keys": [{"name": "g", "value": "gsk-api", "models": [], "weight": 1}]})
        await store.put_client_config({"drop_excess_requests": True, "initial_pool_size": 7})
    api(raw, tmp_path, edit)
    res = restart(raw, tmp_path)
    assert key_value(res, "openai") == "sk-edited-through-api"
    assert key_value(res, "groq") == "gsk-api"
    assert res.config.client.drop_excess_requests is True and res.config.client.initial_pool_size == 7

    async def unchanged(store: SqlConfigStore) -> int:
        return await sync(store, raw, "split")
    assert api(raw, tmp_path, unchanged) == 0  # nothing changed: start-up writes nothing


def test_a_changed_file_entity_wins_and_the_log_says_so(
        store_section: dict[str, Any], tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    raw = file_config(store_section)
    restart(raw, tmp_path)

    async def edit(store: SqlConfigStore) -> None:
        body = copy.deepcopy(raw["providers"]["openai"])
        body["keys"].append({"name": "api-only-key", "value": "sk-api", "models": [], "weight": 1})
        await store.put_provider("openai", body)
        await store.put_provider("groq", {"keys": [{"name": "g", "value": "gsk-api", "models": [], "weight": 1}]})
        await store.put_client_config({"initial_pool_size": 7})
    api(raw, tmp_path, edit)
    raw["providers"]["openai"]["keys"][0]["value"] = "sk-file-2"
    raw["client"]["initial_pool_size"] = 200
    with caplog.at_level(logging.INFO, logger="bifrost.stores"):
        res = restart(raw, tmp_path)
    assert [k.value for k in res.config.providers["openai"].keys] == ["sk-file-2"]  # the API-only key is dropped
    assert res.config.client.initial_pool_size == 200
    assert "provider openai was updated in config.json, syncing. Note that: file config takes precedence." \
        in caplog.text
    assert "client config was updated in config.json, syncing" in caplog.text
    assert "anthropic was updated" not in caplog.text
    assert key_value(res, "groq") == "gsk-api"  # created through the API, not in the file: kept (split)


def test_source_of_truth_config_json_makes_file_sections_replace_the_store(
        store_section: dict[str, Any], tmp_path: Path) -> None:
    raw = file_config(store_section)
    restart(raw, tmp_path)

    async def edit(store: SqlConfigStore) -> None:
        await store.put_provider("groq", {"keys": [{"name": "g", "value": "gsk-api", "models": [], "weight": 1}]})
        await store.put_plugin("extra", {"name": "extra", "enabled": True})
    api(raw, tmp_path, edit)
    raw["source_of_truth"] = "config.json"
    del raw["plugins"]  # an absent section leaves the store alone
    res = restart(raw, tmp_path)
    assert sorted(res.config.providers) == ["anthropic", "openai"]
    assert sorted(p["name"] for p in api(raw, tmp_path, lambda s: s.get_plugins())) == ["extra", "telemetry"]
    raw["providers"] = {}  # a present, empty section prunes
    assert restart(raw, tmp_path).config.providers == {}


def test_an_invalid_source_of_truth_is_a_config_problem(store_section: dict[str, Any], tmp_path: Path) -> None:
    raw = {**file_config(store_section), "source_of_truth": "database"}
    with pytest.raises(ConfigInvalid) as err:
        restart(raw, tmp_path)
    assert err.value.problems == ['$.source_of_truth: expected "split" or "config.json", found "database"']


def test_without_config_json_the_store_is_sqlite_in_the_app_dir_holding_env_references(tmp_path: Path) -> None:
    env = {"OPENAI_API_KEY": "sk-env-openai"}
    loaded = load_config(tmp_path, env)
    res = asyncio.run(prepare_config(loaded.config, tmp_path, env))
    assert key_value(res, "openai") == "sk-env-openai"
    assert (tmp_path / "config.db").exists()
    providers = api({}, tmp_path, lambda s: s.get_providers())
    assert providers["openai"]["keys"][0]["value"] == "env.OPENAI_API_KEY"


def test_file_only_mode_uses_the_file_and_writes_no_database(tmp_path: Path) -> None:
    raw = {**file_config({"enabled": False})}
    res = restart(raw, tmp_path)
    assert key_value(res, "openai") == "sk-file-1"
    assert not (tmp_path / "config.db").exists()

    async def memory() -> None:
        store = await open_config_store(res.config, tmp_path)
        result = await effective_config(store, res.config, ENV)
        assert sorted(await store.get_providers()) == ["anthropic", "openai"]
        assert sorted(result.config.providers) == ["anthropic", "openai"]
        served = await open_for_server(res.config, tmp_path)  # what AppState.startup holds
        assert (await served.get_providers())["openai"] == raw["providers"]["openai"]
        assert await served.get_client_config() == raw["client"]
    asyncio.run(memory())


def test_the_server_state_holds_the_opened_store_from_startup_to_shutdown(tmp_path: Path) -> None:
    from bifrost.server.app import AppState

    raw = file_config({"enabled": True, "type": "sqlite"})
    res = restart(raw, tmp_path)

    async def lifecycle() -> None:
        state = AppState(res.config, app_dir=tmp_path)
        assert state.config_store is None
        await state.startup()
        try:
            assert isinstance(state.config_store, SqlConfigStore)
            assert sorted(await state.config_store.get_providers()) == ["anthropic", "openai"]
        finally:
            await state.shutdown()
    asyncio.run(lifecycle())
    assert (tmp_path / "config.db").exists()
