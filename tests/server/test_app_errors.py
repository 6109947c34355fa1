"""A bug inside a request costs that request a clear 500, never the process or a hung client."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from bifrost.config.model import GatewayConfig, Key, NetworkConfig, ProviderConfig
from bifrost.server.app import AppState, create_app


def _state() -> AppState:
    p = ProviderConfig(name="openai", keys=(Key(name="k", value="sk"),),
                       network=NetworkConfig(base_url="http://127.0.0.1:9"))
    return AppState(GatewayConfig(providers={"openai": p}))


async def _call(app: Any, path: str, body: bytes) -> tuple[int, dict[str, Any]]:
    sent: list[dict[str, Any]] = []
    msgs = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> dict[str, Any]:
        if msgs:
            return msgs.pop(0)
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(m: dict[str, Any]) -> None:
        sent.append(m)

    scope = {"type": "http", "method": "POST", "path": path, "headers": [], "query_string": b""}
    await app(scope, receive, send)
    status = sent[0]["status"]
    return status, json.loads(b"".join(m.get("body", b"") for m in sent[1:]))


def test_unexpected_exception_in_engine_is_a_500_in_bifrost_shape() -> None:
    state = _state()

    async def broken(req: Any, ctx: Any) -> Any:
        raise KeyError("boom")

    state.engine.handle = broken  # type: ignore[method-assign]
    app = create_app(state)
    body = b'{"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}'
    status, doc = asyncio.run(_call(app, "/v1/chat/completions", body))
    assert status == 500
    assert doc["status_code"] == 500 and doc["error"]["type"] == "internal_error"
    assert "gateway log" in doc["error"]["message"]
    # and the next request on the same app is served normally
    status, doc = asyncio.run(_call(app, "/v1/chat/completions", b"{"))
    assert status == 400 and "invalid request format" in doc["error"]["message"]
