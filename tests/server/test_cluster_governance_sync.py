"""A peer's governance notice reaches the governance index through AppState's registered reloaders."""

from __future__ import annotations

import asyncio

from bifrost.config.model import GatewayConfig
from bifrost.governance.model import hash_vk
from bifrost.server.app import AppState
from bifrost.server.cluster_sync import reload_entity
from bifrost.stores.base import MemoryConfigStore


def test_governance_notices_and_a_resync_reload_virtual_keys_from_the_shared_store() -> None:
    async def go() -> None:
        state = AppState(GatewayConfig())
        state.config_store = store = MemoryConfigStore()
        await store.put_governance("virtual_keys", "k1", {"id": "k1", "name": "k1", "value_hash": hash_vk("sk-bf-1")})
        await reload_entity(state, "governance.virtual_keys", "k1")  # a peer created k1
        assert state.governance.index.by_hash[hash_vk("sk-bf-1")].id == "k1"

        await store.put_governance("virtual_keys", "k2", {"id": "k2", "name": "k2", "value_hash": hash_vk("sk-bf-2")})
        await store.delete_governance("virtual_keys", "k1")
        await reload_entity(state, "*", "")  # this node missed both notices: a resync rebuilds the index
        assert set(state.governance.index.vks) == {"k2"}
        assert hash_vk("sk-bf-1") not in state.governance.index.by_hash
        await state.engine.close()
    asyncio.run(go())
