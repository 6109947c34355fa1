"""Usage counters: LocalUsage and RedisUsage (the real Redis) keep the same contract — check-and-add
never passes the limit, even under concurrency, and a new window starts from zero."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from bifrost.governance.usage import LocalUsage, RedisUsage, window_reset_in

REDIS_URL = os.environ.get("BIFROST_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
REQUIRE = os.environ.get("BIFROST_TEST_REQUIRE_SERVICES") == "1"


async def _redis() -> RedisUsage:
    r = RedisUsage(REDIS_URL, prefix=f"bftest:{uuid.uuid4().hex}:")
    try:
        await r.ping()
    except Exception as exc:
        await r.close()
        if REQUIRE:
            raise
        pytest.skip(f"Redis not reachable at {REDIS_URL}: {exc}")
    return r


async def _cleanup(r: Any) -> None:
    if isinstance(r, RedisUsage):
        keys = [k async for k in r._r.scan_iter(match=r.prefix + "*")]
        if keys:
            await r._r.delete(*keys)
    await r.close()


def run(backend: str, fn: Callable[[Any], Awaitable[None]]) -> None:
    async def go() -> None:
        u = LocalUsage() if backend == "local" else await _redis()
        try:
            await fn(u)
        finally:
            await _cleanup(u)
    asyncio.run(go())


@pytest.fixture(params=["local", "redis"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_try_consume_stops_at_the_limit_and_reports_the_current_value(backend: str) -> None:
    async def fn(u: Any) -> None:
        assert await u.try_consume("k", 2, 5, 3600) == (True, 2.0)
        assert await u.try_consume("k", 3, 5, 3600) == (True, 5.0)
        assert await u.try_consume("k", 0.5, 5, 3600) == (False, 5.0)
        assert await u.current("k", 3600) == 5.0
    run(backend, fn)


def test_add_accumulates_fractional_costs(backend: str) -> None:
    async def fn(u: Any) -> None:
        for _ in range(10):
            await u.add("cost", 0.000015, 3600)
        assert await u.current("cost", 3600) == pytest.approx(0.00015)
        assert await u.current("other", 3600) == 0.0
    run(backend, fn)


def test_a_new_window_starts_from_zero(backend: str) -> None:
    async def fn(u: Any) -> None:
        await asyncio.sleep(window_reset_in(1.0) + 0.02)  # start at a window boundary
        assert (await u.try_consume("w", 1, 1, 1.0))[0]
        assert not (await u.try_consume("w", 1, 1, 1.0))[0]
        await asyncio.sleep(window_reset_in(1.0) + 0.05)
        assert await u.current("w", 1.0) == 0.0
        assert (await u.try_consume("w", 1, 1, 1.0))[0]
    run(backend, fn)


def test_concurrent_consumers_never_pass_the_limit(backend: str) -> None:
    async def fn(u: Any) -> None:
        results = await asyncio.gather(*(u.try_consume("c", 1, 10, 3600) for _ in range(50)))
        assert sum(ok for ok, _ in results) == 10
        assert await u.current("c", 3600) == 10.0
    run(backend, fn)


def test_redis_counters_are_shared_between_instances() -> None:
    async def go() -> None:
        a = await _redis()
        b = RedisUsage(REDIS_URL, prefix=a.prefix)
        try:
            await a.add("shared", 3, 3600)
            assert await b.current("shared", 3600) == 3.0
            assert await b.try_consume("shared", 1, 3, 3600) == (False, 3.0)
        finally:
            await b.close()
            await _cleanup(a)
    asyncio.run(go())


def test_window_reset_in_counts_down_to_the_boundary() -> None:
    assert window_reset_in(60, now=120.0) == 60.0
    assert window_reset_in(60, now=150.5) == pytest.approx(29.5)
    assert 0 < window_reset_in(3600, now=time.time()) <= 3600




def test_batch_read_and_add_match_the_single_counter_calls(backend: str) -> None:
    async def fn(u: Any) -> None:
        await u.add_many([("a", 3600, 2.5), ("b", 60, 1.0), ("a", 3600, 0.5)])
        assert await u.current_many([("a", 3600), ("b", 60), ("c", 60)]) == [3.0, 1.0, 0.0]
        assert await u.current("a", 3600) == 3.0
    run(backend, fn)
