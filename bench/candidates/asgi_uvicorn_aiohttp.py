"""Candidate 1: raw ASGI app (no framework) on uvicorn + aiohttp ClientSession upstream.

POST /v1/chat/completions: msgspec-decode the body, strip an "openai/" prefix from "model",
re-encode, forward to {upstream}/chat/completions over one pooled keep-alive aiohttp session.
Non-stream: decode the upstream JSON, add "extra_fields", re-encode, return it.
Stream ("stream": true): every upstream body chunk is sent to the client as it arrives.

Run (uvicorn, uvloop, httptools, no access log):
    /tmp/candvenv/bin/python bench/candidates/asgi_uvicorn_aiohttp.py \
        --port 18100 --upstream http://127.0.0.1:18000/v1
Bench:
    /tmp/peers/benchvenv/bin/python /work/shared/bench/run.py --targets direct,ours --target ours \
        --port 18100 --cmd '/tmp/candvenv/bin/python bench/candidates/asgi_uvicorn_aiohttp.py \
        --port {port} --upstream {mock_url}' --ours-model openai/gpt-4o-mini
"""
from __future__ import annotations

import argparse
import os
import time

import aiohttp
import msgspec

_enc = msgspec.json.Encoder()
_dec = msgspec.json.decode
UPSTREAM = os.environ.get("CAND_UPSTREAM", "http://127.0.0.1:18000/v1")
UP_HEADERS = {"Content-Type": "application/json", "Authorization": "Bearer sk-mock"}
JSON_HDRS = [(b"content-type", b"application/json")]
SSE_HDRS = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]


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

    async def __call__(self, scope, receive, send):
        t = scope["type"]
        if t == "lifespan":
            while True:
                m = await receive()
                if m["type"] == "lifespan.startup":
                    self._session()
                    await send({"type": "lifespan.startup.complete"})
                elif m["type"] == "lifespan.shutdown":
                    if self.session is not None:
                        await self.session.close()
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
        async with self._session().post(self.url, data=payload, headers=UP_HEADERS) as resp:
            if req.get("stream"):
                await send({"type": "http.response.start", "status": resp.status, "headers": SSE_HDRS})
                async for chunk in resp.content.iter_any():
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                await send({"type": "http.response.body", "body": b""})
                return
            raw = await resp.read()
            status = resp.status
        out = _dec(raw)
        if status == 200:
            out["extra_fields"] = {"provider": "openai", "model_requested": model,
                                   "latency_ms": int((time.perf_counter() - t0) * 1000)}
        await send({"type": "http.response.start", "status": status, "headers": JSON_HDRS})
        await send({"type": "http.response.body", "body": _enc.encode(out)})


app = App(UPSTREAM)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=18100)
    ap.add_argument("--upstream", default=UPSTREAM)
    a = ap.parse_args()
    import uvicorn
    uvicorn.run(App(a.upstream), host=a.host, port=a.port, loop="uvloop", http="httptools",
                access_log=False, log_level="warning", lifespan="on", backlog=4096)


if __name__ == "__main__":
    main()
