"""Engine.apply_provider / remove_provider: swap runtimes live, keep the queue, close a replaced client
only once the requests still using it are done.
(End to end, mid-stream: tests/integration/test_live_apply.py.)"""

from __future__ import annotations

import asyncio

from bifrost.config.model import GatewayConfig, Key, NetworkConfig, ProviderConfig, QueueConfig
from bifrost.engine.core import Engine
from bifrost.metrics import GatewayMetrics


def _cfg(base: str = "http://127.0.0.1:9", key: str = "sk-a", conc: int = 10) -> ProviderConfig:
    return ProviderConfig(name="openai", keys=(Key(name="k", value=key),), network=NetworkConfig(base_url=base),
                          queue=QueueConfig(concurrency=conc, buffer_size=conc * 2))


def test_key_and_queue_changes_keep_client_and_queue() -> None:
    async def main() -> None:
        eng = Engine(GatewayConfig(providers={"openai": _cfg()}), GatewayMetrics())
        old = eng.runtimes["openai"]
        eng.apply_provider(_cfg(key="sk-b", conc=3))
        new = eng.runtimes["openai"]
        assert new is not old and new.provider is old.provider and new.queue is old.queue
        assert new.queue.concurrency == 3 and new.queue.buffer_size == 6
        assert new.keys.select("gpt-4o").value == "sk-b"
        assert old.keys.select("gpt-4o").value == "sk-a"  # a request holding the old runtime keeps its key
        await eng.close()
    asyncio.run(main())


def test_replaced_client_is_closed_only_after_its_last_request() -> None:
    async def main() -> None:
        eng = Engine(GatewayConfig(providers={"openai": _cfg()}), GatewayMetrics())
        old = eng.runtimes["openai"]
        assert old.provider is not None
        closed = asyncio.Event()
        real_close = old.provider.close

        async def close() -> None:
            closed.set()
            await real_close()

        old.provider.close = close  # type: ignore[method-assign]
        old.users = 1  # a stream is still reading from it
        eng.apply_provider(_cfg(base="http://127.0.0.1:10"))
        assert eng.runtimes["openai"].provider is not old.provider
        await asyncio.sleep(0.5)
        assert not closed.is_set()
        old.users = 0
        await asyncio.wait_for(closed.wait(), 2)
        await eng.close()
    asyncio.run(main())


def test_removed_provider_stops_resolving_but_is_closed_when_idle() -> None:
    async def main() -> None:
        cfg = ProviderConfig(name="openai", keys=(Key(name="k", value="sk", models=("only-here",)),),
                             network=NetworkConfig(base_url="http://127.0.0.1:9"))
        eng = Engine(GatewayConfig(providers={"openai": cfg}), GatewayMetrics())
        assert eng.resolve("only-here").provider == "openai"
        assert eng.remove_provider("openai") and not eng.remove_provider("openai")
        assert "openai" not in eng.runtimes and "only-here" not in eng.catalog
        await eng.close()
    asyncio.run(main())
