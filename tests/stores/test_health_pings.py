"""/health pings the stores set on AppState: real databases (PostgreSQL, SQLite) and a dead one."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from pathlib import Path
from typing import Any

from bifrost.config.model import ClientConfig, GatewayConfig, PostgresConfig, StoreConfig
from bifrost.server.app import AppState, create_app, ping_stores
from bifrost.stores.db import create_engine, open_database
from pgtemp import DSN, PgServer

PG = PgServer(DSN)


def _pg(port: int, db: str) -> StoreConfig:
    return StoreConfig(type="postgres", postgres=PostgresConfig(host=PG.host, port=port, user=PG.user,
                                                                password=PG.password,
                                                                db_name=db))


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _get(state: AppState, path: str = "/health") -> tuple[int, dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(m: dict[str, Any]) -> None:
        sent.append(m)

    await create_app(state)({"type": "http", "method": "GET", "path": path, "headers": [], "query_string": b""},
                            receive, send)
    return sent[0]["status"], json.loads(b"".join(m.get("body", b"") for m in sent[1:]))


def test_health_is_ok_when_every_store_answers(tmp_path: Path, pg_db: str) -> None:
    async def run() -> tuple[int, dict[str, Any]]:
        state = AppState(GatewayConfig())
        state.config_store = await open_database(_pg(PG.port, pg_db), tmp_path, "config.db")
        state.logs_store = await open_database(StoreConfig(), tmp_path, "logs.db")
        try:
            return await _get(state)
        finally:
            await state.config_store.close()  # type: ignore[attr-defined]
            await state.logs_store.close()  # type: ignore[attr-defined]
    status, doc = asyncio.run(run())
    assert status == 200 and doc["status"] == "ok" and doc["components"] == {"db_pings": "ok"}


def test_health_is_503_naming_the_store_that_is_down(tmp_path: Path, pg_db: str) -> None:
    async def run() -> tuple[int, dict[str, Any]]:
        state = AppState(GatewayConfig())
        state.config_store = await open_database(_pg(PG.port, pg_db), tmp_path, "config.db")
        state.logs_store = create_engine(_pg(_closed_port(), pg_db), tmp_path, "logs.db")  # nothing listens
        try:
            return await _get(state)
        finally:
            await state.config_store.close()  # type: ignore[attr-defined]
    status, doc = asyncio.run(run())
    assert status == 503 and doc["status_code"] == 503 and doc["is_bifrost_error"] is False
    assert doc["error"]["message"].startswith("log store not available: ")
    assert "Connect call failed" in doc["error"]["message"]


def test_health_does_not_ping_when_disabled_in_client_config(tmp_path: Path) -> None:
    state = AppState(GatewayConfig(client=ClientConfig(disable_db_pings_in_health=True)))
    state.config_store = create_engine(_pg(_closed_port(), "x"), tmp_path, "config.db")
    status, doc = asyncio.run(_get(state))
    assert status == 200 and doc["components"] == {"db_pings": "disabled"}


def test_a_store_that_hangs_fails_the_ping_at_the_timeout() -> None:
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(4)  # accepts TCP, never answers the PostgreSQL startup
    try:
        async def run() -> tuple[str | None, float]:
            state = AppState(GatewayConfig())
            state.config_store = create_engine(_pg(silent.getsockname()[1], "x"), Path("/tmp"), "config.db")
            t0 = time.monotonic()
            err = await ping_stores(state, timeout=0.5)
            return err, time.monotonic() - t0
        err, took = asyncio.run(run())
    finally:
        silent.close()
    assert err == "config store not available: no answer within 0.5s"
    assert took < 3.0
