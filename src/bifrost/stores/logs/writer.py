"""The bounded async batch writer between the logging plugin and the logs store.

`enqueue` is O(1) and never waits: it appends to a deque, or drops (and counts) when the bound is
reached. One background task turns pending records into rows and writes them in batches, by size
or every `flush_interval`. When the database is away, a failed batch is kept and retried with
backoff while new records keep buffering up to the bound; past it they are dropped, counted and
reported by a rate-limited warning. When the database returns, writing resumes by itself.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

log = logging.getLogger("bifrost.logs")


class Pending(Protocol):
    """A record waiting to be written: turned into a row only in the background task."""

    def row(self) -> dict[str, Any]: ...


class RowSink(Protocol):
    async def insert(self, rows: list[dict[str, Any]]) -> None: ...


class LogWriter:
    def __init__(self, store: RowSink | None = None, *, max_pending: int = 10_000, batch_size: int = 500,
                 flush_interval: float = 0.5, on_drop: Callable[[int], None] | None = None,
                 warn_every: float = 30.0, max_backoff: float = 5.0) -> None:
        self.store = store
        self.max_pending = max_pending
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.on_drop = on_drop
        self.warn_every = warn_every
        self.max_backoff = max_backoff
        self.dropped = 0
        self.written = 0
        self._buf: deque[Pending] = deque()
        self._failed: list[dict[str, Any]] = []  # rows of the batch the database last refused
        self._inflight = 0  # rows of the batch being written now (beyond the bound: at most one batch)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._down_since: float | None = None
        self._last_warn = 0.0

    @property
    def pending(self) -> int:
        return len(self._buf) + len(self._failed)

    # --- the request path ---------------------------------------------------------------------

    def enqueue(self, rec: Pending) -> None:
        if len(self._buf) + len(self._failed) >= self.max_pending or self._closing:
            self._drop(1)
            return
        self._buf.append(rec)
        if len(self._buf) >= self.batch_size and not self._wake.is_set():
            self._wake.set()

    # --- lifecycle ----------------------------------------------------------------------------

    def start(self, store: RowSink | None = None) -> None:
        if store is not None:
            self.store = store
        if self._task is None:
            self._task = asyncio.ensure_future(self._run())

    async def close(self, timeout: float = 10.0) -> None:
        """Stop, writing what is pending within `timeout`; what is left is dropped and counted."""
        self._closing = True
        self._wake.set()
        task = self._task
        inflight = 0
        if task is not None and not task.done():
            # asyncio.wait, not wait_for: on 3.11 wait_for can swallow a cancellation that races with
            # completion, which left this loop running and hung the event loop's shutdown.
            done, _ = await asyncio.wait({task}, timeout=timeout)
            if not done:
                inflight = self._inflight  # the batch the store is stuck on: cancelling loses it
                task.cancel()
                await asyncio.wait({task}, timeout=1.0)
        left = self.pending + max(inflight, self._inflight)
        if left:
            self._buf.clear()
            self._failed = []
            self._inflight = 0
            self._drop(left)
            log.warning("logs writer: %d request log(s) not written at shutdown (the logs store did not "
                        "accept them within %.0fs); they are counted in bifrost_logs_dropped_total",
                        left, timeout)

    # --- the background task ------------------------------------------------------------------

    async def _run(self) -> None:
        backoff = 0.25
        while True:
            if not self._closing:
                try:
                    async with asyncio.timeout(self.flush_interval):  # cancellation-safe, unlike wait_for
                        await self._wake.wait()
                except TimeoutError:
                    pass
            self._wake.clear()
            ok = await self._flush()
            if ok:
                backoff = 0.25
                if self._closing:
                    return
                continue
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self.max_backoff)

    async def _flush(self) -> bool:
        """Write everything pending; False when the database refused a batch."""
        while self._failed or self._buf:
            rows = self._failed or await self._take()
            if not rows:
                continue
            if self.store is None:
                self._failed = rows
                return False
            self._inflight = len(rows)
            try:
                await self.store.insert(rows)
            except Exception as exc:  # the database is away or refusing: keep the batch, retry later
                self._failed = rows
                self._unavailable(exc)
                return False
            finally:
                self._inflight = 0
            self._failed = []
            self.written += len(rows)
            if self._down_since is not None:
                log.warning("logs store is reachable again after %.0fs; writing resumed (%d request log(s) "
                            "dropped in total, see bifrost_logs_dropped_total)", time.monotonic() - self._down_since,
                            self.dropped)
                self._down_since = None
        return True

    async def _take(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        buf = self._buf
        while buf and len(rows) < self.batch_size:
            if len(rows) % 50 == 49:
                await asyncio.sleep(0)  # building rows is CPU: let requests run between slices
            rec = buf.popleft()
            try:
                rows.append(rec.row())
            except Exception:  # a record that cannot become a row costs itself, never the batch
                log.exception("logs writer: could not build a log row; dropping it")
                self._drop(1)
        return rows

    def _drop(self, n: int) -> None:
        self.dropped += n
        if self.on_drop is not None:
            self.on_drop(n)
        now = time.monotonic()
        if self._down_since is not None and now - self._last_warn >= self.warn_every:
            self._last_warn = now
            log.warning("logs store unavailable: buffer full (%d logs); %d request log(s) dropped so far; "
                        "inference is not affected", self.max_pending, self.dropped)

    def _unavailable(self, exc: Exception) -> None:
        now = time.monotonic()
        if self._down_since is None:
            self._down_since = now
        if now - self._last_warn >= self.warn_every:
            self._last_warn = now
            reason = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
            log.warning("logs store unavailable (%s): keeping up to %d request logs in memory and retrying; "
                        "%d dropped so far; inference is not affected. Check that the logs database is "
                        "running and reachable", reason, self.max_pending, self.dropped)
