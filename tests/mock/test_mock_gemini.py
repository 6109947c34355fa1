"""`bifrost mock` speaking Google's Gemini API (generativelanguage v1beta), driven by the official
google-genai SDK (and raw HTTP where the SDK hides the wire)."""

from __future__ import annotations

import http.client
import json

import pytest
from google import genai
from google.genai import errors, types

from bifrost.mock import MockOptions, MockThread

CHUNKS = 5
MODEL = "gemini-2.5-flash"
KEY = "goog-test-key"
WEATHER = types.FunctionDeclaration(
    name="get_weather", description="Weather in a city",
    parameters_json_schema={"type": "object", "properties": {"location": {"type": "string"}},
                            "required": ["location"]})


@pytest.fixture(scope="module")
def mock_srv():
    with MockThread(MockOptions(port=0, chunks=CHUNKS, chunk_interval_ms=1, require_keys=[KEY])) as m:
        yield m


def raw(mock_srv, method, path, body=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", mock_srv.port, timeout=10)
    try:
        data = None if body is None else json.dumps(body).encode()
        conn.request(method, path, body=data, headers={"x-goog-api-key": KEY} if headers is None else headers)
        resp = conn.getresponse()
        text = resp.read().decode()
        try:
            return resp.status, json.loads(text)
        except ValueError:
            return resp.status, text
    finally:
        conn.close()


@pytest.fixture
def client(mock_srv):
    raw(mock_srv, "DELETE", "/mock/requests", headers={})
    return genai.Client(api_key=KEY, http_options=types.HttpOptions(base_url=mock_srv.url, api_version="v1beta"))


def script(mock_srv, *actions):
    status, body = raw(mock_srv, "POST", "/mock/script", {"actions": list(actions)}, headers={})
    assert status == 200, body


def test_generate_content(client, mock_srv):
    r = client.models.generate_content(model=MODEL, contents="hello there",
                                       config=types.GenerateContentConfig(system_instruction="be brief"))
    assert r.text and len(r.text.split()) == CHUNKS
    assert r.candidates[0].finish_reason == types.FinishReason.STOP
    assert r.candidates[0].content.role == "model"
    u = r.usage_metadata
    assert u.prompt_token_count > 0 and u.candidates_token_count == CHUNKS
    assert u.total_token_count == u.prompt_token_count + u.candidates_token_count
    _, recs = raw(mock_srv, "GET", "/mock/requests", headers={})
    assert recs[-1]["path"] == f"/v1beta/models/{MODEL}:generateContent"
    assert recs[-1]["headers"]["x-goog-api-key"] == KEY
    assert recs[-1]["body"]["systemInstruction"]["parts"][0]["text"] == "be brief"


def test_max_output_tokens_is_max_tokens(client):
    r = client.models.generate_content(model=MODEL, contents="hi",
                                       config=types.GenerateContentConfig(max_output_tokens=2))
    assert len(r.text.split()) == 2 and r.candidates[0].finish_reason == types.FinishReason.MAX_TOKENS


def test_stream(client, mock_srv):
    chunks = list(client.models.generate_content_stream(model=MODEL, contents="hello"))
    assert len(chunks) == CHUNKS
    assert "".join(c.text for c in chunks) == client.models.generate_content(model=MODEL, contents="hello").text
    assert chunks[-1].candidates[0].finish_reason == types.FinishReason.STOP
    assert all(c.candidates[0].finish_reason is None for c in chunks[:-1])
    assert chunks[-1].usage_metadata.candidates_token_count == CHUNKS
    _, recs = raw(mock_srv, "GET", "/mock/requests", headers={})
    stream_rec = next(r for r in recs if r["path"].endswith(":streamGenerateContent"))
    assert stream_rec["query"] == "alt=sse"


def test_function_call_then_text_after_function_response(client):
    cfg = types.GenerateContentConfig(tools=[types.Tool(function_declarations=[WEATHER])])
    r = client.models.generate_content(model=MODEL, contents="weather in Paris?", config=cfg)
    call = r.function_calls[0]
    assert call.name == "get_weather" and isinstance(call.args["location"], str)
    contents = [types.Content(role="user", parts=[types.Part(text="weather in Paris?")]),
                r.candidates[0].content,
                types.Content(role="user", parts=[types.Part.from_function_response(
                    name="get_weather", response={"temp": 21})])]
    r2 = client.models.generate_content(model=MODEL, contents=contents, config=cfg)
    assert r2.text and not r2.function_calls
    none = types.GenerateContentConfig(tools=cfg.tools, tool_config=types.ToolConfig(
        function_calling_config=types.FunctionCallingConfig(mode="NONE")))
    assert not client.models.generate_content(model=MODEL, contents="weather?", config=none).function_calls
    stream = list(client.models.generate_content_stream(model=MODEL, contents="weather in Paris?", config=cfg))
    assert stream[-1].function_calls[0].name == "get_weather"


def test_json_mode(client):
    cfg = types.GenerateContentConfig(response_mime_type="application/json",
                                      response_schema={"type": "OBJECT", "properties": {"city": {"type": "STRING"}}})
    r = client.models.generate_content(model=MODEL, contents="a city", config=cfg)
    assert isinstance(json.loads(r.text)["city"], str)


def test_embeddings_and_count_tokens(client):
    one = client.models.embed_content(model="text-embedding-004", contents="hello")
    assert len(one.embeddings) == 1 and len(one.embeddings[0].values) > 0
    many = client.models.embed_content(model="text-embedding-004", contents=["hello", "world"],
                                       config=types.EmbedContentConfig(output_dimensionality=8))
    assert [len(e.values) for e in many.embeddings] == [8, 8]
    assert many.embeddings[0].values != many.embeddings[1].values
    n = client.models.count_tokens(model=MODEL, contents="hello world, how are you?")
    assert n.total_tokens > 0


def test_models_list_and_get(client):
    names = [m.name for m in client.models.list()]
    assert f"models/{MODEL}" in names
    assert client.models.get(model=MODEL).name == f"models/{MODEL}"
    with pytest.raises(errors.ClientError) as exc:
        client.models.get(model="nope")
    assert exc.value.code == 404 and exc.value.status == "NOT_FOUND"


def test_auth(mock_srv):
    bad = genai.Client(api_key="wrong",
                       http_options=types.HttpOptions(base_url=mock_srv.url, api_version="v1beta"))
    with pytest.raises(errors.ClientError) as exc:
        bad.models.generate_content(model=MODEL, contents="hi")
    assert exc.value.code == 400 and "API key not valid" in exc.value.message
    status, body = raw(mock_srv, "POST", f"/v1beta/models/{MODEL}:generateContent",
                       {"contents": [{"parts": [{"text": "hi"}]}]}, headers={})
    assert status == 403 and body["error"]["status"] == "PERMISSION_DENIED"
    status, body = raw(mock_srv, "POST", f"/v1beta/models/{MODEL}:generateContent?key={KEY}",
                       {"contents": [{"parts": [{"text": "hi"}]}]}, headers={})
    assert status == 200 and body["candidates"][0]["content"]["parts"][0]["text"]


def test_bad_request_in_google_shape(mock_srv):
    status, body = raw(mock_srv, "POST", f"/v1beta/models/{MODEL}:generateContent", {"contents": []})
    assert status == 400 and body["error"]["code"] == 400 and body["error"]["status"] == "INVALID_ARGUMENT"


def test_scripted_failures(client, mock_srv):
    script(mock_srv, {"status": 429, "error_message": "quota"})
    with pytest.raises(errors.ClientError) as exc:
        client.models.generate_content(model=MODEL, contents="hi")
    assert exc.value.code == 429 and exc.value.status == "RESOURCE_EXHAUSTED" and exc.value.message == "quota"
    script(mock_srv, {"status": 503})
    with pytest.raises(errors.ServerError) as exc2:
        client.models.generate_content(model=MODEL, contents="hi")
    assert exc2.value.code == 503 and exc2.value.status == "UNAVAILABLE"
    script(mock_srv, {"stream_error_after_chunks": 2})
    status, text = raw(mock_srv, "POST", f"/v1beta/models/{MODEL}:streamGenerateContent?alt=sse",
                       {"contents": [{"parts": [{"text": "hi"}]}]})
    events = [json.loads(b[len("data: "):]) for b in text.split("\r\n\r\n") if b]
    assert status == 200 and len(events) == 3 and "candidates" in events[1]
    assert events[-1]["error"]["status"] == "UNAVAILABLE"
    status, body = raw(mock_srv, "POST", "/v1beta/models/mock-fail-500:generateContent",
                       {"contents": [{"parts": [{"text": "hi"}]}]})
    assert status == 500 and body["error"]["status"] == "INTERNAL"
