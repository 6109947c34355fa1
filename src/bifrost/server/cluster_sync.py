"""Applying a peer's config change: reload the named entity from the shared config store, apply it live.

Kinds: `provider` (name = provider), `client` (client config), `auth` (admin credentials), `*` (everything:
the node missed a notice). Other packages register their own kinds in `AppState.config_reloaders`
(governance registers `governance.<kind>` in `AppState._start_cluster`), so a notice of a kind this module does
not know still reaches its owner; a reloader called with the name `*` re-reads everything of its kind.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING

from bifrost.config.loader import parse_client

if TYPE_CHECKING:
    from bifrost.server.app import AppState

log = logging.getLogger("bifrost.cluster")


async def reload_entity(state: AppState, kind: str, name: str) -> None:
    if kind in ("provider", "*"):
        await _providers(state, None if kind == "*" else name)
    if kind in ("client", "*"):
        await _client(state)
    if kind in ("auth", "*"):
        await _auth(state)
    for k, reload in list(state.config_reloaders.items()):
        if k == kind or kind == "*":
            await reload("*" if kind == "*" else name)  # "*": the reloader re-reads all of its kind
    if kind not in ("provider", "client", "auth", "*") and kind not in state.config_reloaders:
        log.warning("gossip: config change of unknown kind %r (%s) from a peer; ignored (is this node older than "
                    "the sender? upgrade every node to the same version)", kind, name)


async def _providers(state: AppState, only: str | None) -> None:
    from bifrost.server.api import _apply_stored_provider

    store = state.config_store
    if store is None:
        return
    stored = await store.get_providers()
    names = set(stored) | set(state.engine.runtimes) if only is None else {only}
    for n in sorted(names):
        body = stored.get(n)
        if body is None:
            if state.engine.remove_provider(n):
                log.info("provider %s removed (deleted on a peer)", n)
        else:
            _apply_stored_provider(state, n, body)


async def _client(state: AppState) -> None:
    store = state.config_store
    body = await store.get_client_config() if store is not None else None
    if body is None:
        return
    cfg, problems, _ = parse_client(body, os.environ)
    if problems:
        log.error("client config from the store is invalid, keeping the current one: %s", "; ".join(problems))
        return
    if cfg != state.engine.client:
        state.apply_client(cfg)


async def _auth(state: AppState) -> None:
    store = state.config_store
    current = await store.get_admin() if store is not None else None
    if current is None:
        return
    from bifrost.server.auth import AdminAuth

    a = state.auth
    if (a.username, a.password_hash) != current:
        state.auth = AdminAuth(username=current[0], password_hash=current[1], is_enabled=a.is_enabled,
                               disable_auth_on_inference=a.disable_auth_on_inference)
