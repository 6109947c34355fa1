"""Retries: the backoff arithmetic (bifrost.engine.retry) and the engine's retry loop with a fake provider."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest

from bifrost.config.model import GatewayConfig, Key, NetworkConfig, ProviderConfig
from bifrost.engine import core
from bifrost.engine.core import Engine
from bifrost.engine.pipeline import RequestContext
from bifrost.engine.retry import MAX_RETRY_AFTER_S, backoff_seconds, retry_delay
from bifrost.metrics import GatewayMetrics
from bifrost.schemas.errors import (
    BifrostError,
    ConfigError,
    QueueFullError,
    RequestError,
    UpstreamConnectionError,
    UpstreamError,
    UpstreamTimeoutError,
)
from bifrost.schemas.inference import InferenceRequest, InferenceResponse, Target, Usage

NET = NetworkConfig(max_retries=3, backoff_initial_ms=500, backoff_max_ms=5000)


# --------------------------------------------------------------------------- backoff arithmetic


@pytest.mark.parametrize(("attempt", "base_ms"), [(0, 500), (1, 1000), (2, 2000), (3, 4000), (4, 5000), (10, 5000)])
def test_backoff_is_min_of_doubling_and_max(attempt: int, base_ms: int) -> None:
    assert backoff_seconds(attempt, NET, rand=0.0) == pytest.approx(base_ms * 0.8 / 1000)
    assert backoff_seconds(attempt, NET, rand=0.5) == pytest.approx(base_ms / 1000)
    assert backoff_seconds(attempt, NET, rand=0.25) == pytest.approx(base_ms * 0.9 / 1000)


def test_jitter_bounds_are_exact() -> None:
    net = NetworkConfig(backoff_initial_ms=1000, backoff_max_ms=1000)
    assert backoff_seconds(0, net, rand=0.0) == 0.8  # lower bound included
    assert backoff_seconds(0, net, rand=0.999999) < 1.2  # upper bound excluded
    # random()'s largest value, 1 - 2**-53, rounds 0.8 + 0.4 * r to exactly 1.2 in binary floating point.
    assert backoff_seconds(0, net, rand=1.0 - 2**-53) == pytest.approx(1.2)


def test_random_jitter_stays_in_range() -> None:
    random.seed(99)
    net = NetworkConfig(backoff_initial_ms=100, backoff_max_ms=10_000)
    for attempt in range(6):
        base = min(100 * 2**attempt, 10_000) / 1000
        samples = [backoff_seconds(attempt, net) for _ in range(500)]
        assert all(0.8 * base <= s < 1.2 * base for s in samples)
        assert max(samples) - min(samples) > 0.3 * base  # jitter is really applied


def _upstream(status: int, retry_after: float | None = None) -> UpstreamError:
    return UpstreamError("boom", status=status, provider="openai", retry_after=retry_after)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422])
def test_client_errors_are_never_retried(status: int) -> None:
    assert retry_delay(0, NET, _upstream(status)) is None
    assert retry_delay(0, NET, _upstream(status, retry_after=1)) is None


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_retryable_statuses(status: int) -> None:
    d = retry_delay(0, NET, _upstream(status))
    assert d is not None and 0.4 <= d < 0.6


@pytest.mark.parametrize("err", [
    UpstreamConnectionError("refused", provider="openai"),
    UpstreamTimeoutError("slow", provider="openai"),
])
def test_connection_and_timeout_errors_are_retried(err: BifrostError) -> None:
    assert retry_delay(1, NET, err) is not None


@pytest.mark.parametrize("err", [
    RequestError("bad"), ConfigError("no key"), QueueFullError("openai"),
])
def test_gateway_errors_are_not_retried(err: BifrostError) -> None:
    assert retry_delay(0, NET, err) is None


def test_stops_at_max_retries() -> None:
    err = _upstream(503)
    assert [retry_delay(a, NET, err) is not None for a in range(5)] == [True, True, True, False, False]
    assert retry_delay(0, NetworkConfig(max_retries=0), err) is None


def test_retry_after_is_honoured_when_longer_than_backoff() -> None:
    assert retry_delay(0, NET, _upstream(429, retry_after=7)) == 7
    assert retry_delay(0, NET, _upstream(503, retry_after=MAX_RETRY_AFTER_S)) == MAX_RETRY_AFTER_S


def test_retry_after_shorter_than_backoff_keeps_backoff() -> None:
    d = retry_delay(2, NET, _upstream(429, retry_after=0.1))
    assert d is not None and 1.6 <= d < 2.4


def test_retry_after_over_60s_is_not_waited() -> None:
    assert retry_delay(0, NET, _upstream(429, retry_after=61)) is None
    assert retry_delay(0, NET, _upstream(429, retry_after=3600)) is None


# --------------------------------------------------------------------------- the engine's loop


class FakeProvider:
    """Answers `send` from a list: an exception is raised, bytes are returned as the body."""

    name = "openai"
    keyless = False

    def __init__(self, outcomes: list[Any]) -> None:
        self.outcomes = list(outcomes)
        self.keys_used: list[str] = []

    def supports(self, request_type: str, stream: bool) -> bool:
        return True

    async def send(self, req: InferenceRequest, key: Key | None) -> tuple[bytes, Usage | None]:
        self.keys_used.append(key.name if key else "")
        o = self.outcomes.pop(0)
        if isinstance(o, BaseException):
            raise o
        return o, Usage(input_tokens=3, output_tokens=5)

    async def close(self) -> None:
        pass


def make_engine(outcomes: list[Any], max_retries: int, keys: int = 1) -> tuple[Engine, FakeProvider]:
    net = NetworkConfig(max_retries=max_retries, backoff_initial_ms=1, backoff_max_ms=2)
    pc = ProviderConfig(name="openai", keys=tuple(Key(name=f"k{i}", value=f"sk-{i}") for i in range(keys)),
                        network=net)
    engine = Engine(GatewayConfig(providers={"openai": pc}), GatewayMetrics(process_metrics=False))
    fake = FakeProvider(outcomes)
    engine.runtimes["openai"].provider = fake  # type: ignore[assignment]
    return engine, fake


def run(engine: Engine) -> tuple[InferenceResponse | BifrostError, RequestContext]:
    req = InferenceRequest(request_type="chat_completion", target=Target("openai", "gpt-4o"), body={})
    ctx = RequestContext(request_id="t")

    async def go() -> InferenceResponse | BifrostError:
        try:
            out = await engine.handle(req, ctx)
        except BifrostError as exc:
            return exc
        finally:
            await engine.close()
        assert isinstance(out, InferenceResponse)
        return out

    return asyncio.run(go()), ctx


def retries_metric(engine: Engine) -> float:
    return engine.metrics.request_retries.labels("openai", "gpt-4o").value


def test_engine_retries_then_succeeds() -> None:
    engine, fake = make_engine([_upstream(503), UpstreamConnectionError("x"), b'{"ok":true}'], max_retries=2)
    out, ctx = run(engine)
    assert isinstance(out, InferenceResponse) and out.body == b'{"ok":true}'
    assert len(fake.keys_used) == 3 and ctx.retries == 2
    assert retries_metric(engine) == 2


def test_engine_stops_at_max_retries() -> None:
    engine, fake = make_engine([_upstream(500)] * 5, max_retries=2)
    out, ctx = run(engine)
    assert isinstance(out, UpstreamError) and out.status == 500
    assert len(fake.keys_used) == 3 and ctx.retries == 2
    assert out.provider == "openai" and out.model == "gpt-4o"


@pytest.mark.parametrize("status", [400, 401, 403, 404])
def test_engine_never_retries_client_errors(status: int) -> None:
    engine, fake = make_engine([_upstream(status), b"{}"], max_retries=3)
    out, ctx = run(engine)
    assert isinstance(out, UpstreamError) and out.status == status
    assert len(fake.keys_used) == 1 and ctx.retries == 0 and retries_metric(engine) == 0


def test_engine_without_retries_configured_fails_at_once() -> None:
    engine, fake = make_engine([_upstream(429), b"{}"], max_retries=0)
    out, _ = run(engine)
    assert isinstance(out, UpstreamError) and out.status == 429 and len(fake.keys_used) == 1


def test_engine_waits_retry_after(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    real_sleep = asyncio.sleep

    async def fake_sleep(d: float, *a: Any, **kw: Any) -> None:
        slept.append(d)
        await real_sleep(0)

    monkeypatch.setattr(core.asyncio, "sleep", fake_sleep)
    engine, fake = make_engine([_upstream(429, retry_after=2.5), b"{}"], max_retries=1)
    out, _ = run(engine)
    assert isinstance(out, InferenceResponse)
    assert 2.5 in slept


def test_engine_does_not_wait_retry_after_over_60s() -> None:
    engine, fake = make_engine([_upstream(429, retry_after=120), b"{}"], max_retries=3)
    out, _ = run(engine)
    assert isinstance(out, UpstreamError) and out.status == 429 and len(fake.keys_used) == 1


def test_engine_reselects_a_key_on_retry() -> None:
    engine, fake = make_engine([_upstream(503)] * 40 + [b"{}"], max_retries=40, keys=2)
    out, _ = run(engine)
    assert isinstance(out, InferenceResponse)
    assert set(fake.keys_used) == {"k0", "k1"}
