"""`/anthropic/v1/messages`: the Anthropic Messages API in front of any configured provider.

The Anthropic SDK's request is translated to the neutral (OpenAI chat) format, routed like any
other request (`model` may name any provider: "openai/gpt-4o-mini" works), and the answer is
translated back: JSON, the exact SSE event sequence, and Anthropic's error shape. The SDK's
`x-api-key` is the client's credential to the gateway and is never sent upstream.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import msgspec

from bifrost.engine.core import Engine
from bifrost.providers.anthropic.translate import (
    ChatStreamToMessages,
    chat_response_to_messages,
    error_body,
    messages_to_chat,
)
from bifrost.schemas import inference as I
from bifrost.schemas.errors import BifrostError, RequestError
from bifrost.schemas.inference import InferenceRequest, InferenceStream
from bifrost.server.asgi import JSON_HEADERS, Receive, Scope, Send, error_headers, read_body, send_bytes, stream_sse
from bifrost.server.inference import new_context

_decode = msgspec.json.decode
_encode = msgspec.json.encode


async def send_anthropic_error(send: Send, err: BifrostError) -> int:
    await send_bytes(send, err.status, _encode(error_body(err.status, err.message)), error_headers(err))
    return err.status


def _parse(engine: Engine, raw: bytes) -> tuple[InferenceRequest, str]:
    try:
        body = _decode(raw)
    except msgspec.DecodeError as exc:
        raise RequestError(f"invalid request format: {exc}; the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise RequestError("invalid request format: the body must be a JSON object")
    if not isinstance(body.get("messages"), list):
        raise RequestError("messages: Field required (an array of messages)", param="messages")
    if not isinstance(body.get("max_tokens"), int) or isinstance(body.get("max_tokens"), bool):
        raise RequestError("max_tokens: Field required (an integer)", param="max_tokens")
    target = engine.resolve(body.get("model"))
    model: str = body["model"]
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise RequestError("stream must be true or false", param="stream")
    rt = engine.runtimes.get(target.provider)
    native = rt is not None and rt.config.base_type == "anthropic"
    try:
        chat = messages_to_chat(body, native=native)
    except ValueError as exc:
        raise RequestError(str(exc)) from None
    chat.pop("model", None)
    req = InferenceRequest(request_type=I.CHAT, target=target, body=chat, stream=stream,
                           model_requested=model, client_wants_usage=True)
    return req, model


async def messages_route(state: Any, scope: Scope, receive: Receive, send: Send) -> int:
    """POST /anthropic/v1/messages: method, body limit and errors all answered in Anthropic's shape."""
    if scope["method"] != "POST":
        err = RequestError(f"method not allowed on {scope['path']}; use POST", status=405)
        return await send_anthropic_error(send, err)
    try:
        raw = await read_body(scope, receive, state.max_body)
    except RequestError as exc:
        return await send_anthropic_error(send, exc)
    return await handle_messages(state.engine, raw, scope, receive, send)


async def handle_messages(engine: Engine, raw: bytes, scope: Scope, receive: Receive, send: Send) -> int:
    try:
        req, model = _parse(engine, raw)
        result = await engine.handle(req, new_context(scope))
    except BifrostError as exc:
        return await send_anthropic_error(send, exc)
    if isinstance(result, InferenceStream):
        await stream_sse(send, receive, _events(result, model), on_error=_sse_error)
        return 200
    try:
        chat = _decode(result.body)
    except msgspec.DecodeError:
        return await send_anthropic_error(send, BifrostError("the provider's answer was not JSON", status=502))
    await send_bytes(send, 200, _encode(chat_response_to_messages(chat, model)), JSON_HEADERS)
    return 200


async def _events(stream: InferenceStream, model: str) -> AsyncIterator[bytes]:
    conv = ChatStreamToMessages(model)
    events = stream.events
    try:
        async for ev in events:
            if ev.data == b"[DONE]" or ev.data[:1] != b"{":
                continue
            chunk: Any = _decode(ev.data)
            for kind, data in conv.feed(chunk):
                yield _sse(kind, data)
        for kind, data in conv.finish():
            yield _sse(kind, data)
    finally:
        aclose = getattr(events, "aclose", None)
        if aclose is not None:
            await aclose()


def _sse(kind: str, data: dict[str, Any]) -> bytes:
    return b"event: " + kind.encode() + b"\ndata: " + _encode(data) + b"\n\n"


def _sse_error(err: BifrostError) -> bytes:
    return _sse("error", error_body(err.status, err.message))


async def count_tokens_route(state: Any, scope: Scope, receive: Receive, send: Send) -> int:
    """POST /anthropic/v1/messages/count_tokens: Anthropic's own count when the target is an
    Anthropic provider; otherwise an estimate (about 4 characters per token) of the text sent."""
    if scope["method"] != "POST":
        return await send_anthropic_error(send, RequestError("method not allowed; use POST", status=405))
    try:
        raw = await read_body(scope, receive, state.max_body)
        body = _decode(raw)
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            raise RequestError("messages: Field required (an array of messages)", param="messages")
        engine: Engine = state.engine
        target = engine.resolve(body.get("model"))
        provider, key = engine.provider_and_key(target)
        count = getattr(provider, "count_tokens", None)
        if count is not None:
            n = await count({**body, "model": target.model}, key)
        else:
            n = estimate_tokens(body)
    except msgspec.DecodeError as exc:
        return await send_anthropic_error(send, RequestError(f"invalid request format: {exc}"))
    except BifrostError as exc:
        return await send_anthropic_error(send, exc)
    await send_bytes(send, 200, _encode({"input_tokens": n}), JSON_HEADERS)
    return 200


def estimate_tokens(body: dict[str, Any]) -> int:
    """A rough count for providers that have no counting endpoint: ~4 characters per token."""
    parts = [body.get("system"), body.get("messages"), body.get("tools")]
    return max(1, len(_encode([p for p in parts if p])) // 4)


async def models_route(state: Any, scope: Scope, receive: Receive, send: Send) -> int:
    """GET /anthropic/v1/models: every configured provider's models, ids `provider/model`."""
    engine: Engine = state.engine
    data = []
    for name, rt in engine.runtimes.items():
        if rt.provider is None or not rt.provider.supports("list_models", False):
            continue
        try:
            models = await engine.list_models(name)
        except BifrostError:
            continue
        for m in models:
            mid = f"{name}/{m['id']}"
            data.append({"type": "model", "id": mid, "display_name": m.get("display_name") or mid,
                         "created_at": "1970-01-01T00:00:00Z"})
    doc = {"data": data, "has_more": False, "first_id": data[0]["id"] if data else None,
           "last_id": data[-1]["id"] if data else None}
    await send_bytes(send, 200, _encode(doc), JSON_HEADERS)
    return 200


ROUTES = {
    "/anthropic/v1/messages": messages_route,
    "/anthropic/v1/messages/count_tokens": count_tokens_route,
    "/anthropic/v1/models": models_route,
}
