"""`GET /api/cluster`: this node's view of the cluster (members, their state and region), for people and the doctor."""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from bifrost.server.api.common import Routes, send_json
from bifrost.server.asgi import Receive, Scope, Send

if TYPE_CHECKING:
    from bifrost.server.app import AppState


async def get_cluster(state: AppState, scope: Scope, receive: Receive, send: Send) -> int:
    node = state.cluster
    if node is None:
        return await send_json(send, {"enabled": False, "members": []})
    return await send_json(send, {
        "enabled": True, "name": node.name, "address": node.address, "region": node.cfg.region,
        "members": [msgspec.to_builtins(m) for m in node.members()],
        "discovered": node.discovered, "discovery_error": node.last_discovery_error,
    })


ROUTES: Routes = {("GET", "/api/cluster"): get_cluster}
