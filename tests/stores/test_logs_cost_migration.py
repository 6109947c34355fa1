"""Migration logs_0002 on a logs database written before it: rows and rollup kept, cost NULL / 0."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine

from bifrost.config.loader import load_config
from bifrost.stores.logs import MIGRATIONS, VERSION_TABLE, LogFilter, open_logs_store
from bifrost.stores.migrate import _config

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_upgrade_to_cost_keeps_old_rows_with_null_cost(tmp_path: Path) -> None:
    db = tmp_path / "logs.db"
    engine = create_engine(f"sqlite:///{db}")
    with engine.begin() as conn:  # the schema as the previous release left it
        command.upgrade(_config(MIGRATIONS, VERSION_TABLE, conn), "logs_0001")
    engine.dispose()
    with sqlite3.connect(db) as c:
        c.execute("INSERT INTO logs (id, timestamp, object_type, provider, model, status, prompt_tokens) "
                  "VALUES ('old-1', 1000000, 'chat.completion', 'openai', 'gpt-4o', 'success', 7)")
        c.execute("INSERT INTO logs_hourly (hour, provider, model, status, requests) "
                  "VALUES (0, 'openai', 'gpt-4o', 'success', 1)")
    store = await open_logs_store(load_config(tmp_path).config, tmp_path)
    try:
        old = await store.get("old-1")
        assert old is not None and old["prompt_tokens"] == 7 and old["cost"] is None
        t = await store.totals(LogFilter())
        assert (t.requests, t.cost) == (1, 0.0)
    finally:
        await store.close()
