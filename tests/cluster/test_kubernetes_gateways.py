"""Gateways that find each other through a Kubernetes-like API on loopback (pods at 127.0.0.2 and 127.0.0.3,
one gossip port for all, as in a real cluster), and the RBAC message a 403 puts in the log."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cluster_helpers import free_udp_tcp_port, wait_for
from fake_kube import FakeKube

from conftest import Gateway, http


def _config(port: int) -> dict[str, Any]:
    return {"config_store": {"enabled": False}, "logs_store": {"enabled": False},
            "cluster_config": {"enabled": True,
                               "gossip": {"port": port, "config": {"timeout_seconds": 5, "success_threshold": 3,
                                                                  "failure_threshold": 3}},
                               "discovery": {"enabled": True, "type": "kubernetes",
                                             "k8s_label_selector": "app.kubernetes.io/name=bifrost"}}}


@pytest.fixture
def kube(tmp_path: Path) -> Iterator[FakeKube]:
    k = FakeKube(tmp_path, namespace="prod")
    yield k
    k.close()


def _names(gw: Gateway) -> set[str]:
    return {m["address"] for m in json.loads(http("GET", gw.url + "/api/cluster")[2])["members"]}


def test_gateways_discover_each_other_through_the_kubernetes_api(tmp_path: Path, kube: FakeKube) -> None:
    port = free_udp_tcp_port()
    kube.add_pod("bifrost-0", "127.0.0.2")
    kube.add_pod("bifrost-1", "127.0.0.3")
    nodes = [Gateway(tmp_path, _config(port), env={**kube.env(), "BIFROST_CLUSTER_ADVERTISE_ADDR": ip,
                                                   "BIFROST_CLUSTER_NODE_NAME": name})
             for name, ip in (("bifrost-0", "127.0.0.2"), ("bifrost-1", "127.0.0.3"))]
    try:
        both = {f"127.0.0.2:{port}", f"127.0.0.3:{port}"}
        for gw in nodes:
            wait_for(lambda gw=gw: _names(gw) == both, 20, f"{gw.url} sees both pods")
        assert all(auth == "Bearer test-sa-token" for _, _, auth in kube.requests)
        assert any("gossip: peer bifrost-1 joined" in (r.get("message") or "") for r in nodes[0].logs())
    finally:
        for gw in nodes:
            gw.stop()


def test_forbidden_pod_list_is_logged_as_a_clear_rbac_message(tmp_path: Path, kube: FakeKube) -> None:
    kube.forbidden = True
    env = {**kube.env(), "BIFROST_CLUSTER_ADVERTISE_ADDR": "127.0.0.1"}
    gw = Gateway(tmp_path, _config(free_udp_tcp_port()), env=env)
    try:
        lines = [r.get("message") or "" for r in gw.logs()]
        rbac = [m for m in lines if "gossip" in m and "403" in m]
        assert rbac, lines
        assert "`list pods`" in rbac[0] and "rbac.podDiscovery.enabled=true" in rbac[0]
        status, _, body = http("GET", gw.url + "/api/cluster")
        assert status == 200 and "403" in json.loads(body)["discovery_error"]
    finally:
        gw.stop()
