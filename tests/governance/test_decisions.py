"""Budget and rate-limit math and the decisions of the governance plugin, in process."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest

from bifrost.engine.pipeline import RequestContext, ShortCircuit
from bifrost.governance.index import GovernanceIndex
from bifrost.governance.model import GovernanceError, calendar_period, hash_vk, parse_budget, parse_duration
from bifrost.governance.plugin import CTX_VK, GovernancePlugin, budget_counter, vk_from_headers
from bifrost.governance.usage import LocalUsage
from bifrost.schemas.inference import InferenceRequest, InferenceResponse, Target, Usage


class FlatPrice:
    """Stand-in catalog: $0.001 per token."""

    def cost(self, provider: str, model: str, usage: Usage | None) -> float | None:
        return None if usage is None else (usage.input_tokens + usage.output_tokens) * 0.001


@pytest.mark.parametrize(("text", "seconds"), [("30s", 30), ("5m", 300), ("1h", 3600), ("1d", 86400),
                                               ("1w", 604800), ("1M", 30 * 86400), ("1Y", 365 * 86400)])
def test_reset_durations_parse_like_bifrost(text: str, seconds: int) -> None:
    assert parse_duration(text, "x") == seconds


@pytest.mark.parametrize("bad", ["", "0s", "1x", "h", "1.5h", None, 30])
def test_bad_reset_durations_name_the_field_and_the_units(bad: Any) -> None:
    with pytest.raises(GovernanceError, match=r"budget.reset_duration.*30s, 5m, 1h, 1d, 1w, 1M or 1Y"):
        parse_duration(bad, "budget.reset_duration")


def test_calendar_aligned_budgets_count_per_calendar_period() -> None:
    t = dt.datetime(2026, 11, 24, 19, 0, tzinfo=dt.UTC).timestamp()
    assert calendar_period("1M", t) == "2026-11"
    assert calendar_period("1Y", t) == "2026"
    assert calendar_period("1d", t) == "2026-11-24"
    assert calendar_period("1w", t) == "2026-W48"
    assert calendar_period("2d", t) is None
    b = parse_budget({"id": "b", "max_limit": 1, "reset_duration": "1M", "calendar_aligned": True})
    assert budget_counter(b, t)[0] == "b:b:2026-11"
    nxt = dt.datetime(2026, 12, 1, 0, 0, 1, tzinfo=dt.UTC).timestamp()
    assert budget_counter(b, nxt)[0] == "b:b:2026-12"
    rolling = parse_budget({"id": "r", "max_limit": 1, "reset_duration": "1M"})
    assert budget_counter(rolling, t) == ("b:r", 30 * 86400.0)


def test_virtual_key_header_precedence_and_prefixes() -> None:
    assert vk_from_headers([(b"authorization", b"Bearer sk-bf-abc")]) == "sk-bf-abc"
    assert vk_from_headers([(b"authorization", b"Bearer sk-openai")]) is None
    assert vk_from_headers([(b"authorization", b"Basic dXNlcjpwdw==")]) is None
    assert vk_from_headers([(b"x-bf-vk", b"sk-bf-1"), (b"x-api-key", b"sk-bf-2")]) == "sk-bf-1"
    assert vk_from_headers([(b"x-goog-api-key", b"sk-bf-g")]) == "sk-bf-g"
    assert vk_from_headers([(b"x-api-key", b"sk-ant-x")]) is None


def _index() -> GovernanceIndex:
    idx = GovernanceIndex()
    idx.load({
        "budgets": {
            "vkb": {"id": "vkb", "max_limit": 0.010, "reset_duration": "1h"},
            "pcb": {"id": "pcb", "max_limit": 1, "reset_duration": "1h"},
            "teamb": {"id": "teamb", "max_limit": 1, "reset_duration": "1h"},
            "custb": {"id": "custb", "max_limit": 0.005, "reset_duration": "1h"},
            "owned": {"id": "owned", "max_limit": 1, "reset_duration": "1d", "virtual_key_id": "vk"},
        },
        "rate_limits": {"rl": {"id": "rl", "request_max_limit": 3, "request_reset_duration": "1h",
                               "token_max_limit": 100, "token_reset_duration": "1h"}},
        "customers": {"c": {"id": "c", "name": "C", "budget_id": "custb"}},
        "teams": {"t": {"id": "t", "name": "T", "customer_id": "c", "budget_id": "teamb"}},
        "virtual_keys": {"vk": {"id": "vk", "name": "k", "value_hash": hash_vk("sk-bf-k"), "team_id": "t",
                                "budget_id": "vkb", "rate_limit_id": "rl",
                                "provider_configs": [{"id": 1, "provider": "openai", "budget_id": "pcb"}]}},
    })
    return idx


def test_the_chain_holds_every_budget_from_key_to_customer() -> None:
    idx = _index()
    chain = idx.chain(idx.vks["vk"], "openai")
    assert [b.id for b in chain.budgets] == ["vkb", "owned", "pcb", "teamb", "custb"]
    assert [r.id for r in chain.rate_limits] == ["rl"]


def _req() -> InferenceRequest:
    return InferenceRequest(request_type="chat_completion", target=Target("openai", "gpt-4o-mini"),
                            body={"messages": []})


async def _call(p: GovernancePlugin, tokens: int) -> Any:
    ctx = RequestContext(request_id="r", values={CTX_VK: "sk-bf-k"})
    out = await p.pre(_req(), ctx)
    if isinstance(out, ShortCircuit):
        return out.result
    resp = InferenceResponse(status=200, body=b"{}", target=Target("openai", "gpt-4o-mini"),
                             usage=Usage(input_tokens=tokens, output_tokens=0))
    return await p.post(resp, ctx)


def test_the_smallest_budget_in_the_chain_refuses_with_402_once_spent() -> None:
    async def go() -> None:
        p = GovernancePlugin(_index(), LocalUsage(), FlatPrice())
        assert isinstance(await _call(p, 3), InferenceResponse)  # $0.003: under every budget
        assert isinstance(await _call(p, 3), InferenceResponse)  # $0.006: customer's $0.005 now spent
        err = await _call(p, 1)
        assert err.status == 402 and err.type == "budget_exceeded" and "custb" in err.message
    asyncio.run(go())


def test_request_limit_refuses_with_429_and_headers() -> None:
    async def go() -> None:
        p = GovernancePlugin(_index(), LocalUsage(), None)
        for _ in range(3):
            assert isinstance(await _call(p, 1), InferenceResponse)
        err = await _call(p, 1)
        assert err.status == 429 and err.type == "request_limited"
        assert err.headers["x-ratelimit-limit-requests"] == "3"
        assert 1 <= int(err.headers["Retry-After"]) <= 3600
    asyncio.run(go())


def test_token_limit_refuses_after_the_tokens_are_used() -> None:
    async def go() -> None:
        p = GovernancePlugin(_index(), LocalUsage(), None)
        assert isinstance(await _call(p, 100), InferenceResponse)
        err = await _call(p, 1)
        assert err.status == 429 and err.type == "token_limited"
        assert err.headers["x-ratelimit-limit-tokens"] == "100"
    asyncio.run(go())


def test_an_unreachable_usage_store_fails_closed_with_503() -> None:
    from bifrost.governance.usage import RedisUsage

    async def go() -> None:
        from conftest import free_port

        usage = RedisUsage(f"redis://127.0.0.1:{free_port()}/0")
        try:
            err = await _call(GovernancePlugin(_index(), usage, None), 1)
        finally:
            await usage.close()
        assert err.status == 503 and err.type == "governance_unavailable"
        assert "governance.usage_store" in err.message
    asyncio.run(go())


def test_a_change_made_on_another_node_is_reloaded_from_the_store() -> None:
    from bifrost.governance.service import reload_entity
    from bifrost.stores.base import MemoryConfigStore

    async def go() -> None:
        store = MemoryConfigStore()
        p = GovernancePlugin(GovernanceIndex(), LocalUsage(), None)
        await store.put_governance("virtual_keys", "n", {"id": "n", "name": "n", "value": "sk-bf-n",
                                                         "value_hash": hash_vk("sk-bf-n")})
        await reload_entity(p, store, "virtual_keys", "n")
        assert p.index.by_hash[hash_vk("sk-bf-n")].id == "n"
        await store.delete_governance("virtual_keys", "n")
        await reload_entity(p, store, "virtual_keys", "n")
        assert not p.index.by_hash
    asyncio.run(go())


def test_a_config_virtual_key_without_a_usable_value_is_skipped_with_the_reason(
        caplog: pytest.LogCaptureFixture) -> None:
    from bifrost.governance.service import file_entities

    section = {"virtual_keys": [{"id": "a", "name": "a"}, {"id": "b", "name": "b", "value": "env.SURELY_UNSET_VK"},
                                {"id": "c", "name": "c", "value": "sk-bf-c"}]}
    with caplog.at_level("ERROR", logger="bifrost.governance"):
        got = file_entities(section, {})
    assert list(got["virtual_keys"]) == ["c"] and got["virtual_keys"]["c"]["value_hash"] == hash_vk("sk-bf-c")
    text = caplog.text
    assert "governance.virtual_keys[0].value is required" in text
    assert "env.SURELY_UNSET_VK is not set" in text
