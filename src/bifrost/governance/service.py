"""Governance set-up: the usage backend, the plugin, and config.json's `governance` seeded into the store.

`governance.usage_store` (ours; Bifrost has no such key) chooses where counters live:
`{"type": "local"}` (default, per process) or `{"type": "redis", "url": "redis://host:6379/0"}`
(shared and exact across replicas). The url may be an `env.VAR` reference.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Mapping
from typing import Any

from bifrost.governance.index import KINDS, GovernanceIndex
from bifrost.governance.model import VK_PREFIX, GovernanceError, hash_vk
from bifrost.governance.plugin import CostModel, GovernancePlugin
from bifrost.governance.usage import LocalUsage, RedisUsage, UsageBackend

log = logging.getLogger("bifrost.governance")


class GovernanceSetupError(ValueError):
    pass


def usage_backend(section: Mapping[str, Any], env: Mapping[str, str]) -> UsageBackend:
    cfg = section.get("usage_store")
    if cfg is None:
        return LocalUsage()
    if not isinstance(cfg, dict):
        raise GovernanceSetupError("governance.usage_store must be an object like "
                                   "{\"type\": \"redis\", \"url\": \"redis://127.0.0.1:6379/0\"}")
    kind = cfg.get("type", "local")
    if kind == "local":
        return LocalUsage()
    if kind != "redis":
        raise GovernanceSetupError(f"governance.usage_store.type: {kind!r} is not supported; use \"local\" or "
                                   "\"redis\"")
    url = cfg.get("url")
    if isinstance(url, str) and url.startswith("env."):
        url = env.get(url[4:]) or None
        if url is None:
            raise GovernanceSetupError(f"governance.usage_store.url: {cfg['url']} is not set; set the variable "
                                       "to a redis:// URL")
    if not isinstance(url, str) or not url.startswith(("redis://", "rediss://", "unix://")):
        raise GovernanceSetupError("governance.usage_store.url is required for type \"redis\" and must be a "
                                   "redis:// URL, e.g. redis://127.0.0.1:6379/0")
    return RedisUsage(url)


def load_costs() -> CostModel | None:
    """The pricing catalog, or None (then budgets are not charged) when it cannot be loaded."""
    try:
        from bifrost.pricing import Catalog

        catalog: CostModel = Catalog.load(None)
        return catalog
    except Exception:  # an unreadable catalog must not stop the gateway; budgets say why they stay at 0
        log.exception("governance: the pricing catalog could not be loaded; budgets will not be charged")
        return None


def file_entities(section: Mapping[str, Any], env: Mapping[str, str]) -> dict[str, dict[str, dict[str, Any]]]:
    """config.json's governance lists as {kind: {id: body}}, virtual key values hashed."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for kind in KINDS:
        items = section.get(kind) or []
        if not isinstance(items, list):
            raise GovernanceSetupError(f"governance.{kind} must be an array of objects")
        for i, item in enumerate(items):
            if not isinstance(item, dict) or not item.get("id"):
                raise GovernanceSetupError(f"governance.{kind}[{i}].id is required")
            body = dict(item)
            if kind == "virtual_keys":
                try:
                    body = _file_vk(body, i, env)
                except GovernanceSetupError as exc:  # one unusable key must not stop the gateway
                    log.error("%s; the virtual key %r is not loaded", exc, body.get("id"))
                    continue
            out.setdefault(kind, {})[str(body["id"])] = body
    return out


def _file_vk(body: dict[str, Any], i: int, env: Mapping[str, str]) -> dict[str, Any]:
    value = body.get("value")
    if isinstance(value, str) and value.startswith("env."):
        value = env.get(value[4:]) or None
        if value is None:
            raise GovernanceSetupError(f"governance.virtual_keys[{i}].value: {body['value']} is not set; "
                                       "set the variable to the key (sk-bf-...)")
    if not value:
        raise GovernanceSetupError(f"governance.virtual_keys[{i}].value is required in config.json (e.g. "
                                   f"\"{VK_PREFIX}...\"); or create keys with POST /api/governance/virtual-keys")
    return {**body, "value": value, "value_hash": hash_vk(str(value))}


def vk_mandatory_plugin_setting(raw: Mapping[str, Any]) -> bool:
    """`plugins: [{"name": "governance", "config": {"is_vk_mandatory": true}}]` (what Bifrost's chart writes)."""
    plugins = raw.get("plugins")
    for p in plugins if isinstance(plugins, list) else []:
        if isinstance(p, dict) and p.get("name") == "governance" and p.get("enabled", True):
            cfg = p.get("config")
            return isinstance(cfg, dict) and cfg.get("is_vk_mandatory") is True
    return False


def build_plugin(raw: Mapping[str, Any], *, require_vk: bool, version: int,
                 costs: CostModel | None = None) -> GovernancePlugin:
    """The plugin with an empty index (filled by `load` at start) and the configured usage backend."""
    section = raw.get("governance") if isinstance(raw.get("governance"), dict) else {}
    assert isinstance(section, dict)
    return GovernancePlugin(GovernanceIndex(), usage_backend(section, os.environ),
                            costs if costs is not None else load_costs(),
                            require_vk=require_vk or vk_mandatory_plugin_setting(raw),
                            deny_empty=version == 2)


async def load(plugin: GovernancePlugin, raw: Mapping[str, Any], store: Any) -> None:
    """Seed the store with the config.json entities it lacks (the store wins after that, as for
    providers), then load everything into the plugin's index."""
    section = raw.get("governance") if isinstance(raw.get("governance"), dict) else {}
    assert isinstance(section, dict)
    stored = await store.get_governance()
    for kind, items in file_entities(section, os.environ).items():
        for eid, body in items.items():
            if eid not in stored.get(kind, {}):
                await store.put_governance(kind, eid, body)
                stored.setdefault(kind, {})[eid] = body
    index = GovernanceIndex()
    index.load(stored)
    plugin.index = index
    n = len(index.vks)
    if n:
        log.info("governance: %d virtual key(s), %d budget(s), %d rate limit(s)", n, len(index.budgets),
                 len(index.rate_limits))


async def reload_entity(plugin: GovernancePlugin, store: Any, kind: str, eid: str) -> None:
    """Another replica changed `kind`/`eid` (cluster notification `governance.<kind>`): re-read it."""
    body = (await store.get_governance()).get(kind, {}).get(eid)
    if body is None:
        plugin.index.delete(kind, eid)
        return
    try:
        plugin.index.put(kind, {k: v for k, v in body.items() if k != "value"})
    except GovernanceError as exc:
        log.error("governance %s %s changed on another node and is invalid here: %s", kind, eid, exc)


async def reload_all(plugin: GovernancePlugin, store: Any) -> None:
    """A replica missed at least one notice (cluster resync `*`): rebuild the whole index from the store."""
    index = GovernanceIndex()
    index.load(await store.get_governance())
    plugin.index = index


def notice_kinds() -> tuple[str, ...]:
    """The cluster notice kinds governance writes send (`governance.<kind>`), one per entity kind."""
    return tuple(f"governance.{k}" for k in KINDS)


def new_vk_value() -> str:
    return VK_PREFIX + uuid.uuid4().hex + uuid.uuid4().hex[:16]


__all__ = ["GovernanceError", "GovernanceSetupError", "build_plugin", "load", "new_vk_value", "notice_kinds",
           "reload_all", "reload_entity",
           "usage_backend", "vk_mandatory_plugin_setting"]
