"""Anthropic SDK -> /anthropic/v1/messages -> Gemini, Bedrock and Cohere providers.

Each test runs once per provider: it checks the native request the provider received, then replays
that exact request to the provider (the loopback mock) and compares its own answer with what the
Anthropic SDK got: text, tool call, stop reason, usage, and errors in Anthropic's shape.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import pytest

from conftest import Gateway, Mock
from native_wire import native_text, native_tool, native_usage, replay

SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
TOOLS = [{"name": "get_weather", "description": "Weather for a city", "input_schema": SCHEMA}]
MODELS = {"gemini": "gemini-2.5-flash", "bedrock": "anthropic.claude-3-haiku-20240307-v1:0",
          "cohere": "command-a-03-2025"}
LIMITED = {"gemini": "gemini-limited", "bedrock": "anthropic.claude-limited-v1:0", "cohere": "command-limited"}
FEATURES = ("chat", "stream", "tools", "streamed tools", "usage", "errors")
PROVIDERS = [pytest.param(p, marks=pytest.mark.conformance("anthropic", p, *FEATURES), id=p)
             for p in ("gemini", "bedrock", "cohere")]


@pytest.fixture(scope="module")
def gw(tmp_module: Path, mock: Mock) -> Iterator[Gateway]:
    net = {"base_url": mock.url}
    cfg = {"providers": {
        "gemini": {"keys": [{"name": "g", "value": "goog-upstream", "models": [], "weight": 1}], "network_config": net},
        "cohere": {"keys": [{"name": "c", "value": "co-upstream", "models": [], "weight": 1}], "network_config": net},
        "bedrock": {"keys": [{"name": "b", "value": "", "models": [], "weight": 1,
                              "bedrock_key_config": {"access_key": "AKIDUPSTREAM", "secret_key": "s",
                                                     "region": "us-west-2"}}], "network_config": net},
    }}
    g = Gateway(tmp_module, cfg)
    yield g
    g.stop()


def _client(gw: Gateway) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=gw.url + "/anthropic", api_key="sk-client-to-gateway", max_retries=0)


def _path(provider: str, model: str, stream: bool) -> str:
    if provider == "gemini":
        return f"/v1beta/models/{model}:{'streamGenerateContent' if stream else 'generateContent'}"
    if provider == "bedrock":
        return f"/model/{model.replace(':', '%3A')}/{'converse-stream' if stream else 'converse'}"
    return "/v2/chat"


def _sent(mock: Mock, provider: str, stream: bool = False, model: str | None = None) -> dict[str, Any]:
    path = _path(provider, model or MODELS[provider], stream)
    reqs = mock.requests(path)
    assert reqs, f"the upstream received no request on {path}"
    sent = reqs[-1]
    h = sent["headers"]
    assert "x-api-key" not in h and "sk-client-to-gateway" not in json.dumps(h)
    if provider == "gemini":
        assert h["x-goog-api-key"] == "goog-upstream"
    elif provider == "bedrock":
        assert h["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDUPSTREAM/")
    else:
        assert h["authorization"] == "Bearer co-upstream"
    if provider == "cohere":
        assert (sent["body"].get("stream") is True) == stream
    return sent


def _check_system_and_limit(provider: str, body: dict[str, Any]) -> None:
    if provider == "gemini":
        assert body["systemInstruction"]["parts"] == [{"text": "be brief"}]
        assert body["contents"] == [{"role": "user", "parts": [{"text": "hello"}]}]
        assert body["generationConfig"]["maxOutputTokens"] == 200
    elif provider == "bedrock":
        assert body["system"] == [{"text": "be brief"}]
        assert body["messages"] == [{"role": "user", "content": [{"text": "hello"}]}]
        assert body["inferenceConfig"]["maxTokens"] == 200
    else:
        assert body["messages"] == [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello"}]
        assert body["max_tokens"] == 200


@pytest.mark.parametrize("provider", PROVIDERS)
def test_anthropic_sdk_chat_and_usage_match_the_provider_answer(gw: Gateway, mock: Mock, provider: str) -> None:
    msg = _client(gw).messages.create(model=f"{provider}/{MODELS[provider]}", max_tokens=200, system="be brief",
                                      messages=[{"role": "user", "content": "hello"}])
    sent = _sent(mock, provider)
    _check_system_and_limit(provider, sent["body"])
    native = replay(mock, sent)
    assert msg.type == "message" and msg.role == "assistant" and msg.model == f"{provider}/{MODELS[provider]}"
    assert [b.type for b in msg.content] == ["text"] and msg.content[0].text == native_text(provider, native)
    assert msg.stop_reason == "end_turn"
    assert (msg.usage.input_tokens, msg.usage.output_tokens) == native_usage(provider, native)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_anthropic_sdk_stream_matches_the_provider_answer(gw: Gateway, mock: Mock, provider: str) -> None:
    with _client(gw).messages.stream(model=f"{provider}/{MODELS[provider]}", max_tokens=200, system="be brief",
                                     messages=[{"role": "user", "content": "hello"}]) as s:
        kinds = [ev.type for ev in s]
        final = s.get_final_message()
    sent = _sent(mock, provider, stream=True)
    _check_system_and_limit(provider, sent["body"])
    native = replay(mock, sent)
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    assert kinds.count("text") > 2, "the text should arrive in several deltas"
    assert final.content[0].text == native_text(provider, native) and final.stop_reason == "end_turn"
    assert final.usage.output_tokens == native_usage(provider, native)[1]


def _check_tools(provider: str, body: dict[str, Any]) -> None:
    if provider == "gemini":
        decl = body["tools"][0]["functionDeclarations"][0]
        assert decl["name"] == "get_weather" and decl["description"] == "Weather for a city"
        assert (decl.get("parameters") or decl.get("parametersJsonSchema"))["required"] == ["city"]
        cfg = body["toolConfig"]["functionCallingConfig"]
        assert cfg["mode"] == "ANY" and cfg["allowedFunctionNames"] == ["get_weather"]
    elif provider == "bedrock":
        assert body["toolConfig"]["tools"] == [{"toolSpec": {"name": "get_weather", "description": "Weather for a city",
                                                             "inputSchema": {"json": SCHEMA}}}]
        assert body["toolConfig"]["toolChoice"] == {"tool": {"name": "get_weather"}}
    else:
        assert body["tools"] == [{"type": "function", "function": {"name": "get_weather",
                                                                   "description": "Weather for a city",
                                                                   "parameters": SCHEMA}}]
        assert body["tool_choice"] == "REQUIRED"


def _check_tool_result(provider: str, body: dict[str, Any], call_id: str) -> None:
    if provider == "gemini":
        last = body["contents"][-1]
        resp = last["parts"][0]["functionResponse"]
        assert last["role"] == "user" and resp["name"] == "get_weather" and "21 degrees" in json.dumps(resp)
        assert any("functionCall" in p for p in body["contents"][-2]["parts"])
    elif provider == "bedrock":
        result = body["messages"][-1]["content"][0]["toolResult"]
        assert result["toolUseId"] == call_id and result["content"] == [{"text": "21 degrees"}]
        uses = [b["toolUse"] for b in body["messages"][-2]["content"] if "toolUse" in b]
        assert [u["toolUseId"] for u in uses] == [call_id]
    else:
        assert body["messages"][-1]["role"] == "tool" and body["messages"][-1]["tool_call_id"] == call_id
        assert "21 degrees" in json.dumps(body["messages"][-1]["content"])
        assert body["messages"][-2]["tool_calls"][0]["id"] == call_id


@pytest.mark.parametrize("provider", PROVIDERS)
def test_anthropic_sdk_tool_use_and_result_match_the_provider(gw: Gateway, mock: Mock, provider: str) -> None:
    client, model = _client(gw), f"{provider}/{MODELS[provider]}"
    ask = [{"role": "user", "content": "weather in Paris?"}]
    msg = client.messages.create(model=model, max_tokens=200, tools=TOOLS,
                                 tool_choice={"type": "tool", "name": "get_weather"}, messages=ask)
    sent = _sent(mock, provider)
    _check_tools(provider, sent["body"])
    use = next(b for b in msg.content if b.type == "tool_use")
    assert msg.stop_reason == "tool_use" and (use.name, use.input) == native_tool(provider, replay(mock, sent))

    follow = client.messages.create(model=model, max_tokens=200, tools=TOOLS, messages=[
        *ask, {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in msg.content]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "21 degrees"}]}])
    _check_tool_result(provider, _sent(mock, provider)["body"], use.id)
    assert follow.stop_reason == "end_turn" and follow.content[0].text


@pytest.mark.parametrize("provider", PROVIDERS)
def test_anthropic_sdk_streamed_tool_use_matches_the_provider(gw: Gateway, mock: Mock, provider: str) -> None:
    with _client(gw).messages.stream(model=f"{provider}/{MODELS[provider]}", max_tokens=200, tools=TOOLS,
                                     tool_choice={"type": "tool", "name": "get_weather"},
                                     messages=[{"role": "user", "content": "weather?"}]) as s:
        events = list(s)
        final = s.get_final_message()
    sent = _sent(mock, provider, stream=True)
    _check_tools(provider, sent["body"])
    use = next(b for b in final.content if b.type == "tool_use")
    assert (use.name, use.input) == native_tool(provider, replay(mock, sent))
    assert any(e.type == "content_block_delta" and e.delta.type == "input_json_delta" for e in events)
    assert final.stop_reason == "tool_use"


@pytest.mark.parametrize("provider", PROVIDERS)
def test_anthropic_sdk_gets_provider_errors_in_anthropic_shape(gw: Gateway, mock: Mock, provider: str) -> None:
    client = _client(gw)
    mock.script({"status": 429, "model": LIMITED[provider], "error_message": f"{provider} quota exhausted (mock)"})
    with pytest.raises(anthropic.RateLimitError) as e:
        client.messages.create(model=f"{provider}/{LIMITED[provider]}", max_tokens=10,
                               messages=[{"role": "user", "content": "x"}])
    _sent(mock, provider, model=LIMITED[provider])
    assert e.value.status_code == 429 and e.value.body["type"] == "error"
    assert e.value.body["error"]["type"] == "rate_limit_error"
    assert f"{provider} quota exhausted (mock)" in e.value.body["error"]["message"]

    mock.script({"status": 400, "model": LIMITED[provider], "error_message": f"{provider} says: bad request (mock)"})
    with pytest.raises(anthropic.BadRequestError) as e2:
        client.messages.create(model=f"{provider}/{LIMITED[provider]}", max_tokens=10,
                               messages=[{"role": "user", "content": "x"}])
    assert e2.value.body["error"]["type"] == "invalid_request_error"
    assert f"{provider} says: bad request (mock)" in e2.value.body["error"]["message"]
