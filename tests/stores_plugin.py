"""Store test helpers: the real PostgreSQL (one random database per test module) and SQLite.

`backend` is parametrized over "sqlite" and "postgres"; `store_section(backend, tmp)` gives the
`config_store` section of a config.json pointing at a fresh, empty store for one test. A pytest plugin
(listed in tests/conftest.py) so store tests anywhere get the fixtures; `psql` and `pg_section` are helpers.
"""

from __future__ import annotations

import os
import subprocess
import urllib.parse
from pathlib import Path
from typing import Any

import pytest

REQUIRE_SERVICES = os.environ.get("BIFROST_TEST_REQUIRE_SERVICES") == "1"

PG_DSN = os.environ.get("BIFROST_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test")


def _pg() -> urllib.parse.ParseResult:
    return urllib.parse.urlparse(PG_DSN)


def psql(sql: str, db: str | None = None) -> str:
    """Run SQL with the psql client (no driver needed in the test process); raises on failure."""
    u = _pg()
    env = {**os.environ, "PGPASSWORD": u.password or ""}
    r = subprocess.run(["psql", "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-h", u.hostname or "127.0.0.1",
                        "-p", str(u.port or 5432), "-U", u.username or "postgres", "-d", db or u.path.lstrip("/"),
                        "-c", sql], capture_output=True, text=True, env=env, timeout=60)
    if r.returncode != 0:
        raise RuntimeError(r.stderr)
    return r.stdout.strip()


def _pg_available() -> str | None:
    try:
        psql("SELECT 1")
        return None
    except (OSError, RuntimeError, subprocess.TimeoutExpired) as exc:
        return str(exc)


def pg_section(db: str) -> dict[str, Any]:
    u = _pg()
    cfg: dict[str, Any] = {"host": u.hostname or "127.0.0.1", "port": str(u.port or 5432),
                           "user": u.username or "postgres", "db_name": db, "ssl_mode": "disable"}
    if u.password:
        cfg["password"] = u.password
    return {"enabled": True, "type": "postgres", "config": cfg}


CONFIG_TABLES = ("config_keys", "config_providers", "config_client", "config_plugins", "config_admin",
                 "config_sessions", "config_meta", "governance_entities", "bifrost_config_migrations")


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def store_section(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> dict[str, Any]:
    """`config_store` for a fresh, empty store (SQLite file in tmp_path, or the module's PG database
    emptied of the config store's tables)."""
    if backend == "sqlite":
        return {"enabled": True, "type": "sqlite", "config": {"path": str(tmp_path / "config.db")}}
    db: str = request.getfixturevalue("pg_db")
    psql("DROP TABLE IF EXISTS " + ", ".join(CONFIG_TABLES) + " CASCADE", db)
    return pg_section(db)
