"""The stores that own a database, and running or checking their migrations (`bifrost migrate`, start-up).

A store package exports `MIGRATIONS` (its Alembic directory), `VERSION_TABLE` and `DEFAULT_FILE`. The
packages are imported lazily by module path, so a build without one (or a test with its own) works.
"""

from __future__ import annotations

import importlib
import logging
from pathlib import Path
from types import ModuleType
from typing import NamedTuple

import msgspec

from bifrost.config.model import GatewayConfig, StoreConfig
from bifrost.stores.db import Database, DatabaseError, open_database

log = logging.getLogger("bifrost.stores")


class StoreEntry(NamedTuple):
    label: str  # "config store", used in messages
    setting: str  # the GatewayConfig attribute / config.json section: "config_store"
    module: str  # the package exporting MIGRATIONS, VERSION_TABLE, DEFAULT_FILE


STORES: tuple[StoreEntry, ...] = (
    StoreEntry("config store", "config_store", "bifrost.stores.config"),
    StoreEntry("logs store", "logs_store", "bifrost.stores.logs"),
)


class MigrationStatus(msgspec.Struct, kw_only=True):
    label: str
    where: str = ""
    applied: list[str] = msgspec.field(default_factory=list)
    pending: list[str] = msgspec.field(default_factory=list)
    skipped: str = ""  # why the store was not looked at ("disabled", "not available in this build")


def load(entry: StoreEntry) -> ModuleType | None:
    """The store's package, or None when this build does not have it."""
    try:
        return importlib.import_module(entry.module)
    except ModuleNotFoundError as exc:
        if exc.name and entry.module.startswith(exc.name):
            return None
        raise


def store_config(cfg: GatewayConfig, entry: StoreEntry) -> StoreConfig:
    value = getattr(cfg, entry.setting)
    assert isinstance(value, StoreConfig)
    return value


async def open_store_db(cfg: GatewayConfig, app_dir: Path, entry: StoreEntry, mod: ModuleType,
                        retry_for: float | None = None) -> Database:
    return await open_database(store_config(cfg, entry), app_dir, str(mod.DEFAULT_FILE), label=entry.label,
                               retry_for=retry_for)


async def migrate_all(cfg: GatewayConfig, app_dir: Path, *, apply: bool = True,
                      stores: tuple[StoreEntry, ...] | None = None,
                      retry_for: float | None = None) -> list[MigrationStatus]:
    """Apply (or, with apply=False, only list) each enabled store's pending migrations.

    Applying holds the migration lock, so replicas or a pre-upgrade Job running at once never race:
    one applies, the others find nothing pending. Raises DatabaseError when a database cannot be used.
    """
    from bifrost.stores.migrate import pending_revisions, run_migrations

    out: list[MigrationStatus] = []
    for entry in STORES if stores is None else stores:  # read at call time: tests register their own
        if not store_config(cfg, entry).enabled:
            out.append(MigrationStatus(label=entry.label, skipped="disabled"))
            continue
        mod = load(entry)
        if mod is None:
            out.append(MigrationStatus(label=entry.label, skipped="not available in this build"))
            continue
        db = await open_store_db(cfg, app_dir, entry, mod, retry_for)
        try:
            if apply:
                applied = await run_migrations(db, Path(mod.MIGRATIONS), str(mod.VERSION_TABLE))
                out.append(MigrationStatus(label=entry.label, where=db.where, applied=applied))
            else:
                todo = await pending_revisions(db, Path(mod.MIGRATIONS), str(mod.VERSION_TABLE))
                out.append(MigrationStatus(label=entry.label, where=db.where, pending=todo))
        except DatabaseError:
            raise
        except Exception as exc:  # a broken migration must say which store and how to proceed
            raise DatabaseError(f"{entry.label} ({db.where}): migration failed: {type(exc).__name__}: {exc}; "
                                "the failed migration was rolled back; fix the cause and run `bifrost migrate` "
                                "again") from exc
        finally:
            await db.close()
    return out


def pending_message(statuses: list[MigrationStatus]) -> str | None:
    """The fail-fast message for `serve --no-migrate` when migrations are pending, else None."""
    todo = [s for s in statuses if s.pending]
    if not todo:
        return None
    parts = "; ".join(f"{s.label} ({s.where}): {len(s.pending)} pending ({', '.join(s.pending)})" for s in todo)
    return (f"database migrations are pending and --no-migrate / BIFROST_NO_MIGRATE is set: {parts}; run "
            "`bifrost migrate` first (Helm: the pre-upgrade migration Job), or start without --no-migrate")
