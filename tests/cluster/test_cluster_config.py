"""`cluster_config` as the Helm chart renders it is accepted; broken ones fail with what to fix."""

from __future__ import annotations

from typing import Any

import pytest

from bifrost.config.loader import ConfigInvalid, parse_config

CHART = {  # deploy/helm/bifrost _config.tpl, bifrost.cluster.enabled with kubernetes discovery
    "enabled": True, "region": "eu-1",
    "gossip": {"port": 7946, "config": {"timeout_seconds": 10, "success_threshold": 3, "failure_threshold": 3}},
    "discovery": {"enabled": True, "type": "kubernetes", "k8s_namespace": "default",
                  "k8s_label_selector": "app.kubernetes.io/name=bifrost,app.kubernetes.io/instance=bifrost",
                  "dial_timeout": "5s", "allowed_address_space": ["10.0.0.0/8"]},
    "grpc": {"port": 10102, "dial_timeout_seconds": 5},
}


def _problems(cluster: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigInvalid) as err:
        parse_config({"cluster_config": cluster}, {})
    return err.value.problems


def test_chart_rendered_cluster_config_is_accepted() -> None:
    res = parse_config({"cluster_config": CHART}, {})
    c = res.config.cluster
    assert c.enabled and c.region == "eu-1" and c.gossip.port == 7946 and c.gossip.failure_threshold == 3
    assert c.discovery.type == "kubernetes" and c.discovery.k8s_namespace == "default"
    assert c.discovery.allowed_address_space == ("10.0.0.0/8",)
    assert not res.warnings
    assert any("grpc" in n for n in res.notices)  # Bifrost's counter-sync transport: recognised, not used


def test_dns_discovery_as_the_chart_renders_it_is_accepted() -> None:
    cfg = {**CHART, "discovery": {"enabled": True, "type": "dns",
                                  "dns_names": ["bifrost-headless.default.svc.cluster.local"]}}
    assert parse_config({"cluster_config": cfg}, {}).config.cluster.discovery.dns_names == (
        "bifrost-headless.default.svc.cluster.local",)


def test_disabled_cluster_is_a_single_node() -> None:
    assert not parse_config({"cluster_config": {"enabled": False}}, {}).config.cluster.enabled


def test_enabled_without_peers_or_discovery_says_how_to_find_peers() -> None:
    problems = _problems({"enabled": True, "gossip": CHART["gossip"]})
    assert any("no way to find peers" in p and "peers" in p and "discovery" in p for p in problems)


def test_enterprise_only_discovery_type_is_refused_with_the_alternatives() -> None:
    problems = _problems({**CHART, "discovery": {"enabled": True, "type": "consul", "service_name": "bifrost"}})
    assert any('"consul"' in p and "kubernetes" in p and "dns" in p for p in problems)


def test_bad_peer_port_and_cidr_are_named() -> None:
    problems = _problems({**CHART, "peers": ["10.0.0.5"], "discovery": {**CHART["discovery"],
                                                                        "allowed_address_space": ["ten/8"]}})
    assert any("peers[0]" in p and "host:port" in p for p in problems)
    assert any("allowed_address_space[0]" in p for p in problems)
    problems = _problems({**CHART, "gossip": {"port": 70000, "config": CHART["gossip"]["config"]}})
    assert any("gossip.port" in p for p in problems)
