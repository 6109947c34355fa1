"""The plugin pipeline, with Bifrost's semantics.

Pre hooks run in order and may short-circuit with a response or an error; post hooks run in
reverse order, and only for plugins whose pre hook ran. A plugin that raises is logged and
skipped: a broken plugin never takes a request down with it.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Protocol, runtime_checkable

import msgspec

from bifrost.schemas.errors import BifrostError
from bifrost.schemas.inference import InferenceRequest, InferenceResponse, InferenceStream

log = logging.getLogger("bifrost.plugins")

Result = InferenceResponse | InferenceStream | BifrostError


class RequestContext(msgspec.Struct, kw_only=True):
    """Per-request state shared by the engine and plugins (never module-level)."""

    request_id: str
    headers: dict[str, str] = msgspec.field(default_factory=dict)
    started: float = msgspec.field(default_factory=time.perf_counter)
    # Free-form values plugins hand each other (governance decisions, cache keys, ...).
    values: dict[str, Any] = msgspec.field(default_factory=dict)
    fallback_index: int = 0
    retries: int = 0


class ShortCircuit(msgspec.Struct):
    """Returned by a pre hook to answer without calling the provider."""

    result: InferenceResponse | BifrostError


@runtime_checkable
class Plugin(Protocol):
    name: str

    async def pre(self, req: InferenceRequest, ctx: RequestContext) -> InferenceRequest | ShortCircuit: ...

    async def post(self, result: Result, ctx: RequestContext) -> Result: ...


class Pipeline:
    def __init__(self, plugins: list[Plugin]) -> None:
        self.plugins = list(plugins)

    def __bool__(self) -> bool:
        return bool(self.plugins)

    async def run_pre(
        self, req: InferenceRequest, ctx: RequestContext
    ) -> tuple[InferenceRequest, ShortCircuit | None, int]:
        """Run pre hooks; returns the (maybe changed) request, a short-circuit if any, and how many ran."""
        ran = 0
        for plugin in self.plugins:
            try:
                out = await plugin.pre(req, ctx)
            except Exception:
                log.exception("plugin %s: pre hook failed; skipping it for this request", plugin.name)
                ran += 1
                continue
            ran += 1
            if isinstance(out, ShortCircuit):
                return req, out, ran
            req = out
        return req, None, ran

    async def run_post(self, result: Result, ctx: RequestContext, ran: int) -> Result:
        for plugin in reversed(self.plugins[:ran]):
            try:
                result = await plugin.post(result, ctx)
            except Exception:
                log.exception("plugin %s: post hook failed; its change is skipped", plugin.name)
        return result
