"""`bifrost mock` driven by the official openai SDK (and raw HTTP where the SDK hides the wire)."""

from __future__ import annotations

import argparse
import asyncio
import base64
import http.client
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

import openai
import pytest

from bifrost.mock import MockOptions, MockThread, start_mock
from bifrost.mock.server import add_arguments, options_from_args

CHUNKS = 5
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather in a city",
            "parameters": {
                "type": "object",
                "properties": {"location": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}},
                "required": ["location"],
            },
        },
    },
    {"type": "function", "function": {"name": "noop", "parameters": {"type": "object", "properties": {}}}},
]
MESSAGES = [{"role": "user", "content": "What is the weather in Paris?"}]


@pytest.fixture(scope="module")
def mock_srv():
    with MockThread(MockOptions(port=0, chunks=CHUNKS, chunk_interval_ms=1)) as m:
        yield m


@pytest.fixture
def client(mock_srv):
    raw(mock_srv, "DELETE", "/mock/requests")  # clears recordings and the script queue
    with openai.OpenAI(base_url=mock_srv.base_url, api_key="sk-test", max_retries=0, timeout=10) as c:
        yield c


def raw(mock_srv, method, path, body=None, headers=None):
    """(status, headers, parsed JSON or text) over a plain http.client connection."""
    conn = http.client.HTTPConnection("127.0.0.1", mock_srv.port, timeout=10)
    try:
        data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
        conn.request(method, path, body=data, headers=headers or {"Content-Type": "application/json"})
        resp = conn.getresponse()
        text = resp.read().decode()
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = text
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, parsed
    finally:
        conn.close()


def script(mock_srv, *actions):
    status, _, body = raw(mock_srv, "POST", "/mock/script", {"actions": list(actions)})
    assert status == 200, body
    return body


# ---------------------------------------------------------------- chat completions


def test_chat_completion_has_openai_shape_and_deterministic_usage(client):
    r = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert r.id.startswith("chatcmpl-")
    assert r.object == "chat.completion"
    assert r.model == "gpt-4o-mini"
    assert r.choices[0].message.role == "assistant"
    assert r.choices[0].message.content and len(r.choices[0].message.content.split()) == CHUNKS
    assert r.choices[0].finish_reason == "stop"
    assert r.usage.completion_tokens == CHUNKS
    assert r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens

    again = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    longer = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "x" * 400}])
    assert again.usage.prompt_tokens == r.usage.prompt_tokens
    assert longer.usage.prompt_tokens > r.usage.prompt_tokens
    assert again.id != r.id


def test_chat_honours_n_and_max_tokens(client):
    r = client.chat.completions.create(model="gpt-4o", messages=MESSAGES, n=2, max_tokens=2)
    assert [c.index for c in r.choices] == [0, 1]
    assert r.choices[0].finish_reason == "length"
    assert r.usage.completion_tokens == 4


def test_chat_with_tools_calls_the_first_tool(client):
    r = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, tools=TOOLS)
    choice = r.choices[0]
    assert choice.finish_reason == "tool_calls"
    call = choice.message.tool_calls[0]
    assert call.id.startswith("call_") and call.type == "function"
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"location": "Paris", "unit": "c"}

    named = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=MESSAGES,
        tools=TOOLS,
        tool_choice={"type": "function", "function": {"name": "noop"}},
    )
    assert named.choices[0].message.tool_calls[0].function.name == "noop"
    assert named.choices[0].message.tool_calls[0].function.arguments == "{}"

    none = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, tools=TOOLS, tool_choice="none")
    assert none.choices[0].finish_reason == "stop" and none.choices[0].message.tool_calls is None

    # once the tool result is in, the model answers with text, so agent loops end
    followup = MESSAGES + [
        {"role": "assistant", "tool_calls": [call.model_dump(exclude_none=True)]},
        {"role": "tool", "tool_call_id": call.id, "content": "sunny"},
    ]
    done = client.chat.completions.create(model="gpt-4o-mini", messages=followup, tools=TOOLS)
    assert done.choices[0].finish_reason == "stop" and done.choices[0].message.content


def test_streaming_chat_sends_role_chunks_finish_usage_and_done(client):
    full = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES).choices[0].message.content
    stream = client.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)  # ends cleanly on [DONE]
    assert chunks[0].choices[0].delta.role == "assistant"
    content = [c.choices[0].delta.content for c in chunks[1:] if c.choices and c.choices[0].delta.content]
    assert len(content) == CHUNKS
    assert "".join(content) == full
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == ["stop"]
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == CHUNKS
    assert len({c.id for c in chunks}) == 1


def test_streaming_chat_wire_ends_with_done(mock_srv):
    status, headers, text = raw(
        mock_srv, "POST", "/v1/chat/completions", {"model": "gpt-4o", "messages": MESSAGES, "stream": True}
    )
    assert status == 200 and headers["content-type"].startswith("text/event-stream")
    events = [line for line in text.split("\n\n") if line]
    assert events[-1] == "data: [DONE]"
    assert len(events) == 1 + CHUNKS + 1 + 1  # role, content, finish, [DONE]


def test_streamed_tool_call_reassembles(client):
    stream = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, tools=TOOLS, stream=True)
    calls: dict[int, dict] = {}
    arg_deltas = 0
    finish = None
    for chunk in stream:
        choice = chunk.choices[0]
        finish = choice.finish_reason or finish
        for tc in choice.delta.tool_calls or ():
            entry = calls.setdefault(tc.index, {"id": None, "name": None, "arguments": ""})
            if tc.id:
                entry["id"] = tc.id
            if tc.function and tc.function.name:
                entry["name"] = tc.function.name
            if tc.function and tc.function.arguments:
                entry["arguments"] += tc.function.arguments
                arg_deltas += 1
    assert finish == "tool_calls"
    assert calls[0]["id"].startswith("call_") and calls[0]["name"] == "get_weather"
    assert json.loads(calls[0]["arguments"]) == {"location": "Paris", "unit": "c"}
    assert arg_deltas > 1

    # the SDK's own accumulator agrees
    with client.chat.completions.stream(model="gpt-4o-mini", messages=MESSAGES, tools=TOOLS) as s:
        final = s.get_final_completion()
    assert final.choices[0].message.tool_calls[0].function.arguments == calls[0]["arguments"]


# ---------------------------------------------------------------- completions, embeddings, models


def test_legacy_completions_json_and_stream(client):
    r = client.completions.create(model="gpt-4o-mini", prompt="Say hi")
    assert r.object == "text_completion" and r.choices[0].text and r.choices[0].finish_reason == "stop"
    assert r.usage.completion_tokens == CHUNKS
    pieces = [c.choices[0].text for c in client.completions.create(model="gpt-4o-mini", prompt="Say hi", stream=True)]
    assert "".join(pieces) == r.choices[0].text
    assert len([p for p in pieces if p]) == CHUNKS


def test_embeddings_base64_default_and_float_agree(client, mock_srv):
    b64 = client.embeddings.create(model="text-embedding-3-small", input=["hello", "world"])
    flt = client.embeddings.create(model="text-embedding-3-small", input=["hello", "world"], encoding_format="float")
    assert [d.index for d in b64.data] == [0, 1]
    assert len(b64.data[0].embedding) == 16
    assert b64.data[0].embedding == flt.data[0].embedding
    assert b64.data[0].embedding != b64.data[1].embedding
    assert abs(sum(v * v for v in flt.data[0].embedding) - 1.0) < 1e-4
    assert b64.usage.prompt_tokens == 4  # ~4 characters per token, at least 1 per input

    single = client.embeddings.create(model="text-embedding-3-small", input="hello", encoding_format="float")
    assert single.data[0].embedding == flt.data[0].embedding
    tokens = client.embeddings.create(model="text-embedding-3-small", input=[[1, 2, 3], [4]], dimensions=8)
    assert len(tokens.data) == 2 and len(tokens.data[0].embedding) == 8
    assert tokens.usage.prompt_tokens == 4

    # on the wire base64 is little-endian float32
    status, _, body = raw(
        mock_srv, "POST", "/v1/embeddings", {"model": "m", "input": "hello", "encoding_format": "base64"}
    )
    assert status == 200
    vec = struct.unpack("<16f", base64.b64decode(body["data"][0]["embedding"]))
    assert list(vec) == flt.data[0].embedding


def test_models_lists_configured_models(client):
    ids = [m.id for m in client.models.list()]
    assert ids == ["gpt-4o-mini", "gpt-4o", "text-embedding-3-small"]
    assert client.models.retrieve("gpt-4o").owned_by
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("nope")


# ---------------------------------------------------------------- responses API


def test_responses_json(client):
    r = client.responses.create(model="gpt-4o-mini", input="Hello", instructions="Be brief")
    assert r.object == "response" and r.status == "completed" and r.id.startswith("resp_")
    assert r.output[0].type == "message" and r.output[0].content[0].type == "output_text"
    assert r.output[0].content[0].annotations == []
    assert len(r.output_text.split()) == CHUNKS
    assert r.usage.output_tokens == CHUNKS
    assert r.usage.total_tokens == r.usage.input_tokens + r.usage.output_tokens
    assert r.usage.input_tokens_details.cached_tokens == 0
    assert r.usage.output_tokens_details.reasoning_tokens == 0


def test_responses_stream_event_sequence(client):
    events = list(client.responses.create(model="gpt-4o-mini", input="Hello", stream=True))
    types = [e.type for e in events]
    assert types == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        *["response.output_text.delta"] * CHUNKS,
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert events[-1].response.output_text == text

    with client.responses.stream(model="gpt-4o-mini", input="Hello") as stream:
        deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert final.output_text == "".join(deltas) == text


def test_responses_function_call_json_and_stream(client):
    tools = [{"type": "function", "name": "get_weather", "parameters": TOOLS[0]["function"]["parameters"]}]
    r = client.responses.create(model="gpt-4o", input="Weather?", tools=tools)
    call = r.output[0]
    assert call.type == "function_call" and call.name == "get_weather" and call.call_id.startswith("call_")
    assert json.loads(call.arguments)["location"] == "Paris"
    with client.responses.stream(model="gpt-4o", input="Weather?", tools=tools) as stream:
        deltas = [e.delta for e in stream if e.type == "response.function_call_arguments.delta"]
        final = stream.get_final_response()
    assert len(deltas) > 1 and "".join(deltas) == final.output[0].arguments == call.arguments


# ---------------------------------------------------------------- scripted failures


def test_scripted_429_with_retry_after_then_normal(client, mock_srv):
    script(mock_srv, {"status": 429, "headers": {"Retry-After": "1"}, "times": 2})
    status, headers, body = raw(mock_srv, "POST", "/v1/chat/completions", {"model": "gpt-4o", "messages": MESSAGES})
    assert status == 429 and headers["retry-after"] == "1"
    assert body["error"]["type"] == "requests" and body["error"]["code"] == "rate_limit_exceeded"
    assert set(body["error"]) == {"message", "type", "param", "code"}
    with pytest.raises(openai.RateLimitError) as err:
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert err.value.response.headers["retry-after"] == "1"
    assert client.chat.completions.create(model="gpt-4o", messages=MESSAGES).choices[0].message.content


def test_script_custom_body_and_model_filter(client, mock_srv):
    script(mock_srv, {"model": "gpt-4o", "status": 500, "body": {"error": {"message": "boom", "type": "x"}}})
    # another model does not consume the action
    assert client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES).choices
    with pytest.raises(openai.InternalServerError) as err:
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert err.value.body["message"] == "boom"
    assert raw(mock_srv, "GET", "/mock/script")[2] == {"actions": []}


def test_cut_after_chunks_breaks_the_stream(client, mock_srv):
    script(mock_srv, {"cut_after_chunks": 3})
    received = []
    with pytest.raises(openai.APIConnectionError):
        for chunk in client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True):
            received.append(chunk)
    assert len(received) == 3
    # the next request is served normally
    assert len(list(client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True))) > 3


def test_stream_error_after_chunks_sends_an_error_chunk(client, mock_srv):
    script(mock_srv, {"stream_error_after_chunks": 2, "error_message": "busy"})
    received = []
    with pytest.raises(openai.APIError) as err:
        for chunk in client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True):
            received.append(chunk)
    assert len(received) == 3  # the role chunk and two content chunks
    assert err.value.body == {"message": "busy", "type": "overloaded_error", "param": None, "code": None}
    script(mock_srv, {"stream_error_after_chunks": 0, "error_type": "server_error"})
    events = [e.type for e in client.responses.create(model="gpt-4o-mini", input="hi", stream=True)]
    assert events[-2:] == ["response.content_part.added", "error"]


def test_close_action_is_a_connection_error(client, mock_srv):
    script(mock_srv, {"close": True})
    with pytest.raises(openai.APIConnectionError):
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)


def test_delay_action_and_slow_model_add_latency(client, mock_srv):
    script(mock_srv, {"delay_ms": 150})
    t0 = time.perf_counter()
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert time.perf_counter() - t0 >= 0.14
    t0 = time.perf_counter()
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert time.perf_counter() - t0 < 0.14
    t0 = time.perf_counter()
    client.embeddings.create(model="emb-mock-slow-120", input="x")
    assert time.perf_counter() - t0 >= 0.11


def test_mock_fail_model_always_fails(client):
    for _ in range(2):
        with pytest.raises(openai.APIStatusError) as err:
            client.chat.completions.create(model="mock-fail-503", messages=MESSAGES)
        assert err.value.status_code == 503
    with pytest.raises(openai.BadRequestError):
        client.responses.create(model="mock-fail-400", input="x")


def test_bad_json_unknown_route_and_bad_script(mock_srv):
    status, _, body = raw(mock_srv, "POST", "/v1/chat/completions", b"{not json")
    assert status == 400
    assert body["error"]["type"] == "invalid_request_error"
    assert body["error"]["param"] is None and body["error"]["code"] is None
    status, _, body = raw(mock_srv, "POST", "/v1/nope", {"model": "x"})
    assert status == 404 and body["error"]["type"] == "invalid_request_error"
    status, _, body = raw(mock_srv, "POST", "/v1/chat/completions", {"messages": []})
    assert status == 400 and body["error"]["param"] == "model"
    status, _, body = raw(mock_srv, "POST", "/v1/chat/completions", {"model": "gpt-4o"})
    assert status == 400 and body["error"]["param"] == "messages"
    status, _, body = raw(mock_srv, "POST", "/mock/script", {"actions": [{"stauts": 500}]})
    assert status == 400
    assert raw(mock_srv, "GET", "/health")[2] == {"status": "ok"}


# ---------------------------------------------------------------- auth, recording, stats


def test_require_key_answers_401_for_other_keys():
    with MockThread(MockOptions(port=0, require_keys=("sk-good", "sk-other"))) as m:
        with openai.OpenAI(base_url=m.base_url, api_key="sk-bad", max_retries=0) as bad:
            with pytest.raises(openai.AuthenticationError) as err:
                bad.chat.completions.create(model="gpt-4o", messages=MESSAGES)
            assert err.value.status_code == 401
            assert err.value.body["code"] == "invalid_api_key"
        with openai.OpenAI(base_url=m.base_url, api_key="sk-other", max_retries=0) as good:
            assert good.chat.completions.create(model="gpt-4o", messages=MESSAGES).choices
        status, _, _ = raw(m, "GET", "/v1/models", headers={})
        assert status == 401
        assert raw(m, "GET", "/health", headers={})[0] == 200


def test_recorded_requests_and_stats(client, mock_srv):
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, extra_headers={"X-Trace": "t1"})
    client.embeddings.create(model="text-embedding-3-small", input="hi")
    status, _, recs = raw(mock_srv, "GET", "/mock/requests")
    assert status == 200
    assert [(r["method"], r["path"]) for r in recs] == [
        ("POST", "/v1/chat/completions"),
        ("POST", "/v1/embeddings"),
    ]
    first = recs[0]
    assert first["headers"]["authorization"] == "Bearer sk-test"
    assert first["headers"]["x-trace"] == "t1"
    assert first["body"] == {"model": "gpt-4o-mini", "messages": MESSAGES}
    assert isinstance(first["time"], float)
    assert mock_srv.call(lambda: len(mock_srv.state.recorded())) == 2

    stats = raw(mock_srv, "GET", "/mock/stats")[2]
    assert stats["paths"]["/v1/chat/completions"] >= 1 and stats["total"] >= 2
    raw(mock_srv, "DELETE", "/mock/requests")
    assert raw(mock_srv, "GET", "/mock/requests")[2] == []


def test_record_off_and_bounded():
    with MockThread(MockOptions(port=0, record=False)) as m:
        raw(m, "GET", "/v1/models")
        assert raw(m, "GET", "/mock/requests")[2] == []
    with MockThread(MockOptions(port=0, record_limit=3)) as m:
        for _ in range(5):
            raw(m, "GET", "/v1/models")
        assert len(raw(m, "GET", "/mock/requests")[2]) == 3


# ---------------------------------------------------------------- HTTP details


def _read_responses(sock: socket.socket, count: int) -> list[bytes]:
    """Read `count` Content-Length-framed responses from a raw socket."""
    buf = b""
    out = []
    sock.settimeout(5)
    while len(out) < count:
        while b"\r\n\r\n" not in buf:
            buf += sock.recv(65536)
        head, rest = buf.split(b"\r\n\r\n", 1)
        length = int(next(h.split(b":")[1] for h in head.split(b"\r\n") if h.lower().startswith(b"content-length")))
        while len(rest) < length:
            rest += sock.recv(65536)
        out.append(head + b"\r\n\r\n" + rest[:length])
        buf = rest[length:]
    return out


def test_pipelined_and_chunked_requests_answer_in_order(mock_srv):
    slow = json.dumps({"model": "m-mock-slow-50", "messages": MESSAGES}).encode()
    fast = json.dumps({"model": "fast", "messages": MESSAGES}).encode()
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in (fast[:10], fast[10:])) + b"0\r\n\r\n"
    wire = (
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s" % (len(slow), slow)
        + b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        + chunked
        + b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", mock_srv.port)) as sock:
        sock.sendall(wire)
        responses = _read_responses(sock, 3)
    assert b'"model":"m-mock-slow-50"' in responses[0]
    assert b'"model":"fast"' in responses[1]
    assert responses[2].endswith(b'{"status":"ok"}')
    assert all(r.startswith(b"HTTP/1.1 200 OK") for r in responses)


def test_start_mock_in_process_with_asyncio():
    async def main():
        mock_srv, port = await start_mock(MockOptions(port=0, latency_ms=20))
        try:
            assert port == mock_srv.port and port > 0
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            body = b'{"model":"gpt-4o","input":"hi"}'
            t0 = time.perf_counter()
            writer.write(
                b"POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
            )
            data = await reader.read()
            writer.close()
            assert time.perf_counter() - t0 >= 0.019
            assert data.startswith(b"HTTP/1.1 200 OK") and b"connection: close" in data
            assert b'"object":"embedding"' in data
        finally:
            await mock_srv.close()

    asyncio.run(main())


# ---------------------------------------------------------------- CLI


def test_arguments_map_to_options():
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    opts = options_from_args(parser.parse_args([]))
    assert opts == MockOptions()
    args = parser.parse_args(
        "--host 0.0.0.0 --port 0 --latency-ms 5 --chunks 3 --chunk-interval-ms 0 --embedding-dim 8 "
        "--require-key a --require-key b --no-record --models x,y".split()
    )
    opts = options_from_args(args)
    assert (opts.host, opts.port, opts.latency_ms, opts.chunks, opts.chunk_interval_ms) == ("0.0.0.0", 0, 5, 3, 0)
    assert (opts.embedding_dim, opts.require_keys, opts.record, opts.models) == (8, ("a", "b"), False, ("x", "y"))


def test_python_m_bifrost_mock_prints_url_and_stops_on_sigterm():
    src = str(Path(__file__).resolve().parents[2] / "src")
    env = dict(os.environ, PYTHONPATH=src + os.pathsep + os.environ.get("PYTHONPATH", ""))
    with subprocess.Popen(
        [sys.executable, "-m", "bifrost.mock", "--port", "0", "--models", "a,b"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    ) as proc:
        try:
            line = proc.stdout.readline().strip()
            assert line.startswith("bifrost mock listening on http://127.0.0.1:"), line
            port = int(line.rsplit(":", 1)[1])
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/v1/models")
            assert [m["id"] for m in json.loads(conn.getresponse().read())["data"]] == ["a", "b"]
            conn.close()
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=10)
            assert proc.returncode == 0, err
        finally:
            if proc.poll() is None:
                proc.kill()
