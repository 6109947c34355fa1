"""Anthropic Messages API provider: I/O only; translation lives in `translate*.py`.

The engine hands it OpenAI-shaped chat requests; it sends Anthropic Messages requests
(`x-api-key`, `anthropic-version`) and answers with OpenAI-shaped responses and chunks. Text
completions (non-streaming, as in Bifrost) go to the legacy POST /v1/complete (`translate_text.py`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import msgspec

from bifrost.config.model import Key, ProviderConfig
from bifrost.providers.anthropic.translate import (
    MessagesStreamToChat,
    StreamError,
    chat_to_messages,
    messages_response_to_chat,
)
from bifrost.providers.anthropic.translate_text import complete_to_completion, completion_to_complete
from bifrost.providers.fasthttp import FastHttpClient
from bifrost.providers.openai_compat import usage_of
from bifrost.schemas.errors import BifrostError, RequestError, UpstreamError
from bifrost.schemas.inference import TEXT, InferenceRequest, StreamEvent, Usage

DEFAULT_BASE_URL = "https://api.anthropic.com"
API_VERSION = "2023-06-01"
SUPPORTED = frozenset({"chat_completion", "chat_completion_stream", "text_completion", "list_models"})
_encode = msgspec.json.encode
_decode = msgspec.json.decode


class AnthropicProvider:
    keyless = False

    def __init__(self, config: ProviderConfig) -> None:
        self.name = config.name
        self.config = config
        net = config.network
        base = (net.base_url or DEFAULT_BASE_URL).rstrip("/")
        self._messages_url = base + "/v1/messages"
        self._complete_url = base + "/v1/complete"
        self._models_url = base + "/v1/models"
        allowed = config.custom.allowed_requests if config.custom else None
        self._supported = SUPPORTED if allowed is None else frozenset(t for t in SUPPORTED if allowed.get(t))
        self.http = FastHttpClient(config.name, max_conns=net.max_conns_per_host, timeout_s=net.timeout_s,
                                   stream_idle_timeout_s=net.stream_idle_timeout_s)
        self._static_headers = {"Content-Type": "application/json", "anthropic-version": API_VERSION,
                                **net.extra_headers}

    def supports(self, request_type: str, stream: bool) -> bool:
        return (request_type + "_stream" if stream else request_type) in self._supported

    def _headers(self, key: Key | None, extra: dict[str, str] | None) -> dict[str, str]:
        h = dict(self._static_headers)
        if key is not None and key.value:
            h["x-api-key"] = key.value
        if extra:
            h.update(extra)
        return h

    def _body(self, req: InferenceRequest) -> bytes:
        chat = {k: v for k, v in req.body.items() if k != "model"}
        try:
            body = chat_to_messages(chat, req.target.model)
        except ValueError as exc:
            raise RequestError(str(exc), provider=self.name, model=req.target.model) from None
        body["model"] = req.target.model
        if req.stream:
            body["stream"] = True
        else:
            body.pop("stream", None)
        return _encode(body)

    async def send(self, req: InferenceRequest, key: Key | None) -> tuple[bytes, Usage | None]:
        if req.request_type == TEXT:
            return await self._complete(req, key)
        data = await self.http.request("POST", self._messages_url, self._headers(key, req.extra_headers),
                                       self._body(req))
        try:
            resp = _decode(data)
        except msgspec.DecodeError:
            raise BifrostError(f"{self.name} returned a response that is not JSON", provider=self.name) from None
        out = _encode(messages_response_to_chat(resp, req.target.model))
        return out, usage_of(out)

    async def open_stream(self, req: InferenceRequest, key: Key | None) -> AsyncIterator[StreamEvent]:
        h = self._headers(key, req.extra_headers)
        h["Accept"] = "text/event-stream"
        events = await self.http.stream(self._messages_url, h, self._body(req))
        return _chat_chunks(self.name, events, req.target.model)

    async def _complete(self, req: InferenceRequest, key: Key | None) -> tuple[bytes, Usage | None]:
        """A text completion over the legacy POST /v1/complete."""
        body = {k: v for k, v in req.body.items() if k != "model"}
        try:
            payload = completion_to_complete(body, req.target.model)
        except ValueError as exc:
            raise RequestError(str(exc), provider=self.name, model=req.target.model) from None
        data = await self.http.request("POST", self._complete_url, self._headers(key, req.extra_headers),
                                       _encode(payload))
        try:
            resp = _decode(data)
        except msgspec.DecodeError:
            resp = None
        if not isinstance(resp, dict):
            raise BifrostError(f"{self.name} returned a response that is not a JSON object", provider=self.name)
        out = _encode(complete_to_completion(resp, req.target.model))
        return out, usage_of(out)

    async def count_tokens(self, body: dict[str, Any], key: Key | None) -> int:
        """Anthropic's own count for a native Messages body (`/v1/messages/count_tokens`)."""
        data = await self.http.request("POST", self._messages_url + "/count_tokens", self._headers(key, None),
                                       _encode(body))
        try:
            n = _decode(data).get("input_tokens")
        except (msgspec.DecodeError, AttributeError):
            n = None
        if not isinstance(n, int):
            raise BifrostError(f"{self.name} returned no input_tokens count", provider=self.name)
        return n

    async def list_models(self, key: Key | None) -> list[dict[str, Any]]:
        data = await self.http.request("GET", self._models_url, self._headers(key, None))
        try:
            parsed = _decode(data)
        except msgspec.DecodeError:
            raise BifrostError(f"{self.name} returned a model list that is not JSON", provider=self.name) from None
        out = []
        for m in parsed.get("data", []) if isinstance(parsed, dict) else []:
            if isinstance(m, dict) and isinstance(m.get("id"), str):
                out.append({"id": m["id"], "object": "model", "owned_by": "anthropic",
                            "display_name": m.get("display_name")})
        return out

    async def close(self) -> None:
        await self.http.close()


async def _chat_chunks(provider: str, events: AsyncIterator[StreamEvent], model: str) -> AsyncIterator[StreamEvent]:
    """Anthropic SSE events in, OpenAI chat.completion.chunk events out."""
    conv = MessagesStreamToChat(model)
    try:
        async for ev in events:
            try:
                data = _decode(ev.data)
            except msgspec.DecodeError:
                continue
            if not isinstance(data, dict):
                continue
            try:
                chunks = conv.feed(ev.event or str(data.get("type", "")), data)
            except StreamError as exc:
                raise UpstreamError(exc.message, status=exc.status, type=exc.type, provider=provider) from None
            for chunk in chunks:
                yield StreamEvent(_encode(chunk))
    finally:
        aclose = getattr(events, "aclose", None)
        if aclose is not None:
            await aclose()
