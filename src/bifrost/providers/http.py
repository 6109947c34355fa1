"""Upstream HTTP I/O: one pooled aiohttp session per provider, SSE parsing, error mapping.

Everything a provider client needs to talk HTTP lives here so that translation code stays pure.
Network failures become `UpstreamConnectionError` / `UpstreamTimeoutError` (retryable); an error
status becomes `UpstreamError` carrying the upstream's status and message.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

import aiohttp
import msgspec

from bifrost.schemas.errors import (
    BifrostError,
    UpstreamConnectionError,
    UpstreamError,
    UpstreamTimeoutError,
)
from bifrost.schemas.inference import StreamEvent

_decode = msgspec.json.decode


class HttpClient:
    """A keep-alive connection pool to one provider."""

    def __init__(self, provider: str, *, max_conns: int = 5000, timeout_s: float = 30.0,
                 stream_idle_timeout_s: float = 60.0) -> None:
        self.provider = provider
        self._max_conns = max_conns
        self._timeout = aiohttp.ClientTimeout(total=timeout_s, sock_connect=min(timeout_s, 10.0))
        self._stream_timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=min(timeout_s, 10.0), sock_read=stream_idle_timeout_s
        )
        self._timeout_s = timeout_s
        self._idle_s = stream_idle_timeout_s
        self._session: aiohttp.ClientSession | None = None

    def _sess(self) -> aiohttp.ClientSession:
        s = self._session
        if s is None or s.closed:
            connector = aiohttp.TCPConnector(
                limit=self._max_conns, limit_per_host=self._max_conns, keepalive_timeout=60,
                ttl_dns_cache=300,
            )
            s = self._session = aiohttp.ClientSession(
                connector=connector, auto_decompress=True, skip_auto_headers=("User-Agent",),
                json_serialize=lambda o: msgspec.json.encode(o).decode(),
            )
        return s

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def request(self, method: str, url: str, headers: Mapping[str, str],
                      body: bytes | None = None) -> bytes:
        """Send one request and return the body of a 2xx answer; raise a BifrostError otherwise."""
        try:
            async with self._sess().request(method, url, data=body, headers=headers,
                                            timeout=self._timeout) as resp:
                data = await resp.read()
                if resp.status >= 400:
                    raise upstream_error(self.provider, resp.status, data, resp.headers)
                return data
        except BifrostError:
            raise
        except TimeoutError:
            raise UpstreamTimeoutError(
                f"request to {self.provider} timed out after {self._timeout_s:g}s; increase "
                f"providers.{self.provider}.network_config.default_request_timeout_in_seconds if the "
                "model needs longer", provider=self.provider) from None
        except aiohttp.ClientError as exc:
            raise connection_error(self.provider, url, exc) from None

    async def stream(self, url: str, headers: Mapping[str, str], body: bytes) -> AsyncIterator[StreamEvent]:
        """POST and, once a 2xx answer arrived, return an iterator of its server-sent events.

        Errors before the first event raise here (and may be retried); errors after it are raised
        by the iterator as `UpstreamConnectionError` / `UpstreamTimeoutError`.
        """
        sess = self._sess()
        try:
            resp = await sess.post(url, data=body, headers=headers, timeout=self._stream_timeout)
        except TimeoutError:
            raise UpstreamTimeoutError(f"no answer from {self.provider} within {self._idle_s:g}s",
                                       provider=self.provider) from None
        except aiohttp.ClientError as exc:
            raise connection_error(self.provider, url, exc) from None
        if resp.status >= 400:
            try:
                data = await resp.read()
            except aiohttp.ClientError:
                data = b""
            finally:
                resp.release()
            raise upstream_error(self.provider, resp.status, data, resp.headers)
        return _sse_events(self.provider, resp, self._idle_s)


async def _sse_events(provider: str, resp: aiohttp.ClientResponse, idle_s: float) -> AsyncIterator[StreamEvent]:
    buf = b""
    completed = False
    try:
        async for chunk in resp.content.iter_any():
            buf += chunk
            if b"\r" in buf:  # on buf, not chunk: a "\r\n" may be split between two reads
                buf = buf.replace(b"\r\n", b"\n")
            while True:
                end = buf.find(b"\n\n")
                if end < 0:
                    break
                block = buf[:end]
                buf = buf[end + 2:]
                ev = parse_sse_block(block)
                if ev is not None:
                    yield ev
        if buf.strip():
            ev = parse_sse_block(buf)
            if ev is not None:
                yield ev
        completed = True
    except TimeoutError:
        raise UpstreamTimeoutError(
            f"{provider} stream idle for more than {idle_s:g}s; the stream was closed (raise "
            f"providers.{provider}.network_config.stream_idle_timeout_in_seconds if that is expected)",
            provider=provider) from None
    except aiohttp.ClientError as exc:
        raise UpstreamConnectionError(f"{provider} stream broke: {exc_reason(exc)}", provider=provider) from None
    finally:
        # A finished stream gives its connection back to the pool; an abandoned one (client gone,
        # error) is closed so that the upstream stops generating.
        if completed:
            resp.release()
        else:
            resp.close()


def parse_sse_block(block: bytes) -> StreamEvent | None:
    """Parse one SSE event block (lines, no trailing blank line). Comments yield None."""
    if block.startswith(b"data: ") and b"\n" not in block:
        return StreamEvent(block[6:])
    data: list[bytes] = []
    event: str | None = None
    for line in block.split(b"\n"):
        if not line or line.startswith(b":"):
            continue
        name, _, value = line.partition(b":")
        if value.startswith(b" "):
            value = value[1:]
        if name == b"data":
            data.append(value)
        elif name == b"event":
            event = value.decode()
    if not data:
        return None
    return StreamEvent(b"\n".join(data), event)


def exc_reason(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text


def connection_error(provider: str, url: str, exc: BaseException) -> UpstreamConnectionError:
    host = url.split("/")[2] if "://" in url else url
    return UpstreamConnectionError(
        f"could not reach {provider} at {host}: {exc_reason(exc)}; check "
        f"providers.{provider}.network_config.base_url and that the host is reachable",
        provider=provider,
    )


def _retry_after(headers: Mapping[str, str]) -> float | None:
    v = headers.get("Retry-After") or headers.get("retry-after")
    if not v:
        return None
    try:
        return max(0.0, float(v))
    except ValueError:
        return None  # an HTTP date: rare from LLM APIs; fall back to our own backoff


def upstream_error(provider: str, status: int, data: bytes, headers: Mapping[str, str]) -> UpstreamError:
    """Map an upstream error answer to Bifrost's error, keeping status and message."""
    parsed: Any = None
    message = ""
    etype = code = param = None
    try:
        parsed = _decode(data) if data else None
    except msgspec.DecodeError:
        parsed = None
    if isinstance(parsed, dict):
        err = parsed.get("error", parsed)
        if isinstance(err, dict):
            message = str(err.get("message") or err.get("detail") or "")
            etype = err.get("type")
            code = err.get("code")
            param = err.get("param")
        elif isinstance(err, str):
            message = err
        if not message and isinstance(parsed.get("message"), str):
            message = parsed["message"]
    elif isinstance(parsed, str):
        message = parsed
    if not message:
        text = data.decode("utf-8", "replace").strip()[:500]
        message = text or f"{provider} answered HTTP {status} with an empty body"
    ra = _retry_after(headers)
    hdrs = {"Retry-After": headers["Retry-After"]} if "Retry-After" in headers else None
    return UpstreamError(
        message, status=status, type=etype if isinstance(etype, str) else None,
        code=code if isinstance(code, str | int) else None, param=param if isinstance(param, str) else None,
        provider=provider, retry_after=ra, headers=hdrs,
        raw_response=parsed if parsed is not None else None,
    )
