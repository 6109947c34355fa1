"""OpenAI-compatible inference routes: parse just what routing needs, hand the rest on untouched."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from typing import Any

import msgspec

from bifrost.engine.core import Engine
from bifrost.engine.pipeline import RequestContext
from bifrost.governance.plugin import CTX_VK, vk_from_headers
from bifrost.schemas import inference as I
from bifrost.schemas.errors import BifrostError, RequestError
from bifrost.schemas.inference import InferenceRequest, InferenceStream, StreamEvent, Target
from bifrost.server.asgi import JSON_HEADERS, Receive, Scope, Send, send_bytes, stream_sse

_decode = msgspec.json.decode
_encode = msgspec.json.encode
_ids = itertools.count(1)

# Per request type: the field that must be present and a description of its type.
REQUIRED: dict[str, tuple[str, type | tuple[type, ...], str]] = {
    I.CHAT: ("messages", list, "an array of messages"),
    I.TEXT: ("prompt", (str, list), "a string or an array"),
    I.EMBEDDING: ("input", (str, list), "a string or an array"),
    I.RESPONSES: ("input", (str, list), "a string or an array of input items"),
    I.RERANK: ("query", str, "a string"),
}
# Further fields a request type requires, checked after the first.
MORE_REQUIRED: dict[str, tuple[tuple[str, type | tuple[type, ...], str], ...]] = {
    I.RERANK: (("documents", list, "an array of strings or {\"text\": ...} objects"),),
}
NAMES = {I.CHAT: "chat completion", I.TEXT: "text completion", I.EMBEDDING: "embedding",
         I.RESPONSES: "responses", I.RERANK: "rerank"}
DONE = b"data: [DONE]\n\n"


def parse_request(engine: Engine, request_type: str, raw: bytes, scope: Scope,
                  ctx: RequestContext | None = None) -> InferenceRequest:
    """Validate the body enough to route it; every problem names the field and the fix."""
    try:
        body = _decode(raw)
    except msgspec.DecodeError as exc:
        raise RequestError(f"invalid request format: {exc}; the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise RequestError("invalid request format: the body must be a JSON object")
    for field, types, desc in (REQUIRED[request_type], *MORE_REQUIRED.get(request_type, ())):
        value = body.get(field)
        if value is None:
            raise RequestError(f"{field} is required for {NAMES[request_type]}", param=field)
        if not isinstance(value, types):
            raise RequestError(f"{field} must be {desc}", param=field)
    model = body.pop("model", None)
    fallbacks = _fallbacks(engine, body.pop("fallbacks", None))
    routed = _vk_route(engine, model, ctx)
    if routed is not None:
        target, more = routed
        fallbacks = fallbacks or more
    else:
        target = engine.resolve(model)
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise RequestError("stream must be true or false", param="stream")
    if request_type in (I.EMBEDDING, I.RERANK) and stream:
        what = "embeddings" if request_type == I.EMBEDDING else "rerank"
        raise RequestError(f"stream is not supported for {what}", param="stream")
    so = body.get("stream_options")
    wants_usage = isinstance(so, dict) and so.get("include_usage") is True
    return InferenceRequest(
        request_type=request_type, target=target, body=body, stream=stream, fallbacks=fallbacks,
        extra_headers=_forwarded_headers(scope), model_requested=model, client_wants_usage=wants_usage,
    )


def _vk_route(engine: Engine, model: Any, ctx: RequestContext | None) -> tuple[Target, list[Target]] | None:
    """A bare model with a virtual key whose provider configs carry weights: the key picks the provider."""
    vk = ctx.values.get(CTX_VK) if ctx is not None else None
    if vk is None or engine.route_hook is None or not isinstance(model, str) or not model:
        return None
    prefix, sep, _ = model.partition("/")
    if sep and prefix in engine.runtimes:
        return None
    return engine.route_hook(vk, model, set(engine.runtimes))


def _fallbacks(engine: Engine, value: Any) -> list[Target]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RequestError('fallbacks must be an array of "provider/model" strings', param="fallbacks")
    return [engine.resolve(v, "fallbacks") for v in value]


def _forwarded_headers(scope: Scope) -> dict[str, str] | None:
    """`x-bf-eh-<name>` request headers are sent upstream as `<name>` (Bifrost's extra headers)."""
    out = None
    for k, v in scope["headers"]:
        if k.startswith(b"x-bf-eh-"):
            if out is None:
                out = {}
            out[k[8:].decode("latin-1")] = v.decode("latin-1")
    return out


def extra_fields(req: InferenceRequest, target: Target, fallback_index: int, latency_ms: float | None) -> bytes:
    f: dict[str, Any] = {"request_type": req.request_type, "provider": target.provider,
                         "model_requested": target.model}
    if latency_ms is not None:
        f["latency"] = int(latency_ms)
    if fallback_index:
        f["fallback_index"] = fallback_index
    return _encode(f)


def splice(obj: bytes, extra: bytes) -> bytes:
    """Add `"extra_fields": extra` to a JSON object without re-encoding it."""
    end = obj.rfind(b"}")
    if end < 0:
        return obj
    head = obj[:end].rstrip()
    sep = b"" if head.endswith(b"{") else b","
    return head + sep + b'"extra_fields":' + extra + obj[end:]


def new_context(scope: Scope) -> RequestContext:
    ctx = RequestContext(request_id=f"req-{next(_ids)}")
    vk = vk_from_headers(scope["headers"])
    if vk is not None:
        ctx.values[CTX_VK] = vk
    return ctx


async def handle_inference(engine: Engine, request_type: str, raw: bytes, scope: Scope,
                           receive: Receive, send: Send) -> int:
    """Serve one inference request; returns the HTTP status sent. Errors raise BifrostError."""
    ctx = new_context(scope)
    req = parse_request(engine, request_type, raw, scope, ctx)
    result = await engine.handle(req, ctx)
    if isinstance(result, InferenceStream):
        await stream_sse(send, receive, _sse_chunks(req, result), on_error=_sse_error)
        return 200
    extra = extra_fields(req, result.target, result.fallback_index, result.latency_ms)
    headers = JSON_HEADERS
    if result.fallback_index:
        headers = [*JSON_HEADERS, (b"x-bifrost-fallback-index", str(result.fallback_index).encode())]
    await send_bytes(send, 200, splice(result.body, extra), headers)
    return 200


async def _sse_chunks(req: InferenceRequest, stream: InferenceStream) -> AsyncIterator[bytes]:
    """Each upstream event becomes one SSE event with extra_fields; chat/text streams end with [DONE]."""
    target = stream.target
    f: dict[str, Any] = {"request_type": req.request_type, "provider": target.provider,
                         "model_requested": target.model}
    if stream.fallback_index:
        f["fallback_index"] = stream.fallback_index
    prefix = _encode(f)[:-1] + b',"chunk_index":'
    index = 0
    events = stream.events
    try:
        async for ev in events:
            data = ev.data
            if data == b"[DONE]":
                continue
            if data[:1] == b"{":
                data = splice(data, prefix + str(index).encode() + b"}")
            index += 1
            yield _event_bytes(ev, data)
        if req.request_type != I.RESPONSES:
            yield DONE
    finally:
        aclose = getattr(events, "aclose", None)
        if aclose is not None:
            await aclose()


def _event_bytes(ev: StreamEvent, data: bytes) -> bytes:
    if b"\n" in data:
        data = data.replace(b"\n", b"\ndata: ")
    if ev.event:
        return b"event: " + ev.event.encode() + b"\ndata: " + data + b"\n\n"
    return b"data: " + data + b"\n\n"


def _sse_error(err: BifrostError) -> bytes:
    """One error event in Bifrost's error shape, whose `error.message` the OpenAI SDKs raise with."""
    return b"data: " + err.to_json() + b"\n\n"
