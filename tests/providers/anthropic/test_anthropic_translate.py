"""Anthropic Messages <-> OpenAI chat translation, checked against Anthropic's documented examples
(tests/fixtures/anthropic, each file names its source) and the official anthropic and openai SDKs."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import anthropic
import httpx2
import openai
import pydantic
import pytest
from anthropic.lib.streaming._messages import accumulate_event
from anthropic.types import Message, RawMessageStreamEvent
from openai.lib.streaming.chat import ChatCompletionStreamState
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from bifrost.providers.anthropic.translate import (
    ChatStreamToMessages,
    MessagesStreamToChat,
    StreamError,
    chat_response_to_messages,
    chat_to_messages,
    default_max_tokens,
    error_body,
    error_message,
    messages_response_to_chat,
    messages_to_chat,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "anthropic"
EVENT = pydantic.TypeAdapter(RawMessageStreamEvent)
MODEL = "claude-sonnet-4-20250514"


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def chat_stream(fx: dict) -> list[dict]:
    conv = MessagesStreamToChat(fx["model"], created=1700000000)
    return [c for event, data in fx["events"] for c in conv.feed(event, data)]


def accumulate_openai(chunks: list[dict]) -> ChatCompletion:
    state = ChatCompletionStreamState()
    for chunk in chunks:
        state.handle_chunk(ChatCompletionChunk.model_validate(chunk))
    return state.get_final_completion()


def accumulate_anthropic(events: list[tuple[str, dict]]) -> Message:
    snapshot, bufs = None, {}
    for name, data in events:
        assert name == data["type"]
        snapshot = accumulate_event(event=EVENT.validate_python(data), current_snapshot=snapshot, json_bufs=bufs)
    assert snapshot is not None
    return Message.model_validate(snapshot.model_dump())


def anthropic_events(chunks: list[dict], model: str = MODEL) -> list[tuple[str, dict]]:
    conv = ChatStreamToMessages(model)
    return [e for c in chunks for e in conv.feed(c)] + conv.finish()


# --------------------------------------------------------------------------------- golden requests


@pytest.mark.parametrize("name", ["request_tool_use", "request_tool_result", "request_vision"])
def test_golden_requests_both_ways(name):
    fx = fixture(name)
    assert chat_to_messages(copy.deepcopy(fx["chat"]), fx["model"]) == fx["anthropic"]
    assert messages_to_chat(copy.deepcopy(fx["anthropic"])) == fx["chat"]


def test_golden_thinking_request():
    fx = fixture("request_thinking")
    # budget 16000 of max_tokens 20000 is a ratio of 0.79 -> "high" (Bifrost GetReasoningEffortFromBudgetTokens)
    assert messages_to_chat(fx["anthropic"]) == fx["chat"]
    # ... and "high" of 20000 comes back as budget 1024 + 0.8 * (20000 - 1024)
    assert chat_to_messages(fx["chat"], fx["model"])["thinking"] == {"type": "enabled", "budget_tokens": 16204}
    # native=True keeps the thinking object, so an Anthropic upstream gets exactly the documented request.
    assert chat_to_messages(messages_to_chat(fx["anthropic"], native=True), fx["model"]) == fx["anthropic"]


def test_golden_prompt_caching_request():
    fx = fixture("request_prompt_caching")
    assert messages_to_chat(fx["anthropic"], native=True) == fx["chat_native"]
    assert chat_to_messages(fx["chat_native"], fx["model"]) == fx["anthropic"]
    plain = messages_to_chat(fx["anthropic"])  # for other providers cache_control is dropped
    assert plain["messages"][0]["content"][1] == {"type": "text",
                                                  "text": "<the entire contents of 'Pride and Prejudice'>"}


# -------------------------------------------------------------------------------- golden responses


def without_native(choice: dict) -> dict:
    return {k: v for k, v in choice.items() if k != "native_finish_reason"}


@pytest.mark.parametrize("name", ["response_text", "response_tool_use", "response_thinking", "response_cache_usage"])
def test_golden_responses_both_ways(name):
    fx = fixture(name)
    Message.model_validate(fx["anthropic"])
    chat = messages_response_to_chat(fx["anthropic"], fx["model"], created=fx["created"])
    # the provider's own stop_reason rides along (OpenRouter's field) so an Anthropic client gets it back
    assert chat["choices"][0]["native_finish_reason"] == fx["anthropic"]["stop_reason"]
    assert {**chat, "choices": [without_native(c) for c in chat["choices"]]} == fx["chat"]
    ChatCompletion.model_validate(chat)

    back = chat_response_to_messages(chat, fx["model"])
    msg = Message.model_validate(back)
    assert back["content"] == fx["anthropic"]["content"]
    original = fx["anthropic"]
    assert (back["id"], msg.stop_reason, msg.stop_sequence) == (original["id"], original["stop_reason"], None)
    usage = fx["anthropic"]["usage"]
    assert back["usage"] == {"input_tokens": usage["input_tokens"], "output_tokens": usage["output_tokens"],
                             "cache_read_input_tokens": usage.get("cache_read_input_tokens", 0),
                             "cache_creation_input_tokens": usage.get("cache_creation_input_tokens", 0)}


def test_response_edge_cases():
    resp = {"id": "msg_1", "type": "message", "role": "assistant", "model": MODEL, "stop_sequence": None,
            "content": [{"type": "text", "text": "Part one, "},
                        {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"q": "x"}},
                        {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": []},
                        {"type": "text", "text": "part two.", "citations": None},
                        {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix/LafPsn4a"}],
            "stop_reason": "refusal",
            "usage": {"input_tokens": 3, "output_tokens": 4, "output_tokens_details": {"thinking_tokens": 2}}}
    chat = messages_response_to_chat(resp, "anthropic/claude", created=1)
    ChatCompletion.model_validate(chat)
    msg = chat["choices"][0]["message"]
    assert msg["content"] == "Part one, part two." and "tool_calls" not in msg and "reasoning" not in msg
    assert msg["reasoning_details"] == [{"index": 0, "type": "reasoning.encrypted",
                                         "data": "EmwKAhgBEgy3va3pzix/LafPsn4a"}]
    assert chat["choices"][0]["finish_reason"] == "content_filter" and chat["model"] == "anthropic/claude"
    assert chat["usage"]["completion_tokens_details"] == {"reasoning_tokens": 2}
    for reason, finish in [("max_tokens", "length"), ("stop_sequence", "stop"), ("pause_turn", "stop"),
                           ("model_context_window_exceeded", "length"), (None, "stop")]:
        assert messages_response_to_chat({**resp, "stop_reason": reason}, "m", 1)["choices"][0][
            "finish_reason"] == finish


def test_chat_response_from_other_providers_to_messages():
    chat = {"id": "chatcmpl-7", "object": "chat.completion", "created": 1, "model": "deepseek-reasoner",
            "choices": [{"index": 0, "finish_reason": "stop", "message": {
                "role": "assistant", "content": None, "reasoning_content": "think first",
                "tool_calls": [{"id": "functions.lookup:0", "type": "function",
                                "function": {"name": "lookup", "arguments": '{"q": "x"}'}},
                               {"id": "call_2", "type": "function", "function": {"name": "noop", "arguments": ""}}]}}],
            "usage": {"prompt_tokens": 100, "completion_tokens": 7, "total_tokens": 107,
                      "prompt_tokens_details": {"cached_tokens": 60}}}
    back = chat_response_to_messages(chat, "deepseek/deepseek-reasoner")
    msg = Message.model_validate(back)
    assert back["id"] == "msg_chatcmpl-7" and msg.model == "deepseek/deepseek-reasoner"
    assert back["content"] == [
        {"type": "thinking", "thinking": "think first", "signature": ""},
        {"type": "tool_use", "id": "functions_lookup_0", "name": "lookup", "input": {"q": "x"}},
        {"type": "tool_use", "id": "call_2", "name": "noop", "input": {}},
    ]
    assert msg.stop_reason == "tool_use"  # "stop" with tool calls
    assert back["usage"] == {"input_tokens": 40, "output_tokens": 7, "cache_read_input_tokens": 60,
                             "cache_creation_input_tokens": 0}
    for finish, reason in [("length", "max_tokens"), ("content_filter", "refusal"), (None, "end_turn")]:
        text = {**chat, "choices": [{"index": 0, "finish_reason": finish, "message": {"role": "assistant",
                                                                                     "content": "hi"}}]}
        assert chat_response_to_messages(text, "m")["stop_reason"] == reason


# ------------------------------------------------------------------ provider stream: Anthropic -> chat


@pytest.mark.parametrize("name", ["stream_text", "stream_tool_use", "stream_thinking"])
def test_documented_streams_accumulate_in_openai_sdk(name):
    fx = fixture(name)
    chunks = chat_stream(fx)
    exp = fx["expected"]
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"] == exp["usage"]
    assert all(c["id"] == exp["id"] and c["object"] == "chat.completion.chunk" for c in chunks)
    final = accumulate_openai(chunks)
    msg = final.choices[0].message
    assert msg.content == exp["content"]
    calls = [{"id": c.id, "type": c.type, "function": {"name": c.function.name, "arguments": c.function.arguments}}
             for c in msg.tool_calls or ()] or None
    assert calls == exp["tool_calls"]
    assert final.choices[0].finish_reason == exp["finish_reason"]
    assert final.usage.model_dump(exclude_none=True) == exp["usage"]
    extra = msg.model_dump()
    assert extra.get("reasoning") == exp["reasoning"]
    if "reasoning_details" in exp:
        assert extra["reasoning_details"] == exp["reasoning_details"]


def test_tool_stream_chunks_have_openai_tool_call_shape():
    chunks = chat_stream(fixture("stream_tool_use"))
    tool_chunks = [c["choices"][0]["delta"]["tool_calls"][0] for c in chunks if c["choices"] and
                   "tool_calls" in c["choices"][0]["delta"]]
    assert tool_chunks[0] == {"index": 0, "id": "toolu_01T1x1fJ34qAmk2tNTrN7Up6", "type": "function",
                              "function": {"name": "get_weather", "arguments": ""}}
    assert all(set(t) == {"index", "function"} and t["function"]["arguments"] for t in tool_chunks[1:])
    finish = [c for c in chunks if c["choices"] and c["choices"][0]["finish_reason"]]
    assert len(finish) == 1 and finish[0]["choices"][0]["delta"] == {}


def test_stream_edge_cases():
    conv = MessagesStreamToChat(MODEL, created=5)
    feed = conv.feed
    usage = {"input_tokens": 10, "cache_read_input_tokens": 30, "cache_creation_input_tokens": 5, "output_tokens": 1}
    assert len(feed("message_start", {"type": "message_start", "message": {"id": "msg_x", "usage": usage}})) == 1
    # A tool with no input fields never streams arguments: "{}" is flushed at its block stop (Bifrost).
    feed("content_block_start", {"type": "content_block_start", "index": 0,
                                 "content_block": {"type": "tool_use", "id": "toolu_a", "name": "now", "input": {}}})
    assert feed("content_block_delta", {"type": "content_block_delta", "index": 0,
                                        "delta": {"type": "input_json_delta", "partial_json": ""}}) == []
    flushed = feed("content_block_stop", {"type": "content_block_stop", "index": 0})
    assert flushed[0]["choices"][0]["delta"] == {"tool_calls": [{"index": 0, "function": {"arguments": "{}"}}]}
    # Server-tool blocks and their input are not client tool calls.
    assert feed("content_block_start", {"type": "content_block_start", "index": 1, "content_block": {
        "type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {}}}) == []
    assert feed("content_block_delta", {"type": "content_block_delta", "index": 1, "delta": {
        "type": "input_json_delta", "partial_json": '{"q":"x"}'}}) == []
    redacted = feed("content_block_start", {"type": "content_block_start", "index": 2, "content_block": {
        "type": "redacted_thinking", "data": "opaque"}})
    assert redacted[0]["choices"][0]["delta"]["reasoning_details"] == [
        {"index": 0, "type": "reasoning.encrypted", "data": "opaque"}]
    assert feed("ping", {"type": "ping"}) == [] and feed("brand_new_event", {"type": "brand_new_event"}) == []
    # message_delta usage is cumulative and overrides message_start's.
    done = feed("message_delta", {"type": "message_delta", "delta": {"stop_reason": "max_tokens"},
                                  "usage": {"output_tokens": 42, "input_tokens": 11}})
    assert done[0]["choices"][0]["finish_reason"] == "length"
    last = feed("message_stop", {"type": "message_stop"})[0]
    assert last["usage"] == {"prompt_tokens": 46, "completion_tokens": 42, "total_tokens": 88,
                             "prompt_tokens_details": {"cached_tokens": 30, "cache_write_tokens": 5}}
    assert last["created"] == 5 and last["model"] == MODEL


def test_stream_error_event_raises():
    fx = fixture("errors")
    conv = MessagesStreamToChat(MODEL)
    with pytest.raises(StreamError) as info:
        conv.feed(*fx["stream_event"])
    assert isinstance(info.value, ValueError)
    assert (info.value.status, info.value.type, info.value.message) == (529, "overloaded_error", "Overloaded")


def test_openai_sdk_end_to_end_over_sse():
    fx = fixture("stream_tool_use")

    def handler(request: httpx2.Request) -> httpx2.Response:
        body = json.loads(request.content)
        upstream = chat_to_messages(body, "claude-opus-4-1-20250805")
        assert upstream["stream"] is True and upstream["tools"][0]["name"] == "get_weather"
        sse = "".join(f"data: {json.dumps(c)}\n\n" for c in chat_stream(fx)) + "data: [DONE]\n\n"
        return httpx2.Response(200, content=sse.encode(), headers={"content-type": "text/event-stream"})

    client = openai.OpenAI(api_key="k", base_url="http://gateway.test/v1", max_retries=0,
                           http_client=httpx2.Client(transport=httpx2.MockTransport(handler)))
    tool = {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}
    with client.chat.completions.stream(model="anthropic/claude-opus-4-1", tools=[tool],
                                        messages=[{"role": "user", "content": "Weather in SF?"}]) as stream:
        final = stream.get_final_completion()
    call = final.choices[0].message.tool_calls[0]
    assert json.loads(call.function.arguments) == {"location": "San Francisco, CA", "unit": "fahrenheit"}
    assert final.usage.prompt_tokens == 472


# ------------------------------------------------------------------ inbound stream: chat -> Anthropic


@pytest.mark.parametrize("name", ["stream_text", "stream_tool_use", "stream_thinking"])
def test_documented_streams_round_trip_through_chat(name):
    """Anthropic's documented events -> chat chunks -> Anthropic events == the documented message."""
    fx = fixture(name)
    events = anthropic_events(chat_stream(fx), fx["model"])
    assert [e for e, _ in events][:1] == ["message_start"] and [e for e, _ in events][-2:] == [
        "message_delta", "message_stop"]
    msg = accumulate_anthropic(events)
    expected = accumulate_anthropic([(e, _sdk_shaped(d)) for e, d in fx["events"] if e != "ping"])
    assert [b.model_dump(exclude_none=True) for b in msg.content] == [
        b.model_dump(exclude_none=True) for b in expected.content]
    assert msg.id == expected.id and msg.stop_reason == expected.stop_reason
    assert msg.usage.output_tokens == expected.usage.output_tokens


def _sdk_shaped(data: dict) -> dict:
    """The documented thinking stream omits usage and the empty signature the SDK's event types require."""
    if data["type"] == "content_block_start" and data["content_block"]["type"] == "thinking":
        return {**data, "content_block": {"signature": "", **data["content_block"]}}
    if data["type"] == "message_start" and "usage" not in data["message"]:
        return {**data, "message": {**data["message"], "usage": {"input_tokens": 0, "output_tokens": 0}}}
    if data["type"] == "message_delta" and "usage" not in data:
        return {**data, "usage": {"output_tokens": 0}}
    return data


def _chunk(delta: dict | None = None, finish: str | None = None, usage: dict | None = None) -> dict:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    chunk = {"id": "chatcmpl-9", "object": "chat.completion.chunk", "created": 1, "model": "gpt", "choices": choices}
    if usage:
        chunk["usage"] = usage
    return chunk


USAGE = {"prompt_tokens": 50, "completion_tokens": 20, "total_tokens": 70,
         "prompt_tokens_details": {"cached_tokens": 30}}


def test_openai_parallel_tool_calls_and_reasoning_become_ordered_blocks():
    chunks = [
        _chunk({"role": "assistant", "content": "", "reasoning_content": "Need "}),
        _chunk({"reasoning_content": "two lookups."}),
        _chunk({"content": "Checking both."}),
        _chunk({"tool_calls": [{"index": 0, "id": "call_a", "type": "function",
                                "function": {"name": "get_weather", "arguments": ""}}]}),
        _chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"city":'}}]}),
        _chunk({"tool_calls": [{"index": 0, "function": {"arguments": '"Paris"}'}}]}),
        _chunk({"tool_calls": [{"index": 1, "id": "call_b", "type": "function",
                                "function": {"name": "get_weather", "arguments": '{"city":"Oslo"}'}}]}),
        _chunk({}, "tool_calls"),
        _chunk(usage=USAGE),
    ]
    events = anthropic_events(chunks)
    for _, data in events:
        EVENT.validate_python(data)
    starts = [(d["index"], d["content_block"]["type"]) for e, d in events if e == "content_block_start"]
    assert starts == [(0, "thinking"), (1, "text"), (2, "tool_use"), (3, "tool_use")]
    # Blocks never interleave: every start is followed by its own deltas and stop before the next start.
    open_index = None
    for event, data in events:
        if event == "content_block_start":
            assert open_index is None
            open_index = data["index"]
        elif event == "content_block_delta":
            assert data["index"] == open_index
        elif event == "content_block_stop":
            assert data["index"] == open_index
            open_index = None
    assert events[0][1]["message"]["usage"] == {"input_tokens": 0, "output_tokens": 0}
    assert events[-2][1]["usage"] == {"input_tokens": 20, "output_tokens": 20, "cache_read_input_tokens": 30,
                                      "cache_creation_input_tokens": 0}
    msg = accumulate_anthropic(events)
    assert msg.id == "msg_chatcmpl-9" and msg.stop_reason == "tool_use" and msg.usage.input_tokens == 20
    assert [b.type for b in msg.content] == ["thinking", "text", "tool_use", "tool_use"]
    assert msg.content[0].thinking == "Need two lookups." and msg.content[1].text == "Checking both."
    assert [(b.id, b.input) for b in msg.content[2:]] == [("call_a", {"city": "Paris"}), ("call_b", {"city": "Oslo"})]


def test_inbound_stream_edge_cases():
    # An empty upstream stream still yields a well-formed message.
    empty = ChatStreamToMessages(MODEL)
    events = empty.finish()
    assert [e for e, _ in events] == ["message_start", "message_delta", "message_stop"]
    assert accumulate_anthropic(events).content == [] and empty.finish() == []
    # Length cut, refusal text, and a usage-bearing first chunk.
    conv = ChatStreamToMessages(MODEL)
    events = conv.feed(_chunk({"role": "assistant", "refusal": "I can't help with that."}, usage=USAGE))
    events += conv.feed(_chunk({}, "length")) + conv.finish()
    assert events[0][1]["message"]["usage"]["input_tokens"] == 20
    msg = accumulate_anthropic(events)
    assert msg.stop_reason == "max_tokens" and msg.content[0].text == "I can't help with that."
    # Bifrost-style reasoning_details (text + signature) keep the signature; encrypted -> redacted_thinking.
    conv = ChatStreamToMessages(MODEL)
    events = conv.feed(_chunk({"reasoning": "hmm", "reasoning_details": [
        {"index": 0, "type": "reasoning.text", "text": "hmm"}]}))
    events += conv.feed(_chunk({"reasoning_details": [{"index": 0, "type": "reasoning.text", "signature": "sig"}]}))
    events += conv.feed(_chunk({"reasoning_details": [{"index": 1, "type": "reasoning.encrypted", "data": "enc"}]}))
    events += conv.feed(_chunk({"content": "ok"}, "stop")) + conv.finish()
    msg = accumulate_anthropic(events)
    assert [b.model_dump(exclude_none=True) for b in msg.content] == [
        {"type": "thinking", "thinking": "hmm", "signature": "sig"},
        {"type": "redacted_thinking", "data": "enc"}, {"type": "text", "text": "ok"}]


def test_anthropic_sdk_end_to_end_over_sse():
    upstream = [_chunk({"role": "assistant", "content": "Bonjour"}), _chunk({"content": " !"}),
                _chunk({}, "stop"), _chunk(usage=USAGE)]

    def handler(request: httpx2.Request) -> httpx2.Response:
        body = json.loads(request.content)
        chat = messages_to_chat(body)
        assert chat["stream"] is True and chat["stream_options"] == {"include_usage": True}
        assert chat["messages"] == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
        events = anthropic_events(upstream, body["model"])
        sse = "".join(f"event: {e}\ndata: {json.dumps(d)}\n\n" for e, d in events)
        return httpx2.Response(200, content=sse.encode(), headers={"content-type": "text/event-stream"})

    client = anthropic.Anthropic(api_key="k", base_url="http://gateway.test/anthropic", max_retries=0,
                                 http_client=httpx2.Client(transport=httpx2.MockTransport(handler)))
    with client.messages.stream(model="openai/gpt-4o", max_tokens=100, system="Be brief.",
                                messages=[{"role": "user", "content": "Hi"}]) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "Bonjour !" and final.model == "openai/gpt-4o" and final.stop_reason == "end_turn"
    assert (final.usage.input_tokens, final.usage.output_tokens, final.usage.cache_read_input_tokens) == (20, 20, 30)


def test_anthropic_sdk_parses_converted_json_response():
    def handler(request: httpx2.Request) -> httpx2.Response:
        body = json.loads(request.content)
        assert messages_to_chat(body)["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
        call = {"id": "call_1", "type": "function",
                "function": {"name": "get_weather", "arguments": '{"location":"Paris"}'}}
        chat = {"id": "chatcmpl-3", "object": "chat.completion", "created": 1, "model": "gpt-4o", "usage": USAGE,
                "choices": [{"index": 0, "finish_reason": "tool_calls",
                             "message": {"role": "assistant", "content": None, "tool_calls": [call]}}]}
        return httpx2.Response(200, json=chat_response_to_messages(chat, body["model"]))

    client = anthropic.Anthropic(api_key="k", base_url="http://gateway.test/anthropic", max_retries=0,
                                 http_client=httpx2.Client(transport=httpx2.MockTransport(handler)))
    msg = client.messages.create(model="openai/gpt-4o", max_tokens=100,
                                 tools=[{"name": "get_weather", "input_schema": {"type": "object"}}],
                                 tool_choice={"type": "tool", "name": "get_weather"},
                                 messages=[{"role": "user", "content": "Weather in Paris?"}])
    assert msg.stop_reason == "tool_use" and msg.content[0].input == {"location": "Paris"}


# --------------------------------------------------------------------------- chat_to_messages rules


def test_system_merging_tool_grouping_and_content_parts():
    body = {
        "messages": [
            {"role": "system", "content": "Rule 1."},
            {"role": "developer", "content": [{"type": "text", "text": "Rule 2."}]},
            {"role": "user", "content": "Hi"},
            {"role": "user", "content": [
                {"type": "text", "text": "Look:"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo=", "detail": "low"}},
                {"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBERi0=", "filename": "a.pdf"}},
                {"type": "file", "file": {"file_data": "data:text/plain;base64,aGVsbG8=", "filename": "a.txt"}},
                {"type": "file", "file": {"file_id": "file_011"}},
            ]},
            {"role": "assistant", "content": "Calling.", "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "a", "arguments": '{"x": 1}'}},
                {"id": "call.2", "type": "function", "function": {"name": "b", "arguments": "not json"}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": "one"},
            {"role": "tool", "tool_call_id": "call.2", "content": [
                {"type": "text", "text": "two", "cache_control": {"type": "ephemeral"}},
                {"type": "image_url", "image_url": {"url": "https://x.test/p.jpg"}}]},
            {"role": "user", "content": "Thanks"},
            {"role": "system", "content": "Late rule."},
            {"role": "assistant", "content": "The answer is  \n"},
        ],
        "stop": "END", "user": "u-1", "temperature": 0.2, "top_p": 0.9, "top_k": 5, "seed": 1,
        "frequency_penalty": 1, "logit_bias": {"1": 1}, "metadata": {"k": "v"}, "stream_options": {"x": 1},
        "service_tier": "default",
    }
    out = chat_to_messages(body, "claude-3-5-haiku-20241022")
    assert out["system"] == "Rule 1.\nRule 2.\nLate rule."
    assert out["max_tokens"] == 8192 and out["stop_sequences"] == ["END"]
    assert out["metadata"] == {"user_id": "u-1"} and out["service_tier"] == "standard_only"
    assert (out["temperature"], out["top_k"]) == (0.2, 5) and "top_p" not in out  # Bifrost keeps temperature
    for gone in ("seed", "frequency_penalty", "logit_bias", "stream_options", "stop", "user"):
        assert gone not in out
    msgs = out["messages"]
    assert [m["role"] for m in msgs] == ["user", "assistant", "user", "assistant"]
    assert msgs[0]["content"] == [
        {"type": "text", "text": "Hi"}, {"type": "text", "text": "Look:"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
        {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0="},
         "title": "a.pdf"},
        {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "hello"}, "title": "a.txt"},
        {"type": "document", "source": {"type": "file", "file_id": "file_011"}},
    ]
    assert msgs[1]["content"] == [
        {"type": "text", "text": "Calling."},
        {"type": "tool_use", "id": "call_1", "name": "a", "input": {"x": 1}},
        {"type": "tool_use", "id": "call_2", "name": "b", "input": {}},
    ]
    assert msgs[2]["content"] == [
        {"type": "tool_result", "tool_use_id": "call_1", "content": "one"},
        {"type": "tool_result", "tool_use_id": "call_2", "cache_control": {"type": "ephemeral"}, "content": [
            {"type": "text", "text": "two"}, {"type": "image", "source": {"type": "url", "url": "https://x.test/p.jpg"}}]},
        {"type": "text", "text": "Thanks"},
    ]
    assert msgs[3] == {"role": "assistant", "content": "The answer is"}  # prefill: trailing whitespace trimmed


def test_cache_control_keeps_system_blocks_and_signed_thinking_is_replayed():
    body = {"messages": [
        {"role": "system", "content": [{"type": "text", "text": "Long doc", "cache_control": {"type": "ephemeral"}}]},
        {"role": "user", "content": "Q"},
        {"role": "assistant", "content": None, "reasoning": "r", "reasoning_details": [
            {"index": 0, "type": "reasoning.text", "text": "Let me "},
            {"index": 0, "type": "reasoning.text", "text": "think.", "signature": "sig=="},
            {"index": 1, "type": "reasoning.encrypted", "data": "enc"},
            {"index": 2, "type": "reasoning.text", "text": "unsigned, from another provider"}],
         "tool_calls": [{"id": "toolu_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "toolu_1", "content": ""},
    ]}
    out = chat_to_messages(body, MODEL)
    assert out["system"] == [{"type": "text", "text": "Long doc", "cache_control": {"type": "ephemeral"}}]
    assert out["messages"][1]["content"] == [
        {"type": "thinking", "thinking": "Let me think.", "signature": "sig=="},
        {"type": "redacted_thinking", "data": "enc"},
        {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}}]
    assert out["messages"][2]["content"] == [{"type": "tool_result", "tool_use_id": "toolu_1"}]
    only_system = chat_to_messages({"messages": [{"role": "system", "content": "Say hi"}]}, MODEL)
    assert "system" not in only_system and only_system["messages"] == [{"role": "user", "content": "Say hi"}]


@pytest.mark.parametrize(("choice", "parallel", "expected"), [
    ("auto", None, {"type": "auto"}),
    ("none", False, {"type": "none"}),
    ("required", None, {"type": "any"}),
    ({"type": "function", "function": {"name": "f"}}, False, {"type": "tool", "name": "f",
                                                              "disable_parallel_tool_use": True}),
    (None, False, {"type": "auto", "disable_parallel_tool_use": True}),
    ({"type": "allowed_tools", "allowed_tools": {"mode": "required", "tools": []}}, None, {"type": "any"}),
])
def test_tools_and_tool_choice(choice, parallel, expected):
    tool = {"type": "function", "function": {"name": "f", "description": "d", "strict": True,
                                             "parameters": {"properties": {"a": {"type": "string"}}}},
            "cache_control": {"type": "ephemeral"}}
    body = {"messages": [{"role": "user", "content": "x"}], "tools": [tool, {"type": "web_search_20250305",
                                                                            "name": "web_search", "max_uses": 2}]}
    if choice is not None:
        body["tool_choice"] = choice
    if parallel is not None:
        body["parallel_tool_calls"] = parallel
    out = chat_to_messages(body, MODEL)
    assert out["tools"] == [
        {"name": "f", "description": "d", "strict": True, "cache_control": {"type": "ephemeral"},
         "input_schema": {"type": "object", "properties": {"a": {"type": "string"}}}},
        {"type": "web_search_20250305", "name": "web_search", "max_uses": 2}]
    assert out["tool_choice"] == expected


def test_tool_choice_without_tools_is_dropped():
    out = chat_to_messages({"messages": [{"role": "user", "content": "x"}], "tool_choice": "required",
                            "parallel_tool_calls": False}, MODEL)
    assert "tool_choice" not in out and "tools" not in out


@pytest.mark.parametrize(("model", "expected"), [
    ("claude-3-5-haiku-20241022", 8192), ("claude-3-5-haiku-latest", 8192), ("claude-3-haiku-20240307", 4096),
    ("claude-3-7-sonnet-20250219", 8192), ("us.anthropic.claude-3-7-sonnet-20250219-v1:0", 8192),
    ("claude-sonnet-4-20250514", 64000), ("claude-sonnet-4-5-20250929", 64000), ("claude-opus-4-20250514", 32000),
    ("claude-opus-4-1-20250805", 32000), ("claude-haiku-4-5@20251001", 64000), ("anthropic/claude-opus-4-6", 128000),
    ("claude-sonnet-4-5-some-future-variant", 64000), ("claude-2.1", 4096), ("my-custom-model", 4096),
])
def test_default_max_tokens_from_bifrost_table(model, expected):
    assert default_max_tokens(model) == expected
    assert chat_to_messages({"messages": [{"role": "user", "content": "x"}]}, model)["max_tokens"] == expected
    assert chat_to_messages({"messages": [{"role": "user", "content": "x"}], "max_completion_tokens": 7,
                             "max_tokens": 9}, model)["max_tokens"] == 7


@pytest.mark.parametrize(("model", "body", "thinking", "effort"), [
    ("claude-sonnet-4-20250514", {"reasoning_effort": "minimal"}, {"type": "enabled", "budget_tokens": 1203}, None),
    ("claude-sonnet-4-20250514", {"reasoning_effort": "low"}, {"type": "enabled", "budget_tokens": 2099}, None),
    ("claude-sonnet-4-20250514", {"reasoning_effort": "medium"}, {"type": "enabled", "budget_tokens": 4070}, None),
    ("claude-sonnet-4-20250514", {"reasoning_effort": "high"}, {"type": "enabled", "budget_tokens": 6758}, None),
    ("claude-sonnet-4-20250514", {"reasoning": {"effort": "high"}}, {"type": "enabled", "budget_tokens": 6758}, None),
    ("claude-sonnet-4-20250514", {"reasoning_effort": "none"}, {"type": "disabled"}, None),
    ("claude-sonnet-4-20250514", {"reasoning": {"max_tokens": 2048}}, {"type": "enabled", "budget_tokens": 2048}, None),
    ("claude-sonnet-4-20250514", {"reasoning": {"max_tokens": -1}}, {"type": "enabled", "budget_tokens": 1024}, None),
    ("claude-opus-4-5", {"reasoning_effort": "high"}, {"type": "enabled", "budget_tokens": 6758}, "high"),
    ("claude-opus-4-6", {"reasoning_effort": "minimal"}, {"type": "adaptive"}, "low"),
    ("claude-sonnet-4-6", {"reasoning_effort": "high"}, {"type": "adaptive"}, "high"),
    ("claude-fable-5", {"reasoning_effort": "none"}, None, None),
    ("claude-sonnet-4-20250514", {"thinking": {"type": "enabled", "budget_tokens": 3000}, "reasoning_effort": "low"},
     {"type": "enabled", "budget_tokens": 3000}, None),
])
def test_reasoning_to_thinking(model, body, thinking, effort):
    out = chat_to_messages({"messages": [{"role": "user", "content": "x"}], "max_tokens": 8192, **body}, model)
    assert out.get("thinking") == thinking
    assert (out.get("output_config") or {}).get("effort") == effort


def test_sampling_params_with_thinking_and_on_adaptive_only_models():
    base = {"messages": [{"role": "user", "content": "x"}], "temperature": 0.3, "top_p": 0.97, "top_k": 4}
    thinking = chat_to_messages({**base, "reasoning_effort": "low"}, MODEL)
    assert "temperature" not in thinking and "top_k" not in thinking and thinking["top_p"] == 0.97
    assert not {"temperature", "top_p", "top_k"} & set(chat_to_messages(base, "claude-opus-4-7"))
    assert chat_to_messages({**base, "temperature": None}, MODEL)["top_p"] == 0.97


def test_response_format_and_native_passthrough():
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    out = chat_to_messages({"messages": [{"role": "user", "content": "x"}], "stream": False,
                            "response_format": {"type": "json_schema", "json_schema": {"name": "o", "schema": schema}},
                            "container": "cont_1", "inference_geo": "us", "top_k": 3}, MODEL)
    assert out["output_config"] == {"format": {"type": "json_schema", "schema": schema}}
    assert (out["container"], out["inference_geo"], out["top_k"], out["stream"]) == ("cont_1", "us", 3, False)
    plain = chat_to_messages({"messages": [{"role": "user", "content": "x"}],
                              "response_format": {"type": "json_object"}}, MODEL)
    assert "output_config" not in plain


@pytest.mark.parametrize(("body", "needle"), [
    ({"messages": []}, "messages"),
    ({"messages": [{"role": "user", "content": "x"}], "n": 2}, "`n`"),
    ({"messages": [{"role": "function", "content": "x"}]}, "role"),
    ({"messages": [{"role": "user", "content": [{"type": "input_audio", "input_audio": {}}]}]}, "input_audio"),
    ({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "ftp://x"}}]}]},
     "image_url"),
    ({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/png,abc"}}]}]},
     "base64"),
    ({"messages": [{"role": "user", "content": [{"type": "file", "file": {
        "file_data": "data:application/zip;base64,AA=="}}]}]}, "application/zip"),
    ({"messages": [{"role": "tool", "content": "x"}]}, "tool_call_id"),
    ({"messages": [{"role": "user", "content": "x"}], "tools": [{"type": "custom", "custom": {"name": "g"}}]},
     "custom"),
    ({"messages": [{"role": "user", "content": "x"}], "tools": [{"type": "function", "function": {"name": "f"}}],
      "tool_choice": "sometimes"}, "tool_choice"),
    ({"messages": [{"role": "user", "content": "x"}], "max_tokens": 1000, "reasoning_effort": "low"}, "max_tokens"),
    ({"messages": [{"role": "user", "content": "x"}], "reasoning": {"max_tokens": 500}}, "reasoning.max_tokens"),
])
def test_unservable_chat_requests_raise_value_error(body, needle):
    with pytest.raises(ValueError, match=re.escape(needle)):
        chat_to_messages(body, MODEL)


# --------------------------------------------------------------------------- messages_to_chat rules


def test_inbound_content_blocks_tool_results_and_thinking():
    body = {
        "model": "openai/gpt-4o", "max_tokens": 4000,
        "system": [{"type": "text", "text": "A"}, {"type": "text", "text": "B"}],
        "metadata": {"user_id": "u-9"}, "stop_sequences": ["###"], "temperature": 0.5, "top_k": 10,
        "service_tier": "standard_only", "container": "cont_1",
        "thinking": {"type": "enabled", "budget_tokens": 1500},
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "Read", "cache_control": {"type": "ephemeral"}},
                                         {"type": "document", "title": "spec.pdf", "source": {
                                             "type": "base64", "media_type": "application/pdf", "data": "JVBERi0="}},
                                         {"type": "document", "source": {"type": "text", "media_type": "text/plain",
                                                                         "data": "plain doc"}}]},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "plan", "signature": "sig"},
                {"type": "redacted_thinking", "data": "enc"},
                {"type": "text", "text": "Using tools."},
                {"type": "tool_use", "id": "toolu_1", "name": "shot", "input": {}},
                {"type": "tool_use", "id": "toolu_2", "name": "calc", "input": {"e": "1+1"}}]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": [
                    {"type": "text", "text": "see image"},
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBO"}}]},
                {"type": "tool_result", "tool_use_id": "toolu_2", "content": "2", "is_error": False},
                {"type": "text", "text": "Go on."}]},
            {"role": "assistant", "content": [{"type": "thinking", "thinking": "only thinking", "signature": "s"}]},
        ],
    }
    chat = messages_to_chat(body)
    assert chat["model"] == "openai/gpt-4o" and chat["max_tokens"] == 4000 and chat["user"] == "u-9"
    assert chat["stop"] == ["###"] and chat["top_k"] == 10 and chat["service_tier"] == "default"
    assert chat["reasoning_effort"] == "low" and "thinking" not in chat and "container" not in chat
    msgs = chat["messages"]
    assert msgs[0] == {"role": "system", "content": [{"type": "text", "text": "A"}, {"type": "text", "text": "B"}]}
    assert msgs[1]["content"] == [
        {"type": "text", "text": "Read"},
        {"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBERi0=", "filename": "spec.pdf"}},
        {"type": "text", "text": "plain doc"}]
    assert msgs[2] == {"role": "assistant", "content": "Using tools.", "tool_calls": [
        {"id": "toolu_1", "type": "function", "function": {"name": "shot", "arguments": "{}"}},
        {"id": "toolu_2", "type": "function", "function": {"name": "calc", "arguments": '{"e":"1+1"}'}}]}
    assert msgs[3:5] == [{"role": "tool", "tool_call_id": "toolu_1", "content": "see image"},
                         {"role": "tool", "tool_call_id": "toolu_2", "content": "2"}]
    assert msgs[5] == {"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBO"}}, {"type": "text", "text": "Go on."}]}
    assert len(msgs) == 6  # the thinking-only assistant turn has nothing a chat model can use

    native = messages_to_chat(body, native=True)
    assert native["thinking"] == body["thinking"] and native["container"] == "cont_1"
    assert native["messages"][1]["content"][0]["cache_control"] == {"type": "ephemeral"}
    assert native["messages"][2]["reasoning_details"] == [
        {"index": 0, "type": "reasoning.text", "text": "plan", "signature": "sig"},
        {"index": 1, "type": "reasoning.encrypted", "data": "enc"}]
    upstream = chat_to_messages(native, "claude-sonnet-4-5")
    assert upstream["thinking"] == body["thinking"] and upstream["container"] == "cont_1"
    assert upstream["messages"][1]["content"][:3] == body["messages"][1]["content"][:3]


def test_inbound_tools_choice_and_output_config():
    body = {"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": "x"}],
            "tools": [{"name": "f", "input_schema": {"type": "object"}, "strict": True,
                       "cache_control": {"type": "ephemeral"}},
                      {"type": "web_search_20250305", "name": "web_search"}],
            "output_config": {"effort": "max", "format": {"type": "json_schema", "schema": {"type": "object"}}},
            "thinking": {"type": "adaptive"}}
    cases = [({"type": "auto"}, {"tool_choice": "auto"}), ({"type": "any"}, {"tool_choice": "required"}),
             ({"type": "none"}, {"tool_choice": "none"}),
             ({"type": "tool", "name": "f", "disable_parallel_tool_use": True},
              {"tool_choice": {"type": "function", "function": {"name": "f"}}, "parallel_tool_calls": False})]
    for choice, expected in cases:
        chat = messages_to_chat({**body, "tool_choice": choice})
        assert {k: chat[k] for k in expected} == expected
    chat = messages_to_chat(body)
    assert chat["tools"] == [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"},
                                                               "strict": True}}]
    assert chat["reasoning_effort"] == "high" and chat["response_format"] == {
        "type": "json_schema", "json_schema": {"name": "output", "schema": {"type": "object"}, "strict": True}}
    native = messages_to_chat(body, native=True)
    assert native["tools"][1] == {"type": "web_search_20250305", "name": "web_search"}
    assert native["tools"][0]["cache_control"] == {"type": "ephemeral"}
    assert chat_to_messages(native, "claude-sonnet-4-5")["tools"] == body["tools"]
    only_server = messages_to_chat({**body, "tools": [body["tools"][1]], "tool_choice": {"type": "any"}})
    assert "tools" not in only_server and "tool_choice" not in only_server


@pytest.mark.parametrize(("body", "needle"), [
    ({"messages": "hi"}, "messages"),
    ({"messages": [{"role": "system", "content": "x"}]}, "role"),
    ({"messages": [{"role": "user", "content": [{"type": "image", "source": {"type": "file", "file_id": "f"}}]}]},
     "image sources"),
    ({"messages": [{"role": "user", "content": [{"type": "document", "source": {"type": "url", "url": "u"}}]}]},
     "document sources"),
    ({"messages": [{"role": "user", "content": [{"type": "search_result"}]}]}, "search_result"),
    ({"messages": [{"role": "user", "content": "x"}], "tools": [{"input_schema": {}}]}, "name"),
])
def test_unservable_messages_requests_raise_value_error(body, needle):
    with pytest.raises(ValueError, match=re.escape(needle)):
        messages_to_chat(body)


# ------------------------------------------------------------------------------------------ errors


def test_error_message_and_error_body():
    fx = fixture("errors")
    for case in fx["http"]:
        expected = (case["body"]["error"]["message"], case["body"]["error"]["type"])
        assert error_message(case["status"], case["body"]) == expected
        assert error_message(case["status"], json.dumps(case["body"]).encode()) == expected
    assert error_message(502, b"<html>Bad gateway</html>") == ("<html>Bad gateway</html>", None)
    assert error_message(500, b"") == ("HTTP 500", None)
    assert error_message(400, {"message": "flat"}) == ("flat", None)
    for status, kind in fx["status_types"].items():
        body = error_body(int(status), "boom")
        assert body == {"type": "error", "error": {"type": kind, "message": "boom"}}
        err = anthropic.types.ErrorResponse.model_validate(body) if kind != "request_too_large" else None
        assert err is None or err.error.type == kind
    assert error_body(422, "x")["error"]["type"] == "invalid_request_error"
    assert error_body(502, "x")["error"]["type"] == "api_error"
    assert error_body(503, "x")["error"]["type"] == "overloaded_error"
