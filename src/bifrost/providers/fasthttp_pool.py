"""Sockets and keep-alive pools for `fasthttp.FastHttpClient` (asyncio Protocol + httptools).

`Conn` is one HTTP/1.1 socket with its reused response parser; `Pool` holds the sockets to one
(scheme, host, port): at most `max_conns`, waiters served FIFO, idle ones reused LIFO, expired after
KEEPALIVE_S and dropped when the server closes them. Each socket counts against the pool until
`drop()`, which is idempotent, so every exit path gives its slot back exactly once.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import zlib
from collections import deque

import httptools

from bifrost.providers.http import exc_reason

KEEPALIVE_S = 60.0  # idle sockets older than this are closed
DNS_TTL_S = 300.0
HIGH_WATER = 256 * 1024  # unread stream bytes before reading from the socket pauses
# Lengths of the header names looked at: location, retry-after, content-length, content-encoding, transfer-encoding,
# and the two in _CAPTURED.
_WATCHED = frozenset((8, 11, 14, 16, 17, 32, 33))
# Response headers kept for the caller (`captured`): Bedrock InvokeModel's token counts.
_CAPTURED = frozenset((b"x-amzn-bedrock-input-token-count", b"x-amzn-bedrock-output-token-count"))
_default_ctx: ssl.SSLContext | None = None


def default_ssl() -> ssl.SSLContext:
    global _default_ctx
    if _default_ctx is None:
        _default_ctx = ssl.create_default_context()  # system CAs; loading them costs ms, so once
    return _default_ctx


class Closed(ConnectionError):
    """The server closed or broke the connection, or answered with something that is not HTTP."""


def expire(fut: asyncio.Future) -> None:
    if not fut.done():
        fut.set_exception(TimeoutError())


class Conn(asyncio.Protocol):
    """One socket. Between `begin()` and release/drop a request owns it (`active`)."""

    __slots__ = ("pool", "transport", "parser", "closed", "active", "in_pool", "counted", "idle_since",
                 "fut", "wake", "stream", "head", "status", "parts", "nbuf", "paused", "got_bytes",
                 "headers_done", "done", "keep", "framed", "encoding", "retry_after", "location", "error", "rx_at",
                 "captured")

    def __init__(self, pool: Pool) -> None:
        self.pool = pool
        self.transport: asyncio.Transport = None  # type: ignore[assignment]
        self.parser = httptools.HttpResponseParser(self)  # reused for every response on this socket
        self.closed = self.active = self.in_pool = False
        self.counted = True  # holds one of the pool's max_conns slots
        self.idle_since = self.rx_at = 0.0
        self.fut: asyncio.Future | None = None
        self.wake: asyncio.Future | None = None
        self.parts: list[bytes] = []
        self.error: BaseException | None = None
        self.captured: dict[str, str] | None = None
        self.done = True

    def begin(self, loop: asyncio.AbstractEventLoop, stream: bool, head: bool) -> asyncio.Future:
        self.active = True
        self.stream = stream
        self.head = head
        self.status = self.nbuf = 0
        self.parts = []
        self.paused = self.got_bytes = self.headers_done = self.done = self.keep = self.framed = False
        self.encoding: bytes | None = None
        self.retry_after: str | None = None
        self.location: str | None = None
        self.captured = None
        self.error = self.wake = None
        fut = self.fut = loop.create_future()
        return fut

    def send(self, head: bytes, body: bytes | None) -> None:
        try:
            if body is None:
                self.transport.write(head)
            elif len(body) <= 65536:
                self.transport.write(head + body)  # one syscall for head and body
            else:
                self.transport.writelines((head, body))
        except Exception as exc:  # transport already closing: same as a stale socket
            self.fail(Closed(f"connection closed before the request was sent ({exc_reason(exc)})"))

    def fail(self, exc: BaseException) -> None:
        if self.error is None:
            self.error = exc
        f = self.fut
        if f is not None and not f.done():
            f.set_exception(exc)
        w = self.wake
        if w is not None and not w.done():
            w.set_exception(exc)

    def _notify(self) -> None:
        w = self.wake
        if w is not None and not w.done():
            w.set_result(None)

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if not self.active or self.done:  # unasked-for bytes (e.g. a 408 before closing): unusable
            self.keep = False
            self.transport.close()
            return
        self.got_bytes = True
        if self.stream:
            self.rx_at = self.pool.loop.time()
        try:
            self.parser.feed_data(data)
        except Exception as exc:  # httptools.HttpParserError and friends
            self.keep = False
            self.fail(Closed(f"invalid HTTP response from the server ({exc_reason(exc)})"))
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.in_pool:
            self.pool.lost_idle(self)
            return
        if not self.active or self.done:
            return
        if self.headers_done and not self.framed and self.error is None:
            self.keep = False  # no Content-Length, not chunked: the body ends at EOF
            self._finish()
            return
        if exc is None:
            exc = Closed("server closed the connection before the response was complete" if self.got_bytes
                          else "server closed the connection without answering")
        self.fail(exc)

    # httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        if len(name) in _WATCHED:
            n = name.lower()
            if n == b"content-length" or n == b"transfer-encoding":
                self.framed = True
            elif n == b"content-encoding":
                self.encoding = value.strip().lower()
            elif n == b"retry-after":
                self.retry_after = value.decode("latin-1").strip()
            elif n == b"location":
                self.location = value.decode("latin-1").strip()
            elif n in _CAPTURED:
                if self.captured is None:
                    self.captured = {}
                self.captured[n.decode()] = value.decode("latin-1").strip()

    def on_headers_complete(self) -> None:
        if self.done:  # a second response nobody asked for: never reuse this socket
            self.keep = False
            return
        status = self.parser.get_status_code()
        if status < 200:  # interim 1xx answer: the real one follows
            self.framed = False
            self.encoding = self.retry_after = self.location = self.captured = None
            return
        self.status = status
        self.headers_done = True
        if self.head:  # no body follows, whatever the headers say; llhttp can't be told, so a new parser
            self.keep = self.parser.should_keep_alive()
            self.parser = httptools.HttpResponseParser(self)
            self._finish()
        elif self.stream:
            f = self.fut
            if f is not None and not f.done():
                f.set_result(None)

    def on_body(self, body: bytes) -> None:
        if self.done:
            return
        self.parts.append(body)
        if self.stream:
            self._notify()
            self.nbuf += len(body)
            if self.nbuf > HIGH_WATER and not self.paused:
                self.paused = True
                self.transport.pause_reading()

    def on_message_complete(self) -> None:
        if self.done or not self.headers_done:  # after garbage, or the end of a 1xx
            return
        # Read keep-alive HERE: once this callback returns llhttp resets for the next message and
        # should_keep_alive() reports False (which would leak a socket per request).
        self.keep = self.parser.should_keep_alive()
        self._finish()

    def _finish(self) -> None:
        self.done = True
        if self.stream:
            self._notify()
        else:
            f = self.fut
            if f is not None and not f.done():
                f.set_result(None)

    def body(self) -> bytes:
        parts = self.parts
        return parts[0] if len(parts) == 1 else b"".join(parts)


class Pool:
    """Keep-alive sockets to one (scheme, host, port)."""

    def __init__(self, host: str, port: int, ssl_ctx: ssl.SSLContext | None, max_conns: int,
                 loop: asyncio.AbstractEventLoop) -> None:
        self.host, self.port, self.ssl, self.max, self.loop = host, port, ssl_ctx, max(1, max_conns), loop
        self.n = 0  # sockets open or connecting (slots in use)
        self.idle: dict[Conn, None] = {}  # insertion-ordered: popitem() is LIFO, the oldest first in order
        self.waiters: deque[asyncio.Future] = deque()
        self.conns: set[Conn] = set()
        self.sweeper: asyncio.TimerHandle | None = None
        self.addrs: list[tuple[int, str]] = []
        self.addrs_at = 0.0
        self.open = True

    def take(self) -> Conn | None:
        """An idle socket without awaiting anything, or None."""
        idle = self.idle
        if idle:
            now = self.loop.time()
            while idle:
                c = idle.popitem()[0]
                c.in_pool = False
                if c.closed or now - c.idle_since > KEEPALIVE_S or c.transport.is_closing():
                    self.drop(c)
                    continue
                return c
        return None

    async def acquire(self, connect_s: float, deadline: float | None) -> tuple[Conn, bool]:
        """A socket and whether it was reused; waits (FIFO) while max_conns are busy."""
        while True:
            c = self.take()
            if c is not None:
                return c, True
            if not self.open:
                raise Closed("the HTTP client was closed")
            if self.n < self.max:
                self.n += 1
                return await self._connect(connect_s, deadline), False
            fut = self.loop.create_future()
            self.waiters.append(fut)
            try:
                if deadline is None:
                    got = await fut
                else:
                    async with asyncio.timeout_at(deadline):
                        got = await fut
            except BaseException:
                if fut.done() and not fut.cancelled() and fut.exception() is None:  # handed one as we gave up
                    got = fut.result()
                    if got is None:
                        self._free()
                    else:
                        self.release(got)
                else:
                    try:
                        self.waiters.remove(fut)
                    except ValueError:
                        pass
                raise
            if got is None:  # a slot was handed over
                return await self._connect(connect_s, deadline), False
            if not got.closed and not got.transport.is_closing():
                return got, True
            self.drop(got)

    async def replace(self, conn: Conn, connect_s: float, deadline: float | None) -> Conn:
        """Close a stale socket and open a fresh one in its slot (so no waiter takes the slot meanwhile)."""
        if not conn.counted:
            return (await self.acquire(connect_s, deadline))[0]
        conn.counted = conn.active = False
        self.conns.discard(conn)
        conn.transport.abort()
        return await self._connect(connect_s, deadline)

    async def _connect(self, connect_s: float, deadline: float | None) -> Conn:
        """Open a socket in a slot already counted; the slot is given back if that fails."""
        loop = self.loop
        try:
            until = loop.time() + connect_s
            async with asyncio.timeout_at(until if deadline is None else min(until, deadline)):
                now = loop.time()
                if not self.addrs or now - self.addrs_at > DNS_TTL_S:
                    infos = await loop.getaddrinfo(self.host, self.port, type=socket.SOCK_STREAM)
                    self.addrs = [(int(fam), str(sa[0])) for fam, _, _, _, sa in infos]
                    self.addrs_at = now
                err: BaseException | None = None
                for fam, ip in self.addrs:
                    try:
                        _, conn = await loop.create_connection(
                            lambda: Conn(self), ip, self.port, family=fam, ssl=self.ssl,
                            server_hostname=self.host if self.ssl is not None else None)
                        break
                    except OSError as exc:
                        err = exc
                else:
                    self.addrs = []
                    raise err or OSError(f"no address for {self.host}")
        except BaseException:
            self._free()
            raise
        self.conns.add(conn)
        if not self.open:  # closed while connecting
            self.drop(conn)
            raise Closed("the HTTP client was closed")
        return conn

    def release(self, conn: Conn) -> None:
        """The request is finished with `conn`: back to the pool if clean and kept alive, else closed."""
        conn.active = False
        if conn.closed or not conn.done or not conn.keep or conn.error is not None or not conn.counted or not self.open:
            self.drop(conn)
            return
        conn.parts.clear()
        waiters = self.waiters
        while waiters:
            w = waiters.popleft()
            if not w.done():
                w.set_result(conn)
                return
        conn.idle_since = self.loop.time()
        conn.in_pool = True
        self.idle[conn] = None
        if self.sweeper is None:
            self.sweeper = self.loop.call_later(KEEPALIVE_S, self._sweep)

    def drop(self, conn: Conn) -> None:
        """Close `conn` and give its slot back (idempotent)."""
        conn.active = conn.in_pool = False
        if conn.transport is not None and not conn.closed:
            conn.transport.abort()  # at once: no TLS close_notify wait, so the upstream sees it now
        if conn.counted:
            conn.counted = False
            self.conns.discard(conn)
            self._free()

    def _free(self) -> None:
        waiters = self.waiters
        while waiters:
            w = waiters.popleft()
            if not w.done():
                w.set_result(None)  # the slot passes to the first waiter
                return
        self.n -= 1

    def lost_idle(self, conn: Conn) -> None:
        self.idle.pop(conn, None)
        self.drop(conn)

    def _sweep(self) -> None:
        self.sweeper = None
        idle = self.idle
        now = self.loop.time()
        while idle:
            oldest = next(iter(idle))
            if now - oldest.idle_since < KEEPALIVE_S:
                self.sweeper = self.loop.call_at(oldest.idle_since + KEEPALIVE_S, self._sweep)
                break
            del idle[oldest]
            self.drop(oldest)

    def close(self) -> None:
        self.open = False
        if self.sweeper is not None:
            self.sweeper.cancel()
            self.sweeper = None
        while self.waiters:  # first, or freed slots would be handed to them
            w = self.waiters.popleft()
            if not w.done():
                w.set_exception(Closed("the HTTP client was closed"))
        self.idle.clear()
        for c in list(self.conns):
            c.fail(Closed("the HTTP client was closed"))  # wakes a request still using it
            self.drop(c)


def decode_body(data: bytes, encoding: bytes | None) -> bytes:
    if not encoding or encoding == b"identity" or not data:
        return data
    if encoding in (b"gzip", b"x-gzip"):
        return zlib.decompress(data, 47)  # gzip or zlib header
    if encoding == b"deflate":
        try:
            return zlib.decompress(data)
        except zlib.error:
            return zlib.decompress(data, -15)  # raw deflate, as some servers send
    return data


def decompressor(encoding: bytes | None) -> zlib._Decompress | None:
    if encoding in (b"gzip", b"x-gzip"):
        return zlib.decompressobj(47)
    if encoding == b"deflate":
        return zlib.decompressobj(15)
    return None
