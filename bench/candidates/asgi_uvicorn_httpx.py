"""Candidate 4: raw ASGI app on uvicorn + httpx.AsyncClient upstream (httpcore pool, HTTP/1.1).

Same proxy logic as candidate 1; only the upstream client differs. Streaming uses
`client.stream(...)` + `aiter_raw()` (each upstream read forwarded as it arrives).

Run:
    /tmp/candvenv/bin/python bench/candidates/asgi_uvicorn_httpx.py \
        --port 18100 --upstream http://127.0.0.1:18000/v1
Bench:
    /tmp/peers/benchvenv/bin/python /work/shared/bench/run.py --targets direct,ours --target ours \
        --port 18100 --cmd '/tmp/candvenv/bin/python bench/candidates/asgi_uvicorn_httpx.py \
        --port {port} --upstream {mock_url}' --ours-model openai/gpt-4o-mini
"""
from __future__ import annotations

import argparse
import time

import httpx
import msgspec

_enc = msgspec.json.Encoder()
_dec = msgspec.json.decode
UP_HEADERS = {"Content-Type": "application/json", "Authorization": "Bearer sk-mock"}
JSON_HDRS = [(b"content-type", b"application/json")]
SSE_HDRS = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]


class App:
    def __init__(self, upstream: str):
        self.url = upstream.rstrip("/") + "/chat/completions"
        self.client: httpx.AsyncClient | None = None

    def _client(self) -> httpx.AsyncClient:
        if self.client is None:
            self.client = httpx.AsyncClient(
                limits=httpx.Limits(max_connections=4096, max_keepalive_connections=4096, keepalive_expiry=60),
                timeout=httpx.Timeout(None, connect=5.0), trust_env=False)
        return self.client

    async def __call__(self, scope, receive, send):
        t = scope["type"]
        if t == "lifespan":
            while True:
                m = await receive()
                if m["type"] == "lifespan.startup":
                    self._client()
                    await send({"type": "lifespan.startup.complete"})
                elif m["type"] == "lifespan.shutdown":
                    if self.client is not None:
                        await self.client.aclose()
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
        client = self._client()
        if req.get("stream"):
            async with client.stream("POST", self.url, content=payload, headers=UP_HEADERS) as resp:
                await send({"type": "http.response.start", "status": resp.status_code, "headers": SSE_HDRS})
                async for chunk in resp.aiter_raw():
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
            return
        resp = await client.post(self.url, content=payload, headers=UP_HEADERS)
        status = resp.status_code
        out = _dec(resp.content)
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
