"""`SqlConfigStore`: the ConfigStore protocol on SQLite or PostgreSQL (SQLAlchemy Core).

Bodies go in and come out in Bifrost's JSON shapes; literal secrets are encrypted on write and
decrypted on read. Writes that replace a provider lock its row first (an upsert), so two replicas
writing the same provider serialise instead of interleaving their keys.
"""

from __future__ import annotations

import time
from typing import Any

import msgspec
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.schema import Table

from bifrost.stores.base import Session
from bifrost.stores.config import tables as T
from bifrost.stores.config.governance import GovernanceSqlMixin
from bifrost.stores.config.secrets import is_literal, transform_key_body, transform_value
from bifrost.stores.db import Database
from bifrost.stores.encryption import Encryptor

_enc = msgspec.json.Encoder(order="sorted")
_dec = msgspec.json.decode

# Sentinel for "leave config_hash as it is" (an API write), as opposed to None ("no file hash").
KEEP: Any = object()


def _dumps(obj: Any) -> str:
    return _enc.encode(obj).decode()


class SqlConfigStore(GovernanceSqlMixin):
    """The config store in a SQL database. `enc` encrypts secrets (pass-through without a key)."""

    def __init__(self, db: Database, enc: Encryptor) -> None:
        self.db = db
        self.enc = enc

    @property
    def where(self) -> str:
        return self.db.where

    def _status(self) -> str:
        return T.ENCRYPTED if self.enc.enabled else T.PLAIN

    async def _upsert(self, conn: AsyncConnection, table: Table, values: dict[str, Any], keep: tuple[str, ...] = ()
                      ) -> None:
        """Insert or update by primary key; columns in `keep` are not changed on update."""
        ins = (pg_insert if self.db.is_postgres else sqlite_insert)(table).values(**values)
        pk = [c.name for c in table.primary_key.columns]
        changes = {k: ins.excluded[k] for k in values if k not in pk and k not in keep}
        stmt = ins.on_conflict_do_update(index_elements=pk, set_=changes) if changes else \
            ins.on_conflict_do_nothing(index_elements=pk)
        await conn.execute(stmt)

    # ---- providers and keys

    async def get_providers(self) -> dict[str, dict[str, Any]]:
        async with self.db.engine.connect() as conn:
            prows = (await conn.execute(select(T.providers.c.name, T.providers.c.body))).all()
            krows = (await conn.execute(select(T.keys).order_by(T.keys.c.provider, T.keys.c.position))).all()
        out: dict[str, dict[str, Any]] = {name: {**_dec(body), "keys": []} for name, body in prows}
        for k in krows:
            if k.provider in out:
                out[k.provider]["keys"].append(self._key_from_row(k.value, k.body, k.encryption_status))
        return out

    def _key_from_row(self, value: str, body: str, status: str | None) -> dict[str, Any]:
        key: dict[str, Any] = _dec(body)
        if status == T.ENCRYPTED:
            value = transform_value(value, self.enc.decrypt)
            key = transform_key_body(key, self.enc.decrypt)
        key["value"] = value
        return key

    def _key_row(self, provider: str, position: int, key: dict[str, Any]) -> dict[str, Any]:
        rest = {k: v for k, v in key.items() if k != "value"}
        value = key.get("value")
        value = value if isinstance(value, str) else ""
        if self.enc.enabled:
            value = transform_value(value, self.enc.encrypt)
            rest = transform_key_body(rest, self.enc.encrypt)
        name = key.get("name")
        return {"provider": provider, "position": position, "name": name if isinstance(name, str) else "",
                "value": value, "body": _dumps(rest), "encryption_status": self._status()}

    async def put_provider(self, name: str, body: dict[str, Any], *, config_hash: Any = KEEP) -> None:
        """Create or replace a provider and its keys. `config_hash`: the file hash to record (sync from
        config.json); left out (an API write), an existing row keeps its hash so the edit survives restarts."""
        rest = {k: v for k, v in body.items() if k != "keys"}
        keys = body.get("keys") or []
        row = {"name": name, "body": _dumps(rest), "updated_at": time.time(),
               "config_hash": None if config_hash is KEEP else config_hash}
        async with self.db.engine.begin() as conn:
            await self._upsert(conn, T.providers, row, keep=("config_hash",) if config_hash is KEEP else ())
            await conn.execute(delete(T.keys).where(T.keys.c.provider == name))
            if keys:
                await conn.execute(insert(T.keys), [self._key_row(name, i, k) for i, k in enumerate(keys)
                                                    if isinstance(k, dict)])

    async def delete_provider(self, name: str) -> bool:
        async with self.db.engine.begin() as conn:
            await conn.execute(delete(T.keys).where(T.keys.c.provider == name))
            res = await conn.execute(delete(T.providers).where(T.providers.c.name == name))
        return bool(res.rowcount)

    # ---- client config and plugins

    async def get_client_config(self) -> dict[str, Any] | None:
        async with self.db.engine.connect() as conn:
            body = (await conn.execute(select(T.client.c.body).where(T.client.c.id == 1))).scalar()
        return None if body is None else dict(_dec(body))

    async def put_client_config(self, body: dict[str, Any], *, config_hash: Any = KEEP) -> None:
        row = {"id": 1, "body": _dumps(body), "config_hash": None if config_hash is KEEP else config_hash}
        async with self.db.engine.begin() as conn:
            await self._upsert(conn, T.client, row, keep=("config_hash",) if config_hash is KEEP else ())

    async def get_plugins(self) -> list[dict[str, Any]]:
        async with self.db.engine.connect() as conn:
            rows = (await conn.execute(select(T.plugins).order_by(T.plugins.c.name))).all()
        out = []
        for r in rows:
            body = self.enc.decrypt(r.body) if r.encryption_status == T.ENCRYPTED else r.body
            out.append(dict(_dec(body)))
        return out

    async def put_plugin(self, name: str, body: dict[str, Any], *, config_hash: Any = KEEP) -> None:
        text = _dumps(body)
        row = {"name": name, "body": self.enc.encrypt(text) if self.enc.enabled else text,
               "encryption_status": self._status(), "config_hash": None if config_hash is KEEP else config_hash}
        async with self.db.engine.begin() as conn:
            await self._upsert(conn, T.plugins, row, keep=("config_hash",) if config_hash is KEEP else ())

    async def delete_plugin(self, name: str) -> bool:
        async with self.db.engine.begin() as conn:
            res = await conn.execute(delete(T.plugins).where(T.plugins.c.name == name))
        return bool(res.rowcount)

    async def file_hashes(self) -> dict[str, dict[str, str | None]]:
        """The config.json hash recorded per entity: {"providers": {name: hash}, "plugins": ..., "client": ...}."""
        async with self.db.engine.connect() as conn:
            prov = (await conn.execute(select(T.providers.c.name, T.providers.c.config_hash))).all()
            plug = (await conn.execute(select(T.plugins.c.name, T.plugins.c.config_hash))).all()
            cli = (await conn.execute(select(T.client.c.id, T.client.c.config_hash))).all()
        return {"providers": {n: h for n, h in prov}, "plugins": {n: h for n, h in plug},
                "client": {"client": cli[0][1]} if cli else {}}

    # ---- admin and sessions

    async def get_admin(self) -> tuple[str, str] | None:
        async with self.db.engine.connect() as conn:
            row = (await conn.execute(select(T.admin.c.username, T.admin.c.password_hash))).first()
        return None if row is None else (row[0], row[1])

    async def put_admin(self, username: str, password_hash: str) -> None:
        async with self.db.engine.begin() as conn:
            await self._upsert(conn, T.admin, {"id": 1, "username": username, "password_hash": password_hash})

    async def put_session(self, session: Session) -> None:
        async with self.db.engine.begin() as conn:
            await self._upsert(conn, T.sessions, {"token_hash": session.token_hash, "username": session.username,
                                                  "expires_at": session.expires_at})

    async def get_session(self, token_hash: str) -> Session | None:
        async with self.db.engine.connect() as conn:
            row = (await conn.execute(select(T.sessions).where(T.sessions.c.token_hash == token_hash))).first()
        if row is None:
            return None
        return Session(token_hash=row.token_hash, username=row.username, expires_at=row.expires_at)

    async def delete_session(self, token_hash: str) -> None:
        async with self.db.engine.begin() as conn:
            await conn.execute(delete(T.sessions).where(T.sessions.c.token_hash == token_hash))

    # ---- encryption bookkeeping (used at start)

    async def get_meta(self, key: str) -> str | None:
        async with self.db.engine.connect() as conn:
            return (await conn.execute(select(T.meta.c.value).where(T.meta.c.key == key))).scalar()

    async def add_meta(self, key: str, value: str) -> None:
        """Insert unless present (a replica that raced us wrote it first; the caller re-reads)."""
        async with self.db.engine.begin() as conn:
            await self._upsert(conn, T.meta, {"key": key, "value": value}, keep=("value",))

    async def count_encrypted(self) -> int:
        n = 0
        async with self.db.engine.connect() as conn:
            for t in T.ENCRYPTABLE:
                n += (await conn.execute(select(func.count()).select_from(t)
                                         .where(t.c.encryption_status == T.ENCRYPTED))).scalar() or 0
        return n

    async def sample_encrypted(self) -> str | None:
        """One encrypted value, to check a key against when there is no canary."""
        async with self.db.engine.connect() as conn:
            for value in (await conn.execute(select(T.keys.c.value).where(
                    T.keys.c.encryption_status == T.ENCRYPTED))).scalars():
                if is_literal(value):
                    return str(value)
            return (await conn.execute(select(T.plugins.c.body).where(
                T.plugins.c.encryption_status == T.ENCRYPTED).limit(1))).scalar()

    async def encrypt_plaintext_rows(self) -> int:
        """Encrypt rows written before a key was set. Each update is guarded by the status it read, so a
        replica doing the same at the same moment never encrypts a value twice."""
        done = 0
        plain = (T.keys.c.encryption_status != T.ENCRYPTED)
        async with self.db.engine.begin() as conn:
            # One order for every replica, so two doing this at once wait on each other instead of deadlocking.
            rows = (await conn.execute(select(T.keys.c.id, T.keys.c.value, T.keys.c.body).where(plain)
                                       .order_by(T.keys.c.id))).all()
            for r in rows:
                res = await conn.execute(update(T.keys).where(T.keys.c.id == r.id, plain).values(
                    value=transform_value(r.value, self.enc.encrypt),
                    body=_dumps(transform_key_body(_dec(r.body), self.enc.encrypt)),
                    encryption_status=T.ENCRYPTED))
                done += res.rowcount
            pplain = (T.plugins.c.encryption_status != T.ENCRYPTED)
            prow = (await conn.execute(select(T.plugins.c.name, T.plugins.c.body).where(pplain)
                                       .order_by(T.plugins.c.name))).all()
            for p in prow:
                res = await conn.execute(update(T.plugins).where(T.plugins.c.name == p.name, pplain).values(
                    body=self.enc.encrypt(p.body), encryption_status=T.ENCRYPTED))
                done += res.rowcount
        return done

    async def ping(self) -> None:
        await self.db.ping()

    async def close(self) -> None:
        await self.db.close()
