"""`/api/logs`, `/api/logs/stats` and `/api/logs/dropped` in Bifrost's query parameters and shapes.

Filters: `providers`, `models`, `status`, `objects` (comma-separated), `start_time` / `end_time`
(RFC 3339), `min_latency` / `max_latency` (ms), `min_tokens` / `max_tokens`, `min_cost` / `max_cost` (USD),
`content_search`, `parent_request_id`. Pages: `limit` (1..1000, default 50) with `offset` as in Bifrost, or with
`cursor` (the previous page's `next_cursor`): keyset pagination that costs the same on page 1 and
page 100,000. `sort_by` timestamp | latency | tokens | cost, `order` desc | asc.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

import msgspec
from sqlalchemy.exc import SQLAlchemyError

from bifrost.schemas.errors import BifrostError, RequestError
from bifrost.server.asgi import Receive, Scope, Send, send_bytes
from bifrost.stores.logs import LogFilter, Page, Totals, decode_cursor, encode_cursor

_encode = msgspec.json.encode
_decode = msgspec.json.decode
Handler = Callable[[Any, Scope, Receive, Send], Awaitable[int]]
MAX_LIMIT = 1000
_JSON_COLUMNS = ("input_history", "output_message", "params", "token_usage", "error_details")


def _query(scope: Scope) -> dict[str, str]:
    qs = scope.get("query_string", b"").decode("latin-1")
    return {k: v[-1] for k, v in parse_qs(qs, keep_blank_values=False).items()}


def _csv(q: dict[str, str], name: str) -> list[str]:
    return [p.strip() for p in q.get(name, "").split(",") if p.strip()]


def _time_us(q: dict[str, str], name: str) -> int | None:
    v = q.get(name)
    if not v:
        return None
    try:
        t = datetime.fromisoformat(v.replace("Z", "+00:00").replace(" ", "+"))
    except ValueError:
        raise RequestError(f"{name} {v!r} is not an RFC 3339 time; use e.g. 2026-11-24T18:00:00Z",
                           param=name) from None
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return int(t.timestamp() * 1_000_000)


def _num(q: dict[str, str], name: str, integer: bool = False) -> Any:
    v = q.get(name)
    if v is None or v == "":
        return None
    try:
        return int(v) if integer else float(v)
    except ValueError:
        kind = "an integer" if integer else "a number"
        raise RequestError(f"{name} {v!r} is not {kind}; e.g. {name}=100", param=name) from None


def parse_filter(q: dict[str, str]) -> LogFilter:
    return LogFilter(
        providers=_csv(q, "providers"), models=_csv(q, "models"), status=_csv(q, "status"),
        objects=_csv(q, "objects"), parent_request_id=q.get("parent_request_id") or q.get("session_id") or None,
        start_us=_time_us(q, "start_time"), end_us=_time_us(q, "end_time"),
        min_latency=_num(q, "min_latency"), max_latency=_num(q, "max_latency"),
        min_tokens=_num(q, "min_tokens", True), max_tokens=_num(q, "max_tokens", True),
        min_cost=_num(q, "min_cost"), max_cost=_num(q, "max_cost"),
        content_search=q.get("content_search") or None,
    )


def parse_page(q: dict[str, str]) -> Page:
    limit = _num(q, "limit", True)
    if limit is None:
        limit = 50
    if limit <= 0 or limit > MAX_LIMIT:
        raise RequestError(f"limit must be between 1 and {MAX_LIMIT}, found {limit}", param="limit")
    offset = _num(q, "offset", True) or 0
    if offset < 0:
        raise RequestError("offset cannot be negative", param="offset")
    sort_by = q.get("sort_by", "timestamp")
    if sort_by not in ("timestamp", "latency", "tokens", "cost"):
        sort_by = "timestamp"
    order = "asc" if q.get("order") == "asc" else "desc"
    after = None
    if q.get("cursor"):
        if sort_by != "timestamp":
            raise RequestError("cursor pagination needs sort_by=timestamp; use offset to page other sorts",
                               param="cursor")
        try:
            after = decode_cursor(q["cursor"])
        except ValueError as exc:
            raise RequestError(str(exc), param="cursor") from None
    return Page(limit=limit, offset=offset, sort_by=sort_by, order=order, after=after)


def rfc3339(ts_us: int) -> str:
    return datetime.fromtimestamp(ts_us / 1_000_000, UTC).isoformat().replace("+00:00", "Z")


def log_json(row: dict[str, Any]) -> dict[str, Any]:
    """A `logs` row in Bifrost's Log JSON (JSON text columns decoded into their objects)."""
    out = {k: v for k, v in row.items() if k not in _JSON_COLUMNS and v is not None}
    out["timestamp"] = out["created_at"] = rfc3339(row["timestamp"])
    out["object"] = out.pop("object_type")
    out["stream"] = bool(row["stream"])
    out["cost"] = row.get("cost")  # null (not 0) when the pricing catalog has no price for the model
    for col in _JSON_COLUMNS:
        raw = row.get(col)
        if raw:
            try:
                out[col] = _decode(raw)
            except msgspec.DecodeError:
                out[col] = raw
    if out["object"] == "response":  # Bifrost keeps Responses API content under its own names
        if "output_message" in out:
            out["responses_output"] = out.pop("output_message")
        if "input_history" in out:
            out["responses_input_history"] = out.pop("input_history")
    if "token_usage" not in out and row.get("total_tokens"):
        out["token_usage"] = {"prompt_tokens": row["prompt_tokens"], "completion_tokens": row["completion_tokens"],
                              "total_tokens": row["total_tokens"]}
    return out


def stats_json(t: Totals) -> dict[str, Any]:
    """Bifrost's SearchStats (rates in percent, latency in ms, cost in USD: the sum of the known costs)."""
    return {
        "total_requests": t.requests,
        "success_rate": round(100.0 * t.successes / t.requests, 4) if t.requests else 0.0,
        "user_facing_success_rate": round(100.0 * t.root_successes / t.roots, 4) if t.roots else 0.0,
        "user_facing_total_requests": t.roots,
        "average_latency": round(t.latency_sum / t.latency_count, 3) if t.latency_count else 0.0,
        "total_tokens": t.total_tokens,
        "total_prompt_tokens": t.prompt_tokens,
        "total_completion_tokens": t.completion_tokens,
        "total_cached_read_tokens": t.cached_read_tokens,
        "total_cost": round(t.cost, 10),
    }


def unavailable(exc: Exception) -> BifrostError:
    reason = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
    return BifrostError(f"log store not available: {reason}; check that the logs database is running and "
                        "reachable (inference is not affected)", status=503, type="logs_unavailable")


def _store(state: Any) -> Any:
    store = getattr(state, "logs_store", None)
    if store is None:
        raise BifrostError("request logs are not enabled: set logs_store.enabled to true in config.json "
                           "(and leave client.enable_logging on), then restart", status=503,
                           type="logs_disabled")
    return store


async def get_logs(state: Any, scope: Scope, receive: Receive, send: Send) -> int:
    q = _query(scope)
    f, page = parse_filter(q), parse_page(q)
    store = _store(state)
    # Counting is for the first page (or an offset page); a cursor page is just the next rows.
    try:
        res = await store.search(f, page, with_count=page.after is None)
    except (SQLAlchemyError, OSError, TimeoutError) as exc:
        raise unavailable(exc) from None
    rows = res.rows
    body: dict[str, Any] = {
        "logs": [log_json(r) for r in rows],
        "pagination": {"limit": page.limit, "offset": page.offset, "sort_by": page.sort_by, "order": page.order,
                       "total_count": res.total_count},
        "has_logs": res.has_logs,
    }
    if res.capped:
        body["pagination"]["total_count_capped"] = True
    if res.totals is not None:
        body["stats"] = stats_json(res.totals)
    if len(rows) == page.limit and page.sort_by == "timestamp":
        last = rows[-1]
        body["next_cursor"] = encode_cursor(last["timestamp"], last["id"])
    await send_bytes(send, 200, _encode(body))
    return 200


async def get_stats(state: Any, scope: Scope, receive: Receive, send: Send) -> int:
    f = parse_filter(_query(scope))
    try:
        totals = await _store(state).totals(f)
    except (SQLAlchemyError, OSError, TimeoutError) as exc:
        raise unavailable(exc) from None
    await send_bytes(send, 200, _encode(stats_json(totals)))
    return 200


async def get_dropped(state: Any, scope: Scope, receive: Receive, send: Send) -> int:
    writer = getattr(state, "logs_writer", None)
    await send_bytes(send, 200, _encode({"dropped_requests": writer.dropped if writer is not None else 0}))
    return 200


ROUTES: dict[tuple[str, str], Handler] = {
    ("GET", "/api/logs"): get_logs,
    ("GET", "/api/logs/stats"): get_stats,
    ("GET", "/api/logs/dropped"): get_dropped,
}
