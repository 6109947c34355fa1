#!/usr/bin/env python3
"""Start `bifrost serve` for the benchmark: a fresh app dir whose config.json points openai at the mock.

    python bench/start_gateway.py --port 18100 --upstream http://127.0.0.1:18000/v1 [--log-level warn]

The process execs into the gateway, so the harness's SIGTERM reaches it directly.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--upstream", required=True, help="the mock's base URL, with or without /v1")
    ap.add_argument("--log-level", default="warn")
    ap.add_argument("--extra-config", default=None, help="JSON merged into config.json (top level)")
    a = ap.parse_args()
    base = a.upstream.rstrip("/").removesuffix("/v1")
    app_dir = tempfile.mkdtemp(prefix="bifrost-bench-")
    config = {
        "providers": {
            "openai": {
                "keys": [{"name": "bench", "value": "sk-bench", "models": [], "weight": 1}],
                "network_config": {"base_url": base},
            }
        }
    }
    if a.extra_config:
        config.update(json.loads(a.extra_config))
    with open(os.path.join(app_dir, "config.json"), "w") as f:
        json.dump(config, f)
    argv = [sys.executable, "-m", "bifrost", "serve", "--app-dir", app_dir, "--host", "127.0.0.1",
            "--port", str(a.port), "--log-level", a.log_level]
    os.execv(sys.executable, argv)


if __name__ == "__main__":
    main()
