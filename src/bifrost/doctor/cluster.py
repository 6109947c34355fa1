"""`bifrost doctor` cluster checks: peers discovered (and Kubernetes allows listing pods), the gossip port
reachable on each peer (TCP connect), and the running gateway's view of the members (GET /api/cluster)."""

from __future__ import annotations

import asyncio
import base64
import json
import urllib.error
import urllib.request
from collections.abc import Mapping

from bifrost.cluster.discovery import DiscoveryError, Forbidden, allowed, build_sources
from bifrost.config.cluster import split_host_port
from bifrost.config.model import GatewayConfig
from bifrost.doctor.report import FAIL, PASS, SKIP, WARN, Check

RBAC_FIX = ("enable the Role the chart creates: rbac.podDiscovery.enabled=true (Role and RoleBinding "
            "<fullname>-pod-discovery, verbs get/list/watch on pods, bound to the chart's ServiceAccount), or bind "
            "an equivalent Role to the pod's service account; check with `kubectl auth can-i list pods "
            "--as=system:serviceaccount:<namespace>:<serviceaccount>`")
PORT_FIX = ("check that the peer pods run and listen (their log says `gossip: node ... listening on`), that "
            "NetworkPolicies allow TCP and UDP {port} between the gateway pods, and that every node uses the same "
            "cluster_config.gossip.port")


async def check_cluster(cfg: GatewayConfig | None, env: Mapping[str, str], port: int) -> list[Check]:
    if cfg is None or not cfg.cluster.enabled:
        return [Check(name="cluster", status=SKIP, detail="skipped: cluster mode not configured")]
    c = cfg.cluster
    found: list[str] = []
    rows: list[Check] = []
    for src in build_sources(c, env):
        try:
            got = allowed(await src.discover(), c.discovery.allowed_address_space)
        except Forbidden as exc:
            rows.append(Check(name="cluster discovery", status=FAIL, detail=str(exc).split(". Fix:")[0],
                              fix=RBAC_FIX))
            continue
        except DiscoveryError as exc:
            rows.append(Check(name="cluster discovery", status=FAIL, detail=str(exc),
                              fix="see the detail; static cluster_config.peers work without discovery"))
            continue
        found += [a for a in got if a not in found]
        kind = "Kubernetes API allows listing pods; " if src.describe.startswith("kubernetes") else ""
        rows.append(Check(name="cluster discovery", status=PASS if got else WARN,
                          detail=f"{kind}{src.describe}: {len(got)} address(es) {', '.join(got)}".rstrip(),
                          fix="" if got else "no peer found yet: check the label selector / DNS name and that the "
                                             "other replicas are scheduled"))
    rows.append(await _reachable(found, c.gossip.port, c.discovery.dial_timeout_s))
    rows.append(await asyncio.to_thread(_members, env, port))
    return rows


async def _reachable(addresses: list[str], gossip_port: int, timeout: float) -> Check:
    name = "gossip port reachable"
    if not addresses:
        return Check(name=name, status=SKIP, detail="skipped: no peer address to try")

    async def one(addr: str) -> str | None:
        hp = split_host_port(addr)
        if hp is None:
            return f"{addr}: not host:port"
        try:
            _, w = await asyncio.wait_for(asyncio.open_connection(hp[0], hp[1]), timeout)
        except (OSError, TimeoutError) as exc:
            return f"{addr}: {str(exc) or f'no answer within {timeout:g}s'}"
        w.close()
        return None
    failures = [f for f in await asyncio.gather(*(one(a) for a in addresses)) if f]
    ok = len(addresses) - len(failures)
    if not failures:
        return Check(name=name, status=PASS, detail=f"TCP connect to {ok}/{len(addresses)} peer(s) on the gossip port")
    return Check(name=name, status=FAIL if not ok else WARN,
                 detail=f"{ok}/{len(addresses)} reachable; unreachable: " + "; ".join(failures),
                 fix=PORT_FIX.format(port=gossip_port))


def _members(env: Mapping[str, str], port: int) -> Check:
    """The running gateway's own view (the doctor runs in the same pod: `kubectl exec ... bifrost doctor`)."""
    name = "cluster members"
    url = f"http://127.0.0.1:{port}/api/cluster"
    headers = {}
    user, pw = env.get("BIFROST_ADMIN_USERNAME", ""), env.get("BIFROST_ADMIN_PASSWORD", "")
    if user and pw:
        headers["Authorization"] = "Basic " + base64.b64encode(f"{user}:{pw}".encode()).decode()
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=5) as r:
            body = json.loads(r.read())
    except urllib.error.HTTPError as exc:
        hint = " (set BIFROST_ADMIN_USERNAME/BIFROST_ADMIN_PASSWORD for the doctor)" if exc.code == 401 else ""
        return Check(name=name, status=SKIP, detail=f"skipped: {url} answered {exc.code}{hint}")
    except (OSError, ValueError):
        return Check(name=name, status=SKIP, detail=f"skipped: no gateway answering on {url} (run the doctor in a "
                                                    "gateway pod: kubectl exec <pod> -- bifrost doctor)")
    members = body.get("members") or []
    text = ", ".join(f"{m.get('name')} ({m.get('address')}) {m.get('state')}" for m in members)
    bad = [m for m in members if m.get("state") != "alive"]
    if len(members) <= 1:
        return Check(name=name, status=WARN, detail=f"this node is alone: {text}",
                     fix="the gateway's log lines with `gossip` say which peer addresses it tried and why they "
                         "failed (kubectl logs <pod> | grep -i gossip)")
    return Check(name=name, status=WARN if bad else PASS, detail=f"{len(members)} member(s): {text}",
                 fix="a suspect peer misses its probes: check its pod's CPU throttling and the network" if bad else "")
