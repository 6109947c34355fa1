"""api.bootstrap: before traffic, an empty store is seeded from config.json (or the environment), providers
and client config already in the store run the engine, and invalid stored entries are skipped with a reason.
A store that fails under the API gives a clear 500 and leaves the engine as it was."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bifrost.config.loader import config_from_environment, parse_config
from bifrost.server import api
from bifrost.server.app import AppState
from bifrost.stores.base import MemoryConfigStore


def test_empty_store_is_seeded_from_config_json_with_key_ids() -> None:
    raw = {"client": {"drop_excess_requests": True},
           "providers": {"openai": {"keys": [{"name": "k", "value": "env.X_KEY", "models": ["*"]}]}}}
    state = AppState(parse_config(raw, {"X_KEY": "sk-x"}).config)
    store = MemoryConfigStore()
    state.config_store = store
    asyncio.run(api.bootstrap(state))
    key = store.providers["openai"]["keys"][0]
    assert key["value"] == "env.X_KEY" and key["id"]  # the reference is stored, not the secret
    assert store.client == {"drop_excess_requests": True}


def test_environment_providers_are_stored_as_env_references(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GROQ_API_KEY", "gsk-secret-value")
    state = AppState(config_from_environment({"GROQ_API_KEY": "gsk-secret-value"}).config)
    asyncio.run(api.bootstrap(state))
    assert isinstance(state.config_store, MemoryConfigStore)
    body = state.config_store.providers["groq"]
    assert body["keys"][0]["value"] == "env.GROQ_API_KEY"
    assert state.engine.runtimes["groq"].config.keys[0].value == "gsk-secret-value"


def test_stored_providers_and_client_run_the_engine(caplog: pytest.LogCaptureFixture) -> None:
    state = AppState(parse_config({"providers": {}}, {}).config)
    store = MemoryConfigStore()
    store.providers = {
        "openai": {"keys": [{"id": "1", "name": "k", "value": "sk-stored", "models": ["*"]}],
                   "concurrency_and_buffer_size": {"concurrency": 3, "buffer_size": 4}},
        "mistral": {"keys": [{"name": "k", "value": "x", "weight": -1}]},
    }
    store.client = {"drop_excess_requests": True, "max_request_body_size_mb": 2}
    state.config_store = store
    with caplog.at_level(logging.ERROR, "bifrost.api"):
        asyncio.run(api.bootstrap(state))
    rt = state.engine.runtimes["openai"]
    assert rt.config.keys[0].value == "sk-stored" and rt.queue.concurrency == 3
    assert "mistral" not in state.engine.runtimes
    assert "stored provider mistral is invalid" in caplog.text and "keys[0].weight" in caplog.text
    assert state.engine.client.drop_excess_requests is True and state.max_body == 2 * 1024 * 1024


class _DownStore(MemoryConfigStore):
    async def put_provider(self, name: str, body: dict[str, object]) -> None:
        raise ConnectionRefusedError("connection refused")


def test_store_failure_is_a_clear_500_and_the_engine_is_unchanged() -> None:
    import json

    from bifrost.server.app import create_app

    state = AppState(parse_config({"providers": {}}, {}).config)
    state.config_store = _DownStore()
    sent: list[dict[str, object]] = []
    body = json.dumps({"provider": "openai", "keys": [{"name": "k", "value": "sk-x", "models": ["*"]}]}).encode()
    msgs = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> dict[str, object]:
        return msgs.pop(0) if msgs else {"type": "http.disconnect"}

    async def send(m: dict[str, object]) -> None:
        sent.append(m)

    async def run() -> None:
        await api.bootstrap(state)
        scope = {"type": "http", "method": "POST", "path": "/api/providers", "headers": [], "query_string": b""}
        await create_app(state)(scope, receive, send)

    asyncio.run(run())
    assert sent[0]["status"] == 500
    doc = json.loads(b"".join(m.get("body", b"") for m in sent[1:]))  # type: ignore[misc]
    assert "ConnectionRefusedError" in doc["error"]["message"] and "not applied" in doc["error"]["message"]
    assert "openai" not in state.engine.runtimes
