"""The logs store: request logs in SQLite (the embedded default, `logs.db` in the app dir) or PostgreSQL.

`open_logs_store` opens the database through `bifrost.stores.db.open_database`, runs this
package's Alembic migrations under the shared lock, and returns a `LogsStore`. The logging plugin
feeds it through `LogWriter` (writer.py); `retention.py` deletes rows older than
`client.log_retention_days`; /api/logs reads it.
"""

from __future__ import annotations

from pathlib import Path

from bifrost.config.model import GatewayConfig
from bifrost.stores.db import open_database
from bifrost.stores.logs.query import LogFilter, Page, Totals, decode_cursor, encode_cursor
from bifrost.stores.logs.store import LogsStore, SearchResult
from bifrost.stores.logs.writer import LogWriter
from bifrost.stores.migrate import run_migrations

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "bifrost_logs_migrations"
DEFAULT_FILE = "logs.db"


async def open_logs_store(cfg: GatewayConfig, app_dir: Path) -> LogsStore:
    """Open the logs database, bring its schema up to date, and return the store."""
    db = await open_database(cfg.logs_store, app_dir, DEFAULT_FILE)
    try:
        await run_migrations(db, MIGRATIONS, VERSION_TABLE)
    except BaseException:
        await db.close()
        raise
    return LogsStore(db)


__all__ = ["DEFAULT_FILE", "MIGRATIONS", "VERSION_TABLE", "LogFilter", "LogWriter", "LogsStore", "Page",
           "SearchResult", "Totals", "decode_cursor", "encode_cursor", "open_logs_store"]
