"""Opening a database for a store: URL building, the engine, pings, connection diagnostics.

`open_database` is the one way a store gets its engine, so connection diagnostics live in one place:
an unreachable PostgreSQL is retried with backoff for a bounded time (`retry_for`, default
BIFROST_DB_CONNECT_TIMEOUT or 30 s); a wrong password, an SSL mismatch, a missing database or a
non-UTF8 database fail at once with a message naming the setting to change (`dberrors.py`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from pathlib import Path
from typing import Any

import asyncpg
import msgspec
from sqlalchemy import event, text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bifrost.config.model import PostgresConfig, StoreConfig
from bifrost.stores.dberrors import (
    DatabaseError,
    create_database_sql,
    describe_failure,
    encoding_problem,
    setting_prefix,
)

log = logging.getLogger("bifrost.stores")

DEFAULT_CONNECT_TIMEOUT = 30.0
CONNECT_TIMEOUT_ENV = "BIFROST_DB_CONNECT_TIMEOUT"
# Backoff between connection attempts: first wait, growth factor, longest wait (seconds).
_BACKOFF = (0.5, 2.0, 5.0)


class Database:
    """An open store database: its engine and what to call it in messages."""

    def __init__(self, engine: AsyncEngine, kind: str, where: str) -> None:
        self.engine = engine
        self.kind = kind  # "sqlite" | "postgres"
        self.where = where  # "host:port/db" or the SQLite file path, for messages

    @property
    def is_postgres(self) -> bool:
        return self.kind == "postgres"

    async def ping(self, timeout: float = 10.0) -> None:
        async def _ping() -> None:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        await asyncio.wait_for(_ping(), timeout)

    async def close(self) -> None:
        await self.engine.dispose()


class PgInfo(msgspec.Struct, frozen=True, kw_only=True):
    """What a PostgreSQL server told us about the store's database (for checks and `bifrost doctor`)."""

    encoding: str
    ssl: bool
    server_version: str


def connect_timeout_from_env() -> float:
    """BIFROST_DB_CONNECT_TIMEOUT in seconds, or the 30 s default (a bad value is reported, not ignored)."""
    raw = os.environ.get(CONNECT_TIMEOUT_ENV)
    if not raw:
        return DEFAULT_CONNECT_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        raise DatabaseError(f"{CONNECT_TIMEOUT_ENV}={raw!r} is not a number of seconds; "
                            f"set it to e.g. 30 (0 = one attempt, no retries)") from None
    return max(0.0, value)


def database_url(cfg: StoreConfig, app_dir: Path, default_file: str) -> tuple[URL, str]:
    """The SQLAlchemy URL for a store and a human label for it (never containing the password)."""
    if cfg.type == "postgres":
        pg = cfg.postgres
        if pg is None:
            raise ValueError("postgres store without its config")
        url = URL.create("postgresql+asyncpg", username=pg.user, password=pg.password or None,
                         host=pg.host, port=pg.port, database=pg.db_name)
        return url, f"{pg.host}:{pg.port}/{pg.db_name}"
    path = Path(cfg.path or default_file)
    if not path.is_absolute():
        path = app_dir / path
    return URL.create("sqlite+aiosqlite", database=str(path)), str(path)


def _ssl_arg(pg: PostgresConfig) -> Any:
    # asyncpg takes libpq's mode names; "disable"/"allow" start without SSL as libpq does.
    return False if pg.ssl_mode in ("disable", "allow") else pg.ssl_mode


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=60000", "foreign_keys=ON"):
        cur.execute(f"PRAGMA {pragma}")
    cur.close()


def create_engine(cfg: StoreConfig, app_dir: Path, default_file: str) -> Database:
    """Build the engine (no connection is made yet)."""
    url, where = database_url(cfg, app_dir, default_file)
    if cfg.type == "postgres":
        pg = cfg.postgres
        assert pg is not None
        engine = create_async_engine(
            url, pool_size=max(1, pg.max_idle_conns), max_overflow=max(0, pg.max_open_conns - pg.max_idle_conns),
            pool_pre_ping=True, connect_args={"ssl": _ssl_arg(pg), "timeout": 10},
        )
        return Database(engine, "postgres", where)
    Path(where).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url)
    event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return Database(engine, "sqlite", where)


async def connect_postgres(pg: PostgresConfig, *, label: str = "config store",
                           retry_for: float | None = None) -> asyncpg.Connection:
    """One raw connection, retrying transient failures with backoff for `retry_for` seconds.

    Authentication and configuration errors (wrong password, SSL mismatch, missing database or role)
    are raised at once: waiting cannot fix them. Raises DatabaseError with the user-facing message.
    """
    limit = connect_timeout_from_env() if retry_for is None else max(0.0, retry_for)
    setting = setting_prefix(label)
    start = time.monotonic()
    wait, attempt = _BACKOFF[0], 0
    while True:
        attempt += 1
        try:
            return await asyncpg.connect(host=pg.host, port=pg.port, user=pg.user, password=pg.password or None,
                                         database=pg.db_name, ssl=_ssl_arg(pg), timeout=10)
        except Exception as exc:  # asyncpg raises OSError, PostgresError and its own errors
            failure = describe_failure(exc, pg, setting)
            elapsed = time.monotonic() - start
            if not failure.retryable:
                raise DatabaseError(failure.message, failure.hint) from exc
            if elapsed + wait > limit:
                raise DatabaseError(
                    f"failed to connect to database: {pg.host}:{pg.port}: {failure.reason} "
                    f"({attempt} attempt(s) in {elapsed:.1f}s); {failure.hint}; to wait longer at start set "
                    f"{CONNECT_TIMEOUT_ENV} (seconds, now {limit:g})", failure.hint) from exc
            log.warning("%s: connecting to %s:%d failed (attempt %d, %.1fs elapsed): %s; retrying in %.1fs "
                        "(giving up after %gs)", label, pg.host, pg.port, attempt, elapsed, failure.reason,
                        wait, limit)
            await asyncio.sleep(wait)
            wait = min(wait * _BACKOFF[1], _BACKOFF[2])


async def server_info(conn: asyncpg.Connection) -> PgInfo:
    row = await conn.fetchrow(
        "SELECT pg_encoding_to_char(d.encoding) AS enc, current_setting('server_version') AS ver, "
        "COALESCE((SELECT s.ssl FROM pg_stat_ssl s WHERE s.pid = pg_backend_pid()), false) AS ssl "
        "FROM pg_database d WHERE d.datname = current_database()")
    assert row is not None
    return PgInfo(encoding=str(row["enc"]), ssl=bool(row["ssl"]), server_version=str(row["ver"]))


async def probe_postgres(pg: PostgresConfig, *, label: str = "config store",
                         retry_for: float | None = None) -> PgInfo:
    """Connect once (with the retry policy) and report encoding, SSL and version."""
    conn = await connect_postgres(pg, label=label, retry_for=retry_for)
    try:
        return await server_info(conn)
    finally:
        await conn.close(timeout=5)


async def open_database(cfg: StoreConfig, app_dir: Path, default_file: str, *, label: str = "config store",
                        retry_for: float | None = None) -> Database:
    """Build the engine after checking the database can be used, so a bad database fails here, not on a request.

    PostgreSQL: connect (retrying an unreachable server for `retry_for` seconds, default
    BIFROST_DB_CONNECT_TIMEOUT or 30 s) and refuse a database whose encoding is not UTF8.
    Raises DatabaseError, whose str() says what failed and how to fix it.
    """
    if cfg.type == "postgres":
        pg = cfg.postgres
        if pg is None:
            raise DatabaseError(f"{setting_prefix(label)}.config: host, user and db_name are required for a "
                                "postgres store")
        info = await probe_postgres(pg, label=label, retry_for=retry_for)
        problem = encoding_problem(info.encoding, pg, setting_prefix(label))
        if problem:
            raise DatabaseError(problem, f"create a UTF8 database: {create_database_sql(pg)}")
    try:
        db = create_engine(cfg, app_dir, default_file)
    except OSError as exc:
        raise DatabaseError(_sqlite_message(cfg, app_dir, default_file, label, exc)) from exc
    try:
        await db.ping()
    except Exception as exc:
        await db.close()
        if cfg.type == "postgres":
            raise DatabaseError(f"{label}: the database at {db.where} accepted a check connection but the pool "
                                f"could not connect: {exc}") from exc
        raise DatabaseError(_sqlite_message(cfg, app_dir, default_file, label, exc)) from exc
    return db


def _sqlite_message(cfg: StoreConfig, app_dir: Path, default_file: str, label: str, exc: BaseException) -> str:
    _, where = database_url(cfg, app_dir, default_file)
    reason = getattr(exc, "strerror", None) or str(getattr(exc, "orig", None) or exc)
    return (f"{label}: cannot open the SQLite database {where}: {reason}; make its directory writable by UID "
            f"{os.getuid()} (on Kubernetes: podSecurityContext.fsGroup) or set {setting_prefix(label)}.config.path")


__all__ = ["Database", "DatabaseError", "PgInfo", "connect_postgres", "create_engine", "database_url",
           "open_database", "probe_postgres", "server_info"]
