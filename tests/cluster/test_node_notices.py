"""Config-change notices between two in-process cluster nodes on loopback: a notice reloads the named entity;
a peer whose change counter runs ahead of the notices it sent (a lost broadcast) makes us reload everything."""

from __future__ import annotations

import asyncio
import socket

from cluster_helpers import free_udp_tcp_port

from bifrost.cluster.node import RESYNC, ClusterNode, gossip_key
from bifrost.config.cluster import ClusterConfig, GossipSettings

ENV = {"BIFROST_CLUSTER_ADVERTISE_ADDR": "127.0.0.1"}


async def _pair() -> tuple[ClusterNode, ClusterNode, list[tuple[str, str]]]:
    ports = [free_udp_tcp_port(), free_udp_tcp_port()]
    got: list[tuple[str, str]] = []

    async def record(kind: str, name: str) -> None:
        got.append((kind, name))

    async def ignore(kind: str, name: str) -> None:
        return None
    nodes = []
    for i, port in enumerate(ports):
        peers = tuple(f"127.0.0.1:{p}" for p in ports)
        cfg = ClusterConfig(enabled=True, peers=peers, gossip=GossipSettings(port=port))
        node = ClusterNode(cfg, on_config_changed=record if i == 1 else ignore, encryption_key="k" * 32,
                           env={**ENV, "BIFROST_CLUSTER_NODE_NAME": f"n{i}"})
        await node.start()
        nodes.append(node)
    for _ in range(100):
        if all(n.alive_count() == 2 for n in nodes):
            break
        await asyncio.sleep(0.05)
    return nodes[0], nodes[1], got


async def _wait(pred: object, timeout: float) -> None:
    for _ in range(int(timeout / 0.05)):
        if pred():  # type: ignore[operator]
            return
        await asyncio.sleep(0.05)
    raise AssertionError("timed out")


def test_a_notice_reloads_the_named_entity_on_the_peer() -> None:
    async def run() -> list[tuple[str, str]]:
        a, b, got = await _pair()
        try:
            await a.broadcast_config_changed("provider", "openai")
            await _wait(lambda: got, 3)
            await asyncio.sleep(1.5)  # and no resync follows: the counter matches the notice
            return got
        finally:
            await a.stop()
            await b.stop()
    assert asyncio.run(run()) == [("provider", "openai")]


def test_a_lost_notice_is_noticed_from_the_counter_and_everything_is_reloaded() -> None:
    async def run() -> list[tuple[str, str]]:
        a, b, got = await _pair()
        try:
            assert a.cluster is not None
            a._seq += 1  # a change whose broadcast never arrived: only the counter in a's metadata moves
            await a.cluster.update_meta(cfg=str(a._seq))
            await _wait(lambda: got, 5)
            return got
        finally:
            await a.stop()
            await b.stop()
    assert asyncio.run(run()) == [(RESYNC, "")]


def test_gossip_key_comes_from_the_encryption_key_or_the_explicit_variable() -> None:
    derived = gossip_key({}, "passphrase")
    assert derived and derived == gossip_key({}, "passphrase") and derived != gossip_key({}, "other")
    assert gossip_key({"BIFROST_CLUSTER_KEY": "abc"}, "passphrase") == "abc"
    assert gossip_key({}, None) is None


def test_default_node_name_is_hostname_and_gossip_port() -> None:
    node = ClusterNode(ClusterConfig(enabled=True, peers=("127.0.0.1:1",), gossip=GossipSettings(port=7000)),
                       on_config_changed=lambda k, n: asyncio.sleep(0), env={})
    assert node.name == f"{socket.gethostname()[:56]}:7000"
