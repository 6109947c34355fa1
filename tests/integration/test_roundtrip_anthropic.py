"""Anthropic SDK -> /anthropic/v1/messages -> Anthropic provider: the native round trip is exact.

Each test compares what the SDK got through the gateway with what the same SDK gets straight from
the loopback upstream (the mock speaks the Messages API), and checks what the upstream received.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import pytest

from conftest import Gateway, Mock

MODEL = "claude-3-5-haiku-latest"
TOOLS = [{"name": "get_weather", "description": "Weather for a city",
          "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}]
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "anthropic"


@pytest.fixture(scope="module")
def gw(tmp_module: Path, mock: Mock) -> Iterator[Gateway]:
    cfg = {"providers": {
        "anthropic": {"keys": [{"name": "a", "value": "sk-ant-upstream", "models": [], "weight": 1}],
                      "network_config": {"base_url": mock.url}},
    }}
    g = Gateway(tmp_module, cfg)
    yield g
    g.stop()


def _client(gw: Gateway) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=gw.url + "/anthropic", api_key="sk-client-to-gateway", max_retries=0)


def _direct(mock: Mock) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=mock.url, api_key="k", max_retries=0)


def _last(mock: Mock, path: str = "/v1/messages") -> dict[str, Any]:
    reqs = mock.requests(path)
    assert reqs, f"the upstream received no request on {path}"
    return reqs[-1]


@pytest.mark.conformance("anthropic", "anthropic", "stream", "usage")
def test_anthropic_stream_round_trip_keeps_event_sequence_text_and_usage(gw: Gateway, mock: Mock) -> None:
    kw: dict[str, Any] = {"max_tokens": 200, "system": "be brief", "messages": [{"role": "user", "content": "hi"}]}
    with _client(gw).messages.stream(model="anthropic/" + MODEL, **kw) as s:
        kinds = [ev.type for ev in s]
        final = s.get_final_message()
    sent = _last(mock)
    assert sent["headers"]["x-api-key"] == "sk-ant-upstream" and sent["body"]["stream"] is True
    assert sent["body"]["system"] == "be brief" and sent["body"]["max_tokens"] == 200
    with _direct(mock).messages.stream(model=MODEL, **kw) as d:
        direct_kinds = [ev.type for ev in d]
        direct = d.get_final_message()
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    # the SDK's own derived events (text, content_block_*) come out in the same order as from the provider
    assert [k for k in kinds if k != "ping"] == [k for k in direct_kinds if k != "ping"]
    assert final.content[0].text == direct.content[0].text and final.stop_reason == "end_turn"
    assert final.model == "anthropic/" + MODEL
    assert final.usage.output_tokens == direct.usage.output_tokens
    assert final.usage.input_tokens == direct.usage.input_tokens


@pytest.mark.conformance("anthropic", "anthropic", "tools")
def test_anthropic_tool_use_and_tool_result_round_trip(gw: Gateway, mock: Mock) -> None:
    client = _client(gw)
    ask = [{"role": "user", "content": "weather in Paris?"}]
    msg = client.messages.create(model="anthropic/" + MODEL, max_tokens=200, tools=TOOLS,
                                 tool_choice={"type": "tool", "name": "get_weather"}, messages=ask)
    sent = _last(mock)["body"]
    assert sent["tools"] == TOOLS
    assert sent["tool_choice"]["type"] == "tool" and sent["tool_choice"]["name"] == "get_weather"
    direct = _direct(mock).messages.create(model=MODEL, max_tokens=200, tools=TOOLS, messages=ask)
    use = next(b for b in msg.content if b.type == "tool_use")
    d_use = next(b for b in direct.content if b.type == "tool_use")
    assert msg.stop_reason == "tool_use" and use.name == "get_weather" and use.input == d_use.input
    assert use.id.startswith("toolu_")

    follow = client.messages.create(model="anthropic/" + MODEL, max_tokens=200, tools=TOOLS, messages=[
        *ask, {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in msg.content]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "21 degrees"}]}])
    turns = _last(mock)["body"]["messages"]
    assert [t["role"] for t in turns] == ["user", "assistant", "user"]
    sent_use = next(b for b in turns[1]["content"] if b["type"] == "tool_use")
    assert sent_use == {"type": "tool_use", "id": use.id, "name": "get_weather", "input": use.input}
    result = turns[2]["content"][0]
    assert result["type"] == "tool_result" and result["tool_use_id"] == use.id
    assert json.dumps(result.get("content")).count("21 degrees") == 1
    assert follow.stop_reason == "end_turn" and follow.content[0].type == "text"


@pytest.mark.conformance("anthropic", "anthropic", "streamed tools")
def test_anthropic_streamed_tool_use_round_trip(gw: Gateway, mock: Mock) -> None:
    kw: dict[str, Any] = {"max_tokens": 200, "tools": TOOLS, "messages": [{"role": "user", "content": "weather?"}]}
    with _client(gw).messages.stream(model="anthropic/" + MODEL, **kw) as s:
        events = list(s)
        final = s.get_final_message()
    assert _last(mock)["body"]["tools"] == TOOLS and _last(mock)["body"]["stream"] is True
    with _direct(mock).messages.stream(model=MODEL, **kw) as d:
        direct = d.get_final_message()
    deltas = [e for e in events if e.type == "content_block_delta" and e.delta.type == "input_json_delta"]
    assert len(deltas) > 1, "tool arguments should arrive as several input_json_delta events"
    use = next(b for b in final.content if b.type == "tool_use")
    d_use = next(b for b in direct.content if b.type == "tool_use")
    assert use.name == d_use.name == "get_weather" and use.input == d_use.input
    assert final.stop_reason == "tool_use"


@pytest.mark.conformance("anthropic", "anthropic", "usage")
def test_anthropic_prompt_cache_usage_reaches_the_client(gw: Gateway, mock: Mock) -> None:
    fixture = json.loads((FIXTURES / "response_cache_usage.json").read_text())["anthropic"]
    mock.script({"status": 200, "model": "claude-cached", "body": fixture})
    system = [{"type": "text", "text": "a long shared prefix", "cache_control": {"type": "ephemeral"}}]
    msg = _client(gw).messages.create(model="anthropic/claude-cached", max_tokens=600, system=system,
                                      messages=[{"role": "user", "content": "themes?"}])
    sent = _last(mock)["body"]
    assert sent["system"] == system, "cache_control must reach the provider unchanged"
    u = msg.usage
    assert (u.input_tokens, u.cache_read_input_tokens, u.cache_creation_input_tokens, u.output_tokens) == (
        21, 1800, 248, 503)
    assert msg.stop_reason == "max_tokens" and msg.content[0].text == fixture["content"][0]["text"]


@pytest.mark.conformance("anthropic", "anthropic", "chat")
def test_anthropic_thinking_block_and_signature_round_trip(gw: Gateway, mock: Mock) -> None:
    kw: dict[str, Any] = {"max_tokens": 2000, "thinking": {"type": "enabled", "budget_tokens": 1024},
                          "messages": [{"role": "user", "content": "think, then answer"}]}
    msg = _client(gw).messages.create(model="anthropic/" + MODEL, **kw)
    assert _last(mock)["body"]["thinking"] == {"type": "enabled", "budget_tokens": 1024}
    direct = _direct(mock).messages.create(model=MODEL, **kw)
    assert [b.type for b in msg.content] == [b.type for b in direct.content] == ["thinking", "text"]
    assert msg.content[0].thinking == direct.content[0].thinking
    assert msg.content[0].signature == direct.content[0].signature
    assert msg.usage.output_tokens == direct.usage.output_tokens


@pytest.mark.conformance("anthropic", "anthropic", "errors")
def test_anthropic_upstream_errors_reach_the_sdk_in_anthropic_shape(gw: Gateway, mock: Mock) -> None:
    client = _client(gw)
    mock.script({"status": 529, "model": "claude-busy"})
    with pytest.raises(anthropic.APIStatusError) as e:
        client.messages.create(model="anthropic/claude-busy", max_tokens=10,
                               messages=[{"role": "user", "content": "x"}])
    assert e.value.status_code == 529
    assert e.value.body["type"] == "error"
    assert e.value.body["error"] == {"type": "overloaded_error", "message": "Overloaded"}

    mock.script({"status": 429, "model": "claude-limited", "error_message": "rate limited: slow down (mock)"})
    with pytest.raises(anthropic.RateLimitError) as e2:
        client.messages.create(model="anthropic/claude-limited", max_tokens=10,
                               messages=[{"role": "user", "content": "x"}])
    assert e2.value.body["error"] == {"type": "rate_limit_error", "message": "rate limited: slow down (mock)"}
    assert _last(mock)["body"]["model"] == "claude-limited"

    mock.script({"model": "claude-breaks", "stream_error_after_chunks": 2, "error_type": "overloaded_error",
                 "error_message": "Overloaded mid-stream (mock)"})
    with pytest.raises(anthropic.APIStatusError) as e3:  # noqa: PT012
        with client.messages.stream(model="anthropic/claude-breaks", max_tokens=10,
                                    messages=[{"role": "user", "content": "x"}]) as s:
            for _ in s:
                pass
    assert "Overloaded mid-stream (mock)" in str(e3.value)


PNG_B64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="


@pytest.mark.conformance("anthropic", "anthropic", "images in")
def test_anthropic_image_blocks_reach_anthropic_unchanged(gw: Gateway, mock: Mock) -> None:
    blocks = [{"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG_B64}},
              {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
              {"type": "text", "text": "what are these?"}]
    msg = _client(gw).messages.create(model="anthropic/" + MODEL, max_tokens=100,
                                      messages=[{"role": "user", "content": blocks}])
    assert _last(mock)["body"]["messages"] == [{"role": "user", "content": blocks}]
    assert msg.content[0].text
