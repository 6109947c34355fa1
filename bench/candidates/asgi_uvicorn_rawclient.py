"""Candidate 5: raw ASGI app on uvicorn + a minimal custom upstream HTTP/1.1 client
(asyncio.Protocol + httptools.HttpResponseParser, keep-alive connection pool, no TLS).

Same proxy logic as candidate 1; only the upstream client differs. The client:
  * keeps a LIFO deque of idle keep-alive connections per upstream (host, port);
  * writes one pre-built request head + body per request (Content-Length, no chunked upload);
  * non-stream: collects the body and resolves one future at on_message_complete;
  * stream: every on_body piece is handed to the consumer as it arrives (pieces that arrived in the
    same socket read are joined, like aiohttp's iter_any), with pause/resume_reading back-pressure;
  * retries once on a fresh connection if a *reused* connection dies before any response byte.
It is a measurement prototype (no TLS, no proxies, no redirects, no response-until-EOF bodies).

Run:
    /tmp/candvenv/bin/python bench/candidates/asgi_uvicorn_rawclient.py \
        --port 18100 --upstream http://127.0.0.1:18000/v1
Bench:
    /tmp/peers/benchvenv/bin/python /work/shared/bench/run.py --targets direct,ours --target ours \
        --port 18100 --cmd '/tmp/candvenv/bin/python bench/candidates/asgi_uvicorn_rawclient.py \
        --port {port} --upstream {mock_url}' --ours-model openai/gpt-4o-mini
"""
from __future__ import annotations

import argparse
import asyncio
import time
from collections import deque
from urllib.parse import urlsplit

import httptools
import msgspec

_enc = msgspec.json.Encoder()
_dec = msgspec.json.decode
JSON_HDRS = [(b"content-type", b"application/json")]
SSE_HDRS = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]
HIGH_WATER = 256 * 1024


class _Conn(asyncio.Protocol):
    __slots__ = ("pool", "transport", "parser", "status", "parts", "fut", "streaming", "wake",
                 "done", "closed", "got_bytes", "paused", "buffered", "error", "keep")

    def __init__(self, pool: "Pool"):
        self.pool = pool
        self.transport = None
        self.parser = httptools.HttpResponseParser(self)
        self.closed = False
        self.fut: asyncio.Future | None = None
        self.reset(False)

    def reset(self, streaming: bool):
        self.status = 0
        self.parts: list[bytes] = []
        self.streaming = streaming
        self.wake: asyncio.Future | None = None
        self.done = False
        self.got_bytes = False
        self.paused = False
        self.buffered = 0
        self.error: Exception | None = None
        self.keep = False

    # asyncio.Protocol
    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.got_bytes = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as e:
            self._fail(ConnectionError(f"bad upstream response: {e}"))
            self.transport.close()

    def connection_lost(self, exc):
        self.closed = True
        if not self.done:
            self._fail(ConnectionError("upstream connection lost"))

    def _fail(self, exc):
        self.error = exc
        f = self.fut
        if f is not None and not f.done():
            f.set_exception(exc)
        w = self.wake
        if w is not None and not w.done():
            w.set_exception(exc)
        self.done = True

    # httptools callbacks
    def on_headers_complete(self):
        self.status = self.parser.get_status_code()
        if self.streaming and self.fut is not None and not self.fut.done():
            self.fut.set_result(self.status)

    def on_body(self, body: bytes):
        self.parts.append(body)
        if self.streaming:
            self.buffered += len(body)
            w = self.wake
            if w is not None and not w.done():
                w.set_result(None)
            if self.buffered > HIGH_WATER and not self.paused:
                self.paused = True
                self.transport.pause_reading()

    def on_message_complete(self):
        self.done = True
        # read keep-alive NOW: after this callback llhttp resets for the next message and
        # should_keep_alive() would report False (that bug leaked one socket per request)
        self.keep = keep = self.parser.should_keep_alive()
        if self.streaming:
            w = self.wake
            if w is not None and not w.done():
                w.set_result(None)
        else:
            f = self.fut
            if f is not None and not f.done():
                f.set_result((self.status, b"".join(self.parts)))
        if keep:
            self.pool.release_later(self)
        else:
            self.transport.close()

    # consumer side (streaming)
    async def iter_body(self):
        loop = self.pool.loop
        while True:
            if self.parts:
                data = b"".join(self.parts) if len(self.parts) > 1 else self.parts[0]
                self.parts = []
                self.buffered = 0
                if self.paused:
                    self.paused = False
                    self.transport.resume_reading()
                yield data
                continue
            if self.done:
                if self.error is not None:
                    raise self.error
                return
            self.wake = loop.create_future()
            await self.wake
            self.wake = None


class Pool:
    """Keep-alive pool for ONE upstream origin (plain http)."""

    def __init__(self, base_url: str, extra_headers: dict[str, str]):
        u = urlsplit(base_url)
        self.host, self.port = u.hostname, u.port or 80
        self.prefix = u.path.rstrip("/")
        hdr = "".join(f"{k}: {v}\r\n" for k, v in extra_headers.items())
        self.head_tmpl = (f"POST {{path}} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n{hdr}"
                          "Content-Length: {n}\r\n\r\n")
        self.idle: deque[_Conn] = deque()
        self.loop = None
        self._heads: dict[str, bytes] = {}

    def release_later(self, conn: _Conn):
        # the response is complete on the wire; the consumer may still be reading buffered parts,
        # so only put it back once the request that owns it is finished (see request()).
        conn.fut = None

    def _release(self, conn: _Conn):
        if not conn.closed and conn.done and conn.keep and conn.error is None:
            self.idle.append(conn)

    async def _acquire(self) -> tuple[_Conn, bool]:
        while self.idle:
            c = self.idle.pop()
            if not c.closed:
                return c, True
        if self.loop is None:
            self.loop = asyncio.get_running_loop()
        _, c = await self.loop.create_connection(lambda: _Conn(self), self.host, self.port)
        return c, False

    def _head(self, path: str, n: int) -> bytes:
        t = self._heads.get(path)
        if t is None:
            t = self._heads[path] = self.head_tmpl.replace("{path}", self.prefix + path).encode()
        return t.replace(b"{n}", b"%d" % n)

    async def request(self, path: str, body: bytes, stream: bool = False):
        """Non-stream: returns (status, body). Stream: returns (status, conn); caller iterates
        conn.iter_body() and then calls pool.finish(conn)."""
        for attempt in (0, 1):
            conn, reused = await self._acquire()
            conn.reset(stream)
            conn.fut = self.loop.create_future()
            conn.transport.write(self._head(path, len(body)) + body)
            try:
                res = await conn.fut
            except ConnectionError:
                if reused and not conn.got_bytes and attempt == 0:
                    continue
                raise
            except BaseException:
                conn.transport.close()
                raise
            if stream:
                return res, conn
            conn.fut = None
            self._release(conn)
            return res
        raise ConnectionError("unreachable")

    def finish(self, conn: _Conn):
        if conn.done:
            self._release(conn)
        else:
            conn.transport.close()  # client went away mid-stream: drop the connection

    def close(self):
        while self.idle:
            self.idle.pop().transport.close()


class App:
    def __init__(self, upstream: str):
        self.pool = Pool(upstream, {"Content-Type": "application/json", "Authorization": "Bearer sk-mock"})

    async def __call__(self, scope, receive, send):
        t = scope["type"]
        if t == "lifespan":
            while True:
                m = await receive()
                if m["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif m["type"] == "lifespan.shutdown":
                    self.pool.close()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if t != "http":
            return
        if scope["method"] != "POST" or scope["path"] != "/v1/chat/completions":
            await send({"type": "http.response.start", "status": 404, "headers": JSON_HDRS})
            await send({"type": "http.response.body", "body": b'{"error":{"message":"not found"}}'})
            return
        m = await receive()
        body = m.get("body", b"")
        if m.get("more_body"):
            parts = [body]
            while m.get("more_body"):
                m = await receive()
                parts.append(m.get("body", b""))
            body = b"".join(parts)
        t0 = time.perf_counter()
        req = _dec(body)
        model = req.get("model", "")
        if model.startswith("openai/"):
            req["model"] = model[7:]
        payload = _enc.encode(req)
        if req.get("stream"):
            status, conn = await self.pool.request("/chat/completions", payload, stream=True)
            try:
                await send({"type": "http.response.start", "status": status, "headers": SSE_HDRS})
                async for chunk in conn.iter_body():
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                await send({"type": "http.response.body", "body": b""})
            finally:
                self.pool.finish(conn)
            return
        status, raw = await self.pool.request("/chat/completions", payload)
        out = _dec(raw)
        if status == 200:
            out["extra_fields"] = {"provider": "openai", "model_requested": model,
                                   "latency_ms": int((time.perf_counter() - t0) * 1000)}
        await send({"type": "http.response.start", "status": status, "headers": JSON_HDRS})
        await send({"type": "http.response.body", "body": _enc.encode(out)})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=18100)
    ap.add_argument("--upstream", default="http://127.0.0.1:18000/v1")
    a = ap.parse_args()
    import uvicorn
    uvicorn.run(App(a.upstream), host=a.host, port=a.port, loop="uvloop", http="httptools",
                access_log=False, log_level="warning", lifespan="on", backlog=4096)


if __name__ == "__main__":
    main()
