"""Google Vertex AI as a native provider (Bifrost's core/providers/vertex): Gemini and Claude models.

Bodies are the ones the Gemini and Anthropic providers already build; what differs is where they go
and how they authenticate:

* Endpoint: `https://{region}-aiplatform.googleapis.com` (region "global": `https://aiplatform.googleapis.com`);
  `network_config.base_url`, when set, replaces it. Project and region come from the key's `vertex_key_config`.
* Gemini models: `/v1/projects/{project}/locations/{region}/publishers/google/models/{model}:generateContent`,
  `:streamGenerateContent?alt=sse`, and `:predict` for embeddings (`{"instances": [{"content"}],
  "parameters": {"autoTruncate": true, "outputDimensionality"}}`, as Bifrost sends it).
* Claude models (`claude-*`): `.../publishers/anthropic/models/{model}:rawPredict` / `:streamRawPredict`
  with the Messages body minus `model`, plus `"anthropic_version": "vertex-2023-10-16"`.
* Auth: `Authorization: Bearer <token>`: an OAuth2 access token minted from the key's `auth_credentials`
  (a service-account JSON; scope cloud-platform; the token URI is the JSON's `token_uri`) with google-auth in a
  worker thread and cached until 5 minutes before it expires; with no auth_credentials, the key's `value` is
  the bearer token; with neither, Application Default Credentials.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import msgspec

from bifrost.config.model import Key, ProviderConfig, VertexKeyConfig
from bifrost.providers.anthropic.client import _chat_chunks as _anthropic_chunks
from bifrost.providers.anthropic.translate import chat_to_messages, messages_response_to_chat
from bifrost.providers.fasthttp import FastHttpClient
from bifrost.providers.gemini.client import _chat_chunks as _gemini_chunks
from bifrost.providers.gemini.client import _stream_error
from bifrost.providers.gemini.translate import GeminiError, chat_to_generate, generate_response_to_chat
from bifrost.providers.openai_compat import usage_of
from bifrost.schemas import inference as I
from bifrost.schemas.errors import BifrostError, ConfigError, RequestError
from bifrost.schemas.inference import InferenceRequest, StreamEvent, Usage

SCOPE = "https://www.googleapis.com/auth/cloud-platform"
ANTHROPIC_VERSION = "vertex-2023-10-16"
SUPPORTED = frozenset({"chat_completion", "chat_completion_stream", "embedding", "list_models"})
# Refresh a token this long before it expires (never less than half its lifetime remains).
TOKEN_MARGIN_S = 300.0
_encode = msgspec.json.encode
_decode = msgspec.json.decode


def endpoint_for(region: str) -> str:
    return "https://aiplatform.googleapis.com" if region == "global" else f"https://{region}-aiplatform.googleapis.com"


def is_anthropic_model(model: str) -> bool:
    return model.startswith("claude-") or model.startswith("anthropic/claude-")


class VertexProvider:
    keyless = False

    def __init__(self, config: ProviderConfig) -> None:
        self.name = config.name
        self.config = config
        net = config.network
        allowed = config.custom.allowed_requests if config.custom else None
        self._supported = SUPPORTED if allowed is None else frozenset(t for t in SUPPORTED if allowed.get(t))
        self.http = FastHttpClient(config.name, max_conns=net.max_conns_per_host, timeout_s=net.timeout_s,
                                   stream_idle_timeout_s=net.stream_idle_timeout_s)
        self._static_headers = {"Content-Type": "application/json", **net.extra_headers}
        # credentials fingerprint -> (token, refresh at monotonic time)
        self._tokens: dict[str, tuple[str, float]] = {}
        self._token_locks: dict[str, asyncio.Lock] = {}
        self._creds: dict[str, Any] = {}
        self._transport: Any = None

    def supports(self, request_type: str, stream: bool) -> bool:
        return (request_type + "_stream" if stream else request_type) in self._supported

    # ------------------------------------------------------------------ where

    def _vertex(self, key: Key | None) -> VertexKeyConfig:
        if key is None or key.vertex is None or not key.vertex.project_id or not key.vertex.region:
            raise ConfigError(f"provider {self.name!r}: the key has no vertex_key_config with project_id and region",
                              provider=self.name)
        return key.vertex

    def url(self, key: Key | None, model: str, method: str) -> str:
        vc = self._vertex(key)
        base = (self.config.network.base_url or endpoint_for(vc.region)).rstrip("/")
        base = base.removesuffix("/v1")
        if is_anthropic_model(model):
            publisher, model = "anthropic", model.removeprefix("anthropic/")
        else:
            publisher, model = "google", model.removeprefix("models/")
        return (f"{base}/v1/projects/{quote(vc.project_id, safe='')}/locations/{quote(vc.region, safe='')}"
                f"/publishers/{publisher}/models/{quote(model, safe='-._~@')}:{method}")

    # ------------------------------------------------------------------ auth

    async def _headers(self, key: Key | None, extra: dict[str, str] | None) -> dict[str, str]:
        h = dict(self._static_headers)
        h["Authorization"] = "Bearer " + await self.token(key)
        if extra:
            h.update(extra)
        return h

    async def token(self, key: Key | None) -> str:
        vc = self._vertex(key)
        if not vc.auth_credentials and key is not None and key.value:
            return key.value
        creds_json = vc.auth_credentials or ""
        ck = hashlib.sha256(creds_json.encode()).hexdigest() if creds_json else "adc"
        hit = self._tokens.get(ck)
        if hit is not None and time.monotonic() < hit[1]:
            return hit[0]
        lock = self._token_locks.setdefault(ck, asyncio.Lock())
        async with lock:
            hit = self._tokens.get(ck)
            if hit is not None and time.monotonic() < hit[1]:
                return hit[0]
            token, lifetime = await asyncio.to_thread(self._refresh, ck, creds_json)
            margin = min(TOKEN_MARGIN_S, lifetime / 2)
            self._tokens[ck] = (token, time.monotonic() + lifetime - margin)
            return token

    def _refresh(self, ck: str, creds_json: str) -> tuple[str, float]:
        """Blocking (runs in a worker thread): mint an access token with google-auth."""
        import google.auth
        import google.auth.exceptions
        import urllib3
        from google.auth.transport.urllib3 import Request
        from google.oauth2 import service_account

        try:
            creds = self._creds.get(ck)
            if creds is None:
                if creds_json:
                    info = _decode(creds_json)
                    creds = service_account.Credentials.from_service_account_info(info, scopes=[SCOPE])
                else:
                    creds, _ = google.auth.default(scopes=[SCOPE])
                self._creds[ck] = creds
            if self._transport is None:
                timeout = urllib3.Timeout(total=self.config.network.timeout_s)
                self._transport = Request(urllib3.PoolManager(timeout=timeout, retries=False))
            creds.refresh(self._transport)
        except google.auth.exceptions.DefaultCredentialsError as exc:
            raise ConfigError(f"provider {self.name!r}: the key has no auth_credentials and no value, and "
                              f"Application Default Credentials are not available: {exc}",
                              provider=self.name) from None
        except google.auth.exceptions.RefreshError as exc:
            raise BifrostError(f"failed to get a Google OAuth2 access token: {exc}", status=401,
                               type="authentication_error", provider=self.name) from None
        except (google.auth.exceptions.GoogleAuthError, ValueError, msgspec.DecodeError) as exc:
            raise BifrostError(f"failed to get a Google OAuth2 access token: {exc}", status=502,
                               type="authentication_error", provider=self.name) from None
        if not creds.token:
            raise BifrostError("the Google token endpoint answered without an access_token", status=502,
                               provider=self.name)
        lifetime = 3600.0
        expiry = getattr(creds, "expiry", None)
        if isinstance(expiry, dt.datetime):
            now = dt.datetime.now(dt.UTC).replace(tzinfo=None) if expiry.tzinfo is None else dt.datetime.now(dt.UTC)
            lifetime = max(0.0, (expiry - now).total_seconds())
        return creds.token, lifetime

    # ------------------------------------------------------------------ bodies

    def _gemini_body(self, req: InferenceRequest) -> bytes:
        chat = {k: v for k, v in req.body.items() if k != "model"}
        try:
            return _encode(chat_to_generate(chat, req.target.model))
        except ValueError as exc:
            raise RequestError(str(exc), provider=self.name, model=req.target.model) from None

    def _anthropic_body(self, req: InferenceRequest) -> bytes:
        chat = {k: v for k, v in req.body.items() if k != "model"}
        model = req.target.model.removeprefix("anthropic/")
        try:
            body = chat_to_messages(chat, model)
        except ValueError as exc:
            raise RequestError(str(exc), provider=self.name, model=req.target.model) from None
        body.pop("model", None)
        body["anthropic_version"] = ANTHROPIC_VERSION
        if req.stream:
            body["stream"] = True
        else:
            body.pop("stream", None)
        return _encode(body)

    def _json(self, data: bytes) -> Any:
        try:
            return _decode(data)
        except msgspec.DecodeError:
            raise BifrostError(f"{self.name} returned a response that is not JSON", provider=self.name) from None

    # ------------------------------------------------------------------ Provider protocol

    async def send(self, req: InferenceRequest, key: Key | None) -> tuple[bytes, Usage | None]:
        model = req.target.model
        if req.request_type == I.EMBEDDING:
            if is_anthropic_model(model):
                raise RequestError(f"{model} on Vertex AI does not offer embeddings", provider=self.name,
                                   model=model)
            body = {k: v for k, v in req.body.items() if k != "model"}
            try:
                pbody, n = embeddings_to_predict(body)
            except ValueError as exc:
                raise RequestError(str(exc), provider=self.name, model=model) from None
            url = self.url(key, model, "predict")
            data = await self.http.request("POST", url, await self._headers(key, req.extra_headers), _encode(pbody))
            try:
                out = _encode(predict_to_embeddings(self._json(data), model, n))
            except ValueError as exc:
                raise BifrostError(str(exc), provider=self.name) from None
            return out, usage_of(out)
        if is_anthropic_model(model):
            url = self.url(key, model, "rawPredict")
            data = await self.http.request("POST", url, await self._headers(key, req.extra_headers),
                                           self._anthropic_body(req))
            out = _encode(messages_response_to_chat(self._json(data), model.removeprefix("anthropic/")))
            return out, usage_of(out)
        url = self.url(key, model, "generateContent")
        data = await self.http.request("POST", url, await self._headers(key, req.extra_headers),
                                       self._gemini_body(req))
        try:
            out = _encode(generate_response_to_chat(self._json(data), model))
        except GeminiError as exc:
            raise _stream_error(self.name, exc) from None
        except ValueError as exc:
            raise BifrostError(str(exc), provider=self.name) from None
        return out, usage_of(out)

    async def open_stream(self, req: InferenceRequest, key: Key | None) -> AsyncIterator[StreamEvent]:
        model = req.target.model
        h = await self._headers(key, req.extra_headers)
        h["Accept"] = "text/event-stream"
        if is_anthropic_model(model):
            events = await self.http.stream(self.url(key, model, "streamRawPredict"), h, self._anthropic_body(req))
            return _anthropic_chunks(self.name, events, model.removeprefix("anthropic/"))
        url = self.url(key, model, "streamGenerateContent") + "?alt=sse"
        events = await self.http.stream(url, h, self._gemini_body(req))
        return _gemini_chunks(self.name, events, model)

    async def list_models(self, key: Key | None) -> list[dict[str, Any]]:
        """The key's listed models (Vertex has no cheap per-project catalogue of publisher models)."""
        if key is None:
            return []
        return [{"id": m, "object": "model", "owned_by": "anthropic" if is_anthropic_model(m) else "google"}
                for m in key.models if m != "*"]

    async def close(self) -> None:
        await self.http.close()


def embeddings_to_predict(body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """OpenAI embeddings request -> Vertex `:predict` body (Bifrost's ToVertexEmbeddingRequest), input count."""
    inp = body.get("input")
    texts = [inp] if isinstance(inp, str) else inp if isinstance(inp, list) else None
    if not texts or not all(isinstance(t, str) for t in texts):
        raise ValueError("input must be a string or a non-empty array of strings for Vertex AI embeddings")
    instances: list[dict[str, Any]] = []
    for t in texts:
        inst: dict[str, Any] = {"content": t}
        for extra in ("task_type", "title"):
            if isinstance(body.get(extra), str):
                inst[extra] = body[extra]
        instances.append(inst)
    auto = body.get("autoTruncate")
    params: dict[str, Any] = {"autoTruncate": auto if isinstance(auto, bool) else True}
    dims = body.get("dimensions")
    if isinstance(dims, int) and not isinstance(dims, bool):
        params["outputDimensionality"] = dims
    return {"instances": instances, "parameters": params}, len(texts)


def predict_to_embeddings(resp: Any, model: str, n: int) -> dict[str, Any]:
    """Vertex `{"predictions": [{"embeddings": {"values", "statistics": {"token_count"}}}]}` -> OpenAI list."""
    preds = resp.get("predictions") if isinstance(resp, dict) else None
    if not isinstance(preds, list):
        raise ValueError("Vertex AI returned an embedding response without predictions")
    data, tokens = [], 0
    for i, p in enumerate(preds):
        emb = p.get("embeddings") if isinstance(p, dict) else None
        values = emb.get("values") if isinstance(emb, dict) else None
        if not isinstance(values, list) or not values:
            continue
        stats = emb.get("statistics")
        if isinstance(stats, dict) and isinstance(stats.get("token_count"), int | float):
            tokens += int(stats["token_count"])
        data.append({"object": "embedding", "index": i, "embedding": values})
    return {"object": "list", "data": data, "model": model,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}
