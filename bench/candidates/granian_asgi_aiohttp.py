"""Candidate 2: the SAME raw ASGI app as candidate 1 (asgi_uvicorn_aiohttp.App) served by granian
(ASGI interface with lifespan, 1 worker, uvloop, no websockets, no access log) + aiohttp upstream.

Granian's Server is multi-process: this script is the supervisor and it spawns 1 worker process that
imports `asgi_uvicorn_aiohttp:app` (upstream passed via the CAND_UPSTREAM env var).
Extra knobs: --runtime-mode st|mt|auto, --runtime-threads N, --blocking-threads N.

Run:
    /tmp/candvenv/bin/python bench/candidates/granian_asgi_aiohttp.py \
        --port 18100 --upstream http://127.0.0.1:18000/v1
Bench:
    /tmp/peers/benchvenv/bin/python /work/shared/bench/run.py --targets direct,ours --target ours \
        --port 18100 --cmd '/tmp/candvenv/bin/python bench/candidates/granian_asgi_aiohttp.py \
        --port {port} --upstream {mock_url}' --ours-model openai/gpt-4o-mini
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

HERE = os.path.dirname(os.path.abspath(__file__))


def serve(target: str, interface: str):
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=18100)
    ap.add_argument("--upstream", default="http://127.0.0.1:18000/v1")
    ap.add_argument("--runtime-mode", default="auto")
    ap.add_argument("--runtime-threads", type=int, default=1)
    ap.add_argument("--blocking-threads", type=int, default=None)
    a = ap.parse_args()
    os.environ["CAND_UPSTREAM"] = a.upstream
    os.environ["PYTHONPATH"] = HERE + os.pathsep + os.environ.get("PYTHONPATH", "")
    sys.path.insert(0, HERE)
    from granian.constants import Interfaces, Loops, RuntimeModes
    from granian.server import Server
    kw = {}
    if a.blocking_threads:
        kw["blocking_threads"] = a.blocking_threads
    Server(target, address=a.host, port=a.port, interface=Interfaces(interface), workers=1,
           loop=Loops.uvloop, runtime_mode=RuntimeModes(a.runtime_mode), runtime_threads=a.runtime_threads,
           websockets=False, log_access=False, log_level="warning", backlog=4096, working_dir=Path(HERE),
           **kw).serve()


if __name__ == "__main__":
    serve("asgi_uvicorn_aiohttp:app", "asgi")
