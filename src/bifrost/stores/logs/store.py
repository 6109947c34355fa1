"""The logs store: one SQLAlchemy Core implementation for SQLite and PostgreSQL.

Writes come only from the batch writer (`writer.py`), one transaction per batch that also adds the
batch to the hourly rollup. Reads serve /api/logs: a keyset page, a count and totals.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select

from bifrost.stores.db import Database
from bifrost.stores.logs.query import (
    COUNT_CAP,
    HOUR_US,
    LogFilter,
    Page,
    Totals,
    capped_count_query,
    has_any_query,
    page_query,
    raw_totals_query,
    rollup_totals_query,
    split_range,
)
from bifrost.stores.logs.tables import ROLLUP_SUMS, logs, logs_hourly

log = logging.getLogger("bifrost.logs")

# Rows deleted per statement by retention, so a big purge never holds a long write lock.
DELETE_CHUNK = 10_000


class SearchResult:
    __slots__ = ("rows", "total_count", "capped", "totals", "has_logs")

    def __init__(self, rows: list[dict[str, Any]], total_count: int, capped: bool, totals: Totals | None,
                 has_logs: bool) -> None:
        self.rows = rows
        self.total_count = total_count
        self.capped = capped
        self.totals = totals
        self.has_logs = has_logs


class LogsStore:
    """Request logs in a SQL database (see tables.py for the shape)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        # The row insert goes to the driver as positional tuples: half the time of Core's executemany
        # and, because the driver binds in its own thread, shorter pauses of the event loop.
        self._cols = [c.name for c in logs.columns]
        marks = [f"${i}" for i in range(1, len(self._cols) + 1)] if db.is_postgres else ["?"] * len(self._cols)
        quoted = ", ".join(f'"{c}"' for c in self._cols)
        self._insert_sql = (f"INSERT INTO logs ({quoted}) VALUES ({', '.join(marks)}) "
                            "ON CONFLICT (id) DO NOTHING")
        self._rollup_cols = ["hour", "provider", "model", "status", *ROLLUP_SUMS]
        rmarks = ([f"${i}" for i in range(1, len(self._rollup_cols) + 1)] if db.is_postgres
                  else ["?"] * len(self._rollup_cols))
        adds = ", ".join(f"{c} = logs_hourly.{c} + excluded.{c}" for c in ROLLUP_SUMS)
        self._rollup_sql = (f"INSERT INTO logs_hourly ({', '.join(self._rollup_cols)}) VALUES ({', '.join(rmarks)}) "
                            f"ON CONFLICT (hour, provider, model, status) DO UPDATE SET {adds}")

    @property
    def where(self) -> str:
        return self.db.where

    async def ping(self, timeout: float = 10.0) -> None:
        await self.db.ping(timeout)

    async def close(self) -> None:
        await self.db.close()

    # --- writes -------------------------------------------------------------------------------

    async def insert(self, rows: Sequence[dict[str, Any]]) -> None:
        """Insert rows and add them to the rollup, in one transaction (all or nothing)."""
        if not rows:
            return
        cols, rcols = self._cols, self._rollup_cols
        values = [tuple(r.get(c) for c in cols) for r in rows]
        rollup = [tuple(a[c] for c in rcols) for a in _rollup(rows)]
        async with self.db.engine.begin() as conn:
            # ON CONFLICT DO NOTHING: a retried batch whose first commit did reach the database
            # must not fail on its own ids.
            await conn.exec_driver_sql(self._insert_sql, values)
            await conn.exec_driver_sql(self._rollup_sql, rollup)

    async def delete_before(self, cutoff_us: int) -> int:
        """Delete rows before the hour holding `cutoff_us`, and their rollup hours; returns rows deleted.

        The cutoff is rounded down to a whole hour so the rollup and the rows always agree.
        """
        cutoff_us = (cutoff_us // HOUR_US) * HOUR_US
        total = 0
        while True:
            ids = select(logs.c.id).where(logs.c.timestamp < cutoff_us).limit(DELETE_CHUNK).scalar_subquery()
            async with self.db.engine.begin() as conn:
                res = await conn.execute(delete(logs).where(logs.c.id.in_(ids)))
            n = int(res.rowcount or 0)
            total += n
            if n < DELETE_CHUNK:
                break
        async with self.db.engine.begin() as conn:
            await conn.execute(delete(logs_hourly).where(logs_hourly.c.hour < (cutoff_us // HOUR_US) * 3600))
        return total

    # --- reads --------------------------------------------------------------------------------

    async def search(self, f: LogFilter, page: Page, *, with_count: bool = True) -> SearchResult:
        """One page of rows plus, when asked, the total (exact from the rollup, else capped)."""
        async with self.db.engine.connect() as conn:
            rows = [dict(r._mapping) for r in await conn.execute(page_query(f, page))]
            has_logs = bool(rows) or (await conn.execute(has_any_query())).first() is not None
        if not with_count:
            return SearchResult(rows, -1, False, None, has_logs)
        if f.rollup_ok:
            totals = await self.totals(f)
            return SearchResult(rows, totals.requests, False, totals, has_logs)
        async with self.db.engine.connect() as conn:
            n = int((await conn.execute(capped_count_query(f))).scalar_one())
        capped = n > COUNT_CAP
        return SearchResult(rows, min(n, COUNT_CAP), capped, None, has_logs)

    async def totals(self, f: LogFilter) -> Totals:
        """Requests, successes, latency and token sums over the filter (rollup where it can)."""
        t = Totals()
        async with self.db.engine.connect() as conn:
            if not f.rollup_ok:
                t.add(tuple((await conn.execute(raw_totals_query(f, f.start_us, _end(f)))).one()))
                return t
            edges, hours = split_range(f)
            for start, end in edges:
                t.add(tuple((await conn.execute(raw_totals_query(f, start, end))).one()))
            if hours is not None:
                t.add(tuple((await conn.execute(rollup_totals_query(f, *hours))).one()))
        return t

    async def get(self, log_id: str) -> dict[str, Any] | None:
        async with self.db.engine.connect() as conn:
            row = (await conn.execute(select(logs).where(logs.c.id == log_id))).first()
        return None if row is None else dict(row._mapping)


def _end(f: LogFilter) -> int | None:
    return None if f.end_us is None else f.end_us + 1


def _rollup(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    acc: dict[tuple[int, str, str, str], dict[str, Any]] = {}
    for r in rows:
        key = ((r["timestamp"] // HOUR_US) * 3600, r["provider"], r["model"], r["status"])
        a = acc.get(key)
        if a is None:
            a = acc[key] = {"hour": key[0], "provider": key[1], "model": key[2], "status": key[3],
                            **dict.fromkeys(ROLLUP_SUMS, 0)}
        a["requests"] += 1
        if r.get("fallback_index", 0) == 0:
            a["roots"] += 1
            if r["status"] == "success":
                a["root_successes"] += 1
        lat = r.get("latency")
        if lat is not None:
            a["latency_sum"] += lat
            a["latency_count"] += 1
        for k in ("prompt_tokens", "completion_tokens", "total_tokens", "cached_read_tokens"):
            a[k] += r.get(k) or 0
        a["cost"] += r.get("cost") or 0.0
    for a in acc.values():
        a["latency_sum"] = float(a["latency_sum"])
        a["cost"] = float(a["cost"])
    return list(acc.values())
