#!/usr/bin/env python3
"""Gateway CPU per streamed chunk: OpenAI pass-through vs Anthropic translation, end to end.

    /tmp/peers/benchvenv/bin/python bench/translation_e2e.py [--rate 300] [--duration 8] [--chunks 20]

Starts `bifrost mock` (CPU 0) and `bifrost serve` (CPU 1) with two providers pointing at the mock,
`openai` (pass-through) and `anthropic` (Messages API, translated to OpenAI chunks), then drives
each with the same open-loop stream load (bench/loadgen.py) and reads the gateway's CPU time from
/proc before and after. Reports CPU per stream and per chunk for each path, and the ratio
(issue #4's bar: translation at most 1.5x the pass-through's per-chunk cost). 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GW_PY = str(ROOT / ".venv" / "bin" / "python")
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def wait_http(url: str, timeout: float = 20) -> None:
    end = time.time() + timeout
    while time.time() < end:
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def pin(cpu: str) -> list[str]:
    return ["taskset", "-c", cpu] if shutil.which("taskset") else []


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rate", type=int, default=300)
    ap.add_argument("--duration", type=int, default=8)
    ap.add_argument("--chunks", type=int, default=20)
    ap.add_argument("--mock-port", type=int, default=18300)
    ap.add_argument("--port", type=int, default=18301)
    a = ap.parse_args()
    procs: list[subprocess.Popen] = []
    try:
        procs.append(subprocess.Popen(
            [*pin("0"), GW_PY, "-m", "bifrost", "mock", "--port", str(a.mock_port), "--no-record",
             "--latency-ms", "100", "--chunks", str(a.chunks), "--chunk-interval-ms", "5"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True))
        app = tempfile.mkdtemp(prefix="bifrost-xlat-")
        mock = f"http://127.0.0.1:{a.mock_port}"
        key = [{"name": "k", "value": "sk-bench", "models": [], "weight": 1}]
        cfg = {"providers": {p: {"keys": key, "network_config": {"base_url": mock}} for p in ("openai", "anthropic")}}
        Path(app, "config.json").write_text(json.dumps(cfg))
        gw = subprocess.Popen([*pin("1"), GW_PY, "-m", "bifrost", "serve", "--app-dir", app, "--host", "127.0.0.1",
                               "--port", str(a.port), "--log-level", "warn"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        procs.append(gw)
        wait_http(f"http://127.0.0.1:{a.port}/health")
        rows = {}
        for name, model in (("openai pass-through", "openai/gpt-4o-mini"),
                            ("anthropic translation", "anthropic/claude-3-5-haiku-latest")):
            load = [*pin("0"), sys.executable, str(ROOT / "bench" / "loadgen.py"),
                    "--url", f"http://127.0.0.1:{a.port}/v1/chat/completions", "--stream", "--model", model]
            subprocess.run([*load, "--rate", "50", "--duration", "2"], check=True, capture_output=True)  # warm-up
            c0 = cpu_seconds(gw.pid)
            out = subprocess.run([*load, "--rate", str(a.rate), "--duration", str(a.duration)], check=True,
                                 capture_output=True, text=True).stdout.strip()
            c1 = cpu_seconds(gw.pid)
            n = a.rate * a.duration
            per_stream = (c1 - c0) / n
            rows[name] = per_stream
            print(f"{name:22s} {per_stream * 1e3:6.3f} ms CPU/stream  {per_stream / (a.chunks + 3) * 1e6:6.1f} us/chunk"
                  f"   | {out}")
        base, xl = rows["openai pass-through"], rows["anthropic translation"]
        print(f"ratio (translation / pass-through, per chunk): {xl / base:.2f}x")
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)


if __name__ == "__main__":
    main()
