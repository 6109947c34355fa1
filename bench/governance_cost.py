#!/usr/bin/env python3
"""In-process cost of the governance plugin per request (pre + post), no sockets.

    .venv/bin/python bench/governance_cost.py [--redis redis://127.0.0.1:6379/0]

Cases: no virtual key (the plugin's fast path), and a virtual key under a team and a customer with a
budget at each level and a request + token rate limit (LocalUsage, stand-in prices).
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid

from bifrost.engine.pipeline import RequestContext
from bifrost.governance.index import GovernanceIndex
from bifrost.governance.model import hash_vk
from bifrost.governance.plugin import CTX_VK, GovernancePlugin
from bifrost.governance.service import load_costs
from bifrost.governance.usage import LocalUsage, RedisUsage, UsageBackend
from bifrost.schemas.inference import InferenceRequest, InferenceResponse, Target, Usage

N = 50_000


def plugin(usage: UsageBackend) -> GovernancePlugin:
    idx = GovernanceIndex()
    b = {"max_limit": 1e9, "reset_duration": "1M"}
    idx.load({
        "budgets": {i: {"id": i, **b} for i in ("vkb", "teamb", "custb")},
        "rate_limits": {"rl": {"id": "rl", "request_max_limit": 10**9, "request_reset_duration": "1h",
                               "token_max_limit": 10**12, "token_reset_duration": "1h"}},
        "customers": {"c": {"id": "c", "name": "c", "budget_id": "custb"}},
        "teams": {"t": {"id": "t", "name": "t", "customer_id": "c", "budget_id": "teamb"}},
        "virtual_keys": {"k": {"id": "k", "name": "k", "value_hash": hash_vk("sk-bf-bench"), "team_id": "t",
                               "budget_id": "vkb", "rate_limit_id": "rl"}},
    })
    return GovernancePlugin(idx, usage, load_costs())


async def run(vk: str | None, redis_url: str | None = None, n: int = N) -> float:
    usage: UsageBackend = RedisUsage(redis_url, prefix=f"bfbench:{uuid.uuid4().hex}:") if redis_url else LocalUsage()
    p = plugin(usage)
    target = Target("openai", "gpt-4o-mini")
    req = InferenceRequest(request_type="chat_completion", target=target, body={"messages": []})
    resp = InferenceResponse(status=200, body=b"{}", target=target, usage=Usage(input_tokens=12, output_tokens=30))
    t0 = time.perf_counter()
    for _ in range(n):
        ctx = RequestContext(request_id="r", values={CTX_VK: vk} if vk else {})
        await p.pre(req, ctx)
        await p.post(resp, ctx)
    took = (time.perf_counter() - t0) / n * 1e6
    if isinstance(usage, RedisUsage):  # leave nothing behind in a shared Redis
        keys = [k async for k in usage._r.scan_iter(match=usage.prefix + "*")]
        if keys:
            await usage._r.delete(*keys)
        await usage.close()
    return took


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--redis", default=None, help="also time usage_store: redis at this URL")
    a = ap.parse_args()
    for label, vk in (("no virtual key", None), ("virtual key, 3 budgets + rate limit", "sk-bf-bench")):
        print(f"{label}: {asyncio.run(run(vk)):.1f} us per request (pre + post)")
    if a.redis:
        us = asyncio.run(run("sk-bf-bench", a.redis, 2000))
        print(f"virtual key, 3 budgets + rate limit, Redis counters: {us:.0f} us per request (pre + post)")


if __name__ == "__main__":
    main()
