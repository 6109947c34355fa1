"""The batch writer's contract: enqueue never waits, batches by size and time, a bounded buffer while the
sink refuses, drops counted, recovery by itself, and a flush at close."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from bifrost.stores.logs.writer import LogWriter

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Rec:
    def __init__(self, i: int) -> None:
        self.i = i

    def row(self) -> dict[str, Any]:
        return {"i": self.i}


class Sink:
    """Accepts batches unless `down`; `hang` makes insert wait forever (a stuck database)."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.down = False
        self.hang = False

    async def insert(self, rows: list[dict[str, Any]]) -> None:
        if self.hang:
            await asyncio.Event().wait()
        if self.down:
            raise ConnectionRefusedError("connection refused")
        self.batches.append([r["i"] for r in rows])

    @property
    def rows(self) -> list[int]:
        return [i for b in self.batches for i in b]


async def until(pred: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.01)


async def test_batches_by_size_and_by_time_in_order() -> None:
    sink = Sink()
    w = LogWriter(sink, batch_size=10, flush_interval=0.2)
    w.start()
    for i in range(25):
        w.enqueue(Rec(i))
    await until(lambda: len(sink.rows) == 25)
    assert sink.rows == list(range(25))
    assert [len(b) for b in sink.batches][:2] == [10, 10]
    await w.close()


async def test_enqueue_never_waits_even_when_the_sink_hangs() -> None:
    sink = Sink()
    sink.hang = True
    drops: list[int] = []
    w = LogWriter(sink, max_pending=100, batch_size=10, flush_interval=0.01, on_drop=drops.append)
    w.start()
    await asyncio.sleep(0.05)
    t0 = time.perf_counter()
    for i in range(10_000):
        w.enqueue(Rec(i))
    per_call = (time.perf_counter() - t0) / 10_000
    assert per_call < 50e-6  # microseconds, not a wait on the database
    assert w.pending == 100 and sum(drops) == w.dropped == 10_000 - 100
    await asyncio.sleep(0.05)  # the writer takes a batch of 10 and waits on the hung sink with it
    for i in range(50):
        w.enqueue(Rec(i))
    assert w.pending == 100 and w.dropped == 10_000 - 100 + 40
    await w.close(timeout=0.2)  # nothing can be written: all of it is counted as dropped
    assert w.pending == 0 and w.dropped == 10_050


async def test_refused_batches_are_kept_up_to_the_bound_then_written_when_the_sink_returns() -> None:
    sink = Sink()
    sink.down = True
    w = LogWriter(sink, max_pending=20, batch_size=5, flush_interval=0.01, max_backoff=0.05)
    w.start()
    for i in range(50):
        w.enqueue(Rec(i))
        await asyncio.sleep(0)
    await until(lambda: w.dropped == 30)
    sink.down = False
    await until(lambda: len(sink.rows) == 20)
    assert sink.rows == list(range(20))  # the oldest kept, in order, none twice
    w.enqueue(Rec(99))
    await until(lambda: sink.rows[-1] == 99)
    await w.close()


async def test_close_flushes_what_is_pending() -> None:
    sink = Sink()
    w = LogWriter(sink, batch_size=1000, flush_interval=60)
    w.start()
    for i in range(7):
        w.enqueue(Rec(i))
    await w.close(timeout=2)
    assert sink.rows == list(range(7)) and w.dropped == 0


async def test_a_record_that_cannot_become_a_row_costs_only_itself() -> None:
    class Bad(Rec):
        def row(self) -> dict[str, Any]:
            raise ValueError("broken")

    sink = Sink()
    w = LogWriter(sink, batch_size=10, flush_interval=0.01)
    w.start()
    w.enqueue(Rec(1))
    w.enqueue(Bad(2))
    w.enqueue(Rec(3))
    await until(lambda: len(sink.rows) == 2)
    assert sink.rows == [1, 3] and w.dropped == 1
    await w.close()
