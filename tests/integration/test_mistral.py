"""Mistral where its API differs from OpenAI's: the OpenAI SDK through the gateway to a loopback upstream
(the mock) standing in for api.mistral.ai, asserting what Mistral received and what the client got."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from bifrost.providers.compat_quirks import map_finish_reasons
from bifrost.providers.compat_table import compat_spec
from conftest import Gateway, Mock

TOOL = {"type": "function", "function": {"name": "get_weather", "description": "Weather for a city",
                                         "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                                                        "required": ["city"]}}}
CHAT = "/v1/chat/completions"


@pytest.fixture(scope="module")
def gw(tmp_module: Path, mock: Mock) -> Iterator[Gateway]:
    cfg = {"providers": {"mistral": {"keys": [{"name": "m", "value": "mistral-upstream-key", "models": [],
                                               "weight": 1}],
                                     "network_config": {"base_url": mock.url}}}}
    g = Gateway(tmp_module, cfg)
    yield g
    g.stop()


def _sent(mock: Mock, path: str) -> dict[str, Any]:
    reqs = mock.requests(path)
    assert reqs, f"Mistral received nothing on {path}"
    return reqs[-1]


@pytest.mark.conformance("openai", "mistral", "chat", "tools", "usage")
def test_openai_request_fields_are_rewritten_to_mistrals_names(gw: Gateway, mock: Mock) -> None:
    client = gw.openai()
    r = client.chat.completions.create(
        model="mistral/mistral-large-latest", messages=[{"role": "user", "content": "weather in Paris?"}],
        tools=[TOOL], tool_choice={"type": "function", "function": {"name": "get_weather"}},
        max_completion_tokens=64, seed=7, reasoning_effort="low", store=True, prompt_cache_key="k",
        temperature=0.2)
    sent = _sent(mock, CHAT)
    body = sent["body"]
    assert sent["headers"]["authorization"] == "Bearer mistral-upstream-key"
    assert body["tool_choice"] == "any"  # Mistral accepts only string tool choices
    assert body["max_tokens"] == 64 and "max_completion_tokens" not in body
    assert body["random_seed"] == 7 and "seed" not in body
    assert body["reasoning_effort"] == "high"  # Mistral knows only none / high
    assert "store" not in body and "prompt_cache_key" not in body
    assert body["temperature"] == 0.2 and body["model"] == "mistral-large-latest"
    call = r.choices[0].message.tool_calls[0]
    assert r.choices[0].finish_reason == "tool_calls" and call.function.name == "get_weather"
    assert r.usage is not None and r.usage.prompt_tokens > 0

    client.chat.completions.create(model="mistral/mistral-small-latest", tools=[TOOL], tool_choice="required",
                                   reasoning_effort="none", messages=[{"role": "user", "content": "hi"}])
    body = _sent(mock, CHAT)["body"]
    assert body["tool_choice"] == "required" and body["reasoning_effort"] == "none"  # accepted as is


@pytest.mark.conformance("openai", "mistral", "stream", "streamed tools")
def test_streamed_chat_to_mistral_keeps_quirks_and_usage(gw: Gateway, mock: Mock) -> None:
    client = gw.openai()
    chunks = list(client.chat.completions.create(
        model="mistral/mistral-small-latest", messages=[{"role": "user", "content": "hi"}], stream=True,
        max_completion_tokens=50, stream_options={"include_usage": True}))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text and chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0
    body = _sent(mock, CHAT)["body"]
    assert body["stream"] is True and body["max_tokens"] == 50 and "max_completion_tokens" not in body
    with client.chat.completions.stream(model="mistral/mistral-small-latest", tools=[TOOL],
                                        tool_choice={"type": "function", "function": {"name": "get_weather"}},
                                        messages=[{"role": "user", "content": "weather?"}]) as s:
        final = s.get_final_completion()
    assert final.choices[0].message.tool_calls[0].function.name == "get_weather"
    assert _sent(mock, CHAT)["body"]["tool_choice"] == "any"


def test_mistral_model_length_finish_reason_becomes_length(gw: Gateway, mock: Mock) -> None:
    answer = {"id": "cmpl-1", "object": "chat.completion", "created": 1, "model": "mistral-small-latest",
              "choices": [{"index": 0, "message": {"role": "assistant", "content": "cut"},
                           "finish_reason": "model_length"}],
              "usage": {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6}}
    mock.script({"model": "mistral-small-latest", "status": 200, "body": answer})
    r = gw.openai().chat.completions.create(model="mistral/mistral-small-latest",
                                            messages=[{"role": "user", "content": "hi"}])
    assert r.choices[0].finish_reason == "length" and r.choices[0].message.content == "cut"
    assert r.usage is not None and r.usage.total_tokens == 6
    # The same mapping on a stream chunk (pure): only chunks that carry the value are rewritten.
    spec = compat_spec("mistral")
    assert spec is not None
    chunk = b'{"choices":[{"index":0,"delta":{},"finish_reason":"model_length"}]}'
    assert b'"finish_reason":"length"' in map_finish_reasons(spec, chunk)
    plain = b'{"choices":[{"index":0,"delta":{"content":"x"},"finish_reason":null}]}'
    assert map_finish_reasons(spec, plain) is plain


@pytest.mark.conformance("openai", "mistral", "embeddings")
def test_embeddings_dimensions_become_output_dimension(gw: Gateway, mock: Mock) -> None:
    r = gw.openai().embeddings.create(model="mistral/codestral-embed", input=["a", "b"], dimensions=16)
    assert [len(d.embedding) for d in r.data] == [16, 16] and r.usage.prompt_tokens > 0
    body = _sent(mock, "/v1/embeddings")["body"]
    assert body["output_dimension"] == 16 and "dimensions" not in body
    assert body["input"] == ["a", "b"] and body["model"] == "codestral-embed"


@pytest.mark.conformance("openai", "mistral", "errors")
def test_mistral_error_shape_reaches_the_client_with_status_and_message(gw: Gateway, mock: Mock) -> None:
    mistral_error = {"object": "error", "message": "Invalid model: mistral-nope", "type": "invalid_model",
                     "param": None, "code": "1500"}
    mock.script({"model": "mistral-nope", "status": 400, "body": mistral_error})
    with pytest.raises(openai.BadRequestError) as exc:
        gw.openai().chat.completions.create(model="mistral/mistral-nope", messages=[{"role": "user", "content": "x"}])
    assert exc.value.status_code == 400
    err = exc.value.body
    assert isinstance(err, dict) and err["message"] == "Invalid model: mistral-nope"
    assert err["type"] == "invalid_model" and err["code"] == "1500"

    detail = {"object": "error", "type": "invalid_request_error", "param": None, "code": None,
              "message": {"detail": [{"type": "extra_forbidden", "loc": ["body", "foo"],
                                      "msg": "Extra inputs are not permitted"}]}}
    mock.script({"model": "mistral-nope", "status": 422, "body": detail})
    with pytest.raises(openai.UnprocessableEntityError) as exc2:
        gw.openai().chat.completions.create(model="mistral/mistral-nope", messages=[{"role": "user", "content": "x"}])
    body2 = exc2.value.body
    assert isinstance(body2, dict) and "Extra inputs are not permitted" in body2["message"]
    assert body2["type"] == "invalid_request_error"


@pytest.mark.conformance("openai", "mistral", "images in")
def test_openai_images_reach_mistral_as_image_url_chunks(gw: Gateway, mock: Mock) -> None:
    png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
    content = [{"type": "text", "text": "what is this?"},
               {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{png}"}},
               {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}}]
    r = gw.openai().chat.completions.create(model="mistral/pixtral-12b-2409",
                                            messages=[{"role": "user", "content": content}])
    assert r.choices[0].message.content
    # Mistral's chat API takes OpenAI's image_url chunks (data: and https: URLs) as they are.
    assert _sent(mock, CHAT)["body"]["messages"] == [{"role": "user", "content": content}]


def test_other_providers_tool_call_ids_are_made_mistral_shaped(gw: Gateway, mock: Mock) -> None:
    """Mistral accepts only 9-character alphanumeric tool-call ids; a conversation carrying OpenAI's or
    Anthropic's ids is rewritten consistently (each call still pairs with its result) instead of failing."""
    history = [
        {"role": "user", "content": "weather in Paris and Rome?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_abc123XYZ", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}},
            {"id": "toolu_01A09q90qw90lq917835lq9", "type": "function",
             "function": {"name": "get_weather", "arguments": "{}"}},
            {"id": "a1B2c3D4e", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "call_abc123XYZ", "content": "21C"},
        {"role": "tool", "tool_call_id": "toolu_01A09q90qw90lq917835lq9", "content": "25C"},
        {"role": "tool", "tool_call_id": "a1B2c3D4e", "content": "19C"},
    ]
    gw.openai().chat.completions.create(model="mistral/mistral-large-latest", tools=[TOOL], messages=history)
    sent = _sent(mock, CHAT)["body"]["messages"]
    calls = [c["id"] for c in sent[1]["tool_calls"]]
    results = [m["tool_call_id"] for m in sent[2:]]
    assert calls == results and len(set(calls)) == 3
    assert all(len(i) == 9 and i.isalnum() and i.isascii() for i in calls)
    assert calls[2] == "a1B2c3D4e"  # already Mistral-shaped: kept
    assert [m["content"] for m in sent[2:]] == ["21C", "25C", "19C"]
    gw.openai().chat.completions.create(model="mistral/mistral-large-latest", tools=[TOOL], messages=history)
    assert [c["id"] for c in _sent(mock, CHAT)["body"]["messages"][1]["tool_calls"]] == calls  # stable
