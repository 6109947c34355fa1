"""Candidate 6 (combination of the two best parts): RSGI app on granian + the custom
asyncio/httptools upstream pool from candidate 5 (asgi_uvicorn_rawclient.Pool).

Run:
    /tmp/candvenv/bin/python bench/candidates/rsgi_granian_rawclient.py \
        --port 18100 --upstream http://127.0.0.1:18000/v1
Bench:
    /tmp/peers/benchvenv/bin/python /work/shared/bench/run.py --targets direct,ours --target ours \
        --port 18100 --cmd '/tmp/candvenv/bin/python bench/candidates/rsgi_granian_rawclient.py \
        --port {port} --upstream {mock_url}' --ours-model openai/gpt-4o-mini
"""
from __future__ import annotations

import os
import time

import msgspec
from granian.rsgi import ProtocolClosed  # raised by send_bytes once the client is gone

from asgi_uvicorn_rawclient import Pool  # same directory (granian puts it on sys.path)

_enc = msgspec.json.Encoder()
_dec = msgspec.json.decode
JSON_HDRS = [("content-type", "application/json")]
SSE_HDRS = [("content-type", "text/event-stream"), ("cache-control", "no-cache")]


class App:
    def __init__(self, upstream: str):
        self.pool = Pool(upstream, {"Content-Type": "application/json", "Authorization": "Bearer sk-mock"})

    def __rsgi_del__(self, loop):
        self.pool.close()

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
        if req.get("stream"):
            status, conn = await self.pool.request("/chat/completions", payload, stream=True)
            try:
                tx = proto.response_stream(status, SSE_HDRS)
                async for chunk in conn.iter_body():
                    await tx.send_bytes(chunk)
            except ProtocolClosed:
                pass  # client disconnected: finish() below closes the unfinished upstream connection
            finally:
                self.pool.finish(conn)
            return
        status, raw = await self.pool.request("/chat/completions", payload)
        out = _dec(raw)
        if status == 200:
            out["extra_fields"] = {"provider": "openai", "model_requested": model,
                                   "latency_ms": int((time.perf_counter() - t0) * 1000)}
        proto.response_bytes(status, JSON_HDRS, _enc.encode(out))

    __call__ = __rsgi__


app = App(os.environ.get("CAND_UPSTREAM", "http://127.0.0.1:18000/v1"))

if __name__ == "__main__":
    from granian_asgi_aiohttp import serve

    serve("rsgi_granian_rawclient:app", "rsgi")
