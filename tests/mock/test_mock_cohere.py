"""`bifrost mock` speaking Cohere's v2 API, driven by the official cohere SDK (and raw HTTP for the wire)."""

from __future__ import annotations

import http.client
import json

import cohere
import pytest

from bifrost.mock import MockOptions, MockThread

CHUNKS = 5
MODEL = "command-a-03-2025"
HEADERS = {"authorization": "Bearer co-test", "content-type": "application/json"}
TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]}}}]
MESSAGES = [{"role": "user", "content": "What is the weather in Paris?"}]


@pytest.fixture(scope="module")
def mock_srv():
    with MockThread(MockOptions(port=0, chunks=CHUNKS, chunk_interval_ms=1)) as m:
        yield m


@pytest.fixture
def client(mock_srv):
    raw(mock_srv, "DELETE", "/mock/requests")
    return cohere.ClientV2(api_key="co-test", base_url=mock_srv.url)


def raw(mock_srv, method, path, body=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", mock_srv.port, timeout=10)
    try:
        data = None if body is None else json.dumps(body).encode()
        conn.request(method, path, body=data, headers=HEADERS if headers is None else headers)
        resp = conn.getresponse()
        text = resp.read().decode()
        try:
            return resp.status, json.loads(text)
        except ValueError:
            return resp.status, text
    finally:
        conn.close()


def sse(text: str) -> list[dict]:
    events = []
    for block in text.split("\n\n"):
        if block:
            name, data = block.split("\n")
            payload = json.loads(data[len("data: "):])
            assert name == "event: " + payload["type"]
            events.append(payload)
    return events


def script(mock_srv, *actions):
    status, body = raw(mock_srv, "POST", "/mock/script", {"actions": list(actions)}, headers={})
    assert status == 200, body


def test_chat_json_and_stream_agree(client):
    r = client.chat(model=MODEL, messages=MESSAGES)
    assert r.finish_reason == "COMPLETE" and r.message.content[0].text
    assert r.usage.tokens.output_tokens == CHUNKS
    events = list(client.chat_stream(model=MODEL, messages=MESSAGES))
    assert [e.type for e in events] == ["message-start", "content-start"] + ["content-delta"] * CHUNKS + [
        "content-end", "message-end"]
    assert "".join(e.delta.message.content.text for e in events if e.type == "content-delta") == \
        r.message.content[0].text
    short = client.chat(model=MODEL, messages=MESSAGES, max_tokens=2)
    assert short.finish_reason == "MAX_TOKENS"


def test_tool_calls_json_and_stream(client, mock_srv):
    r = client.chat(model=MODEL, messages=MESSAGES, tools=TOOLS)
    assert r.finish_reason == "TOOL_CALL" and r.message.tool_plan
    call = r.message.tool_calls[0]
    assert call.function.name == "get_weather" and "location" in json.loads(call.function.arguments)
    body = {"model": MODEL, "messages": MESSAGES, "tools": TOOLS, "stream": True}
    status, text = raw(mock_srv, "POST", "/v2/chat", body)
    kinds = [e["type"] for e in sse(text)]
    assert kinds[:4] == ["message-start", "tool-plan-delta", "tool-call-start", "tool-call-delta"]
    assert kinds[-2:] == ["tool-call-end", "message-end"]
    after = MESSAGES + [{"role": "assistant", "tool_calls": [call.dict()]},
                        {"role": "tool", "tool_call_id": call.id, "content": "sunny"}]
    assert client.chat(model=MODEL, messages=after, tools=TOOLS).finish_reason == "COMPLETE"


def test_embed_rerank_and_models(client, mock_srv):
    e = client.embed(model="embed-english-v3.0", texts=["a", "b"], input_type="search_document",
                     embedding_types=["float", "base64"])
    assert len(e.embeddings.float_) == 2 and len(e.embeddings.base64) == 2
    assert e.meta.billed_units.input_tokens == 2
    rr = client.rerank(model="rerank-v3.5", query="paris weather",
                       documents=["the weather in paris", "a recipe"], top_n=1)
    assert [x.index for x in rr.results] == [0]
    status, body = raw(mock_srv, "GET", "/v1/models?page_size=10")
    assert status == 200 and body["models"][0]["name"]
    status, body = raw(mock_srv, "POST", "/v2/embed", {"model": "m", "texts": ["a"]})
    assert status == 400 and "input_type" in body["message"]


def test_errors_and_scripts(client, mock_srv):
    status, body = raw(mock_srv, "POST", "/v2/chat", {"model": MODEL, "messages": MESSAGES}, headers={})
    assert status == 401 and body["message"] == "no api key supplied"
    script(mock_srv, {"status": 429})
    with pytest.raises(cohere.errors.TooManyRequestsError) as err:
        client.chat(model=MODEL, messages=MESSAGES, request_options={"max_retries": 0})
    assert "Trial key" in err.value.body["message"]
    script(mock_srv, {"stream_error_after_chunks": 1, "error_message": "boom"})
    status, text = raw(mock_srv, "POST", "/v2/chat", {"model": MODEL, "messages": MESSAGES, "stream": True})
    events = sse(text)
    assert [e["type"] for e in events] == ["message-start", "content-start", "content-delta", "message-end"]
    assert events[-1]["delta"] == {"finish_reason": "ERROR", "error": "boom",
                                   "usage": events[-1]["delta"]["usage"]}
    rec = raw(mock_srv, "GET", "/mock/requests")[1]
    assert any(r["path"] == "/v2/chat" for r in rec)
