"""Governance entities in the config store: budgets, rate limits, customers, teams, virtual keys.

One table, one row per entity, the body in Bifrost's JSON shape. A virtual key's value is never
stored in plaintext: `value_hash` (SHA-256) finds it, and the value itself is kept only encrypted
with the store's key (as Bifrost encrypts `governance_virtual_keys.value`); without a key only
the hash and the last four characters are kept.
"""

from __future__ import annotations

import time
from typing import Any

import msgspec
from sqlalchemy import delete, select

from bifrost.stores.config import tables as T

_enc = msgspec.json.Encoder(order="sorted")
_dec = msgspec.json.decode


def vk_for_storage(body: dict[str, Any], encrypt: Any) -> tuple[dict[str, Any], str]:
    """(body to store, encryption status): the plaintext value replaced by its ciphertext or dropped."""
    out = dict(body)
    value = out.pop("value", None)
    if isinstance(value, str) and value:
        out["value_hint"] = value[-4:]
        if encrypt is not None:
            out["value"] = encrypt(value)
            return out, T.ENCRYPTED
    return out, T.PLAIN


class GovernanceSqlMixin:
    """Mixed into SqlConfigStore (which provides db, enc and _upsert)."""

    db: Any
    enc: Any

    async def get_governance(self) -> dict[str, dict[str, dict[str, Any]]]:
        out: dict[str, dict[str, dict[str, Any]]] = {}
        async with self.db.engine.connect() as conn:
            rows = (await conn.execute(select(T.governance).order_by(T.governance.c.updated_at))).all()
        for r in rows:
            body: dict[str, Any] = _dec(r.body)
            if r.encryption_status == T.ENCRYPTED and isinstance(body.get("value"), str):
                body["value"] = self.enc.decrypt(body["value"])
            out.setdefault(r.kind, {})[r.id] = body
        return out

    async def put_governance(self, kind: str, eid: str, body: dict[str, Any]) -> None:
        status = T.PLAIN
        if kind == "virtual_keys":
            body, status = vk_for_storage(body, self.enc.encrypt if self.enc.enabled else None)
        row = {"kind": kind, "id": eid, "body": _enc.encode(body).decode(), "value_hash": body.get("value_hash"),
               "encryption_status": status, "updated_at": time.time()}
        async with self.db.engine.begin() as conn:
            await self._upsert(conn, T.governance, row)  # type: ignore[attr-defined]

    async def delete_governance(self, kind: str, eid: str) -> bool:
        async with self.db.engine.begin() as conn:
            res = await conn.execute(delete(T.governance).where(T.governance.c.kind == kind,
                                                                T.governance.c.id == eid))
        return bool(res.rowcount)
