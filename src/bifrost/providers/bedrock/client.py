"""AWS Bedrock provider over the Converse API: I/O only; translation lives in `translate.py`.

POST {endpoint}/model/{modelId}/converse and /converse-stream for chat; /model/{modelId}/invoke and
/invoke-with-response-stream for text completions (Anthropic legacy and Mistral bodies, `text.py`; token
counts from the `x-amzn-bedrock-*-token-count` headers or the stream's invocation metrics); /invoke for
embeddings (Titan `amazon.titan-embed-*`: one `{"inputText", "dimensions"?, "normalize"?}` call per input,
run concurrently; Cohere `cohere.embed-*`: one `{"texts", "input_type"}` call); model listing is
GET https://bedrock.{region}.amazonaws.com/foundation-models (the control plane; `base_url` +
"/foundation-models" when set). Endpoint
`https://bedrock-runtime.{region}.amazonaws.com` (region: the key's `bedrock_key_config.region`, else
AWS_REGION / AWS_DEFAULT_REGION, else us-east-1; `network_config.base_url` overrides the endpoint).

Authentication, per key: `bedrock_key_config.access_key` + `secret_key` (+ `session_token`) -> SigV4
(service "bedrock"); else a key `value` -> `Authorization: Bearer <value>` (a Bedrock API key, as
AWS_BEARER_TOKEN_BEDROCK); else botocore's default credential chain (env, profile, SSO, IMDS...) -> SigV4.
The stream answer is AWS's binary event stream (`application/vnd.amazon.eventstream`), decoded with
botocore's EventStreamBuffer.
"""

from __future__ import annotations

import asyncio
import base64
import os
import struct
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any
from urllib.parse import quote

import msgspec
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.eventstream import EventStreamBuffer, ParserError

from bifrost.config.model import Key, ProviderConfig
from bifrost.providers.bedrock.images import ImageFetchError, allow_private_from_env, inline_image_urls
from bifrost.providers.bedrock.text import InvokeTextStreamToCompletion, completion_to_invoke, invoke_text_to_completion
from bifrost.providers.bedrock.translate import ConverseStreamToChat, chat_to_converse, converse_response_to_chat
from bifrost.providers.fasthttp import FastHttpClient
from bifrost.providers.openai_compat import usage_of
from bifrost.schemas.errors import BifrostError, RequestError, UpstreamError
from bifrost.schemas.inference import EMBEDDING, TEXT, InferenceRequest, StreamEvent, Usage

DEFAULT_REGION = "us-east-1"
SUPPORTED = frozenset({"chat_completion", "chat_completion_stream", "text_completion", "text_completion_stream",
                       "embedding", "list_models"})
_IN_TOKENS, _OUT_TOKENS = "x-amzn-bedrock-input-token-count", "x-amzn-bedrock-output-token-count"
_encode = msgspec.json.encode
_decode = msgspec.json.decode
# Exception event types of ConverseStream -> HTTP status
_EXCEPTION_STATUS = {
    "throttlingException": 429, "validationException": 400, "accessDeniedException": 403,
    "resourceNotFoundException": 404, "modelStreamErrorException": 424, "serviceUnavailableException": 503,
    "modelTimeoutException": 408, "internalServerException": 500,
}


def endpoint_for(region: str) -> str:
    return f"https://bedrock-runtime.{region}.amazonaws.com"


def control_endpoint_for(region: str) -> str:
    return f"https://bedrock.{region}.amazonaws.com"


class BedrockProvider:
    keyless = False

    def __init__(self, config: ProviderConfig) -> None:
        self.name = config.name
        self.config = config
        net = config.network
        self._base = net.base_url.rstrip("/") if net.base_url else None
        allowed = config.custom.allowed_requests if config.custom else None
        self._supported = SUPPORTED if allowed is None else frozenset(t for t in SUPPORTED if allowed.get(t))
        self.http = FastHttpClient(config.name, max_conns=net.max_conns_per_host, timeout_s=net.timeout_s,
                                   stream_idle_timeout_s=net.stream_idle_timeout_s)
        self._extra = dict(net.extra_headers)
        self._chain: Any = None  # botocore's default-chain credentials, resolved once
        self._chain_done = False
        self._allow_private_images = allow_private_from_env()

    def supports(self, request_type: str, stream: bool) -> bool:
        return (request_type + "_stream" if stream else request_type) in self._supported

    def _region(self, key: Key | None) -> str:
        if key is not None and key.bedrock is not None and key.bedrock.region:
            return key.bedrock.region
        return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION

    def _url(self, key: Key | None, model: str, op: str) -> str:
        base = self._base or endpoint_for(self._region(key))
        return f"{base}/model/{quote(model, safe='')}/{op}"

    async def _default_credentials(self) -> Any:
        if not self._chain_done:
            def resolve() -> Any:
                import botocore.session

                return botocore.session.get_session().get_credentials()

            self._chain = await asyncio.to_thread(resolve)
            self._chain_done = True
        return self._chain

    async def _headers(self, key: Key | None, url: str, body: bytes, extra: dict[str, str] | None,
                       accept: str, method: str = "POST") -> dict[str, str]:
        base = {"Content-Type": "application/json", "Accept": accept} if method == "POST" else {"Accept": accept}
        bk = key.bedrock if key is not None else None
        creds: Any = None
        if bk is not None and bk.access_key and bk.secret_key:
            creds = Credentials(bk.access_key, bk.secret_key, bk.session_token)
        elif key is not None and key.value:
            h = {**base, "Authorization": "Bearer " + key.value}
            return {**h, **self._extra, **(extra or {})}
        else:
            creds = await self._default_credentials()
            if creds is None:
                raise BifrostError(
                    f"no AWS credentials for {self.name}: set bedrock_key_config.access_key/secret_key, a Bedrock "
                    "API key as the key value, or configure the AWS default credential chain",
                    status=401, type="authentication_error", provider=self.name)
            if hasattr(creds, "get_frozen_credentials"):
                creds = await asyncio.to_thread(creds.get_frozen_credentials)
        req = AWSRequest(method=method, url=url, data=body, headers=base)
        SigV4Auth(creds, "bedrock", self._region(key)).add_auth(req)
        return {**dict(req.headers.items()), **self._extra, **(extra or {})}

    async def _body(self, req: InferenceRequest) -> bytes:
        body = {k: v for k, v in req.body.items() if k != "model"}
        try:
            if req.request_type == TEXT:
                return _encode(completion_to_invoke(body, req.target.model))
            return _encode(chat_to_converse(await inline_image_urls(body, self._allow_private_images)))
        except ValueError as exc:  # ImageFetchError included
            raise RequestError(str(exc), provider=self.name, model=req.target.model,
                               param="messages" if isinstance(exc, ImageFetchError) else None) from None

    async def send(self, req: InferenceRequest, key: Key | None) -> tuple[bytes, Usage | None]:
        if req.request_type == EMBEDDING:
            out = _encode(await self._embed(req, key))
            return out, usage_of(out)
        if req.request_type == TEXT:
            return await self._text(req, key)
        url = self._url(key, req.target.model, "converse")
        body = await self._body(req)
        headers = await self._headers(key, url, body, req.extra_headers, "application/json")
        data = await self.http.request("POST", url, headers, body)
        try:
            resp = _decode(data)
        except msgspec.DecodeError:
            raise BifrostError(f"{self.name} returned a response that is not JSON", provider=self.name) from None
        out = _encode(converse_response_to_chat(resp, req.target.model))
        return out, usage_of(out)

    async def open_stream(self, req: InferenceRequest, key: Key | None) -> AsyncIterator[StreamEvent]:
        text = req.request_type == TEXT
        url = self._url(key, req.target.model, "invoke-with-response-stream" if text else "converse-stream")
        body = await self._body(req)
        headers = await self._headers(key, url, body, req.extra_headers, "application/vnd.amazon.eventstream")
        chunks = await self.http.stream_bytes(url, headers, body)
        if text:
            return _text_chunks(self.name, chunks, req.target.model)
        return _chat_chunks(self.name, chunks, req.target.model)

    async def _text(self, req: InferenceRequest, key: Key | None) -> tuple[bytes, Usage | None]:
        """A text completion over InvokeModel; usage from Bedrock's token-count response headers."""
        url = self._url(key, req.target.model, "invoke")
        body = await self._body(req)
        headers = await self._headers(key, url, body, req.extra_headers, "application/json")
        captured: dict[str, str] = {}
        data = await self.http.request("POST", url, headers, body, captured=captured)
        try:
            resp = _decode(data)
        except msgspec.DecodeError:
            resp = None
        if not isinstance(resp, dict):
            raise BifrostError(f"{self.name} returned a response that is not a JSON object", provider=self.name)
        out = _encode(invoke_text_to_completion(resp, req.target.model, _count(captured.get(_IN_TOKENS)),
                                                _count(captured.get(_OUT_TOKENS))))
        return out, usage_of(out)

    async def _invoke(self, key: Key | None, model: str, payload: dict, extra: dict[str, str] | None) -> Any:
        url = self._url(key, model, "invoke")
        body = _encode(payload)
        headers = await self._headers(key, url, body, extra, "application/json")
        data = await self.http.request("POST", url, headers, body)
        try:
            return _decode(data)
        except msgspec.DecodeError:
            raise BifrostError(f"{self.name} returned a response that is not JSON", provider=self.name) from None

    async def _embed(self, req: InferenceRequest, key: Key | None) -> dict[str, Any]:
        """OpenAI embeddings over InvokeModel: Titan (one call per input, concurrently) or Cohere embed."""
        model = req.target.model
        try:
            texts = embedding_inputs(req.body.get("input"))
        except ValueError as exc:
            raise RequestError(str(exc), provider=self.name, model=model) from None
        b64 = req.body.get("encoding_format") == "base64"
        if "cohere.embed" in model:
            payload: dict[str, Any] = {"texts": texts, "input_type": req.body.get("input_type") or "search_document"}
            resp = await self._invoke(key, model, payload, req.extra_headers)
            emb = resp.get("embeddings") if isinstance(resp, dict) else None
            vectors = (emb.get("float") or []) if isinstance(emb, dict) else (emb or [])
            return _embedding_list(vectors, model, 0, b64)  # Bedrock's Cohere answer carries no token count
        if "titan-embed" not in model:
            raise RequestError(f"embeddings are supported for Titan (amazon.titan-embed-*) and Cohere (cohere.embed-*) "
                               f"models on {self.name}, not {model}", provider=self.name, model=model)
        base: dict[str, Any] = {}
        if req.body.get("dimensions") is not None:
            base["dimensions"] = req.body["dimensions"]
        if req.body.get("normalize") is not None:
            base["normalize"] = req.body["normalize"]
        resps = await asyncio.gather(*(self._invoke(key, model, {"inputText": t, **base}, req.extra_headers)
                                       for t in texts))
        vectors, tokens = [], 0
        for r in resps:
            if not isinstance(r, dict) or not isinstance(r.get("embedding"), list):
                raise BifrostError(f"{self.name} returned an embedding response without `embedding`",
                                   status=502, provider=self.name)
            vectors.append(r["embedding"])
            tokens += int(r.get("inputTextTokenCount") or 0)
        return _embedding_list(vectors, model, tokens, b64)

    async def list_models(self, key: Key | None) -> list[dict[str, Any]]:
        """GET /foundation-models on the control-plane host (`bedrock.{region}`; `base_url` if set)."""
        url = (self._base or control_endpoint_for(self._region(key))) + "/foundation-models"
        headers = await self._headers(key, url, b"", None, "application/json", method="GET")
        data = await self.http.request("GET", url, headers)
        try:
            parsed = _decode(data)
        except msgspec.DecodeError:
            raise BifrostError(f"{self.name} returned a model list that is not JSON", provider=self.name) from None
        out = []
        for m in parsed.get("modelSummaries", []) if isinstance(parsed, dict) else []:
            if isinstance(m, dict) and isinstance(m.get("modelId"), str):
                entry: dict[str, Any] = {"id": m["modelId"], "object": "model",
                                         "owned_by": m.get("providerName") or "bedrock"}
                if m.get("modelName"):
                    entry["name"] = m["modelName"]
                if m.get("outputModalities"):
                    entry["output_modalities"] = m["outputModalities"]
                out.append(entry)
        return out

    async def close(self) -> None:
        await self.http.close()


def embedding_inputs(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(t, str) for t in value):
        return list(value)
    raise ValueError("input: a string or an array of strings is required (token arrays are not supported on Bedrock)")


def _embedding_list(vectors: list, model: str, tokens: int, b64: bool) -> dict[str, Any]:
    def enc(v: list) -> Any:
        return base64.b64encode(struct.pack(f"<{len(v)}f", *v)).decode() if b64 else v

    return {"object": "list", "data": [{"object": "embedding", "index": i, "embedding": enc(v)}
                                       for i, v in enumerate(vectors)],
            "model": model, "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}


def _header(v: Any) -> str:
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)


def _count(v: str | None) -> int | None:
    try:
        return int(v) if v is not None else None
    except ValueError:
        return None


async def _frames(provider: str, chunks: AsyncIterator[bytes]) -> AsyncGenerator[tuple[str, dict], None]:
    """AWS event-stream frames in, (event type, JSON payload) out; exception frames raise UpstreamError."""
    buf = EventStreamBuffer()
    try:
        async for data in chunks:
            buf.add_data(data)
            try:
                messages = list(buf)
            except ParserError as exc:  # CRC / framing errors
                raise BifrostError(f"{provider} sent a malformed event stream: {exc}", status=502,
                                   provider=provider) from None
            for msg in messages:
                headers = msg.headers
                mtype = _header(headers.get(":message-type", "event"))
                try:
                    payload = _decode(msg.payload) if msg.payload else {}
                except msgspec.DecodeError:
                    payload = {}
                if mtype != "event":
                    kind = _header(headers.get(":exception-type") or headers.get(":error-code") or "error")
                    message = (payload.get("message") if isinstance(payload, dict) else None) or _header(
                        headers.get(":error-message", "")) or kind
                    raise UpstreamError(message, status=_EXCEPTION_STATUS.get(kind, 500), type=kind,
                                        provider=provider)
                if isinstance(payload, dict):
                    yield _header(headers.get(":event-type", "")), payload
    finally:
        aclose = getattr(chunks, "aclose", None)
        if aclose is not None:
            await aclose()


async def _chat_chunks(provider: str, chunks: AsyncIterator[bytes], model: str) -> AsyncIterator[StreamEvent]:
    """ConverseStream frames in, OpenAI chat.completion.chunk events out."""
    conv = ConverseStreamToChat(model)
    frames = _frames(provider, chunks)
    try:
        async for event, payload in frames:
            for chunk in conv.feed(event, payload):
                yield StreamEvent(_encode(chunk))
    finally:
        await frames.aclose()


async def _text_chunks(provider: str, chunks: AsyncIterator[bytes], model: str) -> AsyncIterator[StreamEvent]:
    """InvokeModelWithResponseStream `chunk` frames ({"bytes": base64(JSON)}) in, text_completion chunks out."""
    conv = InvokeTextStreamToCompletion(model)
    frames = _frames(provider, chunks)
    try:
        async for event, payload in frames:
            raw = payload.get("bytes") if event == "chunk" else None
            if not isinstance(raw, str):
                continue
            try:
                data = _decode(base64.b64decode(raw))
            except (ValueError, msgspec.DecodeError):
                raise BifrostError(f"{provider} sent a stream chunk that is not base64 JSON", status=502,
                                   provider=provider) from None
            if isinstance(data, dict):
                for chunk in conv.feed(data):
                    yield StreamEvent(_encode(chunk))
    finally:
        await frames.aclose()
