"""A provider's request queue: at most `concurrency` requests upstream, `buffer_size` waiting.

This is Bifrost's per-provider channel plus workers, expressed as an admission gate: a request
takes a slot if one is free, otherwise waits in FIFO order. When the waiting line is full it is
dropped at once (503) with `drop_excess_requests`, or else waits for room in the line.
The fast path (a free slot) allocates nothing and never yields to the event loop.
"""

from __future__ import annotations

import asyncio
from collections import deque

from bifrost.schemas.errors import QueueFullError


class ProviderQueue:
    __slots__ = ("provider", "concurrency", "buffer_size", "in_flight", "_waiters", "_overflow")

    def __init__(self, provider: str, concurrency: int, buffer_size: int) -> None:
        self.provider = provider
        self.concurrency = concurrency
        self.buffer_size = buffer_size
        self.in_flight = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        # Requests waiting for room in the line itself (drop_excess_requests off, line full).
        self._overflow: deque[asyncio.Future[None]] = deque()

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    async def acquire(self, drop_excess: bool) -> None:
        if self.in_flight < self.concurrency and not self._waiters:
            self.in_flight += 1
            return
        loop = asyncio.get_running_loop()
        while len(self._waiters) >= self.buffer_size:
            if drop_excess:
                raise QueueFullError(self.provider)
            room = loop.create_future()
            self._overflow.append(room)
            try:
                await room
            except BaseException:
                if not room.cancelled() and room.done():
                    self._wake_overflow()
                else:
                    self._remove(self._overflow, room)
                raise
        if self.in_flight < self.concurrency and not self._waiters:  # resize() may have freed slots
            self.in_flight += 1
            self._wake_overflow()
            return
        fut = loop.create_future()
        self._waiters.append(fut)
        try:
            await fut
        except BaseException:
            if fut.done() and not fut.cancelled():
                # We were granted the slot just as we were cancelled: pass it on.
                self.release()
            else:
                self._remove(self._waiters, fut)
                self._wake_overflow()
            raise
        # The slot was transferred to us by release(); in_flight already counts it.

    def release(self) -> None:
        # After resize() shrank the limit, slots are given back until in_flight is within it.
        while self._waiters and self.in_flight <= self.concurrency:
            fut = self._waiters.popleft()
            if not fut.done():
                fut.set_result(None)  # hand our slot over: in_flight stays the same
                self._wake_overflow()
                return
        self.in_flight -= 1

    def resize(self, concurrency: int, buffer_size: int) -> None:
        """Apply new limits live; waiters are admitted if the new concurrency allows."""
        self.concurrency = concurrency
        self.buffer_size = buffer_size
        while self._waiters and self.in_flight < self.concurrency:
            fut = self._waiters.popleft()
            if not fut.done():
                self.in_flight += 1
                fut.set_result(None)
        self._wake_overflow()

    def _wake_overflow(self) -> None:
        while self._overflow and len(self._waiters) < self.buffer_size:
            room = self._overflow.popleft()
            if not room.done():
                room.set_result(None)
                return

    @staticmethod
    def _remove(q: deque[asyncio.Future[None]], fut: asyncio.Future[None]) -> None:
        try:
            q.remove(fut)
        except ValueError:
            pass
