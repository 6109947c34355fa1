"""`bifrost doctor`: run every check, print the table (or JSON), exit 1 when a check fails."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
from collections.abc import Mapping
from pathlib import Path

from bifrost import __version__
from bifrost.doctor.checks import (
    check_app_dir,
    check_config,
    check_encryption_key,
    check_env_refs,
    check_key_opens_store,
)
from bifrost.doctor.cluster import check_cluster
from bifrost.doctor.report import SKIP, Check, Report, make_report, render_json, render_table


async def run_checks(app_dir: Path, *, env: Mapping[str, str] | None = None, probe: bool = False,
                     min_free_mb: int = 512, retry_for: float = 0.0, port: int = 8080) -> Report:
    """All checks, in the order the troubleshooting guide walks them."""
    from bifrost.doctor.stores import check_stores, probe_providers

    env = os.environ if env is None else env
    config_row, loaded = check_config(app_dir, env)
    checks: list[Check] = [config_row, check_env_refs(app_dir, env)]
    if loaded is None:
        checks.append(Check(name="databases", status=SKIP, detail="skipped: fix config.json first"))
    else:
        cfg = loaded.config
        checks.append(check_encryption_key(cfg, cfg.raw))
        checks += await check_stores(cfg, app_dir, retry_for)
        checks.append(await check_key_opens_store(cfg, app_dir))
    checks += check_app_dir(app_dir, min_free_mb)
    if probe and loaded is not None:
        checks += await probe_providers(loaded.config)
    elif not probe:
        checks.append(Check(name="provider keys", status=SKIP, detail="skipped: add --probe-providers to call them"))
    checks += await check_cluster(loaded.config if loaded else None, env, port)
    return make_report(__version__, str(app_dir), checks)


def report_for_args(args: argparse.Namespace) -> Report:
    # The doctor reports; it does not wait out a database outage unless asked to (--db-connect-timeout).
    retry_for = float(args.db_connect_timeout) if args.db_connect_timeout is not None else 0.0
    # Store connection warnings would interleave with the table; the table carries the same findings.
    for name in ("bifrost.stores", "alembic"):
        logging.getLogger(name).setLevel(logging.ERROR)
    return asyncio.run(run_checks(Path(args.app_dir).resolve(), probe=args.probe_providers,
                                  min_free_mb=args.min_free_mb, retry_for=retry_for,
                                  port=getattr(args, "port", 8080)))


def doctor_main(args: argparse.Namespace) -> int:
    report = report_for_args(args)
    print(render_json(report) if args.json else render_table(report))
    return 0 if report.ok else 1
