"""Database checks for each store: reachable, UTF8, SSL as configured, migrated; and the provider-key probe."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bifrost.config.model import GatewayConfig, PostgresConfig
from bifrost.doctor.report import FAIL, PASS, SKIP, WARN, Check
from bifrost.stores import registry
from bifrost.stores.db import DatabaseError, open_database, probe_postgres
from bifrost.stores.dberrors import create_database_sql, encoding_problem
from bifrost.stores.registry import StoreEntry, load, store_config

_SSL_REQUIRED = ("require", "verify-ca", "verify-full")


async def check_store(cfg: GatewayConfig, app_dir: Path, entry: StoreEntry, retry_for: float) -> list[Check]:
    sc = store_config(cfg, entry)
    if not sc.enabled:
        return [Check(name=entry.label, status=SKIP, detail=f"skipped: {entry.setting}.enabled is false")]
    if sc.type == "postgres" and sc.postgres is not None:
        rows = await _postgres_rows(sc.postgres, entry, retry_for)
        if any(r.status == FAIL for r in rows):
            return rows
    else:
        rows = []
    return rows + [await _migrations_row(cfg, app_dir, entry, retry_for)]


def _without_hint(exc: DatabaseError) -> str:
    """The message without the fix, which the table prints in its own column."""
    msg = str(exc)
    return msg.replace(f"; {exc.hint}", "") if exc.hint else msg


async def _postgres_rows(pg: PostgresConfig, entry: StoreEntry, retry_for: float) -> list[Check]:
    where = f"{pg.host}:{pg.port}/{pg.db_name}"
    try:
        info = await probe_postgres(pg, label=entry.label, retry_for=retry_for)
    except DatabaseError as exc:
        return [Check(name=f"{entry.label} reachable", status=FAIL, detail=_without_hint(exc),
                      fix=exc.hint or f"check {entry.setting}.config")]
    rows = [Check(name=f"{entry.label} reachable", status=PASS, detail=f"{where}, PostgreSQL {info.server_version}")]
    problem = encoding_problem(info.encoding, pg, entry.setting)
    rows.append(Check(name=f"{entry.label} UTF8", status=FAIL, detail=f"encoding is {info.encoding}, not UTF8",
                      fix=f"create a UTF8 database and point {entry.setting}.config.db_name at it: "
                          f"{create_database_sql(pg)}") if problem else
                Check(name=f"{entry.label} UTF8", status=PASS, detail="encoding UTF8"))
    state = "encrypted (SSL)" if info.ssl else "not encrypted"
    if pg.ssl_mode in _SSL_REQUIRED and not info.ssl:
        rows.append(Check(name=f"{entry.label} SSL", status=FAIL, detail=f"ssl_mode {pg.ssl_mode} but {state}",
                          fix="enable SSL on the server"))
    elif pg.ssl_mode == "prefer" and not info.ssl:
        rows.append(Check(name=f"{entry.label} SSL", status=WARN,
                          detail="ssl_mode prefer, but the server offered no SSL: the connection is not encrypted",
                          fix=f"enable SSL on the server, or set {entry.setting}.config.ssl_mode to \"disable\" "
                              "to say so explicitly"))
    else:
        rows.append(Check(name=f"{entry.label} SSL", status=PASS, detail=f"ssl_mode {pg.ssl_mode}, connection {state}"))
    return rows


async def _migrations_row(cfg: GatewayConfig, app_dir: Path, entry: StoreEntry, retry_for: float) -> Check:
    from bifrost.stores.migrate import pending_revisions

    name = f"{entry.label} migrated"
    mod = load(entry)
    if mod is None:
        return Check(name=name, status=SKIP, detail="skipped: not available in this build")
    sc = store_config(cfg, entry)
    if sc.type == "sqlite":
        path = Path(sc.path or str(mod.DEFAULT_FILE))
        path = path if path.is_absolute() else app_dir / path
        if not path.exists():
            return Check(name=name, status=PASS, detail=f"{path} not created yet (created and migrated at start)")
    try:
        db = await open_database(sc, app_dir, str(mod.DEFAULT_FILE), label=entry.label, retry_for=retry_for)
    except DatabaseError as exc:
        return Check(name=name, status=FAIL, detail=_without_hint(exc), fix=exc.hint or f"check {entry.setting}.config")
    try:
        todo = await pending_revisions(db, Path(mod.MIGRATIONS), str(mod.VERSION_TABLE))
    except Exception as exc:  # a broken version table is a finding, not a crash
        return Check(name=name, status=FAIL, detail=f"{db.where}: cannot read migrations: {exc}",
                     fix="run `bifrost migrate` and read its error")
    finally:
        await db.close()
    if todo:
        return Check(name=name, status=FAIL, detail=f"{db.where}: {len(todo)} pending: {', '.join(todo)}",
                     fix="run `bifrost migrate` (Helm: the pre-upgrade migration Job), or start the gateway "
                         "without --no-migrate / BIFROST_NO_MIGRATE")
    return Check(name=name, status=PASS, detail=f"{db.where}: up to date")


async def check_stores(cfg: GatewayConfig, app_dir: Path, retry_for: float,
                       stores: tuple[StoreEntry, ...] | None = None) -> list[Check]:
    rows: list[Check] = []
    for entry in registry.STORES if stores is None else stores:
        rows += await check_store(cfg, app_dir, entry, retry_for)
    return rows


async def probe_providers(cfg: GatewayConfig, timeout: float = 15.0) -> list[Check]:
    """Each key of each provider answers a model-list call (through the provider's own list_models)."""
    from bifrost.engine.core import Engine
    from bifrost.metrics import GatewayMetrics
    from bifrost.schemas.errors import BifrostError

    engine = Engine(cfg, GatewayMetrics())
    rows: list[Check] = []
    try:
        for pname, rt in sorted(engine.runtimes.items()):
            provider = rt.provider
            if provider is None or not provider.supports("list_models", False):
                rows.append(Check(name=f"provider {pname}", status=SKIP, detail="skipped: no model-list call"))
                continue
            for i, key in enumerate(rt.config.keys or ()):
                name = f"provider {pname} key {key.name or i}"
                if key.unresolved:
                    rows.append(Check(name=name, status=FAIL, detail=key.unresolved,
                                      fix="set the variable (see env.VAR references)"))
                    continue
                try:
                    models = await asyncio.wait_for(provider.list_models(key), timeout)
                except BifrostError as exc:
                    rows.append(Check(name=name, status=FAIL, detail=f"model list failed: {exc.message}",
                                      fix=f"check the key's value and providers.{pname}.network_config.base_url; "
                                          "a 401/403 means the key is wrong or revoked"))
                except TimeoutError:
                    rows.append(Check(name=name, status=FAIL, detail=f"no answer within {timeout:g}s",
                                      fix="check egress from the pod to the provider (NetworkPolicy, proxy)"))
                else:
                    rows.append(Check(name=name, status=PASS, detail=f"model list answered ({len(models)} models)"))
    finally:
        await engine.close()
    return rows
