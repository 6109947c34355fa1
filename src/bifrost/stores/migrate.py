"""Running a store's Alembic migrations under a lock, so replicas starting together never race.

Each store keeps its migrations in a package directory holding Alembic's `env.py` (three lines
calling `run_env`) and `versions/`. On PostgreSQL the run holds a session advisory lock (one key
for every store, as Bifrost does); on SQLite the file lock serialises writers.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection

from bifrost.stores.db import Database

log = logging.getLogger("bifrost.stores")

# pg_advisory_lock key shared by every store's migrations ("bifrost" in ASCII, truncated to 63 bits).
MIGRATION_LOCK_KEY = 0x62696672_6F7374


def _config(script_location: Path, version_table: str, conn: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(script_location))
    cfg.attributes["version_table"] = version_table
    if conn is not None:
        cfg.attributes["connection"] = conn
    return cfg


def pending(conn: Connection, script_location: Path, version_table: str) -> list[str]:
    """Revision ids not yet applied, oldest first."""
    script = ScriptDirectory.from_config(_config(script_location, version_table))
    current = set(MigrationContext.configure(conn, opts={"version_table": version_table}).get_current_heads())
    todo: list[str] = []
    for rev in script.walk_revisions():  # newest first
        if rev.revision in current:
            break
        todo.append(rev.revision)
    return list(reversed(todo))


def _upgrade(conn: Connection, script_location: Path, version_table: str) -> list[str]:
    todo = pending(conn, script_location, version_table)
    if todo:
        command.upgrade(_config(script_location, version_table, conn), "head")
    return todo


async def run_migrations(db: Database, script_location: Path, version_table: str) -> list[str]:
    """Apply pending migrations; returns the revision ids applied (empty when up to date)."""
    async with db.engine.connect() as conn:
        if db.is_postgres:
            await conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": MIGRATION_LOCK_KEY})
            await conn.commit()
        try:
            applied: list[str] = await conn.run_sync(_upgrade, script_location, version_table)
            await conn.commit()
        finally:
            if db.is_postgres:
                await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK_KEY})
                await conn.commit()
    if applied:
        log.info("%s: applied %d migration(s): %s", db.where, len(applied), ", ".join(applied))
    return applied


async def pending_revisions(db: Database, script_location: Path, version_table: str) -> list[str]:
    """Revision ids not yet applied (no lock, nothing changed): for `serve --no-migrate` and `bifrost doctor`."""
    async with db.engine.connect() as conn:
        todo: list[str] = await conn.run_sync(pending, script_location, version_table)
    return todo


def run_env(context: Any) -> None:
    """The body of every store's Alembic `env.py`: run on the connection `run_migrations` passed in."""
    cfg = context.config
    context.configure(connection=cfg.attributes["connection"], version_table=cfg.attributes["version_table"],
                      render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
