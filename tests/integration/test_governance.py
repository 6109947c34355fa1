"""Governance end to end: virtual keys, model and provider rules, weights, budgets that reset,
rate limits with headers, and the /api/governance routes, through a real gateway with the openai SDK."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

import openai
import pytest

from conftest import Gateway, Mock, http, openai_provider

VK_CONFIG = "sk-bf-config-key-0001"
VK_TEAM = "sk-bf-team-key-0002"


def _config(mock: Mock, **client: Any) -> dict[str, Any]:
    groq = {"keys": [{"name": "g1", "value": "sk-groq", "models": [], "weight": 1}],
            "network_config": {"base_url": mock.url}}
    return {
        "client": {"enable_logging": False, **client},
        "config_store": {"enabled": False},
        "providers": {"openai": openai_provider(mock), "groq": groq},
        "governance": {
            "budgets": [{"id": "cust-budget", "max_limit": 0.0000001, "reset_duration": "1h"}],
            "customers": [{"id": "acme", "name": "Acme", "budget_id": "cust-budget"}],
            "teams": [{"id": "research", "name": "Research", "customer_id": "acme"}],
            "virtual_keys": [
                {"id": "vk-config", "name": "from config", "value": VK_CONFIG,
                 "provider_configs": [{"provider": "openai", "allowed_models": ["gpt-4o-mini"]}]},
                {"id": "vk-team", "name": "team key", "value": VK_TEAM, "team_id": "research"},
            ],
        },
    }


@pytest.fixture(scope="module")
def gw(tmp_module: Path, mock: Mock) -> Any:
    g = Gateway(tmp_module, _config(mock))
    yield g
    g.stop()


def _vk(gw: Gateway, **body: Any) -> str:
    status, _, raw = http("POST", gw.url + "/api/governance/virtual-keys", {"name": "k", **body})
    assert status == 200, raw
    value: str = openai_json(raw)["virtual_key"]["value"]
    return value


def openai_json(raw: bytes) -> Any:
    import json

    return json.loads(raw)


def _client(gw: Gateway, api_key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=gw.url + "/v1", api_key=api_key, max_retries=0)


def _chat(gw: Gateway, vk: str | None, model: str = "openai/gpt-4o-mini", **kw: Any) -> Any:
    client = _client(gw, vk or "not-a-virtual-key")
    return client.chat.completions.with_raw_response.create(
        model=model, messages=[{"role": "user", "content": "hi"}], **kw)


def test_virtual_key_from_config_is_accepted_as_bearer_token(gw: Gateway) -> None:
    r = _chat(gw, VK_CONFIG)
    assert r.http_response.status_code == 200
    assert r.parse().choices[0].message.content


@pytest.mark.parametrize("header", ["x-bf-vk", "x-api-key", "x-goog-api-key"])
def test_virtual_key_is_read_from_each_header_bifrost_accepts(gw: Gateway, header: str) -> None:
    body = {"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
    assert http("POST", gw.url + "/v1/chat/completions", body, {header: VK_CONFIG})[0] == 200
    assert http("POST", gw.url + "/v1/chat/completions", body, {header: "sk-bf-nope"})[0] == 401


def test_unknown_virtual_key_is_401(gw: Gateway) -> None:
    with pytest.raises(openai.AuthenticationError) as e:
        _chat(gw, "sk-bf-does-not-exist")
    assert e.value.status_code == 401
    assert "Virtual key not found" in str(e.value)


def test_model_and_provider_not_allowed_for_key_are_403(gw: Gateway) -> None:
    with pytest.raises(openai.PermissionDeniedError) as e:
        _chat(gw, VK_CONFIG, model="openai/gpt-4o")
    assert "Model 'gpt-4o' is not allowed" in str(e.value)
    with pytest.raises(openai.PermissionDeniedError) as e:
        _chat(gw, VK_CONFIG, model="groq/gpt-4o-mini")
    assert "Provider 'groq' is not allowed" in str(e.value)


def test_blacklisted_model_is_403_even_when_others_are_allowed(gw: Gateway) -> None:
    vk = _vk(gw, blacklisted_models=["gpt-4o"])
    assert _chat(gw, vk, model="openai/gpt-4o-mini").http_response.status_code == 200
    with pytest.raises(openai.PermissionDeniedError):
        _chat(gw, vk, model="openai/gpt-4o")


def test_inactive_and_expired_keys_are_403(gw: Gateway) -> None:
    inactive = _vk(gw, is_active=False)
    with pytest.raises(openai.PermissionDeniedError) as e:
        _chat(gw, inactive)
    assert "inactive" in str(e.value)
    expired = _vk(gw, expires_at="2001-01-01T00:00:00Z")
    with pytest.raises(openai.PermissionDeniedError) as e:
        _chat(gw, expired)
    assert "expired" in str(e.value)


def test_provider_weights_split_traffic_for_a_bare_model(gw: Gateway) -> None:
    vk = _vk(gw, provider_configs=[{"provider": "openai", "weight": 0.8}, {"provider": "groq", "weight": 0.2}])
    seen: Counter[str] = Counter()
    for _ in range(60):
        r = _chat(gw, vk, model="gpt-4o-mini")
        seen[openai_json(r.http_response.content)["extra_fields"]["provider"]] += 1
    assert set(seen) == {"openai", "groq"}
    assert seen["openai"] > seen["groq"]


def test_budget_hits_402_then_resets_after_its_duration(gw: Gateway) -> None:
    vk = _vk(gw, budget={"max_limit": 0.0000001, "reset_duration": "3s"})
    # Start right after a window boundary so the first request and the refusal share a window.
    time.sleep(3 - time.time() % 3 + 0.05)
    assert _chat(gw, vk).http_response.status_code == 200
    with pytest.raises(openai.APIStatusError) as e:
        _chat(gw, vk)
    assert e.value.status_code == 402
    assert "Budget exceeded" in str(e.value)
    time.sleep(3 - time.time() % 3 + 0.1)
    assert _chat(gw, vk).http_response.status_code == 200


def test_customer_budget_limits_a_team_key(gw: Gateway) -> None:
    assert _chat(gw, VK_TEAM).http_response.status_code == 200
    with pytest.raises(openai.APIStatusError) as e:
        _chat(gw, VK_TEAM)
    assert e.value.status_code == 402
    assert "cust-budget" in str(e.value)


def test_request_rate_limit_is_429_with_retry_after_and_ratelimit_headers(gw: Gateway) -> None:
    vk = _vk(gw, rate_limit={"request_max_limit": 2, "request_reset_duration": "1h"})
    for _ in range(2):
        assert _chat(gw, vk).http_response.status_code == 200
    with pytest.raises(openai.RateLimitError) as e:
        _chat(gw, vk)
    h = e.value.response.headers
    assert 0 < int(h["retry-after"]) <= 3600
    assert h["x-ratelimit-limit-requests"] == "2"
    assert h["x-ratelimit-remaining-requests"] == "0"
    assert "Request limit exceeded" in str(e.value)


def test_token_rate_limit_counts_streamed_usage(gw: Gateway) -> None:
    vk = _vk(gw, rate_limit={"token_max_limit": 5, "token_reset_duration": "1h"})
    client = _client(gw, vk)
    # The client does not ask for usage: the gateway still counts the usage it asked upstream for.
    stream = client.chat.completions.create(model="openai/gpt-4o-mini", messages=[{"role": "user", "content": "hi"}],
                                            stream=True)
    chunks = list(stream)
    assert chunks and not any(c.usage for c in chunks)
    with pytest.raises(openai.RateLimitError) as e:
        _chat(gw, vk)
    assert e.value.response.headers["x-ratelimit-limit-tokens"] == "5"


def test_api_creates_lists_updates_and_deletes_live(gw: Gateway) -> None:
    s, _, raw = http("POST", gw.url + "/api/governance/customers", {"name": "Globex", "budget": {
        "max_limit": 5, "reset_duration": "1M"}})
    assert s == 200, raw
    cust = openai_json(raw)["customer"]
    assert cust["budget"]["max_limit"] == 5 and cust["budget"]["current_usage"] == 0
    s, _, raw = http("POST", gw.url + "/api/governance/teams", {"name": "Ops", "customer_id": cust["id"]})
    team = openai_json(raw)["team"]
    s, _, raw = http("POST", gw.url + "/api/governance/virtual-keys", {"name": "ops", "team_id": team["id"]})
    created = openai_json(raw)
    assert created["message"] == "Virtual key created successfully"
    vk = created["virtual_key"]
    assert vk["value"].startswith("sk-bf-") and len(vk["value"]) > 40
    assert _chat(gw, vk["value"]).http_response.status_code == 200
    s, _, raw = http("GET", gw.url + f"/api/governance/virtual-keys/{vk['id']}")
    shown = openai_json(raw)["virtual_key"]
    assert s == 200 and shown["value"] != vk["value"] and shown["value"].endswith(vk["value"][-4:])
    s, _, raw = http("GET", gw.url + "/api/governance/virtual-keys")
    assert vk["value"] not in raw.decode()
    assert any(k["id"] == vk["id"] for k in openai_json(raw)["virtual_keys"])
    s, _, raw = http("PUT", gw.url + f"/api/governance/virtual-keys/{vk['id']}", {"is_active": False})
    assert s == 200 and openai_json(raw)["message"] == "Virtual key updated successfully"
    with pytest.raises(openai.PermissionDeniedError):
        _chat(gw, vk["value"])
    s, _, raw = http("DELETE", gw.url + f"/api/governance/virtual-keys/{vk['id']}")
    assert s == 200 and openai_json(raw)["message"] == "Virtual key deleted successfully"
    with pytest.raises(openai.AuthenticationError):
        _chat(gw, vk["value"])
    assert http("GET", gw.url + f"/api/governance/virtual-keys/{vk['id']}")[0] == 404


def test_api_rejects_bad_bodies_with_the_fix(gw: Gateway) -> None:
    s, _, raw = http("POST", gw.url + "/api/governance/virtual-keys", {"name": "x", "team_id": "research",
                                                                     "customer_id": "acme"})
    assert s == 400 and b"both Team and Customer" in raw
    s, _, raw = http("POST", gw.url + "/api/governance/virtual-keys", {"name": "x", "budget": {
        "max_limit": 1, "reset_duration": "fortnight"}})
    assert s == 400 and b"reset_duration" in raw and b"1M" in raw
    s, _, raw = http("POST", gw.url + "/api/governance/virtual-keys", {"name": "x", "team_id": "nope"})
    assert s == 400 and b"Team not found" in raw


def test_enforce_auth_on_inference_requires_a_virtual_key(tmp_path: Path, mock: Mock) -> None:
    g = Gateway(tmp_path, _config(mock, enforce_auth_on_inference=True))
    try:
        with pytest.raises(openai.AuthenticationError) as e:
            _chat(g, None)
        assert "virtual key is missing" in str(e.value)
        assert _chat(g, VK_CONFIG).http_response.status_code == 200
    finally:
        g.stop()


def test_anthropic_sdk_sends_the_virtual_key_as_x_api_key(gw: Gateway) -> None:
    import anthropic

    def call(key: str) -> Any:
        client = anthropic.Anthropic(base_url=gw.url + "/anthropic", api_key=key, max_retries=0)
        return client.messages.create(model="openai/gpt-4o-mini", max_tokens=16,
                                      messages=[{"role": "user", "content": "hi"}])

    assert call(VK_CONFIG).content
    with pytest.raises(anthropic.AuthenticationError):
        call("sk-bf-unknown-anthropic")
    client = anthropic.Anthropic(base_url=gw.url + "/anthropic", api_key=VK_CONFIG, max_retries=0)
    with pytest.raises(anthropic.PermissionDeniedError):  # gpt-4o is not in the key's allowed_models
        client.messages.create(model="openai/gpt-4o", max_tokens=16, messages=[{"role": "user", "content": "hi"}])
