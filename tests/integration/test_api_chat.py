"""The OpenAI SDK against `bifrost serve` -> `bifrost mock`: every inference route, JSON and streamed.

Each test checks both sides: what the client got, and what the mock (the "provider") received.
What a correct answer contains is taken from the mock itself, asked directly with the same request.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from http.client import HTTPConnection
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import openai
import pytest

from conftest import Gateway, Mock, http, openai_provider

pytestmark = pytest.mark.integration

MSGS = [{"role": "user", "content": "Say hello"}]
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {
            "type": "object",
            "properties": {"location": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}},
            "required": ["location"],
        },
    },
}


@pytest.fixture(scope="module")
def gw(tmp_module: Path, mock: Mock) -> Iterator[Gateway]:
    cfg = {"providers": {
        "openai": openai_provider(mock),
        "my-llm": {"keys": [{"name": "c", "value": "sk-custom", "models": [], "weight": 1}],
                   "network_config": {"base_url": mock.url},
                   "custom_provider_config": {"base_provider_type": "openai"}},
    }}
    g = Gateway(tmp_module, cfg)
    yield g
    g.stop()


@pytest.fixture(scope="module")
def client(gw: Gateway) -> openai.OpenAI:
    return gw.openai()


@pytest.fixture(scope="module")
def direct(mock: Mock) -> openai.OpenAI:
    """A client talking to the mock directly: the reference for what an answer should contain."""
    return openai.OpenAI(base_url=mock.url + "/v1", api_key="sk-direct", max_retries=0)


@pytest.fixture(autouse=True)
def _clean_mock(mock: Mock) -> None:
    mock.reset()


def upstream(mock: Mock, path: str) -> list[dict[str, Any]]:
    """Requests the mock received on `path` that came from the gateway (not from `direct`)."""
    return [r for r in mock.requests(path) if r["headers"].get("authorization") != "Bearer sk-direct"]


def sse_events(url: str, body: dict[str, Any]) -> tuple[int, str, list[str]]:
    """POST with http.client and split the raw SSE body into event blocks, exactly as sent."""
    u = urlsplit(url)
    conn = HTTPConnection(u.hostname, u.port, timeout=10)
    try:
        conn.request("POST", u.path, json.dumps(body), {"Content-Type": "application/json"})
        resp = conn.getresponse()
        raw = resp.read().decode()
        ctype = resp.getheader("content-type") or ""
    finally:
        conn.close()
    assert raw.endswith("\n\n"), raw[-200:]
    return resp.status, ctype, raw[:-2].split("\n\n")


def data_of(block: str) -> str:
    lines = block.split("\n")
    data = [ln[len("data: "):] for ln in lines if ln.startswith("data: ")]
    assert len(data) == 1, f"one data line per event expected: {block!r}"
    return data[0]


# --------------------------------------------------------------------------- chat completions

@pytest.mark.conformance("openai", "openai", "chat", "usage")
def test_chat_completion_json(client: openai.OpenAI, direct: openai.OpenAI, mock: Mock) -> None:
    resp = client.chat.completions.create(model="openai/gpt-4o-mini", messages=MSGS,
                                          extra_body={"my_custom_field": 1, "fallbacks": []})
    ref = direct.chat.completions.create(model="gpt-4o-mini", messages=MSGS)
    assert resp.choices[0].message.content == ref.choices[0].message.content
    assert resp.choices[0].message.content
    assert resp.choices[0].finish_reason == "stop"
    assert resp.usage is not None and ref.usage is not None
    assert resp.usage.prompt_tokens == ref.usage.prompt_tokens > 0
    assert resp.usage.completion_tokens == ref.usage.completion_tokens > 0
    assert resp.usage.total_tokens == resp.usage.prompt_tokens + resp.usage.completion_tokens
    ef = resp.model_extra["extra_fields"]
    assert ef["provider"] == "openai"
    assert ef["model_requested"] == "gpt-4o-mini"
    assert ef["request_type"] == "chat_completion"

    [got] = upstream(mock, "/v1/chat/completions")
    assert got["method"] == "POST"
    assert got["body"]["model"] == "gpt-4o-mini"
    assert got["headers"]["authorization"] == "Bearer sk-mock-1"
    assert "fallbacks" not in got["body"]
    assert got["body"]["my_custom_field"] == 1
    assert got["body"]["messages"] == MSGS


def test_chat_unknown_fields_pass_through_unchanged(client: openai.OpenAI, mock: Mock) -> None:
    custom = {"nested": {"a": [1, 2.5, None, True]}, "s": "ünïcode"}
    client.chat.completions.create(model="openai/gpt-4o-mini", messages=MSGS, temperature=0.25,
                                   extra_body={"my_custom_field": custom, "vendor_flag": False})
    [got] = upstream(mock, "/v1/chat/completions")
    assert got["body"]["my_custom_field"] == custom
    assert got["body"]["vendor_flag"] is False
    assert got["body"]["temperature"] == 0.25


@pytest.mark.conformance("openai", "openai", "stream")
def test_chat_stream_sdk(client: openai.OpenAI, direct: openai.OpenAI, mock: Mock) -> None:
    chunks = list(client.chat.completions.create(model="openai/gpt-4o-mini", messages=MSGS, stream=True))
    ref = list(direct.chat.completions.create(model="gpt-4o-mini", messages=MSGS, stream=True))
    assert len(chunks) == len(ref) > 2
    assert [c.model_extra["extra_fields"]["chunk_index"] for c in chunks] == list(range(len(chunks)))
    for c in chunks:
        ef = c.model_extra["extra_fields"]
        assert (ef["provider"], ef["model_requested"], ef["request_type"]) == (
            "openai", "gpt-4o-mini", "chat_completion")
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "".join(c.choices[0].delta.content or "" for c in ref)
    assert text
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert all(c.usage is None for c in chunks)  # the client did not ask for usage

    [got] = upstream(mock, "/v1/chat/completions")
    assert got["body"]["stream"] is True
    assert got["body"]["model"] == "gpt-4o-mini"
    # The gateway asks for usage (for its own accounting) but does not forward it.
    assert got["body"]["stream_options"] == {"include_usage": True}


def test_chat_stream_raw_events_without_usage(gw: Gateway, mock: Mock) -> None:
    status, ctype, events = sse_events(gw.url + "/v1/chat/completions",
                                       {"model": "openai/gpt-4o-mini", "messages": MSGS, "stream": True})
    assert status == 200
    assert ctype.startswith("text/event-stream")
    assert events[-1] == "data: [DONE]"
    assert events.count("data: [DONE]") == 1
    payloads = [json.loads(data_of(e)) for e in events[:-1]]
    assert len(payloads) > 2
    for i, p in enumerate(payloads):
        assert p["object"] == "chat.completion.chunk"
        assert len(p["choices"]) == 1, "each chunk must be its own data: event"
        assert p["extra_fields"]["chunk_index"] == i
        assert p.get("usage") is None
    assert payloads[-1]["choices"][0]["finish_reason"] == "stop"
    assert upstream(mock, "/v1/chat/completions")[0]["body"]["stream_options"] == {"include_usage": True}


def test_chat_stream_raw_events_with_usage(gw: Gateway, mock: Mock) -> None:
    body = {"model": "openai/gpt-4o-mini", "messages": MSGS, "stream": True,
            "stream_options": {"include_usage": True}}
    status, _, events = sse_events(gw.url + "/v1/chat/completions", body)
    assert status == 200
    assert events[-1] == "data: [DONE]"
    payloads = [json.loads(data_of(e)) for e in events[:-1]]
    usage_only = [p for p in payloads if p["choices"] == []]
    assert len(usage_only) == 1
    assert usage_only[0] is payloads[-1]
    u = usage_only[0]["usage"]
    assert u["completion_tokens"] > 0 and u["prompt_tokens"] > 0
    assert u["total_tokens"] == u["prompt_tokens"] + u["completion_tokens"]
    content_chunks = [p for p in payloads if p["choices"] and p["choices"][0]["delta"].get("content")]
    assert u["completion_tokens"] == len(content_chunks)  # the mock sends one token per chunk
    [got] = upstream(mock, "/v1/chat/completions")
    assert got["body"]["stream_options"] == {"include_usage": True}


def test_chat_stream_sdk_include_usage(client: openai.OpenAI) -> None:
    chunks = list(client.chat.completions.create(model="openai/gpt-4o-mini", messages=MSGS, stream=True,
                                                 stream_options={"include_usage": True}))
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0
    assert all(c.usage is None for c in chunks[:-1])


# --------------------------------------------------------------------------- tool calls

@pytest.mark.conformance("openai", "openai", "tools")
def test_tool_call_json(client: openai.OpenAI, direct: openai.OpenAI, mock: Mock) -> None:
    resp = client.chat.completions.create(model="openai/gpt-4o-mini", messages=MSGS, tools=[WEATHER_TOOL])
    ref = direct.chat.completions.create(model="gpt-4o-mini", messages=MSGS, tools=[WEATHER_TOOL])
    msg = resp.choices[0].message
    assert resp.choices[0].finish_reason == "tool_calls"
    assert msg.tool_calls and len(msg.tool_calls) == 1
    call = msg.tool_calls[0]
    assert call.function.name == "get_weather"
    args = json.loads(call.function.arguments)
    assert args == json.loads(ref.choices[0].message.tool_calls[0].function.arguments)
    assert isinstance(args["location"], str)
    [got] = upstream(mock, "/v1/chat/completions")
    assert got["body"]["tools"] == [WEATHER_TOOL]


@pytest.mark.conformance("openai", "openai", "streamed tools")
def test_tool_call_streamed(client: openai.OpenAI, direct: openai.OpenAI, mock: Mock) -> None:
    with client.chat.completions.stream(model="openai/gpt-4o-mini", messages=MSGS, tools=[WEATHER_TOOL]) as s:
        deltas = [ev for ev in s if ev.type == "tool_calls.function.arguments.delta"]
        final = s.get_final_completion()
    ref = direct.chat.completions.create(model="gpt-4o-mini", messages=MSGS, tools=[WEATHER_TOOL])
    ref_args = ref.choices[0].message.tool_calls[0].function.arguments
    assert len(deltas) > 1, "arguments should arrive in several pieces"
    [call] = final.choices[0].message.tool_calls
    assert call.function.name == "get_weather"
    assert call.id
    assert call.function.arguments == ref_args
    assert final.choices[0].finish_reason == "tool_calls"
    [got] = upstream(mock, "/v1/chat/completions")
    assert got["body"]["stream"] is True and got["body"]["tools"] == [WEATHER_TOOL]


def test_tool_call_streamed_manual_reassembly(client: openai.OpenAI) -> None:
    parts: list[str] = []
    names = set()
    for c in client.chat.completions.create(model="openai/gpt-4o-mini", messages=MSGS, tools=[WEATHER_TOOL],
                                            stream=True):
        for tc in (c.choices[0].delta.tool_calls or []) if c.choices else []:
            assert tc.index == 0
            if tc.function and tc.function.name:
                names.add(tc.function.name)
            if tc.function and tc.function.arguments:
                parts.append(tc.function.arguments)
    assert names == {"get_weather"}
    assert len(parts) > 1
    assert isinstance(json.loads("".join(parts))["location"], str)


# --------------------------------------------------------------------------- embeddings

@pytest.mark.conformance("openai", "openai", "embeddings")
def test_embeddings_sdk_default_base64(client: openai.OpenAI, direct: openai.OpenAI, mock: Mock) -> None:
    resp = client.embeddings.create(model="openai/text-embedding-3-small", input=["hello", "world"])
    ref = direct.embeddings.create(model="text-embedding-3-small", input=["hello", "world"],
                                   encoding_format="float")
    assert [d.index for d in resp.data] == [0, 1]
    for d, r in zip(resp.data, ref.data, strict=True):
        assert len(d.embedding) == len(r.embedding) > 0
        assert d.embedding == pytest.approx(r.embedding, rel=1e-6, abs=1e-7)
    assert resp.data[0].embedding != resp.data[1].embedding
    assert resp.usage.prompt_tokens == ref.usage.prompt_tokens > 0
    assert resp.model_extra["extra_fields"]["request_type"] == "embedding"
    assert resp.model_extra["extra_fields"]["provider"] == "openai"
    [got] = upstream(mock, "/v1/embeddings")
    assert got["body"]["model"] == "text-embedding-3-small"
    assert got["body"]["input"] == ["hello", "world"]
    assert got["body"]["encoding_format"] == "base64"  # the SDK's default, passed through


def test_embeddings_float(client: openai.OpenAI, direct: openai.OpenAI, mock: Mock) -> None:
    resp = client.embeddings.create(model="openai/text-embedding-3-small", input="hello",
                                    encoding_format="float")
    ref = direct.embeddings.create(model="text-embedding-3-small", input="hello", encoding_format="float")
    assert resp.data[0].embedding == ref.data[0].embedding
    assert all(isinstance(x, float) for x in resp.data[0].embedding)
    [got] = upstream(mock, "/v1/embeddings")
    assert got["body"]["encoding_format"] == "float"
    assert got["body"]["input"] == "hello"


# --------------------------------------------------------------------------- text completions

def test_text_completion_json(client: openai.OpenAI, direct: openai.OpenAI, mock: Mock) -> None:
    resp = client.completions.create(model="openai/gpt-4o-mini", prompt="Once upon a time", max_tokens=5)
    ref = direct.completions.create(model="gpt-4o-mini", prompt="Once upon a time", max_tokens=5)
    assert resp.choices[0].text == ref.choices[0].text
    assert resp.choices[0].text
    assert resp.choices[0].finish_reason == ref.choices[0].finish_reason == "length"
    assert resp.usage is not None and resp.usage.completion_tokens == 5
    assert resp.model_extra["extra_fields"]["request_type"] == "text_completion"
    [got] = upstream(mock, "/v1/completions")
    assert got["body"] == {"model": "gpt-4o-mini", "prompt": "Once upon a time", "max_tokens": 5}


def test_text_completion_stream(client: openai.OpenAI, direct: openai.OpenAI, gw: Gateway, mock: Mock) -> None:
    chunks = list(client.completions.create(model="openai/gpt-4o-mini", prompt="Once", stream=True))
    ref = list(direct.completions.create(model="gpt-4o-mini", prompt="Once", stream=True))
    text = "".join(c.choices[0].text for c in chunks if c.choices)
    assert text == "".join(c.choices[0].text for c in ref) != ""
    assert len(chunks) == len(ref)
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert all(c.model_extra["extra_fields"]["request_type"] == "text_completion" for c in chunks)
    assert all(c.usage is None for c in chunks)
    [got] = upstream(mock, "/v1/completions")
    assert got["body"]["stream"] is True and got["body"]["model"] == "gpt-4o-mini"

    status, _, events = sse_events(gw.url + "/v1/completions",
                                   {"model": "openai/gpt-4o-mini", "prompt": "Once", "stream": True})
    assert status == 200
    assert events[-1] == "data: [DONE]"
    assert len(events) == len(chunks) + 1


# --------------------------------------------------------------------------- responses API

def test_responses_json(client: openai.OpenAI, direct: openai.OpenAI, mock: Mock) -> None:
    resp = client.responses.create(model="openai/gpt-4o-mini", input="Tell me a story", instructions="Be brief")
    ref = direct.responses.create(model="gpt-4o-mini", input="Tell me a story", instructions="Be brief")
    assert resp.status == "completed"
    assert resp.output_text == ref.output_text != ""
    assert resp.usage is not None and ref.usage is not None
    assert resp.usage.input_tokens == ref.usage.input_tokens > 0
    assert resp.usage.output_tokens == ref.usage.output_tokens > 0
    ef = resp.model_extra["extra_fields"]
    assert (ef["provider"], ef["request_type"]) == ("openai", "responses")
    [got] = upstream(mock, "/v1/responses")
    assert got["body"]["model"] == "gpt-4o-mini"
    assert got["body"]["input"] == "Tell me a story" and got["body"]["instructions"] == "Be brief"


def test_responses_stream(client: openai.OpenAI, direct: openai.OpenAI, gw: Gateway, mock: Mock) -> None:
    events = list(client.responses.create(model="openai/gpt-4o-mini", input="Hi", stream=True))
    ref = list(direct.responses.create(model="gpt-4o-mini", input="Hi", stream=True))
    types = [e.type for e in events]
    assert types == [e.type for e in ref]
    assert types[:3] == ["response.created", "response.in_progress", "response.output_item.added"]
    assert types[-1] == "response.completed"
    first_delta = types.index("response.output_text.delta")
    last_delta = len(types) - 1 - types[::-1].index("response.output_text.delta")
    assert set(types[first_delta:last_delta + 1]) == {"response.output_text.delta"}
    assert types[last_delta + 1:] == ["response.output_text.done", "response.content_part.done",
                                      "response.output_item.done", "response.completed"]
    assert [e.sequence_number for e in events] == sorted(e.sequence_number for e in events)
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    done = next(e for e in events if e.type == "response.output_text.done")
    assert text == done.text != ""
    assert events[-1].response.output_text == text
    [got] = upstream(mock, "/v1/responses")
    assert got["body"]["stream"] is True and "stream_options" not in got["body"]

    status, _, blocks = sse_events(gw.url + "/v1/responses",
                                   {"model": "openai/gpt-4o-mini", "input": "Hi", "stream": True})
    assert status == 200
    assert "data: [DONE]" not in blocks  # the Responses API has no [DONE] sentinel
    assert [b.split("\n")[0] for b in blocks] == [f"event: {t}" for t in types]
    assert [json.loads(data_of(b))["type"] for b in blocks] == types


# --------------------------------------------------------------------------- models

def test_models_list_aggregated(client: openai.OpenAI, direct: openai.OpenAI) -> None:
    ids = [m.id for m in client.models.list()]
    upstream_ids = [m.id for m in direct.models.list()]
    assert upstream_ids
    assert sorted(ids) == sorted(f"{p}/{m}" for p in ("openai", "my-llm") for m in upstream_ids)


def test_models_list_provider_filter(gw: Gateway) -> None:
    status, _, body = http("GET", gw.url + "/v1/models?provider=my-llm")
    assert status == 200
    data = json.loads(body)
    assert data["object"] == "list"
    assert data["data"] and all(m["id"].startswith("my-llm/") for m in data["data"])
    assert all(m["object"] == "model" for m in data["data"])


def test_models_list_unknown_provider_filter(gw: Gateway) -> None:
    status, _, body = http("GET", gw.url + "/v1/models?provider=nosuch")
    assert status == 400
    err = json.loads(body)
    assert err["status_code"] == 400
    assert "nosuch" in err["error"]["message"]
    assert "my-llm" in err["error"]["message"] and "openai" in err["error"]["message"]
    assert http("GET", gw.url + "/health")[0] == 200
