"""The logs store contract, run against SQLite and the real PostgreSQL (own database per module)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from bifrost.config.loader import load_config
from bifrost.stores.logs import LogFilter, LogsStore, Page, open_logs_store
from bifrost.stores.logs.query import COUNT_CAP, HOUR_US
from bifrost.stores.logs.retention import DAY_US, enforce_retention
from logs_pg import pg_database, store_config

pytestmark = pytest.mark.anyio
NOW = 1_790_000_000 * 1_000_000 + 123_456  # a fixed "now" (µs), not on an hour boundary


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    app_dir = tmp_path_factory.mktemp("logs-" + request.param)
    if request.param == "sqlite":
        (app_dir / "config.json").write_text(msgspec.json.encode({"logs_store": store_config("sqlite", None)})
                                             .decode())
        yield request.param, app_dir
        return
    with pg_database() as name:
        (app_dir / "config.json").write_text(msgspec.json.encode({"logs_store": store_config("postgres", name)})
                                             .decode())
        yield request.param, app_dir


@pytest.fixture
async def store(backend: tuple[str, Path]) -> AsyncIterator[LogsStore]:
    cfg = load_config(backend[1]).config
    s = await open_logs_store(cfg, backend[1])
    async with s.db.engine.begin() as conn:
        from sqlalchemy import delete

        from bifrost.stores.logs.tables import logs, logs_hourly
        await conn.execute(delete(logs))
        await conn.execute(delete(logs_hourly))
    yield s
    await s.close()


def row(i: int, ts: int, **kw: Any) -> dict[str, Any]:
    r: dict[str, Any] = {
        "id": f"log-{i:05d}", "parent_request_id": None, "timestamp": ts, "object_type": "chat.completion",
        "provider": "openai", "model": "gpt-4o-mini", "number_of_retries": 0, "fallback_index": 0,
        "status": "success", "stream": False, "latency": 100.0, "prompt_tokens": 10, "completion_tokens": 5,
        "total_tokens": 15, "cached_read_tokens": 0, "reasoning_tokens": 0, "stop_reason": "stop",
        "input_history": None, "output_message": None, "params": None, "token_usage": None,
        "error_details": None, "content_summary": f"message number {i}",
    }
    r.update(kw)
    return r


def mixed_rows(n: int = 600) -> list[dict[str, Any]]:
    rnd = random.Random(7)
    out = []
    for i in range(n):
        ts = NOW - rnd.randrange(0, 30 * HOUR_US)
        out.append(row(i, ts, provider=rnd.choice(["openai", "anthropic", "groq"]),
                       model=rnd.choice(["a", "b"]), status=rnd.choice(["success", "success", "error"]),
                       latency=float(rnd.randrange(1, 2000)), total_tokens=rnd.randrange(0, 500),
                       prompt_tokens=rnd.randrange(0, 100), fallback_index=rnd.choice([0, 0, 1]),
                       cost=rnd.choice([None, 0.0, rnd.randrange(1, 10_000) / 1e6])))
    return out


def expected(rows: list[dict[str, Any]], f: LogFilter) -> list[dict[str, Any]]:
    def ok(r: dict[str, Any]) -> bool:
        return ((not f.providers or r["provider"] in f.providers) and (not f.models or r["model"] in f.models)
                and (not f.status or r["status"] in f.status)
                and (f.start_us is None or r["timestamp"] >= f.start_us)
                and (f.end_us is None or r["timestamp"] <= f.end_us)
                and (f.min_latency is None or r["latency"] >= f.min_latency)
                and (f.max_tokens is None or r["total_tokens"] <= f.max_tokens)
                and (f.min_cost is None or (r["cost"] is not None and r["cost"] >= f.min_cost)))
    return sorted((r for r in rows if ok(r)), key=lambda r: (r["timestamp"], r["id"]), reverse=True)


FILTERS = [
    LogFilter(),
    LogFilter(providers=["anthropic"]),
    LogFilter(providers=["openai", "groq"], status=["error"]),
    LogFilter(start_us=NOW - 7 * HOUR_US - 1234, end_us=NOW - 2 * HOUR_US + 99),
    LogFilter(start_us=NOW - 20 * HOUR_US, models=["b"]),
    LogFilter(end_us=NOW - 3 * HOUR_US - 5),
    LogFilter(start_us=NOW - HOUR_US // 2, end_us=NOW),  # inside one hour: raw rows only
    LogFilter(min_latency=1500.0),
    LogFilter(max_tokens=50, status=["success"]),
    LogFilter(min_cost=0.005),  # raw rows only (the rollup has no per-row cost)
]


@pytest.mark.parametrize("f", FILTERS, ids=lambda f: ",".join(k for k in f.__struct_fields__ if getattr(f, k)))
async def test_totals_and_pages_match_the_rows_for_every_filter(store: LogsStore, f: LogFilter) -> None:
    rows = mixed_rows()
    for i in range(0, len(rows), 100):  # several batches, as the writer sends them
        await store.insert(rows[i:i + 100])
    want = expected(rows, f)
    t = await store.totals(f)
    assert t.requests == len(want)
    assert t.successes == sum(r["status"] == "success" for r in want)
    assert t.roots == sum(r["fallback_index"] == 0 for r in want)
    assert t.total_tokens == sum(r["total_tokens"] for r in want)
    assert t.latency_sum == pytest.approx(sum(r["latency"] for r in want))
    assert t.cost == pytest.approx(sum(r["cost"] or 0.0 for r in want))  # unknown (NULL) costs add nothing
    # Keyset walk: pages of 7 until the end, in (timestamp, id) descending order, no gaps or repeats.
    got: list[str] = []
    after = None
    while True:
        res = await store.search(f, Page(limit=7, after=after), with_count=after is None)
        if after is None:
            assert res.total_count == len(want)
        got += [r["id"] for r in res.rows]
        if len(res.rows) < 7:
            break
        after = (res.rows[-1]["timestamp"], res.rows[-1]["id"])
    assert got == [r["id"] for r in want]
    # Offset pages (Bifrost's way) agree with the keyset walk.
    res = await store.search(f, Page(limit=5, offset=10))
    assert [r["id"] for r in res.rows] == got[10:15]


async def test_ascending_order_and_other_sorts(store: LogsStore) -> None:
    rows = mixed_rows(100)
    await store.insert(rows)
    res = await store.search(LogFilter(), Page(limit=100, order="asc"))
    assert [r["id"] for r in res.rows] == [r["id"] for r in reversed(expected(rows, LogFilter()))]
    res = await store.search(LogFilter(), Page(limit=3, sort_by="latency"))
    assert [r["latency"] for r in res.rows] == sorted((r["latency"] for r in rows), reverse=True)[:3]


async def test_count_is_capped_when_filters_need_the_raw_rows(store: LogsStore) -> None:
    rows = [row(i, NOW - i * 1000, latency=5000.0) for i in range(COUNT_CAP + 50)]
    for i in range(0, len(rows), 2000):
        await store.insert(rows[i:i + 2000])
    res = await store.search(LogFilter(min_latency=1000.0), Page(limit=10))
    assert res.total_count == COUNT_CAP and res.capped
    res = await store.search(LogFilter(), Page(limit=10))
    assert res.total_count == COUNT_CAP + 50 and not res.capped


async def test_content_search_matches_the_summary_case_insensitively(store: LogsStore) -> None:
    await store.insert([row(1, NOW, content_summary="The WEATHER in Paris"),
                        row(2, NOW - 1, content_summary="100% sure_thing")])
    res = await store.search(LogFilter(content_search="weather"), Page())
    assert [r["id"] for r in res.rows] == ["log-00001"]
    res = await store.search(LogFilter(content_search="0% s"), Page())  # % and _ are literal
    assert [r["id"] for r in res.rows] == ["log-00002"]
    assert (await store.search(LogFilter(content_search="_thin"), Page())).rows[0]["id"] == "log-00002"


async def test_retention_deletes_old_rows_and_their_rollup(store: LogsStore) -> None:
    old = [row(i, NOW - 40 * DAY_US - i) for i in range(30)]
    new = [row(100 + i, NOW - i * HOUR_US) for i in range(20)]
    await store.insert(old + new)
    deleted = await enforce_retention(store, 30, now_us=NOW)
    assert deleted == 30
    res = await store.search(LogFilter(), Page(limit=100))
    assert sorted(r["id"] for r in res.rows) == sorted(r["id"] for r in new)
    assert (await store.totals(LogFilter())).requests == 20


async def test_a_retried_batch_is_not_written_twice(store: LogsStore) -> None:
    batch = [row(i, NOW - i) for i in range(5)]
    await store.insert(batch)
    await store.insert(batch)  # e.g. the commit reached the database but its answer did not
    res = await store.search(LogFilter(), Page(limit=50))
    assert len(res.rows) == 5


async def test_migrations_rerun_as_a_no_op(backend: tuple[str, Path]) -> None:
    from bifrost.stores.logs import MIGRATIONS, VERSION_TABLE
    from bifrost.stores.migrate import run_migrations

    cfg = load_config(backend[1]).config
    s1, s2 = await asyncio.gather(open_logs_store(cfg, backend[1]), open_logs_store(cfg, backend[1]))
    try:
        assert await run_migrations(s1.db, MIGRATIONS, VERSION_TABLE) == []
        await s1.ping()
    finally:
        await s1.close()
        await s2.close()
