"""The one client for every OpenAI-compatible provider (OpenAI, Groq, vLLM, custom providers...).

The body is forwarded as the client sent it (unknown fields included), with the model name set
and the provider's known quirks applied from its `CompatSpec` row.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import msgspec

from bifrost.config.model import Key, ProviderConfig
from bifrost.providers import spec as S
from bifrost.providers.fasthttp import FastHttpClient
from bifrost.providers.spec import CompatSpec
from bifrost.schemas.errors import BifrostError
from bifrost.schemas.inference import InferenceRequest, StreamEvent, Usage

_encode = msgspec.json.encode


class _UsageBlock(msgspec.Struct):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    input_tokens: int = 0
    output_tokens: int = 0


class _WithUsage(msgspec.Struct):
    usage: _UsageBlock | None = None


class _ResponsesEvent(msgspec.Struct):
    response: _WithUsage | None = None


_usage_decoder = msgspec.json.Decoder(_WithUsage)
_responses_event_decoder = msgspec.json.Decoder(_ResponsesEvent)


def usage_of(body: bytes) -> Usage | None:
    """Token usage from an OpenAI-shaped JSON body, or None; never raises."""
    if b'"usage"' not in body:
        return None
    try:
        u = _usage_decoder.decode(body).usage
    except msgspec.DecodeError:
        return None
    if u is None:
        return None
    return Usage(input_tokens=u.prompt_tokens or u.input_tokens, output_tokens=u.completion_tokens or u.output_tokens)


def usage_of_event(ev: StreamEvent) -> Usage | None:
    """Usage carried by a stream event: a chat usage chunk or a `response.completed` event."""
    data = ev.data
    if b'"usage"' not in data:
        return None
    if b'"response"' in data[:200]:
        try:
            r = _responses_event_decoder.decode(data).response
        except msgspec.DecodeError:
            return None
        if r is not None and r.usage is not None:
            return Usage(input_tokens=r.usage.input_tokens, output_tokens=r.usage.output_tokens)
    return usage_of(data)


class OpenAICompatProvider:
    def __init__(self, spec: CompatSpec, config: ProviderConfig) -> None:
        self.spec = spec
        self.name = config.name
        self.config = config
        custom = config.custom
        self.keyless = spec.keyless or bool(custom and custom.is_key_less)
        supported = set(spec.supported)
        if spec.paths.get(S.CHAT_COMPLETION) and S.CHAT_COMPLETION in supported:
            supported.add(S.CHAT_COMPLETION_STREAM)
        # Without an upstream Responses API (no `responses` in spec.supported) the engine serves Responses
        # requests through chat (providers/responses_adapter.py), as Bifrost does.
        for t in (S.TEXT_COMPLETION, S.RESPONSES):
            if t in supported:
                supported.add(t + "_stream")
        if custom and custom.allowed_requests is not None:
            supported = {t for t in supported if custom.allowed_requests.get(t, False)}
        self._supported = frozenset(supported)
        base = (config.network.base_url or spec.base_url).rstrip("/")
        overrides = custom.request_path_overrides if custom else {}
        self._urls = {t: base + (overrides.get(t) or spec.path_for(t)) for t in S.ALL_REQUEST_TYPES}
        net = config.network
        self.http = FastHttpClient(config.name, max_conns=net.max_conns_per_host, timeout_s=net.timeout_s,
                                   stream_idle_timeout_s=net.stream_idle_timeout_s)
        self._static_headers = {"Content-Type": "application/json", "Accept": "application/json",
                                **net.extra_headers}

    def supports(self, request_type: str, stream: bool) -> bool:
        return (request_type + "_stream" if stream else request_type) in self._supported

    def url(self, request_type: str) -> str:
        return self._urls[request_type]

    def _headers(self, key: Key | None, extra: dict[str, str] | None) -> dict[str, str]:
        h = dict(self._static_headers)
        if key is not None and key.value:
            if self.spec.auth == "bearer":
                h["Authorization"] = "Bearer " + key.value
            elif self.spec.auth == "api-key":
                h["api-key"] = key.value
        if extra:
            h.update(extra)
        return h

    def _body(self, req: InferenceRequest) -> bytes:
        body = req.body
        body["model"] = req.target.model
        spec = self.spec
        # Quirks are about chat/text parameters; native Responses bodies go upstream as sent.
        if (spec.drop_params or spec.rename_params) and req.request_type in ("chat_completion", "text_completion"):
            body = {k: v for k, v in body.items() if k not in spec.drop_params}
            for old, new in spec.rename_params.items():
                if old in body and new not in body:
                    body[new] = body.pop(old)
        if req.stream:
            body["stream"] = True
            if (req.request_type in ("chat_completion", "text_completion")
                    and "stream_options" not in spec.drop_params and "stream_options" not in body):
                body["stream_options"] = {"include_usage": True}
        return _encode(body)

    async def send(self, req: InferenceRequest, key: Key | None) -> tuple[bytes, Usage | None]:
        data = await self.http.request("POST", self._urls[req.request_type],
                                       self._headers(key, req.extra_headers), self._body(req))
        return data, usage_of(data)

    async def open_stream(self, req: InferenceRequest, key: Key | None) -> AsyncIterator[StreamEvent]:
        h = self._headers(key, req.extra_headers)
        h["Accept"] = "text/event-stream"
        return await self.http.stream(self._urls[req.request_type], h, self._body(req))

    async def list_models(self, key: Key | None) -> list[dict[str, Any]]:
        data = await self.http.request("GET", self._urls[S.LIST_MODELS], self._headers(key, None))
        try:
            parsed = msgspec.json.decode(data)
        except msgspec.DecodeError:
            raise BifrostError(f"{self.name} returned a model list that is not JSON",
                               provider=self.name) from None
        items = parsed.get("data") if isinstance(parsed, dict) else parsed
        return [m for m in items or [] if isinstance(m, dict) and "id" in m]

    async def close(self) -> None:
        await self.http.close()

