"""GossipUsage: three in-process cluster nodes on loopback spend one budget at once; together they stay within
the documented bound (limit + (N - 1) x 2q), reach it, and converge on one total."""

from __future__ import annotations

import asyncio

from cluster_helpers import free_udp_tcp_port

from bifrost.cluster.node import ClusterNode
from bifrost.cluster.usage import GossipUsage
from bifrost.config.cluster import ClusterConfig, GossipSettings


async def _nodes(n: int) -> list[ClusterNode]:
    ports = [free_udp_tcp_port() for _ in range(n)]

    async def ignore(kind: str, name: str) -> None:
        return None
    nodes = []
    for i, port in enumerate(ports):
        cfg = ClusterConfig(enabled=True, peers=tuple(f"127.0.0.1:{p}" for p in ports),
                            gossip=GossipSettings(port=port))
        node = ClusterNode(cfg, on_config_changed=ignore, encryption_key="usage-test-key",
                           env={"BIFROST_CLUSTER_ADVERTISE_ADDR": "127.0.0.1", "BIFROST_CLUSTER_NODE_NAME": f"u{i}"})
        await node.start()
        nodes.append(node)
    for _ in range(200):
        if all(x.alive_count() == n for x in nodes):
            return nodes
        await asyncio.sleep(0.05)
    raise AssertionError("nodes did not form a cluster")


async def _spend(usage: GossipUsage, limit: float, workers: int = 8, seconds: float = 8.0) -> int:
    """Clients that keep asking (each retries at once) until this node sees the budget spent."""
    admitted = 0
    deadline = asyncio.get_running_loop().time() + seconds

    async def worker() -> None:
        nonlocal admitted
        while asyncio.get_running_loop().time() < deadline and await usage.current("vk-1:budget", 3600) < limit:
            ok, _ = await usage.try_consume("vk-1:budget", 1.0, limit, 3600)
            admitted += ok
            await asyncio.sleep(0)
    await asyncio.gather(*(worker() for _ in range(workers)))
    return admitted


def test_three_nodes_spending_one_budget_at_once_stay_within_the_documented_bound() -> None:
    limit, n = 30.0, 3

    async def run() -> tuple[int, list[float], float]:
        nodes = await _nodes(n)
        usages = [GossipUsage(x) for x in nodes]
        for u in usages:
            u.start()
        try:
            q = max(1.0, usages[0].slack * limit / n)
            admitted = sum(await asyncio.gather(*(_spend(u, limit) for u in usages)))
            await asyncio.sleep(1.0)  # a few reports: every node sees every run's total
            totals = [await u.current("vk-1:budget", 3600) for u in usages]
            return admitted, totals, q
        finally:
            for u in usages:
                await u.close()
            for x in nodes:
                await x.stop(leave_timeout=1)
    admitted, totals, q = asyncio.run(run())
    bound = limit + (n - 1) * 2 * q
    assert limit <= admitted <= bound, (admitted, bound)  # without sharing it would be 3 x 30 = 90
    assert totals == [float(admitted)] * n


def test_usage_recorded_on_one_node_reaches_the_others_and_a_new_node_catches_up() -> None:
    async def run() -> tuple[float, float]:
        nodes = await _nodes(2)
        a, b = GossipUsage(nodes[0]), GossipUsage(nodes[1])
        try:
            await a.add("team-x", 5.0, 3600)  # spend recorded after a call
            await a.report()
            await asyncio.sleep(0.3)
            seen_by_b = await b.current("team-x", 3600)
            late = GossipUsage(nodes[1])  # counters that missed every report, as after a restart
            b._counts.clear()
            b._round = 24  # the next report is a full one (every 25th)
            late._counts.clear()
            a._changed = dict.fromkeys(a._changed, 0.0)  # changed long ago: only a full report carries it
            a._round = 24
            await a.report()
            await asyncio.sleep(0.3)
            return seen_by_b, await late.current("team-x", 3600)
        finally:
            for x in nodes:
                await x.stop(leave_timeout=1)
    assert asyncio.run(run()) == (5.0, 5.0)
