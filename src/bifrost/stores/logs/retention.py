"""`client.log_retention_days`: a background task that deletes request logs older than the limit."""

from __future__ import annotations

import asyncio
import logging
import time

from bifrost.stores.logs.store import LogsStore

log = logging.getLogger("bifrost.logs")

DAY_US = 86_400 * 1_000_000


async def enforce_retention(store: LogsStore, days: int, now_us: int | None = None) -> int:
    """Delete logs older than `days`; returns how many rows went."""
    now = now_us if now_us is not None else time.time_ns() // 1000
    deleted = await store.delete_before(now - days * DAY_US)
    if deleted:
        log.info("log retention: deleted %d request log(s) older than %d day(s)", deleted, days)
    return deleted


async def retention_loop(store: LogsStore, days: int, interval: float = 3600.0) -> None:
    """Run retention at start and then every `interval` seconds; failures only warn (and retry)."""
    log.info("log retention days: %d", days)
    while True:
        try:
            await enforce_retention(store, days)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("log retention: could not delete old logs from %s (%s); will retry in %.0fs",
                        store.where, str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__,
                        interval)
        await asyncio.sleep(interval)
