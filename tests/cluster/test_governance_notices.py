"""A peer's governance notice (`governance.<kind> <id>`, sent by /api/governance writes) reloads that entity
from the shared config store into this node's index; a resync (`*`) rebuilds the whole index."""

from __future__ import annotations

import asyncio
from typing import Any

from bifrost.config.model import GatewayConfig
from bifrost.governance.model import hash_vk
from bifrost.server.app import AppState
from bifrost.server.cluster_sync import reload_entity
from bifrost.stores.base import MemoryConfigStore


def _vk(vid: str) -> dict[str, Any]:
    value = f"sk-bf-notice-{vid}"
    return {"id": vid, "name": vid, "value_hash": hash_vk(value), "is_active": True}


def _state() -> tuple[AppState, MemoryConfigStore]:
    state = AppState(GatewayConfig())
    store = MemoryConfigStore()
    state.config_store = store
    return state, store


def test_governance_notice_from_a_peer_loads_and_removes_the_virtual_key() -> None:
    async def run() -> None:
        state, store = _state()
        await store.put_governance("rate_limits", "rl1", {"id": "rl1", "request_max_limit": 5,
                                                          "request_reset_duration": "1m"})
        await reload_entity(state, "governance.rate_limits", "rl1")
        await store.put_governance("virtual_keys", "vk1", {**_vk("vk1"), "rate_limit_id": "rl1"})
        await reload_entity(state, "governance.virtual_keys", "vk1")
        assert state.governance.index.body("virtual_keys", "vk1") is not None
        assert state.governance.index.body("rate_limits", "rl1") is not None
        await store.delete_governance("virtual_keys", "vk1")
        await reload_entity(state, "governance.virtual_keys", "vk1")
        assert state.governance.index.body("virtual_keys", "vk1") is None
    asyncio.run(run())


def test_resync_after_a_missed_notice_rebuilds_the_governance_index() -> None:
    async def run() -> None:
        state, store = _state()
        await store.put_governance("virtual_keys", "vk2", _vk("vk2"))
        await reload_entity(state, "*", "")
        assert state.governance.index.body("virtual_keys", "vk2") is not None
    asyncio.run(run())
