"""The management API under `/api/`: route table, dispatch, and the store/engine bootstrap.

Each module exposes `ROUTES: {(method, path): handler}`; a path segment `{name}` matches one
segment and is passed in `scope["path_params"]`. Adding a module is one line in `_MODULES`.
"""

from __future__ import annotations

import logging
import os
import uuid
from typing import TYPE_CHECKING, Any

from bifrost.config.loader import parse_client, parse_provider
from bifrost.governance import service as governance_service
from bifrost.server.api import cluster, config, governance, logs, providers, session
from bifrost.server.api.common import ApiError, Handler, Routes
from bifrost.server.auth import AdminAuth, hash_password, verify_password
from bifrost.server.pricing_setup import configure_pricing
from bifrost.stores.base import MemoryConfigStore

if TYPE_CHECKING:
    from bifrost.server.app import AppState

log = logging.getLogger("bifrost.api")
_MODULES = (providers, config, session, logs, cluster, governance)


class Router:
    def __init__(self, routes: Routes) -> None:
        self.exact: Routes = {k: v for k, v in routes.items() if "{" not in k[1]}
        self.patterns: list[tuple[str, list[str], Handler]] = [
            (m, p.strip("/").split("/"), h) for (m, p), h in routes.items() if "{" in p
        ]

    def find(self, method: str, path: str) -> tuple[str, Handler | None, dict[str, str], list[str]]:
        """(route template, handler or None, path params, methods allowed on the path)."""
        h = self.exact.get((method, path))
        if h is not None:
            return path, h, {}, [method]
        allowed = sorted(m for (m, p) in self.exact if p == path)
        template = path if allowed else ""
        parts = path.strip("/").split("/")
        for m, tparts, handler in self.patterns:
            params = _match(tparts, parts)
            if params is None:
                continue
            template = "/" + "/".join(tparts)
            if m == method:
                return template, handler, params, [m]
            allowed.append(m)
        return template or "unmatched", None, {}, sorted(set(allowed))


def _match(tparts: list[str], parts: list[str]) -> dict[str, str] | None:
    if len(tparts) != len(parts):
        return None
    params: dict[str, str] = {}
    for t, s in zip(tparts, parts, strict=True):
        if t.startswith("{"):
            if not s:
                return None
            params[t[1:-1]] = s
        elif t != s:
            return None
    return params


def build_router() -> Router:
    routes: Routes = {}
    for mod in _MODULES:
        routes.update(mod.ROUTES)
    return Router(routes)


async def bootstrap(state: AppState) -> None:
    """Before traffic: seed an empty store from config.json, run the engine on the store's providers
    and client config, and install admin auth (password hashed into the store)."""
    if state.config_store is None:
        state.config_store = MemoryConfigStore()
    store = state.config_store
    raw = state.config.raw
    stored = await store.get_providers()
    file_providers = raw.get("providers") if isinstance(raw.get("providers"), dict) else {}
    assert isinstance(file_providers, dict)
    if state.config.source == "environment":  # no config.json: providers came from API-key variables
        file_providers = _environment_providers(state)
    for name, body in file_providers.items():
        if name not in stored and isinstance(body, dict) and name in state.engine.runtimes:
            await store.put_provider(name, _with_key_ids(body))
    for name, body in stored.items():
        _apply_stored_provider(state, name, body)
    client = await store.get_client_config()
    if client is None:
        file_client = raw.get("client")
        await store.put_client_config(dict(file_client) if isinstance(file_client, dict) else {})
    else:
        cfg, problems, _ = parse_client(client, os.environ)
        if problems:
            log.error("stored client config is invalid, using config.json's: %s", "; ".join(problems))
        else:
            state.apply_client(cfg)
    state.auth = await _admin(state)
    await governance_service.load(state.governance, raw, store)


def _environment_providers(state: AppState) -> dict[str, Any]:
    from bifrost.providers.registry import env_enabled_providers

    return {name: {"keys": [{"name": f"{name}-env", "value": f"env.{var}", "models": [], "weight": 1}]}
            for name, var in env_enabled_providers(os.environ) if name in state.engine.runtimes}


def _with_key_ids(body: dict[str, Any]) -> dict[str, Any]:
    keys = body.get("keys")
    if not isinstance(keys, list):
        return dict(body)
    return {**body, "keys": [{**k, "id": k.get("id") or str(uuid.uuid4())} if isinstance(k, dict) else k
                             for k in keys]}


def _apply_stored_provider(state: AppState, name: str, body: dict[str, Any]) -> None:
    cfg, problems, _ = parse_provider(name, body, os.environ, state.config.version)
    if cfg is None:
        log.error("stored provider %s is invalid and was not loaded; fix it with PUT /api/providers/%s: %s",
                  name, name, "; ".join(problems))
        return
    rt = state.engine.runtimes.get(name)
    if rt is None or rt.config != cfg:
        state.engine.apply_provider(cfg)
        configure_pricing(state.pricing, [cfg])  # custom provider / Azure deployment names


async def _admin(state: AppState) -> AdminAuth:
    a = state.config.auth
    store = state.config_store
    assert store is not None
    current = await store.get_admin()
    pw_hash = ""
    if a.admin_username and a.admin_password:
        if current is not None and current[0] == a.admin_username and verify_password(current[1], a.admin_password):
            pw_hash = current[1]
        else:
            pw_hash = hash_password(a.admin_password)
            await store.put_admin(a.admin_username, pw_hash)
    elif current is not None:
        pw_hash = current[1]
    username = a.admin_username or (current[0] if current else "")
    return AdminAuth(username=username, password_hash=pw_hash, is_enabled=a.is_enabled,
                     disable_auth_on_inference=a.disable_auth_on_inference)


__all__ = ["ApiError", "Router", "bootstrap", "build_router"]
