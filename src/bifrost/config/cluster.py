"""`cluster_config` in Bifrost's shape (what the Helm chart renders for `bifrost.cluster`), parsed and checked.

Discovery types we implement: `kubernetes`, `dns` (plus static `peers`). `udp`, `consul`, `etcd` and
`mdns` are Bifrost enterprise options we do not have; choosing one is an error that names the
alternatives, so a cluster never starts silently alone.
"""

from __future__ import annotations

import ipaddress
import re
from typing import TYPE_CHECKING, Any

import msgspec

if TYPE_CHECKING:
    from bifrost.config.loader import _Reader

DEFAULT_GOSSIP_PORT = 7946
DISCOVERY_TYPES = ("kubernetes", "dns")
BIFROST_ONLY_TYPES = ("udp", "consul", "etcd", "mdns")
_TOP = {"enabled", "region", "peers", "gossip", "discovery", "grpc"}
_DISCOVERY = {"enabled", "type", "service_name", "bind_port", "dial_timeout", "allowed_address_space",
              "k8s_namespace", "k8s_label_selector", "dns_names", "udp_broadcast_port", "consul_address",
              "etcd_endpoints", "mdns_service"}
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h)$")


class GossipSettings(msgspec.Struct, frozen=True, kw_only=True):
    """`cluster_config.gossip`: the SWIM port (TCP and UDP) and its failure-detection settings."""

    port: int = DEFAULT_GOSSIP_PORT
    timeout_seconds: int = 10  # TCP operations (join, state sync) and a join attempt's time limit
    success_threshold: int = 3  # confirmations from other members that shorten a suspicion to its minimum
    failure_threshold: int = 3  # probe intervals a suspect has to answer before it is declared dead


class DiscoverySettings(msgspec.Struct, frozen=True, kw_only=True):
    enabled: bool = False
    type: str = ""
    dial_timeout_s: float = 5.0
    allowed_address_space: tuple[str, ...] = ()
    k8s_namespace: str = ""
    k8s_label_selector: str = ""
    dns_names: tuple[str, ...] = ()


class ClusterConfig(msgspec.Struct, frozen=True, kw_only=True):
    enabled: bool = False
    region: str = "unknown"
    peers: tuple[str, ...] = ()
    gossip: GossipSettings = msgspec.field(default_factory=GossipSettings)
    discovery: DiscoverySettings = msgspec.field(default_factory=DiscoverySettings)


def parse_cluster(r: _Reader, value: Any) -> ClusterConfig:
    """`$.cluster_config`; absent or `enabled: false` is a single node."""
    p = "$.cluster_config"
    obj = r.obj(p, value)
    if obj is None:
        return ClusterConfig()
    r.check_keys(p, obj, _TOP - {"grpc"}, _TOP)
    if not r.boolean(f"{p}.enabled", obj.get("enabled"), False):
        return ClusterConfig()
    peers = r.strings(f"{p}.peers", obj.get("peers"))
    for i, peer in enumerate(peers):
        if not _host_port(peer):
            r.problems.append(f'{p}.peers[{i}]: expected "host:port" (e.g. "10.0.0.5:7946"), found "{peer}"')
    gossip = _gossip(r, f"{p}.gossip", obj.get("gossip"))
    discovery = _discovery(r, f"{p}.discovery", obj.get("discovery"))
    if not peers and not discovery.enabled:
        r.problems.append(f"{p}: cluster mode is enabled but there is no way to find peers: set {p}.peers "
                          '(e.g. ["bifrost-0.bifrost-headless:7946"]) or enable discovery '
                          '({"enabled": true, "type": "kubernetes"} or "dns")')
    return ClusterConfig(enabled=True, region=r.string(f"{p}.region", obj.get("region")) or "unknown",
                         peers=peers, gossip=gossip, discovery=discovery)


def _gossip(r: _Reader, p: str, value: Any) -> GossipSettings:
    obj = r.obj(p, value) or {}
    r.check_keys(p, obj, {"port", "config"}, {"port", "config"})
    c = r.obj(f"{p}.config", obj.get("config")) or {}
    keys = {"timeout_seconds", "success_threshold", "failure_threshold"}
    r.check_keys(f"{p}.config", c, keys, keys)
    return GossipSettings(
        port=int(r.number(f"{p}.port", obj.get("port"), DEFAULT_GOSSIP_PORT, minimum=1, maximum=65535)),
        timeout_seconds=int(r.number(f"{p}.config.timeout_seconds", c.get("timeout_seconds"), 10, minimum=1)),
        success_threshold=int(r.number(f"{p}.config.success_threshold", c.get("success_threshold"), 3, minimum=1,
                                       maximum=10)),
        failure_threshold=int(r.number(f"{p}.config.failure_threshold", c.get("failure_threshold"), 3, minimum=1,
                                       maximum=30)),
    )


def _discovery(r: _Reader, p: str, value: Any) -> DiscoverySettings:
    obj = r.obj(p, value)
    if obj is None:
        return DiscoverySettings()
    implemented = _DISCOVERY - {"service_name", "bind_port", "udp_broadcast_port", "consul_address",
                                "etcd_endpoints", "mdns_service"}
    r.check_keys(p, obj, implemented, _DISCOVERY)
    if not r.boolean(f"{p}.enabled", obj.get("enabled"), True):
        return DiscoverySettings()
    kind = r.string(f"{p}.type", obj.get("type"), env=False) or ""
    if kind not in DISCOVERY_TYPES:
        what = (f'"{kind}" is a Bifrost enterprise discovery type this gateway does not implement' if kind in
                BIFROST_ONLY_TYPES else f'expected "kubernetes" or "dns", found "{kind}"')
        r.problems.append(f"{p}.type: {what}; use \"kubernetes\" (pods by label selector), \"dns\" (a headless "
                          "Service's records) or static cluster_config.peers")
    spaces = r.strings(f"{p}.allowed_address_space", obj.get("allowed_address_space"))
    for i, cidr in enumerate(spaces):
        try:
            ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            r.problems.append(f'{p}.allowed_address_space[{i}]: expected a CIDR such as "10.0.0.0/8", found "{cidr}"')
    dns_names = r.strings(f"{p}.dns_names", obj.get("dns_names"))
    if kind == "dns" and not dns_names:
        r.problems.append(f'{p}.dns_names: required for dns discovery (e.g. ["bifrost-headless.default.svc'
                          '.cluster.local"]: the headless Service, whose records are the pods)')
    selector = r.string(f"{p}.k8s_label_selector", obj.get("k8s_label_selector")) or ""
    if kind == "kubernetes" and not selector:
        r.problems.append(f'{p}.k8s_label_selector: required for kubernetes discovery (e.g. '
                          '"app.kubernetes.io/name=bifrost,app.kubernetes.io/instance=bifrost"; the chart sets it)')
    return DiscoverySettings(enabled=True, type=kind, dial_timeout_s=_duration(r, f"{p}.dial_timeout",
                                                                                obj.get("dial_timeout")),
                             allowed_address_space=spaces, dns_names=dns_names, k8s_label_selector=selector,
                             k8s_namespace=r.string(f"{p}.k8s_namespace", obj.get("k8s_namespace")) or "")


def _duration(r: _Reader, p: str, value: Any) -> float:
    """A Go duration string ("5s", "500ms", "1m"); 5 s when absent."""
    s = r.string(p, value)
    if s is None:
        return 5.0
    m = _DURATION.match(s.strip())
    if not m:
        r.problems.append(f'{p}: expected a duration such as "5s", "500ms" or "1m", found "{s}"')
        return 5.0
    n, unit = float(m.group(1)), m.group(2)
    return n * {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}[unit]


def _host_port(s: str) -> tuple[str, int] | None:
    """("host", port) from "host:port" or "[v6]:port"; None when malformed."""
    host, sep, port = s.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        return None
    return host.strip("[]"), int(port)


split_host_port = _host_port
