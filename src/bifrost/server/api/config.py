"""`/api/config` (client config and admin auth) and `/api/version`, in Bifrost's shapes.

GET answers `{"client_config", "framework_config", "auth_config", "is_db_connected",
"is_cache_connected", "is_logs_connected"}`; the admin password is never returned (`<redacted>`).
PUT takes `{"client_config": {...}, "auth_config": {...}}`; `client_config` fields it leaves out
keep their value. Settings are validated by the config.json rules and applied live where the
gateway can (`drop_excess_requests`, `max_request_body_size_mb`, auth); the others (listed in the
answer's `restart_required`) are stored and apply at the next start.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any

from bifrost import __version__
from bifrost.config.loader import parse_client
from bifrost.config.model import ClientConfig
from bifrost.server.api.common import ApiError, Routes, json_object, send_json
from bifrost.server.asgi import Receive, Scope, Send
from bifrost.server.auth import AdminAuth, hash_password
from bifrost.stores.base import MemoryConfigStore

if TYPE_CHECKING:
    from bifrost.server.app import AppState

log = logging.getLogger("bifrost.api")
_LIVE = {"drop_excess_requests", "max_request_body_size_mb", "disable_db_pings_in_health"}
REDACTED = "<redacted>"


def client_json(c: ClientConfig) -> dict[str, Any]:
    return {
        "drop_excess_requests": c.drop_excess_requests, "initial_pool_size": c.initial_pool_size,
        "max_request_body_size_mb": c.max_request_body_size_mb, "allowed_origins": list(c.allowed_origins),
        "allowed_headers": list(c.allowed_headers), "prometheus_labels": list(c.prometheus_labels),
        "enable_logging": c.enable_logging, "disable_content_logging": c.disable_content_logging,
        "disable_db_pings_in_health": c.disable_db_pings_in_health,
        "shutdown_grace_seconds": c.shutdown_grace_seconds,
    }


async def get_config(state: AppState, scope: Scope, receive: Receive, send: Send) -> int:
    a = state.auth
    return await send_json(send, {
        "client_config": client_json(state.engine.client),
        "framework_config": {},
        "auth_config": {"admin_username": a.username, "admin_password": REDACTED if a.password_hash else "",
                        "is_enabled": a.is_enabled, "disable_auth_on_inference": a.disable_auth_on_inference},
        "is_db_connected": state.config_store is not None and not isinstance(state.config_store, MemoryConfigStore),
        "is_cache_connected": False,
        "is_logs_connected": getattr(state, "logs_store", None) is not None,
    })


async def update_config(state: AppState, scope: Scope, receive: Receive, send: Send) -> int:
    payload = await json_object(state, scope, receive)
    store = state.config_store
    assert store is not None
    restart: list[str] = []
    async with state.api_lock:
        new_auth = _auth_from(state.auth, payload.get("auth_config")) if "auth_config" in payload else None
        client_body = payload.get("client_config")
        if client_body is not None:
            if not isinstance(client_body, dict):
                raise ApiError(400, "Invalid request format: client_config must be an object")
            merged = {**(await store.get_client_config() or {}), **client_body}
            client, problems, warnings = parse_client(merged, os.environ)
            if problems:
                raise ApiError(400, "Invalid client config: " + "; ".join(problems))
            old = client_json(state.engine.client)
            restart = sorted(k for k, v in client_json(client).items() if old[k] != v and k not in _LIVE)
            await store.put_client_config(merged)
            state.apply_client(client)
            if state.cluster is not None:
                state.cluster.broadcast_config_changed("client", "")
            for w in warnings:
                log.warning("client config: %s", w)
        if new_auth is not None:
            if new_auth.password_hash and new_auth.password_hash != state.auth.password_hash:
                await store.put_admin(new_auth.username, new_auth.password_hash)
                if state.cluster is not None:
                    state.cluster.broadcast_config_changed("auth", "")
            state.auth = new_auth
    out: dict[str, Any] = {"status": "success", "message": "configuration updated successfully"}
    if restart:
        out["restart_required"] = {"required": True, "reason": ", ".join(restart) + " settings have been updated. "
                                   "A restart is required for changes to take full effect."}
    return await send_json(send, out)


def _auth_from(cur: AdminAuth, body: Any) -> AdminAuth:
    if not isinstance(body, dict):
        raise ApiError(400, "Invalid request format: auth_config must be an object with admin_username, "
                            "admin_password, is_enabled, disable_auth_on_inference")
    username = body.get("admin_username", cur.username) or ""
    password = body.get("admin_password", "")
    enabled, no_inf = body.get("is_enabled", cur.is_enabled), body.get("disable_auth_on_inference",
                                                                         cur.disable_auth_on_inference)
    if not isinstance(username, str) or not isinstance(password, str) or not isinstance(enabled, bool) \
            or not isinstance(no_inf, bool):
        raise ApiError(400, "Invalid request format: auth_config.admin_username/admin_password are strings, "
                            "is_enabled/disable_auth_on_inference are booleans")
    if password in ("", REDACTED):
        if enabled and not cur.password_hash:
            raise ApiError(400, "auth username and password must be provided: set auth_config.admin_password")
        pw_hash = cur.password_hash
    else:
        pw_hash = hash_password(password)
    if enabled and not username:
        raise ApiError(400, "auth username and password must be provided: set auth_config.admin_username")
    return AdminAuth(username=username, password_hash=pw_hash, is_enabled=enabled, disable_auth_on_inference=no_inf)


async def get_version(state: AppState, scope: Scope, receive: Receive, send: Send) -> int:
    return await send_json(send, f"v{__version__}")


ROUTES: Routes = {
    ("GET", "/api/config"): get_config,
    ("PUT", "/api/config"): update_config,
    ("GET", "/api/version"): get_version,
}
