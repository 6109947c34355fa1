"""Reconciling config.json with the config store, as Bifrost does, and the effective config.

`source_of_truth: "split"` (default): every file entity (a provider with its keys, the client
config, a plugin) has a content hash recorded in its row. An entity missing from the store is
bootstrapped from the file; the same hash keeps the store's copy (so API edits survive restarts);
a changed hash means config.json was edited: the file wins for that entity, and a log line says so.
Entities created through the API and absent from the file stay.

`source_of_truth: "config.json"`: each section present in the file replaces the store's section
(entities missing from the file are deleted); sections absent from the file leave the store alone.

The effective config is the file with the store's sections substituted, run through the same
loader (`parse_config`), so the store gets exactly the validation config.json gets.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgspec

from bifrost.config.loader import ConfigInvalid, LoadResult, parse_config
from bifrost.config.model import GatewayConfig
from bifrost.stores.base import ConfigStore
from bifrost.stores.config.sql import SqlConfigStore

log = logging.getLogger("bifrost.stores")

SOURCES = ("split", "config.json")
_enc = msgspec.json.Encoder(order="sorted")


def content_hash(entity: Any) -> str:
    """SHA-256 of the entity's canonical JSON (keys sorted), as written in the file (env.VARs unresolved)."""
    return hashlib.sha256(_enc.encode(entity)).hexdigest()


def source_of_truth(raw: Mapping[str, Any], source: str) -> str:
    value = raw.get("source_of_truth", "split")
    if value not in SOURCES:
        found = f'"{value}"' if isinstance(value, str) else msgspec.json.encode(value).decode()
        raise ConfigInvalid(source, [f'$.source_of_truth: expected "split" or "config.json", found {found}'])
    return str(value)


def file_raw(cfg: GatewayConfig, env: Mapping[str, str]) -> dict[str, Any]:
    """The config.json object; without a file, the providers found in the environment, stored as
    env.VAR references (never the values)."""
    if cfg.source != "environment":
        return dict(cfg.raw)
    from bifrost.providers.registry import env_enabled_providers

    return {"providers": {name: {"keys": [{"name": f"{name}-env", "value": f"env.{var}", "models": [],
                                           "weight": 1.0}]}
                          for name, var in env_enabled_providers(env)}}


def _file_sections(raw: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Entities per section, by name: {"providers": {...}, "client": {"client": {...}}, "plugins": {...}}."""
    out: dict[str, dict[str, Any]] = {}
    if isinstance(raw.get("providers"), dict):
        out["providers"] = dict(raw["providers"])
    if isinstance(raw.get("client"), dict):
        out["client"] = {"client": raw["client"]}
    if isinstance(raw.get("plugins"), list):
        out["plugins"] = {p["name"]: p for p in raw["plugins"]
                          if isinstance(p, dict) and isinstance(p.get("name"), str)}
    return out


async def _put(store: SqlConfigStore, section: str, name: str, body: dict[str, Any], h: str) -> None:
    if section == "providers":
        await store.put_provider(name, body, config_hash=h)
    elif section == "plugins":
        await store.put_plugin(name, body, config_hash=h)
    else:
        await store.put_client_config(body, config_hash=h)


async def sync(store: SqlConfigStore, raw: Mapping[str, Any], mode: str) -> int:
    """Bring the store in line with config.json per `mode`; returns the number of entities written."""
    file = _file_sections(raw)
    stored = await store.file_hashes()
    written = 0
    for section, entities in file.items():
        have = stored[section]
        for name, body in entities.items():
            h = content_hash(body)
            if name in have and have[name] == h:
                continue  # unchanged in the file: the store's copy (maybe edited through the API) stands
            if name in have:
                what = "client config" if section == "client" else f"{section[:-1]} {name}"
                log.info("%s was updated in config.json, syncing. Note that: file config takes precedence.", what)
            await _put(store, section, name, body, h)
            written += 1
        if mode == "config.json":
            for name in set(have) - set(entities):
                log.info("%s %s is not in config.json (source_of_truth: config.json): removed from the store",
                         section[:-1], name)
                if section == "providers":
                    await store.delete_provider(name)
                elif section == "plugins":
                    await store.delete_plugin(name)
    if not any(stored.values()) and written:
        log.info("config store was empty: bootstrapped %d entities from config.json", written)
    return written


async def _seed(store: ConfigStore, raw: Mapping[str, Any]) -> None:
    """File-only mode (MemoryConfigStore): the file is the whole truth."""
    file = _file_sections(raw)
    for name, body in file.get("providers", {}).items():
        await store.put_provider(name, body)
    for name, body in file.get("plugins", {}).items():
        await store.put_plugin(name, body)
    if "client" in file:
        await store.put_client_config(file["client"]["client"])


async def effective_config(store: ConfigStore, cfg: GatewayConfig, env: Mapping[str, str]) -> LoadResult:
    """Reconcile the store with the file, then load file + store through the loader."""
    raw = file_raw(cfg, env)
    mode = source_of_truth(raw, cfg.source)
    if isinstance(store, SqlConfigStore):
        await sync(store, raw, mode)
    else:
        await _seed(store, raw)
    merged = dict(raw)
    providers = await store.get_providers()
    if providers or "providers" in raw:
        merged["providers"] = providers
    client = await store.get_client_config()
    if client is not None:
        merged["client"] = client
    plugins = await store.get_plugins()
    if plugins:
        merged["plugins"] = plugins
    return parse_config(merged, env, source=cfg.source)


async def prepare_config(cfg: GatewayConfig, app_dir: Path, env: Mapping[str, str]) -> LoadResult:
    """Start-up: open (migrate, key-check, encrypt) the store, reconcile, and close it again; the server
    re-opens it in its own event loop."""
    from bifrost.stores.config import open_config_store

    store = await open_config_store(cfg, app_dir)
    try:
        return await effective_config(store, cfg, env)
    finally:
        await store.close()


async def open_for_server(cfg: GatewayConfig, app_dir: Path) -> ConfigStore:
    """The server's store, opened in its own event loop after `prepare_config` (so quietly); in file-only
    mode a MemoryConfigStore holding the file's entities, so the management API sees what is running."""
    from bifrost.stores.config import open_config_store

    store = await open_config_store(cfg, app_dir, warn=False)
    if not isinstance(store, SqlConfigStore):
        await _seed(store, cfg.raw)
    return store
