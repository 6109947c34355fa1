"""Cohere SDK (ClientV2) -> /cohere/v2/... -> Cohere provider: the native round trip is exact.

Each test compares what the SDK got through the gateway with what the same SDK gets straight from
the loopback upstream (the mock speaks Cohere's v2 API), and checks what the upstream received.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cohere
import pytest

from conftest import Gateway, Mock

MODEL = "command-a-03-2025"
TOOL = {"type": "function", "function": {"name": "get_weather", "description": "Weather for a city",
                                         "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                                                        "required": ["city"]}}}
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "cohere"


@pytest.fixture(scope="module")
def gw(tmp_module: Path, mock: Mock) -> Iterator[Gateway]:
    cfg = {"providers": {
        "cohere": {"keys": [{"name": "c", "value": "co-upstream", "models": [], "weight": 1}],
                   "network_config": {"base_url": mock.url}},
    }}
    g = Gateway(tmp_module, cfg)
    yield g
    g.stop()


def _client(gw: Gateway) -> cohere.ClientV2:
    return cohere.ClientV2(api_key="co-client-to-gateway", base_url=gw.url + "/cohere")


def _direct(mock: Mock) -> cohere.ClientV2:
    return cohere.ClientV2(api_key="k", base_url=mock.url)


def _last(mock: Mock, path: str = "/v2/chat") -> dict[str, Any]:
    reqs = mock.requests(path)
    assert reqs, f"the upstream received no request on {path}"
    return reqs[-1]


def _texts(events: list[Any]) -> str:
    return "".join(ev.delta.message.content.text for ev in events if ev.type == "content-delta")


@pytest.mark.conformance("cohere", "cohere", "stream", "usage")
def test_cohere_stream_round_trip_keeps_events_text_and_usage(gw: Gateway, mock: Mock) -> None:
    msgs = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}]
    events = list(_client(gw).chat_stream(model="cohere/" + MODEL, messages=msgs, max_tokens=300, temperature=0.2))
    sent = _last(mock)
    assert sent["headers"]["authorization"] == "Bearer co-upstream" and sent["body"]["stream"] is True
    assert sent["body"]["messages"] == msgs
    assert sent["body"]["max_tokens"] == 300 and sent["body"]["temperature"] == 0.2
    direct = list(_direct(mock).chat_stream(model=MODEL, messages=msgs))
    kinds = [e.type for e in events]
    assert kinds[0] == "message-start" and kinds[-1] == "message-end"
    assert [k for k in kinds if k != "content-delta"] == [e.type for e in direct if e.type != "content-delta"]
    assert _texts(events) == _texts(direct) and len(_texts(events)) > 10
    end, d_end = events[-1].delta, direct[-1].delta
    assert end.finish_reason == d_end.finish_reason == "COMPLETE"
    assert end.usage.tokens.output_tokens == d_end.usage.tokens.output_tokens
    assert end.usage.tokens.input_tokens == d_end.usage.tokens.input_tokens


@pytest.mark.conformance("cohere", "cohere", "tools")
def test_cohere_tool_call_and_tool_result_round_trip(gw: Gateway, mock: Mock) -> None:
    client = _client(gw)
    ask = [{"role": "user", "content": "weather in Paris?"}]
    r = client.chat(model="cohere/" + MODEL, tools=[TOOL], messages=ask)
    assert _last(mock)["body"]["tools"] == [TOOL]
    direct = _direct(mock).chat(model=MODEL, tools=[TOOL], messages=ask)
    call, d_call = r.message.tool_calls[0], direct.message.tool_calls[0]
    assert r.finish_reason == "TOOL_CALL" and call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == json.loads(d_call.function.arguments)
    assert r.message.tool_plan == direct.message.tool_plan

    follow = client.chat(model="cohere/" + MODEL, tools=[TOOL], messages=[
        *ask, {"role": "assistant", "tool_calls": [call.dict()], "tool_plan": r.message.tool_plan},
        {"role": "tool", "tool_call_id": call.id, "content": [{"type": "text", "text": "sunny, 21 degrees"}]}])
    turns = _last(mock)["body"]["messages"]
    assert [t["role"] for t in turns] == ["user", "assistant", "tool"]
    assert turns[1]["tool_calls"][0]["id"] == call.id
    assert json.loads(turns[1]["tool_calls"][0]["function"]["arguments"]) == json.loads(call.function.arguments)
    assert turns[1].get("tool_plan") == r.message.tool_plan
    assert turns[2]["tool_call_id"] == call.id and "sunny, 21 degrees" in json.dumps(turns[2]["content"])
    assert follow.finish_reason == "COMPLETE" and follow.message.content[0].text


@pytest.mark.conformance("cohere", "cohere", "streamed tools")
def test_cohere_streamed_tool_call_round_trip(gw: Gateway, mock: Mock) -> None:
    ask = [{"role": "user", "content": "weather?"}]
    evs = list(_client(gw).chat_stream(model="cohere/" + MODEL, tools=[TOOL], messages=ask))
    assert _last(mock)["body"]["tools"] == [TOOL] and _last(mock)["body"]["stream"] is True
    direct = list(_direct(mock).chat_stream(model=MODEL, tools=[TOOL], messages=ask))

    def call_of(events: list[Any]) -> tuple[str, Any]:
        start = next(ev for ev in events if ev.type == "tool-call-start")
        args = start.delta.message.tool_calls.function.arguments or ""
        args += "".join(ev.delta.message.tool_calls.function.arguments
                        for ev in events if ev.type == "tool-call-delta")
        return start.delta.message.tool_calls.function.name, json.loads(args)

    assert call_of(evs) == call_of(direct)
    kinds = [e.type for e in evs]
    assert kinds == [e.type for e in direct] and kinds.count("tool-call-delta") > 1
    plan = "".join(e.delta.message.tool_plan for e in evs if e.type == "tool-plan-delta")
    assert plan == "".join(e.delta.message.tool_plan for e in direct if e.type == "tool-plan-delta")
    assert evs[-1].delta.finish_reason == "TOOL_CALL"


@pytest.mark.conformance("cohere", "cohere", "embeddings")
def test_cohere_embed_round_trip_keeps_input_type_and_vectors(gw: Gateway, mock: Mock) -> None:
    kw: dict[str, Any] = {"texts": ["hello", "world"], "input_type": "search_document",
                          "embedding_types": ["float"]}
    e = _client(gw).embed(model="cohere/embed-english-v3.0", **kw)
    sent = _last(mock, "/v2/embed")
    assert sent["headers"]["authorization"] == "Bearer co-upstream"
    assert sent["body"]["texts"] == ["hello", "world"] and sent["body"]["input_type"] == "search_document"
    assert sent["body"]["embedding_types"] == ["float"] and sent["body"]["model"] == "embed-english-v3.0"
    direct = _direct(mock).embed(model="embed-english-v3.0", **kw)
    assert len(e.embeddings.float_) == 2
    for got, want in zip(e.embeddings.float_, direct.embeddings.float_, strict=True):
        assert got == pytest.approx(want)
    assert e.texts == ["hello", "world"]
    assert e.meta.billed_units.input_tokens == direct.meta.billed_units.input_tokens


@pytest.mark.conformance("cohere", "cohere", "usage")
def test_cohere_billed_units_are_not_replaced_by_raw_token_counts(gw: Gateway, mock: Mock) -> None:
    answer = json.loads((FIXTURES / "response_text.json").read_text())
    answer.pop("_source")
    answer["usage"]["cached_tokens"] = 64
    mock.script({"status": 200, "model": "command-cached", "body": answer})
    r = _client(gw).chat(model="cohere/command-cached", messages=[{"role": "user", "content": "what are LLMs?"}])
    assert _last(mock)["body"]["model"] == "command-cached"
    assert r.message.content[0].text == answer["message"]["content"][0]["text"]
    assert r.finish_reason == "COMPLETE"
    assert (r.usage.tokens.input_tokens, r.usage.tokens.output_tokens) == (83, 386)
    assert (r.usage.billed_units.input_tokens, r.usage.billed_units.output_tokens) == (17, 386)
    assert r.usage.cached_tokens == 64


@pytest.mark.conformance("cohere", "cohere", "errors")
def test_cohere_upstream_errors_reach_the_sdk_in_cohere_shape(gw: Gateway, mock: Mock) -> None:
    client = _client(gw)
    mock.script({"status": 429, "model": "command-limited"})
    with pytest.raises(cohere.errors.TooManyRequestsError) as e:
        client.chat(model="cohere/command-limited", messages=[{"role": "user", "content": "x"}],
                    request_options={"max_retries": 0})
    assert e.value.status_code == 429
    assert "Trial key" in e.value.body["message"]
    assert _last(mock)["headers"]["authorization"] == "Bearer co-upstream"
    mock.script({"status": 400, "model": "command-bad", "error_message": "invalid request: message must not be empty"})
    with pytest.raises(cohere.errors.BadRequestError) as e2:
        client.chat(model="cohere/command-bad", messages=[{"role": "user", "content": "x"}],
                    request_options={"max_retries": 0})
    assert e2.value.body["message"] == "invalid request: message must not be empty"
    mock.script({"model": "command-breaks", "stream_error_after_chunks": 2, "error_message": "model overloaded (mock)"})
    events = list(client.chat_stream(model="cohere/command-breaks", messages=[{"role": "user", "content": "x"}]))
    end = events[-1]
    assert end.type == "message-end" and end.delta.finish_reason == "ERROR"
    assert "model overloaded (mock)" in (end.delta.error or "")
