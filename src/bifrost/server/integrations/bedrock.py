"""`/bedrock/model/{modelId}/converse` and `/converse-stream`: the Bedrock Converse API (boto3's
`bedrock-runtime` client) in front of any configured provider; `/invoke` and
`/invoke-with-response-stream` (InvokeModel) for Anthropic-on-Bedrock bodies
(`{"anthropic_version": "bedrock-2023-05-31", "messages", "max_tokens", ...}`): translated with the
Anthropic translators, answered as an Anthropic message, or as Anthropic events each wrapped in an
event-stream `chunk` frame `{"bytes": base64(event JSON)}` as Bedrock does. Other InvokeModel bodies
(Anthropic legacy text, Mistral, Llama, Titan text; Titan and Cohere embeddings) are served by
`bedrock_invoke.py`.

`modelId` is `provider/model` ("openai/gpt-4o-mini", "bedrock/anthropic.claude-3-haiku-20240307-v1:0");
boto3 sends it URL-encoded (`%2F`, `%3A`). A bare Bedrock id ("anthropic.claude-3-haiku-20240307-v1:0",
an inference profile or ARN) goes to the `bedrock` provider when one is configured, as in Bifrost.
The request is translated to the neutral (OpenAI) format, routed like any other request, and the
answer translated back: JSON for converse, AWS's binary event stream for converse-stream. Errors are
AWS-shaped (`{"message"}` + `x-amzn-ErrorType`). The client's SigV4 headers are its credential to the
gateway; they are not verified and never sent upstream.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import unquote

import msgspec

from bifrost.engine.core import Engine
from bifrost.providers.anthropic.translate import ChatStreamToMessages, chat_response_to_messages, messages_to_chat
from bifrost.providers.bedrock.eventstream import encode_message
from bifrost.providers.bedrock.invoke import ACCEPTED, invoke_family
from bifrost.providers.bedrock.translate import ChatStreamToConverse, chat_response_to_converse, converse_to_chat
from bifrost.schemas import inference as I
from bifrost.schemas.errors import BifrostError, RequestError
from bifrost.schemas.inference import InferenceRequest, InferenceStream, Target
from bifrost.server.asgi import JSON_HEADERS, Receive, Scope, Send, error_headers, read_body, send_bytes, stream_sse
from bifrost.server.inference import new_context
from bifrost.server.integrations import bedrock_invoke

PREFIX = "/bedrock/model/"
STREAM_HEADERS = [(b"content-type", b"application/vnd.amazon.eventstream")]
_decode = msgspec.json.decode
_encode = msgspec.json.encode
_ERROR_TYPES = {400: "ValidationException", 401: "UnrecognizedClientException", 403: "AccessDeniedException",
                404: "ResourceNotFoundException", 408: "ModelTimeoutException", 413: "ValidationException",
                429: "ThrottlingException", 503: "ServiceUnavailableException"}


def error_type(status: int) -> str:
    return _ERROR_TYPES.get(status) or ("InternalServerException" if status >= 500 else "ValidationException")


async def send_bedrock_error(send: Send, err: BifrostError) -> int:
    headers = [*error_headers(err), (b"x-amzn-errortype", error_type(err.status).encode())]
    await send_bytes(send, err.status, _encode({"message": err.message}), headers)
    return err.status


_OPS = {"converse": (False, False), "converse-stream": (True, False), "invoke": (False, True),
        "invoke-with-response-stream": (True, True)}


def parse_path(path: str) -> tuple[str, bool, bool]:
    """(model, stream, invoke) from `.../bedrock/model/{modelId}/{op}`, op one of `_OPS`."""
    rest = path[path.index(PREFIX) + len(PREFIX):]
    model, sep, op = rest.rpartition("/")
    if not sep or not model or op not in _OPS:
        raise RequestError(f"unknown operation {path}; supported: /model/{{modelId}}/converse, /converse-stream, "
                           "/invoke and /invoke-with-response-stream", status=404)
    stream, invoke = _OPS[op]
    return unquote(model), stream, invoke


def resolve(engine: Engine, model: str) -> Target:
    """`provider/model` when the prefix is a configured provider; otherwise a bare Bedrock model id,
    inference profile or ARN goes to the `bedrock` provider when one is configured (Bifrost's bedrock
    integration defaults to Bedrock the same way), else the engine's usual resolution (and its error)."""
    bare = "/" not in model or model.startswith("arn:")
    if bare and "bedrock" in engine.runtimes and not engine.catalog.get(model):
        return Target("bedrock", model)
    return engine.resolve(model)


def _invoke_to_chat(engine: Engine, target: Any, body: dict) -> dict:
    """An Anthropic-on-Bedrock InvokeModel body -> neutral chat."""
    if not isinstance(body.get("messages"), list):
        raise RequestError("messages: an array of messages is required; " + ACCEPTED)
    if not isinstance(body.get("max_tokens"), int) or isinstance(body.get("max_tokens"), bool):
        raise RequestError("max_tokens: an integer is required")
    msg = {k: v for k, v in body.items() if k not in ("anthropic_version", "anthropic_beta", "model", "stream")}
    rt = engine.runtimes.get(target.provider)
    native = rt is not None and rt.config.base_type == "anthropic"
    try:
        chat = messages_to_chat(msg, native=native)
    except ValueError as exc:
        raise RequestError(str(exc)) from None
    chat.pop("model", None)
    return chat


async def bedrock_route(state: Any, scope: Scope, receive: Receive, send: Send) -> int:
    try:
        model, stream, invoke = parse_path(scope["path"])
        if scope["method"] != "POST":
            raise RequestError(f"method not allowed on {scope['path']}; use POST", status=405)
        raw = await read_body(scope, receive, state.max_body)
        try:
            body = _decode(raw) if raw.strip() else None
        except msgspec.DecodeError:
            body = None
        if not isinstance(body, dict):
            raise RequestError("the body must be a JSON object")
        engine: Engine = state.engine
        target = resolve(engine, model)
        family = invoke_family(body, model) if invoke else None
        if invoke and family != "messages":
            other = await bedrock_invoke.handle(scope, engine, target, model, body, family, stream)
            if isinstance(other, InferenceStream):
                await stream_sse(send, receive, bedrock_invoke.text_events(other, family or ""),
                                 headers=STREAM_HEADERS, on_error=_stream_error)
                return 200
            return await bedrock_invoke.send_answer(send, *other)
        if invoke:
            chat = _invoke_to_chat(engine, target, body)
        else:
            rt = engine.runtimes.get(target.provider)
            caches = rt is not None and rt.config.base_type in ("bedrock", "anthropic")
            try:
                chat = converse_to_chat(body, cache_points=caches)
            except ValueError as exc:
                raise RequestError(str(exc)) from None
        req = InferenceRequest(request_type=I.CHAT, target=target, body=chat, stream=stream, model_requested=model,
                               client_wants_usage=True)
        result = await engine.handle(req, new_context(scope))
    except BifrostError as exc:
        return await send_bedrock_error(send, exc)
    if isinstance(result, InferenceStream):
        events = _invoke_events(result, model) if invoke else _events(result)
        await stream_sse(send, receive, events, headers=STREAM_HEADERS, on_error=_stream_error)
        return 200
    try:
        chat_resp = _decode(result.body)
        out = chat_response_to_messages(chat_resp, model) if invoke else chat_response_to_converse(chat_resp)
    except (msgspec.DecodeError, ValueError):
        return await send_bedrock_error(send, BifrostError("the provider's answer was not valid JSON", status=502))
    await send_bytes(send, 200, _encode(out), JSON_HEADERS)
    return 200


async def _events(stream: InferenceStream) -> AsyncIterator[bytes]:
    conv = ChatStreamToConverse()
    events = stream.events
    try:
        async for ev in events:
            if ev.data == b"[DONE]" or ev.data[:1] != b"{":
                continue
            chunk: Any = _decode(ev.data)
            out = conv.feed(chunk)
            if out:
                yield b"".join(encode_message(t, _encode(p)) for t, p in out)
        yield b"".join(encode_message(t, _encode(p)) for t, p in conv.finish())
    finally:
        aclose = getattr(events, "aclose", None)
        if aclose is not None:
            await aclose()


def _chunk_frame(data: dict[str, Any]) -> bytes:
    return encode_message("chunk", _encode({"bytes": base64.b64encode(_encode(data)).decode()}))


async def _invoke_events(stream: InferenceStream, model: str) -> AsyncIterator[bytes]:
    """Chat chunks -> Anthropic events, each in a `chunk` frame (InvokeModelWithResponseStream)."""
    conv = ChatStreamToMessages(model)
    events = stream.events
    try:
        async for ev in events:
            if ev.data == b"[DONE]" or ev.data[:1] != b"{":
                continue
            chunk: Any = _decode(ev.data)
            out = conv.feed(chunk)
            if out:
                yield b"".join(_chunk_frame(data) for _, data in out)
        yield b"".join(_chunk_frame(data) for _, data in conv.finish())
    finally:
        aclose = getattr(events, "aclose", None)
        if aclose is not None:
            await aclose()


def _stream_error(err: BifrostError) -> bytes:
    kind = error_type(err.status)
    return encode_message(kind[0].lower() + kind[1:], _encode({"message": err.message}), message_type="exception")


ROUTES: dict[str, Any] = {}
PREFIXES = [(PREFIX, bedrock_route)]
