"""Gemini both ways: the OpenAI SDK through the gateway to a Gemini (AI Studio) upstream, and the
google-genai SDK through `/genai/v1beta/models/{model}:{action}` to any provider (the mock speaks both)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from google import genai
from google.genai import errors, types

from conftest import Gateway, Mock, http

TOOL = {"type": "function", "function": {"name": "get_weather", "description": "Weather for a city",
                                         "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                                                        "required": ["city"]}}}
WEATHER = types.FunctionDeclaration(name="get_weather", description="Weather for a city",
                                    parameters_json_schema=TOOL["function"]["parameters"])
GEN = "/v1beta/models/gemini-2.5-flash:generateContent"


@pytest.fixture(scope="module")
def gw(tmp_module: Path, mock: Mock) -> Iterator[Gateway]:
    cfg = {"providers": {
        "gemini": {"keys": [{"name": "g", "value": "goog-upstream", "models": [], "weight": 1}],
                   "network_config": {"base_url": mock.url, "extra_headers": {"x-team": "blue"}}},
        "openai": {"keys": [{"name": "o", "value": "sk-openai-upstream", "models": [], "weight": 1}],
                   "network_config": {"base_url": mock.url}},
    }}
    g = Gateway(tmp_module, cfg)
    yield g
    g.stop()


def _genai(gw: Gateway, prefix: str = "/genai") -> genai.Client:
    return genai.Client(api_key="goog-client-to-gateway", http_options=types.HttpOptions(
        base_url=gw.url + prefix, api_version="v1beta", retry_options=types.HttpRetryOptions(attempts=1)))


def direct_count(mock: Mock, body: dict[str, Any]) -> int:
    status, _, raw = http("POST", mock.url + "/v1beta/models/gemini-2.5-flash:countTokens", body,
                          {"x-goog-api-key": "k"})
    assert status == 200, raw
    return json.loads(raw)["totalTokens"]


def _last(mock: Mock, path: str) -> dict[str, Any]:
    reqs = mock.requests(path)
    assert reqs, f"the upstream received no request on {path}"
    return reqs[-1]


# --- OpenAI SDK -> gateway -> Gemini upstream ----------------------------------------------------

@pytest.mark.conformance("openai", "gemini", "chat", "usage")
def test_openai_sdk_to_gemini_provider(gw: Gateway, mock: Mock) -> None:
    mock.reset()
    r = gw.openai().chat.completions.create(
        model="gemini/gemini-2.5-flash", max_tokens=100,
        messages=[{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello"}])
    sent = _last(mock, GEN)
    assert sent["headers"]["x-goog-api-key"] == "goog-upstream" and sent["headers"]["x-team"] == "blue"
    assert "authorization" not in sent["headers"]
    body = sent["body"]
    assert body["systemInstruction"]["parts"] == [{"text": "be brief"}]
    assert body["contents"] == [{"role": "user", "parts": [{"text": "hello"}]}]
    assert body["generationConfig"]["maxOutputTokens"] == 100
    direct = genai.Client(api_key="k", http_options=types.HttpOptions(base_url=mock.url, api_version="v1beta"))
    d = direct.models.generate_content(model="gemini-2.5-flash", contents="hello")
    assert r.choices[0].message.content == d.text
    assert r.choices[0].finish_reason == "stop" and r.model == "gemini-2.5-flash"
    assert r.usage is not None and r.usage.completion_tokens == d.usage_metadata.candidates_token_count


@pytest.mark.conformance("openai", "gemini", "stream", "tools", "streamed tools")
def test_openai_sdk_stream_and_tools_to_gemini_provider(gw: Gateway, mock: Mock) -> None:
    client = gw.openai()
    chunks = list(client.chat.completions.create(
        model="gemini/gemini-2.5-flash", messages=[{"role": "user", "content": "hi"}], stream=True,
        stream_options={"include_usage": True}))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert len(text) > 10 and chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0
    stream_reqs = mock.requests("/v1beta/models/gemini-2.5-flash:streamGenerateContent")
    assert stream_reqs and stream_reqs[-1]["query"] == "alt=sse"

    r = client.chat.completions.create(model="gemini/gemini-2.5-flash", tools=[TOOL],
                                       messages=[{"role": "user", "content": "weather in Paris?"}])
    call = r.choices[0].message.tool_calls[0]
    assert r.choices[0].finish_reason == "tool_calls" and call.function.name == "get_weather"
    assert isinstance(json.loads(call.function.arguments)["city"], str)
    decl = _last(mock, GEN)["body"]["tools"][0]["functionDeclarations"][0]
    assert decl["name"] == "get_weather" and decl["parameters"]["required"] == ["city"]

    # the tool result goes back as a functionResponse; the model then answers with text
    follow = client.chat.completions.create(model="gemini/gemini-2.5-flash", tools=[TOOL], messages=[
        {"role": "user", "content": "weather in Paris?"}, r.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": '{"temp": 21}'}])
    assert follow.choices[0].message.content and not follow.choices[0].message.tool_calls
    last_turn = _last(mock, GEN)["body"]["contents"][-1]
    assert last_turn["parts"][0]["functionResponse"]["name"] == "get_weather"
    assert last_turn["parts"][0]["functionResponse"]["response"] == {"temp": 21}

    with client.chat.completions.stream(model="gemini/gemini-2.5-flash", tools=[TOOL],
                                        messages=[{"role": "user", "content": "weather?"}]) as s:
        final = s.get_final_completion()
    assert final.choices[0].message.tool_calls[0].function.name == "get_weather"


@pytest.mark.conformance("openai", "gemini", "embeddings")
def test_openai_sdk_embeddings_to_gemini_provider(gw: Gateway, mock: Mock) -> None:
    client = gw.openai()
    one = client.embeddings.create(model="gemini/text-embedding-004", input="hello")
    assert len(one.data) == 1 and len(one.data[0].embedding) > 0
    assert _last(mock, "/v1beta/models/text-embedding-004:embedContent")["body"]["content"] == {
        "parts": [{"text": "hello"}]}
    many = client.embeddings.create(model="gemini/text-embedding-004", input=["a", "b"], dimensions=8)
    assert [len(d.embedding) for d in many.data] == [8, 8]
    sent = _last(mock, "/v1beta/models/text-embedding-004:batchEmbedContents")["body"]
    assert len(sent["requests"]) == 2 and sent["requests"][0]["outputDimensionality"] == 8


@pytest.mark.conformance("openai", "gemini", "errors")
def test_gemini_upstream_error_keeps_status_and_message(gw: Gateway, mock: Mock) -> None:
    mock.script({"status": 429, "model": "gemini-quota", "error_message": "Quota exceeded (mock)"})
    with pytest.raises(openai.APIStatusError) as e:
        gw.openai().chat.completions.create(model="gemini/gemini-quota", messages=[{"role": "user", "content": "x"}])
    assert e.value.status_code == 429
    doc = e.value.response.json()
    assert doc["extra_fields"]["provider"] == "gemini" and doc["error"]["message"] == "Quota exceeded (mock)"


def test_gemini_models_in_listing(gw: Gateway) -> None:
    ids = {m.id for m in gw.openai().models.list()}
    assert "gemini/gemini-2.5-flash" in ids


# --- google-genai SDK -> /genai -> any provider --------------------------------------------------

@pytest.mark.conformance("genai", "openai", "chat", "usage")
def test_genai_sdk_to_openai_provider(gw: Gateway, mock: Mock) -> None:
    mock.reset()
    client = _genai(gw)  # keep a reference: the SDK closes its HTTP client when the Client is collected
    r = client.models.generate_content(
        model="openai/gpt-4o-mini", contents="hello",
        config=types.GenerateContentConfig(system_instruction="be brief", max_output_tokens=200))
    sent = _last(mock, "/v1/chat/completions")
    assert sent["headers"]["authorization"] == "Bearer sk-openai-upstream"
    assert "x-goog-api-key" not in sent["headers"]
    assert sent["body"]["messages"] == [{"role": "system", "content": "be brief"},
                                        {"role": "user", "content": "hello"}]
    direct = openai.OpenAI(base_url=mock.url + "/v1", api_key="k", max_retries=0).chat.completions.create(
        model="gpt-4o-mini", messages=sent["body"]["messages"])
    assert r.text == direct.choices[0].message.content
    assert r.candidates[0].finish_reason == types.FinishReason.STOP
    assert r.usage_metadata.candidates_token_count == direct.usage.completion_tokens


@pytest.mark.conformance("genai", "openai", "stream", "tools", "streamed tools", "embeddings")
def test_genai_sdk_stream_tools_embeddings_count_to_openai_provider(gw: Gateway, mock: Mock) -> None:
    client = _genai(gw)
    chunks = list(client.models.generate_content_stream(model="openai/gpt-4o-mini", contents="hi"))
    assert len("".join(c.text or "" for c in chunks)) > 10
    assert chunks[-1].candidates[0].finish_reason == types.FinishReason.STOP
    assert _last(mock, "/v1/chat/completions")["body"]["stream"] is True

    cfg = types.GenerateContentConfig(tools=[types.Tool(function_declarations=[WEATHER])])
    r = client.models.generate_content(model="openai/gpt-4o-mini", contents="weather in Paris?", config=cfg)
    call = r.function_calls[0]
    assert call.name == "get_weather" and isinstance(call.args["city"], str)
    assert _last(mock, "/v1/chat/completions")["body"]["tools"][0]["function"]["name"] == "get_weather"
    s_calls = [fc for c in client.models.generate_content_stream(
        model="openai/gpt-4o-mini", contents="weather?", config=cfg) for fc in c.function_calls or ()]
    assert s_calls and s_calls[0].name == "get_weather" and s_calls[0].args == call.args
    follow = client.models.generate_content(model="openai/gpt-4o-mini", config=cfg, contents=[
        types.Content(role="user", parts=[types.Part(text="weather in Paris?")]), r.candidates[0].content,
        types.Content(role="user", parts=[types.Part.from_function_response(name="get_weather",
                                                                            response={"temp": 21})])])
    assert follow.text and not follow.function_calls
    msgs = _last(mock, "/v1/chat/completions")["body"]["messages"]
    assert msgs[-1]["role"] == "tool" and msgs[-1]["tool_call_id"] == msgs[-2]["tool_calls"][0]["id"]

    emb = client.models.embed_content(model="openai/text-embedding-3-small", contents=["a", "b"])
    assert len(emb.embeddings) == 2 and len(emb.embeddings[0].values) > 0
    assert _last(mock, "/v1/embeddings")["body"]["input"] == ["a", "b"]
    one = client.models.embed_content(model="openai/text-embedding-3-small", contents="hello")
    assert len(one.embeddings) == 1

    n = client.models.count_tokens(model="openai/gpt-4o-mini", contents="hello there, how many tokens is this?")
    assert 5 <= n.total_tokens <= 20


@pytest.mark.conformance("genai", "gemini", "chat")
def test_genai_sdk_to_gemini_provider_round_trip(gw: Gateway, mock: Mock) -> None:
    client = _genai(gw)
    r = client.models.generate_content(model="gemini/gemini-2.5-flash", contents="hello",
                                           config=types.GenerateContentConfig(system_instruction="sys"))
    sent = _last(mock, GEN)
    assert sent["headers"]["x-goog-api-key"] == "goog-upstream"
    assert sent["body"]["systemInstruction"]["parts"] == [{"text": "sys"}]
    assert r.text and r.candidates[0].content.role == "model"
    n = client.models.count_tokens(model="gemini/gemini-2.5-flash", contents="hello there, how many tokens?")
    counted = _last(mock, "/v1beta/models/gemini-2.5-flash:countTokens")
    assert counted["headers"]["x-goog-api-key"] == "goog-upstream"
    assert n.total_tokens == direct_count(mock, counted["body"])
    chunks = list(client.models.generate_content_stream(model="gemini/gemini-2.5-flash", contents="hi"))
    assert "".join(c.text or "" for c in chunks) == r.text


def test_genai_model_with_encoded_slash_and_no_alt_sse(gw: Gateway) -> None:
    body = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}
    status, _, raw = http("POST", gw.url + "/genai/v1beta/models/openai%2Fgpt-4o-mini:generateContent", body)
    assert status == 200 and json.loads(raw)["candidates"][0]["content"]["parts"][0]["text"]
    status, _, raw = http("POST", gw.url + "/genai/v1beta/models/openai/gpt-4o-mini:streamGenerateContent", body)
    items = json.loads(raw)
    assert status == 200 and isinstance(items, list) and items[-1]["candidates"][0]["finishReason"] == "STOP"


@pytest.mark.conformance("genai", "openai", "errors")
def test_genai_route_errors_use_google_error_shape(gw: Gateway) -> None:
    client = _genai(gw)
    with pytest.raises(errors.ClientError) as e:
        client.models.generate_content(model="nope/x", contents="x")
    assert e.value.code == 400 and e.value.status == "INVALID_ARGUMENT" and "not configured" in e.value.message
    with pytest.raises(errors.ServerError) as e2:
        client.models.generate_content(model="openai/mock-fail-503", contents="x")
    assert e2.value.code == 503 and e2.value.status == "UNAVAILABLE"
    status, _, raw = http("POST", gw.url + "/genai/v1beta/models/openai/gpt-4o-mini:bogus", {})
    assert status == 404 and json.loads(raw)["error"]["status"] == "NOT_FOUND"
    status, _, raw = http("POST", gw.url + "/genai/v1beta/models/openai/gpt-4o-mini:generateContent", {})
    assert status == 400 and "contents" in json.loads(raw)["error"]["message"]


def test_genai_models_list(gw: Gateway) -> None:
    client = _genai(gw)
    names = [m.name for m in client.models.list()]
    assert "models/openai/gpt-4o-mini" in names and "models/gemini/gemini-2.5-flash" in names


def test_genai_route_works_under_framework_prefix(gw: Gateway) -> None:
    client = _genai(gw, "/litellm/genai")
    r = client.models.generate_content(model="openai/gpt-4o-mini", contents="hi")
    assert r.text


def test_gemini_error_inside_a_stream_reaches_both_sdks(gw: Gateway, mock: Mock) -> None:
    mock.script({"stream_error_after_chunks": 2, "model": "gemini-midstream", "times": 2})
    text = ""
    with pytest.raises(openai.APIError) as e:
        for c in gw.openai().chat.completions.create(model="gemini/gemini-midstream", stream=True,
                                                     messages=[{"role": "user", "content": "hi"}]):
            text += (c.choices[0].delta.content or "") if c.choices else ""
    assert text and "overloaded" in str(e.value.message).lower()
    client = _genai(gw)
    got = []
    with pytest.raises(errors.APIError) as e2:
        for chunk in client.models.generate_content_stream(model="gemini/gemini-midstream", contents="hi"):
            got.append(chunk.text)
    assert got and e2.value.code == 503 and "overloaded" in (e2.value.message or "").lower()


def test_prefix_routes_are_labelled_by_prefix_in_metrics(gw: Gateway) -> None:
    client = _genai(gw)  # keep a reference: the SDK closes its HTTP client when collected
    client.models.generate_content(model="openai/gpt-4o-mini", contents="hi")
    _, _, body = http("GET", gw.url + "/metrics")
    lines = [ln for ln in body.decode().splitlines() if ln.startswith("http_requests_total{")]
    assert any('path="/genai/v1beta/models/*"' in ln for ln in lines), lines
    assert not any("gpt-4o-mini" in ln for ln in lines), "a model name leaked into the path label"


PNG_B64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="


@pytest.mark.conformance("openai", "gemini", "images in")
def test_openai_image_reaches_gemini_as_inline_data(gw: Gateway, mock: Mock) -> None:
    gw.openai().chat.completions.create(model="gemini/gemini-2.5-flash", messages=[{
        "role": "user", "content": [{"type": "text", "text": "what is this?"},
                                    {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG_B64}"}}]}])
    parts = _last(mock, GEN)["body"]["contents"][0]["parts"]
    assert {"text": "what is this?"} in parts
    assert {"inlineData": {"mimeType": "image/png", "data": PNG_B64}} in parts


@pytest.mark.conformance("genai", "openai", "images in")
def test_genai_base64url_image_reaches_openai_as_standard_base64_data_url(gw: Gateway, mock: Mock) -> None:
    import base64

    client = _genai(gw)
    client.models.generate_content(model="openai/gpt-4o-mini", contents=[
        types.Part.from_bytes(data=base64.b64decode(PNG_B64), mime_type="image/png"), "what is this?"])
    parts = _last(mock, "/v1/chat/completions")["body"]["messages"][0]["content"]
    assert {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG_B64}"}} in parts
