"""GET /v1/models: every configured provider's models, ids prefixed with the provider."""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import parse_qs

import msgspec

from bifrost.engine.core import Engine
from bifrost.schemas.errors import BifrostError, RequestError
from bifrost.server.asgi import Scope, Send, send_bytes

log = logging.getLogger("bifrost.server")
LIST_TIMEOUT_S = 15.0


async def list_models(engine: Engine, scope: Scope, send: Send) -> int:
    qs = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    only = qs.get("provider", [None])[0]
    if only is not None and only not in engine.runtimes:
        raise RequestError(f"provider {only!r} is not configured (configured: "
                           f"{', '.join(sorted(engine.runtimes)) or 'none'})", param="provider")
    names = [only] if only else [
        n for n, rt in engine.runtimes.items()
        if rt.provider is not None and rt.provider.supports("list_models", False)
    ]

    async def one(name: str) -> list[dict[str, Any]]:
        try:
            models = await asyncio.wait_for(engine.list_models(name), LIST_TIMEOUT_S)
        except (BifrostError, TimeoutError) as exc:
            if only:
                raise
            log.warning("listing models of %s failed: %s", name, getattr(exc, "message", exc))
            return []
        out = []
        for m in models:
            item = dict(m)
            item["id"] = f"{name}/{m['id']}"
            item.setdefault("object", "model")
            item.setdefault("owned_by", name)
            out.append(item)
        return out

    results = await asyncio.gather(*(one(n) for n in names))
    data = [m for r in results for m in r]
    await send_bytes(send, 200, msgspec.json.encode({"object": "list", "data": data}))
    return 200
