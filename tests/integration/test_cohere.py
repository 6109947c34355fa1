"""Cohere both ways: the OpenAI SDK through the gateway to a Cohere v2 upstream, and the Cohere SDK
through `/cohere/v2/...` to any provider (the mock speaks both wire formats)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cohere
import openai
import pytest

from conftest import Gateway, Mock, http

TOOL = {"type": "function", "function": {"name": "get_weather", "description": "Weather for a city",
                                         "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                                                        "required": ["city"]}}}


@pytest.fixture(scope="module")
def gw(tmp_module: Path, mock: Mock) -> Iterator[Gateway]:
    cfg = {"providers": {
        "cohere": {"keys": [{"name": "c", "value": "co-upstream", "models": [], "weight": 1}],
                   "network_config": {"base_url": mock.url}},
        "openai": {"keys": [{"name": "o", "value": "sk-openai-upstream", "models": [], "weight": 1}],
                   "network_config": {"base_url": mock.url}},
    }}
    g = Gateway(tmp_module, cfg)
    yield g
    g.stop()


def _cohere_client(gw: Gateway, prefix: str = "/cohere") -> cohere.ClientV2:
    return cohere.ClientV2(api_key="co-client-to-gateway", base_url=gw.url + prefix)


def _last(mock: Mock, path: str) -> dict[str, Any]:
    reqs = mock.requests(path)
    assert reqs, f"the upstream received no request on {path}"
    return reqs[-1]


# --- OpenAI SDK -> gateway -> Cohere upstream ----------------------------------------------------

@pytest.mark.conformance("openai", "cohere", "chat", "usage")
def test_openai_sdk_to_cohere_provider(gw: Gateway, mock: Mock) -> None:
    mock.reset()
    r = gw.openai().chat.completions.create(
        model="cohere/command-a-03-2025", max_tokens=100, temperature=0.3, top_p=0.9, stop=["zzz"],
        messages=[{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello"}])
    sent = _last(mock, "/v2/chat")
    assert sent["headers"]["authorization"] == "Bearer co-upstream"
    body = sent["body"]
    assert body["model"] == "command-a-03-2025"
    assert body["messages"] == [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello"}]
    assert body["max_tokens"] == 100 and body["temperature"] == 0.3 and body["p"] == 0.9
    assert body["stop_sequences"] == ["zzz"] and "stream" not in body
    direct = cohere.ClientV2(api_key="k", base_url=mock.url).chat(
        model="command-a-03-2025", messages=[{"role": "user", "content": "hello"}])
    assert r.choices[0].message.content == direct.message.content[0].text
    assert r.choices[0].finish_reason == "stop"
    assert r.usage is not None and r.usage.completion_tokens == direct.usage.tokens.output_tokens


@pytest.mark.conformance("openai", "cohere", "stream", "tools", "streamed tools", "embeddings")
def test_openai_sdk_stream_tools_and_embeddings_to_cohere_provider(gw: Gateway, mock: Mock) -> None:
    client = gw.openai()
    chunks = list(client.chat.completions.create(
        model="cohere/command-a-03-2025", messages=[{"role": "user", "content": "hi"}], stream=True,
        stream_options={"include_usage": True}))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert len(text) > 10
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0
    assert _last(mock, "/v2/chat")["body"]["stream"] is True

    r = client.chat.completions.create(model="cohere/command-a-03-2025", tools=[TOOL],
                                       messages=[{"role": "user", "content": "weather in Paris?"}])
    call = r.choices[0].message.tool_calls[0]
    assert r.choices[0].finish_reason == "tool_calls" and call.function.name == "get_weather"
    sent_tools = _last(mock, "/v2/chat")["body"]["tools"]
    assert sent_tools == [TOOL]
    with client.chat.completions.stream(model="cohere/command-a-03-2025", tools=[TOOL],
                                        messages=[{"role": "user", "content": "weather?"}]) as s:
        final = s.get_final_completion()
    streamed = final.choices[0].message.tool_calls[0]
    assert streamed.function.name == "get_weather"
    assert json.loads(streamed.function.arguments) == json.loads(call.function.arguments)

    # the tool result goes back as a Cohere tool message
    client.chat.completions.create(model="cohere/command-a-03-2025", tools=[TOOL], messages=[
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
        {"role": "tool", "tool_call_id": call.id, "content": "sunny"}])
    msgs = _last(mock, "/v2/chat")["body"]["messages"]
    assert msgs[1]["tool_calls"][0]["id"] == call.id
    assert msgs[2] == {"role": "tool", "tool_call_id": call.id, "content": "sunny"}

    e = client.embeddings.create(model="cohere/embed-english-v3.0", input=["a", "b"])
    sent = _last(mock, "/v2/embed")["body"]
    # the openai SDK asks for base64 by default: Cohere is asked for the same
    assert sent == {"model": "embed-english-v3.0", "texts": ["a", "b"], "input_type": "search_document",
                    "embedding_types": ["base64"]}
    direct = cohere.ClientV2(api_key="k", base_url=mock.url).embed(
        model="embed-english-v3.0", texts=["a", "b"], input_type="search_document", embedding_types=["float"])
    assert len(e.data) == 2
    for got, want in zip(e.data, direct.embeddings.float_, strict=True):
        assert got.embedding == pytest.approx(want)
    assert e.usage.prompt_tokens == direct.meta.billed_units.input_tokens


def test_cohere_provider_lists_models(gw: Gateway, mock: Mock) -> None:
    status, _, body = http("GET", gw.url + "/v1/models?provider=cohere")
    assert status == 200, body
    ids = [m["id"] for m in json.loads(body)["data"]]
    assert any(i.startswith("cohere/") for i in ids), ids
    assert _last(mock, "/v1/models")["headers"]["authorization"] == "Bearer co-upstream"


@pytest.mark.conformance("openai", "cohere", "errors")
def test_cohere_upstream_error_keeps_status_and_message(gw: Gateway, mock: Mock) -> None:
    mock.script({"status": 429, "model": "command-limited"})
    with pytest.raises(openai.APIStatusError) as e:
        gw.openai().chat.completions.create(model="cohere/command-limited",
                                            messages=[{"role": "user", "content": "x"}])
    assert e.value.status_code == 429
    doc = e.value.response.json()
    assert doc["extra_fields"]["provider"] == "cohere"
    assert "Trial key" in doc["error"]["message"]


def test_cohere_stream_error_reaches_the_openai_client(gw: Gateway, mock: Mock) -> None:
    mock.script({"stream_error_after_chunks": 2, "error_message": "model overloaded", "model": "command-err"})
    got = []
    with pytest.raises(openai.APIError) as e:
        for c in gw.openai().chat.completions.create(model="cohere/command-err", stream=True,
                                                     messages=[{"role": "user", "content": "x"}]):
            got.append(c)
    assert "model overloaded" in str(e.value)
    assert "".join(c.choices[0].delta.content or "" for c in got if c.choices)


# --- Cohere SDK -> /cohere/v2/... -> any provider ------------------------------------------------

@pytest.mark.conformance("cohere", "openai", "chat", "usage")
def test_cohere_sdk_chat_to_openai_provider(gw: Gateway, mock: Mock) -> None:
    mock.reset()
    r = _cohere_client(gw).chat(model="openai/gpt-4o-mini", max_tokens=200,
                                messages=[{"role": "system", "content": "be brief"},
                                          {"role": "user", "content": "hello"}])
    sent = _last(mock, "/v1/chat/completions")
    assert sent["headers"]["authorization"] == "Bearer sk-openai-upstream"
    assert sent["body"]["messages"] == [{"role": "system", "content": "be brief"},
                                        {"role": "user", "content": "hello"}]
    assert sent["body"]["max_tokens"] == 200
    direct = openai.OpenAI(base_url=mock.url + "/v1", api_key="k", max_retries=0).chat.completions.create(
        model="gpt-4o-mini", messages=sent["body"]["messages"])
    assert r.message.role == "assistant" and r.message.content[0].text == direct.choices[0].message.content
    assert r.finish_reason == "COMPLETE"
    assert r.usage.tokens.output_tokens == direct.usage.completion_tokens


@pytest.mark.conformance("cohere", "openai", "stream", "tools", "streamed tools")
def test_cohere_sdk_stream_and_tools_to_openai_provider(gw: Gateway, mock: Mock) -> None:
    client = _cohere_client(gw)
    events = list(client.chat_stream(model="openai/gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]))
    kinds = [ev.type for ev in events]
    assert kinds[0] == "message-start" and kinds[1] == "content-start" and kinds[-1] == "message-end"
    assert kinds[-2] == "content-end"
    text = "".join(ev.delta.message.content.text for ev in events if ev.type == "content-delta")
    assert len(text) > 10
    assert events[-1].delta.finish_reason == "COMPLETE" and events[-1].delta.usage.tokens.output_tokens > 0

    tools = [TOOL]
    r = client.chat(model="openai/gpt-4o-mini", tools=tools, messages=[{"role": "user", "content": "weather?"}])
    assert r.finish_reason == "TOOL_CALL"
    call = r.message.tool_calls[0]
    assert call.function.name == "get_weather" and json.loads(call.function.arguments)
    assert _last(mock, "/v1/chat/completions")["body"]["tools"][0]["function"]["name"] == "get_weather"

    evs = list(client.chat_stream(model="openai/gpt-4o-mini", tools=tools,
                                  messages=[{"role": "user", "content": "weather?"}]))
    kinds = [ev.type for ev in evs]
    assert "tool-call-start" in kinds and "tool-call-end" in kinds
    start = next(ev for ev in evs if ev.type == "tool-call-start")
    args = start.delta.message.tool_calls.function.arguments or ""
    args += "".join(ev.delta.message.tool_calls.function.arguments for ev in evs if ev.type == "tool-call-delta")
    assert start.delta.message.tool_calls.function.name == "get_weather"
    assert json.loads(args) == json.loads(call.function.arguments)
    assert evs[-1].delta.finish_reason == "TOOL_CALL"

    # tool results come back as OpenAI tool messages
    client.chat(model="openai/gpt-4o-mini", tools=tools, messages=[
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "tool_calls": [call.dict()], "tool_plan": "I will look it up"},
        {"role": "tool", "tool_call_id": call.id, "content": [{"type": "text", "text": "sunny"}]}])
    msgs = _last(mock, "/v1/chat/completions")["body"]["messages"]
    assert msgs[1]["tool_calls"][0]["id"] == call.id and msgs[1]["content"] is None
    assert msgs[2] == {"role": "tool", "tool_call_id": call.id, "content": "sunny"}


@pytest.mark.conformance("cohere", "openai", "embeddings")
def test_cohere_sdk_embed_to_openai_provider(gw: Gateway, mock: Mock) -> None:
    r = _cohere_client(gw).embed(model="openai/text-embedding-3-small", texts=["hello", "world"],
                                 input_type="search_query", embedding_types=["float"])
    sent = _last(mock, "/v1/embeddings")
    assert sent["body"] == {"model": "text-embedding-3-small", "input": ["hello", "world"],
                            "encoding_format": "float"}
    assert sent["headers"]["authorization"] == "Bearer sk-openai-upstream"
    direct = openai.OpenAI(base_url=mock.url + "/v1", api_key="k", max_retries=0).embeddings.create(
        model="text-embedding-3-small", input=["hello", "world"])
    for got, want in zip(r.embeddings.float_, direct.data, strict=True):
        assert got == pytest.approx(want.embedding)
    assert r.texts == ["hello", "world"] and r.meta.billed_units.input_tokens == direct.usage.prompt_tokens


@pytest.mark.conformance("cohere", "cohere", "chat")
def test_cohere_sdk_to_cohere_provider_round_trip(gw: Gateway, mock: Mock) -> None:
    client = _cohere_client(gw)
    r = client.chat(model="cohere/command-a-03-2025", messages=[{"role": "user", "content": "hello"}],
                    safety_mode="OFF")
    sent = _last(mock, "/v2/chat")
    assert sent["headers"]["authorization"] == "Bearer co-upstream"
    assert sent["body"]["safety_mode"] == "OFF"
    assert r.message.content[0].text
    e = client.embed(model="cohere/embed-english-v3.0", texts=["x"], input_type="search_query",
                     embedding_types=["float"])
    assert _last(mock, "/v2/embed")["body"]["input_type"] == "search_query"
    assert len(e.embeddings.float_[0]) > 0


@pytest.mark.conformance("cohere", "openai", "errors")
def test_cohere_route_errors_use_cohere_error_shape(gw: Gateway) -> None:
    client = _cohere_client(gw)
    with pytest.raises(cohere.errors.BadRequestError) as e:
        client.chat(model="nope/x", messages=[{"role": "user", "content": "x"}])
    assert "not configured" in e.value.body["message"]
    with pytest.raises(cohere.core.ApiError) as e2:
        client.chat(model="openai/mock-fail-503", messages=[{"role": "user", "content": "x"}],
                    request_options={"max_retries": 0})
    assert e2.value.status_code == 503 and isinstance(e2.value.body["message"], str)
    status, _, body = http("GET", gw.url + "/cohere/v2/chat")
    assert status == 405 and "message" in json.loads(body)


def test_cohere_route_works_under_framework_prefix(gw: Gateway) -> None:
    r = _cohere_client(gw, "/litellm/cohere").chat(model="openai/gpt-4o-mini",
                                                     messages=[{"role": "user", "content": "hi"}])
    assert r.message.content[0].text
