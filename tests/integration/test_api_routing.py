"""Routing through the gateway: fallbacks, retries, weighted keys, key model filters, custom
providers and forwarded headers, each proven by what the mock provider received."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import openai
import pytest

from conftest import Gateway, Mock, free_port, http, openai_provider

pytestmark = pytest.mark.integration

MSGS = [{"role": "user", "content": "hi"}]
CHAT = "/v1/chat/completions"


def custom(mock: Mock, keys: list[dict[str, Any]], **network: Any) -> dict[str, Any]:
    return {"keys": keys, "network_config": {"base_url": mock.url, **network},
            "custom_provider_config": {"base_provider_type": "openai"}}


@pytest.fixture(scope="module")
def gw(tmp_module: Path, mock: Mock) -> Iterator[Gateway]:
    cfg = {"providers": {
        "openai": openai_provider(mock),
        "my-llm": custom(mock, [{"name": "c", "value": "sk-custom", "models": [], "weight": 1}]),
        "retrying": custom(mock, [{"name": "r", "value": "sk-retry", "models": [], "weight": 1}],
                           max_retries=2, retry_backoff_initial=100, retry_backoff_max=1000),
        "weighted": custom(mock, [{"name": "heavy", "value": "sk-heavy", "models": [], "weight": 0.9},
                                  {"name": "light", "value": "sk-light", "models": [], "weight": 0.1}]),
        "keyed": custom(mock, [{"name": "only-4o", "value": "sk-only-4o", "models": ["gpt-4o"], "weight": 1},
                               {"name": "mini", "value": "sk-mini", "models": ["gpt-4o-mini"], "weight": 1}]),
        # A provider nobody listens for: every request to it fails to connect.
        "groq": {"keys": [{"name": "g", "value": "sk-groq", "models": [], "weight": 1}],
                 "network_config": {"base_url": f"http://127.0.0.1:{free_port()}"}},
    }}
    g = Gateway(tmp_module, cfg)
    yield g
    g.stop()


@pytest.fixture(scope="module")
def client(gw: Gateway) -> openai.OpenAI:
    return gw.openai()


@pytest.fixture(autouse=True)
def _clean_mock(mock: Mock) -> None:
    mock.reset()


def chats(mock: Mock) -> list[dict[str, Any]]:
    return mock.requests(CHAT)


def auth(r: dict[str, Any]) -> str:
    return r["headers"].get("authorization", "")


# --------------------------------------------------------------------------- fallbacks

def test_fallback_after_scripted_503(client: openai.OpenAI, mock: Mock) -> None:
    mock.script({"model": "gpt-4o", "status": 503})
    raw = client.chat.completions.with_raw_response.create(
        model="openai/gpt-4o", messages=MSGS, extra_body={"fallbacks": ["my-llm/gpt-4o-mini"]})
    resp = raw.parse()
    assert resp.choices[0].message.content
    ef = resp.model_extra["extra_fields"]
    assert ef["provider"] == "my-llm"
    assert ef["model_requested"] == "gpt-4o-mini"
    assert ef["fallback_index"] == 1
    assert raw.headers["x-bifrost-fallback-index"] == "1"
    first, second = chats(mock)
    assert (first["body"]["model"], auth(first)) == ("gpt-4o", "Bearer sk-mock-1")
    assert (second["body"]["model"], auth(second)) == ("gpt-4o-mini", "Bearer sk-custom")
    assert "fallbacks" not in first["body"] and "fallbacks" not in second["body"]


def test_fallback_from_unreachable_provider(client: openai.OpenAI, mock: Mock) -> None:
    resp = client.chat.completions.create(model="groq/llama-3.1-8b-instant", messages=MSGS,
                                          extra_body={"fallbacks": ["openai/gpt-4o-mini"]})
    assert resp.model_extra["extra_fields"]["provider"] == "openai"
    [got] = chats(mock)  # the primary never reached the mock
    assert got["body"]["model"] == "gpt-4o-mini" and "fallbacks" not in got["body"]


def test_fallback_from_unconfigured_provider(client: openai.OpenAI, mock: Mock) -> None:
    resp = client.chat.completions.create(model="nosuch/some-model", messages=MSGS,
                                          extra_body={"fallbacks": ["my-llm/gpt-4o"]})
    assert resp.model_extra["extra_fields"]["provider"] == "my-llm"
    [got] = chats(mock)
    assert got["body"]["model"] == "gpt-4o" and auth(got) == "Bearer sk-custom"


def test_fallback_second_in_list(client: openai.OpenAI, mock: Mock) -> None:
    resp = client.chat.completions.create(
        model="openai/mock-fail-503", messages=MSGS,
        extra_body={"fallbacks": ["my-llm/mock-fail-502", "my-llm/gpt-4o-mini"]})
    assert resp.model_extra["extra_fields"]["fallback_index"] == 2
    assert [r["body"]["model"] for r in chats(mock)] == ["mock-fail-503", "mock-fail-502", "gpt-4o-mini"]


def test_all_fallbacks_fail_returns_primary_error(client: openai.OpenAI, mock: Mock) -> None:
    with pytest.raises(openai.APIStatusError) as ei:
        client.chat.completions.create(model="openai/mock-fail-503", messages=MSGS,
                                       extra_body={"fallbacks": ["my-llm/mock-fail-502"]})
    assert ei.value.status_code == 503
    body = ei.value.response.json()
    assert body["status_code"] == 503 and body["error"]["message"]
    assert [r["body"]["model"] for r in chats(mock)] == ["mock-fail-503", "mock-fail-502"]


def test_fallback_streaming(client: openai.OpenAI, mock: Mock) -> None:
    mock.script({"model": "gpt-4o", "status": 503})
    chunks = list(client.chat.completions.create(model="openai/gpt-4o", messages=MSGS, stream=True,
                                                 extra_body={"fallbacks": ["my-llm/gpt-4o-mini"]}))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert {c.model_extra["extra_fields"]["provider"] for c in chunks} == {"my-llm"}
    assert {c.model_extra["extra_fields"]["fallback_index"] for c in chunks} == {1}
    assert [r["body"]["model"] for r in chats(mock)] == ["gpt-4o", "gpt-4o-mini"]
    assert all("fallbacks" not in r["body"] for r in chats(mock))


# --------------------------------------------------------------------------- retries

def test_retry_then_success(client: openai.OpenAI, mock: Mock) -> None:
    mock.script({"model": "gpt-4o-mini", "status": 503, "times": 2})
    t0 = time.monotonic()
    resp = client.chat.completions.create(model="retrying/gpt-4o-mini", messages=MSGS)
    elapsed = time.monotonic() - t0
    assert resp.choices[0].message.content
    assert resp.model_extra["extra_fields"]["provider"] == "retrying"
    reqs = chats(mock)
    assert len(reqs) == 3
    assert all(auth(r) == "Bearer sk-retry" for r in reqs)
    gaps = [b["time"] - a["time"] for a, b in zip(reqs, reqs[1:], strict=False)]
    # backoff: 100 ms then 200 ms, each with +-20 % jitter
    assert gaps[0] >= 0.075 and gaps[1] >= 0.15, gaps
    assert elapsed < 3.0


def test_retries_exhausted(client: openai.OpenAI, mock: Mock) -> None:
    with pytest.raises(openai.InternalServerError) as ei:
        client.chat.completions.create(model="retrying/mock-fail-503", messages=MSGS)
    assert ei.value.status_code == 503
    assert len(chats(mock)) == 3  # 1 + max_retries 2


def test_400_is_never_retried(client: openai.OpenAI, mock: Mock) -> None:
    mock.script({"model": "gpt-4o-mini", "status": 400,
                 "body": {"error": {"message": "bad parameter: top_k", "type": "invalid_request_error"}}})
    with pytest.raises(openai.BadRequestError) as ei:
        client.chat.completions.create(model="retrying/gpt-4o-mini", messages=MSGS)
    assert "bad parameter: top_k" in ei.value.message
    assert len(chats(mock)) == 1


def test_retry_after_is_honoured(client: openai.OpenAI, mock: Mock) -> None:
    mock.script({"model": "gpt-4o-mini", "status": 429, "headers": {"Retry-After": "1"}})
    t0 = time.monotonic()
    resp = client.chat.completions.create(model="retrying/gpt-4o-mini", messages=MSGS)
    elapsed = time.monotonic() - t0
    assert resp.choices[0].message.content
    first, second = chats(mock)
    assert second["time"] - first["time"] >= 0.98  # the header says 1 s; backoff alone would be ~0.1 s
    assert 1.0 <= elapsed < 4.0


# --------------------------------------------------------------------------- keys

def test_key_weights(client: openai.OpenAI, mock: Mock) -> None:
    n = 300

    def one(_: int) -> str:
        return client.chat.completions.create(model="weighted/gpt-4o-mini", messages=MSGS).id

    with ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(one, range(n)))
    assert len(set(ids)) == n
    counts = Counter(auth(r) for r in chats(mock))
    assert sum(counts.values()) == n
    assert set(counts) == {"Bearer sk-heavy", "Bearer sk-light"}
    # Expected 270/30; binomial sd ~5.2, so [12, 60] is ~ -3.5 / +5.8 sd.
    assert 12 <= counts["Bearer sk-light"] <= 60, counts


def test_key_models_filter(client: openai.OpenAI, mock: Mock) -> None:
    for _ in range(10):
        client.chat.completions.create(model="keyed/gpt-4o-mini", messages=MSGS)
        client.chat.completions.create(model="keyed/gpt-4o", messages=MSGS)
    by_model: dict[str, set[str]] = {}
    for r in chats(mock):
        by_model.setdefault(r["body"]["model"], set()).add(auth(r))
    assert by_model == {"gpt-4o-mini": {"Bearer sk-mini"}, "gpt-4o": {"Bearer sk-only-4o"}}


def test_model_no_key_admits(gw: Gateway, mock: Mock) -> None:
    status, _, raw = http("POST", gw.url + CHAT, {"model": "keyed/o3-pro", "messages": MSGS})
    err = json.loads(raw)
    assert status == 400 and err["status_code"] == 400
    assert "o3-pro" in err["error"]["message"] and "keyed" in err["error"]["message"]
    assert chats(mock) == []
    assert http("GET", gw.url + "/health")[0] == 200


# --------------------------------------------------------------------------- custom provider, headers

def test_custom_provider(client: openai.OpenAI, mock: Mock) -> None:
    resp = client.chat.completions.create(model="my-llm/gpt-4o", messages=MSGS)
    assert resp.choices[0].message.content
    assert resp.model_extra["extra_fields"]["provider"] == "my-llm"
    assert resp.model == "gpt-4o"
    [got] = chats(mock)
    assert got["body"]["model"] == "gpt-4o" and auth(got) == "Bearer sk-custom"


def test_extra_header_forwarded(client: openai.OpenAI, mock: Mock) -> None:
    client.chat.completions.create(model="openai/gpt-4o-mini", messages=MSGS,
                                   extra_headers={"x-bf-eh-foo": "bar-123", "x-unrelated": "no"})
    [got] = chats(mock)
    assert got["headers"]["foo"] == "bar-123"
    assert "x-bf-eh-foo" not in got["headers"]
    assert "x-unrelated" not in got["headers"]
