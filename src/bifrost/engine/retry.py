"""Retry arithmetic: which errors retry and how long to wait before the next attempt."""

from __future__ import annotations

import random

from bifrost.config.model import NetworkConfig
from bifrost.schemas.errors import BifrostError

# A Retry-After longer than this is not waited for: the error goes to fallbacks instead.
MAX_RETRY_AFTER_S = 60.0


def backoff_seconds(attempt: int, net: NetworkConfig, rand: float | None = None) -> float:
    """Delay before retry number `attempt` (0-based): min(initial * 2^n, max) * jitter in [0.8, 1.2)."""
    base_ms = min(net.backoff_initial_ms * (2 ** attempt), net.backoff_max_ms)
    jitter = 0.8 + 0.4 * (random.random() if rand is None else rand)
    return base_ms * jitter / 1000.0


def retry_delay(attempt: int, net: NetworkConfig, err: BifrostError) -> float | None:
    """Seconds to wait before retrying after `err`, or None when it must not be retried."""
    if not err.retryable or attempt >= net.max_retries:
        return None
    delay = backoff_seconds(attempt, net)
    if err.retry_after is not None:
        if err.retry_after > MAX_RETRY_AFTER_S:
            return None
        delay = max(delay, err.retry_after)
    return delay
