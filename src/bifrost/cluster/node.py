"""One gateway's place in the cluster: SWIM membership (kinship), discovery rounds, config-change notices.

Membership, failure detection and the transport (UDP and TCP on the gossip port, encrypted) are
kinship's; this module maps `cluster_config` onto it, finds peers (discovery.py), logs every change
of a peer's state with the word "gossip", and carries "config entity X changed" between nodes:
a small broadcast through the cluster itself (`kinship` user messages), backed by a per-node change
counter in the node's metadata so that a peer which missed a broadcast notices and reloads everything.
Peers reload the entity from the shared config store; the message never carries config.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import os
import socket
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import kinship
import msgspec

from bifrost.cluster.discovery import DiscoveryError, Source, allowed, build_sources, join_host_port
from bifrost.config.cluster import ClusterConfig, split_host_port

log = logging.getLogger("bifrost.cluster")

ConfigChanged = Callable[[str, str], Awaitable[None]]
REDISCOVER_SECONDS = 15.0
PROBE_INTERVAL = 1.0  # kinship's lan() preset; the failure-detection bound in docs/cluster.md uses it
RESYNC = "*"  # kind for "reload every entity": a peer missed at least one notice
NOTICE_GRACE = 1.0  # seconds a peer's counter may run ahead of its notices before we reload everything


class Notice(msgspec.Struct, frozen=True):
    """A config change: entity kind and name, and the sender's change counter (for gap detection)."""

    k: str
    n: str
    s: int


class MemberView(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    address: str
    state: str  # alive | suspect | dead | left
    region: str = ""
    local: bool = False


def gossip_key(env: Mapping[str, str], encryption_key: str | None) -> str | None:
    """The 32-byte gossip key (base64): BIFROST_CLUSTER_KEY, else derived from the encryption key; None: plaintext."""
    explicit = env.get("BIFROST_CLUSTER_KEY")
    if explicit:
        return explicit
    if encryption_key:
        digest = hashlib.blake2b(encryption_key.encode(), digest_size=32, person=b"bifrost-gossip").digest()
        return base64.b64encode(digest).decode()
    return None


def advertise_host(env: Mapping[str, str], seeds: list[str]) -> str:
    """The address peers reach us at: BIFROST_CLUSTER_ADVERTISE_ADDR, POD_IP, the route to a seed, the hostname."""
    for var in ("BIFROST_CLUSTER_ADVERTISE_ADDR", "POD_IP"):
        if env.get(var):
            return env[var]
    for seed in seeds:
        hp = split_host_port(seed)
        if hp is None:
            continue
        try:
            info = socket.getaddrinfo(hp[0], hp[1], type=socket.SOCK_DGRAM)[0]
            with socket.socket(info[0], socket.SOCK_DGRAM) as s:
                s.connect(info[4])  # UDP connect sends nothing; it only picks the outgoing interface
                return str(s.getsockname()[0])
        except OSError:
            continue
    try:
        return socket.gethostbyname(socket.gethostname())
    except OSError:
        return "127.0.0.1"


class ClusterNode:
    """Start with `start()`, stop with `stop()` (leaves gracefully). `broadcast_config_changed` is safe to call
    from any request handler: it returns at once (an awaitable task, for callers that want to wait)."""

    def __init__(self, cfg: ClusterConfig, *, on_config_changed: ConfigChanged, encryption_key: str | None = None,
                 env: Mapping[str, str] | None = None) -> None:
        self.cfg = cfg
        self.env = dict(os.environ if env is None else env)
        self.on_config_changed = on_config_changed
        self.encryption_key = encryption_key
        self.sources: list[Source] = build_sources(cfg, self.env)
        self.name = self.env.get("BIFROST_CLUSTER_NODE_NAME") or f"{socket.gethostname()[:56]}:{cfg.gossip.port}"
        self.address = ""
        self.cluster: kinship.Cluster | None = None
        self.discovered: list[str] = []
        self.last_discovery_error = ""
        self._seq = 0
        self._seen: dict[tuple[str, int], int] = {}
        self._unreachable: set[str] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._applying = asyncio.Lock()
        # First byte of a user message -> handler(sender name, rest); other messages are config notices.
        self.message_handlers: dict[bytes, Callable[[str, bytes], None]] = {}

    # --- lifecycle --------------------------------------------------------------------------------------

    def kinship_config(self, seeds: list[str]) -> kinship.Config:
        g = self.cfg.gossip
        host = advertise_host(self.env, seeds)
        bind_host = host if _is_loopback(host) else "0.0.0.0"  # a loopback address is only reachable locally
        key = gossip_key(self.env, self.encryption_key)
        extra: dict[str, Any] = {"keys": [key]} if key else {"insecure_plaintext": True}
        return kinship.Config.lan(
            name=self.name, bind=join_host_port(bind_host, g.port), advertise=join_host_port(host, g.port),
            cluster="bifrost", meta={"region": self.cfg.region, "cfg": "0"}, probe_interval=PROBE_INTERVAL,
            tcp_timeout=float(g.timeout_seconds), suspicion_mult=g.failure_threshold,
            expected_confirmations=g.success_threshold, **extra)

    async def start(self) -> None:
        seeds = await self.discover()
        kcfg = self.kinship_config(seeds)
        if kcfg.insecure_plaintext:
            log.warning("gossip: traffic on port %d is not encrypted: set BIFROST_ENCRYPTION_KEY (the gossip key is "
                        "derived from it) or BIFROST_CLUSTER_KEY (base64 of 32 bytes) on every node",
                        self.cfg.gossip.port)
        kinship.log_to_python(logging.WARNING)
        cluster = kinship.Cluster(kcfg)
        try:
            await cluster.start()
        except OSError as exc:
            raise RuntimeError(f"gossip: cannot listen on {kcfg.bind} (TCP and UDP): {exc}; another process uses "
                               "the port, or set cluster_config.gossip.port to a free one") from None
        self.cluster = cluster
        self.address = cluster.local.addr
        self._spawn(self._events(cluster.events()))
        log.info("gossip: node %s listening on %s (TCP+UDP), region %s; finding peers via %s", self.name,
                 self.address, self.cfg.region, "; ".join(s.describe for s in self.sources) or "nothing")
        # Joining waits on peers (up to timeout_seconds each): in the background, so startup and /health do not.
        self._spawn(self._rediscover_loop(seeds))

    async def stop(self, leave_timeout: float = 5.0) -> None:
        cluster, self.cluster = self.cluster, None
        for t in list(self._tasks):
            t.cancel()
        if cluster is None:
            return
        try:
            await cluster.leave(timeout=leave_timeout)
            log.info("gossip: node %s left the cluster", self.name)
        except Exception as exc:  # leaving is best effort: peers detect us as dead instead
            log.warning("gossip: leaving the cluster failed (%s); peers will mark this node dead", exc)
        await cluster.close()

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        t = asyncio.ensure_future(coro)
        self._tasks.add(t)
        t.add_done_callback(self._tasks.discard)
        return t

    # --- discovery and joining --------------------------------------------------------------------------

    async def discover(self) -> list[str]:
        found: list[str] = []
        errors = []
        for src in self.sources:
            try:
                got = await src.discover()
            except DiscoveryError as exc:
                errors.append(str(exc))
                continue
            found += [a for a in allowed(got, self.cfg.discovery.allowed_address_space) if a not in found]
        error = "; ".join(errors)
        if error and error != self.last_discovery_error:
            log.error("gossip: %s", error)
        elif not error and self.last_discovery_error:
            log.info("gossip: discovery works again (%d address(es))", len(found))
        self.last_discovery_error = error
        self.discovered = found
        return found

    async def _join(self, seeds: list[str]) -> int:
        cluster = self.cluster
        if cluster is None:
            return 0
        known = {m.addr for m in cluster.members()} | {self.address}
        todo = [s for s in seeds if s not in known and not self._is_self(s)]
        results = await asyncio.gather(*(self._join_one(cluster, s) for s in todo))
        return sum(results)

    def _is_self(self, addr: str) -> bool:
        hp, me = split_host_port(addr), split_host_port(self.address)
        return hp is not None and me is not None and hp[1] == me[1] and hp[0] in (me[0], "localhost") and \
            _is_loopback(me[0]) == _is_loopback(hp[0])

    async def _join_one(self, cluster: kinship.Cluster, addr: str) -> int:
        timeout = float(self.cfg.gossip.timeout_seconds)
        try:
            n = await asyncio.wait_for(cluster.join([addr]), timeout)
        except (kinship.JoinError, TimeoutError, OSError) as exc:
            level = logging.DEBUG if addr in self._unreachable else logging.WARNING
            self._unreachable.add(addr)
            log.log(level, "gossip: peer unreachable at %s (join: %s); retrying every %.0f s", addr,
                    str(exc) or f"no answer within {timeout:g}s", REDISCOVER_SECONDS)
            return 0
        except kinship.KinshipError as exc:
            log.warning("gossip: joining %s failed: %s", addr, exc)
            return 0
        if addr in self._unreachable:
            self._unreachable.discard(addr)
            log.info("gossip: peer at %s answers again", addr)
        return 1 if n else 0

    async def _rediscover_loop(self, seeds: list[str]) -> None:
        joined = await self._join(seeds)
        if seeds and not joined and self.alive_count() <= 1:
            log.warning("gossip: no peer answered yet; this node runs alone and retries every %.0f s",
                        REDISCOVER_SECONDS)
        while True:
            await asyncio.sleep(REDISCOVER_SECONDS)
            try:
                await self._join(await self.discover())
            except Exception:  # a bug here must not end discovery for the life of the process
                log.exception("gossip: discovery round failed")

    # --- events -----------------------------------------------------------------------------------------

    async def _events(self, events: Any) -> None:
        try:
            async for ev in events:
                try:
                    await self._event(ev)
                except Exception:  # one bad event must not stop membership logging
                    log.exception("gossip: handling %r failed", ev)
        except kinship.KinshipClosed as exc:
            if self.cluster is not None:
                log.error("gossip: the membership layer stopped: %s", exc)

    async def _event(self, ev: Any) -> None:
        m: Any = getattr(ev, "member", None)
        if isinstance(ev, kinship.MemberJoined):
            log.info("gossip: peer %s joined at %s (region %s); %d member(s) alive", m.name, m.addr,
                     m.meta.get("region", "?"), self.alive_count())
            self._seen[(m.name, m.epoch)] = _seq(m.meta)
        elif isinstance(ev, kinship.MemberSuspect):
            log.warning("gossip: peer %s at %s is suspect: it missed its probes", m.name, m.addr)
        elif isinstance(ev, kinship.MemberRecovered):
            log.info("gossip: peer %s at %s recovered: it answers probes again", m.name, m.addr)
        elif isinstance(ev, kinship.MemberDead):
            log.warning("gossip: peer %s at %s is dead: no answer to direct, indirect or TCP probes; "
                        "%d member(s) alive", m.name, m.addr, self.alive_count())
            self._seen.pop((m.name, m.epoch), None)
        elif isinstance(ev, kinship.MemberLeft):
            log.info("gossip: peer %s at %s left the cluster; %d member(s) alive", m.name, m.addr, self.alive_count())
            self._seen.pop((m.name, m.epoch), None)
        elif isinstance(ev, kinship.MemberUpdated):
            if _seq(m.meta) > self._seen.get((m.name, m.epoch), 0):
                self._spawn(self._check_gap(m.name, m.epoch, _seq(m.meta)))
        elif isinstance(ev, kinship.UserMessage):
            handler = self.message_handlers.get(ev.data[:1])
            if handler is not None:
                handler(f"{ev.sender.name}/{ev.sender.epoch}", ev.data[1:])
            else:
                await self._notice(ev)
        elif isinstance(ev, kinship.NameConflict):
            log.error("gossip: two nodes claim the name %s (%s and %s); give each its own "
                      "BIFROST_CLUSTER_NODE_NAME", m.name, m.addr, ev.other_addr)
        elif isinstance(ev, kinship.EventsLost):
            log.warning("gossip: %d membership event(s) lost while busy; reloading all config", ev.count)
            await self._apply(RESYNC, "", "events lost")

    async def _check_gap(self, name: str, epoch: int, seq: int) -> None:
        # Membership rumours (the metadata counter) travel ahead of user broadcasts: give the notice a moment.
        await asyncio.sleep(NOTICE_GRACE)
        key = (name, epoch)
        if self._seen.get(key, 0) < seq:
            self._seen[key] = seq
            await self._apply(RESYNC, "", f"{name} (missed notice)")

    async def _notice(self, ev: kinship.UserMessage) -> None:
        try:
            n = msgspec.json.decode(ev.data, type=Notice)
        except msgspec.DecodeError:
            log.warning("gossip: ignored a message from %s that is not a config notice", ev.sender.name)
            return
        key = (ev.sender.name, ev.sender.epoch)
        last = self._seen.get(key, 0)
        if n.s <= last:
            return  # already applied (or covered by a resync)
        self._seen[key] = n.s
        if n.s > last + 1 and last:
            await self._apply(RESYNC, "", f"{ev.sender.name} (missed notice)")
        else:
            await self._apply(n.k, n.n, ev.sender.name)

    async def _apply(self, kind: str, name: str, sender: str) -> None:
        async with self._applying:
            try:
                await self.on_config_changed(kind, name)
            except Exception as exc:  # the store may be down: say so; the next notice or resync retries
                log.error("gossip: applying config change %s from %s failed: %s: %s", _what(kind, name), sender,
                          type(exc).__name__, exc)
                return
        log.info("gossip: applied config change %s from %s", _what(kind, name), sender)

    # --- config-change notices --------------------------------------------------------------------------

    def broadcast_config_changed(self, kind: str, name: str) -> asyncio.Task[None]:
        """Tell every peer that entity `kind`/`name` changed in the config store; they reload it."""
        self._seq += 1
        return self._spawn(self._send_notice(Notice(k=kind, n=name, s=self._seq)))

    async def _send_notice(self, notice: Notice) -> None:
        cluster = self.cluster
        if cluster is None:
            return
        data = msgspec.json.encode(notice)
        try:
            if len(data) <= cluster.config.max_user_broadcast:
                await cluster.broadcast(data)
            else:  # too big to piggyback on gossip: one direct message per member
                for m in cluster.members():
                    if m.name != self.name:
                        await cluster.send(m, data)
            # The counter in our metadata lets a peer that missed the broadcast notice the gap.
            await cluster.update_meta(cfg=str(notice.s))
        except kinship.KinshipError as exc:
            log.warning("gossip: could not send config change %s: %s", _what(notice.k, notice.n), exc)
            return
        log.info("gossip: sent config change %s to %d peer(s)", _what(notice.k, notice.n), self.alive_count() - 1)

    # --- views ------------------------------------------------------------------------------------------

    def alive_count(self) -> int:
        c = self.cluster
        return sum(1 for m in c.members() if m.state is kinship.State.ALIVE) if c is not None else 0

    def members(self) -> list[MemberView]:
        c = self.cluster
        if c is None:
            return []
        return [MemberView(name=m.name, address=m.addr, state=m.state.name.lower(), region=m.meta.get("region", ""),
                           local=m.name == self.name) for m in c.members()]


def _what(kind: str, name: str) -> str:
    return "(everything)" if kind == RESYNC else f"{kind} {name}".rstrip()


def _seq(meta: Mapping[str, str]) -> int:
    raw = meta.get("cfg", "0")
    return int(raw) if raw.isdigit() else 0


def _is_loopback(host: str) -> bool:
    try:
        import ipaddress

        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"
