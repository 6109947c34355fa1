"""Opening a database for a store: URL building, the engine, pings.

`open_database` is the one way a store gets its engine, so connection diagnostics (retries with
backoff, the hints for a wrong password, an SSL mismatch or a missing database) live in one place.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bifrost.config.model import StoreConfig


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
        ssl: Any = False if pg.ssl_mode in ("disable", "allow") else pg.ssl_mode
        engine = create_async_engine(
            url, pool_size=max(1, pg.max_idle_conns), max_overflow=max(0, pg.max_open_conns - pg.max_idle_conns),
            pool_pre_ping=True, connect_args={"ssl": ssl, "timeout": 10},
        )
        return Database(engine, "postgres", where)
    Path(where).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url)
    event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return Database(engine, "sqlite", where)


async def open_database(cfg: StoreConfig, app_dir: Path, default_file: str) -> Database:
    """Build the engine and make one connection, so a bad database fails here and not on a request."""
    db = create_engine(cfg, app_dir, default_file)
    try:
        await db.ping()
    except BaseException:
        await db.close()
        raise
    return db
