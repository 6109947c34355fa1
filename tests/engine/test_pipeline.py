"""The plugin pipeline driven through Engine.handle with a fake provider and example plugins."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from bifrost.config.model import GatewayConfig, Key, ProviderConfig
from bifrost.engine.core import Engine
from bifrost.engine.pipeline import Plugin, RequestContext, Result, ShortCircuit
from bifrost.metrics import GatewayMetrics
from bifrost.schemas.errors import BifrostError, RequestError, UpstreamError
from bifrost.schemas.inference import InferenceRequest, InferenceResponse, InferenceStream, Target, Usage

# --------------------------------------------------------------------------- example plugins


class Recorder:
    """Appends `<name>.pre` / `<name>.post` to a shared journal; optionally changes things."""

    def __init__(self, name: str, journal: list[str], *, tag: str | None = None, short: Any = None,
                 pre_raises: bool = False, post_raises: bool = False, recover: bool = False) -> None:
        self.name = name
        self.journal = journal
        self.tag = tag
        self.short = short
        self.pre_raises = pre_raises
        self.post_raises = post_raises
        self.recover = recover
        self.seen: list[Result] = []

    async def pre(self, req: InferenceRequest, ctx: RequestContext) -> InferenceRequest | ShortCircuit:
        self.journal.append(f"{self.name}.pre")
        if self.pre_raises:
            raise RuntimeError(f"{self.name} pre broke")
        ctx.values.setdefault("order", []).append(self.name)
        if self.tag:
            req.body.setdefault("tags", []).append(self.tag)
        if self.short is not None:
            return ShortCircuit(self.short)
        return req

    async def post(self, result: Result, ctx: RequestContext) -> Result:
        self.journal.append(f"{self.name}.post")
        self.seen.append(result)
        if self.post_raises:
            raise RuntimeError(f"{self.name} post broke")
        if self.recover and isinstance(result, BifrostError):
            return InferenceResponse(status=200, body=b'{"recovered":true}', target=Target("openai", "x"))
        return result


class FakeProvider:
    name = "openai"
    keyless = False

    def __init__(self, fail: dict[str, BifrostError] | None = None) -> None:
        self.bodies: list[tuple[str, dict[str, Any]]] = []
        self.fail = fail or {}

    def supports(self, request_type: str, stream: bool) -> bool:
        return True

    async def send(self, req: InferenceRequest, key: Key | None) -> tuple[bytes, Usage | None]:
        self.bodies.append((req.target.model, dict(req.body)))
        err = self.fail.get(req.target.model)
        if err is not None:
            raise err
        return b'{"model":"' + req.target.model.encode() + b'"}', None

    async def open_stream(self, req: InferenceRequest, key: Key | None) -> Any:
        async def events() -> Any:
            if False:
                yield None
        return events()

    async def close(self) -> None:
        pass


def engine_with(plugins: list[Plugin], fail: dict[str, BifrostError] | None = None) -> tuple[Engine, FakeProvider]:
    pc = ProviderConfig(name="openai", keys=(Key(name="k", value="sk"),))
    engine = Engine(GatewayConfig(providers={"openai": pc}), GatewayMetrics(process_metrics=False), plugins)
    fake = FakeProvider(fail)
    engine.runtimes["openai"].provider = fake  # type: ignore[assignment]
    return engine, fake


def handle(engine: Engine, model: str = "gpt-4o", fallbacks: list[str] = (), stream: bool = False) -> Any:
    req = InferenceRequest(request_type="chat_completion", target=Target("openai", model), body={"messages": []},
                           fallbacks=[Target("openai", f) for f in fallbacks], stream=stream)
    ctx = RequestContext(request_id="r1")

    async def go() -> Any:
        try:
            return await engine.handle(req, ctx)
        except BifrostError as exc:
            return exc
    return asyncio.run(go())


# --------------------------------------------------------------------------- ordering


def test_pre_in_order_post_in_reverse() -> None:
    j: list[str] = []
    engine, fake = engine_with([Recorder("a", j, tag="A"), Recorder("b", j, tag="B"), Recorder("c", j, tag="C")])
    out = handle(engine)
    assert isinstance(out, InferenceResponse) and out.body == b'{"model":"gpt-4o"}'
    assert j == ["a.pre", "b.pre", "c.pre", "c.post", "b.post", "a.post"]
    # the request each pre hook returned is what the provider got
    assert fake.bodies == [("gpt-4o", {"messages": [], "tags": ["A", "B", "C"]})]


def test_no_plugins_goes_straight_to_provider() -> None:
    engine, fake = engine_with([])
    assert not engine.pipeline
    out = handle(engine)
    assert isinstance(out, InferenceResponse) and len(fake.bodies) == 1


def test_post_sees_the_provider_result() -> None:
    j: list[str] = []
    rec = Recorder("a", j)
    engine, _ = engine_with([rec])
    handle(engine)
    (seen,) = rec.seen
    assert isinstance(seen, InferenceResponse) and seen.target == Target("openai", "gpt-4o")


def test_post_sees_the_provider_error_and_can_recover() -> None:
    j: list[str] = []
    err = UpstreamError("rate limited", status=429, provider="openai")
    rec = Recorder("outer", j, recover=True)
    inner = Recorder("inner", j)
    engine, _ = engine_with([rec, inner], fail={"gpt-4o": err})
    out = handle(engine)
    assert isinstance(inner.seen[0], UpstreamError) and inner.seen[0].status == 429
    assert isinstance(out, InferenceResponse) and out.body == b'{"recovered":true}'


# --------------------------------------------------------------------------- short-circuits


def test_short_circuit_with_a_response() -> None:
    j: list[str] = []
    cached = InferenceResponse(status=200, body=b'{"cached":true}', target=Target("openai", "gpt-4o"))
    engine, fake = engine_with([Recorder("a", j), Recorder("cache", j, short=cached), Recorder("c", j)])
    out = handle(engine)
    assert out is cached
    assert fake.bodies == []  # the provider was never called
    assert j == ["a.pre", "cache.pre", "cache.post", "a.post"]  # c never ran: neither pre nor post


def test_short_circuit_with_an_error() -> None:
    j: list[str] = []
    denied = RequestError("budget exceeded", status=402, type="budget_exceeded")
    engine, fake = engine_with([Recorder("a", j), Recorder("gov", j, short=denied), Recorder("c", j)])
    out = handle(engine)
    assert out is denied and out.status == 402
    assert fake.bodies == []
    assert j == ["a.pre", "gov.pre", "gov.post", "a.post"]


def test_short_circuit_error_then_fallback_is_a_fresh_pass() -> None:
    j: list[str] = []

    class DenyModel(Recorder):
        async def pre(self, req: InferenceRequest, ctx: RequestContext) -> InferenceRequest | ShortCircuit:
            self.journal.append(f"{self.name}.pre({req.target.model})")
            if req.target.model == "gpt-4o":
                return ShortCircuit(RequestError("model not allowed"))
            return req

    engine, fake = engine_with([DenyModel("deny", j)])
    out = handle(engine, "gpt-4o", fallbacks=["gpt-4o-mini"])
    assert isinstance(out, InferenceResponse) and out.body == b'{"model":"gpt-4o-mini"}'
    assert j == ["deny.pre(gpt-4o)", "deny.post", "deny.pre(gpt-4o-mini)", "deny.post"]
    assert [m for m, _ in fake.bodies] == ["gpt-4o-mini"]


# --------------------------------------------------------------------------- broken plugins


def test_raising_pre_hook_is_logged_and_skipped(caplog: pytest.LogCaptureFixture) -> None:
    j: list[str] = []
    engine, fake = engine_with([Recorder("a", j, tag="A"), Recorder("broken", j, pre_raises=True),
                                Recorder("c", j, tag="C")])
    with caplog.at_level(logging.ERROR, logger="bifrost.plugins"):
        out = handle(engine)
    assert isinstance(out, InferenceResponse)
    assert fake.bodies[0][1]["tags"] == ["A", "C"]
    # like Bifrost, a plugin whose pre hook ran (even if it failed) gets its post hook
    assert j == ["a.pre", "broken.pre", "c.pre", "c.post", "broken.post", "a.post"]
    msgs = [r.getMessage() for r in caplog.records]
    assert "plugin broken: pre hook failed; skipping it for this request" in msgs
    assert any(r.exc_info for r in caplog.records)


def test_raising_post_hook_is_logged_and_its_change_skipped(caplog: pytest.LogCaptureFixture) -> None:
    j: list[str] = []
    engine, _ = engine_with([Recorder("a", j), Recorder("broken", j, post_raises=True), Recorder("c", j)])
    with caplog.at_level(logging.ERROR, logger="bifrost.plugins"):
        out = handle(engine)
    assert isinstance(out, InferenceResponse) and out.body == b'{"model":"gpt-4o"}'
    assert j == ["a.pre", "broken.pre", "c.pre", "c.post", "broken.post", "a.post"]
    assert "plugin broken: post hook failed; its change is skipped" in [r.getMessage() for r in caplog.records]


def test_context_is_shared_between_plugins() -> None:
    j: list[str] = []
    seen: dict[str, Any] = {}

    class Peek(Recorder):
        async def post(self, result: Result, ctx: RequestContext) -> Result:
            seen.update(ctx.values)
            return result

    engine, _ = engine_with([Recorder("a", j), Recorder("b", j), Peek("peek", j)])
    handle(engine)
    assert seen["order"] == ["a", "b", "peek"]


def test_stream_result_reaches_post_hooks() -> None:
    j: list[str] = []
    rec = Recorder("a", j)
    engine, _ = engine_with([rec])
    out = handle(engine, stream=True)
    assert isinstance(out, InferenceStream) and isinstance(rec.seen[0], InferenceStream)

    async def drain() -> None:
        async for _ in out.events:
            pass
    asyncio.run(drain())
    assert engine.metrics.active_requests.labels("openai").value == 0
