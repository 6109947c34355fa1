"""Usage counters for budgets and rate limits, behind one small protocol.

A counter is named by a key and lives in fixed windows of `window_s` seconds aligned to the Unix
epoch (a 1-day window starts at 00:00 UTC); a new window starts from zero, which is how budgets
and rate limits reset. `LocalUsage` keeps counters in this process (one replica);
`RedisUsage` keeps them in Redis with atomic Lua scripts so that every replica shares exact counts.
"""

from __future__ import annotations

import math
import time
from typing import Any, Protocol

# Counters of windows this many windows old are dropped by LocalUsage's sweep.
_SWEEP_EVERY = 4096


def window_id(window_s: float, now: float | None = None) -> int:
    return int((time.time() if now is None else now) // window_s)


def window_reset_in(window_s: float, now: float | None = None) -> float:
    """Seconds until the current window of `window_s` ends."""
    t = time.time() if now is None else now
    return (math.floor(t / window_s) + 1) * window_s - t


class UsageBackend(Protocol):
    async def try_consume(self, key: str, amount: float, limit: float, window_s: float) -> tuple[bool, float]:
        """Atomically: if current + amount > limit -> (False, current), else add -> (True, new)."""
        ...

    async def add(self, key: str, amount: float, window_s: float) -> float:
        """Record actual use after a call; returns the new total of the current window."""
        ...

    async def current(self, key: str, window_s: float) -> float: ...


class BatchUsage(Protocol):
    """Optional: backends that can read or add several counters at once (one Redis round trip)."""

    async def current_many(self, counters: list[tuple[str, float]]) -> list[float]: ...
    async def add_many(self, items: list[tuple[str, float, float]]) -> None: ...


class LocalUsage:
    """In-process counters. Exact for one replica; several replicas each count their own."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, float, int], float] = {}
        self._ops = 0

    def _slot(self, key: str, window_s: float) -> tuple[str, float, int]:
        self._ops += 1
        if self._ops % _SWEEP_EVERY == 0:
            self._sweep()
        return (key, window_s, window_id(window_s))

    def _sweep(self) -> None:
        now = time.time()
        for slot in [s for s in self._counts if s[2] < window_id(s[1], now)]:
            del self._counts[slot]

    async def try_consume(self, key: str, amount: float, limit: float, window_s: float) -> tuple[bool, float]:
        slot = self._slot(key, window_s)
        cur = self._counts.get(slot, 0.0)
        if cur + amount > limit:
            return False, cur
        self._counts[slot] = cur + amount
        return True, cur + amount

    async def add(self, key: str, amount: float, window_s: float) -> float:
        slot = self._slot(key, window_s)
        new = self._counts.get(slot, 0.0) + amount
        self._counts[slot] = new
        return new

    async def current(self, key: str, window_s: float) -> float:
        return self._counts.get((key, window_s, window_id(window_s)), 0.0)

    async def current_many(self, counters: list[tuple[str, float]]) -> list[float]:
        return [self._counts.get((k, w, window_id(w)), 0.0) for k, w in counters]

    async def add_many(self, items: list[tuple[str, float, float]]) -> None:
        for k, w, amount in items:
            await self.add(k, amount, w)

    async def close(self) -> None:
        return None


# KEYS[1] = counter key; ARGV = amount, limit, ttl seconds. Floats as strings (INCRBYFLOAT).
_TRY_CONSUME = """
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
local amount = tonumber(ARGV[1])
if cur + amount > tonumber(ARGV[2]) then
  return {0, tostring(cur)}
end
local new = redis.call('INCRBYFLOAT', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return {1, tostring(new)}
"""
_ADD = """
local new = redis.call('INCRBYFLOAT', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
return tostring(new)
"""


class RedisUsage:
    """Counters in Redis: each check-and-add is one Lua script, so replicas never race past a limit.

    Keys are `<prefix><key>:<window_s>:<window id>` and expire one window after it ends.
    """

    def __init__(self, url: str, prefix: str = "bifrost:gov:") -> None:
        import redis.asyncio as aioredis

        self.url = url
        self.prefix = prefix
        self._r: Any = aioredis.from_url(url)
        self._try = self._r.register_script(_TRY_CONSUME)
        self._add = self._r.register_script(_ADD)

    def _key(self, key: str, window_s: float) -> str:
        return f"{self.prefix}{key}:{window_s:g}:{window_id(window_s)}"

    @staticmethod
    def _ttl(window_s: float) -> int:
        return max(1, math.ceil(window_s * 2))

    async def try_consume(self, key: str, amount: float, limit: float, window_s: float) -> tuple[bool, float]:
        ok, value = await self._try(keys=[self._key(key, window_s)],
                                    args=[repr(float(amount)), repr(float(limit)), self._ttl(window_s)])
        return bool(ok), float(value)

    async def add(self, key: str, amount: float, window_s: float) -> float:
        value = await self._add(keys=[self._key(key, window_s)], args=[repr(float(amount)), self._ttl(window_s)])
        return float(value)

    async def current(self, key: str, window_s: float) -> float:
        value = await self._r.get(self._key(key, window_s))
        return float(value) if value is not None else 0.0

    async def current_many(self, counters: list[tuple[str, float]]) -> list[float]:
        """Several counters in one round trip (MGET)."""
        values = await self._r.mget([self._key(k, w) for k, w in counters])
        return [float(v) if v is not None else 0.0 for v in values]

    async def add_many(self, items: list[tuple[str, float, float]]) -> None:
        """Add to several counters, `(key, window_s, amount)`, in one round trip (INCRBYFLOAT + EXPIRE each)."""
        pipe = self._r.pipeline(transaction=False)
        for k, w, amount in items:
            key = self._key(k, w)
            pipe.incrbyfloat(key, repr(float(amount)))
            pipe.expire(key, self._ttl(w))
        await pipe.execute()

    async def ping(self) -> None:
        await self._r.ping()

    async def close(self) -> None:
        await self._r.aclose()
