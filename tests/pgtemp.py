"""PostgreSQL fixtures for store tests (import `pg`, `pg_db`): a random database per test module, dropped after."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Iterator
from urllib.parse import urlparse

import pytest

REQUIRE_SERVICES = os.environ.get("BIFROST_TEST_REQUIRE_SERVICES") == "1"
DSN = os.environ.get("BIFROST_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test")


class PgServer:
    def __init__(self, dsn: str) -> None:
        u = urlparse(dsn)
        self.dsn = dsn
        self.host = u.hostname or "127.0.0.1"
        self.port = u.port or 5432
        self.user = u.username or "postgres"
        self.password = u.password or ""

    def store_config(self, db_name: str, **extra: object) -> dict[str, object]:
        cfg: dict[str, object] = {"host": self.host, "port": str(self.port), "user": self.user,
                                  "db_name": db_name, "ssl_mode": "disable"}
        if self.password:
            cfg["password"] = self.password
        cfg.update(extra)
        return cfg

    def execute(self, *sql: str) -> None:
        import asyncpg

        async def run() -> None:
            conn = await asyncpg.connect(self.dsn, timeout=10)
            try:
                for stmt in sql:
                    await conn.execute(stmt)
            finally:
                await conn.close()
        asyncio.run(run())

    def create_database(self, *, encoding: str = "UTF8") -> str:
        name = "bf_" + secrets.token_hex(6)
        if encoding == "UTF8":
            self.execute(f"CREATE DATABASE {name} WITH TEMPLATE template0 ENCODING 'UTF8'")
        else:
            self.execute(f"CREATE DATABASE {name} WITH TEMPLATE template0 ENCODING '{encoding}' "
                         "LC_COLLATE 'C' LC_CTYPE 'C'")
        return name

    def drop_database(self, name: str) -> None:
        self.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="module")
def pg() -> Iterator[PgServer]:
    server = PgServer(DSN)
    try:
        server.execute("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - any failure means "no PostgreSQL here"
        if REQUIRE_SERVICES:
            raise
        pytest.skip(f"PostgreSQL not available at {DSN}: {exc}")
    yield server


@pytest.fixture(scope="module")
def pg_db(pg: PgServer) -> Iterator[str]:
    """A fresh UTF8 database for this test module."""
    name = pg.create_database()
    yield name
    pg.drop_database(name)
