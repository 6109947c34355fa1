"""What a logs query asks for (filters, page) and the SQL that answers it.

Kept free of I/O so the shapes can be read and tested on their own; `store.py` runs the statements.
Times are epoch microseconds throughout; the API layer converts RFC 3339 to and from them.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import msgspec
from sqlalchemy import ColumnElement, Select, and_, case, func, literal, select, tuple_

from bifrost.stores.logs.tables import logs, logs_hourly

HOUR_US = 3_600_000_000
# A filtered count that cannot use the rollup stops here: the page says "10000+" instead of
# scanning millions of rows to print an exact number nobody pages through.
COUNT_CAP = 10_000
SORTS = {"timestamp": logs.c.timestamp, "latency": logs.c.latency, "tokens": logs.c.total_tokens,
         "cost": logs.c.cost}


class LogFilter(msgspec.Struct, kw_only=True):
    """Bifrost's SearchFilters subset: lists match any value; bounds are inclusive."""

    providers: list[str] = msgspec.field(default_factory=list)
    models: list[str] = msgspec.field(default_factory=list)
    status: list[str] = msgspec.field(default_factory=list)
    objects: list[str] = msgspec.field(default_factory=list)
    parent_request_id: str | None = None
    start_us: int | None = None
    end_us: int | None = None
    min_latency: float | None = None
    max_latency: float | None = None
    min_tokens: int | None = None
    max_tokens: int | None = None
    min_cost: float | None = None
    max_cost: float | None = None
    content_search: str | None = None

    @property
    def rollup_ok(self) -> bool:
        """True when the hourly rollup can answer totals (only time, provider, model, status filters)."""
        return not (self.objects or self.parent_request_id or self.min_latency is not None
                    or self.max_latency is not None or self.min_tokens is not None
                    or self.max_tokens is not None or self.min_cost is not None
                    or self.max_cost is not None or self.content_search)


class Page(msgspec.Struct, kw_only=True):
    limit: int = 50
    offset: int = 0
    sort_by: str = "timestamp"
    order: str = "desc"
    # Keyset position (timestamp_us, id) of the last row already seen; only for sort_by=timestamp.
    after: tuple[int, str] | None = None


class Totals(msgspec.Struct, kw_only=True):
    requests: int = 0
    successes: int = 0
    roots: int = 0
    root_successes: int = 0
    latency_sum: float = 0.0
    latency_count: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cached_read_tokens: int = 0
    cost: float = 0.0

    def add(self, row: tuple[object, ...]) -> None:
        vals = [v or 0 for v in row]
        self.requests += int(vals[0])  # type: ignore[call-overload]
        self.successes += int(vals[1])  # type: ignore[call-overload]
        self.roots += int(vals[2])  # type: ignore[call-overload]
        self.root_successes += int(vals[3])  # type: ignore[call-overload]
        self.latency_sum += float(vals[4])  # type: ignore[arg-type]
        self.latency_count += int(vals[5])  # type: ignore[call-overload]
        self.prompt_tokens += int(vals[6])  # type: ignore[call-overload]
        self.completion_tokens += int(vals[7])  # type: ignore[call-overload]
        self.total_tokens += int(vals[8])  # type: ignore[call-overload]
        self.cached_read_tokens += int(vals[9])  # type: ignore[call-overload]
        self.cost += float(vals[10])  # type: ignore[arg-type]


def encode_cursor(ts_us: int, log_id: str) -> str:
    return base64.urlsafe_b64encode(f"{ts_us}:{log_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, str]:
    """The keyset position in a cursor; ValueError (with the fix) when it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        ts, _, log_id = raw.partition(":")
        if not log_id:
            raise ValueError
        return int(ts), log_id
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ValueError(f"cursor {cursor!r} is not valid; pass the next_cursor of a previous "
                         "/api/logs response, or omit it to start from the first page") from None


def conditions(f: LogFilter, start_us: int | None, end_excl_us: int | None) -> list[ColumnElement[bool]]:
    """WHERE terms for the raw table over [start_us, end_excl_us)."""
    c = logs.c
    out: list[ColumnElement[bool]] = []
    if start_us is not None:
        out.append(c.timestamp >= start_us)
    if end_excl_us is not None:
        out.append(c.timestamp < end_excl_us)
    for col, values in ((c.provider, f.providers), (c.model, f.models), (c.status, f.status),
                        (c.object_type, f.objects)):
        if len(values) == 1:
            out.append(col == values[0])
        elif values:
            out.append(col.in_(values))
    if f.parent_request_id:
        out.append(c.parent_request_id == f.parent_request_id)
    if f.min_latency is not None:
        out.append(c.latency >= f.min_latency)
    if f.max_latency is not None:
        out.append(c.latency <= f.max_latency)
    if f.min_tokens is not None:
        out.append(c.total_tokens >= f.min_tokens)
    if f.max_tokens is not None:
        out.append(c.total_tokens <= f.max_tokens)
    if f.min_cost is not None:
        out.append(c.cost >= f.min_cost)
    if f.max_cost is not None:
        out.append(c.cost <= f.max_cost)
    if f.content_search:
        pattern = "%" + f.content_search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        out.append(c.content_summary.ilike(pattern, escape="\\"))
    return out


def end_exclusive(f: LogFilter) -> int | None:
    return None if f.end_us is None else f.end_us + 1


def page_query(f: LogFilter, page: Page) -> Select[Any]:
    terms = conditions(f, f.start_us, end_exclusive(f))
    col = SORTS.get(page.sort_by, logs.c.timestamp)
    desc = page.order != "asc"
    if page.after is not None and col is logs.c.timestamp:
        pos = tuple_(logs.c.timestamp, logs.c.id)
        key = tuple_(literal(page.after[0]), literal(page.after[1]))
        terms.append(pos < key if desc else pos > key)
    order = [col.desc(), logs.c.id.desc()] if desc else [col.asc(), logs.c.id.asc()]
    q = select(logs).where(*terms).order_by(*order).limit(page.limit)
    if page.after is None and page.offset:
        q = q.offset(page.offset)
    return q


def capped_count_query(f: LogFilter) -> Select[Any]:
    inner = select(literal(1).label("one")).select_from(logs).where(
        *conditions(f, f.start_us, end_exclusive(f))).limit(COUNT_CAP + 1).subquery()
    return select(func.count()).select_from(inner)


def raw_totals_query(f: LogFilter, start_us: int | None, end_excl_us: int | None) -> Select[Any]:
    c = logs.c
    ok = c.status == "success"
    root = c.fallback_index == 0
    cols: list[Any] = [
        func.count(),
        func.sum(case((ok, 1), else_=0)),
        func.sum(case((root, 1), else_=0)),
        func.sum(case((and_(root, ok), 1), else_=0)),
        func.sum(c.latency),
        func.count(c.latency),
        func.sum(c.prompt_tokens),
        func.sum(c.completion_tokens),
        func.sum(c.total_tokens),
        func.sum(c.cached_read_tokens),
        func.sum(c.cost),
    ]
    return select(*cols).where(*conditions(f, start_us, end_excl_us))


def rollup_totals_query(f: LogFilter, hour_from: int | None, hour_to: int | None) -> Select[Any]:
    """Sums over whole hours [hour_from, hour_to) (epoch seconds) from the rollup."""
    h = logs_hourly.c
    terms: list[ColumnElement[bool]] = []
    if hour_from is not None:
        terms.append(h.hour >= hour_from)
    if hour_to is not None:
        terms.append(h.hour < hour_to)
    for col, values in ((h.provider, f.providers), (h.model, f.models), (h.status, f.status)):
        if values:
            terms.append(col.in_(values))
    cols: list[Any] = [
        func.sum(h.requests),
        func.sum(case((h.status == "success", h.requests), else_=0)),
        func.sum(h.roots),
        func.sum(h.root_successes),
        func.sum(h.latency_sum),
        func.sum(h.latency_count),
        func.sum(h.prompt_tokens),
        func.sum(h.completion_tokens),
        func.sum(h.total_tokens),
        func.sum(h.cached_read_tokens),
        func.sum(h.cost),
    ]
    return select(*cols).where(*terms)


def split_range(f: LogFilter) -> tuple[list[tuple[int | None, int | None]], tuple[int | None, int | None] | None]:
    """Split the filter's time range into raw-table edges (µs) and whole rollup hours (s).

    Returns ([(start_us, end_excl_us), ...] for the raw table, (hour_from, hour_to) or None).
    """
    start, end = f.start_us, end_exclusive(f)
    hs = None if start is None else -(-start // HOUR_US) * HOUR_US  # first whole hour at/after start
    he = None if end is None else (end // HOUR_US) * HOUR_US  # end of the last whole hour before end
    if hs is not None and he is not None and hs >= he:
        return [(start, end)], None
    edges: list[tuple[int | None, int | None]] = []
    if start is not None and hs is not None and start < hs:
        edges.append((start, hs))
    if end is not None and he is not None and he < end:
        edges.append((he, end))
    return edges, (None if hs is None else hs // 1_000_000, None if he is None else he // 1_000_000)


def has_any_query() -> Select[Any]:
    return select(literal(1)).select_from(logs).limit(1)

