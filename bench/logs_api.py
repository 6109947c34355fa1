"""How fast /api/logs answers on a big logs table (default 10 million rows), SQLite and PostgreSQL.

Fills the logs store in-database with one bulk INSERT ... SELECT (a recursive CTE on SQLite,
generate_series on PostgreSQL), indexes dropped during the fill and rebuilt after, the hourly
rollup built with one GROUP BY; then starts a real `bifrost serve` on that store and times the API
over HTTP: the first page (with total_count and stats), a deep keyset page, a deep offset page,
filtered pages and stats. Prints a Markdown table.

    .venv/bin/python bench/logs_api.py --backend sqlite --rows 10000000
    .venv/bin/python bench/logs_api.py --backend postgres --rows 10000000 \
        --pg postgresql://postgres@127.0.0.1:5432/postgres

The PostgreSQL run creates a database bf_bench_<random> and drops it at the end (--keep keeps it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from sqlalchemy import text  # noqa: E402
from sqlalchemy.schema import CreateIndex  # noqa: E402

from bifrost.config.loader import load_config  # noqa: E402
from bifrost.stores.logs import open_logs_store  # noqa: E402
from bifrost.stores.logs.tables import logs  # noqa: E402

SPAN_US = 30 * 86_400 * 1_000_000  # rows spread over the last 30 days
PROVIDERS = ["openai", "anthropic", "gemini", "bedrock", "groq"]


def fill_sql(n: int, now_us: int, postgres: bool) -> str:
    """One INSERT ... SELECT generating n rows from x = 1..n (x = 1 is the newest)."""
    step = max(1, SPAN_US // n)
    prov = "CASE x % 5 " + " ".join(f"WHEN {i} THEN '{p}'" for i, p in enumerate(PROVIDERS)) + " END"
    model = "'model-' || (x % 7)"
    status = "CASE WHEN x % 13 = 0 THEN 'error' ELSE 'success' END"
    cols = ("id, timestamp, object_type, provider, model, number_of_retries, fallback_index, status, stream, "
            "latency, prompt_tokens, completion_tokens, total_tokens, cached_read_tokens, reasoning_tokens, "
            "stop_reason, input_history, output_message, content_summary")
    sel = (f"'bench-' || x, {now_us} - x * {step}, 'chat.completion', {prov}, {model}, 0, "
           f"CASE WHEN x % 17 = 0 THEN 1 ELSE 0 END, {status}, (x % 4 = 0), "
           f"(x * 7919) % 30000 + 0.5, x % 900 + 10, x % 400 + 1, x % 900 + x % 400 + 11, 0, 0, 'stop', "
           "'[{\"role\":\"user\",\"content\":\"question number ' || x || ' about the weather\"}]', "
           "'{\"role\":\"assistant\",\"content\":\"an answer to question ' || x || '\"}', "
           "'question number ' || x || ' about the weather\nan answer to question ' || x")
    if postgres:
        return f"INSERT INTO logs ({cols}) SELECT {sel} FROM generate_series(1::bigint, {n}) AS g(x)"
    return (f"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < {n}) "
            f"INSERT INTO logs ({cols}) SELECT {sel} FROM c")


ROLLUP_SQL = (
    "INSERT INTO logs_hourly (hour, provider, model, status, requests, roots, root_successes, latency_sum, "
    "latency_count, prompt_tokens, completion_tokens, total_tokens, cached_read_tokens) "
    "SELECT (timestamp / 3600000000) * 3600, provider, model, status, count(*), "
    "sum(CASE WHEN fallback_index = 0 THEN 1 ELSE 0 END), "
    "sum(CASE WHEN fallback_index = 0 AND status = 'success' THEN 1 ELSE 0 END), sum(latency), count(latency), "
    "sum(prompt_tokens), sum(completion_tokens), sum(total_tokens), sum(cached_read_tokens) "
    "FROM logs GROUP BY 1, 2, 3, 4"
)


async def fill(app_dir: Path, n: int, now_us: int) -> dict[str, float]:
    store = await open_logs_store(load_config(app_dir).config, app_dir)
    pg = store.db.is_postgres
    times: dict[str, float] = {}
    idx = list(logs.indexes)
    async with store.db.engine.begin() as conn:
        for ix in idx:
            await conn.execute(text(f"DROP INDEX IF EXISTS {ix.name}"))
        await conn.execute(text("DELETE FROM logs"))
        await conn.execute(text("DELETE FROM logs_hourly"))
    t0 = time.perf_counter()
    print(f"filling {n:,} rows ...", flush=True)
    async with store.db.engine.begin() as conn:
        await conn.execute(text(fill_sql(n, now_us, pg)))
    times["fill rows"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    print("building indexes ...", flush=True)
    async with store.db.engine.begin() as conn:
        for ix in idx:
            await conn.execute(CreateIndex(ix))
    times["build indexes"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    async with store.db.engine.begin() as conn:
        await conn.execute(text(ROLLUP_SQL))
    async with store.db.engine.connect() as conn:
        await conn.execute(text("ANALYZE"))
        await conn.commit()
    times["rollup + analyze"] = time.perf_counter() - t0
    await store.close()
    return times


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(url: str) -> tuple[float, dict[str, Any]]:
    t0 = time.perf_counter()
    with urllib.request.urlopen(url, timeout=600) as r:
        body = r.read()
    return time.perf_counter() - t0, json.loads(body)


def timed(url: str, runs: int) -> tuple[float, dict[str, Any]]:
    samples = []
    body: dict[str, Any] = {}
    for _ in range(runs):
        dt, body = get(url)
        samples.append(dt)
    return statistics.median(samples), body


def rfc3339(us: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(us / 1_000_000)) + "Z"


def queries(n: int, now_us: int) -> list[tuple[str, str]]:
    step = max(1, SPAN_US // n)
    mid = n // 2
    mid_cursor = __import__("bifrost.stores.logs.query", fromlist=["encode_cursor"]).encode_cursor(
        now_us - mid * step, f"bench-{mid}")
    day = rfc3339(now_us - 86_400_000_000)
    week = rfc3339(now_us - 7 * 86_400_000_000)
    return [
        ("first page (50 rows + total_count + stats)", "/api/logs?limit=50"),
        (f"deep keyset page (cursor at row {mid:,})", f"/api/logs?limit=50&cursor={mid_cursor}"),
        ("offset page (offset 100,000, Bifrost's way)", "/api/logs?limit=50&offset=100000"),
        ("filtered: provider + status=error", "/api/logs?limit=50&providers=anthropic&status=error"),
        ("filtered: model, last 24 h", f"/api/logs?limit=50&models=model-3&start_time={day}"),
        ("filtered: min_latency=29900 (raw count, capped)", "/api/logs?limit=50&min_latency=29900"),
        ("content_search (scan, first 50 hits)", f"/api/logs?limit=50&content_search={quote('number 77')}"),
        ("stats, all rows", "/api/logs/stats"),
        ("stats, provider, last 7 days", f"/api/logs/stats?providers=openai&start_time={week}"),
        ("stats, min_tokens=1200 (raw scan)", "/api/logs/stats?min_tokens=1200"),
    ]


def run(args: argparse.Namespace) -> None:
    n = args.rows
    now_us = time.time_ns() // 1000
    app_dir = Path(tempfile.mkdtemp(prefix="bf-logs-bench-"))
    db_name = None
    if args.backend == "postgres":
        u = urlsplit(args.pg)
        db_name = "bf_bench_" + secrets.token_hex(4)
        subprocess.run(["psql", "-h", u.hostname or "127.0.0.1", "-p", str(u.port or 5432), "-U",
                        u.username or "postgres", "-d", "postgres", "-qc", f"CREATE DATABASE {db_name}"], check=True)
        store_cfg: dict[str, Any] = {"enabled": True, "type": "postgres", "config": {
            "host": u.hostname or "127.0.0.1", "port": str(u.port or 5432), "user": u.username or "postgres",
            "password": u.password or "", "db_name": db_name, "ssl_mode": "disable"}}
    else:
        store_cfg = {"enabled": True, "type": "sqlite", "config": {"path": "logs.db"}}
    (app_dir / "config.json").write_text(json.dumps({"logs_store": store_cfg}))
    gw = None
    try:
        t0 = time.perf_counter()
        times = asyncio.run(fill(app_dir, n, now_us))
        print(f"filled in {time.perf_counter() - t0:.0f}s: " + ", ".join(f"{k} {v:.0f}s" for k, v in times.items()))
        if args.backend == "sqlite":
            size = sum(p.stat().st_size for p in app_dir.glob("logs.db*"))
            print(f"logs.db: {size / 1e9:.2f} GB")
        port = free_port()
        gw = subprocess.Popen([sys.executable, "-m", "bifrost", "serve", "--app-dir", str(app_dir), "--host",
                               "127.0.0.1", "--port", str(port), "--log-level", "warn"],
                              env={**os.environ, "OPENAI_API_KEY": ""})
        base = f"http://127.0.0.1:{port}"
        for _ in range(600):
            try:
                get(base + "/health")
                break
            except OSError:
                time.sleep(0.1)
        print(f"\n{args.backend}, {n:,} rows (median of {args.runs} runs, over HTTP):\n")
        print("| query | time | rows | total_count |\n|---|---:|---:|---:|")
        for label, path in queries(n, now_us):
            dt, body = timed(base + path, args.runs)
            rows = len(body.get("logs", [])) if "logs" in body else "-"
            total = body.get("pagination", {}).get("total_count", body.get("total_requests", "-"))
            print(f"| {label} | {dt * 1000:.1f} ms | {rows} | {total} |", flush=True)
    finally:
        if gw is not None:
            gw.terminate()
            gw.wait(30)
        if db_name and not args.keep:
            u = urlsplit(args.pg)
            subprocess.run(["psql", "-h", u.hostname or "127.0.0.1", "-p", str(u.port or 5432), "-U",
                            u.username or "postgres", "-d", "postgres", "-qc",
                            f"DROP DATABASE IF EXISTS {db_name} WITH (FORCE)"], check=False)
        if not args.keep:
            shutil.rmtree(app_dir, ignore_errors=True)
        else:
            print(f"kept: {app_dir} {db_name or ''}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--pg", default=os.environ.get("BIFROST_TEST_POSTGRES_DSN",
                                                   "postgresql://postgres@127.0.0.1:5432/postgres"))
    ap.add_argument("--keep", action="store_true", help="keep the filled database and app dir")
    run(ap.parse_args())


if __name__ == "__main__":
    main()
