"""Arguments of `bifrost doctor` and `bifrost support-bundle` (kept light: imported when the parser is built)."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from typing import Any


def add_parsers(sub: Any, add_common: Callable[..., None]) -> None:
    d = sub.add_parser("doctor", help="check config, env vars, encryption key, databases and the app dir; "
                                      "print a pass/fail table with a fix for each failure")
    add_common(d, "pretty")
    _doctor_args(d)
    b = sub.add_parser("support-bundle", help="write a tarball for a bug report: version, masked config, doctor "
                                              "report, recent log lines, metrics, env var names")
    add_common(b, "pretty")
    _doctor_args(b)
    b.add_argument("--output", "-o", default=None,
                   help="tarball path; default ./bifrost-support-<UTC time>.tar.gz")
    b.add_argument("--log-file", default=os.environ.get("BIFROST_LOG_FILE") or None,
                   help="gateway log file to take recent lines from; env BIFROST_LOG_FILE")
    b.add_argument("--log-lines", type=int, default=2000, help="how many recent log lines; default 2000")
    b.add_argument("--url", default=os.environ.get("BIFROST_URL") or "http://127.0.0.1:8080",
                   help="the running gateway, for a /metrics snapshot; env BIFROST_URL; default http://127.0.0.1:8080")


def _doctor_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--probe-providers", action="store_true",
                   help="also call each provider key's model-list endpoint")
    port = os.environ.get("BIFROST_PORT") or os.environ.get("APP_PORT") or "8080"
    p.add_argument("--port", type=int, default=int(port) if port.isdigit() else 8080,
                   help="the running gateway's port, for its cluster view (GET /api/cluster); env BIFROST_PORT "
                        "(or APP_PORT); default 8080")
    p.add_argument("--min-free-mb", type=int, default=512,
                   help="free space in the app dir below which the check fails; default 512")


def run_command(args: argparse.Namespace) -> int:
    from bifrost.logs import setup_logging

    setup_logging(args.log_level, args.log_style)
    if args.command == "doctor":
        from bifrost.doctor.run import doctor_main

        rc: int = doctor_main(args)
        return rc
    from bifrost.doctor.bundle import bundle_main

    return bundle_main(args)
