"""Azure OpenAI as a native provider (Bifrost's core/providers/azure).

Bodies are OpenAI's; what differs is where they go and how they authenticate:

* URL: `{endpoint}/openai/deployments/{deployment}/{chat/completions|completions|embeddings}
  ?api-version={api_version}`; the Responses API goes to `{endpoint}/openai/v1/responses?api-version=preview`
  as in Bifrost. `endpoint`, `api_version` (default 2024-10-21) and `deployments` (model -> deployment;
  a model not listed is its own deployment name) come from the key's `azure_key_config`;
  `network_config.base_url`, when set, replaces the endpoint. The body's `model` is the deployment.
* Auth: `api-key: <key value>`, or, when the key sets client_id, client_secret and tenant_id, a
  Microsoft Entra ID bearer token from the client-credentials flow at
  `{authority}/{tenant}/oauth2/v2.0/token` (scope https://cognitiveservices.azure.com/.default, or the
  key's `scopes`), cached per (tenant, client, scopes) until 5 minutes before it expires. The authority
  is https://login.microsoftonline.com unless the environment variable BIFROST_AZURE_AUTHORITY_HOST
  names another (sovereign clouds, tests).
* Models: the key's `deployments` when it lists any, else `GET {endpoint}/openai/models?api-version=...`.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote, urlencode

import msgspec

from bifrost.config.model import DEFAULT_AZURE_API_VERSION, AzureKeyConfig, Key, ProviderConfig
from bifrost.providers import spec as S
from bifrost.providers.openai_compat import OpenAICompatProvider, usage_of
from bifrost.providers.spec import CompatSpec
from bifrost.schemas.errors import BifrostError, ConfigError
from bifrost.schemas.inference import InferenceRequest, StreamEvent, Usage

DEFAULT_SCOPE = "https://cognitiveservices.azure.com/.default"
DEFAULT_AUTHORITY = "https://login.microsoftonline.com"
AUTHORITY_ENV = "BIFROST_AZURE_AUTHORITY_HOST"
RESPONSES_API_VERSION = "preview"
# Refresh a token this long before it expires (never less than half its lifetime remains).
TOKEN_MARGIN_S = 300.0

_OPS = {S.CHAT_COMPLETION: "chat/completions", S.TEXT_COMPLETION: "completions", S.EMBEDDING: "embeddings"}

AZURE_SPEC = CompatSpec(
    name="azure", base_url="", auth="api-key",
    paths={S.CHAT_COMPLETION: "/chat/completions", S.TEXT_COMPLETION: "/completions",
           S.EMBEDDING: "/embeddings", S.RESPONSES: "/openai/v1/responses", S.LIST_MODELS: "/openai/models"},
    note="Azure OpenAI deployments; see the azure section.",
)

_encode = msgspec.json.encode


class _Token(msgspec.Struct):
    access_token: str = ""
    expires_in: int | str = 3600


_token_decoder = msgspec.json.Decoder(_Token)


class AzureProvider(OpenAICompatProvider):
    def __init__(self, config: ProviderConfig) -> None:
        super().__init__(AZURE_SPEC, config)
        self.keyless = False
        self._authority = (os.environ.get(AUTHORITY_ENV) or DEFAULT_AUTHORITY).rstrip("/")
        # (tenant, client_id, scopes) -> (token, refresh at monotonic time)
        self._tokens: dict[tuple[str, str, str], tuple[str, float]] = {}
        self._token_locks: dict[tuple[str, str, str], asyncio.Lock] = {}

    # ------------------------------------------------------------------ where and how

    def _endpoint(self, key: Key | None) -> str:
        base = self.config.network.base_url
        if base:
            return base.rstrip("/")
        if key is None or key.azure is None or not key.azure.endpoint:
            raise ConfigError(f"provider {self.name!r}: the key has no azure_key_config.endpoint and "
                              "network_config.base_url is not set", provider=self.name)
        return key.azure.endpoint

    @staticmethod
    def deployment(key: Key | None, model: str) -> str:
        if key is not None and key.azure is not None:
            return key.azure.deployments.get(model, model)
        return model

    def request_url(self, request_type: str, key: Key | None, deployment: str) -> str:
        endpoint = self._endpoint(key)
        base_type = request_type.removesuffix("_stream")
        if base_type == S.RESPONSES:
            return f"{endpoint}/openai/v1/responses?api-version={RESPONSES_API_VERSION}"
        version = key.azure.api_version if key is not None and key.azure is not None else DEFAULT_AZURE_API_VERSION
        return (f"{endpoint}/openai/deployments/{quote(deployment, safe='')}/{_OPS[base_type]}"
                f"?api-version={quote(version, safe='')}")

    async def _auth_headers(self, key: Key | None, extra: dict[str, str] | None) -> dict[str, str]:
        h = dict(self._static_headers)
        if key is not None:
            if key.azure is not None and key.azure.entra:
                h["Authorization"] = "Bearer " + await self.token(key.azure)
            elif key.value:
                h["api-key"] = key.value
        if extra:
            h.update(extra)
        return h

    async def token(self, az: AzureKeyConfig) -> str:
        """An Entra ID access token for this client, from the cache while it has 5+ minutes left."""
        scope = " ".join(az.scopes) if az.scopes else DEFAULT_SCOPE
        ck = (az.tenant_id or "", az.client_id or "", scope)
        hit = self._tokens.get(ck)
        if hit is not None and time.monotonic() < hit[1]:
            return hit[0]
        lock = self._token_locks.setdefault(ck, asyncio.Lock())
        async with lock:
            hit = self._tokens.get(ck)
            if hit is not None and time.monotonic() < hit[1]:
                return hit[0]
            url = f"{self._authority}/{quote(ck[0], safe='')}/oauth2/v2.0/token"
            form = urlencode({"grant_type": "client_credentials", "client_id": az.client_id,
                              "client_secret": az.client_secret, "scope": scope}).encode()
            try:
                data = await self.http.request(
                    "POST", url, {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
                    form)
            except BifrostError as exc:
                raise BifrostError(f"failed to get an Azure Entra ID token from {url}: {exc.message}",
                                   status=exc.status if exc.status in (400, 401, 403) else 502,
                                   type="authentication_error", provider=self.name) from None
            try:
                tok = _token_decoder.decode(data)
                lifetime = float(tok.expires_in)
            except (msgspec.DecodeError, ValueError):
                tok, lifetime = _Token(), 0.0
            if not tok.access_token:
                raise BifrostError(f"Azure Entra ID token endpoint {url} answered without an access_token",
                                   status=502, provider=self.name)
            margin = min(TOKEN_MARGIN_S, lifetime / 2)
            self._tokens[ck] = (tok.access_token, time.monotonic() + lifetime - margin)
            return tok.access_token

    def _azure_body(self, req: InferenceRequest, deployment: str) -> bytes:
        body = req.body
        body["model"] = deployment
        if req.stream:
            body["stream"] = True
            if req.request_type in (S.CHAT_COMPLETION, S.TEXT_COMPLETION) and "stream_options" not in body:
                body["stream_options"] = {"include_usage": True}
        return _encode(body)

    # ------------------------------------------------------------------ Provider protocol

    async def send(self, req: InferenceRequest, key: Key | None) -> tuple[bytes, Usage | None]:
        dep = self.deployment(key, req.target.model)
        url = self.request_url(req.request_type, key, dep)
        data = await self.http.request("POST", url, await self._auth_headers(key, req.extra_headers),
                                       self._azure_body(req, dep))
        return data, usage_of(data)

    async def open_stream(self, req: InferenceRequest, key: Key | None) -> AsyncIterator[StreamEvent]:
        dep = self.deployment(key, req.target.model)
        url = self.request_url(req.request_type, key, dep)
        h = await self._auth_headers(key, req.extra_headers)
        h["Accept"] = "text/event-stream"
        return await self.http.stream(url, h, self._azure_body(req, dep))

    async def list_models(self, key: Key | None) -> list[dict[str, Any]]:
        if key is not None and key.azure is not None and key.azure.deployments:
            return [{"id": m, "object": "model", "owned_by": "azure", "deployment": d}
                    for m, d in key.azure.deployments.items()]
        version = key.azure.api_version if key is not None and key.azure is not None else DEFAULT_AZURE_API_VERSION
        url = f"{self._endpoint(key)}/openai/models?api-version={quote(version, safe='')}"
        h = await self._auth_headers(key, None)
        data = await self.http.request("GET", url, h)
        try:
            parsed = msgspec.json.decode(data)
        except msgspec.DecodeError:
            raise BifrostError(f"{self.name} returned a model list that is not JSON", provider=self.name) from None
        items = parsed.get("data") if isinstance(parsed, dict) else parsed
        return [m for m in items or [] if isinstance(m, dict) and "id" in m]
