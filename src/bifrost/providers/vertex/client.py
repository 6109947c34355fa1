"""Google Vertex AI as a native provider (Bifrost's core/providers/vertex): Gemini, Claude, Mistral and
Model-as-a-Service partner models, and fine-tuned endpoints. `models.py` says which API serves which model.

Bodies are the ones the Gemini, Anthropic and OpenAI-compatible providers already build; what differs is
where they go and how they authenticate:

* Endpoint: `https://{region}-aiplatform.googleapis.com` (region "global": `https://aiplatform.googleapis.com`);
  `network_config.base_url`, when set, replaces it. Project and region come from the key's `vertex_key_config`.
* Gemini models: `/v1/projects/{project}/locations/{region}/publishers/google/models/{model}:generateContent`,
  `:streamGenerateContent?alt=sse`, and `:predict` for embeddings (`{"instances": [{"content"}],
  "parameters": {"autoTruncate": true, "outputDimensionality"}}`, as Bifrost sends it).
* Claude models (`claude-*`): `.../publishers/anthropic/models/{model}:rawPredict` / `:streamRawPredict`
  with the Messages body minus `model`, plus `"anthropic_version": "vertex-2023-10-16"`.
* Mistral models: `.../publishers/mistralai/models/{model}:rawPredict` / `:streamRawPredict`; other
  `publisher/model` ids: `v1beta1/.../endpoints/openapi/chat/completions`; both OpenAI bodies and answers.
* Numeric model ids (fine-tuned / custom endpoints): `v1beta1/projects/{project_number}/locations/{region}/
  endpoints/{id}:generateContent`, the Gemini body.
* Auth, as Bifrost's vertex.go does it: a key `value` is a Vertex API key (express mode), sent as the `key`
  query parameter (`?key=`, or `&key=` after `?alt=sse`) with no Authorization header, for Gemini publisher
  models (chat, stream, `:predict` embeddings), fine-tuned endpoints (chat, stream) and partner models on the
  openapi endpoint when streaming. Every other call (Claude and Mistral `rawPredict`, partner models
  unstreamed, and everything when the key has no value) sends `Authorization: Bearer <token>`: an OAuth2
  access token minted from the key's `auth_credentials` (a service-account JSON; scope cloud-platform; the
  token URI is the JSON's `token_uri`) with google-auth in a worker thread and cached until 5 minutes before
  it expires, or without auth_credentials from Application Default Credentials. The value wins over
  auth_credentials where an API key is accepted, as in Bifrost. The key never reaches a log or an error
  message (errors that name a URL drop its query).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote_plus

import msgspec

from bifrost.config.model import Key, ProviderConfig, VertexKeyConfig
from bifrost.providers.anthropic.client import _chat_chunks as _anthropic_chunks
from bifrost.providers.anthropic.translate import chat_to_messages, messages_response_to_chat
from bifrost.providers.compat_quirks import map_finish_reasons
from bifrost.providers.compat_table import compat_spec
from bifrost.providers.fasthttp import FastHttpClient
from bifrost.providers.gemini.client import _chat_chunks as _gemini_chunks
from bifrost.providers.gemini.client import _stream_error
from bifrost.providers.gemini.translate import GeminiError, chat_to_generate, generate_response_to_chat
from bifrost.providers.openai_compat import mapped_stream, usage_of
from bifrost.providers.spec import CompatSpec
from bifrost.providers.vertex import models as M
from bifrost.providers.vertex.embeddings import embeddings_to_predict, predict_to_embeddings
from bifrost.providers.vertex.inline import inline_url_sources, url_sources
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
_MISTRAL = compat_spec("mistral") or CompatSpec(name="mistral", base_url="")


class _NoADC(Exception):
    """Application Default Credentials are not available (the caller words the error)."""


def with_api_key(url: str, api_key: str | None) -> str:
    """`url` with `key=<api_key>` appended to its query (escaped as Go's url.QueryEscape does)."""
    if api_key is None:
        return url
    return f"{url}{'&' if '?' in url else '?'}key={quote_plus(api_key)}"


def is_anthropic_model(model: str) -> bool:
    return M.family(model) == M.ANTHROPIC


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

    def _base(self, vc: VertexKeyConfig) -> str:
        base = (self.config.network.base_url or M.endpoint_for(vc.region)).rstrip("/")
        return base.removesuffix("/v1")

    def url(self, key: Key | None, model: str, method: str) -> str:
        """The URL of `model`'s `method` (a publisher model's; a numeric id's fine-tuned endpoint)."""
        vc = self._vertex(key)
        base = self._base(vc)
        kind = M.family(model)
        if kind == M.ENDPOINT:
            if not vc.project_number:
                raise ConfigError(f"provider {self.name!r}: model {model!r} is a fine-tuned endpoint id, which Vertex "
                                  "addresses by project number: set vertex_key_config.project_number on the key",
                                  provider=self.name)
            return M.endpoint_url(base, vc.project_number, vc.region, model, method)
        if kind == M.OPENAPI:
            return M.openapi_url(base, vc.project_id, vc.region)
        if kind == M.ANTHROPIC:
            publisher, model = "anthropic", model.removeprefix("anthropic/")
        elif kind == M.MISTRAL:
            publisher, model = "mistralai", model.removeprefix("mistralai/")
        else:
            publisher, model = "google", model.removeprefix("models/").removeprefix("google/")
        return M.publisher_url(base, vc.project_id, vc.region, publisher, model, method)

    # ------------------------------------------------------------------ auth

    def api_key(self, key: Key | None, kind: str, op: str) -> str | None:
        """The key's value when Bifrost sends it as `?key=` for a `kind` model's `op` ("chat", "stream",
        "embed"); None when the call authenticates with an OAuth2 bearer token instead."""
        if key is None or not key.value:
            return None
        if op == "embed" or kind in (M.GEMINI, M.ENDPOINT) or (op == "stream" and kind == M.OPENAPI):
            return key.value
        return None

    async def _headers(self, key: Key | None, extra: dict[str, str] | None, api_key: str | None = None,
                       model: str = "") -> dict[str, str]:
        h = dict(self._static_headers)
        if api_key is None:
            h["Authorization"] = "Bearer " + await self.token(key, model)
        if extra:
            h.update(extra)
        return h

    async def token(self, key: Key | None, model: str = "") -> str:
        """An OAuth2 access token from the key's auth_credentials, else Application Default Credentials."""
        vc = self._vertex(key)
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
            try:
                token, lifetime = await asyncio.to_thread(self._refresh, ck, creds_json)
            except _NoADC as exc:
                raise self._no_adc(key, model, str(exc)) from None
            margin = min(TOKEN_MARGIN_S, lifetime / 2)
            self._tokens[ck] = (token, time.monotonic() + lifetime - margin)
            return token

    def _no_adc(self, key: Key | None, model: str, reason: str) -> ConfigError:
        fix = "set vertex_key_config.auth_credentials to a service-account key JSON, or provide ADC"
        if key is not None and key.value:
            what = (f"{model or 'this call'} on Vertex AI needs an OAuth2 token (the key's value, a Vertex API key, "
                    "is sent only for Gemini models, fine-tuned endpoints, embeddings and streamed partner models, "
                    "as Bifrost does)")
        else:
            what = "the key has no value (Vertex API key) and no auth_credentials"
        return ConfigError(f"provider {self.name!r}: {what}, and Application Default Credentials are not "
                           f"available: {reason}; {fix}", provider=self.name)

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
            raise _NoADC(str(exc)) from None
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

    async def _anthropic_body(self, req: InferenceRequest) -> bytes:
        chat = {k: v for k, v in req.body.items() if k != "model"}
        model = req.target.model.removeprefix("anthropic/")
        try:
            body = chat_to_messages(chat, model)
        except ValueError as exc:
            raise RequestError(str(exc), provider=self.name, model=req.target.model) from None
        body.pop("model", None)
        if url_sources(body):  # Claude on Vertex takes base64 sources only (Bifrost inlines them too)
            await inline_url_sources(body, self._fetch)
        body["anthropic_version"] = ANTHROPIC_VERSION
        if req.stream:
            body["stream"] = True
        else:
            body.pop("stream", None)
        return _encode(body)

    async def _fetch(self, url: str) -> bytes:
        """GET an image/document URL for inlining, on a throwaway client (arbitrary hosts must not pile up pools)."""
        client = FastHttpClient(self.name, max_conns=4, timeout_s=self.config.network.timeout_s)
        try:
            return await client.request("GET", url, {"Accept": "*/*"})
        except BifrostError as exc:
            raise RequestError(f"could not fetch {url} to inline it for Claude on Vertex AI (which accepts only "
                               f"base64 images and documents): {exc.message}; send it as a data: URL instead",
                               provider=self.name) from None
        finally:
            await client.close()

    def _json(self, data: bytes) -> Any:
        try:
            return _decode(data)
        except msgspec.DecodeError:
            raise BifrostError(f"{self.name} returned a response that is not JSON", provider=self.name) from None

    # ------------------------------------------------------------------ Provider protocol

    async def _post(self, req: InferenceRequest, key: Key | None, kind: str, method: str, body: bytes,
                    op: str = "chat") -> bytes:
        api_key = self.api_key(key, kind, op)
        url = with_api_key(self.url(key, req.target.model, method), api_key)
        return await self.http.request("POST", url, await self._headers(key, req.extra_headers, api_key,
                                                                          req.target.model), body)

    async def send(self, req: InferenceRequest, key: Key | None) -> tuple[bytes, Usage | None]:
        model = req.target.model
        kind = M.family(model)
        if req.request_type == I.EMBEDDING:
            if kind != M.GEMINI:
                raise RequestError(f"{model} on Vertex AI does not offer embeddings through Bifrost (only Google "
                                   "publisher models' :predict does); use e.g. vertex/text-embedding-005",
                                   provider=self.name, model=model)
            body = {k: v for k, v in req.body.items() if k != "model"}
            try:
                pbody, n = embeddings_to_predict(body)
            except ValueError as exc:
                raise RequestError(str(exc), provider=self.name, model=model) from None
            data = await self._post(req, key, kind, "predict", _encode(pbody), "embed")
            try:
                out = _encode(predict_to_embeddings(self._json(data), model, n))
            except ValueError as exc:
                raise BifrostError(str(exc), provider=self.name) from None
            return out, usage_of(out)
        if kind == M.ANTHROPIC:
            data = await self._post(req, key, kind, "rawPredict", await self._anthropic_body(req))
            out = _encode(messages_response_to_chat(self._json(data), model.removeprefix("anthropic/")))
            return out, usage_of(out)
        if kind in (M.MISTRAL, M.OPENAPI):
            data = await self._post(req, key, kind, "rawPredict", _encode(M.openai_chat_body(kind, req.body, model,
                                                                                             False)))
            if kind == M.MISTRAL:
                data = map_finish_reasons(_MISTRAL, data)
            return data, usage_of(data)
        data = await self._post(req, key, kind, "generateContent", self._gemini_body(req))
        try:
            out = _encode(generate_response_to_chat(self._json(data), model))
        except GeminiError as exc:
            raise _stream_error(self.name, exc) from None
        except ValueError as exc:
            raise BifrostError(str(exc), provider=self.name) from None
        return out, usage_of(out)

    async def open_stream(self, req: InferenceRequest, key: Key | None) -> AsyncIterator[StreamEvent]:
        model = req.target.model
        kind = M.family(model)
        api_key = self.api_key(key, kind, "stream")
        h = await self._headers(key, req.extra_headers, api_key, model)
        h["Accept"] = "text/event-stream"
        if kind in (M.MISTRAL, M.OPENAPI):
            payload = _encode(M.openai_chat_body(kind, req.body, model, True))
            url = with_api_key(self.url(key, model, "streamRawPredict"), api_key)
            events = await self.http.stream(url, h, payload)
            return mapped_stream(_MISTRAL, events) if kind == M.MISTRAL else events
        if kind == M.ANTHROPIC:
            payload = await self._anthropic_body(req)
            events = await self.http.stream(self.url(key, model, "streamRawPredict"), h, payload)
            return _anthropic_chunks(self.name, events, model.removeprefix("anthropic/"))
        url = with_api_key(self.url(key, model, "streamGenerateContent") + "?alt=sse", api_key)
        events = await self.http.stream(url, h, self._gemini_body(req))
        return _gemini_chunks(self.name, events, model)

    async def list_models(self, key: Key | None) -> list[dict[str, Any]]:
        """The key's listed models (Vertex has no cheap per-project catalogue of publisher models)."""
        if key is None:
            return []
        owners = {M.ANTHROPIC: "anthropic", M.MISTRAL: "mistralai", M.ENDPOINT: "custom"}
        return [{"id": m, "object": "model",
                 "owned_by": owners.get(M.family(m)) or (m.split("/")[0] if "/" in m else "google")}
                for m in key.models if m != "*"]

    async def close(self) -> None:
        await self.http.close()
