"""bifrost.engine.queue.ProviderQueue: concurrency bound, FIFO, drop vs wait, cancellation, live resize."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from bifrost.engine.queue import ProviderQueue
from bifrost.schemas.errors import QueueFullError


def run(coro_fn: Callable[[], Awaitable[Any]], timeout: float = 5) -> Any:
    async def bounded() -> Any:
        return await asyncio.wait_for(coro_fn(), timeout)
    return asyncio.run(bounded())


async def settle(n: int = 5) -> None:
    for _ in range(n):
        await asyncio.sleep(0)


def test_fast_path_does_not_yield() -> None:
    async def main() -> None:
        q = ProviderQueue("p", 2, 2)
        coro = q.acquire(False)
        with pytest.raises(StopIteration):
            coro.send(None)  # completes without suspending
        assert q.in_flight == 1
    run(main)


def test_concurrency_bound_is_held() -> None:
    async def main() -> None:
        q = ProviderQueue("p", 3, 100)
        active = peak = done = 0

        async def worker() -> None:
            nonlocal active, peak, done
            await q.acquire(False)
            try:
                active += 1
                peak = max(peak, active)
                assert q.in_flight <= 3
                await asyncio.sleep(0.005)
            finally:
                active -= 1
                q.release()
            done += 1

        await asyncio.gather(*(worker() for _ in range(30)))
        assert peak == 3 and done == 30
        assert q.in_flight == 0 and q.waiting == 0
    run(main)


def test_fifo_order() -> None:
    async def main() -> None:
        q = ProviderQueue("p", 1, 10)
        await q.acquire(False)
        order: list[int] = []

        async def waiter(i: int) -> None:
            await q.acquire(False)
            order.append(i)

        tasks = []
        for i in range(6):
            tasks.append(asyncio.ensure_future(waiter(i)))
            await settle()
        assert q.waiting == 6
        for _ in range(6):
            q.release()
            await settle()
        await asyncio.gather(*tasks)
        assert order == list(range(6))
        q.release()
        assert q.in_flight == 0
    run(main)


def test_drop_excess_raises_503_at_once_when_buffer_full() -> None:
    async def main() -> None:
        q = ProviderQueue("openai", 1, 1)
        await q.acquire(True)  # in flight
        waiter = asyncio.ensure_future(q.acquire(True))  # fills the buffer
        await settle()
        assert q.waiting == 1
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        with pytest.raises(QueueFullError) as ei:
            await q.acquire(True)
        assert loop.time() - t0 < 0.05
        e = ei.value
        assert e.status == 503 and e.type == "request_dropped" and e.provider == "openai"
        assert "concurrency_and_buffer_size.buffer_size" in e.message
        assert q.waiting == 1 and q.in_flight == 1  # the drop changed nothing
        q.release()
        await waiter
        q.release()
        assert q.in_flight == 0
    run(main)


def test_drop_excess_with_room_in_buffer_waits() -> None:
    async def main() -> None:
        q = ProviderQueue("p", 1, 2)
        await q.acquire(True)
        w1 = asyncio.ensure_future(q.acquire(True))
        w2 = asyncio.ensure_future(q.acquire(True))
        await settle()
        assert q.waiting == 2 and not w1.done() and not w2.done()
        with pytest.raises(QueueFullError):
            await q.acquire(True)
        q.release()
        await w1
        q.release()
        await w2
        q.release()
        assert q.in_flight == 0
    run(main)


def test_without_drop_excess_waits_and_proceeds() -> None:
    async def main() -> None:
        q = ProviderQueue("p", 1, 1)
        await q.acquire(False)
        finished: list[int] = []

        async def req(i: int) -> None:
            await q.acquire(False)
            finished.append(i)
            await asyncio.sleep(0.001)
            q.release()

        tasks = [asyncio.ensure_future(req(i)) for i in range(5)]
        await settle()
        assert q.waiting == 1  # one in the line, the others wait for room in it
        assert finished == []
        q.release()
        await asyncio.gather(*tasks)
        assert sorted(finished) == list(range(5))
        assert finished == list(range(5))  # room in the line is also granted in order
        assert q.in_flight == 0 and q.waiting == 0
    run(main)


def test_cancelled_waiter_does_not_leak_a_slot() -> None:
    async def main() -> None:
        q = ProviderQueue("p", 1, 5)
        await q.acquire(False)
        w = asyncio.ensure_future(q.acquire(False))
        await settle()
        assert q.waiting == 1
        w.cancel()
        await settle()
        assert w.cancelled() and q.waiting == 0
        q.release()
        assert q.in_flight == 0
        await q.acquire(False)  # fast path again
        assert q.in_flight == 1
    run(main)


def test_waiter_cancelled_just_after_being_granted_passes_the_slot_on() -> None:
    async def main() -> None:
        q = ProviderQueue("p", 1, 5)
        await q.acquire(False)
        a = asyncio.ensure_future(q.acquire(False))
        b = asyncio.ensure_future(q.acquire(False))
        await settle()
        q.release()  # grants a's future ...
        a.cancel()  # ... but a is cancelled before it runs
        await settle()
        assert a.cancelled()
        assert b.done() and not b.cancelled()  # the slot went to b
        assert q.in_flight == 1 and q.waiting == 0
        q.release()
        assert q.in_flight == 0
    run(main)


def test_cancelled_overflow_waiter_does_not_leak() -> None:
    async def main() -> None:
        q = ProviderQueue("p", 1, 1)
        await q.acquire(False)
        w = asyncio.ensure_future(q.acquire(False))
        o1 = asyncio.ensure_future(q.acquire(False))  # waiting for room in the line
        o2 = asyncio.ensure_future(q.acquire(False))
        await settle()
        o1.cancel()
        await settle()
        q.release()
        await w
        q.release()
        await asyncio.wait_for(o2, 1)
        q.release()
        assert q.in_flight == 0 and q.waiting == 0
    run(main)


def test_many_cancellations_leave_queue_consistent() -> None:
    async def main() -> None:
        q = ProviderQueue("p", 2, 4)
        tasks = [asyncio.ensure_future(q.acquire(False)) for _ in range(12)]  # 2 in, 4 in line, 6 overflow
        await settle()
        assert q.in_flight == 2 and q.waiting == 4
        for t in tasks[2::2]:  # cancel waiters and overflow waiters alike
            t.cancel()
        await settle()
        survivors = [t for t in tasks if not t.cancelled()]
        assert len(survivors) == 7
        granted = 0
        for _ in range(20):
            if all(t.done() for t in survivors):
                break
            q.release()
            granted += 1
            await settle()
        assert all(t.done() and not t.cancelled() for t in survivors)
        assert q.waiting == 0
        for _ in range(len(survivors) - granted):
            q.release()
        assert q.in_flight == 0
        await q.acquire(False)
        await q.acquire(False)
        assert q.in_flight == 2 and q.waiting == 0
    run(main)


def test_resize_grow_admits_waiters_live() -> None:
    async def main() -> None:
        q = ProviderQueue("p", 1, 10)
        await q.acquire(False)
        waiters = [asyncio.ensure_future(q.acquire(False)) for _ in range(4)]
        await settle()
        assert q.waiting == 4
        q.resize(3, 10)
        await settle()
        assert [w.done() for w in waiters] == [True, True, False, False]
        assert q.in_flight == 3 and q.waiting == 2
        assert (q.concurrency, q.buffer_size) == (3, 10)
        for _ in range(2):
            q.release()  # hands the slots to the last two waiters
            await settle()
        assert all(w.done() for w in waiters) and q.in_flight == 3
        for _ in range(3):
            q.release()
        assert q.in_flight == 0
    run(main)


def test_resize_grow_buffer_wakes_overflow_and_free_slots_are_used() -> None:
    async def main() -> None:
        q = ProviderQueue("p", 1, 1)
        await q.acquire(False)
        w = asyncio.ensure_future(q.acquire(False))
        o = asyncio.ensure_future(q.acquire(False))  # no room in the line
        await settle()
        q.resize(5, 5)
        await settle()
        # Both may proceed at once: there are free slots now.
        assert w.done() and o.done()
        assert q.in_flight == 3 and q.waiting == 0
        for _ in range(3):
            q.release()
        assert q.in_flight == 0
    run(main)


def test_resize_grow_wakes_every_overflow_waiter_that_fits() -> None:
    async def main() -> None:
        q = ProviderQueue("p", 1, 1)
        await q.acquire(False)
        w = asyncio.ensure_future(q.acquire(False))
        overflow = [asyncio.ensure_future(q.acquire(False)) for _ in range(3)]
        await settle()
        q.resize(10, 10)
        await settle(20)
        assert w.done() and all(o.done() for o in overflow)
        assert q.in_flight == 5 and q.waiting == 0
        for _ in range(5):
            q.release()
        assert q.in_flight == 0
    run(main)


def test_resize_shrink_holds_the_new_bound() -> None:
    async def main() -> None:
        q = ProviderQueue("p", 3, 10)
        for _ in range(3):
            await q.acquire(False)
        waiters = [asyncio.ensure_future(q.acquire(False)) for _ in range(3)]
        await settle()
        q.resize(1, 10)
        q.release()
        await settle()
        q.release()
        await settle()
        # Two of the original three released: one still holds its slot, which is the new limit.
        assert q.in_flight == 1 and not any(w.done() for w in waiters)
        q.release()
        await settle()
        assert waiters[0].done() and q.in_flight == 1
    run(main)
