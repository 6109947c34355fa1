"""Bedrock Converse <-> OpenAI chat translators, against fixtures shaped like AWS's documented examples."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from botocore.eventstream import EventStreamBuffer

from bifrost.mock.bedrock_wire import frame
from bifrost.providers.bedrock.client import _chat_chunks
from bifrost.providers.bedrock.translate import (
    ChatStreamToConverse,
    ConverseStreamToChat,
    chat_response_to_converse,
    chat_to_converse,
    converse_response_to_chat,
    converse_to_chat,
    finish_reason,
)
from bifrost.schemas.errors import UpstreamError

FIX = Path(__file__).resolve().parents[2] / "fixtures" / "bedrock"


def load(name: str) -> dict[str, Any]:
    return json.loads((FIX / name).read_text())


def test_request_with_tools_matches_fixture() -> None:
    fx = load("request_tools.json")
    assert chat_to_converse(fx["chat"]) == fx["converse"]


@pytest.mark.parametrize("name", ["response_text.json", "response_tool_use.json"])
def test_response_matches_fixture(name: str) -> None:
    fx = load(name)
    out = converse_response_to_chat(fx["response"], "anthropic.claude-3-haiku", created=1)
    assert out["object"] == "chat.completion" and out["model"] == "anthropic.claude-3-haiku"
    choice = out["choices"][0]
    assert choice["message"] == fx["expected"]["message"]
    assert choice["finish_reason"] == fx["expected"]["finish_reason"]
    assert out["usage"] == fx["expected"]["usage"]


@pytest.mark.parametrize(("stop", "finish"), [
    ("end_turn", "stop"), ("stop_sequence", "stop"), ("max_tokens", "length"), ("tool_use", "tool_calls"),
    ("guardrail_intervened", "content_filter"), ("content_filtered", "content_filter"), (None, "stop"),
])
def test_finish_reasons(stop: str | None, finish: str) -> None:
    assert finish_reason(stop) == finish


def test_images_system_merging_and_tool_choice() -> None:
    body = {"messages": [
        {"role": "system", "content": "a"}, {"role": "developer", "content": [{"type": "text", "text": "b"}]},
        {"role": "user", "content": [{"type": "text", "text": "look"},
                                     {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,QUJD"}}]},
        {"role": "user", "content": "and this"},
    ], "tools": [{"type": "function", "function": {"name": "f"}}], "tool_choice": "required",
        "max_completion_tokens": 7}
    out = chat_to_converse(body)
    assert out["system"] == [{"text": "a"}, {"text": "b"}]
    assert out["messages"] == [{"role": "user", "content": [
        {"text": "look"}, {"image": {"format": "jpeg", "source": {"bytes": "QUJD"}}}, {"text": "and this"}]}]
    assert out["inferenceConfig"] == {"maxTokens": 7}
    assert out["toolConfig"]["toolChoice"] == {"any": {}}
    assert out["toolConfig"]["tools"][0]["toolSpec"]["inputSchema"]["json"]["type"] == "object"
    named = chat_to_converse({**body, "tool_choice": {"type": "function", "function": {"name": "f"}}})
    assert named["toolConfig"]["toolChoice"] == {"tool": {"name": "f"}}
    assert "toolChoice" not in chat_to_converse({**body, "tool_choice": "none"})["toolConfig"]


@pytest.mark.parametrize("body", [
    {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://x/a.png"}}]}]},
    {"messages": [{"role": "user", "content": "x"}], "n": 2},
    {"messages": []},
    {"messages": [{"role": "user", "content": [{"type": "input_audio", "input_audio": {}}]}]},
])
def test_unservable_requests_raise(body: dict) -> None:
    with pytest.raises(ValueError):
        chat_to_converse(body)


def _stream_fixture() -> list[dict]:
    conv = ConverseStreamToChat("m", created=1)
    return [c for ev, data in load("stream_tool_use.json")["events"] for c in conv.feed(ev, data)]


def test_stream_events_to_chunks() -> None:
    chunks = _stream_fixture()
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == "Let me check that."
    calls = [tc for c in chunks if c["choices"] for tc in c["choices"][0]["delta"].get("tool_calls") or []]
    assert calls[0] == {"index": 0, "id": "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q", "type": "function",
                        "function": {"name": "top_song", "arguments": ""}}
    assert json.loads("".join(tc["function"]["arguments"] for tc in calls)) == {"sign": "WZPZ"}
    finishes = [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]]
    assert finishes[-1] == "tool_calls" and finishes.count("tool_calls") == 1
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"] == {"prompt_tokens": 375, "completion_tokens": 36, "total_tokens": 411}
    assert len({c["id"] for c in chunks}) == 1


def test_tool_without_input_gets_empty_object() -> None:
    conv = ConverseStreamToChat("m")
    conv.feed("contentBlockStart", {"contentBlockIndex": 0, "start": {"toolUse": {"toolUseId": "t", "name": "n"}}})
    out = conv.feed("contentBlockStop", {"contentBlockIndex": 0})
    assert out[0]["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"] == "{}"


def test_mock_frames_decode_with_botocore() -> None:
    buf = EventStreamBuffer()
    data = frame("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "hi"}}) + frame(
        "messageStop", {"stopReason": "end_turn"})
    buf.add_data(data[:7])
    assert list(buf) == []
    buf.add_data(data[7:])
    msgs = list(buf)
    assert [m.headers[":event-type"] for m in msgs] == ["contentBlockDelta", "messageStop"]
    assert msgs[0].headers[":message-type"] == "event" and msgs[0].headers[":content-type"] == "application/json"
    assert json.loads(msgs[1].payload) == {"stopReason": "end_turn"}


async def _collect(parts: list[bytes]) -> list[dict]:
    async def gen() -> Any:
        for p in parts:
            yield p

    return [json.loads(ev.data) async for ev in _chat_chunks("bedrock", gen(), "m")]


def test_event_stream_to_chunks_split_anywhere() -> None:
    data = b"".join(frame(ev, d) for ev, d in load("stream_tool_use.json")["events"])
    parts = [data[i:i + 13] for i in range(0, len(data), 13)]  # frames split at arbitrary byte boundaries
    chunks = asyncio.run(_collect(parts))
    assert chunks[-1]["usage"]["completion_tokens"] == 36
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == "Let me check that."


def test_exception_event_raises_with_status() -> None:
    data = frame("messageStart", {"role": "assistant"}) + frame(
        "throttlingException", {"message": "Too many requests"}, message_type="exception")
    with pytest.raises(UpstreamError) as e:
        asyncio.run(_collect([data]))
    assert e.value.status == 429 and "Too many requests" in str(e.value)


# ---------------------------------------------------------------- inbound direction (/bedrock drop-in)


def test_converse_request_to_chat_round_trips_fixture() -> None:
    fx = load("request_tools.json")
    chat = converse_to_chat(fx["converse"])
    assert chat["messages"][0] == {"role": "system", "content": "You are a radio DJ."}
    assert chat["messages"][1] == {"role": "user", "content": "What is the most popular song on WZPZ?"}
    assert chat["messages"][2]["tool_calls"][0]["function"] == {"name": "top_song", "arguments": '{"sign":"WZPZ"}'}
    assert chat["messages"][3]["role"] == "tool" and "Elemental Hotel" in chat["messages"][3]["content"]
    assert (chat["max_tokens"], chat["temperature"], chat["top_p"], chat["stop"]) == (512, 0.5, 0.9, ["END"])
    assert chat["tool_choice"] == "auto" and chat["tools"][0]["function"]["parameters"]["required"] == ["sign"]
    assert chat_to_converse(chat) == fx["converse"]  # and back again


def test_chat_response_to_converse() -> None:
    resp = {"choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
        "role": "assistant", "content": None, "tool_calls": [
            {"id": "t1", "type": "function", "function": {"name": "f", "arguments": '{"a":1}'}}]}}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 3, "total_tokens": 13,
                  "prompt_tokens_details": {"cached_tokens": 4}}}
    out = chat_response_to_converse(resp)
    assert out["stopReason"] == "tool_use"
    assert out["output"]["message"]["content"] == [{"toolUse": {"toolUseId": "t1", "name": "f", "input": {"a": 1}}}]
    assert out["usage"] == {"inputTokens": 6, "outputTokens": 3, "totalTokens": 13, "cacheReadInputTokens": 4}


def test_chat_stream_to_converse_events() -> None:
    conv = ChatStreamToConverse()
    chunks = [
        {"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]},
        {"choices": [{"index": 0, "delta": {"content": "Hi"}}]},
        {"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "id": "t", "function": {"name": "f",
                                                                                            "arguments": ""}}]}}]},
        {"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": "{}"}}]}}]},
        {"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]},
        {"choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}},
    ]
    events = [e for c in chunks for e in conv.feed(c)] + conv.finish()
    assert [e[0] for e in events] == ["messageStart", "contentBlockDelta", "contentBlockStop", "contentBlockStart",
                                      "contentBlockDelta", "contentBlockStop", "messageStop", "metadata"]
    assert events[3][1] == {"contentBlockIndex": 1, "start": {"toolUse": {"toolUseId": "t", "name": "f"}}}
    assert events[6][1] == {"stopReason": "tool_use"}
    assert events[7][1]["usage"] == {"inputTokens": 5, "outputTokens": 2, "totalTokens": 7}
    assert conv.finish() == []
