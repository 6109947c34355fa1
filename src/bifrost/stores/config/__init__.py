"""The config store: providers, keys, client config, plugins, admin auth and sessions, at rest.

`open_config_store` opens the database (SQLite `config.db` in the app dir by default, or PostgreSQL),
runs the migrations under the lock, checks the encryption key against the store (a canary row), and
encrypts rows left in plaintext from before a key was set. `config_store.enabled: false` gives a
MemoryConfigStore (file-only mode). Reconciliation with config.json lives in `reconcile.py`.
"""

from __future__ import annotations

import logging
from pathlib import Path

from bifrost.config.model import GatewayConfig
from bifrost.stores.base import ConfigStore, MemoryConfigStore
from bifrost.stores.config.sql import SqlConfigStore
from bifrost.stores.db import open_database
from bifrost.stores.encryption import NO_KEY_WARNING, EncryptionError, Encryptor
from bifrost.stores.migrate import run_migrations

log = logging.getLogger("bifrost.stores")

MIGRATIONS = Path(__file__).parent / "migrations"
VERSION_TABLE = "bifrost_config_migrations"
DEFAULT_FILE = "config.db"

CANARY_KEY = "encryption_canary"
CANARY_TEXT = "bifrost-encryption-canary-v1"

_LOST_KEY = ("If that key is lost, the encrypted secrets cannot be recovered: move the store aside (or drop its "
             "database) and start again to rebuild it from config.json; the key must then stay the same.")


def missing_key_message(where: str) -> str:
    return (f"the config store ({where}) holds encrypted secrets but no encryption key is given: set "
            "BIFROST_ENCRYPTION_KEY (or encryption_key in config.json) to the key they were encrypted with and "
            f"start again; nothing was changed. {_LOST_KEY}")


def wrong_key_message(where: str) -> str:
    return (f"wrong encryption key: the config store ({where}) was encrypted with a different key (decryption "
            "failed). Start again with the original key in BIFROST_ENCRYPTION_KEY (or encryption_key); nothing "
            f"was changed, and encrypted data is never re-encrypted with another key. {_LOST_KEY}")


async def check_key(store: SqlConfigStore, *, record: bool = True) -> None:
    """Refuse a missing or wrong key before anything is written; record a canary for next time
    (`record=False`: read-only, for `bifrost doctor`)."""
    enc = store.enc
    canary = await store.get_meta(CANARY_KEY)
    if not enc.enabled:
        if canary is not None or await store.count_encrypted():
            raise EncryptionError(missing_key_message(store.where))
        return
    sample = canary if canary is not None else await store.sample_encrypted()
    if sample is not None:
        _verify(enc, sample, canary is not None, store.where)
    if canary is None and record:
        await store.add_meta(CANARY_KEY, enc.encrypt(CANARY_TEXT))
        # A replica starting at the same moment with another key may have written its canary first.
        stored = await store.get_meta(CANARY_KEY)
        _verify(enc, stored or "", True, store.where)


def _verify(enc: Encryptor, value: str, is_canary: bool, where: str) -> None:
    try:
        text = enc.decrypt(value)
    except EncryptionError:
        raise EncryptionError(wrong_key_message(where)) from None
    if is_canary and text != CANARY_TEXT:
        raise EncryptionError(wrong_key_message(where))


async def open_config_store(cfg: GatewayConfig, app_dir: Path, *, warn: bool = True) -> ConfigStore:
    """Open, migrate and key-check the config store; `warn=False` for a second open in one process."""
    if not cfg.config_store.enabled:
        return MemoryConfigStore()
    db = await open_database(cfg.config_store, app_dir, DEFAULT_FILE)
    try:
        await run_migrations(db, MIGRATIONS, VERSION_TABLE)
        store = SqlConfigStore(db, Encryptor(cfg.encryption_key, warn=warn and bool(cfg.encryption_key)))
        await check_key(store)
        if store.enc.enabled:
            n = await store.encrypt_plaintext_rows()
            if n:
                log.info("encrypted %d plaintext rows across all tables", n)
        elif warn:
            log.warning("%s", NO_KEY_WARNING)
    except BaseException:
        await db.close()
        raise
    return store


class NotMigrated(Exception):
    """The store has pending migrations, so its key cannot be checked yet."""


async def verify_key(cfg: GatewayConfig, app_dir: Path) -> None:
    """Read-only check that the configured key opens the store (`bifrost doctor`): nothing is migrated,
    encrypted or recorded. Raises EncryptionError (missing or wrong key), NotMigrated or DatabaseError."""
    from bifrost.stores.migrate import pending

    db = await open_database(cfg.config_store, app_dir, DEFAULT_FILE, label="config store")
    try:
        async with db.engine.connect() as conn:
            todo = await conn.run_sync(lambda c: pending(c, MIGRATIONS, VERSION_TABLE))
        if todo:
            raise NotMigrated(f"{len(todo)} migration(s) pending")
        await check_key(SqlConfigStore(db, Encryptor(cfg.encryption_key, warn=False)), record=False)
    finally:
        await db.close()


__all__ = ["DEFAULT_FILE", "MIGRATIONS", "VERSION_TABLE", "NotMigrated", "SqlConfigStore", "open_config_store",
           "verify_key"]
