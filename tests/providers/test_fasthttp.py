"""FastHttpClient against real asyncio servers on 127.0.0.1 (plain and TLS), on asyncio and uvloop."""

from __future__ import annotations

import asyncio
import datetime
import gzip
import ipaddress
import ssl
import zlib
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import uvloop

from bifrost.providers import fasthttp_pool
from bifrost.providers.fasthttp import FastHttpClient
from bifrost.schemas.errors import BifrostError, UpstreamConnectionError, UpstreamError, UpstreamTimeoutError

# --------------------------------------------------------------------------- harness


@pytest.fixture(params=["asyncio", "uvloop"])
def run(request: pytest.FixtureRequest) -> Callable[[Callable[[], Awaitable[Any]]], Any]:
    factory = uvloop.new_event_loop if request.param == "uvloop" else None

    def _run(fn: Callable[[], Awaitable[Any]]) -> Any:
        with asyncio.Runner(loop_factory=factory) as r:
            return r.run(asyncio.wait_for(fn(), 20))
    return _run


class Req:
    def __init__(self, method: str, target: str, headers: dict[str, str], body: bytes, conn: int, n: int) -> None:
        self.method, self.target, self.headers, self.body, self.conn, self.n = method, target, headers, body, conn, n


Handler = Callable[[Req, asyncio.StreamReader, asyncio.StreamWriter], Awaitable[bool | None]]


class Server:
    """Reads HTTP/1.1 requests (Content-Length bodies) and lets `handler` write raw answers.

    The handler returns False to close the connection after its answer. Counts sockets.
    """

    def __init__(self, handler: Handler, ssl_ctx: ssl.SSLContext | None = None) -> None:
        self.handler, self.ssl_ctx = handler, ssl_ctx
        self.accepted = self.open = self.max_open = 0
        self.requests: list[Req] = []

    async def __aenter__(self) -> Server:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.ssl_ctx)
        self.port = self.server.sockets[0].getsockname()[1]
        scheme = "https" if self.ssl_ctx else "http"
        self.url = f"{scheme}://127.0.0.1:{self.port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        self.open += 1
        self.max_open = max(self.max_open, self.open)
        idx, n = self.accepted, 0
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    break
                line, *rest = head.decode().split("\r\n")
                method, target, _ = line.split(" ")
                hdrs = {k.lower(): v for k, _, v in (h.partition(": ") for h in rest if h)}
                body = await reader.readexactly(int(hdrs.get("content-length", "0")))
                req = Req(method, target, hdrs, body, idx, n)
                self.requests.append(req)
                keep = await self.handler(req, reader, writer)
                await writer.drain()
                if keep is False:
                    break
                n += 1
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self.open -= 1
            writer.close()


def answer(status: int = 200, body: bytes = b"ok", headers: str = "") -> bytes:
    return f"HTTP/1.1 {status} X\r\nContent-Length: {len(body)}\r\n{headers}\r\n".encode() + body


def chunked(*parts: bytes) -> bytes:
    out = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
    return out + b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"


def ok(body: bytes = b"ok") -> Handler:
    async def h(req: Req, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        w.write(answer(body=body))
    return h


async def until(cond: Callable[[], bool], timeout: float = 3.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not cond():
        assert loop.time() < end, "condition not met in time"
        await asyncio.sleep(0.005)


def pools(c: FastHttpClient) -> list[fasthttp_pool.Pool]:
    return list(c._pools.values())


def slots(c: FastHttpClient) -> int:
    """Slots taken; checks that each is held by exactly one live socket (none leaked)."""
    for p in pools(c):
        assert p.n == len(p.conns) and all(x.counted for x in p.conns)
        assert all(not x.closed and x.in_pool for x in p.idle)
    return sum(p.n for p in pools(c))


async def events(it: Any) -> list[bytes]:
    return [ev.data async for ev in it]


H = {"Content-Type": "application/json"}

# --------------------------------------------------------------------------- bodies


def test_content_length_body_and_request_head(run) -> None:
    async def go() -> None:
        async with Server(ok(b'{"id":1}')) as s:
            c = FastHttpClient("prov")
            assert await c.request("POST", s.url + "/v1/chat?x=1", {"Authorization": "Bearer k", **H},
                                   b'{"a":1}') == b'{"id":1}'
            assert await c.request("GET", s.url + "/v1/models", H) == b'{"id":1}'
            r, g = s.requests
            assert (r.method, r.target, r.body) == ("POST", "/v1/chat?x=1", b'{"a":1}')
            assert r.headers["host"] == f"127.0.0.1:{s.port}" and r.headers["content-length"] == "7"
            assert r.headers["authorization"] == "Bearer k" and "accept-encoding" not in r.headers
            assert g.method == "GET" and "content-length" not in g.headers
            await c.close()
    run(go)


def test_chunked_body(run) -> None:
    async def h(req: Req, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        w.write(chunked(b"hello ", b"chunked ", b"world"))

    async def go() -> None:
        async with Server(h) as s:
            c = FastHttpClient("prov")
            assert await c.request("POST", s.url + "/x", H, b"{}") == b"hello chunked world"
            assert await c.request("POST", s.url + "/x", H, b"{}") == b"hello chunked world"
            assert s.accepted == 1
            await c.close()
    run(go)


def test_close_delimited_body_not_reused(run) -> None:
    async def h(req: Req, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> bool:
        w.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n")
        await w.drain()
        await asyncio.sleep(0.02)
        w.write(b'{"until":"eof"}')
        return False

    async def go() -> None:
        async with Server(h) as s:
            c = FastHttpClient("prov")
            for _ in range(2):
                assert await c.request("POST", s.url + "/x", H, b"{}") == b'{"until":"eof"}'
            assert s.accepted == 2 and slots(c) == 0
            await c.close()
    run(go)


def test_head_204_304_have_no_body_and_keep_the_socket(run) -> None:
    async def h(req: Req, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        if req.method == "HEAD":
            w.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n")
        elif req.target == "/204":
            w.write(b"HTTP/1.1 204 No Content\r\n\r\n")
        elif req.target == "/304":
            w.write(b"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n")
        else:
            w.write(answer(body=b"after"))

    async def go() -> None:
        async with Server(h) as s:
            c = FastHttpClient("prov")
            assert await c.request("HEAD", s.url + "/h", {}) == b""
            assert await c.request("GET", s.url + "/204", {}) == b""
            assert await c.request("GET", s.url + "/304", {}) == b""
            assert await c.request("GET", s.url + "/x", {}) == b"after"
            assert s.accepted == 1
            await c.close()
    run(go)


def test_gzip_and_deflate_bodies_decoded(run) -> None:
    payload = b'{"text":"' + b"compressible " * 200 + b'"}'

    async def h(req: Req, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        if req.target == "/gzip":
            w.write(answer(body=gzip.compress(payload), headers="Content-Encoding: gzip\r\n"))
        else:
            w.write(answer(body=zlib.compress(payload), headers="Content-Encoding: deflate\r\n"))

    async def go() -> None:
        async with Server(h) as s:
            c = FastHttpClient("prov")
            assert await c.request("GET", s.url + "/gzip", {}) == payload
            assert await c.request("GET", s.url + "/deflate", {}) == payload
            assert "accept-encoding" not in s.requests[0].headers
            await c.close()
    run(go)


# --------------------------------------------------------------------------- pool


def test_keep_alive_reuses_one_socket(run) -> None:
    async def go() -> None:
        async with Server(ok()) as s:
            c = FastHttpClient("prov")
            for _ in range(20):
                assert await c.request("POST", s.url + "/x", H, b"{}") == b"ok"
            assert s.accepted == 1 and [r.n for r in s.requests] == list(range(20))
            assert slots(c) == 1 and len(pools(c)[0].idle) == 1
            await c.close()
            await until(lambda: s.open == 0)
    run(go)


def test_pool_bounded_by_max_conns(run) -> None:
    async def h(req: Req, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await asyncio.sleep(0.02)
        w.write(answer(body=req.body))

    async def go() -> None:
        async with Server(h) as s:
            c = FastHttpClient("prov", max_conns=2)
            bodies = [b"%d" % i for i in range(12)]
            got = await asyncio.gather(*(c.request("POST", s.url + "/x", H, b) for b in bodies))
            assert list(got) == bodies
            assert s.max_open <= 2 and s.accepted == 2
            assert slots(c) == 2 and not pools(c)[0].waiters
            await c.close()
    run(go)


def test_waiters_are_served_in_order(run) -> None:
    async def h(req: Req, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await asyncio.sleep(0.01)
        w.write(answer(body=req.body))

    async def go() -> None:
        async with Server(h) as s:
            c = FastHttpClient("prov", max_conns=1)
            tasks = []
            for i in range(6):
                tasks.append(asyncio.create_task(c.request("POST", s.url + "/x", H, b"%d" % i)))
                await asyncio.sleep(0)  # queue in a known order
            await asyncio.gather(*tasks)
            assert [r.body for r in s.requests] == [b"%d" % i for i in range(6)]
            assert s.accepted == 1
            await c.close()
    run(go)


def test_idle_socket_closed_by_server_is_dropped(run) -> None:
    async def h(req: Req, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> bool:
        w.write(answer())
        return False  # keep-alive answer, then the server closes the idle socket

    async def go() -> None:
        async with Server(h) as s:
            c = FastHttpClient("prov")
            await c.request("GET", s.url + "/x", {})
            await until(lambda: slots(c) == 0)
            assert not pools(c)[0].idle
            assert await c.request("GET", s.url + "/x", {}) == b"ok"
            assert s.accepted == 2 and len(s.requests) == 2
            await c.close()
    run(go)


def test_idle_sockets_expire(run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fasthttp_pool, "KEEPALIVE_S", 0.1)

    async def go() -> None:
        async with Server(ok()) as s:
            c = FastHttpClient("prov")
            await c.request("GET", s.url + "/x", {})
            assert s.open == 1
            await until(lambda: s.open == 0 and slots(c) == 0)  # closed by the sweeper, not by a request
            await c.request("GET", s.url + "/x", {})
            assert s.accepted == 2
            await c.close()
    run(go)


def test_stale_keep_alive_socket_retried_once(run) -> None:
    async def h(req: Req, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> bool | None:
        if req.conn == 1 and req.n == 1:
            return False  # read the request, close without a byte (idle timeout race on the server)
        w.write(answer(body=b"conn%d" % req.conn))
        return None

    async def go() -> None:
        async with Server(h) as s:
            c = FastHttpClient("prov")
            assert await c.request("POST", s.url + "/x", H, b"1") == b"conn1"
            assert await c.request("POST", s.url + "/x", H, b"2") == b"conn2"
            assert [(r.conn, r.body) for r in s.requests] == [(1, b"1"), (1, b"2"), (2, b"2")]
            assert slots(c) == 1
            await c.close()
    run(go)


def test_stale_retry_uses_a_new_socket_not_another_idle_one(run) -> None:
    async def h(req: Req, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> bool | None:
        if req.conn <= 2 and req.n == 1:
            return False  # both idle sockets went stale on the server side
        await asyncio.sleep(0.02)
        w.write(answer(body=b"conn%d" % req.conn))
        return None

    async def go() -> None:
        async with Server(h) as s:
            c = FastHttpClient("prov", max_conns=2)
            await asyncio.gather(*(c.request("GET", s.url + "/x", {}) for _ in range(2)))
            assert s.accepted == 2 and len(pools(c)[0].idle) == 2
            assert await c.request("GET", s.url + "/x", {}) == b"conn3"
            assert s.accepted == 3 and slots(c) == 2  # the other stale one is still counted (idle)
            await c.close()
    run(go)


def test_fresh_socket_failure_not_retried(run) -> None:
    async def h(req: Req, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> bool:
        return False

    async def go() -> None:
        async with Server(h) as s:
            c = FastHttpClient("prov")
            with pytest.raises(UpstreamConnectionError) as ei:
                await c.request("POST", s.url + "/x", H, b"{}")
            assert "could not reach prov" in ei.value.message and "without answering" in ei.value.message
            assert len(s.requests) == 1 and slots(c) == 0
            await c.close()
    run(go)


def test_no_retry_after_partial_response(run) -> None:
    async def h(req: Req, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> bool | None:
        if req.n == 1:
            w.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial")
            return False
        w.write(answer())
        return None

    async def go() -> None:
        async with Server(h) as s:
            c = FastHttpClient("prov")
            await c.request("POST", s.url + "/x", H, b"1")
            with pytest.raises(UpstreamConnectionError) as ei:
                await c.request("POST", s.url + "/x", H, b"2")
            assert "before the response was complete" in ei.value.message
            assert [r.body for r in s.requests] == [b"1", b"2"] and s.accepted == 1
            assert slots(c) == 0
            await c.close()
    run(go)


# --------------------------------------------------------------------------- errors


def test_error_statuses_mapped_with_retry_after(run) -> None:
    async def h(req: Req, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        if req.target == "/429":
            w.write(answer(429, b'{"error":{"message":"slow down","type":"rate_limit","code":"rl"}}',
                           "retry-after: 7\r\n"))
        else:
            w.write(answer(503, b"upstream overloaded"))

    async def go() -> None:
        async with Server(h) as s:
            c = FastHttpClient("prov")
            with pytest.raises(UpstreamError) as ei:
                await c.request("POST", s.url + "/429", H, b"{}")
            e = ei.value
            assert (e.status, e.message, e.type, e.code, e.retry_after) == (429, "slow down", "rate_limit", "rl", 7.0)
            assert e.headers == {"Retry-After": "7"} and e.retryable and e.provider == "prov"
            with pytest.raises(UpstreamError) as ei:
                await c.request("POST", s.url + "/503", H, b"{}")
            assert (ei.value.status, ei.value.message, ei.value.retry_after) == (503, "upstream overloaded", None)
            with pytest.raises(UpstreamError) as ei:
                await c.stream(s.url + "/429", H, b"{}")
            assert (ei.value.status, ei.value.message, ei.value.retry_after) == (429, "slow down", 7.0)
            assert s.accepted == 1 and slots(c) == 1  # error answers are complete: the socket is reused
            await c.close()
    run(go)


def test_redirect_is_an_error_naming_the_target(run) -> None:
    async def h(req: Req, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        w.write(answer(301, b"moved", "Location: https://api.example.com/v1/x\r\n"))

    async def go() -> None:
        async with Server(h) as s:
            c = FastHttpClient("prov")
            for call in (c.request("POST", s.url + "/x", H, b"{}"), c.stream(s.url + "/x", H, b"{}")):
                with pytest.raises(BifrostError) as ei:
                    await call
                assert ei.value.status == 502 and not ei.value.retryable
                assert "redirect to https://api.example.com/v1/x" in ei.value.message
                assert "providers.prov.network_config.base_url" in ei.value.message
            assert s.accepted == 1 and slots(c) == 1
            await c.close()
    run(go)


def test_close_fails_waiters_and_closes_sockets(run) -> None:
    async def h(req: Req, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> bool:
        await r.read(1)
        return False

    async def go() -> None:
        async with Server(h) as s:
            c = FastHttpClient("prov", max_conns=1)
            busy = asyncio.create_task(c.request("GET", s.url + "/x", {}))
            queued = asyncio.create_task(c.request("GET", s.url + "/x", {}))
            await until(lambda: len(s.requests) == 1)
            await c.close()
            for t in (busy, queued):
                with pytest.raises(UpstreamConnectionError):
                    await t
            await until(lambda: s.open == 0)
            assert s.accepted == 1
    run(go)


def test_connect_refused(run) -> None:
    async def go() -> None:
        async with Server(ok()) as s:
            port = s.port
        await asyncio.sleep(0.05)  # nothing listens there any more
        c = FastHttpClient("prov", max_conns=1)
        for _ in range(3):  # and the failed connects leave no slot taken
            with pytest.raises(UpstreamConnectionError) as ei:
                await c.request("POST", f"http://127.0.0.1:{port}/v1/x", H, b"{}")
            assert f"could not reach prov at 127.0.0.1:{port}" in ei.value.message
            assert "providers.prov.network_config.base_url" in ei.value.message
        with pytest.raises(UpstreamConnectionError):
            await c.stream(f"http://127.0.0.1:{port}/v1/x", H, b"{}")
        assert slots(c) == 0
        with pytest.raises(UpstreamConnectionError, match="unsupported URL"):
            await c.request("GET", "ftp://example.com/x", {})
    run(go)


def test_request_timeout_and_slot_freed(run) -> None:
    async def h(req: Req, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> bool | None:
        if req.target == "/slow":
            await r.read(1)  # until the client goes away
            return False
        w.write(answer())
        return None

    async def go() -> None:
        async with Server(h) as s:
            c = FastHttpClient("prov", max_conns=1, timeout_s=0.2)
            t0 = asyncio.get_running_loop().time()
            with pytest.raises(UpstreamTimeoutError) as ei:
                await c.request("POST", s.url + "/slow", H, b"{}")
            assert 0.15 < asyncio.get_running_loop().time() - t0 < 1.0
            assert ei.value.message.startswith("request to prov timed out after 0.2s; increase "
                                               "providers.prov.network_config.default_request_timeout_in_seconds")
            await until(lambda: s.open == 0)  # the timed-out socket was closed
            assert await c.request("POST", s.url + "/x", H, b"{}") == b"ok"
            assert s.accepted == 2
            await c.close()
    run(go)


def test_waiting_for_a_slot_counts_against_the_timeout(run) -> None:
    async def h(req: Req, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await asyncio.sleep(0.5)
        w.write(answer())

    async def go() -> None:
        async with Server(h) as s:
            c = FastHttpClient("prov", max_conns=1, timeout_s=0.7)
            first = asyncio.create_task(c.request("GET", s.url + "/x", {}))
            await asyncio.sleep(0.05)
            with pytest.raises(UpstreamTimeoutError):
                await c.request("GET", s.url + "/x", {})  # 0.45 s queued + 0.5 s answer > 0.7 s
            assert await first == b"ok"
            assert not pools(c)[0].waiters and slots(c) == 0  # the timed-out request closed its socket
            await c.close()
    run(go)


def test_cancellation_closes_socket_and_frees_slot(run) -> None:
    async def h(req: Req, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> bool | None:
        if req.target == "/hang":
            w.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf")  # half an answer, then nothing
            await r.read(1)
            return False
        w.write(answer())
        return None

    async def go() -> None:
        async with Server(h) as s:
            c = FastHttpClient("prov", max_conns=1)
            await c.request("GET", s.url + "/x", {})
            task = asyncio.create_task(c.request("GET", s.url + "/hang", {}))
            waiter = asyncio.create_task(c.request("GET", s.url + "/x", {}))  # queued behind it
            await until(lambda: len(s.requests) == 2)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await until(lambda: s.accepted == 2)
            assert await waiter == b"ok"  # the slot passed on; the half-read socket was not reused
            assert s.requests[-1].conn == 2
            await until(lambda: s.open == 1)
            assert slots(c) == 1
            await c.close()
    run(go)


# --------------------------------------------------------------------------- streams


def test_stream_events_arrive_incrementally(run) -> None:
    got_first = asyncio.Event()

    async def h(req: Req, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        w.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n")
        for i, ev in enumerate([b'data: {"n":1}\r\n\r\n', b": keep-alive\n\nevent: delta\ndata: {\"n\":2}\n",
                                b"data: x\n\n", b"data: [DONE]"]):
            if i == 1:
                await asyncio.wait_for(got_first.wait(), 5)  # not before the client has the first event
            w.write(b"%x\r\n%s\r\n" % (len(ev), ev))
            await w.drain()
        w.write(b"0\r\n\r\n")

    async def go() -> None:
        async with Server(h) as s:
            c = FastHttpClient("prov")
            it = await c.stream(s.url + "/x", H, b"{}")
            first = await it.__anext__()
            assert first.data == b'{"n":1}'
            got_first.set()
            rest = [ev async for ev in it]
            assert [(e.data, e.event) for e in rest] == [(b'{"n":2}\nx', "delta"), (b"[DONE]", None)]
            assert slots(c) == 1 and len(pools(c)[0].idle) == 1  # complete: back to the pool
            assert await c.request("GET", s.url + "/x", {}) != b"" and s.accepted == 1
            await c.close()
    run(go)


def test_stream_crlf_split_between_reads_and_final_partial_block(run) -> None:
    async def h(req: Req, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> bool:
        w.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n")  # close-delimited
        for piece in (b"data: a\r", b"\n\r", b"\ndata: b\r\n", b"\r\nda", b"ta: tail"):
            w.write(piece)
            await w.drain()
            await asyncio.sleep(0.01)
        return False

    async def go() -> None:
        async with Server(h) as s:
            c = FastHttpClient("prov")
            assert await events(await c.stream(s.url + "/x", H, b"{}")) == [b"a", b"b", b"tail"]
            assert slots(c) == 0
            await c.close()
    run(go)


def test_stream_gzip(run) -> None:
    z = zlib.compressobj(wbits=31)
    body = z.compress(b"data: 1\n\n" * 50 + b"data: [DONE]\n\n") + z.flush()

    async def h(req: Req, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        w.write(answer(body=body, headers="Content-Encoding: gzip\r\n"))

    async def go() -> None:
        async with Server(h) as s:
            c = FastHttpClient("prov")
            assert await events(await c.stream(s.url + "/x", H, b"{}")) == [b"1"] * 50 + [b"[DONE]"]
            await c.close()
    run(go)


def test_stream_large_with_back_pressure(run) -> None:
    ev = b"data: " + b"x" * 1000 + b"\n\n"

    async def h(req: Req, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        w.write(chunked(*([ev] * 2000)))

    async def go() -> None:
        async with Server(h) as s:
            c = FastHttpClient("prov")
            n = 0
            async for e in await c.stream(s.url + "/x", H, b"{}"):
                assert len(e.data) == 1000
                n += 1
                if n % 200 == 0:
                    await asyncio.sleep(0.01)  # slow consumer: the socket is paused meanwhile
            assert n == 2000 and slots(c) == 1
            await c.close()
    run(go)


def test_stream_cut_midway(run) -> None:
    async def h(req: Req, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> bool:
        w.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        w.write(b"9\r\ndata: 1\n\n\r\n")
        await w.drain()
        await asyncio.sleep(0.05)
        return False

    async def go() -> None:
        async with Server(h) as s:
            c = FastHttpClient("prov")
            it = await c.stream(s.url + "/x", H, b"{}")
            assert (await it.__anext__()).data == b"1"
            with pytest.raises(UpstreamConnectionError) as ei:
                await it.__anext__()
            assert ei.value.message.startswith("prov stream broke: ")
            assert slots(c) == 0
            await c.close()
    run(go)


def test_stream_idle_timeout_and_first_byte_timeout(run) -> None:
    async def h(req: Req, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> bool:
        if req.target == "/idle":
            w.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n9\r\ndata: 1\n\n\r\n")
            await w.drain()
        await r.read(1)
        return False

    async def go() -> None:
        async with Server(h) as s:
            c = FastHttpClient("prov", stream_idle_timeout_s=0.2)
            it = await c.stream(s.url + "/idle", H, b"{}")
            assert (await it.__anext__()).data == b"1"
            loop = asyncio.get_running_loop()
            t0 = loop.time()
            with pytest.raises(UpstreamTimeoutError) as ei:
                await it.__anext__()
            assert 0.15 < loop.time() - t0 < 1.0
            assert ei.value.message.startswith("prov stream idle for more than 0.2s; the stream was closed")
            with pytest.raises(UpstreamTimeoutError, match="no answer from prov within 0.2s"):
                await c.stream(s.url + "/silent", H, b"{}")
            await until(lambda: s.open == 0)
            assert slots(c) == 0
            await c.close()
    run(go)


def test_slow_consumer_is_not_an_idle_stream(run) -> None:
    async def h(req: Req, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        w.write(chunked(b"data: 1\n\n", b"data: 2\n\n"))

    async def go() -> None:
        async with Server(h) as s:
            c = FastHttpClient("prov", stream_idle_timeout_s=0.1)
            it = await c.stream(s.url + "/x", H, b"{}")
            await asyncio.sleep(0.3)  # everything arrived long ago; we were just not reading
            assert await events(it) == [b"1", b"2"]
            await c.close()
    run(go)


def test_abandoned_stream_closes_socket_cancelled_stream_too(run) -> None:
    async def h(req: Req, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> bool:
        w.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n9\r\ndata: 1\n\n\r\n")
        await w.drain()
        await r.read(1)  # more would follow; wait until the client goes away
        return False

    async def go() -> None:
        async with Server(h) as s:
            c = FastHttpClient("prov", max_conns=1)
            it = await c.stream(s.url + "/x", H, b"{}")
            assert (await it.__anext__()).data == b"1"
            await it.aclose()
            await until(lambda: s.open == 0)
            assert slots(c) == 0

            it = await c.stream(s.url + "/x", H, b"{}")
            assert (await it.__anext__()).data == b"1"
            task = asyncio.create_task(it.__anext__())
            await asyncio.sleep(0.02)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await until(lambda: s.open == 0)
            assert slots(c) == 0

            it = await c.stream(s.url + "/x", H, b"{}")  # never iterated, then dropped
            del it
            await until(lambda: s.open == 0)
            assert slots(c) == 0 and s.accepted == 3
            await c.close()
    run(go)


# --------------------------------------------------------------------------- TLS


def _tls(tmp: Path) -> tuple[ssl.SSLContext, ssl.SSLContext, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(ski, critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
            .sign(key, hashes.SHA256()))
    cert_pem, key_pem = tmp / "cert.pem", tmp / "key.pem"
    cert_pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_pem.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert_pem, key_pem)
    return server, ssl.create_default_context(cafile=str(cert_pem)), cert_pem


def test_tls(run, tmp_path: Path) -> None:
    server_ctx, client_ctx, _ = _tls(tmp_path)
    sni: list[str | None] = []
    server_ctx.sni_callback = lambda sock, name, ctx: sni.append(name)

    async def h(req: Req, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        if req.target == "/stream":
            w.write(chunked(b"data: 1\n\n", b"data: [DONE]\n\n"))
        else:
            w.write(answer(body=req.headers["host"].encode()))

    async def go() -> None:
        async with Server(h, server_ctx) as s:
            c = FastHttpClient("prov", ssl_context=client_ctx)
            for _ in range(3):
                assert await c.request("POST", s.url + "/x", H, b"{}") == f"127.0.0.1:{s.port}".encode()
            assert await events(await c.stream(s.url + "/stream", H, b"{}")) == [b"1", b"[DONE]"]
            url = f"https://localhost:{s.port}/x"  # SNI and Host name, whichever address localhost has
            assert await c.request("POST", url, H, b"{}") == f"localhost:{s.port}".encode()
            assert s.accepted == 2 and sni[-1] == "localhost"
            await c.close()

            untrusted = FastHttpClient("prov")  # system CAs only: the self-signed cert is refused
            with pytest.raises(UpstreamConnectionError, match="CERTIFICATE_VERIFY_FAILED"):
                await untrusted.request("GET", s.url + "/x", {})
            assert slots(untrusted) == 0
    run(go)


def test_default_port_host_header_and_header_injection_refused() -> None:
    c = FastHttpClient("prov")
    loop = asyncio.new_event_loop()
    try:
        pool, target, host = c._route("https://api.example.com/v1/chat completions?a=b c", loop)
        assert (host, target, pool.port) == ("api.example.com", "/v1/chat%20completions?a=b%20c", 443)
        assert c._route("http://[::1]:8080/x", loop)[2] == "[::1]:8080"
        head = c._head("POST", "/x", "h", {"X-A": "1", "content-length": "99", "Connection": "close"}, b"abc")
        assert head == b"POST /x HTTP/1.1\r\nHost: h\r\nX-A: 1\r\nContent-Length: 3\r\n\r\n"
        with pytest.raises(Exception, match="line break"):
            c._head("GET", "/x", "h", {"X-A": "1\r\nX-Evil: 1"}, None)
    finally:
        loop.close()
