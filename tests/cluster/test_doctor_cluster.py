"""`bifrost doctor` cluster rows: discovery (and the Kubernetes permission), gossip port reachability per peer,
and the running gateway's member list, against a real gateway and a local Kubernetes-like API."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cluster_helpers import free_udp_tcp_port
from fake_kube import FakeKube

from bifrost.doctor.report import Report
from bifrost.doctor.run import run_checks
from conftest import Gateway, free_port


def _cluster(port: int, **extra: Any) -> dict[str, Any]:
    return {"enabled": True, "gossip": {"port": port, "config": {"timeout_seconds": 5, "success_threshold": 3,
                                                                "failure_threshold": 3}}, **extra}


def _rows(report: Report) -> dict[str, Any]:
    return {c.name: c for c in report.checks}


@pytest.fixture
def kube(tmp_path: Path) -> Iterator[FakeKube]:
    k = FakeKube(tmp_path, namespace="prod")
    yield k
    k.close()


def test_doctor_reports_peers_their_reachability_and_the_gateways_member_view(tmp_path: Path) -> None:
    gossip, dead = free_udp_tcp_port(), free_port()
    cfg = {"logs_store": {"enabled": False},
           "cluster_config": _cluster(gossip, peers=[f"127.0.0.1:{gossip}", f"127.0.0.1:{dead}"])}
    gw = Gateway(tmp_path, cfg)
    try:
        report = asyncio.run(run_checks(gw.app_dir, env=dict(os.environ), port=gw.port))
    finally:
        gw.stop()
    rows = _rows(report)
    assert rows["cluster discovery"].status == "pass"
    reach = rows["gossip port reachable"]
    assert reach.status == "warn" and f"127.0.0.1:{dead}" in reach.detail and "1/2 reachable" in reach.detail
    assert "NetworkPolicies allow TCP and UDP" in reach.fix
    members = rows["cluster members"]
    assert members.status == "warn" and "alone" in members.detail and f"127.0.0.1:{gossip}" in members.detail
    assert "grep -i gossip" in members.fix


def test_doctor_fails_kubernetes_discovery_on_403_with_the_rbac_fix(tmp_path: Path, kube: FakeKube) -> None:
    kube.forbidden = True
    app = tmp_path / "app"
    app.mkdir()
    (app / "config.json").write_text(json.dumps({"cluster_config": _cluster(7946, discovery={
        "enabled": True, "type": "kubernetes", "k8s_label_selector": "app.kubernetes.io/name=bifrost"})}))
    report = asyncio.run(run_checks(app, env={**os.environ, **kube.env()}, port=free_port()))
    row = _rows(report)["cluster discovery"]
    assert row.status == "fail" and "403" in row.detail and "`list pods`" in row.detail
    assert "rbac.podDiscovery.enabled=true" in row.fix and "kubectl auth can-i list pods" in row.fix
    assert not report.ok
    kube.forbidden = False
    kube.add_pod("bifrost-0", "127.0.0.1")
    row = _rows(asyncio.run(run_checks(app, env={**os.environ, **kube.env()}, port=free_port())))["cluster discovery"]
    assert row.status == "pass" and "Kubernetes API allows listing pods" in row.detail


def test_doctor_skips_cluster_rows_when_cluster_mode_is_off(tmp_path: Path) -> None:
    app = tmp_path / "app"
    app.mkdir()
    (app / "config.json").write_text("{}")
    row = _rows(asyncio.run(run_checks(app, env={}, port=free_port())))["cluster"]
    assert row.status == "skip" and row.detail == "skipped: cluster mode not configured"
