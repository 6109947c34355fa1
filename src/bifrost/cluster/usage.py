"""`GossipUsage`: budget and rate-limit counters shared across the cluster through gossip, with a stated bound.

It has the shape of governance's `UsageBackend` (try_consume / add / current, counters in fixed windows of
`window_s` seconds aligned to the Unix epoch), without importing governance (cluster sits below it).

Every node counts its own use per (key, window) and, every `SYNC_INTERVAL` (0.2 s), sends every counter
it knows that changed in the last `RESEND_FOR` seconds (its own and the ones peers told it, so a lost
datagram is repaired by the next report or by a third node) to every member; every 25th report (5 s)
carries every counter, so a node that joins or restarts catches up. Counters are per *run* of
a node (name and epoch), merged by maximum, so duplicates and reordering are harmless and a restarted
node learns its previous run's use back from its peers.

The bound (docs/cluster.md): a node admits at most `q = max(amount, SLACK × limit / N)` of a key between
two of its reports (a larger request waits for the next report, at most `MAX_WAIT`), so another node can be
blind to at most 2q of it (the report in flight and what came after). With N nodes, the total admitted in a
window is at most `limit + (N − 1) × 2q`, i.e. `limit × (1 + 2 × SLACK × (N − 1) / N)` for requests
smaller than q: under 10 % over with SLACK = 0.05, whatever N. The price: under a burst on one key a node
admits q per report (q every 0.2 s) and refuses what it cannot admit within MAX_WAIT (1 s). Use recorded
after a call (`add`) cannot be refused; its blind spot is what the other nodes recorded in their last two
sync intervals.
"""

from __future__ import annotations

import asyncio
import logging
import time

import kinship
import msgspec

from bifrost.cluster.node import ClusterNode

log = logging.getLogger("bifrost.cluster")

SYNC_INTERVAL = 0.2
RESEND_FOR = 2.0
FULL_EVERY = 25  # every 25th report (5 s) carries every counter: a node that joins or restarts catches up
SLACK = 0.05
MAX_WAIT = 1.0
PREFIX = b"U"
_CHUNK = 200  # counters per message: well under kinship's 64 KiB direct-message limit

Slot = tuple[str, float, int]  # key, window_s, window id
Entry = tuple[str, str, float, int, float]  # run, key, window_s, window id, total


def window_id(window_s: float, now: float | None = None) -> int:
    return int((time.time() if now is None else now) // window_s)


class GossipUsage:
    def __init__(self, node: ClusterNode, *, sync_interval: float = SYNC_INTERVAL, slack: float = SLACK) -> None:
        self.node = node
        self.sync_interval, self.slack = sync_interval, slack
        self._counts: dict[Slot, dict[str, float]] = {}  # slot -> run -> that run's total
        self._changed: dict[tuple[str, Slot], float] = {}  # (run, slot) -> monotonic time of last change
        self._pending: dict[Slot, float] = {}  # own use since our last report
        self._reported = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._round = 0
        node.message_handlers[PREFIX] = self._receive

    @property
    def run(self) -> str:
        c = self.node.cluster
        return f"{self.node.name}/{c.local.epoch}" if c is not None else self.node.name

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.ensure_future(self._loop())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    # --- UsageBackend ---------------------------------------------------------------------------------

    async def try_consume(self, key: str, amount: float, limit: float, window_s: float) -> tuple[bool, float]:
        slot = (key, window_s, window_id(window_s))
        q = max(amount, self.slack * limit / max(1, self.node.alive_count()))
        deadline = time.monotonic() + MAX_WAIT
        while self._pending.get(slot, 0.0) > 0 and self._pending[slot] + amount > q:
            # The bound: no more than q unreported. Wait for the next report; a burst that cannot be admitted
            # within MAX_WAIT is refused, as the limit would be by a node that cannot prove it is not over it.
            self._reported.clear()
            try:
                await asyncio.wait_for(self._reported.wait(), max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                return False, self._total(slot)
        total = self._total(slot)
        if total + amount > limit:
            return False, total
        self._record(slot, amount)
        return True, total + amount

    async def add(self, key: str, amount: float, window_s: float) -> float:
        slot = (key, window_s, window_id(window_s))
        self._record(slot, amount)
        return self._total(slot)

    async def current(self, key: str, window_s: float) -> float:
        return self._total((key, window_s, window_id(window_s)))

    # --- counting -------------------------------------------------------------------------------------

    def _total(self, slot: Slot) -> float:
        return sum(self._counts.get(slot, {}).values())

    def _record(self, slot: Slot, amount: float) -> None:
        runs = self._counts.setdefault(slot, {})
        run = self.run
        runs[run] = runs.get(run, 0.0) + amount
        self._changed[(run, slot)] = time.monotonic()
        self._pending[slot] = self._pending.get(slot, 0.0) + amount

    def _receive(self, sender: str, data: bytes) -> None:
        try:
            entries = msgspec.json.decode(data, type=list[tuple[str, str, float, int, float]])
        except msgspec.ValidationError:
            log.warning("gossip: ignored a malformed usage report from %s", sender)
            return
        now = time.monotonic()
        mine = self.run
        for run, key, window_s, wid, total in entries:
            slot = (key, window_s, wid)
            runs = self._counts.setdefault(slot, {})
            # Our own current run is ours to count; a report about it is stale by construction.
            if run != mine and total > runs.get(run, 0.0):
                runs[run] = total
                self._changed[(run, slot)] = now

    # --- reporting ------------------------------------------------------------------------------------

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.sync_interval)
            try:
                await self.report()
            except Exception:  # one failed round must not end sharing; the next one resends
                log.exception("gossip: usage report failed")

    async def report(self) -> None:
        now, cluster = time.monotonic(), self.node.cluster
        self._sweep()
        self._round += 1
        since = float("inf") if self._round % FULL_EVERY == 0 else RESEND_FOR
        entries: list[Entry] = [(run, s[0], s[1], s[2], v) for s, runs in self._counts.items()
                                for run, v in runs.items() if now - self._changed.get((run, s), 0.0) <= since]
        self._pending.clear()
        self._reported.set()
        if cluster is None or not entries:
            return
        peers = [m for m in cluster.members() if m.name != self.node.name]
        for i in range(0, len(entries), _CHUNK):
            data = PREFIX + msgspec.json.encode(entries[i:i + _CHUNK])
            for m in peers:
                try:
                    await cluster.send(m, data)
                except kinship.KinshipError as exc:  # a member that just left or restarted: next round
                    log.debug("gossip: usage report to %s not sent: %s", m.name, exc)

    def _sweep(self) -> None:
        """Forget counters of windows that have ended."""
        now = time.time()
        for slot in [s for s in self._counts if s[2] < window_id(s[1], now)]:
            for run in self._counts.pop(slot):
                self._changed.pop((run, slot), None)


__all__ = ["GossipUsage", "window_id"]
