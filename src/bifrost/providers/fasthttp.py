"""Upstream HTTP/1.1 client on asyncio Protocols + httptools: the gateway's only upstream client.

Same constructor, methods, errors and messages as the aiohttp client it replaced, at about half its CPU per
request (docs/performance-candidates.md). Sockets and pools live in `fasthttp_pool`.

* http and https (`ssl.create_default_context()`, SNI = host; `ssl_context=` to trust others).
* Keep-alive pool per (scheme, host, port) of at most `max_conns` sockets; waiters queue FIFO.
* A reused socket that dies before any response byte arrived is retried once on a fresh one;
  nothing is retried once response bytes arrived.
* `request()`: one deadline (timeout_s) over pool wait, connect (at most 10 s) and the whole answer.
  `stream()`: connect timeout, then an idle timeout per read and no total timeout.
* Bodies by Content-Length, chunked or until EOF (that socket is not reused). No Accept-Encoding
  is sent; a gzip/deflate answer is decompressed anyway.
* A failed, cancelled or abandoned request closes its socket; only complete answers go back.
"""

from __future__ import annotations

import asyncio
import ssl
import weakref
import zlib
from collections import deque
from collections.abc import AsyncIterator, Mapping
from urllib.parse import quote, urlsplit

from bifrost.providers.fasthttp_pool import Conn, Pool, decode_body, decompressor, default_ssl, expire
from bifrost.providers.http import connection_error, exc_reason, parse_sse_block, upstream_error
from bifrost.schemas.errors import BifrostError, UpstreamConnectionError, UpstreamTimeoutError
from bifrost.schemas.inference import StreamEvent

# Framing and hop-by-hop headers are the client's to set; a caller's Host replaces ours.
_HOP = frozenset(("host", "content-length", "transfer-encoding", "connection", "keep-alive", "upgrade", "te",
                  "proxy-connection", "expect"))
_BODY_METHODS = frozenset(("POST", "PUT", "PATCH"))
_NO_HEADERS: dict[str, str] = {}
_SAFE = "/%:@!$&'()*+,;=-._~"


class FastHttpClient:
    """A keep-alive connection pool to one provider."""

    def __init__(self, provider: str, *, max_conns: int = 5000, timeout_s: float = 30.0,
                 stream_idle_timeout_s: float = 60.0, ssl_context: ssl.SSLContext | None = None) -> None:
        self.provider = provider
        self._max_conns = max_conns
        self._timeout_s = timeout_s
        self._connect_s = min(timeout_s, 10.0)
        self._idle_s = stream_idle_timeout_s
        self._ssl = ssl_context
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pools: dict[tuple[str, str, int], Pool] = {}
        self._routes: dict[str, tuple[Pool, str, str]] = {}

    async def close(self) -> None:
        for p in self._pools.values():
            p.close()
        self._pools = {}
        self._routes = {}

    def _route(self, url: str, loop: asyncio.AbstractEventLoop) -> tuple[Pool, str, str]:
        """(pool, request target, Host header) of a URL, cached."""
        if loop is not self._loop:  # first use, or a new event loop: the old loop's sockets are useless
            for p in self._pools.values():
                try:
                    p.close()
                except Exception:  # that loop may be closed already
                    pass
            self._pools, self._routes, self._loop = {}, {}, loop
        r = self._routes.get(url)
        if r is not None:
            return r
        u = urlsplit(url)
        scheme, host = u.scheme.lower(), u.hostname
        if scheme not in ("http", "https") or not host:
            # Without the query: it may carry an API key (Vertex's ?key=).
            raise ValueError(f"unsupported URL {url.partition('?')[0]!r} (expected http:// or https://)")
        default = 443 if scheme == "https" else 80
        port = u.port or default
        hosthdr = f"[{host}]" if ":" in host else host
        if port != default:
            hosthdr = f"{hosthdr}:{port}"
        target = quote(u.path or "/", safe=_SAFE) + ("?" + quote(u.query, safe=_SAFE + "?") if u.query else "")
        pool = self._pools.get((scheme, host, port))
        if pool is None:
            ctx = (self._ssl or default_ssl()) if scheme == "https" else None
            pool = self._pools[(scheme, host, port)] = Pool(host, port, ctx, self._max_conns, loop)
        r = (pool, target, hosthdr)
        if len(self._routes) < 256:
            self._routes[url] = r
        return r

    def _head(self, method: str, target: str, host: str, headers: Mapping[str, str], body: bytes | None) -> bytes:
        lines = [""]
        for k, v in headers.items():
            if k.lower() in _HOP:
                if k.lower() == "host":
                    host = v
                continue
            lines.append(f"{k}: {v}\r\n")
        lines[0] = f"{method} {target} HTTP/1.1\r\nHost: {host}\r\n"
        if body is not None:
            lines.append(f"Content-Length: {len(body)}\r\n")
        elif method in _BODY_METHODS:
            lines.append("Content-Length: 0\r\n")
        lines.append("\r\n")
        head = "".join(lines)
        if head.count("\n") != len(lines) + 1:  # a header name or value with a line break
            raise BifrostError(f"a request header for {self.provider} contains a line break; "
                               "check network_config.extra_headers and x-bf-eh-* headers", provider=self.provider)
        return head.encode()

    async def _send(self, pool: Pool, loop: asyncio.AbstractEventLoop, head: bytes, body: bytes | None,
                    stream: bool, is_head: bool, deadline: float | None) -> Conn:
        """Send the request; return the socket once the answer (stream: its headers) arrived.

        Raises TimeoutError or OSError with the socket closed; retries a stale keep-alive socket once.
        """
        conn = pool.take()
        reused = conn is not None
        if conn is None:
            conn, reused = await pool.acquire(self._connect_s, deadline)
        while True:
            fut = conn.begin(loop, stream, is_head)
            conn.send(head, body)
            timer = (loop.call_later(self._idle_s, expire, fut) if deadline is None
                     else loop.call_at(deadline, expire, fut))
            try:
                await fut
                return conn
            except TimeoutError:  # (an OSError too, so first)
                pool.drop(conn)
                raise
            except OSError:
                if not reused or conn.got_bytes:
                    pool.drop(conn)
                    raise
            except BaseException:  # cancelled: never leave a half-read socket in the pool
                pool.drop(conn)
                raise
            finally:
                timer.cancel()
            # The server had closed the idle socket before reading the request: once more, on a new socket.
            reused = False
            conn = await pool.replace(conn, self._connect_s, deadline)

    async def request(self, method: str, url: str, headers: Mapping[str, str],
                      body: bytes | None = None, captured: dict[str, str] | None = None) -> bytes:
        """Send one request and return the body of a 2xx answer; raise a BifrostError otherwise.

        `captured`, when given, receives the few response headers callers need (fasthttp_pool._CAPTURED:
        Bedrock's token counts), lower-cased."""
        loop = asyncio.get_running_loop()
        try:
            pool, target, host = self._route(url, loop)
            head = self._head(method, target, host, headers, body)
            conn = await self._send(pool, loop, head, body, False, method == "HEAD", loop.time() + self._timeout_s)
            status, data, enc, ra = conn.status, conn.body(), conn.encoding, conn.retry_after
            location = conn.location
            if captured is not None and conn.captured:
                captured.update(conn.captured)
            pool.release(conn)
            if 300 <= status < 400 and status != 304:
                raise self._redirect(status, location)
            if enc is not None:
                data = decode_body(data, enc)
        except BifrostError:
            raise
        except TimeoutError:
            raise UpstreamTimeoutError(
                f"request to {self.provider} timed out after {self._timeout_s:g}s; increase "
                f"providers.{self.provider}.network_config.default_request_timeout_in_seconds if the "
                "model needs longer", provider=self.provider) from None
        except (OSError, ValueError, zlib.error) as exc:
            raise connection_error(self.provider, url, exc) from None
        if status >= 400:
            raise upstream_error(self.provider, status, data, {"Retry-After": ra} if ra is not None else _NO_HEADERS)
        return data

    async def stream(self, url: str, headers: Mapping[str, str], body: bytes) -> AsyncIterator[StreamEvent]:
        """POST and, once a 2xx answer arrived, return an iterator of its server-sent events.

        Errors before the first event raise here (and may be retried); errors after it are raised
        by the iterator as `UpstreamConnectionError` / `UpstreamTimeoutError`.
        """
        return await self._stream(url, headers, body, _Events)

    async def stream_bytes(self, url: str, headers: Mapping[str, str], body: bytes) -> AsyncIterator[bytes]:
        """Like `stream`, but the iterator yields the raw (decompressed) body as it arrives: for binary
        event streams (AWS `application/vnd.amazon.eventstream`)."""
        return await self._stream(url, headers, body, _Bytes)  # type: ignore[return-value]

    async def _stream(self, url: str, headers: Mapping[str, str], body: bytes, cls: type[_Events]) -> _Events:
        loop = asyncio.get_running_loop()
        try:
            pool, target, host = self._route(url, loop)
            head = self._head("POST", target, host, headers, body)
            conn = await self._send(pool, loop, head, body, True, False, None)
        except BifrostError:
            raise
        except TimeoutError:
            raise UpstreamTimeoutError(f"no answer from {self.provider} within {self._idle_s:g}s",
                                       provider=self.provider) from None
        except (OSError, ValueError) as exc:
            raise connection_error(self.provider, url, exc) from None
        if 300 <= conn.status < 400:
            status, location = conn.status, conn.location
            await self._error_body(pool, conn, loop)
            raise self._redirect(status, location)
        if conn.status >= 400:
            status, ra = conn.status, conn.retry_after
            data = await self._error_body(pool, conn, loop)
            raise upstream_error(self.provider, status, data, {"Retry-After": ra} if ra is not None else _NO_HEADERS)
        return cls(self.provider, self._idle_s, pool, conn, loop)

    def _redirect(self, status: int, location: str | None) -> BifrostError:
        p = self.provider
        return BifrostError(
            f"{p} answered HTTP {status} (redirect to {location or 'nowhere'}); redirects are not followed: "
            f"set providers.{p}.network_config.base_url to the final address", status=502,
            type="upstream_redirect", provider=p)

    async def _error_body(self, pool: Pool, conn: Conn, loop: asyncio.AbstractEventLoop) -> bytes:
        """The rest of an error answer to a stream request (b"" if it can't be read)."""
        try:
            while not conn.done and conn.error is None:
                if conn.paused:
                    conn.paused, conn.nbuf = False, 0
                    conn.transport.resume_reading()
                w = conn.wake = loop.create_future()
                timer = loop.call_later(self._idle_s, expire, w)
                try:
                    await w
                finally:
                    timer.cancel()
                    conn.wake = None
            data = decode_body(conn.body(), conn.encoding) if conn.error is None else b""
        except (OSError, zlib.error):
            data = b""
        except BaseException:
            pool.drop(conn)
            raise
        pool.release(conn)  # closes it unless the answer was complete
        return data


class _Events:
    """The server-sent events of one answer, parsed as its bytes arrive exactly like `http._sse_events`.

    Ends by giving the socket back when the answer is complete; `aclose()`, an error, cancellation or
    garbage collection before that close it (so that the upstream stops generating).
    """

    __slots__ = ("provider", "idle_s", "pool", "conn", "loop", "buf", "evs", "z", "timer", "ref", "__weakref__")

    def __init__(self, provider: str, idle_s: float, pool: Pool, conn: Conn, loop: asyncio.AbstractEventLoop) -> None:
        self.provider, self.idle_s, self.pool, self.loop = provider, idle_s, pool, loop
        self.conn: Conn | None = conn
        self.buf = b""
        self.evs: deque[StreamEvent] = deque()
        self.z = decompressor(conn.encoding) if conn.encoding is not None else None
        conn.rx_at = loop.time()
        # One timer per stream instead of one per read: it re-arms itself from the last activity. It
        # holds a weak reference so that a stream dropped unread is collected (and its socket closed).
        self.ref = weakref.ref(self)
        self.timer: asyncio.TimerHandle | None = loop.call_at(conn.rx_at + idle_s, _check, self.ref)

    def __aiter__(self) -> _Events:
        return self

    async def __anext__(self) -> StreamEvent:
        evs = self.evs
        while not evs:
            conn = self.conn
            if conn is None:
                raise StopAsyncIteration
            try:
                self._feed(await self._chunk(conn))
            except TimeoutError:
                self._end(False)
                p = self.provider
                raise UpstreamTimeoutError(
                    f"{p} stream idle for more than {self.idle_s:g}s; the stream was closed (raise "
                    f"providers.{p}.network_config.stream_idle_timeout_in_seconds if that is expected)",
                    provider=p) from None
            except (OSError, zlib.error) as exc:
                self._end(False)
                raise UpstreamConnectionError(f"{self.provider} stream broke: {exc_reason(exc)}",
                                              provider=self.provider) from None
            except BaseException:
                self._end(False)
                raise
        return evs.popleft()

    async def _chunk(self, conn: Conn) -> bytes | None:
        """Everything that arrived since the last call (waiting for something), or None at the end."""
        while True:
            parts = conn.parts
            if parts:
                data = parts[0] if len(parts) == 1 else b"".join(parts)
                parts.clear()
                conn.nbuf = 0
                if conn.paused:
                    conn.paused = False
                    conn.transport.resume_reading()
                return data
            if conn.error is not None:
                raise conn.error
            if conn.done:
                return None
            conn.rx_at = self.loop.time()  # idle time counts from here or from the last byte
            w = conn.wake = self.loop.create_future()
            try:
                await w
            finally:
                conn.wake = None

    def check(self) -> None:
        conn = self.conn
        if conn is None:
            return
        now = self.loop.time()
        due = conn.rx_at + self.idle_s
        if conn.wake is not None and now + 0.001 >= due:  # waiting, and nothing arrived for idle_s
            self.timer = None
            conn.fail(TimeoutError())
            return
        self.timer = self.loop.call_at(due if due > now else now + self.idle_s, _check, self.ref)

    def _feed(self, chunk: bytes | None) -> None:
        z = self.z
        if chunk is not None:
            self._blocks(z.decompress(chunk) if z is not None else chunk)
            return
        if z is not None:
            self._blocks(z.flush())
        buf, self.buf = self.buf, b""
        if buf.strip():
            ev = parse_sse_block(buf)
            if ev is not None:
                self.evs.append(ev)
        self._end(True)

    def _blocks(self, chunk: bytes) -> None:
        buf = self.buf + chunk if self.buf else chunk
        if b"\r" in buf:  # on buf, not chunk: a "\r\n" may be split between two reads
            buf = buf.replace(b"\r\n", b"\n")
        pos = 0
        find, evs = buf.find, self.evs
        while True:
            end = find(b"\n\n", pos)
            if end < 0:
                break
            ev = parse_sse_block(buf[pos:end])
            pos = end + 2
            if ev is not None:
                evs.append(ev)
        self.buf = buf[pos:] if pos else buf

    def _end(self, complete: bool) -> None:
        conn = self.conn
        if conn is None:
            return
        self.conn = None
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if complete:
            self.pool.release(conn)  # back to the pool (closed instead unless complete and keep-alive)
        else:
            self.pool.drop(conn)

    async def aclose(self) -> None:
        conn = self.conn
        if conn is not None:  # an answer fully read off the wire leaves a clean socket, events unread or not
            self._end(conn.done and conn.error is None)

    def __del__(self) -> None:
        if self.conn is not None:
            try:
                self._end(False)
            except Exception:  # the loop may be closed already
                pass


class _Bytes(_Events):
    """The raw body chunks of one answer (`stream_bytes`); same socket handling as `_Events`."""

    __slots__ = ()

    def _feed(self, chunk: bytes | None) -> None:
        z = self.z
        if chunk is not None:
            data = z.decompress(chunk) if z is not None else chunk
        else:
            data = z.flush() if z is not None else b""
        if data:
            self.evs.append(data)  # type: ignore[arg-type]
        if chunk is None:
            self._end(True)


def _check(ref: weakref.ref[_Events]) -> None:
    events = ref()
    if events is not None:
        events.check()
