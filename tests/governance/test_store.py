"""Governance entities in the config store (SQLite and the real PostgreSQL): virtual key values are
found by SHA-256, kept only encrypted (or not at all without a key), and survive a reopen."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bifrost.config.loader import parse_config
from bifrost.governance.model import hash_vk
from bifrost.stores.config import SqlConfigStore, open_config_store
from bifrost.stores.config import tables as T

VALUE = "sk-bf-store-test-value-1234"


def _vk() -> dict[str, Any]:
    return {"id": "vk1", "name": "k", "value": VALUE, "value_hash": hash_vk(VALUE), "budget_id": "b1"}


async def _open(section: dict[str, Any], tmp: Path, key: str | None) -> SqlConfigStore:
    raw: dict[str, Any] = {"config_store": section}
    if key:
        raw["encryption_key"] = key
    store = await open_config_store(parse_config(raw, {}, source="test").config, tmp)
    assert isinstance(store, SqlConfigStore)
    return store


async def _row(store: SqlConfigStore) -> Any:
    async with store.db.engine.connect() as conn:
        return (await conn.execute(select(T.governance).where(T.governance.c.id == "vk1"))).first()


def test_virtual_key_value_is_stored_encrypted_and_found_by_hash(store_section: dict[str, Any],
                                                                 tmp_path: Path) -> None:
    async def go() -> None:
        store = await _open(store_section, tmp_path, "gov-store-passphrase-0001")
        await store.put_governance("virtual_keys", "vk1", _vk())
        await store.put_governance("budgets", "b1", {"id": "b1", "max_limit": 1.5, "reset_duration": "1d"})
        row = await _row(store)
        assert VALUE not in row.body and row.value_hash == hash_vk(VALUE)
        assert row.encryption_status == T.ENCRYPTED
        await store.close()
        store = await _open(store_section, tmp_path, "gov-store-passphrase-0001")
        got = await store.get_governance()
        assert got["virtual_keys"]["vk1"]["value"] == VALUE  # decrypted on read, as Bifrost's store
        assert got["budgets"]["b1"]["max_limit"] == 1.5
        assert await store.delete_governance("budgets", "b1")
        assert "budgets" not in await store.get_governance()
        await store.close()
    asyncio.run(go())


def test_without_an_encryption_key_only_the_hash_is_kept(store_section: dict[str, Any], tmp_path: Path) -> None:
    async def go() -> None:
        store = await _open(store_section, tmp_path, None)
        await store.put_governance("virtual_keys", "vk1", _vk())
        row = await _row(store)
        assert VALUE not in row.body and row.encryption_status == T.PLAIN
        body = (await store.get_governance())["virtual_keys"]["vk1"]
        assert "value" not in body and body["value_hint"] == VALUE[-4:] and body["value_hash"] == hash_vk(VALUE)
        await store.close()
    asyncio.run(go())
