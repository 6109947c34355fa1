"""`/api/governance/*`: virtual keys, teams, customers, budgets and rate limits, live.

Bodies and answers follow Bifrost's governance handler: create takes `budget` / `rate_limit`
objects that become their own entities (linked by `budget_id` / `rate_limit_id`); answers are
`{"message": ..., "virtual_key": ...}` and lists `{"virtual_keys": [...], "count": n}`. A virtual
key's value is in the create answer only; afterwards it is shown redacted. Every write goes to the
config store first, then into the live index: the next request sees it, no restart.
"""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING, Any

from bifrost.governance.model import GovernanceError, hash_vk, parse_budget, parse_rate_limit, parse_virtual_key
from bifrost.governance.plugin import budget_counter, rl_counter
from bifrost.governance.service import new_vk_value
from bifrost.server.api.common import ApiError, Handler, Routes, json_object, param, send_json
from bifrost.server.asgi import Receive, Scope, Send

if TYPE_CHECKING:
    from bifrost.server.app import AppState

BASE = "/api/governance"
# kind -> (route segment, singular key in answers, display name, path parameter)
KINDS = {
    "virtual_keys": ("virtual-keys", "virtual_key", "Virtual key", "vk_id"),
    "teams": ("teams", "team", "Team", "team_id"),
    "customers": ("customers", "customer", "Customer", "customer_id"),
    "budgets": ("budgets", "budget", "Budget", "budget_id"),
    "rate_limits": ("rate-limits", "rate_limit", "Rate limit", "rate_limit_id"),
}
_VK_FIELDS = ("name", "description", "is_active", "expires_at", "team_id", "customer_id", "allowed_models",
              "blacklisted_models", "provider_configs", "budget_id", "rate_limit_id", "calendar_aligned")
_ENTITY_FIELDS = {"teams": ("name", "customer_id", "budget_id", "rate_limit_id", "profile", "config", "claims"),
                  "customers": ("name", "budget_id", "rate_limit_id")}
_BUDGET_FIELDS = ("max_limit", "reset_duration", "calendar_aligned")
_RL_FIELDS = ("token_max_limit", "token_reset_duration", "request_max_limit", "request_reset_duration",
              "calendar_aligned")


def _bad(exc: GovernanceError) -> ApiError:
    return ApiError(400, str(exc))


async def _write(state: AppState, kind: str, body: dict[str, Any]) -> None:
    store = state.config_store
    if store is None:
        raise ApiError(503, "config store not available; the gateway is still starting, retry in a moment")
    await store.put_governance(kind, str(body["id"]), body)
    stored = {k: v for k, v in body.items() if k != "value"} if kind == "virtual_keys" else body
    state.governance.index.put(kind, stored)
    _broadcast(state, kind, str(body["id"]))


async def _remove(state: AppState, kind: str, eid: str) -> None:
    store = state.config_store
    assert store is not None
    await store.delete_governance(kind, eid)
    state.governance.index.delete(kind, eid)
    _broadcast(state, kind, eid)


def _broadcast(state: AppState, kind: str, eid: str) -> None:
    cluster = getattr(state, "cluster", None)
    if cluster is not None:
        cluster.broadcast_config_changed(f"governance.{kind}", eid)


def _existing(state: AppState, kind: str, eid: str) -> dict[str, Any]:
    body = state.governance.index.body(kind, eid)
    if body is None:
        seg, _, display, _ = KINDS[kind]
        raise ApiError(404, f"{display} not found: {eid!r}; list them with GET {BASE}/{seg}")
    return dict(body)


def _check_refs(state: AppState, body: dict[str, Any]) -> None:
    idx = state.governance.index
    for field, table, display in (("team_id", idx.teams, "Team"), ("customer_id", idx.customers, "Customer"),
                                  ("budget_id", idx.budgets, "Budget"), ("rate_limit_id", idx.rate_limits,
                                                                         "Rate limit")):
        ref = body.get(field)
        if ref is not None and ref not in table:
            raise ApiError(400, f"{display} not found: {field} {ref!r}; create it first or fix the id")


async def _limits(state: AppState, body: dict[str, Any], req: dict[str, Any]) -> None:
    """`budget` / `rate_limit` objects in a request: update the linked entity, or create and link one."""
    for field, kind, fields, parse in (("budget", "budgets", _BUDGET_FIELDS, parse_budget),
                                       ("rate_limit", "rate_limits", _RL_FIELDS, parse_rate_limit)):
        spec = req.get(field)
        if spec is None:
            continue
        if not isinstance(spec, dict):
            raise ApiError(400, f"{field} must be an object, e.g. {{\"max_limit\": 10, \"reset_duration\": \"1M\"}}")
        link = f"{field}_id"
        current = state.governance.index.body(kind, body[link]) if body.get(link) else None
        new = {**(current or {"id": str(uuid.uuid4()), "last_reset": _now()}),
               **{k: spec[k] for k in fields if k in spec}}
        try:
            parse(new, field)
        except GovernanceError as exc:
            raise _bad(exc) from None
        await _write(state, kind, new)
        body[link] = new["id"]


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


async def _usage(state: AppState, kind: str, body: dict[str, Any]) -> dict[str, Any]:
    idx, usage = state.governance.index, state.governance.usage
    out = dict(body)
    if kind == "budgets" and body.get("id") in idx.budgets:
        out["current_usage"] = await usage.current(*budget_counter(idx.budgets[body["id"]]))
    elif kind == "rate_limits" and body.get("id") in idx.rate_limits:
        rl = idx.rate_limits[body["id"]]
        if rl.token_max_limit is not None:
            out["token_current_usage"] = int(await usage.current(*rl_counter(rl, "t")))
        if rl.request_max_limit is not None:
            out["request_current_usage"] = int(await usage.current(*rl_counter(rl, "r")))
    return out


async def _view(state: AppState, kind: str, body: dict[str, Any], full_value: str | None = None) -> dict[str, Any]:
    out = await _usage(state, kind, body)
    if kind == "virtual_keys":
        out.pop("value_hash", None)
        hint = out.pop("value_hint", None) or ""
        out["value"] = full_value if full_value is not None else f"sk-bf-****{hint}"
    idx = state.governance.index
    for link, sub in (("budget_id", "budgets"), ("rate_limit_id", "rate_limits")):
        ref = body.get(link)
        if ref and idx.body(sub, ref) is not None:
            out[link[:-3]] = await _usage(state, sub, idx.body(sub, ref) or {})
    return out


def _fields(kind: str, req: dict[str, Any]) -> dict[str, Any]:
    if kind == "virtual_keys":
        return {k: req[k] for k in _VK_FIELDS if k in req}
    if kind in _ENTITY_FIELDS:
        return {k: req[k] for k in _ENTITY_FIELDS[kind] if k in req}
    return {k: req[k] for k in (_BUDGET_FIELDS if kind == "budgets" else _RL_FIELDS) if k in req}


def _validate(kind: str, body: dict[str, Any]) -> None:
    try:
        if kind == "virtual_keys":
            parse_virtual_key(body)
        elif kind == "budgets":
            parse_budget(body)
        elif kind == "rate_limits":
            parse_rate_limit(body)
    except GovernanceError as exc:
        raise _bad(exc) from None
    if kind in ("virtual_keys", "teams", "customers") and not body.get("name"):
        raise ApiError(400, f"{KINDS[kind][2]} name is required; send {{\"name\": \"...\"}}")


def _provider_config_ids(body: dict[str, Any]) -> None:
    pcs = body.get("provider_configs")
    if isinstance(pcs, list):
        used = {pc.get("id") for pc in pcs if isinstance(pc, dict)}
        n = max([i for i in used if isinstance(i, int)] or [0])
        for pc in pcs:
            if isinstance(pc, dict) and pc.get("id") is None:
                n += 1
                pc["id"] = n


def _create(kind: str) -> Handler:
    async def handler(state: AppState, scope: Scope, receive: Receive, send: Send) -> int:
        req = await json_object(state, scope, receive)
        body: dict[str, Any] = {"id": str(req.get("id") or uuid.uuid4()), **_fields(kind, req)}
        if state.governance.index.body(kind, body["id"]) is not None:
            raise ApiError(409, f"{KINDS[kind][2]} {body['id']!r} already exists; update it with PUT")
        value = None
        if kind == "virtual_keys":
            if body.get("team_id") and body.get("customer_id"):
                raise ApiError(400, "VirtualKey cannot be attached to both Team and Customer; send one of "
                               "team_id or customer_id")
            body.setdefault("is_active", True)
            value = new_vk_value()
            body["value"], body["value_hash"], body["value_hint"] = value, hash_vk(value), value[-4:]
            _provider_config_ids(body)
        if kind in ("budgets", "rate_limits"):
            body["last_reset"] = _now()
        _validate(kind, body)
        _check_refs(state, body)
        async with state.api_lock:
            await _limits(state, body, req)
            await _write(state, kind, body)
        _, single, display, _ = KINDS[kind]
        return await send_json(send, {"message": f"{display} created successfully",
                                      single: await _view(state, kind, body, value)})
    return handler


def _update(kind: str) -> Handler:
    async def handler(state: AppState, scope: Scope, receive: Receive, send: Send) -> int:
        seg, single, display, pname = KINDS[kind]
        req = await json_object(state, scope, receive)
        async with state.api_lock:
            body = _existing(state, kind, param(scope, pname))
            changes = _fields(kind, req)
            if kind == "virtual_keys":
                if changes.get("team_id") and changes.get("customer_id"):
                    raise ApiError(400, "VirtualKey cannot be attached to both Team and Customer; send one of "
                                   "team_id or customer_id")
                if changes.get("team_id"):
                    body.pop("customer_id", None)
                if changes.get("customer_id"):
                    body.pop("team_id", None)
            body.update(changes)
            if kind == "virtual_keys":
                _provider_config_ids(body)
            _validate(kind, body)
            _check_refs(state, body)
            await _limits(state, body, req)
            await _write(state, kind, body)
        return await send_json(send, {"message": f"{display} updated successfully",
                                      single: await _view(state, kind, body)})
    return handler


def _get(kind: str) -> Handler:
    async def handler(state: AppState, scope: Scope, receive: Receive, send: Send) -> int:
        _, single, _, pname = KINDS[kind]
        body = _existing(state, kind, param(scope, pname))
        return await send_json(send, {single: await _view(state, kind, body)})
    return handler


def _list(kind: str) -> Handler:
    async def handler(state: AppState, scope: Scope, receive: Receive, send: Send) -> int:
        items = [await _view(state, kind, b) for b in state.governance.index.bodies(kind)]
        return await send_json(send, {kind: items, "count": len(items)})
    return handler


def _delete(kind: str) -> Handler:
    async def handler(state: AppState, scope: Scope, receive: Receive, send: Send) -> int:
        _, _, display, pname = KINDS[kind]
        async with state.api_lock:
            body = _existing(state, kind, param(scope, pname))
            await _remove(state, kind, body["id"])
            if kind == "virtual_keys":  # its own budget and rate limit go with it, as in Bifrost
                for link, sub in (("budget_id", "budgets"), ("rate_limit_id", "rate_limits")):
                    if body.get(link) and state.governance.index.body(sub, body[link]) is not None:
                        await _remove(state, sub, body[link])
        return await send_json(send, {"message": f"{display} deleted successfully"})
    return handler


def _routes() -> Routes:
    routes: Routes = {}
    for kind, (seg, _, _, pname) in KINDS.items():
        routes[("GET", f"{BASE}/{seg}")] = _list(kind)
        routes[("POST", f"{BASE}/{seg}")] = _create(kind)
        routes[("GET", f"{BASE}/{seg}/{{{pname}}}")] = _get(kind)
        routes[("PUT", f"{BASE}/{seg}/{{{pname}}}")] = _update(kind)
        routes[("DELETE", f"{BASE}/{seg}/{{{pname}}}")] = _delete(kind)
    return routes


ROUTES: Routes = _routes()
