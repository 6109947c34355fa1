"""Finding peers: static `peers`, `dns` (a headless Service's A/AAAA records) and `kubernetes` (pods by label).

Each source answers a list of gossip addresses ("host:port"). A failure raises `DiscoveryError` with a
message that says what went wrong and how to fix it; the node logs it and tries again next round.
The Kubernetes source uses the pod's service-account token against the in-cluster API; every path
and the API address can be overridden (`KubeEnv`), which is how the tests point it at a local server.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import socket
import ssl
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import msgspec

from bifrost.config.cluster import ClusterConfig, split_host_port

SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"


class DiscoveryError(Exception):
    """Discovery failed; the message is for the log and `bifrost doctor` as it stands."""


class Forbidden(DiscoveryError):
    """The Kubernetes API answered 403: the service account may not list pods."""


class Source(Protocol):
    describe: str

    async def discover(self) -> list[str]: ...


def join_host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class StaticPeers:
    def __init__(self, peers: Sequence[str]) -> None:
        self.peers = list(peers)
        self.describe = "static peers " + ", ".join(self.peers)

    async def discover(self) -> list[str]:
        return list(self.peers)


class DnsDiscovery:
    """Every A and AAAA record of each name; "name:port" keeps its port, a bare name gets the gossip port."""

    def __init__(self, names: Sequence[str], port: int, timeout: float) -> None:
        self.names, self.port, self.timeout = list(names), port, timeout
        self.describe = "dns " + ", ".join(self.names)

    async def discover(self) -> list[str]:
        loop = asyncio.get_running_loop()
        out: list[str] = []
        errors: list[str] = []
        for name in self.names:
            hp = split_host_port(name)
            host, port = hp if hp else (name, self.port)
            try:
                infos = await asyncio.wait_for(loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), self.timeout)
            except (OSError, TimeoutError) as exc:
                errors.append(f"{host}: {str(exc) or f'no answer within {self.timeout:g}s'}")
                continue
            for info in infos:
                addr = join_host_port(str(info[4][0]), port)
                if addr not in out:
                    out.append(addr)
        if errors and not out:
            raise DiscoveryError("dns discovery: cannot resolve " + "; ".join(errors) + " (check "
                                 "cluster_config.discovery.dns_names: the headless Service <release>-headless."
                                 "<namespace>.svc.cluster.local must exist; with a Deployment set "
                                 "bifrost.cluster.peers or use kubernetes discovery)")
        return out


class KubeEnv(msgspec.Struct, frozen=True, kw_only=True):
    """Where the in-cluster API and the service account's files are (overridable for tests)."""

    api_url: str  # "" when not in a pod
    token_path: Path
    ca_path: Path
    namespace_path: Path

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> KubeEnv:
        sa = Path(env.get("BIFROST_K8S_SERVICEACCOUNT_DIR") or SA_DIR)
        url = env.get("BIFROST_K8S_API_URL", "")
        host, port = env.get("KUBERNETES_SERVICE_HOST", ""), env.get("KUBERNETES_SERVICE_PORT", "443")
        if not url and host:
            url = "https://" + join_host_port(host, int(port) if port.isdigit() else 443)
        return cls(api_url=url.rstrip("/"), token_path=sa / "token", ca_path=sa / "ca.crt",
                   namespace_path=sa / "namespace")


class KubernetesDiscovery:
    """Pods matching the label selector in the namespace, by `status.podIP`, at the gossip port."""

    def __init__(self, namespace: str, selector: str, port: int, env: KubeEnv, timeout: float) -> None:
        self.selector, self.port, self.env, self.timeout = selector, port, env, timeout
        self._namespace = namespace
        self.describe = f"kubernetes pods with labels {selector}"

    @property
    def namespace(self) -> str:
        if self._namespace:
            return self._namespace
        try:
            return self.env.namespace_path.read_text().strip()
        except OSError:
            raise DiscoveryError(f"kubernetes discovery: no namespace: cluster_config.discovery.k8s_namespace is "
                                 f"empty and {self.env.namespace_path} cannot be read (not running in a pod?); set "
                                 "k8s_namespace") from None

    async def discover(self) -> list[str]:
        body = await asyncio.to_thread(self._list_pods)
        out: list[str] = []
        for pod in body.get("items") or []:
            status, meta = pod.get("status") or {}, pod.get("metadata") or {}
            ip = status.get("podIP")
            if not ip or status.get("phase") in ("Succeeded", "Failed") or meta.get("deletionTimestamp"):
                continue
            addr = join_host_port(ip, self.port)
            if addr not in out:
                out.append(addr)
        return out

    def _list_pods(self) -> dict[str, Any]:
        if not self.env.api_url:
            raise DiscoveryError("kubernetes discovery: KUBERNETES_SERVICE_HOST is not set, so this is not a pod; "
                                 "use dns discovery or static cluster_config.peers outside Kubernetes")
        ns = self.namespace
        try:
            token = self.env.token_path.read_text().strip()  # read every time: kubelet rotates it
        except OSError as exc:
            raise DiscoveryError(f"kubernetes discovery: cannot read the service-account token {self.env.token_path}"
                                 f" ({exc.strerror}); set serviceAccount.automount=true (the chart does in "
                                 "kubernetes discovery mode)") from None
        query = urllib.parse.urlencode({"labelSelector": self.selector})
        url = f"{self.env.api_url}/api/v1/namespaces/{urllib.parse.quote(ns)}/pods?{query}"
        req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}", "Accept": "application/json"})
        ctx = None
        if url.startswith("https:"):
            ctx = ssl.create_default_context(cafile=str(self.env.ca_path) if self.env.ca_path.exists() else None)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout, context=ctx) as resp:
                data = json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            raise _http_error(exc, ns, self.selector) from None
        except (OSError, ValueError) as exc:
            raise DiscoveryError(f"kubernetes discovery: the API at {self.env.api_url} did not answer a pod list "
                                 f"({exc}); check that the pod can reach the API server (NetworkPolicy egress)"
                                 ) from None
        return data if isinstance(data, dict) else {}


def _http_error(exc: urllib.error.HTTPError, ns: str, selector: str) -> DiscoveryError:
    try:
        message = str(json.loads(exc.read()).get("message", ""))
    except (ValueError, AttributeError, OSError):
        message = ""
    if exc.code == 403:
        return Forbidden(
            f"kubernetes discovery: forbidden (403) listing pods in namespace {ns!r}: the service account lacks "
            f"permission `list pods` (verbs get, list, watch on pods){': ' + message if message else ''}. "
            f"Fix: enable the Role the chart creates (rbac.podDiscovery.enabled=true renders Role and RoleBinding "
            f"<fullname>-pod-discovery in namespace {ns!r} for the chart's ServiceAccount), or bind an equivalent "
            f"Role; then the next discovery round (15 s) picks it up")
    if exc.code == 401:
        return DiscoveryError(f"kubernetes discovery: unauthorized (401): the API refused the service-account token"
                              f"{': ' + message if message else ''}; check serviceAccount.automount")
    return DiscoveryError(f"kubernetes discovery: the API answered {exc.code} listing pods in {ns!r} with selector "
                          f"{selector!r}{': ' + message if message else ''}")


def allowed(addresses: list[str], spaces: Sequence[str]) -> list[str]:
    """Keep addresses inside `allowed_address_space` (all when it is empty; names pass, only IPs are checked)."""
    if not spaces:
        return addresses
    nets = [ipaddress.ip_network(s, strict=False) for s in spaces]
    out = []
    for a in addresses:
        hp = split_host_port(a)
        try:
            ip = ipaddress.ip_address(hp[0]) if hp else None
        except ValueError:
            ip = None
        if ip is None or any(ip in n for n in nets):
            out.append(a)
    return out


def build_sources(cfg: ClusterConfig, env: Mapping[str, str]) -> list[Source]:
    sources: list[Source] = []
    if cfg.peers:
        sources.append(StaticPeers(cfg.peers))
    d = cfg.discovery
    if d.enabled and d.type == "dns":
        sources.append(DnsDiscovery(d.dns_names, cfg.gossip.port, d.dial_timeout_s))
    elif d.enabled and d.type == "kubernetes":
        sources.append(KubernetesDiscovery(d.k8s_namespace, d.k8s_label_selector, cfg.gossip.port,
                                           KubeEnv.from_env(env), d.dial_timeout_s))
    return sources
