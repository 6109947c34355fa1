"""The governance plugin: virtual keys, model/provider rules, rate limits and budgets.

`pre` checks the request against the key and every budget and rate limit in its chain
(key -> provider config -> team -> customer) and answers 401/403/402/429 as Bifrost does;
`post` charges the tokens and the cost (from the pricing catalog) to every counter in the chain.
With no virtual key on the request and none required, `pre` is one dict lookup.
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import AsyncIterator
from typing import Protocol

from bifrost.engine.core import INCLUDE_KEYS as CTX_KEYS
from bifrost.engine.pipeline import RequestContext, Result, ShortCircuit
from bifrost.governance.index import Chain, GovernanceIndex
from bifrost.governance.model import (
    CALENDAR_WINDOW_S,
    VK_PREFIX,
    Budget,
    RateLimit,
    VirtualKey,
    calendar_period,
    hash_vk,
    model_matches,
)
from bifrost.governance.usage import UsageBackend, window_reset_in
from bifrost.providers.openai_compat import usage_of_event
from bifrost.schemas.errors import BifrostError
from bifrost.schemas.inference import InferenceRequest, InferenceStream, StreamEvent, Target, Usage

log = logging.getLogger("bifrost.governance")
CTX_VK = "bf_vk"  # ctx.values key: the virtual key value presented with the request
CTX_CHAIN = "bf_gov_chain"
_HEADERS = (b"x-bf-vk", b"authorization", b"x-api-key", b"x-goog-api-key")


class CostModel(Protocol):
    def cost(self, provider: str, model: str, usage: Usage | None) -> float | None: ...


def vk_from_headers(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The virtual key of a request: `x-bf-vk`, or an `sk-bf-` value in Authorization: Bearer,
    `x-api-key` or `x-goog-api-key` (as Bifrost accepts it)."""
    for k, v in headers:
        if k not in _HEADERS:
            continue
        s = v.decode("latin-1").strip()
        if k == b"x-bf-vk":
            return s or None
        if k == b"authorization":
            scheme, _, s = s.partition(" ")
            if scheme.lower() != "bearer":
                continue
            s = s.strip()
        if s.startswith(VK_PREFIX):
            return s
    return None


class GovernanceDenied(BifrostError):
    """A governance decision: the code in `type` (Bifrost puts it there), the reason in the message."""

    is_bifrost_error = False


def _deny(status: int, decision: str, message: str, headers: dict[str, str] | None = None) -> ShortCircuit:
    return ShortCircuit(GovernanceDenied(message, status=status, type=decision, headers=headers))


class GovernancePlugin:
    name = "governance"

    def __init__(self, index: GovernanceIndex, usage: UsageBackend, costs: CostModel | None = None, *,
                 require_vk: bool = False, deny_empty: bool = False) -> None:
        self.index = index
        self.usage = usage
        self.costs = costs
        self.require_vk = require_vk  # client.enforce_auth_on_inference / enforce_governance_header
        self.deny_empty = deny_empty  # config version 2: empty allow-lists deny
        self._rand = random.Random()

    # --- routing (before the target is fixed) --------------------------------------------------

    def route(self, vk_value: str, model: str, configured: set[str]) -> tuple[Target, list[Target]] | None:
        """A bare model name with a virtual key whose provider configs have weights: pick a provider
        by weight among those that allow the model; the others become fallbacks (as Bifrost)."""
        vk = self.index.by_hash.get(hash_vk(vk_value))
        if vk is None or not vk.provider_configs:
            return None
        cands = [pc for pc in vk.provider_configs if pc.weight is not None and pc.weight > 0
                 and pc.provider in configured and self._pc_allows(pc.allowed_models, pc.blacklisted_models,
                                                                   pc.provider, model)]
        if not cands:
            return None
        total = sum(pc.weight or 0.0 for pc in cands)
        r = self._rand.random() * total
        chosen = cands[-1]
        for pc in cands:
            r -= pc.weight or 0.0
            if r < 0:
                chosen = pc
                break
        rest = sorted((pc for pc in cands if pc is not chosen), key=lambda p: -(p.weight or 0.0))
        return Target(chosen.provider, model), [Target(pc.provider, model) for pc in rest]

    def _pc_allows(self, allowed: list[str], blocked: list[str], provider: str, model: str) -> bool:
        if model_matches(blocked, provider, model):
            return False
        if not allowed:
            return not self.deny_empty
        return model_matches(allowed, provider, model)

    # --- pre ------------------------------------------------------------------------------------

    async def pre(self, req: InferenceRequest, ctx: RequestContext) -> InferenceRequest | ShortCircuit:
        value = ctx.values.get(CTX_VK)
        if value is None:
            if self.require_vk:
                return _deny(401, "virtual_key_required",
                             "virtual key is missing in headers and is mandatory. Send it as x-bf-vk: sk-bf-... "
                             "(or Authorization: Bearer sk-bf-...), because client.enforce_auth_on_inference is on")
            return req
        vk = self.index.by_hash.get(hash_vk(value))
        if vk is None:
            return _deny(401, "virtual_key_not_found", "Virtual key not found; check the key, or create one with "
                         "POST /api/governance/virtual-keys")
        denied = self._check_key(vk, req.target)
        if denied is not None:
            return denied
        chain = self.index.chain(vk, req.target.provider)
        try:
            denied = await self._check_limits(chain)
        except Exception as exc:  # fail closed: a budget we cannot read is not a budget we may ignore
            log.warning("governance: usage store error: %s", exc)
            return _deny(503, "governance_unavailable", f"governance usage store is unreachable ({exc}); "
                         "check governance.usage_store (e.g. that Redis is up) and retry")
        if denied is not None:
            return denied
        ctx.values[CTX_CHAIN] = chain
        if chain.pc is not None and chain.pc.key_ids is not None and "*" not in chain.pc.key_ids:
            ctx.values[CTX_KEYS] = frozenset(chain.pc.key_ids)
        return req

    def _check_key(self, vk: VirtualKey, target: Target) -> ShortCircuit | None:
        if not vk.is_active:
            return _deny(403, "virtual_key_blocked", "Virtual key is inactive; activate it with "
                         f"PUT /api/governance/virtual-keys/{vk.id} {{\"is_active\": true}}")
        if vk.expires_at is not None and vk.expires_at <= time.time():
            return _deny(403, "virtual_key_blocked", "Virtual key has expired; create a new key or move "
                         "its expires_at")
        provider, model = target.provider, target.model
        pcs = [pc for pc in vk.provider_configs if pc.provider == provider]
        if vk.provider_configs and not pcs or not vk.provider_configs and self.deny_empty:
            return _deny(403, "provider_blocked", f"Provider '{provider}' is not allowed for this virtual key; "
                         "add it to the key's provider_configs")
        blocked = model_matches(vk.blacklisted_models, provider, model) or any(
            model_matches(pc.blacklisted_models, provider, model) for pc in pcs)
        allowed = not vk.allowed_models or model_matches(vk.allowed_models, provider, model)
        if allowed and pcs:
            allowed = any(self._pc_allows(pc.allowed_models, [], provider, model) for pc in pcs)
        if blocked or not allowed:
            return _deny(403, "model_blocked", f"Model '{model}' is not allowed for this virtual key; "
                         "add it to allowed_models (or remove it from blacklisted_models)")
        return None

    async def _check_limits(self, chain: Chain) -> ShortCircuit | None:
        """Rate limits, then budgets (as Bifrost). Token and budget counters are read in one batch."""
        token_rls = [rl for rl in chain.rate_limits if rl.token_max_limit is not None]
        counters = [rl_counter(rl, "t") for rl in token_rls] + [budget_counter(b) for b in chain.budgets]
        if counters:
            many = getattr(self.usage, "current_many", None)
            values = await many(counters) if many is not None else [await self.usage.current(k, w)
                                                                     for k, w in counters]
        else:
            values = []
        for rl, used in zip(token_rls, values, strict=False):
            assert rl.token_max_limit is not None
            if used >= rl.token_max_limit:
                reset = math.ceil(window_reset_in(rl.token_window_s))
                return _deny(429, "token_limited", f"Token limit exceeded: {int(used)}/{rl.token_max_limit} "
                             f"tokens per {rl.token_reset_duration}; retry after {reset}s",
                             _rl_headers("tokens", rl.token_max_limit, 0, reset))
        for rl in chain.rate_limits:
            if rl.request_max_limit is not None:
                key, window = rl_counter(rl, "r")
                ok, n = await self.usage.try_consume(key, 1, rl.request_max_limit, window)
                if not ok:
                    reset = math.ceil(window_reset_in(rl.request_window_s))
                    return _deny(429, "request_limited", f"Request limit exceeded: {int(n)}/{rl.request_max_limit} "
                                 f"requests per {rl.request_reset_duration}; retry after {reset}s",
                                 _rl_headers("requests", rl.request_max_limit, 0, reset))
        for b, spent in zip(chain.budgets, values[len(token_rls):], strict=True):
            if spent >= b.max_limit:
                return _deny(402, "budget_exceeded", f"Budget exceeded: budget '{b.id}' has spent "
                             f"${spent:.6f} of ${b.max_limit:.6f} (resets every {b.reset_duration}); wait for the "
                             "reset or raise max_limit")
        return None

    # --- post -----------------------------------------------------------------------------------

    async def post(self, result: Result, ctx: RequestContext) -> Result:
        chain = ctx.values.get(CTX_CHAIN)
        if chain is None or isinstance(result, BifrostError):
            return result
        if isinstance(result, InferenceStream):
            result.events = self._charge_stream(result.events, result, chain)
            return result
        await self.charge(chain, result.target, result.usage)
        return result

    async def _charge_stream(self, events: AsyncIterator[StreamEvent], stream: InferenceStream,
                             chain: Chain) -> AsyncIterator[StreamEvent]:
        """Charge once the stream ends, with the usage the engine saw (also when it was not forwarded)."""
        usage: Usage | None = None
        try:
            async for ev in events:
                if stream.usage is None and b'"usage"' in ev.data:
                    usage = usage_of_event(ev) or usage
                yield ev
        finally:
            await self.charge(chain, stream.target, stream.usage or usage)

    async def charge(self, chain: Chain, target: Target, usage: Usage | None) -> None:
        """Add the tokens to the token limits and the cost to every budget in the chain (one batch)."""
        try:
            items: list[tuple[str, float, float]] = []
            tokens = usage.input_tokens + usage.output_tokens if usage is not None else 0
            if tokens:
                items += [(*rl_counter(rl, "t"), float(tokens)) for rl in chain.rate_limits
                          if rl.token_max_limit is not None]
            cost = self.costs.cost(target.provider, target.model, usage) if self.costs is not None else None
            if cost:
                items += [(*budget_counter(b), cost) for b in chain.budgets]
            if not items:
                return
            add_many = getattr(self.usage, "add_many", None)
            if add_many is not None:
                await add_many(items)
            else:
                for key, window, amount in items:
                    await self.usage.add(key, amount, window)
        except Exception:  # a counter store outage must not fail a request that already succeeded
            log.exception("governance: could not record usage for virtual key %s", chain.vk.id)


def budget_counter(b: Budget, now: float | None = None) -> tuple[str, float]:
    """The counter key and window of a budget (calendar-aligned: the period is in the key)."""
    if b.calendar_aligned:
        period = calendar_period(b.reset_duration, time.time() if now is None else now)
        if period is not None:
            return f"b:{b.id}:{period}", CALENDAR_WINDOW_S
    return f"b:{b.id}", b.window_s


def rl_counter(rl: RateLimit, which: str) -> tuple[str, float]:
    duration = rl.token_reset_duration if which == "t" else rl.request_reset_duration
    window = rl.token_window_s if which == "t" else rl.request_window_s
    if rl.calendar_aligned and duration:
        period = calendar_period(duration, time.time())
        if period is not None:
            return f"r{which}:{rl.id}:{period}", CALENDAR_WINDOW_S
    return f"r{which}:{rl.id}", window


def _rl_headers(what: str, limit: int, remaining: int, reset: int) -> dict[str, str]:
    return {"Retry-After": str(max(1, reset)), f"x-ratelimit-limit-{what}": str(limit),
            f"x-ratelimit-remaining-{what}": str(remaining), f"x-ratelimit-reset-{what}": f"{max(1, reset)}s"}


__all__ = ["CTX_KEYS", "CTX_VK", "GovernancePlugin", "budget_counter", "rl_counter", "vk_from_headers"]
