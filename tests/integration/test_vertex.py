"""Vertex AI: the OpenAI SDK through the gateway to a Vertex upstream (the mock), Gemini and Claude models,
with an OAuth2 token minted from a throwaway service-account key at the mock's fake token endpoint."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bifrost.config.loader import ConfigInvalid, parse_config
from bifrost.config.model import Key, ProviderConfig, VertexKeyConfig
from bifrost.providers.vertex.client import VertexProvider
from conftest import Gateway, Mock

PROJECT, REGION = "my-proj", "us-central1"
BASE = f"/v1/projects/{PROJECT}/locations/{REGION}/publishers"
GEN = f"{BASE}/google/models/gemini-2.5-flash:generateContent"
CLAUDE = "claude-sonnet-4-20250514"
TOOL = {"type": "function", "function": {"name": "get_weather", "description": "Weather for a city",
                                         "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                                                        "required": ["city"]}}}


def service_account(token_uri: str) -> str:
    pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    return json.dumps({"type": "service_account", "project_id": PROJECT, "private_key_id": "k1",
                       "private_key": pem, "client_email": "gw@my-proj.iam.gserviceaccount.com",
                       "client_id": "1", "token_uri": token_uri})


@pytest.fixture(scope="module")
def gw(tmp_module: Path, mock: Mock) -> Iterator[Gateway]:
    cfg = {"providers": {"vertex": {
        "keys": [{"name": "v", "value": "", "models": [], "weight": 1,
                  "vertex_key_config": {"project_id": "env.VERTEX_TEST_PROJECT", "region": REGION,
                                        "auth_credentials": "env.VERTEX_TEST_CREDENTIALS"}}],
        "network_config": {"base_url": mock.url, "extra_headers": {"x-team": "blue"}}}}}
    g = Gateway(tmp_module, cfg, env={"VERTEX_TEST_PROJECT": PROJECT,
                                      "VERTEX_TEST_CREDENTIALS": service_account(mock.url + "/token")})
    yield g
    g.stop()


def _last(mock: Mock, path: str) -> dict[str, Any]:
    reqs = mock.requests(path)
    assert reqs, f"the upstream received no request on {path}"
    return reqs[-1]


def _jwt_claims(assertion: str) -> dict[str, Any]:
    payload = assertion.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


# --- Gemini models ------------------------------------------------------------------------------------

@pytest.mark.conformance("openai", "vertex", "chat", "usage")
def test_openai_sdk_to_vertex_gemini(gw: Gateway, mock: Mock) -> None:
    client = gw.openai()
    r = client.chat.completions.create(
        model="vertex/gemini-2.5-flash", max_tokens=100,
        messages=[{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello"}])
    assert r.choices[0].message.content and r.choices[0].finish_reason == "stop"
    assert r.model == "gemini-2.5-flash" and r.usage is not None and r.usage.completion_tokens > 0
    sent = _last(mock, GEN)
    assert sent["headers"]["authorization"].startswith("Bearer mock-vertex-token-")
    assert sent["headers"]["x-team"] == "blue" and "x-goog-api-key" not in sent["headers"]
    assert sent["body"]["systemInstruction"]["parts"] == [{"text": "be brief"}]
    assert sent["body"]["generationConfig"]["maxOutputTokens"] == 100
    tokens = mock.requests("/token")
    assert len(tokens) == 1, tokens
    form = tokens[0]["body"]
    assert form["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    claims = _jwt_claims(form["assertion"])
    assert claims["iss"] == "gw@my-proj.iam.gserviceaccount.com"
    assert claims["scope"] == "https://www.googleapis.com/auth/cloud-platform"
    assert claims["aud"] == "https://oauth2.googleapis.com/token"  # google-auth's fixed audience


@pytest.mark.conformance("openai", "vertex", "stream", "tools", "streamed tools")
def test_openai_sdk_stream_and_tools_to_vertex_gemini(gw: Gateway, mock: Mock) -> None:
    client = gw.openai()
    chunks = list(client.chat.completions.create(
        model="vertex/gemini-2.5-flash", messages=[{"role": "user", "content": "hi"}], stream=True,
        stream_options={"include_usage": True}))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert len(text) > 10 and chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0
    sent = _last(mock, f"{BASE}/google/models/gemini-2.5-flash:streamGenerateContent")
    assert sent["query"] == "alt=sse" and sent["headers"]["authorization"].startswith("Bearer mock-vertex-token-")

    r = client.chat.completions.create(model="vertex/gemini-2.5-flash", tools=[TOOL],
                                       messages=[{"role": "user", "content": "weather in Paris?"}])
    call = r.choices[0].message.tool_calls[0]
    assert r.choices[0].finish_reason == "tool_calls" and call.function.name == "get_weather"
    decl = _last(mock, GEN)["body"]["tools"][0]["functionDeclarations"][0]
    assert decl["name"] == "get_weather"
    follow = client.chat.completions.create(model="vertex/gemini-2.5-flash", tools=[TOOL], messages=[
        {"role": "user", "content": "weather in Paris?"}, r.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": '{"temp": 21}'}])
    assert follow.choices[0].message.content and not follow.choices[0].message.tool_calls
    with client.chat.completions.stream(model="vertex/gemini-2.5-flash", tools=[TOOL],
                                        messages=[{"role": "user", "content": "weather?"}]) as s:
        final = s.get_final_completion()
    assert final.choices[0].message.tool_calls[0].function.name == "get_weather"


@pytest.mark.conformance("openai", "vertex", "embeddings")
def test_openai_sdk_embeddings_to_vertex(gw: Gateway, mock: Mock) -> None:
    client = gw.openai()
    many = client.embeddings.create(model="vertex/text-embedding-004", input=["a", "b"], dimensions=8)
    assert [len(d.embedding) for d in many.data] == [8, 8] and [d.index for d in many.data] == [0, 1]
    assert many.usage.prompt_tokens == 2
    sent = _last(mock, f"{BASE}/google/models/text-embedding-004:predict")["body"]
    assert sent == {"instances": [{"content": "a"}, {"content": "b"}],
                    "parameters": {"autoTruncate": True, "outputDimensionality": 8}}
    one = client.embeddings.create(model="vertex/text-embedding-004", input="hello")
    assert len(one.data) == 1 and len(one.data[0].embedding) > 8


# --- Claude models (Anthropic on Vertex) ------------------------------------------------------------

@pytest.mark.conformance("openai", "vertex", "chat", "stream")
def test_openai_sdk_to_vertex_claude(gw: Gateway, mock: Mock) -> None:
    client = gw.openai()
    r = client.chat.completions.create(model=f"vertex/{CLAUDE}", max_tokens=200,
                                       messages=[{"role": "system", "content": "sys"},
                                                 {"role": "user", "content": "hello"}])
    assert r.choices[0].message.content and r.usage is not None and r.usage.completion_tokens > 0
    sent = _last(mock, f"{BASE}/anthropic/models/{CLAUDE}:rawPredict")
    body = sent["body"]
    assert body["anthropic_version"] == "vertex-2023-10-16" and "model" not in body and "stream" not in body
    assert body["system"] == "sys" and body["max_tokens"] == 200
    assert sent["headers"]["authorization"].startswith("Bearer mock-vertex-token-")
    assert "x-api-key" not in sent["headers"] and "anthropic-version" not in sent["headers"]

    chunks = list(client.chat.completions.create(model=f"vertex/{CLAUDE}", stream=True,
                                                 messages=[{"role": "user", "content": "hi"}]))
    assert len("".join(c.choices[0].delta.content or "" for c in chunks if c.choices)) > 10
    body = _last(mock, f"{BASE}/anthropic/models/{CLAUDE}:streamRawPredict")["body"]
    assert body["stream"] is True and body["anthropic_version"] == "vertex-2023-10-16" and "model" not in body
    assert len(mock.requests("/token")) == 1  # one token for everything so far


@pytest.mark.conformance("openai", "vertex", "errors")
def test_vertex_upstream_errors_keep_status_and_message(gw: Gateway, mock: Mock) -> None:
    client = gw.openai()
    mock.script({"status": 429, "model": "gemini-quota", "error_message": "Quota exceeded (mock)"})
    with pytest.raises(openai.APIStatusError) as e:
        client.chat.completions.create(model="vertex/gemini-quota", messages=[{"role": "user", "content": "x"}])
    assert e.value.status_code == 429
    doc = e.value.response.json()
    assert doc["extra_fields"]["provider"] == "vertex" and doc["error"]["message"] == "Quota exceeded (mock)"
    mock.script({"status": 529, "model": "claude-busy"})
    with pytest.raises(openai.APIStatusError) as e2:
        client.chat.completions.create(model="vertex/claude-busy", messages=[{"role": "user", "content": "x"}])
    assert e2.value.status_code == 529 and e2.value.response.json()["error"]["message"] == "Overloaded"


def test_value_is_an_api_key_and_wins_over_auth_credentials_where_vertex_takes_one(tmp_path: Path, mock: Mock) -> None:
    """As Bifrost: a key value goes as ?key= for Gemini even when auth_credentials are set; Claude uses OAuth."""
    cfg = {"providers": {"vertex": {
        "keys": [{"name": "v", "value": "env.VERTEX_TEST_API_KEY", "models": [], "weight": 1,
                  "vertex_key_config": {"project_id": "p2", "region": "europe-west4",
                                        "auth_credentials": service_account(mock.url + "/token")}}],
        "network_config": {"base_url": mock.url}}}}
    g = Gateway(tmp_path, cfg, env={"VERTEX_TEST_API_KEY": "AQ.static"})
    try:
        r = g.openai().chat.completions.create(model="vertex/gemini-2.0-flash",
                                               messages=[{"role": "user", "content": "hi"}])
        c = g.openai().chat.completions.create(model=f"vertex/{CLAUDE}", max_tokens=20,
                                               messages=[{"role": "user", "content": "hi"}])
    finally:
        g.stop()
    assert r.choices[0].message.content and c.choices[0].message.content
    base = "/v1/projects/p2/locations/europe-west4/publishers"
    sent = _last(mock, f"{base}/google/models/gemini-2.0-flash:generateContent")
    assert sent["query"] == "key=AQ.static" and "authorization" not in sent["headers"]
    sent = _last(mock, f"{base}/anthropic/models/{CLAUDE}:rawPredict")
    assert sent["headers"]["authorization"].startswith("Bearer mock-vertex-token-") and "query" not in sent


def test_token_endpoint_failure_is_an_auth_error(tmp_path: Path, mock: Mock) -> None:
    cfg = {"providers": {"vertex": {
        "keys": [{"name": "v", "value": "", "models": [], "weight": 1,
                  "vertex_key_config": {"project_id": "p", "region": REGION,
                                        "auth_credentials": service_account(mock.url + "/no-such-token")}}],
        "network_config": {"base_url": mock.url}}}}
    g = Gateway(tmp_path, cfg)
    try:
        with pytest.raises(openai.APIStatusError) as e:
            g.openai().chat.completions.create(model="vertex/gemini-2.5-flash",
                                               messages=[{"role": "user", "content": "x"}])
    finally:
        g.stop()
    assert e.value.status_code == 401 and "access token" in e.value.response.json()["error"]["message"]


# --- URLs and config ----------------------------------------------------------------------------------

def _provider(region: str, base_url: str | None = None) -> VertexProvider:
    from bifrost.config.model import NetworkConfig

    return VertexProvider(ProviderConfig(name="vertex", network=NetworkConfig(base_url=base_url)))


def test_vertex_urls() -> None:
    def key(region: str) -> Key:
        return Key(name="k", value="t", vertex=VertexKeyConfig(project_id="proj", region=region))

    p = _provider("x")
    assert p.url(key("us-east5"), "gemini-2.5-pro", "generateContent") == (
        "https://us-east5-aiplatform.googleapis.com/v1/projects/proj/locations/us-east5/publishers/google/models/"
        "gemini-2.5-pro:generateContent")
    assert p.url(key("global"), CLAUDE, "streamRawPredict") == (
        "https://aiplatform.googleapis.com/v1/projects/proj/locations/global/publishers/anthropic/models/"
        f"{CLAUDE}:streamRawPredict")
    assert _provider("x", "http://h:1/v1").url(key("global"), "text-embedding-004", "predict") == (
        "http://h:1/v1/projects/proj/locations/global/publishers/google/models/text-embedding-004:predict")


def test_vertex_key_config_problems_have_json_paths() -> None:
    raw = {"providers": {"vertex": {"keys": [
        {"name": "a", "value": "", "vertex_key_config": {"region": "us-central1"}},
        {"name": "b", "value": "", "vertex_key_config": {"project_id": "p", "region": "",
                                                         "auth_credentials": "{not json"}},
        {"name": "c", "value": "", "vertex_key_config": {"project_id": "p", "region": "r",
                                                         "auth_credentials": '{"type": "service_account"}'}},
        {"name": "d", "value": "t"},
        {"name": "e", "value": "", "vertex_key_config": {"project_id": 5, "region": "r", "zone": "x"}},
    ]}}}
    with pytest.raises(ConfigInvalid) as e:
        parse_config(raw, {})
    problems = e.value.problems
    p = "$.providers.vertex.keys"
    for path in (f"{p}[0].vertex_key_config.project_id:", f"{p}[1].vertex_key_config.region:",
                 f"{p}[1].vertex_key_config.auth_credentials:", f"{p}[2].vertex_key_config.auth_credentials:",
                 f"{p}[3].vertex_key_config:", f"{p}[4].vertex_key_config.project_id:"):
        assert sum(1 for x in problems if x.startswith(path)) == 1, (path, problems)
    assert len(problems) == 6, problems
    assert "lacks client_email, private_key, token_uri" in next(x for x in problems if x.startswith(f"{p}[2]"))
    assert not any("{not json" in x for x in problems)  # the credentials are never echoed
    assert any(w.startswith(f"{p}[4].vertex_key_config.zone: unknown key") for w in e.value.warnings)


def test_vertex_key_config_env() -> None:
    raw = {"providers": {"vertex": {"keys": [
        {"name": "a", "value": "", "vertex_key_config": {"project_id": "env.VP", "region": "global",
                                                         "auth_credentials": "env.VERTEX_CREDS"}},
        {"name": "b", "value": "", "vertex_key_config": {"project_id": "env.VP", "region": "us-central1",
                                                         "project_number": "123"}},
    ]}}}
    res = parse_config(raw, {"VP": "proj"})
    a, b = res.config.providers["vertex"].keys
    assert a.unresolved == "env.VERTEX_CREDS: not set (providers.vertex.keys[0].vertex_key_config.auth_credentials)"
    assert b.unresolved is None and b.vertex == VertexKeyConfig(project_id="proj", region="us-central1",
                                                                project_number="123")
    assert b.has_credential
