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
from bifrost.providers.compat_quirks import chat_body, embedding_body, has_chat_quirks, map_finish_reasons
from bifrost.providers.fasthttp import FastHttpClient
from bifrost.providers.rerank_vllm import rerank_to_vllm, vllm_rerank_to_rerank
from bifrost.providers.spec import CompatSpec
from bifrost.schemas.errors import BifrostError, RequestError, UpstreamError
from bifrost.schemas.inference import InferenceRequest, StreamEvent, Usage

_encode = msgspec.json.encode


class _InDetails(msgspec.Struct):
    cached_tokens: int | None = None
    cache_write_tokens: int | None = None


class _OutDetails(msgspec.Struct):
    reasoning_tokens: int | None = None


class _UsageBlock(msgspec.Struct):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    # Chat names, then Responses names (providers send null for absent details).
    prompt_tokens_details: _InDetails | None = None
    completion_tokens_details: _OutDetails | None = None
    input_tokens_details: _InDetails | None = None
    output_tokens_details: _OutDetails | None = None

    def to_usage(self) -> Usage:
        ind = self.prompt_tokens_details or self.input_tokens_details
        outd = self.completion_tokens_details or self.output_tokens_details
        return Usage(input_tokens=self.prompt_tokens or self.input_tokens,
                     output_tokens=self.completion_tokens or self.output_tokens,
                     cached_read_tokens=(ind.cached_tokens or 0) if ind else 0,
                     cache_write_tokens=(ind.cache_write_tokens or 0) if ind else 0,
                     reasoning_tokens=(outd.reasoning_tokens or 0) if outd else 0)


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
    return u.to_usage()


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
            return r.usage.to_usage()
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
        if spec.rerank_paths:
            supported.add(S.RERANK)
        if custom and custom.allowed_requests is not None:
            supported = {t for t in supported if custom.allowed_requests.get(t, False)}
        self._supported = frozenset(supported)
        base = (config.network.base_url or spec.base_url).rstrip("/")
        overrides = custom.request_path_overrides if custom else {}
        self._urls = {t: base + (overrides.get(t) or spec.path_for(t)) for t in S.ALL_REQUEST_TYPES}
        # A request_path_overrides entry for rerank is the only path tried (as in Bifrost's vLLM provider).
        rr = overrides.get(S.RERANK)
        self._rerank_urls = (base + rr,) if rr else tuple(base + p for p in spec.rerank_paths)
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
        if req.request_type in ("chat_completion", "text_completion") and has_chat_quirks(spec):
            body = chat_body(spec, body)
        elif req.request_type == S.EMBEDDING and spec.embedding_rename:
            body = embedding_body(spec, body)
        if req.stream:
            body["stream"] = True
            if (req.request_type in ("chat_completion", "text_completion")
                    and "stream_options" not in spec.drop_params and "stream_options" not in body):
                body["stream_options"] = {"include_usage": True}
        return _encode(body)

    async def send(self, req: InferenceRequest, key: Key | None) -> tuple[bytes, Usage | None]:
        if req.request_type == S.RERANK:
            return await self._rerank(req, key)
        data = await self.http.request("POST", self._urls[req.request_type],
                                       self._headers(key, req.extra_headers), self._body(req))
        if self.spec.finish_reasons:
            data = map_finish_reasons(self.spec, data)
        return data, usage_of(data)

    async def _rerank(self, req: InferenceRequest, key: Key | None) -> tuple[bytes, Usage | None]:
        """vLLM's rerank: /v1/rerank, then /rerank when the server answers 404/405/501 (older vLLM)."""
        try:
            body = _encode(rerank_to_vllm(req.body, req.target.model))
        except ValueError as exc:
            raise RequestError(str(exc), provider=self.name, model=req.target.model) from None
        headers = self._headers(key, req.extra_headers)
        data = b""
        for i, url in enumerate(self._rerank_urls):
            try:
                data = await self.http.request("POST", url, headers, body)
                break
            except UpstreamError as exc:
                if exc.status not in (404, 405, 501) or i == len(self._rerank_urls) - 1:
                    raise
        try:
            resp = msgspec.json.decode(data)
            if not isinstance(resp, dict):
                raise ValueError(f"{self.name} returned a rerank response that is not a JSON object")
            out = _encode(vllm_rerank_to_rerank(resp, req.target.model, req.body))
        except (ValueError, msgspec.DecodeError) as exc:
            raise BifrostError(str(exc), status=502, provider=self.name) from None
        return out, usage_of(out)

    async def open_stream(self, req: InferenceRequest, key: Key | None) -> AsyncIterator[StreamEvent]:
        h = self._headers(key, req.extra_headers)
        h["Accept"] = "text/event-stream"
        events = await self.http.stream(self._urls[req.request_type], h, self._body(req))
        if self.spec.finish_reasons:
            return mapped_stream(self.spec, events)
        return events

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


async def mapped_stream(spec: CompatSpec, events: AsyncIterator[StreamEvent]) -> AsyncIterator[StreamEvent]:
    """Stream chunks with the row's finish reasons mapped (only chunks that mention one are re-encoded)."""
    try:
        async for ev in events:
            yield StreamEvent(map_finish_reasons(spec, ev.data), ev.event) if ev.data[:1] == b"{" else ev
    finally:
        aclose = getattr(events, "aclose", None)
        if aclose is not None:
            await aclose()

