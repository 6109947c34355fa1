"""`/bedrock/model/{modelId}/invoke` and `/invoke-with-response-stream` for the non-Messages model
families (`providers/bedrock/invoke.py` has the table): Anthropic legacy text, Mistral, Llama and Titan
text bodies become text completions, Titan and Cohere embedding bodies become embeddings, each routed
to any configured provider and answered in the family's own shape. JSON answers carry Bedrock's
`x-amzn-bedrock-input-token-count` / `-output-token-count` headers; streams are AWS event streams
of `chunk` frames {"bytes": base64(JSON)}, as boto3's invoke_model_with_response_stream reads them.
"""

from __future__ import annotations

import base64
import time
from collections.abc import AsyncIterator
from typing import Any

import msgspec

from bifrost.engine.core import Engine
from bifrost.providers.bedrock.eventstream import encode_message
from bifrost.providers.bedrock.invoke import (
    ACCEPTED,
    EMBED_FAMILIES,
    TEXT_FAMILIES,
    CompletionStreamToInvoke,
    completion_to_invoke_response,
    embedding_to_invoke_response,
    invoke_to_completion,
    invoke_to_embedding,
    usage_counts,
)
from bifrost.schemas import inference as I
from bifrost.schemas.errors import BifrostError, RequestError
from bifrost.schemas.inference import InferenceRequest, InferenceStream, Target
from bifrost.server.asgi import JSON_HEADERS, Scope, Send, send_bytes
from bifrost.server.inference import new_context

_decode = msgspec.json.decode
_encode = msgspec.json.encode
# Providers that understand the embedding fields only Bedrock and Cohere have (input_type, normalize...).
_NATIVE_EMBED = frozenset({"bedrock", "cohere"})
# Providers whose text completions take top_k (OpenAI's have no such field).
_TOP_K = frozenset({"anthropic", "bedrock"})


def build_request(engine: Engine, target: Target, model: str, body: dict, family: str | None,
                  stream: bool) -> InferenceRequest:
    """The neutral request for a text or embedding InvokeModel body; RequestError when it can't be served."""
    rt = engine.runtimes.get(target.provider)
    base = rt.config.base_type if rt is not None else ""
    if family in TEXT_FAMILIES:
        text = invoke_to_completion(body, family, keep_top_k=base in _TOP_K)
        return InferenceRequest(request_type=I.TEXT, target=target, body=text, stream=stream,
                                model_requested=model, client_wants_usage=True)
    if family in EMBED_FAMILIES:
        if stream:
            raise RequestError("embedding models are not served on invoke-with-response-stream; call invoke "
                               "(boto3 invoke_model) instead")
        native = base in _NATIVE_EMBED
        try:
            emb = invoke_to_embedding(body, family, native)
        except ValueError as exc:
            raise RequestError(str(exc)) from None
        return InferenceRequest(request_type=I.EMBEDDING, target=target, body=emb, model_requested=model)
    raise RequestError("this InvokeModel body is not one the gateway can translate; " + ACCEPTED)


def _token_headers(inp: int, out: int) -> list[tuple[bytes, bytes]]:
    return [*JSON_HEADERS, (b"x-amzn-bedrock-input-token-count", str(inp).encode()),
            (b"x-amzn-bedrock-output-token-count", str(out).encode())]


async def send_answer(send: Send, result_body: bytes, family: str, req: InferenceRequest) -> int:
    """The provider's OpenAI answer -> the family's InvokeModel response (JSON)."""
    try:
        resp: Any = _decode(result_body)
        if not isinstance(resp, dict):
            raise ValueError
        if family in EMBED_FAMILIES:
            texts = req.body.get("input") if family == "cohere_embed" else None
            out = embedding_to_invoke_response(resp, family, texts if isinstance(texts, list) else None)
        else:
            out = completion_to_invoke_response(resp, family)
    except (msgspec.DecodeError, ValueError, AttributeError, TypeError):
        raise BifrostError("the provider's answer was not a valid OpenAI response", status=502) from None
    inp, outp = usage_counts(resp)
    await send_bytes(send, 200, _encode(out), _token_headers(inp, outp))
    return 200


def _chunk_frame(data: dict[str, Any]) -> bytes:
    return encode_message("chunk", _encode({"bytes": base64.b64encode(_encode(data)).decode()}))


async def text_events(stream: InferenceStream, family: str) -> AsyncIterator[bytes]:
    """text_completion chunks -> the family's stream objects, each in a `chunk` frame."""
    conv = CompletionStreamToInvoke(family)
    started = time.monotonic()
    events = stream.events
    try:
        async for ev in events:
            if ev.data == b"[DONE]" or ev.data[:1] != b"{":
                continue
            chunk: Any = _decode(ev.data)
            out = conv.feed(chunk) if isinstance(chunk, dict) else []
            if out:
                yield b"".join(_chunk_frame(d) for d in out)
        yield b"".join(_chunk_frame(d) for d in conv.finish(int((time.monotonic() - started) * 1000)))
    finally:
        aclose = getattr(events, "aclose", None)
        if aclose is not None:
            await aclose()


async def handle(scope: Scope, engine: Engine, target: Target, model: str, body: dict,
                 family: str | None, stream: bool) -> InferenceStream | tuple[bytes, str, InferenceRequest]:
    """Run a text / embedding InvokeModel body through the engine."""
    req = build_request(engine, target, model, body, family, stream)
    result = await engine.handle(req, new_context(scope))
    if isinstance(result, InferenceStream):
        return result
    return result.body, family or "", req

