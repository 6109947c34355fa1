"""Serve the Responses API through chat completions, for any provider that has chat but no Responses.

The engine uses this when a provider cannot serve `/v1/responses` itself: the request becomes a chat
completion (`as_chat`), and the answer is turned back into a Responses object or event stream.
Translation itself is the pure code in `responses_chat.py`; this module only wires it to the
neutral request/response types.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import msgspec

from bifrost.providers.responses_chat import ChatToResponsesStream, chat_to_responses, responses_to_chat
from bifrost.schemas.errors import BifrostError, RequestError
from bifrost.schemas.inference import CHAT, InferenceRequest, StreamEvent

_encode = msgspec.json.encode


def as_chat(req: InferenceRequest) -> InferenceRequest:
    """The chat completion request that serves a Responses request (400 if it can't be served)."""
    try:
        body = responses_to_chat({k: v for k, v in req.body.items() if k != "model"})
    except ValueError as exc:
        raise RequestError(str(exc), provider=req.target.provider, model=req.target.model) from None
    return InferenceRequest(request_type=CHAT, target=req.target, body=body, stream=req.stream,
                            extra_headers=req.extra_headers, model_requested=req.model_requested,
                            client_wants_usage=True)


def chat_body_to_responses(data: bytes, provider: str, model: str, request: dict[str, Any]) -> bytes:
    try:
        parsed = msgspec.json.decode(data)
    except msgspec.DecodeError:
        raise BifrostError(f"{provider} returned a chat completion that is not JSON", provider=provider) from None
    return _encode(chat_to_responses(parsed, model, request))


async def responses_events(events: AsyncIterator[StreamEvent], model: str,
                           request: dict[str, Any]) -> AsyncIterator[StreamEvent]:
    """Chat completion chunks in, Responses API events out."""
    conv = ChatToResponsesStream(model, request)
    try:
        async for ev in events:
            if ev.data == b"[DONE]":
                continue
            try:
                chunk = msgspec.json.decode(ev.data)
            except msgspec.DecodeError:
                continue
            if isinstance(chunk, dict) and "error" in chunk:
                yield ev
                return
            for kind, data in conv.feed(chunk):
                yield StreamEvent(_encode(data), kind)
        for kind, data in conv.finish():
            yield StreamEvent(_encode(data), kind)
    finally:
        aclose = getattr(events, "aclose", None)
        if aclose is not None:
            await aclose()
