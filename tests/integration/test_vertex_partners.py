"""Vertex AI beyond Gemini and Claude: Mistral models (publishers/mistralai rawPredict), Model-as-a-Service
partner models (the OpenAI-compatible endpoints/openapi/chat/completions) and fine-tuned endpoints (numeric
ids, addressed by project number). The OpenAI SDK through the gateway to the mock's Vertex wire, asserting the
URL path, the OAuth bearer token and the body Vertex received."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from test_vertex import TOOL, service_account

from bifrost.providers.vertex.models import ANTHROPIC, ENDPOINT, GEMINI, MISTRAL, OPENAPI, family
from conftest import Gateway, Mock

PROJECT, NUMBER, REGION = "my-proj", "123456789012", "us-central1"
V1 = f"/v1/projects/{PROJECT}/locations/{REGION}"
MISTRAL_RAW = f"{V1}/publishers/mistralai/models/mistral-small-2503:rawPredict"
OPENAPI_PATH = f"/v1beta1/projects/{PROJECT}/locations/{REGION}/endpoints/openapi/chat/completions"
ENDPOINT_ID = "4567890123456789012"
TUNED = f"/v1beta1/projects/{NUMBER}/locations/{REGION}/endpoints/{ENDPOINT_ID}"
LLAMA = "meta/llama-3.3-70b-instruct-maas"


@pytest.fixture(scope="module")
def gw(tmp_module: Path, mock: Mock) -> Iterator[Gateway]:
    cfg = {"providers": {"vertex": {
        "keys": [{"name": "v", "value": "", "models": [], "weight": 1,
                  "vertex_key_config": {"project_id": PROJECT, "project_number": NUMBER, "region": REGION,
                                        "auth_credentials": "env.VERTEX_TEST_CREDENTIALS"}}],
        "network_config": {"base_url": mock.url}}}}
    g = Gateway(tmp_module, cfg, env={"VERTEX_TEST_CREDENTIALS": service_account(mock.url + "/token")})
    yield g
    g.stop()


def _last(mock: Mock, path: str) -> dict[str, Any]:
    reqs = mock.requests(path)
    assert reqs, f"Vertex received nothing on {path}"
    return reqs[-1]


def test_models_are_routed_to_the_api_that_serves_them() -> None:
    assert family("gemini-2.5-flash") == GEMINI and family("text-embedding-005") == GEMINI
    assert family("google/gemini-2.0-flash") == GEMINI
    assert family("claude-sonnet-4@20250514") == ANTHROPIC
    assert family("mistral-small-2503") == MISTRAL and family("codestral-2501") == MISTRAL
    assert family("mistralai/mistral-large-2411") == MISTRAL
    assert family(LLAMA) == OPENAPI and family("qwen/qwen3-235b-a22b-instruct-2507-maas") == OPENAPI
    assert family(ENDPOINT_ID) == ENDPOINT


@pytest.mark.conformance("openai", "vertex", "chat", "tools")
def test_mistral_on_vertex_uses_rawpredict_with_mistrals_quirks(gw: Gateway, mock: Mock) -> None:
    client = gw.openai()
    r = client.chat.completions.create(
        model="vertex/mistral-small-2503", messages=[{"role": "user", "content": "weather in Paris?"}],
        tools=[TOOL], tool_choice={"type": "function", "function": {"name": "get_weather"}},
        max_completion_tokens=40, store=True)
    sent = _last(mock, MISTRAL_RAW)
    assert sent["headers"]["authorization"].startswith("Bearer mock-vertex-token-")
    body = sent["body"]
    assert body["model"] == "mistral-small-2503" and body["tool_choice"] == "any"
    assert body["max_tokens"] == 40 and "max_completion_tokens" not in body and "store" not in body
    assert "stream" not in body
    assert r.choices[0].message.tool_calls[0].function.name == "get_weather"
    assert r.usage is not None and r.usage.prompt_tokens > 0

    chunks = list(client.chat.completions.create(model="vertex/mistral-small-2503", stream=True,
                                                 messages=[{"role": "user", "content": "hi"}]))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    body = _last(mock, f"{V1}/publishers/mistralai/models/mistral-small-2503:streamRawPredict")["body"]
    assert body["stream"] is True and body["model"] == "mistral-small-2503"


@pytest.mark.conformance("openai", "vertex", "stream")
def test_partner_models_use_the_openai_compatible_maas_endpoint(gw: Gateway, mock: Mock) -> None:
    client = gw.openai()
    r = client.chat.completions.create(model=f"vertex/{LLAMA}", max_tokens=30, reasoning_effort="none",
                                       prediction={"type": "content", "content": "x"},
                                       messages=[{"role": "system", "content": "sys"},
                                                 {"role": "user", "content": "hello"}])
    assert r.choices[0].message.content and r.choices[0].finish_reason == "stop"
    sent = _last(mock, OPENAPI_PATH)
    assert sent["headers"]["authorization"].startswith("Bearer mock-vertex-token-")
    body = sent["body"]
    assert body["model"] == LLAMA and body["max_tokens"] == 30
    assert body["messages"][0] == {"role": "system", "content": "sys"}
    assert "reasoning_effort" not in body and "prediction" not in body  # MaaS models reject both

    with client.chat.completions.stream(model=f"vertex/{LLAMA}", tools=[TOOL],
                                        messages=[{"role": "user", "content": "weather?"}]) as s:
        final = s.get_final_completion()
    assert final.choices[0].message.tool_calls[0].function.name == "get_weather"
    body = _last(mock, OPENAPI_PATH)["body"]
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}


@pytest.mark.conformance("openai", "vertex", "chat", "stream")
def test_numeric_model_is_a_fine_tuned_endpoint_addressed_by_project_number(gw: Gateway, mock: Mock) -> None:
    client = gw.openai()
    r = client.chat.completions.create(model=f"vertex/{ENDPOINT_ID}", max_tokens=50,
                                       messages=[{"role": "system", "content": "be brief"},
                                                 {"role": "user", "content": "hello"}])
    assert r.choices[0].message.content and r.usage is not None and r.usage.completion_tokens > 0
    sent = _last(mock, f"{TUNED}:generateContent")
    assert sent["headers"]["authorization"].startswith("Bearer mock-vertex-token-")
    assert sent["body"]["systemInstruction"]["parts"] == [{"text": "be brief"}]
    assert sent["body"]["generationConfig"]["maxOutputTokens"] == 50
    chunks = list(client.chat.completions.create(model=f"vertex/{ENDPOINT_ID}", stream=True,
                                                 messages=[{"role": "user", "content": "hi"}]))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert _last(mock, f"{TUNED}:streamGenerateContent")["query"] == "alt=sse"


def test_fine_tuned_endpoint_without_project_number_is_a_config_error(tmp_path: Path, mock: Mock) -> None:
    cfg = {"providers": {"vertex": {
        "keys": [{"name": "v", "value": "ya29.static", "models": [], "weight": 1,
                  "vertex_key_config": {"project_id": PROJECT, "region": REGION}}],
        "network_config": {"base_url": mock.url}}}}
    g = Gateway(tmp_path, cfg)
    try:
        with pytest.raises(openai.APIStatusError) as e:
            g.openai().chat.completions.create(model=f"vertex/{ENDPOINT_ID}",
                                               messages=[{"role": "user", "content": "x"}])
        with pytest.raises(openai.BadRequestError) as e2:
            g.openai().embeddings.create(model=f"vertex/{LLAMA}", input="x")
    finally:
        g.stop()
    assert "vertex_key_config.project_number" in e.value.response.json()["error"]["message"]
    assert "does not offer embeddings" in e2.value.response.json()["error"]["message"]
