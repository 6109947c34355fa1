"""Discovery sources against real servers: a local Kubernetes-like API (pod list, 403), DNS via the resolver."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_kube import TOKEN, FakeKube

from bifrost.cluster.discovery import (
    DiscoveryError,
    DnsDiscovery,
    Forbidden,
    KubeEnv,
    KubernetesDiscovery,
    allowed,
    build_sources,
)
from bifrost.config.cluster import ClusterConfig, DiscoverySettings

SELECTOR = "app.kubernetes.io/name=bifrost,app.kubernetes.io/instance=prod"


@pytest.fixture
def kube(tmp_path: Path) -> Iterator[FakeKube]:
    k = FakeKube(tmp_path)
    yield k
    k.close()


def _discovery(kube: FakeKube, namespace: str = "") -> KubernetesDiscovery:
    return KubernetesDiscovery(namespace, SELECTOR, 7946, KubeEnv.from_env(kube.env()), timeout=5)


def test_kubernetes_discovery_lists_running_pods_by_label_with_the_service_account_token(kube: FakeKube) -> None:
    kube.add_pod("bifrost-0", "10.1.0.5")
    kube.add_pod("bifrost-1", "10.1.0.6", phase="Pending")  # starting: gossip runs before readiness
    kube.add_pod("bifrost-2", None, phase="Pending")  # no IP yet
    kube.add_pod("bifrost-3", "10.1.0.8", phase="Failed")
    kube.add_pod("bifrost-4", "10.1.0.9", deleting=True)
    kube.add_pod("bifrost-5", "fd00::7")
    got = asyncio.run(_discovery(kube).discover())
    assert got == ["10.1.0.5:7946", "10.1.0.6:7946", "[fd00::7]:7946"]
    path, query, auth = kube.requests[-1]
    assert path == "/api/v1/namespaces/team-a/pods"  # namespace from the service account's namespace file
    assert query == {"labelSelector": [SELECTOR]}
    assert auth == f"Bearer {TOKEN}"


def test_kubernetes_discovery_uses_the_configured_namespace_over_the_pods_own(kube: FakeKube) -> None:
    asyncio.run(_discovery(kube, namespace="gateways").discover())
    assert kube.requests[-1][0] == "/api/v1/namespaces/gateways/pods"


def test_kubernetes_403_names_the_missing_permission_and_the_charts_role(kube: FakeKube) -> None:
    kube.forbidden = True
    with pytest.raises(Forbidden) as err:
        asyncio.run(_discovery(kube).discover())
    msg = str(err.value)
    assert "403" in msg and "`list pods`" in msg
    assert "rbac.podDiscovery.enabled=true" in msg and "-pod-discovery" in msg
    assert "system:serviceaccount:team-a:bifrost" in msg  # the API's own words say which account


def test_kubernetes_discovery_outside_a_pod_says_so(tmp_path: Path) -> None:
    env = KubeEnv.from_env({"BIFROST_K8S_SERVICEACCOUNT_DIR": str(tmp_path)})
    with pytest.raises(DiscoveryError, match="KUBERNETES_SERVICE_HOST is not set"):
        asyncio.run(KubernetesDiscovery("ns", SELECTOR, 7946, env, 5).discover())


def test_kube_env_builds_the_in_cluster_url_from_the_service_variables() -> None:
    env = KubeEnv.from_env({"KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"})
    assert env.api_url == "https://10.96.0.1:443"
    assert str(env.token_path) == "/var/run/secrets/kubernetes.io/serviceaccount/token"


def test_dns_discovery_returns_every_address_of_the_name_at_the_gossip_port() -> None:
    got = asyncio.run(DnsDiscovery(["localhost"], 7946, 5).discover())
    assert "127.0.0.1:7946" in got


def test_dns_discovery_keeps_an_explicit_port_and_reports_names_that_do_not_resolve_in_time() -> None:
    assert asyncio.run(DnsDiscovery(["127.0.0.1:8000"], 7946, 5).discover()) == ["127.0.0.1:8000"]
    # A lookup that cannot finish in time (resolved from /etc/hosts, so no query leaves the machine).
    with pytest.raises(DiscoveryError, match="cannot resolve localhost: no answer.*dns_names"):
        asyncio.run(DnsDiscovery(["localhost"], 7946, 1e-9).discover())


def test_allowed_address_space_filters_discovered_ips() -> None:
    assert allowed(["10.0.0.1:7946", "192.168.1.2:7946", "name:7946"], ["10.0.0.0/8"]) == \
        ["10.0.0.1:7946", "name:7946"]


def test_sources_follow_the_config() -> None:
    cfg = ClusterConfig(enabled=True, peers=("a:1",), discovery=DiscoverySettings(enabled=True, type="dns",
                                                                                  dns_names=("h",)))
    assert [type(s).__name__ for s in build_sources(cfg, {})] == ["StaticPeers", "DnsDiscovery"]
