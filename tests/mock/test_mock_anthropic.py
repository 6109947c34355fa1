"""`bifrost mock` speaking Anthropic's Messages API, driven by the official anthropic SDK
(and raw HTTP where the SDK hides the wire)."""

from __future__ import annotations

import http.client
import json

import anthropic
import pytest

try:  # the transport the SDK is built on: a stream cut short surfaces as its error
    import httpx2 as httpx
except ImportError:  # pragma: no cover - older SDKs
    import httpx

from bifrost.mock import MockOptions, MockThread

CHUNKS = 5
MODEL = "claude-sonnet-4-20250514"
KEY = "sk-ant-test"
HEADERS = {"x-api-key": KEY, "anthropic-version": "2023-06-01", "content-type": "application/json"}
WEATHER_SCHEMA = {
    "type": "object",
    "properties": {"location": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}},
    "required": ["location"],
}
TOOLS = [
    {"name": "get_weather", "description": "Weather in a city", "input_schema": WEATHER_SCHEMA},
    {"name": "noop", "input_schema": {"type": "object", "properties": {}}},
]
MESSAGES = [{"role": "user", "content": "What is the weather in Paris?"}]
THINKING = {"type": "enabled", "budget_tokens": 1024}


@pytest.fixture(scope="module")
def mock_srv():
    with MockThread(MockOptions(port=0, chunks=CHUNKS, chunk_interval_ms=1)) as m:
        yield m


@pytest.fixture
def client(mock_srv):
    raw(mock_srv, "DELETE", "/mock/requests")  # clears recordings and the script queue
    with anthropic.Anthropic(base_url=mock_srv.url, api_key=KEY, max_retries=0, timeout=10) as c:
        yield c


def raw(mock_srv, method, path, body=None, headers=None):
    """(status, headers, parsed JSON or text) over a plain http.client connection."""
    conn = http.client.HTTPConnection("127.0.0.1", mock_srv.port, timeout=10)
    try:
        data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
        conn.request(method, path, body=data, headers=HEADERS if headers is None else headers)
        resp = conn.getresponse()
        text = resp.read().decode()
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = text
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, parsed
    finally:
        conn.close()


def sse(text: str) -> list[dict]:
    """The events of an SSE body, checking each is exactly `event: <type>` + `data: <json of that type>`."""
    events = []
    for block in text.split("\n\n"):
        if not block:
            continue
        name, data = block.split("\n")
        assert name.startswith("event: ") and data.startswith("data: "), block
        payload = json.loads(data[len("data: ") :])
        assert payload["type"] == name[len("event: ") :]
        events.append(payload)
    return events


def script(mock_srv, *actions):
    status, _, body = raw(mock_srv, "POST", "/mock/script", {"actions": list(actions)}, headers={})
    assert status == 200, body
    return body


def auth_error(message: str) -> dict:
    return {"type": "error", "error": {"type": "authentication_error", "message": message}}


def create(client, **kw):
    return client.messages.create(model=kw.pop("model", MODEL), max_tokens=kw.pop("max_tokens", 1024), **kw)


# ---------------------------------------------------------------- JSON


def test_messages_create_has_anthropic_shape(client, mock_srv):
    r = create(client, messages=MESSAGES)
    assert r.id.startswith("msg_") and r.type == "message" and r.role == "assistant" and r.model == MODEL
    assert [b.type for b in r.content] == ["text"]
    assert len(r.content[0].text.split()) == CHUNKS
    assert r.stop_reason == "end_turn" and r.stop_sequence is None
    assert r.usage.output_tokens == CHUNKS and r.usage.input_tokens > 0
    assert r.usage.cache_creation_input_tokens == 0 and r.usage.cache_read_input_tokens == 0
    assert create(client, messages=MESSAGES).id != r.id

    body = {"model": MODEL, "max_tokens": 9, "messages": MESSAGES}
    status, headers, body = raw(mock_srv, "POST", "/v1/messages", body)
    assert status == 200 and headers["content-type"] == "application/json"
    assert list(body) == ["id", "type", "role", "model", "content", "stop_reason", "stop_sequence", "usage"]
    assert body["content"] == [{"type": "text", "text": r.content[0].text}]
    assert body["usage"] == {
        "input_tokens": r.usage.input_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "output_tokens": CHUNKS,
    }


def test_max_tokens_truncates_and_stop_sequences_stop(client):
    r = create(client, messages=MESSAGES, max_tokens=2)
    assert r.stop_reason == "max_tokens" and r.content[0].text == "This is" and r.usage.output_tokens == 2
    r = create(client, messages=MESSAGES, stop_sequences=["zzz", "mock"])
    assert r.content[0].text == "This is a "
    assert r.stop_reason == "stop_sequence" and r.stop_sequence == "mock"
    with client.messages.stream(model=MODEL, max_tokens=1024, messages=MESSAGES, stop_sequences=["mock"]) as s:
        assert "".join(s.text_stream) == "This is a "
        final = s.get_final_message()
    assert final.stop_reason == "stop_sequence" and final.stop_sequence == "mock"


def test_tool_use_json(client):
    r = create(client, messages=MESSAGES, tools=TOOLS)
    assert r.stop_reason == "tool_use"
    tool = r.content[-1]
    assert tool.type == "tool_use" and tool.id.startswith("toolu_") and tool.name == "get_weather"
    assert tool.input == {"location": "Paris", "unit": "c"}

    named = create(client, messages=MESSAGES, tools=TOOLS, tool_choice={"type": "tool", "name": "noop"})
    assert named.content[-1].name == "noop" and named.content[-1].input == {}
    none = create(client, messages=MESSAGES, tools=TOOLS, tool_choice={"type": "none"})
    assert none.stop_reason == "end_turn" and [b.type for b in none.content] == ["text"]

    # once the tool result is in, the model answers with text, so agent loops end
    followup = MESSAGES + [
        {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in r.content]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": tool.id, "content": "sunny"}]},
    ]
    done = create(client, messages=followup, tools=TOOLS)
    assert done.stop_reason == "end_turn" and done.content[0].text
    forced = create(client, messages=followup, tools=TOOLS, tool_choice={"type": "any"})
    assert forced.stop_reason == "tool_use"


def test_thinking_block_leads(client):
    r = create(client, messages=MESSAGES, max_tokens=2048, thinking=THINKING)
    assert [b.type for b in r.content] == ["thinking", "text"]
    assert r.content[0].thinking and r.content[0].signature
    assert r.usage.output_tokens > CHUNKS
    plain = create(client, messages=MESSAGES, thinking={"type": "disabled"})
    assert [b.type for b in plain.content] == ["text"]


def test_count_tokens_matches_usage(client):
    n = client.messages.count_tokens(model=MODEL, messages=MESSAGES).input_tokens
    assert n > 0 and n == create(client, messages=MESSAGES).usage.input_tokens
    longer = [{"role": "user", "content": "x" * 400}]
    assert client.messages.count_tokens(model=MODEL, messages=longer).input_tokens > n
    with_tools = client.messages.count_tokens(model=MODEL, messages=MESSAGES, tools=TOOLS, system="Be brief")
    assert with_tools.input_tokens > n


# ---------------------------------------------------------------- streams


def test_stream_wire_is_the_documented_event_sequence(mock_srv):
    body = {"model": MODEL, "max_tokens": 1024, "messages": MESSAGES, "stream": True}
    status, headers, text = raw(mock_srv, "POST", "/v1/messages", body)
    assert status == 200 and headers["content-type"].startswith("text/event-stream")
    assert "[DONE]" not in text
    events = sse(text)
    assert [e["type"] for e in events] == [
        "message_start",
        "content_block_start",
        "ping",
        *["content_block_delta"] * CHUNKS,
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    start = events[0]["message"]
    assert start["id"].startswith("msg_") and start["content"] == [] and start["stop_reason"] is None
    assert start["usage"]["output_tokens"] == 1 and start["usage"]["input_tokens"] > 0
    assert events[1] == {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}
    assert all(e["delta"]["type"] == "text_delta" and e["index"] == 0 for e in events[3:-3])
    assert events[-2] == {
        "type": "message_delta",
        "delta": {"stop_reason": "end_turn", "stop_sequence": None},
        "usage": {"output_tokens": CHUNKS},
    }


def test_sdk_stream_accumulates_text_and_final_message(client):
    expected = create(client, messages=MESSAGES).content[0].text
    with client.messages.stream(model=MODEL, max_tokens=1024, messages=MESSAGES) as s:
        pieces = list(s.text_stream)
        final = s.get_final_message()
    assert len(pieces) == CHUNKS and "".join(pieces) == expected
    assert final.content[0].text == expected and final.stop_reason == "end_turn"
    assert final.usage.output_tokens == CHUNKS and final.id.startswith("msg_")

    raw_events = list(create(client, messages=MESSAGES, stream=True))
    assert raw_events[0].type == "message_start" and raw_events[-1].type == "message_stop"


def test_streamed_tool_use_matches_json(client, mock_srv):
    expected = create(client, messages=MESSAGES, tools=TOOLS).content[-1].input
    with client.messages.stream(model=MODEL, max_tokens=1024, messages=MESSAGES, tools=TOOLS) as s:
        fragments = [
            e.delta.partial_json for e in s if e.type == "content_block_delta" and e.delta.type == "input_json_delta"
        ]
        final = s.get_final_message()
    assert len(fragments) > 1 and json.loads("".join(fragments)) == expected
    assert [b.type for b in final.content] == ["text", "tool_use"]
    assert final.content[1].input == expected and final.content[1].name == "get_weather"
    assert final.stop_reason == "tool_use"

    body = {"model": MODEL, "max_tokens": 1024, "messages": MESSAGES, "tools": TOOLS, "stream": True}
    events = sse(raw(mock_srv, "POST", "/v1/messages", body)[2])
    starts = [e for e in events if e["type"] == "content_block_start"]
    assert [e["index"] for e in starts] == [0, 1]
    assert starts[1]["content_block"]["type"] == "tool_use" and starts[1]["content_block"]["input"] == {}
    assert [e["index"] for e in events if e["type"] == "content_block_stop"] == [0, 1]
    assert events[-2]["delta"]["stop_reason"] == "tool_use"


def test_streamed_thinking_matches_json(client, mock_srv):
    expected = create(client, messages=MESSAGES, max_tokens=2048, thinking=THINKING)
    with client.messages.stream(model=MODEL, max_tokens=2048, messages=MESSAGES, thinking=THINKING) as s:
        final = s.get_final_message()
    assert [b.type for b in final.content] == ["thinking", "text"]
    assert final.content[0].thinking == expected.content[0].thinking
    assert final.content[0].signature == expected.content[0].signature
    assert final.content[1].text == expected.content[1].text

    body = {"model": MODEL, "max_tokens": 2048, "messages": MESSAGES, "thinking": THINKING, "stream": True}
    events = sse(raw(mock_srv, "POST", "/v1/messages", body)[2])
    assert [e["type"] for e in events[:3]] == ["message_start", "content_block_start", "ping"]
    assert events[1]["content_block"]["type"] == "thinking"
    kinds = [e["delta"]["type"] for e in events if e["type"] == "content_block_delta"]
    assert kinds[0] == "thinking_delta" and "signature_delta" in kinds and kinds[-1] == "text_delta"
    assert kinds.index("signature_delta") == kinds.count("thinking_delta")


# ---------------------------------------------------------------- models


def test_models_list_and_retrieve_anthropic_style(client, mock_srv):
    models = list(client.models.list())
    assert [m.id for m in models] == [
        "gpt-4o-mini",
        "gpt-4o",
        "text-embedding-3-small",
        "claude-3-5-haiku-latest",
        MODEL,
    ]
    assert all(m.type == "model" and m.display_name and m.created_at for m in models)
    page = client.models.list(limit=2)
    assert len(page.data) == 2 and page.has_more and page.last_id == "gpt-4o"
    assert [m.id for m in page] == [m.id for m in models]  # auto-paginates through after_id

    info = client.models.retrieve(MODEL)
    assert info.id == MODEL and info.display_name == "Claude Sonnet 4"
    assert client.models.retrieve("claude-3-5-haiku-latest").display_name == "Claude 3.5 Haiku"
    with pytest.raises(anthropic.NotFoundError):
        client.models.retrieve("nope")

    status, _, body = raw(mock_srv, "GET", "/v1/models")
    assert status == 200 and set(body) == {"data", "has_more", "first_id", "last_id"}
    status, _, body = raw(mock_srv, "GET", "/v1/models", headers={})  # no Anthropic headers: OpenAI listing
    assert status == 200 and body["object"] == "list"


# ---------------------------------------------------------------- auth and bad requests


def test_auth_headers_are_required(mock_srv):
    body = {"model": MODEL, "max_tokens": 10, "messages": MESSAGES}
    status, _, err = raw(mock_srv, "POST", "/v1/messages", body, headers={"anthropic-version": "2023-06-01"})
    assert status == 401
    assert err == auth_error("x-api-key header is required")
    status, _, err = raw(mock_srv, "POST", "/v1/messages", body, headers={"x-api-key": KEY})
    assert status == 400 and err["error"]["type"] == "invalid_request_error"


def test_require_key_answers_401_for_other_keys():
    with MockThread(MockOptions(port=0, require_keys=("sk-ant-good",))) as m:
        with anthropic.Anthropic(base_url=m.url, api_key="sk-ant-bad", max_retries=0) as bad:
            with pytest.raises(anthropic.AuthenticationError) as err:
                bad.messages.create(model=MODEL, max_tokens=10, messages=MESSAGES)
            assert err.value.status_code == 401
            assert err.value.body == auth_error("invalid x-api-key")
            with pytest.raises(anthropic.AuthenticationError):
                bad.models.list()
        with anthropic.Anthropic(base_url=m.url, api_key="sk-ant-good", max_retries=0) as good:
            assert good.messages.create(model=MODEL, max_tokens=10, messages=MESSAGES).content
            assert good.messages.count_tokens(model=MODEL, messages=MESSAGES).input_tokens > 0
        body = {"model": MODEL, "max_tokens": 10, "messages": MESSAGES}
        assert raw(m, "POST", "/v1/messages", body, headers={**HEADERS, "x-api-key": "sk-ant-good"})[0] == 200
        status, _, err = raw(m, "POST", "/v1/messages", body)
        assert status == 401 and err == auth_error("invalid x-api-key")


def test_bad_requests_get_invalid_request_error(mock_srv):
    for body, message in [
        (b"{not json", "The request body is not valid JSON."),
        ({"model": MODEL, "messages": MESSAGES}, "max_tokens: Field required"),
        ({"model": MODEL, "max_tokens": 5}, "messages: Field required"),
        ({"max_tokens": 5, "messages": MESSAGES}, "model: Field required"),
    ]:
        status, _, err = raw(mock_srv, "POST", "/v1/messages", body)
        assert status == 400, body
        assert err == {"type": "error", "error": {"type": "invalid_request_error", "message": message}}
    status, _, err = raw(mock_srv, "POST", "/v1/messages/count_tokens", {"model": MODEL})
    assert status == 400 and err["error"]["message"] == "messages: Field required"
    status, _, err = raw(mock_srv, "POST", "/v1/messages/batches/x", {"model": MODEL})
    assert status == 404 and err["error"]["type"] == "not_found_error"


# ---------------------------------------------------------------- scripted failures and recording


def test_scripted_529_is_overloaded_error(client, mock_srv):
    script(mock_srv, {"status": 529, "headers": {"retry-after": "2"}})
    with pytest.raises(anthropic.APIStatusError) as err:
        create(client, messages=MESSAGES)
    assert isinstance(err.value, anthropic.InternalServerError)
    assert err.value.status_code == 529 and err.value.response.headers["retry-after"] == "2"
    assert err.value.body == {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    assert create(client, messages=MESSAGES).content  # consumed: the next request is served

    script(mock_srv, {"status": 500, "body": {"type": "error", "error": {"type": "api_error", "message": "boom"}}})
    with pytest.raises(anthropic.InternalServerError) as err:
        create(client, messages=MESSAGES)
    assert err.value.body["error"]["message"] == "boom"


def test_mock_fail_and_slow_models(client):
    with pytest.raises(anthropic.RateLimitError) as err:
        create(client, model="claude-mock-fail-429", messages=MESSAGES)
    assert err.value.body["error"]["type"] == "rate_limit_error"
    with pytest.raises(anthropic.APIStatusError) as err:
        client.messages.count_tokens(model="mock-fail-529", messages=MESSAGES)
    assert err.value.status_code == 529 and err.value.body["error"]["type"] == "overloaded_error"
    assert create(client, model="claude-mock-slow-20", messages=MESSAGES).model == "claude-mock-slow-20"


def test_scripted_error_event_mid_stream(client, mock_srv):
    script(mock_srv, {"stream_error_after_chunks": 2, "error_type": "overloaded_error"})
    received = []
    with pytest.raises(anthropic.APIStatusError) as err:
        with client.messages.stream(model=MODEL, max_tokens=1024, messages=MESSAGES) as s:
            for text in s.text_stream:
                received.append(text)
    assert len(received) == 2
    assert err.value.body == {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}

    script(mock_srv, {"stream_error_after_chunks": 1})
    body = {"model": MODEL, "max_tokens": 1024, "messages": MESSAGES, "stream": True}
    events = sse(raw(mock_srv, "POST", "/v1/messages", body)[2])
    assert [e["type"] for e in events] == [
        "message_start",
        "content_block_start",
        "ping",
        "content_block_delta",
        "error",
    ]
    # a request that is not streamed answers that error's status instead
    script(mock_srv, {"stream_error_after_chunks": 1, "error_type": "rate_limit_error", "error_message": "slow down"})
    with pytest.raises(anthropic.RateLimitError) as err:
        create(client, messages=MESSAGES)
    assert err.value.body["error"] == {"type": "rate_limit_error", "message": "slow down"}


def test_cut_and_close_are_connection_errors(client, mock_srv):
    script(mock_srv, {"cut_after_chunks": 4})
    received = []
    with pytest.raises((anthropic.APIConnectionError, httpx.TransportError)):
        with client.messages.stream(model=MODEL, max_tokens=1024, messages=MESSAGES) as s:
            for text in s.text_stream:
                received.append(text)
    assert len(received) == 1  # message_start, content_block_start, ping, one delta
    script(mock_srv, {"close": True})
    with pytest.raises(anthropic.APIConnectionError):
        create(client, messages=MESSAGES)
    assert create(client, messages=MESSAGES).content


def test_requests_are_recorded(client, mock_srv):
    create(client, messages=MESSAGES)
    client.messages.count_tokens(model=MODEL, messages=MESSAGES)
    recs = raw(mock_srv, "GET", "/mock/requests", headers={})[2]
    assert [(r["method"], r["path"]) for r in recs] == [
        ("POST", "/v1/messages"),
        ("POST", "/v1/messages/count_tokens"),
    ]
    # recent SDKs send the key as `Authorization: Bearer`; the gateway sends `x-api-key`: both are accepted
    headers = recs[0]["headers"]
    assert KEY in (headers.get("x-api-key"), headers.get("authorization", "").removeprefix("Bearer "))
    assert headers["anthropic-version"]
    assert recs[0]["body"] == {"model": MODEL, "max_tokens": 1024, "messages": MESSAGES}
