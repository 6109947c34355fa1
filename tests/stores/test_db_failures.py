"""Each way a store's database can fail at start gets its own message naming the setting to change.

Real parts: the local PostgreSQL (missing database, SSL requested from a server with ssl=off, a
SQL_ASCII database, a closed port), and for the two cases that server cannot produce (wrong
password, server requiring SSL) a loopback server sending PostgreSQL's own wire bytes (pgwire.py).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from pathlib import Path
from typing import Any

import pytest
from pgwire import FakePostgres

from bifrost.config.model import PostgresConfig, StoreConfig
from bifrost.stores.db import DatabaseError, open_database, probe_postgres
from pgtemp import DSN, PgServer


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


PG = PgServer(DSN)  # the test PostgreSQL's address; the `pg` fixture skips (or fails) when it is down


def _store(host: str = PG.host, port: int = PG.port, *, user: str = PG.user, password: str = PG.password,
           db_name: str = "test", ssl_mode: str = "disable") -> StoreConfig:
    return StoreConfig(type="postgres", postgres=PostgresConfig(host=host, port=port, user=user, password=password,
                                                                db_name=db_name, ssl_mode=ssl_mode))


def _open(cfg: StoreConfig, tmp_path: Path, **kw: object) -> str:
    async def run() -> str:
        try:
            db = await open_database(cfg, tmp_path, "config.db", **kw)  # type: ignore[arg-type]
        except DatabaseError as exc:
            return str(exc)
        await db.close()
        return "opened"
    return asyncio.run(run())


def test_unreachable_database_is_retried_with_backoff_then_fails_naming_host_and_port(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    port = _closed_port()
    caplog.set_level(logging.WARNING, "bifrost.stores")
    t0 = time.monotonic()
    msg = _open(_store(port=port), tmp_path, retry_for=2.0)
    took = time.monotonic() - t0
    assert msg.startswith(f"failed to connect to database: 127.0.0.1:{port}: connection refused")
    assert "BIFROST_DB_CONNECT_TIMEOUT" in msg and "config_store.config.host" in msg
    attempts = [r.getMessage() for r in caplog.records if "retrying in" in r.getMessage()]
    assert len(attempts) >= 2, attempts
    assert "attempt 1," in attempts[0] and "attempt 2," in attempts[1] and "elapsed" in attempts[0]
    assert 1.0 <= took < 5.0


def test_connect_timeout_comes_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BIFROST_DB_CONNECT_TIMEOUT", "0")
    t0 = time.monotonic()
    msg = _open(_store(port=_closed_port()), tmp_path)
    assert "(1 attempt(s)" in msg and time.monotonic() - t0 < 2.0
    monkeypatch.setenv("BIFROST_DB_CONNECT_TIMEOUT", "soon")
    assert "BIFROST_DB_CONNECT_TIMEOUT='soon' is not a number" in _open(_store(port=_closed_port()), tmp_path)


def test_a_database_that_comes_up_during_the_retry_window_is_used(tmp_path: Path, pg: object) -> None:
    """Start a TCP forwarder to the real PostgreSQL 1.5 s after the first attempt fails."""
    port = _closed_port()

    async def run() -> str:
        async def pipe(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            try:
                while data := await r.read(65536):
                    w.write(data)
                    await w.drain()
            finally:
                w.close()

        async def forward(cr: asyncio.StreamReader, cw: asyncio.StreamWriter) -> None:
            sr, sw = await asyncio.open_connection(PG.host, PG.port)
            await asyncio.gather(pipe(cr, sw), pipe(sr, cw), return_exceptions=True)

        async def start_later() -> asyncio.Server:
            await asyncio.sleep(1.5)
            return await asyncio.start_server(forward, "127.0.0.1", port)

        starter = asyncio.ensure_future(start_later())
        db = await open_database(_store(port=port), tmp_path, "config.db", retry_for=10.0)
        await db.ping()
        await db.close()
        server = await starter
        server.close()
        return "opened"
    assert asyncio.run(run()) == "opened"


def test_missing_database_fails_fast_with_the_create_database_command(tmp_path: Path, pg: object) -> None:
    t0 = time.monotonic()
    msg = _open(_store(db_name="bf_does_not_exist"), tmp_path, label="logs store", retry_for=30.0)
    assert time.monotonic() - t0 < 5.0  # not retried
    assert 'database "bf_does_not_exist" does not exist' in msg
    assert "CREATE DATABASE bf_does_not_exist WITH TEMPLATE template0 ENCODING 'UTF8'" in msg
    assert "logs_store.config.db_name" in msg


def test_ssl_required_by_config_but_server_has_no_ssl_names_ssl_mode(tmp_path: Path, pg: object) -> None:
    msg = _open(_store(ssl_mode="require"), tmp_path, retry_for=30.0)
    assert msg.startswith(f"failed to connect to database: {PG.host}:{PG.port}:")
    assert "does not accept SSL" in msg and 'config_store.config.ssl_mode is "require"' in msg
    assert '"disable"' in msg


def test_wrong_password_names_the_password_setting(tmp_path: Path) -> None:
    server = FakePostgres("wrong_password")
    try:
        t0 = time.monotonic()
        msg = _open(_store(port=server.port, user="bifrost", password="nope", db_name="bifrost"), tmp_path,
                    retry_for=30.0)
    finally:
        server.close()
    assert time.monotonic() - t0 < 5.0
    assert 'password authentication failed for user "bifrost"' in msg
    assert "config_store.config.password" in msg and "BIFROST_POSTGRES_PASSWORD" in msg


def test_server_requiring_ssl_while_ssl_mode_is_disable_names_ssl_mode(tmp_path: Path) -> None:
    server = FakePostgres("require_ssl")
    try:
        msg = _open(_store(port=server.port, user="bifrost", db_name="bifrost"), tmp_path, retry_for=30.0)
    finally:
        server.close()
    assert server.seen == ["startup"]  # ssl_mode disable: no SSLRequest was sent
    assert "no pg_hba.conf entry" in msg and "no encryption" in msg
    assert 'only accepts SSL connections but config_store.config.ssl_mode is "disable"' in msg
    assert '"require"' in msg


def test_non_utf8_database_is_refused_naming_its_encoding(tmp_path: Path, pg: Any) -> None:
    name = pg.create_database(encoding="SQL_ASCII")
    try:
        msg = _open(_store(db_name=name), tmp_path)
    finally:
        pg.drop_database(name)
    assert f'database "{name}" on {PG.host}:{PG.port} has encoding SQL_ASCII' in msg
    assert f"CREATE DATABASE {name} WITH TEMPLATE template0 ENCODING 'UTF8'" in msg


def test_utf8_database_opens_and_reports_encoding_and_ssl(tmp_path: Path, pg_db: str) -> None:
    assert _open(_store(db_name=pg_db), tmp_path) == "opened"
    info = asyncio.run(probe_postgres(_store(db_name=pg_db).postgres))  # type: ignore[arg-type]
    assert info.encoding == "UTF8" and info.ssl is False and info.server_version


def test_unwritable_sqlite_location_names_the_path_and_the_fix(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file where the data directory should be")
    msg = _open(StoreConfig(path=str(blocker / "config.db")), tmp_path)
    assert str(blocker / "config.db") in msg and "config_store.config.path" in msg and "fsGroup" in msg
