"""`/cohere/v2/chat`, `/cohere/v2/embed` and `/cohere/v2/rerank`: Cohere's v2 API in front of any
configured provider (rerank: any provider that supports rerank). `/cohere/v1/tokenize` is forwarded to
a Cohere provider's own /v1/tokenize (Bifrost routes it as a count-tokens request; only Cohere answers
in the shape the SDK reads, so any other target is a 400 that says so). Bifrost has no detokenize route.

The Cohere SDK's request is translated to the neutral (OpenAI) format, routed like any other request
(`model` may name any provider: "openai/gpt-4o-mini" works), and the answer is translated back: JSON,
the v2 SSE event sequence, and Cohere's `{"message": ...}` error shape. The SDK's bearer token is the
client's credential to the gateway and is never sent upstream.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import msgspec

from bifrost.engine.core import Engine
from bifrost.providers.cohere.translate import (
    ChatStreamToCohere,
    chat_response_to_cohere,
    cohere_rerank_request,
    cohere_to_chat,
    embed_to_embedding,
    embedding_response_to_cohere,
    error_body,
    rerank_response_to_cohere,
)
from bifrost.schemas import inference as I
from bifrost.schemas.errors import BifrostError, RequestError
from bifrost.schemas.inference import InferenceRequest, InferenceStream
from bifrost.server.asgi import JSON_HEADERS, Receive, Scope, Send, error_headers, read_body, send_bytes, stream_sse
from bifrost.server.inference import new_context

_decode = msgspec.json.decode
_encode = msgspec.json.encode


async def send_cohere_error(send: Send, err: BifrostError) -> int:
    await send_bytes(send, err.status, _encode(error_body(err.status, err.message)), error_headers(err))
    return err.status


def _body(raw: bytes) -> dict[str, Any]:
    try:
        body = _decode(raw)
    except msgspec.DecodeError as exc:
        raise RequestError(f"invalid request: {exc}; the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise RequestError("invalid request: the body must be a JSON object")
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise RequestError("invalid request: model must be a string", param="model")
    return body


def _native(engine: Engine, provider: str) -> bool:
    rt = engine.runtimes.get(provider)
    return rt is not None and rt.config.base_type == "cohere"


async def _read(state: Any, scope: Scope, receive: Receive, send: Send) -> bytes | int:
    if scope["method"] != "POST":
        return await send_cohere_error(send, RequestError(f"method not allowed on {scope['path']}; use POST",
                                                          status=405))
    try:
        return await read_body(scope, receive, state.max_body)
    except RequestError as exc:
        return await send_cohere_error(send, exc)


async def chat_route(state: Any, scope: Scope, receive: Receive, send: Send) -> int:
    """POST /cohere/v2/chat."""
    raw = await _read(state, scope, receive, send)
    if isinstance(raw, int):
        return raw
    engine: Engine = state.engine
    try:
        body = _body(raw)
        if not isinstance(body.get("messages"), list):
            raise RequestError("invalid request: messages must be an array", param="messages")
        stream = body.get("stream", False)
        if not isinstance(stream, bool):
            raise RequestError("invalid request: stream must be true or false", param="stream")
        model = body["model"]
        target = engine.resolve(model)
        try:
            chat = cohere_to_chat(body, native=_native(engine, target.provider))
        except ValueError as exc:
            raise RequestError(str(exc)) from None
        chat.pop("model", None)
        req = InferenceRequest(request_type=I.CHAT, target=target, body=chat, stream=stream,
                               model_requested=model, client_wants_usage=True)
        result = await engine.handle(req, new_context(scope))
    except BifrostError as exc:
        return await send_cohere_error(send, exc)
    if isinstance(result, InferenceStream):
        await stream_sse(send, receive, _events(result, bool(chat.get("tools"))), on_error=_sse_error)
        return 200
    try:
        resp = _answer(result)
    except BifrostError as exc:
        return await send_cohere_error(send, exc)
    await send_bytes(send, 200, _encode(chat_response_to_cohere(resp)), JSON_HEADERS)
    return 200


def _answer(result: Any) -> Any:
    """The provider's JSON answer to a non-streaming request, or a 502 BifrostError saying what it was."""
    if isinstance(result, InferenceStream):  # embeddings and rerank never stream
        raise BifrostError("unexpected stream", status=502)
    try:
        return _decode(result.body)
    except msgspec.DecodeError:
        raise BifrostError("the provider's answer was not JSON", status=502) from None


async def embed_route(state: Any, scope: Scope, receive: Receive, send: Send) -> int:
    """POST /cohere/v2/embed."""
    raw = await _read(state, scope, receive, send)
    if isinstance(raw, int):
        return raw
    engine: Engine = state.engine
    try:
        body = _body(raw)
        model = body["model"]
        target = engine.resolve(model)
        try:
            emb = embed_to_embedding(body, native=_native(engine, target.provider))
        except ValueError as exc:
            raise RequestError(str(exc)) from None
        req = InferenceRequest(request_type=I.EMBEDDING, target=target, body=emb, model_requested=model)
        result = await engine.handle(req, new_context(scope))
    except BifrostError as exc:
        return await send_cohere_error(send, exc)
    try:
        resp = _answer(result)
    except BifrostError as exc:
        return await send_cohere_error(send, exc)
    try:
        out = embedding_response_to_cohere(resp, body["texts"], body.get("embedding_types"))
    except (ValueError, TypeError) as exc:
        return await send_cohere_error(send, BifrostError(f"could not translate the embeddings: {exc}", status=502))
    await send_bytes(send, 200, _encode(out), JSON_HEADERS)
    return 200


async def rerank_route(state: Any, scope: Scope, receive: Receive, send: Send) -> int:
    """POST /cohere/v2/rerank."""
    raw = await _read(state, scope, receive, send)
    if isinstance(raw, int):
        return raw
    engine: Engine = state.engine
    try:
        body = _body(raw)
        model = body["model"]
        target = engine.resolve(model)
        try:
            rr = cohere_rerank_request(body)
        except ValueError as exc:
            raise RequestError(str(exc)) from None
        req = InferenceRequest(request_type=I.RERANK, target=target, body=rr, model_requested=model)
        result = await engine.handle(req, new_context(scope))
    except BifrostError as exc:
        return await send_cohere_error(send, exc)
    try:
        resp = _answer(result)
    except BifrostError as exc:
        return await send_cohere_error(send, exc)
    if not isinstance(resp, dict):
        return await send_cohere_error(send, BifrostError("the provider's answer was not an object", status=502))
    await send_bytes(send, 200, _encode(rerank_response_to_cohere(resp)), JSON_HEADERS)
    return 200


async def tokenize_route(state: Any, scope: Scope, receive: Receive, send: Send) -> int:
    """POST /cohere/v1/tokenize: {"text", "model"} -> the Cohere provider's {tokens, token_strings, meta}."""
    raw = await _read(state, scope, receive, send)
    if isinstance(raw, int):
        return raw
    engine: Engine = state.engine
    try:
        body = _body(raw)
        text = body.get("text")
        if not isinstance(text, str) or not text:
            raise RequestError("invalid request: text must be a non-empty string", param="text")
        target = engine.resolve(body["model"])
        provider, key = engine.provider_and_key(target)
        tokenize = getattr(provider, "tokenize", None)
        if tokenize is None:
            raise RequestError(
                f"tokenize is only offered by Cohere providers, and model {body['model']!r} routes to provider "
                f"{target.provider!r}; name a Cohere model, e.g. \"cohere/command-r-plus\"", param="model")
        out = await tokenize(text, target.model, key)
    except BifrostError as exc:
        return await send_cohere_error(send, exc)
    await send_bytes(send, 200, _encode(out), JSON_HEADERS)
    return 200


async def _events(stream: InferenceStream, tools: bool) -> AsyncIterator[bytes]:
    conv = ChatStreamToCohere(tools)
    events = stream.events
    try:
        async for ev in events:
            if ev.data == b"[DONE]" or ev.data[:1] != b"{":
                continue
            chunk: Any = _decode(ev.data)
            for data in conv.feed(chunk):
                yield _sse(data)
        for data in conv.finish():
            yield _sse(data)
    finally:
        aclose = getattr(events, "aclose", None)
        if aclose is not None:
            await aclose()


def _sse(data: dict[str, Any]) -> bytes:
    return b"event: " + data["type"].encode() + b"\ndata: " + _encode(data) + b"\n\n"


def _sse_error(err: BifrostError) -> bytes:
    return _sse({"type": "message-end", "delta": {"finish_reason": "ERROR", "error": err.message}})


ROUTES = {"/cohere/v2/chat": chat_route, "/cohere/v2/embed": embed_route, "/cohere/v2/rerank": rerank_route,
          "/cohere/v1/tokenize": tokenize_route}
