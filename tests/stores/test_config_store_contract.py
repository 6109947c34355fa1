"""The config store contract, run against SQLite and the real PostgreSQL (a random database of its own).

Bodies in and out are Bifrost's JSON shapes; secrets are encrypted at rest and decrypted on read;
`env.VAR` references are stored as the reference; a missing or wrong key refuses to open and
changes nothing; rows written before a key was set are encrypted on start.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, inspect, select
from test_encryption import VECTOR_CIPHERTEXT, VECTOR_PASSPHRASE, VECTOR_PLAINTEXT

from bifrost.config.loader import parse_config
from bifrost.config.model import GatewayConfig
from bifrost.stores.base import Session
from bifrost.stores.config import MIGRATIONS, VERSION_TABLE, SqlConfigStore, open_config_store
from bifrost.stores.config import tables as T
from bifrost.stores.db import open_database
from bifrost.stores.encryption import EncryptionError
from bifrost.stores.migrate import run_migrations

KEY = "contract-test-passphrase-0001"

AZURE_KEY = {"name": "az", "value": "az-literal-secret", "models": ["gpt-4o"], "weight": 1,
             "azure_key_config": {"endpoint": "https://r.openai.azure.com", "api_version": "2024-10-21",
                                  "client_id": "cid", "client_secret": "entra-secret", "tenant_id": "tid"}}
BEDROCK_KEY = {"name": "br", "value": "", "models": [], "weight": 0.5,
               "bedrock_key_config": {"access_key": "AKIAEXAMPLE", "secret_key": "bedrock-secret",
                                      "session_token": "env.AWS_SESSION_TOKEN", "region": "us-east-1"}}
VERTEX_KEY = {"name": "vx", "value": "", "models": [], "weight": 1,
              "vertex_key_config": {"project_id": "p", "region": "us-central1", "auth_credentials": "{\"sa\": 1}"}}
OPENAI = {"keys": [{"name": "k1", "value": "sk-literal-1", "models": [], "weight": 1},
                   {"name": "k2", "value": "env.OPENAI_KEY_2", "models": ["gpt-4o-mini"], "weight": 2}],
          "network_config": {"base_url": "http://127.0.0.1:9/v1"},
          "concurrency_and_buffer_size": {"concurrency": 10, "buffer_size": 20}}


def cfg(section: dict[str, Any], key: str | None = None, **top: Any) -> GatewayConfig:
    raw: dict[str, Any] = {"config_store": section, **top}
    if key is not None:
        raw["encryption_key"] = key
    return parse_config(raw, {}, source="test").config


def run(fn: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(fn())


async def sql_store(c: GatewayConfig, tmp: Path) -> SqlConfigStore:
    store = await open_config_store(c, tmp)
    assert isinstance(store, SqlConfigStore)
    return store


async def rows(store: SqlConfigStore, table: Any) -> list[Any]:
    async with store.db.engine.connect() as conn:
        return list((await conn.execute(select(table))).all())


def looks_encrypted(value: str, plaintext: str) -> bool:
    return value != plaintext and len(base64.b64decode(value, validate=True)) == 12 + len(plaintext) + 16


def test_migrations_from_empty_create_the_tables_and_a_rerun_applies_nothing(
        store_section: dict[str, Any], tmp_path: Path) -> None:
    async def body() -> None:
        c = cfg(store_section)
        db = await open_database(c.config_store, tmp_path, "config.db")
        try:
            assert await run_migrations(db, MIGRATIONS, VERSION_TABLE) == ["config_0001", "config_0002"]
            assert await run_migrations(db, MIGRATIONS, VERSION_TABLE) == []
            async with db.engine.connect() as conn:
                names = set(await conn.run_sync(lambda s: inspect(s).get_table_names()))
            assert {t.name for t in T.metadata.sorted_tables} | {VERSION_TABLE} <= names
        finally:
            await db.close()
        # Opening the store on a migrated database works and migrates nothing.
        store = await sql_store(c, tmp_path)
        await store.close()
    run(body)


def test_providers_round_trip_in_bifrost_shape_with_secrets_encrypted_at_rest(
        store_section: dict[str, Any], tmp_path: Path) -> None:
    async def body() -> None:
        store = await sql_store(cfg(store_section, KEY), tmp_path)
        try:
            azure = {"keys": [AZURE_KEY, BEDROCK_KEY, VERTEX_KEY]}
            await store.put_provider("openai", OPENAI)
            await store.put_provider("azure", azure)
            assert await store.get_providers() == {"openai": OPENAI, "azure": azure}
            keys = {r.name: r for r in await rows(store, T.keys)}
            assert all(r.encryption_status == T.ENCRYPTED for r in keys.values())
            assert looks_encrypted(keys["k1"].value, "sk-literal-1")
            assert keys["k2"].value == "env.OPENAI_KEY_2"  # the reference, never a value
            assert looks_encrypted(keys["az"].value, "az-literal-secret")
            for name, secret in (("az", "entra-secret"), ("br", "bedrock-secret"), ("br", "AKIAEXAMPLE"),
                                 ("vx", '{"sa": 1}')):
                assert secret not in keys[name].body
            assert "env.AWS_SESSION_TOKEN" in keys["br"].body
            assert "r.openai.azure.com" in keys["az"].body  # not a secret: stays readable
        finally:
            await store.close()
    run(body)


def test_delete_provider_removes_it_with_its_keys(store_section: dict[str, Any], tmp_path: Path) -> None:
    async def body() -> None:
        store = await sql_store(cfg(store_section), tmp_path)
        try:
            await store.put_provider("openai", OPENAI)
            assert await store.delete_provider("openai") is True
            assert await store.delete_provider("openai") is False
            assert await store.get_providers() == {}
            assert await rows(store, T.keys) == []
        finally:
            await store.close()
    run(body)


def test_client_config_plugins_admin_and_sessions_round_trip(store_section: dict[str, Any], tmp_path: Path) -> None:
    async def body() -> None:
        store = await sql_store(cfg(store_section, KEY), tmp_path)
        try:
            assert await store.get_client_config() is None
            await store.put_client_config({"drop_excess_requests": True, "initial_pool_size": 50})
            await store.put_client_config({"drop_excess_requests": False})
            assert await store.get_client_config() == {"drop_excess_requests": False}
            plugin = {"name": "telemetry", "enabled": True, "config": {"token": "plugin-secret"}}
            await store.put_plugin("telemetry", plugin)
            assert await store.get_plugins() == [plugin]
            (prow,) = await rows(store, T.plugins)
            assert "plugin-secret" not in prow.body and prow.encryption_status == T.ENCRYPTED
            assert await store.get_admin() is None
            await store.put_admin("admin", "$2b$10$hash")
            await store.put_admin("root", "$2b$10$other")
            assert await store.get_admin() == ("root", "$2b$10$other")
            s = Session(token_hash="ab" * 32, username="root", expires_at=1e10)
            await store.put_session(s)
            assert await store.get_session(s.token_hash) == s
            await store.delete_session(s.token_hash)
            assert await store.get_session(s.token_hash) is None
            await store.ping()
        finally:
            await store.close()
    run(body)


def test_plaintext_rows_are_encrypted_on_start_once_a_key_is_set(
        store_section: dict[str, Any], tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    async def body() -> None:
        store = await sql_store(cfg(store_section), tmp_path)
        await store.put_provider("openai", OPENAI)
        await store.put_plugin("p", {"name": "p", "config": {"token": "plugin-secret"}})
        assert {r.value for r in await rows(store, T.keys)} == {"sk-literal-1", "env.OPENAI_KEY_2"}
        await store.close()
        with caplog.at_level(logging.INFO, logger="bifrost.stores"):
            store = await sql_store(cfg(store_section, KEY), tmp_path)
        try:
            assert "encrypted 3 plaintext rows" in caplog.text
            keys = {r.name: r for r in await rows(store, T.keys)}
            assert looks_encrypted(keys["k1"].value, "sk-literal-1")
            assert keys["k2"].value == "env.OPENAI_KEY_2"
            assert all(r.encryption_status == T.ENCRYPTED for r in keys.values())
            assert (await store.get_providers())["openai"] == OPENAI
            assert (await store.get_plugins())[0]["config"]["token"] == "plugin-secret"
        finally:
            await store.close()
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="bifrost.stores"):
            store = await sql_store(cfg(store_section, KEY), tmp_path)  # nothing left to encrypt
        await store.close()
        assert "plaintext rows" not in caplog.text
    run(body)


def test_encrypted_store_without_a_key_refuses_to_open_and_says_how_to_recover(
        store_section: dict[str, Any], tmp_path: Path) -> None:
    async def body() -> None:
        store = await sql_store(cfg(store_section, KEY), tmp_path)
        await store.put_provider("openai", OPENAI)
        before = await rows(store, T.keys)
        await store.close()
        with pytest.raises(EncryptionError) as err:
            await open_config_store(cfg(store_section), tmp_path)
        msg = str(err.value)
        assert "holds encrypted secrets but no encryption key is given" in msg
        assert "set BIFROST_ENCRYPTION_KEY" in msg
        store = await sql_store(cfg(store_section, KEY), tmp_path)
        try:
            assert await rows(store, T.keys) == before
        finally:
            await store.close()
    run(body)


def test_wrong_key_refuses_to_open_and_never_re_encrypts(store_section: dict[str, Any], tmp_path: Path) -> None:
    async def body() -> None:
        store = await sql_store(cfg(store_section, KEY), tmp_path)
        await store.put_provider("openai", OPENAI)
        await store.close()
        # A plaintext row appears (e.g. written by a process without a key): must stay untouched too.
        db = await open_database(cfg(store_section).config_store, tmp_path, "config.db")
        async with db.engine.begin() as conn:
            await conn.execute(insert(T.keys).values(provider="openai", position=9, name="late", value="sk-late",
                                                     body="{}", encryption_status=T.PLAIN))
            before = list((await conn.execute(select(T.keys).order_by(T.keys.c.id))).all())
        for _ in range(2):
            with pytest.raises(EncryptionError, match="wrong encryption key") as err:
                await open_config_store(cfg(store_section, "a-different-passphrase-99"), tmp_path)
            assert "Start again with the original key" in str(err.value)
        async with db.engine.connect() as conn:
            assert list((await conn.execute(select(T.keys).order_by(T.keys.c.id))).all()) == before
        await db.close()
    run(body)


def test_a_bifrost_encrypted_value_is_decrypted_and_checked_without_a_canary(
        store_section: dict[str, Any], tmp_path: Path) -> None:
    async def body() -> None:
        c = cfg(store_section)
        db = await open_database(c.config_store, tmp_path, "config.db")
        await run_migrations(db, MIGRATIONS, VERSION_TABLE)
        async with db.engine.begin() as conn:
            await conn.execute(insert(T.providers).values(name="openai", body="{}", updated_at=0.0))
            await conn.execute(insert(T.keys).values(provider="openai", position=0, name="k", body="{}",
                                                     value=VECTOR_CIPHERTEXT, encryption_status=T.ENCRYPTED))
        await db.close()
        with pytest.raises(EncryptionError, match="wrong encryption key"):
            await open_config_store(cfg(store_section, "not-the-vector-passphrase"), tmp_path)
        store = await sql_store(cfg(store_section, VECTOR_PASSPHRASE), tmp_path)
        try:
            assert (await store.get_providers())["openai"]["keys"][0]["value"] == VECTOR_PLAINTEXT
            assert (await store.get_meta("encryption_canary")) is not None  # recorded for next time
        finally:
            await store.close()
    run(body)


def test_disabled_config_store_is_in_memory(tmp_path: Path) -> None:
    async def body() -> None:
        store = await open_config_store(cfg({"enabled": False}), tmp_path)
        assert not isinstance(store, SqlConfigStore)
        await store.put_provider("openai", OPENAI)
        assert await store.get_providers() == {"openai": OPENAI}
        assert not (tmp_path / "config.db").exists()
    run(body)


def test_replicas_opening_a_fresh_store_together_migrate_and_encrypt_exactly_once(
        store_section: dict[str, Any], backend: str, tmp_path: Path) -> None:
    if backend != "postgres":
        pytest.skip("replicas share a PostgreSQL database; SQLite is one process's file")

    async def body() -> None:
        plain = await sql_store(cfg(store_section), tmp_path)
        await plain.put_provider("openai", {"keys": [{"name": f"k{i}", "value": f"sk-{i}"} for i in range(30)]})
        await plain.close()
        stores = await asyncio.gather(*(sql_store(cfg(store_section, KEY), tmp_path) for _ in range(3)))
        try:
            values = [k["value"] for k in (await stores[0].get_providers())["openai"]["keys"]]
            assert values == [f"sk-{i}" for i in range(30)]  # decrypts once: nobody encrypted twice
            assert len({await s.get_meta("encryption_canary") for s in stores}) == 1
        finally:
            for s in stores:
                await s.close()
    run(body)
