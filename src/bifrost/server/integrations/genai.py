"""`/genai/v1beta/models/{model}:{action}`: the Gemini API (google-genai SDK) in front of any configured provider.

Actions: generateContent, streamGenerateContent (`?alt=sse`: SSE `data:` objects; without it one JSON
array, as Google does), embedContent and batchEmbedContents (-> the engine's embeddings), countTokens.
`model` is `provider/model` ("openai/gpt-4o-mini", "gemini/gemini-2.5-flash"): the google-genai SDK
puts it in the path with a literal slash; `%2F` works too. The request is translated to the neutral
(OpenAI) format, routed like any other request, and the answer translated back, errors included
(Google's {"error": {"code", "message", "status"}}). The client's `x-goog-api-key` (or `?key=`) is its
credential to the gateway and is never sent upstream.

countTokens asks Gemini's own `:countTokens` when the target is a Gemini provider; for any other
provider it is an estimate made by the gateway: one token per four characters of the request's text
(message contents, tool-call arguments, tool definitions), at least one. `GET /genai/v1beta/models`
lists every configured provider's models as `models/provider/model`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, unquote

import msgspec

from bifrost.engine.core import Engine
from bifrost.providers.gemini.translate import (
    ChatStreamToGenerate,
    chat_response_to_generate,
    count_tokens_response,
    count_tokens_to_chat,
    embed_to_openai,
    error_body,
    generate_to_chat,
    openai_embeddings_to_gemini,
)
from bifrost.schemas import inference as I
from bifrost.schemas.errors import BifrostError, RequestError
from bifrost.schemas.inference import InferenceRequest, InferenceStream
from bifrost.server.asgi import JSON_HEADERS, Receive, Scope, Send, error_headers, read_body, send_bytes, stream_sse
from bifrost.server.inference import new_context

PREFIX = "/genai/v1beta/models/"
ACTIONS = ("generateContent", "streamGenerateContent", "embedContent", "batchEmbedContents", "countTokens")
_decode = msgspec.json.decode
_encode = msgspec.json.encode


async def send_genai_error(send: Send, err: BifrostError) -> int:
    await send_bytes(send, err.status, _encode(error_body(err.status, err.message)), error_headers(err))
    return err.status


def parse_path(path: str) -> tuple[str, str]:
    """(model, action) from `.../genai/v1beta/models/{model}:{action}` (any mirror prefix, `%2F` or `/`)."""
    rest = unquote(path[path.index(PREFIX) + len(PREFIX):])
    model, sep, action = rest.rpartition(":")
    if not sep or not model:
        raise RequestError(f"expected {PREFIX}{{provider/model}}:{{action}}, got {path}", status=404)
    if action not in ACTIONS:
        raise RequestError(f"unknown method {action!r}; supported: {', '.join(ACTIONS)}", status=404)
    return model.removeprefix("models/"), action


async def genai_route(state: Any, scope: Scope, receive: Receive, send: Send) -> int:
    """POST /genai/v1beta/models/{model}:{action}: method, body limit and errors in Google's shape."""
    try:
        model, action = parse_path(scope["path"])
        if scope["method"] != "POST":
            raise RequestError(f"method not allowed on {scope['path']}; use POST", status=405)
        raw = await read_body(scope, receive, state.max_body)
    except RequestError as exc:
        return await send_genai_error(send, exc)
    return await handle_genai(state.engine, model, action, raw, scope, receive, send)


def _body(raw: bytes) -> dict:
    try:
        body = _decode(raw) if raw.strip() else None
    except msgspec.DecodeError as exc:
        raise RequestError(f"invalid JSON payload: {exc}; the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise RequestError("invalid JSON payload: the body must be a JSON object")
    return body


def _alt_sse(scope: Scope) -> bool:
    qs = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    return (qs.get("alt") or [""])[0] == "sse"


async def handle_genai(engine: Engine, model: str, action: str, raw: bytes, scope: Scope, receive: Receive,
                       send: Send) -> int:
    try:
        body = _body(raw)
        target = engine.resolve(model)
        if action == "countTokens":
            try:
                chat = count_tokens_to_chat(body)
            except ValueError as exc:
                raise RequestError(str(exc)) from None
            provider, key = engine.provider_and_key(target)
            count = getattr(provider, "count_gemini_tokens", None)
            n = await count(body, target.model, key) if count is not None else estimate_tokens(chat)
            out = count_tokens_response(n)
            await send_bytes(send, 200, _encode(out), JSON_HEADERS)
            return 200
        embed = action in ("embedContent", "batchEmbedContents")
        batch = action == "batchEmbedContents"
        stream = action == "streamGenerateContent"
        try:
            neutral = embed_to_openai(body, batch) if embed else generate_to_chat(body)
        except ValueError as exc:
            raise RequestError(str(exc)) from None
        neutral.pop("model", None)
        req = InferenceRequest(request_type=I.EMBEDDING if embed else I.CHAT, target=target, body=neutral,
                               stream=stream, model_requested=model, client_wants_usage=not embed)
        result = await engine.handle(req, new_context(scope))
    except BifrostError as exc:
        return await send_genai_error(send, exc)
    if isinstance(result, InferenceStream):
        if _alt_sse(scope):
            await stream_sse(send, receive, _events(result, model), on_error=_sse_error)
            return 200
        try:  # without alt=sse Google answers one JSON array of the same objects
            items = [_decode(ev[len(b"data: "):]) async for ev in _events(result, model)]
        except BifrostError as exc:
            return await send_genai_error(send, exc)
        await send_bytes(send, 200, _encode(items), JSON_HEADERS)
        return 200
    try:
        resp = _decode(result.body)
        out = openai_embeddings_to_gemini(resp, batch) if embed else chat_response_to_generate(resp, model)
    except (msgspec.DecodeError, ValueError):
        return await send_genai_error(send, BifrostError("the provider's answer was not valid JSON", status=502))
    await send_bytes(send, 200, _encode(out), JSON_HEADERS)
    return 200


def estimate_tokens(chat: dict) -> int:
    """~4 characters per token over the texts of a chat request (see the module docstring)."""
    texts: list[str] = []
    for m in chat.get("messages") or ():
        content = m.get("content")
        if isinstance(content, str):
            texts.append(content)
        elif isinstance(content, list):
            texts.extend(p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
        for call in m.get("tool_calls") or ():
            fn = call.get("function") or {}
            texts.append(str(fn.get("name") or "") + str(fn.get("arguments") or ""))
    if chat.get("tools"):
        texts.append(_encode(chat["tools"]).decode())
    return max(1, sum(len(t) for t in texts) // 4)


async def _events(stream: InferenceStream, model: str) -> AsyncIterator[bytes]:
    conv = ChatStreamToGenerate(model)
    events = stream.events
    try:
        async for ev in events:
            if ev.data == b"[DONE]" or ev.data[:1] != b"{":
                continue
            chunk: Any = _decode(ev.data)
            for data in conv.feed(chunk):
                yield b"data: " + _encode(data) + b"\r\n\r\n"
        for data in conv.finish():
            yield b"data: " + _encode(data) + b"\r\n\r\n"
    finally:
        aclose = getattr(events, "aclose", None)
        if aclose is not None:
            await aclose()


def _sse_error(err: BifrostError) -> bytes:
    return b"data: " + _encode(error_body(err.status, err.message)) + b"\r\n\r\n"


async def models_route(state: Any, scope: Scope, receive: Receive, send: Send) -> int:
    """GET /genai/v1beta/models: every configured provider's models, names `models/provider/model`."""
    if scope["method"] != "GET":
        return await send_genai_error(send, RequestError("method not allowed; use GET", status=405))
    engine: Engine = state.engine
    out = []
    for name, rt in engine.runtimes.items():
        if rt.provider is None or not rt.provider.supports("list_models", False):
            continue
        try:
            models = await engine.list_models(name)
        except BifrostError:
            continue
        for m in models:
            mid = f"{name}/{m['id']}"
            out.append({"name": "models/" + mid, "displayName": m.get("display_name") or mid,
                        "supportedGenerationMethods": ["generateContent", "countTokens"]})
    await send_bytes(send, 200, _encode({"models": out}), JSON_HEADERS)
    return 200


ROUTES = {"/genai/v1beta/models": models_route}
PREFIXES = [(PREFIX, genai_route)]
