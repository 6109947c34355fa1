"""Governance across three real gateway processes in cluster mode (no Redis): a virtual key created on one
node works on all three, and its request rate limit and USD budget are shared over gossip (`GossipUsage`),
so hitting all three at once admits no more than docs/cluster.md's bound."""

from __future__ import annotations

import asyncio
import json
import math
import re
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from cluster_helpers import free_udp_tcp_port, wait_for

from bifrost.cluster.usage import SLACK, SYNC_INTERVAL
from bifrost.governance.usage import window_reset_in
from conftest import Gateway, Mock, http, openai_provider
from pgtemp import PgServer

NODES = 3
LATENCY_S = 0.2  # the mock's delay before every inference answer: a floor on how long one request takes
ENC_KEY = "cluster-governance-test-key-0123456789"
BODY = {"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}

# (a) Request rate limit, docs/cluster.md: a node admits at most q = max(1, SLACK × N / nodes) between two of its
# usage reports, so all nodes together admit at most N + (nodes − 1) × 2q in one window.
RATE_N = 120
RATE_Q = max(1.0, SLACK * RATE_N / NODES)
RATE_BOUND = RATE_N + (NODES - 1) * 2 * RATE_Q  # 120 + 2 × 2 × 2 = 128
RATE_WORKERS = 6  # per node

# (b) Budget, docs/cluster.md and docs/governance.md: cost is added after the call and a request is refused once
# the budget is reached, so it is overspent by at most (requests in flight when it was reached: every worker)
# + (what the other nodes charged in the last 2 sync intervals) + the request that crossed it. A worker needs at
# least LATENCY_S per request, so the other nodes finish at most (their workers) × 2 × SYNC_INTERVAL / LATENCY_S.
BUDGET_REQUESTS = 40  # max_limit = this many requests' cost
BUDGET_WORKERS = 2  # per node
BUDGET_OVER = (NODES * BUDGET_WORKERS + math.ceil((NODES - 1) * BUDGET_WORKERS * 2 * SYNC_INTERVAL / LATENCY_S) + 1)


@dataclass
class Tally:
    codes: Counter[int] = field(default_factory=Counter)
    per_node: Counter[int] = field(default_factory=Counter)  # 200s per node
    no_retry_after: int = 0
    bodies: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def slow_mock(tmp_module: Path) -> Iterator[Mock]:
    m = Mock(tmp_module, "--latency-ms", str(int(LATENCY_S * 1000)))
    yield m
    m.stop()


@pytest.fixture(scope="module")
def nodes(tmp_module: Path, pg: PgServer, pg_db: str, slow_mock: Mock) -> Iterator[list[Gateway]]:
    gossip = [free_udp_tcp_port() for _ in range(NODES)]

    def config(i: int) -> dict[str, Any]:
        return {
            "client": {"enable_logging": False},
            "providers": {"openai": openai_provider(slow_mock)},
            "config_store": {"enabled": True, "type": "postgres", "config": pg.store_config(pg_db)},
            "logs_store": {"enabled": False},
            "cluster_config": {"enabled": True, "peers": [f"127.0.0.1:{p}" for p in gossip],
                               "gossip": {"port": gossip[i]}},
        }
    env = {"BIFROST_ENCRYPTION_KEY": ENC_KEY}
    gws = [Gateway(tmp_module, config(0), env=env)]  # the first migrates the database
    gws += [Gateway(tmp_module, config(i), env=env, wait=False) for i in range(1, NODES)]
    try:
        for gw in gws[1:]:
            gw.wait_ready(60)
        for gw in gws:
            wait_for(lambda gw=gw: _alive(gw) == NODES, 15, f"{gw.url} sees {NODES} members alive")
            assert any("usage is shared across the cluster" in json.dumps(r) for r in gw.logs())
        yield gws
    finally:
        for gw in gws:
            gw.stop()


def _alive(gw: Gateway) -> int:
    status, _, body = http("GET", gw.url + "/api/cluster")
    return sum(m["state"] == "alive" for m in json.loads(body)["members"]) if status == 200 else 0


def _get(gw: Gateway, path: str) -> tuple[int, Any]:
    status, _, body = http("GET", gw.url + "/api/governance/" + path)
    return status, json.loads(body) if status == 200 else None


def _create_vk(nodes: list[Gateway], **limits: Any) -> dict[str, Any]:
    """Create on node 0 through the API; wait until the other nodes hold it (their index, not the store)."""
    status, _, raw = http("POST", nodes[0].url + "/api/governance/virtual-keys", {"name": "shared", **limits})
    assert status == 200, raw
    vk: dict[str, Any] = json.loads(raw)["virtual_key"]
    for gw in nodes[1:]:
        wait_for(lambda gw=gw: _get(gw, f"virtual-keys/{vk['id']}")[0] == 200, 2.0, f"the key reached {gw.url}")
    return vk


def _fresh_window(window_s: float, need_s: float) -> None:
    """Counters live in epoch-aligned windows: don't start a phase that a window reset would cut in two."""
    left = window_reset_in(window_s)
    if left < need_s:
        time.sleep(left + 0.1)


async def _hammer(nodes: list[Gateway], vk: str, workers: int, stop: Any, deadline_s: float) -> Tally:
    """`workers` concurrent clients per node, each sending until `stop(status, body)` or the deadline."""
    tally = Tally()
    end = time.monotonic() + deadline_s

    async def worker(client: httpx.AsyncClient, i: int) -> None:
        while time.monotonic() < end:
            r = await client.post(nodes[i].url + "/v1/chat/completions", json=BODY,
                                  headers={"Authorization": f"Bearer {vk}"})
            tally.codes[r.status_code] += 1
            if r.status_code == 200:
                tally.per_node[i] += 1
            elif r.status_code == 429 and not r.headers.get("retry-after", "").isdigit():
                tally.no_retry_after += 1
            if r.status_code not in (200, 402, 429):
                tally.bodies.append(r.text)
            if stop(r.status_code, r.text):
                return
    limits = httpx.Limits(max_connections=NODES * workers + 4)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        await asyncio.gather(*(worker(client, i) for i in range(NODES) for _ in range(workers)))
    return tally


def test_request_rate_limit_holds_across_three_gateways_within_the_gossip_bound(nodes: list[Gateway]) -> None:
    _fresh_window(60, 25)
    vk = _create_vk(nodes, rate_limit={"request_max_limit": RATE_N, "request_reset_duration": "1m"})

    def reached(status: int, body: str) -> bool:  # this node's own view has reached the limit (not just a wait)
        m = re.search(r"Request limit exceeded: (\d+)/", body)
        return status == 429 and m is not None and int(m.group(1)) >= RATE_N
    tally = asyncio.run(_hammer(nodes, vk["value"], RATE_WORKERS, reached, 20))
    admitted = tally.codes[200]
    print(f"rate limit {RATE_N}/min: admitted {admitted} (per node {dict(tally.per_node)}) against a bound of "
          f"{RATE_BOUND:g}; answers {dict(tally.codes)}")
    assert not tally.bodies, tally.bodies[:3]
    assert RATE_N <= admitted <= RATE_BOUND  # reached, and shared: per-node counting would admit up to 3 × N
    assert len(tally.per_node) == NODES  # every node admitted some: the total is not one node's doing
    assert tally.codes[429] > 0 and tally.no_retry_after == 0

    rl_id = vk["rate_limit_id"]

    def counted(gw: Gateway) -> int:
        return int(_get(gw, f"rate-limits/{rl_id}")[1]["rate_limit"]["request_current_usage"])
    for gw in nodes:  # every node's counter converges on what the three admitted together
        wait_for(lambda gw=gw: counted(gw) == admitted, 2.0, f"{gw.url} counts {admitted} requests")
        status, _, raw = http("POST", gw.url + "/v1/chat/completions", BODY,
                              {"Authorization": f"Bearer {vk['value']}"})
        assert status == 429, raw


def _budget_usage(gw: Gateway, budget_id: str) -> float:
    return float(_get(gw, f"budgets/{budget_id}")[1]["budget"]["current_usage"])


def test_budget_spent_from_three_gateways_at_once_is_overspent_by_at_most_the_bound(nodes: list[Gateway]) -> None:
    _fresh_window(3600, 30)
    # One request's cost, as the shipped catalog prices gpt-4o-mini for the usage the mock reports.
    probe = _create_vk(nodes, budget={"max_limit": 1000, "reset_duration": "1h"})
    status, _, raw = http("POST", nodes[0].url + "/v1/chat/completions", BODY,
                          {"Authorization": f"Bearer {probe['value']}"})
    assert status == 200, raw
    cost = _budget_usage(nodes[0], probe["budget_id"])
    assert cost > 0, "the catalog prices openai/gpt-4o-mini"

    limit = BUDGET_REQUESTS * cost
    vk = _create_vk(nodes, budget={"max_limit": limit, "reset_duration": "1h"})
    tally = asyncio.run(_hammer(nodes, vk["value"], BUDGET_WORKERS, lambda s, b: s == 402, 30))
    assert not tally.bodies, tally.bodies[:3]
    assert tally.codes[402] == NODES * BUDGET_WORKERS  # every worker was refused in the end

    bound = limit + BUDGET_OVER * cost
    for gw in nodes:
        wait_for(lambda gw=gw: math.isclose(_budget_usage(gw, vk["budget_id"]), tally.codes[200] * cost,
                                            rel_tol=1e-6), 2.0, f"{gw.url} records the spend of all three")
    spent = _budget_usage(nodes[1], vk["budget_id"])
    print(f"budget ${limit:.8f} ({BUDGET_REQUESTS} requests): admitted {tally.codes[200]} requests "
          f"(per node {dict(tally.per_node)}), spent ${spent:.8f}; bound ${bound:.8f} "
          f"({BUDGET_REQUESTS} + {BUDGET_OVER} requests)")
    assert limit <= spent <= bound
    assert len(tally.per_node) == NODES
