"""The core packages type-check (mypy): engine, schemas, config, server core, upstream client."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORE = [
    "src/bifrost/engine", "src/bifrost/schemas", "src/bifrost/config", "src/bifrost/server/app.py",
    "src/bifrost/server/asgi.py", "src/bifrost/server/inference.py", "src/bifrost/server/models.py",
    "src/bifrost/server/run.py", "src/bifrost/providers/http.py", "src/bifrost/providers/openai_compat.py",
    "src/bifrost/providers/fasthttp.py", "src/bifrost/providers/fasthttp_pool.py",
    "src/bifrost/providers/spec.py", "src/bifrost/providers/base.py", "src/bifrost/cli.py",
    "src/bifrost/stores", "src/bifrost/doctor", "src/bifrost/plugins/logging", "src/bifrost/server/api/logs.py",
    "src/bifrost/pricing", "src/bifrost/server/pricing_setup.py",
    "src/bifrost/governance", "src/bifrost/server/api/governance.py",
]


def test_core_type_checks() -> None:
    r = subprocess.run([sys.executable, "-m", "mypy", "--ignore-missing-imports", "--follow-imports=silent",
                        "--no-error-summary", *CORE], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
