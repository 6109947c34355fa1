"""Cohere v2 API provider: I/O only; translation lives in `translate.py`.

The engine hands it OpenAI-shaped chat / embeddings requests and Bifrost's neutral rerank requests; it
sends Cohere v2 requests (`Authorization: Bearer`) to /v2/chat, /v2/embed and /v2/rerank and answers
with OpenAI-shaped responses and chunks (Bifrost's rerank shape for rerank).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import msgspec

from bifrost.config.model import Key, ProviderConfig
from bifrost.providers.cohere.translate import (
    CohereStreamToChat,
    StreamError,
    chat_to_cohere,
    cohere_embed_to_embedding,
    cohere_rerank_to_rerank,
    cohere_response_to_chat,
    embedding_to_cohere,
    rerank_to_cohere,
)
from bifrost.providers.fasthttp import FastHttpClient
from bifrost.providers.openai_compat import usage_of
from bifrost.schemas.errors import BifrostError, RequestError, UpstreamError
from bifrost.schemas.inference import EMBEDDING, RERANK, InferenceRequest, StreamEvent, Usage

DEFAULT_BASE_URL = "https://api.cohere.com"
SUPPORTED = frozenset({"chat_completion", "chat_completion_stream", "embedding", "rerank", "list_models"})
_encode = msgspec.json.encode
_decode = msgspec.json.decode


class CohereProvider:
    keyless = False

    def __init__(self, config: ProviderConfig) -> None:
        self.name = config.name
        self.config = config
        net = config.network
        base = (net.base_url or DEFAULT_BASE_URL).rstrip("/")
        self._chat_url = base + "/v2/chat"
        self._embed_url = base + "/v2/embed"
        self._rerank_url = base + "/v2/rerank"
        self._models_url = base + "/v1/models?page_size=1000"
        self._tokenize_url = base + "/v1/tokenize"
        allowed = config.custom.allowed_requests if config.custom else None
        self._supported = SUPPORTED if allowed is None else frozenset(t for t in SUPPORTED if allowed.get(t))
        self.http = FastHttpClient(config.name, max_conns=net.max_conns_per_host, timeout_s=net.timeout_s,
                                   stream_idle_timeout_s=net.stream_idle_timeout_s)
        self._static_headers = {"Content-Type": "application/json", **net.extra_headers}

    def supports(self, request_type: str, stream: bool) -> bool:
        return (request_type + "_stream" if stream else request_type) in self._supported

    def _headers(self, key: Key | None, extra: dict[str, str] | None) -> dict[str, str]:
        h = dict(self._static_headers)
        if key is not None and key.value:
            h["Authorization"] = "Bearer " + key.value
        if extra:
            h.update(extra)
        return h

    def _body(self, req: InferenceRequest) -> bytes:
        body = {k: v for k, v in req.body.items() if k != "model"}
        try:
            if req.request_type == EMBEDDING:
                out = embedding_to_cohere(body, req.target.model)
            elif req.request_type == RERANK:
                out = rerank_to_cohere(body, req.target.model)
            else:
                out = chat_to_cohere(body, req.target.model)
        except ValueError as exc:
            raise RequestError(str(exc), provider=self.name, model=req.target.model) from None
        if req.stream:
            out["stream"] = True
        else:
            out.pop("stream", None)
        return _encode(out)

    def _json(self, data: bytes, what: str) -> Any:
        try:
            return _decode(data)
        except msgspec.DecodeError:
            raise BifrostError(f"{self.name} returned {what} that is not JSON", provider=self.name) from None

    async def send(self, req: InferenceRequest, key: Key | None) -> tuple[bytes, Usage | None]:
        embed = req.request_type == EMBEDDING
        rerank = req.request_type == RERANK
        url = self._embed_url if embed else self._rerank_url if rerank else self._chat_url
        data = await self.http.request("POST", url, self._headers(key, req.extra_headers), self._body(req))
        resp = self._json(data, "a response")
        if rerank:
            if not isinstance(resp, dict):
                raise BifrostError(f"{self.name} returned a rerank response that is not an object",
                                   provider=self.name)
            out = _encode(cohere_rerank_to_rerank(resp, req.target.model, req.body))
        elif embed:
            out = _encode(cohere_embed_to_embedding(resp, req.target.model,
                                                    req.body.get("encoding_format") == "base64"))
        else:
            out = _encode(cohere_response_to_chat(resp, req.target.model))
        return out, usage_of(out)

    async def open_stream(self, req: InferenceRequest, key: Key | None) -> AsyncIterator[StreamEvent]:
        h = self._headers(key, req.extra_headers)
        h["Accept"] = "text/event-stream"
        events = await self.http.stream(self._chat_url, h, self._body(req))
        return _chat_chunks(self.name, events, req.target.model)

    async def tokenize(self, text: str, model: str, key: Key | None) -> dict[str, Any]:
        """Cohere's POST /v1/tokenize ({"text", "model"}): its answer {tokens, token_strings, meta}, checked."""
        body = _encode({"text": text, "model": model})
        parsed = self._json(await self.http.request("POST", self._tokenize_url, self._headers(key, None), body),
                            "a tokenize response")
        tokens = parsed.get("tokens") if isinstance(parsed, dict) else None
        if not isinstance(tokens, list) or not all(isinstance(t, int) for t in tokens):
            raise BifrostError(f"{self.name} returned a tokenize response without an integer tokens array",
                               provider=self.name)
        return parsed  # type: ignore[no-any-return]

    async def list_models(self, key: Key | None) -> list[dict[str, Any]]:
        data = await self.http.request("GET", self._models_url, self._headers(key, None))
        parsed = self._json(data, "a model list")
        out = []
        for m in parsed.get("models", []) if isinstance(parsed, dict) else []:
            if isinstance(m, dict) and isinstance(m.get("name"), str):
                entry: dict[str, Any] = {"id": m["name"], "object": "model", "owned_by": "cohere"}
                if m.get("context_length"):
                    entry["context_length"] = m["context_length"]
                if m.get("endpoints"):
                    entry["supported_methods"] = m["endpoints"]
                out.append(entry)
        return out

    async def close(self) -> None:
        await self.http.close()


async def _chat_chunks(provider: str, events: AsyncIterator[StreamEvent], model: str) -> AsyncIterator[StreamEvent]:
    """Cohere v2 SSE events in, OpenAI chat.completion.chunk events out."""
    conv = CohereStreamToChat(model)
    try:
        async for ev in events:
            try:
                data = _decode(ev.data)
            except msgspec.DecodeError:
                continue
            if not isinstance(data, dict):
                continue
            try:
                chunks = conv.feed(data)
            except StreamError as exc:
                raise UpstreamError(exc.message, status=exc.status, type=exc.type, provider=provider) from None
            for chunk in chunks:
                yield StreamEvent(_encode(chunk))
    finally:
        aclose = getattr(events, "aclose", None)
        if aclose is not None:
            await aclose()
