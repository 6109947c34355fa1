"""Candidate 3: RSGI app (granian's native Rust<->Python interface) on granian + aiohttp upstream.

Same proxy logic as candidate 1, but with RSGI: `body = await proto()`,
`proto.response_bytes(...)` for JSON and `proto.response_stream(...)` + `await tx.send_bytes(chunk)`
for SSE. The aiohttp session is created in `__rsgi_init__` (worker loop) and closed in `__rsgi_del__`.

Run:
    /tmp/candvenv/bin/python bench/candidates/rsgi_granian_aiohttp.py \
        --port 18100 --upstream http://127.0.0.1:18000/v1
Bench:
    /tmp/peers/benchvenv/bin/python /work/shared/bench/run.py --targets direct,ours --target ours \
        --port 18100 --cmd '/tmp/candvenv/bin/python bench/candidates/rsgi_granian_aiohttp.py \
        --port {port} --upstream {mock_url}' --ours-model openai/gpt-4o-mini
"""
from __future__ import annotations

import os
import time

import aiohttp
import msgspec
from granian.rsgi import ProtocolClosed  # raised by send_bytes once the client is gone

_enc = msgspec.json.Encoder()
_dec = msgspec.json.decode
UP_HEADERS = {"Content-Type": "application/json", "Authorization": "Bearer sk-mock"}
JSON_HDRS = [("content-type", "application/json")]
SSE_HDRS = [("content-type", "text/event-stream"), ("cache-control", "no-cache")]


class App:
    def __init__(self, upstream: str):
        self.url = upstream.rstrip("/") + "/chat/completions"
        self.session: aiohttp.ClientSession | None = None

    def _session(self) -> aiohttp.ClientSession:
        if self.session is None:
            self.session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=4096, keepalive_timeout=60, ttl_dns_cache=None),
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=5), auto_decompress=False)
        return self.session

    def __rsgi_init__(self, loop):
        async def _mk():
            self._session()
        loop.run_until_complete(_mk())

    def __rsgi_del__(self, loop):
        if self.session is not None:
            loop.run_until_complete(self.session.close())

    async def __rsgi__(self, scope, proto):
        if scope.proto != "http":
            return
        if scope.method != "POST" or scope.path != "/v1/chat/completions":
            proto.response_bytes(404, JSON_HDRS, b'{"error":{"message":"not found"}}')
            return
        body = await proto()
        t0 = time.perf_counter()
        req = _dec(body)
        model = req.get("model", "")
        if model.startswith("openai/"):
            req["model"] = model[7:]
        payload = _enc.encode(req)
        async with self._session().post(self.url, data=payload, headers=UP_HEADERS) as resp:
            if req.get("stream"):
                tx = proto.response_stream(resp.status, SSE_HDRS)
                try:
                    async for chunk in resp.content.iter_any():
                        await tx.send_bytes(chunk)
                except ProtocolClosed:
                    resp.close()  # client disconnected: drop the upstream connection
                return
            raw = await resp.read()
            status = resp.status
        out = _dec(raw)
        if status == 200:
            out["extra_fields"] = {"provider": "openai", "model_requested": model,
                                   "latency_ms": int((time.perf_counter() - t0) * 1000)}
        proto.response_bytes(status, JSON_HDRS, _enc.encode(out))

    __call__ = __rsgi__


app = App(os.environ.get("CAND_UPSTREAM", "http://127.0.0.1:18000/v1"))

if __name__ == "__main__":
    from granian_asgi_aiohttp import serve  # same directory (sys.path[0])

    serve("rsgi_granian_aiohttp:app", "rsgi")
