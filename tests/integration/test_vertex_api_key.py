"""Vertex AI API keys (express mode), as Bifrost's core/providers/vertex/vertex.go sends them: the key's
`value` goes in the `key` query parameter, with no Authorization header, for Gemini models (chat, stream,
embeddings), fine-tuned endpoints and streamed partner models; Claude, Mistral and unstreamed partner calls
use OAuth2 (here Application Default Credentials pointing at the mock's token endpoint). The OpenAI SDK
through the gateway to the mock's Vertex wire, which requires the key (--require-key) and records the query."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import openai
import pytest
from test_vertex import service_account

from conftest import Gateway, Mock, free_port, http

API_KEY = "AQ.Ab8 key/+="  # a space and reserved characters: escaping is part of the wire
ESCAPED = "AQ.Ab8+key%2F%2B%3D"  # as Go's url.QueryEscape writes it
PROJECT, NUMBER, REGION = "xp-proj", "998877665544", "us-central1"
V1 = f"/v1/projects/{PROJECT}/locations/{REGION}/publishers"
GEN = f"{V1}/google/models/gemini-2.5-flash"
TUNED = f"/v1beta1/projects/{NUMBER}/locations/{REGION}/endpoints/4567890123456789012"
OPENAPI_PATH = f"/v1beta1/projects/{PROJECT}/locations/{REGION}/endpoints/openapi/chat/completions"
CLAUDE = "claude-sonnet-4@20250514"
HI = [{"role": "user", "content": "hi"}]


@pytest.fixture(scope="module")
def mock(tmp_module: Path) -> Iterator[Mock]:
    m = Mock(tmp_module, "--require-key", API_KEY)
    yield m
    m.stop()


def _vertex(base_url: str, value: str = "env.VERTEX_API_KEY") -> dict[str, Any]:
    return {"providers": {"vertex": {
        "keys": [{"name": "xp", "value": value, "models": [], "weight": 1,
                  "vertex_key_config": {"project_id": PROJECT, "project_number": NUMBER, "region": REGION}}],
        "network_config": {"base_url": base_url}}}}


@pytest.fixture(scope="module")
def gw(tmp_module: Path, mock: Mock) -> Iterator[Gateway]:
    adc = tmp_module / "adc.json"  # Application Default Credentials, for the calls that take no API key
    adc.write_text(service_account(mock.url + "/token"))
    g = Gateway(tmp_module, _vertex(mock.url), env={"VERTEX_API_KEY": API_KEY,
                                                    "GOOGLE_APPLICATION_CREDENTIALS": str(adc)})
    yield g
    g.stop()


def _last(mock: Mock, path: str) -> dict[str, Any]:
    reqs = mock.requests(path)
    assert reqs, f"Vertex received nothing on {path}"
    return reqs[-1]


def _assert_api_key(sent: dict[str, Any], query: str) -> None:
    assert sent["query"] == query, sent["query"]
    assert parse_qs(sent["query"])["key"] == [API_KEY]
    assert "authorization" not in sent["headers"] and "x-goog-api-key" not in sent["headers"]


def _assert_oauth(sent: dict[str, Any]) -> None:
    assert sent["headers"]["authorization"].startswith("Bearer mock-vertex-token-")
    assert "key=" not in (sent.get("query") or "")


def test_api_key_is_the_key_query_parameter_for_gemini_chat_and_stream(gw: Gateway, mock: Mock) -> None:
    client = gw.openai()
    r = client.chat.completions.create(model="vertex/gemini-2.5-flash", messages=HI)
    assert r.choices[0].message.content
    _assert_api_key(_last(mock, f"{GEN}:generateContent"), f"key={ESCAPED}")
    chunks = list(client.chat.completions.create(model="vertex/gemini-2.5-flash", messages=HI, stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    _assert_api_key(_last(mock, f"{GEN}:streamGenerateContent"), f"alt=sse&key={ESCAPED}")


def test_api_key_is_the_key_query_parameter_for_embeddings(gw: Gateway, mock: Mock) -> None:
    e = gw.openai().embeddings.create(model="vertex/text-embedding-005", input=["a", "b"], dimensions=4)
    assert [len(d.embedding) for d in e.data] == [4, 4]
    _assert_api_key(_last(mock, f"{V1}/google/models/text-embedding-005:predict"), f"key={ESCAPED}")


def test_api_key_is_the_key_query_parameter_for_a_fine_tuned_endpoint(gw: Gateway, mock: Mock) -> None:
    client = gw.openai()
    r = client.chat.completions.create(model="vertex/4567890123456789012", messages=HI)
    assert r.choices[0].message.content
    _assert_api_key(_last(mock, f"{TUNED}:generateContent"), f"key={ESCAPED}")
    chunks = list(client.chat.completions.create(model="vertex/4567890123456789012", messages=HI, stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    _assert_api_key(_last(mock, f"{TUNED}:streamGenerateContent"), f"alt=sse&key={ESCAPED}")


def test_claude_and_mistral_ignore_the_api_key_and_use_oauth(gw: Gateway, mock: Mock) -> None:
    client = gw.openai()
    r = client.chat.completions.create(model=f"vertex/{CLAUDE}", max_tokens=20, messages=HI)
    assert r.choices[0].message.content
    _assert_oauth(_last(mock, f"{V1}/anthropic/models/{CLAUDE}:rawPredict"))
    chunks = list(client.chat.completions.create(model=f"vertex/{CLAUDE}", messages=HI, stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    _assert_oauth(_last(mock, f"{V1}/anthropic/models/{CLAUDE}:streamRawPredict"))
    client.chat.completions.create(model="vertex/mistral-small-2503", messages=HI)
    _assert_oauth(_last(mock, f"{V1}/mistralai/models/mistral-small-2503:rawPredict"))
    list(client.chat.completions.create(model="vertex/mistral-small-2503", messages=HI, stream=True))
    _assert_oauth(_last(mock, f"{V1}/mistralai/models/mistral-small-2503:streamRawPredict"))
    token = mock.requests("/token")[-1]["body"]
    assert token["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"  # minted from ADC's JSON


def test_partner_models_send_the_api_key_only_when_streaming_as_bifrost_does(gw: Gateway, mock: Mock) -> None:
    client = gw.openai()
    client.chat.completions.create(model="vertex/meta/llama-3.3-70b-instruct-maas", messages=HI)
    _assert_oauth(_last(mock, OPENAPI_PATH))
    list(client.chat.completions.create(model="vertex/meta/llama-3.3-70b-instruct-maas", messages=HI, stream=True))
    _assert_api_key(_last(mock, OPENAPI_PATH), f"key={ESCAPED}")


def test_wrong_api_key_is_vertexs_400_and_the_key_is_never_echoed(tmp_path: Path, mock: Mock) -> None:
    g = Gateway(tmp_path, _vertex(mock.url, "AQ.wrong-secret-1"))
    try:
        with pytest.raises(openai.BadRequestError) as e:
            g.openai().chat.completions.create(model="vertex/gemini-2.5-flash", messages=HI)
        output = g.proc.output()
    finally:
        g.stop()
    assert e.value.response.json()["error"]["message"] == "API key not valid. Please pass a valid API key."
    assert "AQ.wrong-secret-1" not in e.value.response.text and "AQ.wrong-secret-1" not in output


def test_unreachable_vertex_error_names_the_host_but_not_the_key(tmp_path: Path) -> None:
    g = Gateway(tmp_path, _vertex(f"http://127.0.0.1:{free_port()}", "AQ.leak-check-2"))
    try:
        with pytest.raises(openai.APIStatusError) as e:
            g.openai().chat.completions.create(model="vertex/gemini-2.5-flash", messages=HI)
        output = g.proc.output()
    finally:
        g.stop()
    message = e.value.response.json()["error"]["message"]
    assert "could not reach vertex at 127.0.0.1:" in message and "base_url" in message
    assert "leak-check" not in e.value.response.text and "leak-check" not in output


def test_claude_with_only_an_api_key_and_no_adc_says_how_to_fix_it(tmp_path: Path, mock: Mock) -> None:
    g = Gateway(tmp_path, _vertex(mock.url, "AQ.leak-check-3"),
                env={"GOOGLE_APPLICATION_CREDENTIALS": str(tmp_path / "no-such-adc.json")})
    try:
        with pytest.raises(openai.APIStatusError) as e:
            g.openai().chat.completions.create(model=f"vertex/{CLAUDE}", max_tokens=20, messages=HI)
    finally:
        g.stop()
    assert e.value.status_code == 500 and e.value.response.json()["error"]["type"] == "configuration_error"
    message = e.value.response.json()["error"]["message"]
    assert CLAUDE in message and "needs an OAuth2 token" in message
    assert "vertex_key_config.auth_credentials" in message and "Application Default Credentials" in message
    assert "leak-check" not in e.value.response.text
    assert all("leak-check" not in (r.get("query") or "") for r in mock.requests())


def test_mock_vertex_refuses_missing_credentials_and_api_keys_on_claude(mock: Mock) -> None:
    body = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}
    status, _, raw = http("POST", mock.url + f"{GEN}:generateContent", body)
    assert status == 401 and "missing required authentication credential" in json.loads(raw)["error"]["message"]
    status, _, raw = http("POST", mock.url + f"{GEN}:generateContent?key=nope", body)
    assert status == 400 and json.loads(raw)["error"]["message"].startswith("API key not valid")
    status, _, raw = http("POST", mock.url + f"{GEN}:generateContent?key={ESCAPED}", body)
    assert status == 200 and json.loads(raw)["candidates"]
    claude = {"anthropic_version": "vertex-2023-10-16", "max_tokens": 5, "messages": HI}
    status, _, raw = http("POST", mock.url + f"{V1}/anthropic/models/{CLAUDE}:rawPredict?key={ESCAPED}", claude)
    assert status == 401 and "API keys are not supported" in json.loads(raw)["error"]["message"]
