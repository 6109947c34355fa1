"""HTTP/1.1 on a raw asyncio Protocol with the httptools parser: keep-alive, Content-Length and
chunked request bodies, pipelined requests answered in order, write back-pressure.

Requests are handled synchronously inside `on_message_complete` when the answer is ready at once
(no task per request: that is most of the speed); an answer that has to wait (latency, streams)
runs as one task per connection, and requests pipelined behind it queue until it is done.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

import httptools

if TYPE_CHECKING:
    from .app import MockApp

log = logging.getLogger("bifrost.mock")

_MAX_QUEUED = 64  # pipelined requests waiting behind a slow one before we stop reading


def _status_line(status: int) -> bytes:
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Status"
    return b"HTTP/1.1 %d %s\r\n" % (status, phrase.encode())


_STATUS_LINES = {s.value: _status_line(s.value) for s in HTTPStatus}
_KEEP = b"connection: keep-alive\r\n"
_CLOSE = b"connection: close\r\n"
_JSON_200_KEEP = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: keep-alive\r\ncontent-length: "
_STREAM_HEAD = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream; charset=utf-8\r\n"
    b"cache-control: no-cache\r\ntransfer-encoding: chunked\r\n"
)


def http_response(
    status: int,
    body: bytes,
    keep_alive: bool = True,
    ctype: bytes = b"application/json",
    headers: dict[str, str] | None = None,
) -> bytes:
    if status == 200 and keep_alive and headers is None and ctype == b"application/json":
        return b"%s%d\r\n\r\n%s" % (_JSON_200_KEEP, len(body), body)
    parts = [
        _STATUS_LINES.get(status) or _status_line(status),
        b"content-type: ",
        ctype,
        b"\r\ncontent-length: %d\r\n" % len(body),
        _KEEP if keep_alive else _CLOSE,
    ]
    if headers:
        for k, v in headers.items():
            parts.append(b"%s: %s\r\n" % (str(k).encode("latin-1"), str(v).encode("latin-1")))
    parts.append(b"\r\n")
    parts.append(body)
    return b"".join(parts)


def stream_head(keep_alive: bool) -> bytes:
    return _STREAM_HEAD + (_KEEP if keep_alive else _CLOSE) + b"\r\n"


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


class Request:
    __slots__ = ("method", "path", "query", "headers", "body", "keep_alive")

    def __init__(
        self, method: bytes, path: bytes, query: bytes | None, headers: list, body: bytes, keep_alive: bool
    ) -> None:
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.keep_alive = keep_alive

    def header(self, name: bytes) -> bytes | None:
        for k, v in self.headers:
            if len(k) == len(name) and k.lower() == name:
                return v
        return None


class HttpProtocol(asyncio.Protocol):
    __slots__ = (
        "app",
        "loop",
        "transport",
        "parser",
        "url",
        "headers",
        "body",
        "expect_continue",
        "closed",
        "busy",
        "task",
        "queue",
        "paused",
        "drain_waiter",
        "reading_paused",
        "eof",
    )

    def __init__(self, app: MockApp) -> None:
        self.app = app
        self.loop = asyncio.get_running_loop()
        self.transport: Any = None
        self.parser = httptools.HttpRequestParser(self)
        self.url = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.body: list[bytes] = []
        self.expect_continue = False
        self.closed = False
        self.busy = False
        self.task: asyncio.Task | None = None
        self.queue: deque[Request] = deque()
        self.paused = False
        self.drain_waiter: asyncio.Future | None = None
        self.reading_paused = False
        self.eof = False

    # ---------------------------------------------------------------- asyncio.Protocol

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        self.app.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.app.connections.discard(self)
        self.queue.clear()
        if self.task is not None and not self.task.done():
            self.task.cancel()
        self._wake_drain()

    def pause_writing(self) -> None:
        self.paused = True

    def resume_writing(self) -> None:
        self.paused = False
        self._wake_drain()

    def _wake_drain(self) -> None:
        w = self.drain_waiter
        if w is not None and not w.done():
            w.set_result(None)
        self.drain_waiter = None

    async def drain(self) -> None:
        if self.paused and not self.closed:
            self.drain_waiter = self.loop.create_future()
            await self.drain_waiter

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._bad_request("upgrades are not supported")
        except httptools.HttpParserError as e:
            self._bad_request(f"could not parse the HTTP request: {e}")

    def eof_received(self) -> bool | None:
        # half-closed by the client: finish the response in progress (and the queue), then close
        self.eof = True
        return True if self.busy else None

    def _bad_request(self, message: str) -> None:
        if not self.closed:
            self.transport.write(self.app.error_bytes(400, message, keep_alive=False))
            self.close()

    # ---------------------------------------------------------------- httptools callbacks

    def on_message_begin(self) -> None:
        self.url = b""
        self.headers = []
        self.body = []
        self.expect_continue = False

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))
        if len(name) == 6 and name.lower() == b"expect" and value.lower() == b"100-continue":
            self.expect_continue = True

    def on_headers_complete(self) -> None:
        if self.expect_continue and not self.closed:
            self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        if self.closed:
            return
        url = self.url
        q = url.find(b"?")
        path, query = (url, None) if q < 0 else (url[:q], url[q + 1 :])
        body = self.body
        req = Request(
            self.parser.get_method(),
            path,
            query,
            self.headers,
            body[0] if len(body) == 1 else b"".join(body),
            self.parser.should_keep_alive(),
        )
        if self.busy:
            self.queue.append(req)
            if len(self.queue) >= _MAX_QUEUED and not self.reading_paused:
                self.reading_paused = True
                self.transport.pause_reading()
            return
        self._handle(req)

    # ---------------------------------------------------------------- used by the app

    def _handle(self, req: Request) -> None:
        try:
            self.app.handle(self, req)
        except Exception:  # never let one request kill the server
            log.exception("mock: unhandled error for %r", req.path)
            if not self.closed:
                self.transport.write(self.app.error_bytes(500, "mock internal error", keep_alive=False))
                self.close()

    def send(self, data: bytes, keep_alive: bool) -> None:
        if not self.closed:
            self.transport.write(data)
            if not keep_alive:
                self.close()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.transport.close()

    def spawn(self, coro: Any) -> None:
        """Run coro as this connection's current response; later requests wait for it."""
        self.busy = True
        self.task = self.loop.create_task(coro)
        self.task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task) -> None:
        self.busy = False
        self.task = None
        if not task.cancelled() and task.exception() is not None:
            log.error("mock: response task failed", exc_info=task.exception())
            self.close()
            return
        if self.reading_paused and not self.closed:
            self.reading_paused = False
            self.transport.resume_reading()
        while self.queue and not self.busy and not self.closed:
            self._handle(self.queue.popleft())
        if self.eof and not self.busy:
            self.close()
