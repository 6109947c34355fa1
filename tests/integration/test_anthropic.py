"""Anthropic both ways: the OpenAI SDK through the gateway to an Anthropic upstream, and the
Anthropic SDK through `/anthropic/v1/messages` to any provider (the mock speaks both wire formats)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest

from conftest import Gateway, Mock

TOOL = {"type": "function", "function": {"name": "get_weather", "description": "Weather for a city",
                                         "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                                                        "required": ["city"]}}}


@pytest.fixture(scope="module")
def gw(tmp_module: Path, mock: Mock) -> Iterator[Gateway]:
    cfg = {"providers": {
        "anthropic": {"keys": [{"name": "a", "value": "sk-ant-upstream", "models": [], "weight": 1}],
                      "network_config": {"base_url": mock.url}},
        "openai": {"keys": [{"name": "o", "value": "sk-openai-upstream", "models": [], "weight": 1}],
                   "network_config": {"base_url": mock.url}},
    }}
    g = Gateway(tmp_module, cfg)
    yield g
    g.stop()


def _anthropic_client(gw: Gateway) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=gw.url + "/anthropic", api_key="sk-client-to-gateway", max_retries=0)


def _last(mock: Mock, path: str) -> dict[str, Any]:
    reqs = mock.requests(path)
    assert reqs, f"the upstream received no request on {path}"
    return reqs[-1]


# --- OpenAI SDK -> gateway -> Anthropic upstream -------------------------------------------------

@pytest.mark.conformance("openai", "anthropic", "chat", "usage")
def test_openai_sdk_to_anthropic_provider(gw: Gateway, mock: Mock) -> None:
    mock.reset()
    r = gw.openai().chat.completions.create(
        model="anthropic/claude-3-5-haiku-latest",
        messages=[{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello"}])
    sent = _last(mock, "/v1/messages")
    assert sent["headers"]["x-api-key"] == "sk-ant-upstream"
    assert sent["headers"]["anthropic-version"] == "2023-06-01"
    assert "authorization" not in sent["headers"]
    body = sent["body"]
    assert body["model"] == "claude-3-5-haiku-latest" and body["system"] == "be brief"
    assert body["messages"] == [{"role": "user", "content": "hello"}]
    assert isinstance(body["max_tokens"], int) and body["max_tokens"] > 0
    direct = anthropic.Anthropic(base_url=mock.url, api_key="k", max_retries=0).messages.create(
        model="claude-3-5-haiku-latest", max_tokens=100, messages=[{"role": "user", "content": "hello"}])
    assert r.choices[0].message.content == direct.content[0].text
    assert r.choices[0].finish_reason == "stop"
    assert r.usage is not None and r.usage.completion_tokens == direct.usage.output_tokens


@pytest.mark.conformance("openai", "anthropic", "stream", "tools", "streamed tools")
def test_openai_sdk_stream_and_tools_to_anthropic_provider(gw: Gateway, mock: Mock) -> None:
    client = gw.openai()
    text = "".join(c.choices[0].delta.content or "" for c in client.chat.completions.create(
        model="anthropic/claude-3-5-haiku-latest", messages=[{"role": "user", "content": "hi"}], stream=True)
        if c.choices)
    assert len(text) > 10
    assert _last(mock, "/v1/messages")["body"]["stream"] is True

    r = client.chat.completions.create(model="anthropic/claude-3-5-haiku-latest", tools=[TOOL],
                                       messages=[{"role": "user", "content": "weather in Paris?"}])
    call = r.choices[0].message.tool_calls[0]
    assert r.choices[0].finish_reason == "tool_calls" and call.function.name == "get_weather"
    sent_tools = _last(mock, "/v1/messages")["body"]["tools"]
    assert sent_tools[0]["name"] == "get_weather" and sent_tools[0]["input_schema"]["required"] == ["city"]

    with client.chat.completions.stream(model="anthropic/claude-3-5-haiku-latest", tools=[TOOL],
                                        messages=[{"role": "user", "content": "weather?"}]) as s:
        final = s.get_final_completion()
    streamed = final.choices[0].message.tool_calls[0]
    assert streamed.function.name == "get_weather"
    assert json.loads(streamed.function.arguments) == json.loads(call.function.arguments)


@pytest.mark.conformance("openai", "anthropic", "errors")
def test_anthropic_upstream_error_keeps_status_and_message(gw: Gateway, mock: Mock) -> None:
    mock.script({"status": 529, "model": "claude-overloaded"})
    with pytest.raises(openai.APIStatusError) as e:
        gw.openai().chat.completions.create(model="anthropic/claude-overloaded",
                                            messages=[{"role": "user", "content": "x"}])
    assert e.value.status_code == 529
    doc = e.value.response.json()
    assert doc["extra_fields"]["provider"] == "anthropic"
    assert doc["error"]["message"] == "Overloaded" and doc["error"]["type"] == "overloaded_error"


# --- Anthropic SDK -> /anthropic/v1/messages -> any provider --------------------------------------

@pytest.mark.conformance("anthropic", "openai", "chat", "usage")
def test_anthropic_sdk_to_openai_provider(gw: Gateway, mock: Mock) -> None:
    mock.reset()
    msg = _anthropic_client(gw).messages.create(
        model="openai/gpt-4o-mini", max_tokens=200, system="be brief",
        messages=[{"role": "user", "content": "hello"}])
    sent = _last(mock, "/v1/chat/completions")
    assert sent["headers"]["authorization"] == "Bearer sk-openai-upstream"
    assert "x-api-key" not in sent["headers"]
    assert sent["body"]["messages"] == [{"role": "system", "content": "be brief"},
                                        {"role": "user", "content": "hello"}]
    assert sent["body"]["max_tokens"] == 200
    direct = openai.OpenAI(base_url=mock.url + "/v1", api_key="k", max_retries=0).chat.completions.create(
        model="gpt-4o-mini", messages=sent["body"]["messages"])
    assert msg.type == "message" and msg.role == "assistant"
    assert msg.content[0].text == direct.choices[0].message.content
    assert msg.stop_reason == "end_turn" and msg.usage.output_tokens == direct.usage.completion_tokens


@pytest.mark.conformance("anthropic", "openai", "stream", "tools", "streamed tools")
def test_anthropic_sdk_stream_and_tools_to_openai_provider(gw: Gateway, mock: Mock) -> None:
    client = _anthropic_client(gw)
    with client.messages.stream(model="openai/gpt-4o-mini", max_tokens=200,
                                messages=[{"role": "user", "content": "hi"}]) as s:
        kinds = [ev.type for ev in s]
        final = s.get_final_message()
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    assert final.content[0].type == "text" and len(final.content[0].text) > 10

    tools = [{"name": "get_weather", "description": "Weather", "input_schema": TOOL["function"]["parameters"]}]
    msg = client.messages.create(model="openai/gpt-4o-mini", max_tokens=200, tools=tools,
                                 messages=[{"role": "user", "content": "weather in Paris?"}])
    use = [b for b in msg.content if b.type == "tool_use"][0]
    assert msg.stop_reason == "tool_use" and use.name == "get_weather"
    assert _last(mock, "/v1/chat/completions")["body"]["tools"][0]["function"]["name"] == "get_weather"
    with client.messages.stream(model="openai/gpt-4o-mini", max_tokens=200, tools=tools,
                                messages=[{"role": "user", "content": "weather?"}]) as s:
        streamed = s.get_final_message()
    s_use = [b for b in streamed.content if b.type == "tool_use"][0]
    assert s_use.name == "get_weather" and s_use.input == use.input


@pytest.mark.conformance("anthropic", "anthropic", "chat")
def test_anthropic_sdk_to_anthropic_provider_round_trip(gw: Gateway, mock: Mock) -> None:
    msg = _anthropic_client(gw).messages.create(
        model="anthropic/claude-3-5-haiku-latest", max_tokens=300, system="sys",
        messages=[{"role": "user", "content": "hello"}])
    sent = _last(mock, "/v1/messages")
    assert sent["headers"]["x-api-key"] == "sk-ant-upstream"
    assert sent["body"]["system"] == "sys" and sent["body"]["max_tokens"] == 300
    assert msg.content[0].text


@pytest.mark.conformance("anthropic", "openai", "errors")
def test_anthropic_route_errors_use_anthropic_error_shape(gw: Gateway) -> None:
    client = _anthropic_client(gw)
    with pytest.raises(anthropic.BadRequestError) as e:
        client.messages.create(model="nope/x", max_tokens=10, messages=[{"role": "user", "content": "x"}])
    assert e.value.body["type"] == "error"
    assert e.value.body["error"]["type"] == "invalid_request_error"
    assert "not configured" in e.value.body["error"]["message"]
    with pytest.raises(anthropic.APIStatusError) as e2:
        client.messages.create(model="openai/mock-fail-503", max_tokens=10,
                               messages=[{"role": "user", "content": "x"}])
    assert e2.value.status_code == 503 and e2.value.body["error"]["type"] == "overloaded_error"


def test_drop_in_routes_work_under_framework_prefixes(gw: Gateway, mock: Mock) -> None:
    msg = anthropic.Anthropic(base_url=gw.url + "/litellm/anthropic", api_key="x", max_retries=0).messages.create(
        model="openai/gpt-4o-mini", max_tokens=50, messages=[{"role": "user", "content": "hi"}])
    assert msg.content[0].text
    for base in ("/openai/v1", "/langchain/openai/v1", "/pydanticai/v1"):
        r = openai.OpenAI(base_url=gw.url + base, api_key="x", max_retries=0).chat.completions.create(
            model="openai/gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
        assert r.choices[0].message.content, base


def test_count_tokens_and_models_routes(gw: Gateway, mock: Mock) -> None:
    client = _anthropic_client(gw)
    msgs = [{"role": "user", "content": "hello there, how many tokens is this?"}]
    native = client.messages.count_tokens(model="anthropic/claude-3-5-haiku-latest", messages=msgs)
    sent = _last(mock, "/v1/messages/count_tokens")
    assert sent["body"]["model"] == "claude-3-5-haiku-latest" and sent["body"]["messages"] == msgs
    direct = anthropic.Anthropic(base_url=mock.url, api_key="k", max_retries=0).messages.count_tokens(
        model="claude-3-5-haiku-latest", messages=msgs)
    assert native.input_tokens == direct.input_tokens
    estimated = client.messages.count_tokens(model="openai/gpt-4o-mini", messages=msgs)
    assert 5 <= estimated.input_tokens <= 40
    ids = {m.id for m in client.models.list()}
    assert "openai/gpt-4o-mini" in ids and "anthropic/claude-3-5-haiku-latest" in ids


PNG_B64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="


@pytest.mark.conformance("openai", "anthropic", "images in")
def test_openai_image_reaches_anthropic_as_base64_block(gw: Gateway, mock: Mock) -> None:
    gw.openai().chat.completions.create(model="anthropic/claude-3-5-haiku-latest", messages=[{
        "role": "user", "content": [{"type": "text", "text": "what is this?"},
                                    {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG_B64}"}},
                                    {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}}]}])
    blocks = _last(mock, "/v1/messages")["body"]["messages"][0]["content"]
    assert blocks[0] == {"type": "text", "text": "what is this?"}
    assert blocks[1] == {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG_B64}}
    assert blocks[2] == {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}}


@pytest.mark.conformance("anthropic", "openai", "images in")
def test_anthropic_image_reaches_openai_as_data_url(gw: Gateway, mock: Mock) -> None:
    _anthropic_client(gw).messages.create(model="openai/gpt-4o-mini", max_tokens=50, messages=[{
        "role": "user", "content": [
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG_B64}},
            {"type": "text", "text": "what is this?"}]}])
    parts = _last(mock, "/v1/chat/completions")["body"]["messages"][0]["content"]
    assert {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG_B64}"}} in parts
    assert {"type": "text", "text": "what is this?"} in parts


def test_responses_api_on_anthropic_is_served_through_messages(gw: Gateway, mock: Mock) -> None:
    client = gw.openai()
    r = client.responses.create(model="anthropic/claude-3-5-haiku-latest", input="hello", instructions="be brief")
    sent = _last(mock, "/v1/messages")["body"]
    assert sent["system"] == "be brief" and sent["messages"] == [{"role": "user", "content": "hello"}]
    assert r.output_text and r.usage is not None and r.usage.output_tokens > 0
    with client.responses.stream(model="anthropic/claude-3-5-haiku-latest", input="hi") as s:
        kinds = [ev.type for ev in s]
        final = s.get_final_response()
    assert kinds[0] == "response.created" and kinds[-1] == "response.completed"
    assert final.output_text == r.output_text
    assert _last(mock, "/v1/messages")["body"]["stream"] is True
