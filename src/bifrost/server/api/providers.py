"""`/api/providers`: list, get, create, update and delete providers, with their keys, live.

Bodies are Bifrost's: a provider is its config.json entry (`keys`, `network_config`,
`concurrency_and_buffer_size`, `custom_provider_config`) plus `provider` (create) or `name`
(responses). Every body goes through the config.json loader, so a body the file would reject is
rejected here with the same message. A change is written to the config store, then applied to the
engine: requests in flight finish on the old settings, new requests use the new ones.
"""

from __future__ import annotations

import logging
import os
import uuid
from typing import TYPE_CHECKING, Any

from bifrost.config.loader import parse_provider
from bifrost.config.model import ProviderConfig
from bifrost.server.api.common import ApiError, Routes, json_object, param, send_json
from bifrost.server.api.secrets import key_out, keys_in
from bifrost.server.asgi import Receive, Scope, Send
from bifrost.server.pricing_setup import configure_pricing

if TYPE_CHECKING:
    from bifrost.server.app import AppState

log = logging.getLogger("bifrost.api")
_BODY_FIELDS = ("keys", "network_config", "concurrency_and_buffer_size", "custom_provider_config",
                "proxy_config", "send_back_raw_request", "send_back_raw_response", "store_raw_request_response")


def _store(state: AppState) -> Any:
    if state.config_store is None:  # startup always sets one; a bug otherwise
        raise ApiError(503, "config store not available; the gateway is still starting, retry in a moment")
    return state.config_store


async def _stored(state: AppState, name: str) -> dict[str, Any]:
    body = (await _store(state).get_providers()).get(name)
    if body is None:
        raise ApiError(404, f"Provider not found: {name!r}; list configured providers with GET /api/providers")
    return body


def provider_response(state: AppState, name: str, body: dict[str, Any]) -> dict[str, Any]:
    env = os.environ
    rt = state.engine.runtimes.get(name)
    cfg = rt.config if rt is not None else ProviderConfig(name=name)
    n, q = cfg.network, cfg.queue
    network = {"base_url": n.base_url or "", "extra_headers": dict(n.extra_headers),
               "default_request_timeout_in_seconds": n.timeout_s, "max_retries": n.max_retries,
               "retry_backoff_initial": n.backoff_initial_ms, "retry_backoff_max": n.backoff_max_ms,
               "stream_idle_timeout_in_seconds": n.stream_idle_timeout_s, "max_conns_per_host": n.max_conns_per_host}
    raw_net = body.get("network_config")
    if isinstance(raw_net, dict):
        network.update(raw_net)  # show env.VAR references as written, not their values
    active = rt is not None and rt.provider is not None and not cfg.unresolved
    out: dict[str, Any] = {
        "name": name,
        "keys": [key_out(k, env) for k in body.get("keys") or [] if isinstance(k, dict)],
        "network_config": network,
        "concurrency_and_buffer_size": {"concurrency": q.concurrency, "buffer_size": q.buffer_size},
        "proxy_config": body.get("proxy_config"),
        "send_back_raw_request": bool(body.get("send_back_raw_request", False)),
        "send_back_raw_response": bool(body.get("send_back_raw_response", False)),
        "store_raw_request_response": bool(body.get("store_raw_request_response", False)),
        "provider_status": "active" if active else "error",
    }
    if body.get("custom_provider_config") is not None:
        out["custom_provider_config"] = body["custom_provider_config"]
    if cfg.unresolved:
        out["description"] = "; ".join(cfg.unresolved)
    return out


async def save_provider(state: AppState, name: str, body: dict[str, Any]) -> dict[str, Any]:
    """Validate with the config.json rules, persist, apply live; the stored body is returned."""
    cfg, problems, warnings = parse_provider(name, body, os.environ, state.config.version)
    if cfg is None:
        raise ApiError(400, f"Invalid provider config for {name!r}: " + "; ".join(problems))
    for k in body.get("keys") or []:
        if isinstance(k, dict) and not k.get("id"):
            k["id"] = str(uuid.uuid4())
    await _store(state).put_provider(name, body)
    state.engine.apply_provider(cfg)
    configure_pricing(state.pricing, [cfg])  # custom provider / Azure deployment names
    if state.cluster is not None:
        state.cluster.broadcast_config_changed("provider", name)
    for w in warnings:
        log.warning("provider %s: %s", name, w)
    log.info("provider %s saved and applied", name)
    return body


async def list_providers(state: AppState, scope: Scope, receive: Receive, send: Send) -> int:
    stored = await _store(state).get_providers()
    providers = [provider_response(state, n, b) for n, b in sorted(stored.items())]
    return await send_json(send, {"providers": providers, "total": len(providers)})


async def get_provider(state: AppState, scope: Scope, receive: Receive, send: Send) -> int:
    name = param(scope, "provider")
    return await send_json(send, provider_response(state, name, await _stored(state, name)))


async def add_provider(state: AppState, scope: Scope, receive: Receive, send: Send) -> int:
    payload = await json_object(state, scope, receive)
    name = payload.get("provider")
    if not isinstance(name, str) or not name:
        raise ApiError(400, 'Missing provider: send "provider" with the provider name, e.g. {"provider": "openai", '
                            '"keys": [{"name": "k1", "value": "env.OPENAI_API_KEY", "models": ["*"], "weight": 1}]}')
    async with state.api_lock:
        if name in await _store(state).get_providers():
            raise ApiError(409, f"Provider {name} already exists; update it with PUT /api/providers/{name}")
        body = {k: payload[k] for k in _BODY_FIELDS if k in payload}
        body["keys"] = keys_in(body.get("keys", []), [], os.environ, f"$.providers.{name}")
        body = await save_provider(state, name, body)
    return await send_json(send, provider_response(state, name, body))


async def update_provider(state: AppState, scope: Scope, receive: Receive, send: Send) -> int:
    """PUT replaces the blocks it carries and keeps the ones it leaves out (an upsert, as in Bifrost)."""
    name = param(scope, "provider")
    payload = await json_object(state, scope, receive)
    async with state.api_lock:
        old = (await _store(state).get_providers()).get(name) or {}
        body = dict(old)
        for k in _BODY_FIELDS:
            if k in payload:
                body[k] = payload[k]
        if "keys" in payload:
            body["keys"] = keys_in(payload["keys"], old.get("keys") or [], os.environ, f"$.providers.{name}")
        body = await save_provider(state, name, body)
    return await send_json(send, provider_response(state, name, body))


async def delete_provider(state: AppState, scope: Scope, receive: Receive, send: Send) -> int:
    name = param(scope, "provider")
    async with state.api_lock:
        await _stored(state, name)
        await _store(state).delete_provider(name)
        state.engine.remove_provider(name)
        if state.cluster is not None:
            state.cluster.broadcast_config_changed("provider", name)
    log.info("provider %s deleted; requests in flight finish on it", name)
    return await send_json(send, {"name": name})


# --- keys of one provider -------------------------------------------------------------------------

async def list_keys(state: AppState, scope: Scope, receive: Receive, send: Send) -> int:
    name = param(scope, "provider")
    body = await _stored(state, name)
    keys = [key_out(k, os.environ) for k in body.get("keys") or [] if isinstance(k, dict)]
    return await send_json(send, {"keys": keys, "total": len(keys)})


async def all_keys(state: AppState, scope: Scope, receive: Receive, send: Send) -> int:
    """GET /api/keys: every provider's keys without their values (Bifrost's GetAllKeys)."""
    out = []
    for name, body in sorted((await _store(state).get_providers()).items()):
        for k in body.get("keys") or []:
            if isinstance(k, dict):
                out.append({"key_id": k.get("id", ""), "name": k.get("name", ""),
                            "value": {"value": "", "env_var": "", "from_env": False},
                            "models": k.get("models") or [], "weight": k.get("weight", 1.0), "provider": name})
    return await send_json(send, out)


def _key_index(body: dict[str, Any], name: str, key_id: str) -> int:
    for i, k in enumerate(body.get("keys") or []):
        if isinstance(k, dict) and (k.get("id") == key_id or (not k.get("id") and k.get("name") == key_id)):
            return i
    raise ApiError(404, f"Key not found: {key_id!r} for provider {name!r}; list its keys with "
                        f"GET /api/providers/{name}/keys")


async def get_key(state: AppState, scope: Scope, receive: Receive, send: Send) -> int:
    name, key_id = param(scope, "provider"), param(scope, "key_id")
    body = await _stored(state, name)
    return await send_json(send, key_out(body["keys"][_key_index(body, name, key_id)], os.environ))


async def create_key(state: AppState, scope: Scope, receive: Receive, send: Send) -> int:
    name = param(scope, "provider")
    payload = await json_object(state, scope, receive)
    async with state.api_lock:
        body = dict(await _stored(state, name))
        keys = list(body.get("keys") or [])
        payload.pop("id", None)
        keys.append(keys_in([payload], [], os.environ, f"$.providers.{name}")[0])
        body["keys"] = keys
        body = await save_provider(state, name, body)
    return await send_json(send, key_out(body["keys"][-1], os.environ))


async def update_key(state: AppState, scope: Scope, receive: Receive, send: Send) -> int:
    name, key_id = param(scope, "provider"), param(scope, "key_id")
    payload = await json_object(state, scope, receive)
    async with state.api_lock:
        body = dict(await _stored(state, name))
        keys = list(body.get("keys") or [])
        i = _key_index(body, name, key_id)
        merged = {**keys[i], **payload, "id": keys[i].get("id") or key_id}
        keys[i] = keys_in([merged], [keys[i]], os.environ, f"$.providers.{name}")[0]
        body["keys"] = keys
        body = await save_provider(state, name, body)
    return await send_json(send, key_out(body["keys"][i], os.environ))


async def delete_key(state: AppState, scope: Scope, receive: Receive, send: Send) -> int:
    name, key_id = param(scope, "provider"), param(scope, "key_id")
    async with state.api_lock:
        body = dict(await _stored(state, name))
        keys = list(body.get("keys") or [])
        removed = keys.pop(_key_index(body, name, key_id))
        body["keys"] = keys
        await save_provider(state, name, body)
    return await send_json(send, key_out(removed, os.environ))


ROUTES: Routes = {
    ("GET", "/api/providers"): list_providers,
    ("POST", "/api/providers"): add_provider,
    ("GET", "/api/providers/{provider}"): get_provider,
    ("PUT", "/api/providers/{provider}"): update_provider,
    ("DELETE", "/api/providers/{provider}"): delete_provider,
    ("GET", "/api/keys"): all_keys,
    ("GET", "/api/providers/{provider}/keys"): list_keys,
    ("POST", "/api/providers/{provider}/keys"): create_key,
    ("GET", "/api/providers/{provider}/keys/{key_id}"): get_key,
    ("PUT", "/api/providers/{provider}/keys/{key_id}"): update_key,
    ("DELETE", "/api/providers/{provider}/keys/{key_id}"): delete_key,
}
