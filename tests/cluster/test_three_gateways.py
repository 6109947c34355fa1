"""Three real gateway processes on loopback, one PostgreSQL config store, static peers: membership,
config changes reaching every node, a SIGKILLed node marked dead (logs say "gossip"), leave and rejoin."""

from __future__ import annotations

import json
import signal
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cluster_helpers import free_udp_tcp_port, wait_for

from conftest import Gateway, free_port, http
from pgtemp import PgServer

# docs/cluster.md: three nodes, default gossip settings: a config change applies within 2 s and a killed node is
# dead within 10 s (6 s computed: 2 probe rounds to reach it + 1 s probe + 3 s suspicion, plus margin for load).
CHANGE_WITHIN = 2.0
DEAD_WITHIN = 10.0
ENC_KEY = "cluster-test-encryption-key-0123456789"


class Cluster:
    def __init__(self, tmp: Path, pg: PgServer, db: str) -> None:
        self.tmp, self.pg, self.db = tmp, pg, db
        self.gossip = [free_udp_tcp_port() for _ in range(3)]
        self.nodes: list[Gateway] = []

    def config(self, i: int) -> dict[str, Any]:
        return {
            "config_store": {"enabled": True, "type": "postgres", "config": self.pg.store_config(self.db)},
            "logs_store": {"enabled": False},
            "cluster_config": {"enabled": True, "region": f"r{i}",
                               "peers": [f"127.0.0.1:{p}" for p in self.gossip],
                               "gossip": {"port": self.gossip[i], "config": {"timeout_seconds": 10,
                                                                            "success_threshold": 3,
                                                                            "failure_threshold": 3}}},
        }

    def start(self, i: int, wait: bool = True) -> Gateway:
        gw = Gateway(self.tmp, self.config(i), env={"BIFROST_ENCRYPTION_KEY": ENC_KEY}, wait=wait)
        return gw

    def name(self, i: int) -> str:
        return f"{socket.gethostname()[:56]}:{self.gossip[i]}"


def members(gw: Gateway) -> dict[str, str]:
    status, _, body = http("GET", gw.url + "/api/cluster")
    assert status == 200, body
    return {m["name"]: m["state"] for m in json.loads(body)["members"]}


def gossip_lines(gw: Gateway) -> list[str]:
    return [str(rec.get("msg") or rec.get("message") or rec) for rec in gw.logs()
            if "gossip" in json.dumps(rec).lower()]


@pytest.fixture(scope="module")
def cluster(tmp_module: Path, pg: PgServer, pg_db: str) -> Iterator[Cluster]:
    c = Cluster(tmp_module, pg, pg_db)
    c.nodes.append(c.start(0))  # the first one migrates the database; the other two start together
    c.nodes += [c.start(1, wait=False), c.start(2, wait=False)]
    for gw in c.nodes[1:]:
        gw.wait_ready(60)
    yield c
    for gw in c.nodes:
        gw.stop()


def test_three_gateways_see_each_other(cluster: Cluster) -> None:
    names = {cluster.name(i) for i in range(3)}
    for gw in cluster.nodes:
        wait_for(lambda gw=gw: set(members(gw)) == names and set(members(gw).values()) == {"alive"}, 15,
                 f"{gw.url} sees all three alive: {members(gw)}")
    assert any("joined" in line for line in gossip_lines(cluster.nodes[0]))


def _status(gw: Gateway, name: str) -> str | None:
    status, _, body = http("GET", gw.url + f"/api/providers/{name}")
    return json.loads(body).get("provider_status") if status == 200 else None


def test_provider_added_on_one_node_is_live_on_the_others_within_seconds(cluster: Cluster) -> None:
    a, b, c = cluster.nodes
    assert _status(b, "anthropic") is None
    body = {"provider": "anthropic", "keys": [{"name": "k1", "value": "sk-ant-test", "models": [], "weight": 1}],
            "network_config": {"base_url": f"http://127.0.0.1:{free_port()}"}}  # nothing listens: stays local
    status, _, out = http("POST", a.url + "/api/providers", body)
    assert status == 200, out
    for gw in (b, c):  # provider_status comes from the node's engine, not from the shared store
        took = wait_for(lambda gw=gw: _status(gw, "anthropic") == "active", CHANGE_WITHIN,
                        f"anthropic active on {gw.url}")
        assert took <= CHANGE_WITHIN
    assert any("applied config change provider anthropic" in line for line in gossip_lines(b))


def test_provider_deleted_on_one_node_stops_routing_on_the_others(cluster: Cluster) -> None:
    a, b, c = cluster.nodes
    wait_for(lambda: _status(c, "anthropic") == "active", CHANGE_WITHIN, "anthropic active on c")
    status, _, out = http("DELETE", b.url + "/api/providers/anthropic")
    assert status == 200, out

    def routed(gw: Gateway) -> bool:
        code, _, resp = http("POST", gw.url + "/v1/chat/completions",
                             {"model": "anthropic/claude-3-haiku", "messages": [{"role": "user", "content": "hi"}]},
                             timeout=5)
        return b"anthropic" not in resp or code not in (400, 404)
    for gw in (a, c):
        wait_for(lambda gw=gw: not routed(gw), CHANGE_WITHIN, f"anthropic gone from {gw.url}'s engine")


def test_client_config_change_reaches_every_node(cluster: Cluster) -> None:
    a, b, c = cluster.nodes
    status, _, out = http("PUT", c.url + "/api/config", {"client_config": {"max_request_body_size_mb": 7}})
    assert status == 200, out

    def size(gw: Gateway) -> int:
        return int(json.loads(http("GET", gw.url + "/api/config")[2])["client_config"]["max_request_body_size_mb"])
    for gw in (a, b):
        wait_for(lambda gw=gw: size(gw) == 7, CHANGE_WITHIN, f"client config on {gw.url}")


def test_killed_node_is_marked_dead_then_rejoins_when_restarted(cluster: Cluster) -> None:
    a, b, c = cluster.nodes
    dead_name = cluster.name(2)
    wait_for(lambda: members(a).get(dead_name) == "alive", 15, "c alive before the kill")
    c.proc.p.send_signal(signal.SIGKILL)  # by PID: the process we started
    c.proc.p.wait(10)
    for gw in (a, b):
        wait_for(lambda gw=gw: any(dead_name in line and "is dead" in line for line in gossip_lines(gw)),
                 DEAD_WITHIN, f"{gw.url} logs that {dead_name} is dead")
        assert dead_name not in members(gw)
        assert any(dead_name in line and "suspect" in line for line in gossip_lines(gw))
    restarted = cluster.start(2)
    cluster.nodes[2] = restarted
    for gw in (a, b):
        wait_for(lambda gw=gw: members(gw).get(dead_name) == "alive", 15, f"{gw.url} sees {dead_name} again")
    assert set(members(restarted)) == {cluster.name(i) for i in range(3)}


def test_gracefully_stopped_node_is_reported_as_left(cluster: Cluster) -> None:
    a, b, c = cluster.nodes
    name = cluster.name(1)
    wait_for(lambda: members(a).get(name) == "alive", 15, "b alive")
    assert b.stop(signal.SIGTERM) == 0
    wait_for(lambda: any(name in line and "left the cluster" in line for line in gossip_lines(a)), 5,
             "a logs that b left")
    assert any("left the cluster" in line for line in gossip_lines(b))
