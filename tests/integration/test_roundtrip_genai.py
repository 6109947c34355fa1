"""google-genai SDK -> /genai/v1beta/models/... -> Gemini (AI Studio) and Vertex AI providers: the
native round trip is exact.

Each test runs once per provider. It compares what the SDK got through the gateway with what the same
SDK gets straight from the loopback upstream (the mock speaks Gemini's wire format, on AI Studio's and
on Vertex's paths), and checks what the upstream received.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google import genai
from google.genai import errors, types

from conftest import Gateway, Mock, http

PROJECT, REGION = "rt-proj", "europe-west4"
SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
WEATHER = types.FunctionDeclaration(name="get_weather", description="Weather for a city",
                                    parameters_json_schema=SCHEMA)
TOOLS_CFG = types.GenerateContentConfig(tools=[types.Tool(function_declarations=[WEATHER])])
GEMINI = pytest.param("gemini", marks=pytest.mark.conformance(
    "genai", "gemini", "chat", "stream", "tools", "streamed tools", "embeddings", "usage", "errors"), id="gemini")
VERTEX = pytest.param("vertex", marks=pytest.mark.conformance(
    "genai", "vertex", "chat", "stream", "tools", "streamed tools", "usage", "errors"), id="vertex")


def _service_account(token_uri: str) -> str:
    pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    return json.dumps({"type": "service_account", "project_id": PROJECT, "private_key_id": "k1",
                       "private_key": pem, "client_email": "gw@rt-proj.iam.gserviceaccount.com",
                       "client_id": "1", "token_uri": token_uri})


@pytest.fixture(scope="module")
def gw(tmp_module: Path, mock: Mock) -> Iterator[Gateway]:
    cfg = {"providers": {
        "gemini": {"keys": [{"name": "g", "value": "goog-upstream", "models": [], "weight": 1}],
                   "network_config": {"base_url": mock.url}},
        "vertex": {"keys": [{"name": "v", "value": "", "models": [], "weight": 1,
                             "vertex_key_config": {"project_id": PROJECT, "region": REGION,
                                                   "auth_credentials": "env.RT_VERTEX_CREDENTIALS"}}],
                   "network_config": {"base_url": mock.url}},
    }}
    g = Gateway(tmp_module, cfg, env={"RT_VERTEX_CREDENTIALS": _service_account(mock.url + "/token")})
    yield g
    g.stop()


def _client(gw: Gateway) -> genai.Client:
    return genai.Client(api_key="goog-client-to-gateway", http_options=types.HttpOptions(
        base_url=gw.url + "/genai", api_version="v1beta", retry_options=types.HttpRetryOptions(attempts=1)))


def _direct(mock: Mock) -> genai.Client:
    return genai.Client(api_key="k", http_options=types.HttpOptions(
        base_url=mock.url, api_version="v1beta", retry_options=types.HttpRetryOptions(attempts=1)))


def _upstream_path(provider: str, model: str, action: str) -> str:
    if provider == "gemini":
        return f"/v1beta/models/{model}:{action}"
    return f"/v1/projects/{PROJECT}/locations/{REGION}/publishers/google/models/{model}:{action}"


def _last(mock: Mock, provider: str, model: str, action: str) -> dict[str, Any]:
    path = _upstream_path(provider, model, action)
    reqs = mock.requests(path)
    assert reqs, f"the upstream received no request on {path}"
    return reqs[-1]


def _check_auth(sent: dict[str, Any], provider: str) -> None:
    h = sent["headers"]
    if provider == "gemini":
        assert h["x-goog-api-key"] == "goog-upstream" and "authorization" not in h
    else:
        assert h["authorization"].startswith("Bearer mock-vertex-token-") and "x-goog-api-key" not in h


@pytest.mark.parametrize("provider", [GEMINI, VERTEX])
def test_genai_chat_round_trip_keeps_request_and_answer(gw: Gateway, mock: Mock, provider: str) -> None:
    cfg = types.GenerateContentConfig(system_instruction="be brief", max_output_tokens=300, temperature=0.2,
                                      top_p=0.9, stop_sequences=["zzz"])
    client, direct_client = _client(gw), _direct(mock)
    r = client.models.generate_content(model=f"{provider}/gemini-2.5-flash", contents="hello", config=cfg)
    sent = _last(mock, provider, "gemini-2.5-flash", "generateContent")
    _check_auth(sent, provider)
    assert sent["body"]["contents"] == [{"role": "user", "parts": [{"text": "hello"}]}]
    assert sent["body"]["generationConfig"] == {"maxOutputTokens": 300, "temperature": 0.2, "topP": 0.9,
                                                "stopSequences": ["zzz"]}
    d = direct_client.models.generate_content(model="gemini-2.5-flash", contents="hello", config=cfg)
    assert r.text == d.text and r.candidates[0].finish_reason == d.candidates[0].finish_reason
    assert r.usage_metadata.candidates_token_count == d.usage_metadata.candidates_token_count


@pytest.mark.parametrize("provider", [GEMINI, VERTEX])
def test_genai_stream_round_trip_keeps_text_finish_and_usage(gw: Gateway, mock: Mock, provider: str) -> None:
    cfg = types.GenerateContentConfig(system_instruction="be brief", max_output_tokens=300)
    client, direct_client = _client(gw), _direct(mock)  # keep references: the SDK closes its client on collection
    chunks = list(client.models.generate_content_stream(
        model=f"{provider}/gemini-2.5-flash", contents="hi", config=cfg))
    sent = _last(mock, provider, "gemini-2.5-flash", "streamGenerateContent")
    _check_auth(sent, provider)
    assert sent["query"] == "alt=sse"
    assert sent["body"]["systemInstruction"]["parts"] == [{"text": "be brief"}]
    assert sent["body"]["generationConfig"]["maxOutputTokens"] == 300
    direct = list(direct_client.models.generate_content_stream(model="gemini-2.5-flash", contents="hi", config=cfg))
    assert len(chunks) > 2
    assert "".join(c.text or "" for c in chunks) == "".join(c.text or "" for c in direct)
    assert chunks[-1].candidates[0].finish_reason == types.FinishReason.STOP
    got, want = chunks[-1].usage_metadata, direct[-1].usage_metadata
    assert got.candidates_token_count == want.candidates_token_count
    assert got.prompt_token_count == want.prompt_token_count
    assert got.total_token_count == want.total_token_count


@pytest.mark.parametrize("provider", [GEMINI, VERTEX])
def test_genai_function_call_and_response_round_trip(gw: Gateway, mock: Mock, provider: str) -> None:
    client, direct_client = _client(gw), _direct(mock)
    model = f"{provider}/gemini-2.5-flash"
    r = client.models.generate_content(model=model, contents="weather in Paris?", config=TOOLS_CFG)
    sent = _last(mock, provider, "gemini-2.5-flash", "generateContent")["body"]
    decl = sent["tools"][0]["functionDeclarations"][0]
    assert decl["name"] == "get_weather" and decl["description"] == "Weather for a city"
    assert (decl.get("parameters") or decl.get("parametersJsonSchema"))["required"] == ["city"]
    direct = direct_client.models.generate_content(model="gemini-2.5-flash", contents="weather in Paris?",
                                                   config=TOOLS_CFG)
    assert r.function_calls and r.function_calls[0].name == "get_weather"
    assert r.function_calls[0].args == direct.function_calls[0].args
    assert r.candidates[0].content.role == "model"

    follow = client.models.generate_content(model=model, config=TOOLS_CFG, contents=[
        types.Content(role="user", parts=[types.Part(text="weather in Paris?")]), r.candidates[0].content,
        types.Content(role="user", parts=[types.Part.from_function_response(name="get_weather",
                                                                            response={"temp": 21})])])
    turns = _last(mock, provider, "gemini-2.5-flash", "generateContent")["body"]["contents"]
    assert [t["role"] for t in turns] == ["user", "model", "user"]
    sent_call = turns[1]["parts"][0]["functionCall"]
    assert (sent_call["name"], sent_call["args"]) == ("get_weather", r.function_calls[0].args)
    assert sent_call.get("id") == r.function_calls[0].id  # the optional id goes back as the client got it
    sent_result = turns[2]["parts"][0]["functionResponse"]
    assert (sent_result["name"], sent_result["response"]) == ("get_weather", {"temp": 21})
    assert sent_result.get("id") == sent_call.get("id")  # paired with its call
    assert follow.text and not follow.function_calls


@pytest.mark.parametrize("provider", [GEMINI, VERTEX])
def test_genai_streamed_function_call_round_trip(gw: Gateway, mock: Mock, provider: str) -> None:
    client, direct_client = _client(gw), _direct(mock)
    calls = [fc for c in client.models.generate_content_stream(
        model=f"{provider}/gemini-2.5-flash", contents="weather?", config=TOOLS_CFG) for fc in c.function_calls or ()]
    sent = _last(mock, provider, "gemini-2.5-flash", "streamGenerateContent")["body"]
    assert sent["tools"][0]["functionDeclarations"][0]["name"] == "get_weather"
    direct = [fc for c in direct_client.models.generate_content_stream(
        model="gemini-2.5-flash", contents="weather?", config=TOOLS_CFG) for fc in c.function_calls or ()]
    assert [(c.name, c.args) for c in calls] == [(c.name, c.args) for c in direct]


def _usage_answer(model: str) -> dict[str, Any]:
    """A generateContent answer with cached and thinking tokens, shaped as in Google's API reference."""
    return {"candidates": [{"content": {"role": "model", "parts": [{"text": "Cheyenne."}]}, "finishReason": "STOP",
                            "index": 0}],
            "usageMetadata": {"promptTokenCount": 1200, "cachedContentTokenCount": 1024, "candidatesTokenCount": 3,
                              "thoughtsTokenCount": 57, "totalTokenCount": 1260},
            "modelVersion": model, "responseId": "rsp-usage-1"}


@pytest.mark.parametrize("provider", [GEMINI, VERTEX])
def test_genai_cached_and_thinking_token_counts_reach_the_client(gw: Gateway, mock: Mock, provider: str) -> None:
    model = f"gemini-usage-{provider}"
    mock.script({"status": 200, "model": model, "body": _usage_answer(model)})
    client = _client(gw)
    r = client.models.generate_content(model=f"{provider}/{model}", contents="capital of Wyoming?")
    _check_auth(_last(mock, provider, model, "generateContent"), provider)
    u = r.usage_metadata
    assert r.text == "Cheyenne."
    assert (u.prompt_token_count, u.candidates_token_count, u.total_token_count) == (1200, 3, 1260)
    assert u.cached_content_token_count == 1024
    assert u.thoughts_token_count == 57


@pytest.mark.parametrize("provider", [GEMINI, VERTEX])
def test_genai_upstream_errors_keep_status_and_message(gw: Gateway, mock: Mock, provider: str) -> None:
    client = _client(gw)
    mock.script({"status": 429, "model": "gemini-quota", "error_message": "Quota exceeded for metric (mock)"})
    with pytest.raises(errors.ClientError) as e:
        client.models.generate_content(model=f"{provider}/gemini-quota", contents="x")
    assert e.value.code == 429 and e.value.status == "RESOURCE_EXHAUSTED"
    assert "Quota exceeded for metric (mock)" in e.value.message
    _check_auth(_last(mock, provider, "gemini-quota", "generateContent"), provider)
    mock.script({"status": 503, "model": "gemini-down", "error_message": "The model is overloaded (mock)"})
    with pytest.raises(errors.ServerError) as e2:
        client.models.generate_content(model=f"{provider}/gemini-down", contents="x")
    assert e2.value.code == 503 and e2.value.status == "UNAVAILABLE"
    assert "The model is overloaded (mock)" in e2.value.message


@pytest.mark.conformance("genai", "gemini", "embeddings")
def test_genai_embed_content_round_trip_single_and_batch(gw: Gateway, mock: Mock) -> None:
    client, direct = _client(gw), _direct(mock)
    one = client.models.embed_content(model="gemini/text-embedding-004", contents="hello",
                                      config=types.EmbedContentConfig(task_type="RETRIEVAL_QUERY"))
    sent = mock.requests("/v1beta/models/text-embedding-004:embedContent")
    sent += mock.requests("/v1beta/models/text-embedding-004:batchEmbedContents")
    assert sent, "the upstream received no embedding request"
    want = direct.models.embed_content(model="text-embedding-004", contents="hello")
    assert one.embeddings[0].values == pytest.approx(want.embeddings[0].values, rel=1e-6)
    many = client.models.embed_content(model="gemini/text-embedding-004", contents=["a", "b"],
                                       config=types.EmbedContentConfig(output_dimensionality=8))
    batch = mock.requests("/v1beta/models/text-embedding-004:batchEmbedContents")[-1]["body"]
    assert [r["content"]["parts"] for r in batch["requests"]] == [[{"text": "a"}], [{"text": "b"}]]
    assert all(r["outputDimensionality"] == 8 for r in batch["requests"])
    want_many = direct.models.embed_content(model="text-embedding-004", contents=["a", "b"],
                                            config=types.EmbedContentConfig(output_dimensionality=8))
    assert [e.values for e in many.embeddings] == [pytest.approx(e.values, rel=1e-6) for e in want_many.embeddings]


@pytest.mark.conformance("genai", "vertex", "embeddings")
def test_genai_embed_content_to_vertex_uses_predict(gw: Gateway, mock: Mock) -> None:
    client = _client(gw)
    many = client.models.embed_content(model="vertex/text-embedding-004", contents=["a", "b"],
                                       config=types.EmbedContentConfig(output_dimensionality=8))
    sent = _last(mock, "vertex", "text-embedding-004", "predict")
    _check_auth(sent, "vertex")
    assert sent["body"]["instances"] == [{"content": "a"}, {"content": "b"}]
    assert sent["body"]["parameters"]["outputDimensionality"] == 8
    status, _, raw = http("POST", mock.url + sent["path"], sent["body"], {"authorization": "Bearer k"})
    assert status == 200, raw
    want = [p["embeddings"]["values"] for p in json.loads(raw)["predictions"]]
    assert [e.values for e in many.embeddings] == [pytest.approx(w, rel=1e-6) for w in want]


PNG_B64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="


@pytest.mark.conformance("genai", "gemini", "images in")
def test_genai_inline_image_reaches_gemini_unchanged(gw: Gateway, mock: Mock) -> None:
    import base64

    client = _client(gw)
    r = client.models.generate_content(model="gemini/gemini-2.5-flash", contents=[
        types.Part.from_bytes(data=base64.b64decode(PNG_B64), mime_type="image/png"), "what is this?"])
    parts = _last(mock, "gemini", "gemini-2.5-flash", "generateContent")["body"]["contents"][0]["parts"]
    assert {"inlineData": {"mimeType": "image/png", "data": PNG_B64}} in parts
    assert {"text": "what is this?"} in parts
    assert r.text
