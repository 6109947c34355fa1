"""Google Gemini API (AI Studio, generativelanguage v1beta) provider: I/O only; translation lives in `translate.py`.

The engine hands it OpenAI-shaped chat / embeddings requests; it calls
`/v1beta/models/{model}:generateContent`, `:streamGenerateContent?alt=sse`, `:embedContent` /
`:batchEmbedContents` and `GET /v1beta/models` with the key in `x-goog-api-key`, and answers with
OpenAI-shaped responses and chunks. Upstream errors keep their status and Google's message.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import msgspec

from bifrost.config.model import Key, ProviderConfig
from bifrost.providers.fasthttp import FastHttpClient
from bifrost.providers.gemini.translate import (
    GeminiError,
    GenerateStreamToChat,
    chat_to_generate,
    embeddings_to_gemini,
    gemini_embeddings_to_openai,
    generate_response_to_chat,
)
from bifrost.providers.openai_compat import usage_of
from bifrost.schemas import inference as I
from bifrost.schemas.errors import BifrostError, RequestError, UpstreamError
from bifrost.schemas.inference import InferenceRequest, StreamEvent, Usage

DEFAULT_BASE_URL = "https://generativelanguage.googleapis.com"
API_VERSION = "v1beta"
SUPPORTED = frozenset({"chat_completion", "chat_completion_stream", "embedding", "list_models"})
_STATUS_OF = {"INVALID_ARGUMENT": 400, "FAILED_PRECONDITION": 400, "UNAUTHENTICATED": 401, "PERMISSION_DENIED": 403,
              "NOT_FOUND": 404, "RESOURCE_EXHAUSTED": 429, "UNAVAILABLE": 503, "DEADLINE_EXCEEDED": 504}
_encode = msgspec.json.encode
_decode = msgspec.json.decode


class GeminiProvider:
    keyless = False

    def __init__(self, config: ProviderConfig) -> None:
        self.name = config.name
        self.config = config
        net = config.network
        base = (net.base_url or DEFAULT_BASE_URL).rstrip("/")
        if not base.endswith("/" + API_VERSION):
            base += "/" + API_VERSION
        self._base = base
        self._models_url = base + "/models"
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
            h["x-goog-api-key"] = key.value
        if extra:
            h.update(extra)
        return h

    def _url(self, model: str, method: str) -> str:
        if model.startswith("models/"):
            model = model[7:]
        return f"{self._models_url}/{quote(model, safe='-._~@')}:{method}"

    def _chat_body(self, req: InferenceRequest) -> bytes:
        chat = {k: v for k, v in req.body.items() if k != "model"}
        try:
            return _encode(chat_to_generate(chat, req.target.model))
        except ValueError as exc:
            raise RequestError(str(exc), provider=self.name, model=req.target.model) from None

    def _json(self, data: bytes) -> Any:
        try:
            return _decode(data)
        except msgspec.DecodeError:
            raise BifrostError(f"{self.name} returned a response that is not JSON", provider=self.name) from None

    async def send(self, req: InferenceRequest, key: Key | None) -> tuple[bytes, Usage | None]:
        model = req.target.model
        headers = self._headers(key, req.extra_headers)
        if req.request_type == I.EMBEDDING:
            body = {k: v for k, v in req.body.items() if k != "model"}
            try:
                method, gbody = embeddings_to_gemini(body, model)
            except ValueError as exc:
                raise RequestError(str(exc), provider=self.name, model=model) from None
            data = await self.http.request("POST", self._url(model, method), headers, _encode(gbody))
            inp = body.get("input")
            inputs = [inp] if isinstance(inp, str) else inp if isinstance(inp, list) else None
            try:
                out = _encode(gemini_embeddings_to_openai(self._json(data), model, inputs))
            except ValueError as exc:
                raise BifrostError(str(exc), provider=self.name) from None
            return out, usage_of(out)
        data = await self.http.request("POST", self._url(model, "generateContent"), headers, self._chat_body(req))
        try:
            out = _encode(generate_response_to_chat(self._json(data), model))
        except GeminiError as exc:
            raise _stream_error(self.name, exc) from None
        except ValueError as exc:
            raise BifrostError(str(exc), provider=self.name) from None
        return out, usage_of(out)

    async def open_stream(self, req: InferenceRequest, key: Key | None) -> AsyncIterator[StreamEvent]:
        h = self._headers(key, req.extra_headers)
        h["Accept"] = "text/event-stream"
        url = self._url(req.target.model, "streamGenerateContent") + "?alt=sse"
        events = await self.http.stream(url, h, self._chat_body(req))
        return _chat_chunks(self.name, events, req.target.model)

    async def count_gemini_tokens(self, body: dict[str, Any], model: str, key: Key | None) -> int:
        """`:countTokens` with a Gemini countTokens body (the `/genai` route's, passed through): totalTokens."""
        body = {k: v for k, v in body.items() if k != "model"}
        inner = body.get("generateContentRequest")
        if isinstance(inner, dict):
            body["generateContentRequest"] = {**inner, "model": "models/" + model.removeprefix("models/")}
        parsed = self._json(await self.http.request("POST", self._url(model, "countTokens"),
                                                    self._headers(key, None), _encode(body)))
        total = parsed.get("totalTokens") if isinstance(parsed, dict) else None
        return total if isinstance(total, int) else 0

    async def list_models(self, key: Key | None) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        token = ""
        for _ in range(50):  # pages of up to 1000 models
            url = self._models_url + "?pageSize=1000" + ("&pageToken=" + quote(token, safe="") if token else "")
            parsed = self._json(await self.http.request("GET", url, self._headers(key, None)))
            if not isinstance(parsed, dict):
                break
            for m in parsed.get("models") or ():
                if isinstance(m, dict) and isinstance(m.get("name"), str):
                    mid = m["name"].removeprefix("models/")
                    out.append({"id": mid, "object": "model", "owned_by": "google",
                                "display_name": m.get("displayName"),
                                "context_length": m.get("inputTokenLimit")})
            token = parsed.get("nextPageToken") or ""
            if not isinstance(token, str) or not token:
                break
        return out

    async def close(self) -> None:
        await self.http.close()


def _stream_error(provider: str, exc: GeminiError) -> UpstreamError:
    status = exc.code if isinstance(exc.code, int) and 400 <= exc.code < 600 else _STATUS_OF.get(exc.status or "", 500)
    return UpstreamError(str(exc), status=status, type=exc.status, provider=provider)


async def _chat_chunks(provider: str, events: AsyncIterator[StreamEvent], model: str) -> AsyncIterator[StreamEvent]:
    """Gemini SSE `data:` objects in, OpenAI chat.completion.chunk events out."""
    conv = GenerateStreamToChat(model)
    try:
        async for ev in events:
            if ev.data[:1] not in (b"{", b"["):
                continue
            try:
                data = _decode(ev.data)
            except msgspec.DecodeError:
                continue
            try:
                for item in data if isinstance(data, list) else [data]:
                    for chunk in conv.feed(item):
                        yield StreamEvent(_encode(chunk))
            except GeminiError as exc:
                raise _stream_error(provider, exc) from None
        for chunk in conv.finish():
            yield StreamEvent(_encode(chunk))
    finally:
        aclose = getattr(events, "aclose", None)
        if aclose is not None:
            await aclose()
