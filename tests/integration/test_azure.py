"""Azure OpenAI both ways: the OpenAI SDK through the gateway to an Azure upstream (api-key and Entra ID),
and the AzureOpenAI SDK through `/openai/deployments/{deployment}/...` to any provider."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from bifrost.config.loader import ConfigInvalid, parse_config
from conftest import PY, Gateway, Mock, free_port, http, openai_provider

API_VERSION = "2024-10-21"


@pytest.fixture(scope="module")
def gw(tmp_module: Path, mock: Mock) -> Iterator[Gateway]:
    cfg = {"providers": {
        "azure": {"keys": [{"name": "az", "value": "az-upstream-key", "models": [], "weight": 1,
                            "azure_key_config": {"endpoint": "env.AZURE_TEST_ENDPOINT", "api_version": API_VERSION,
                                                 "deployments": {"gpt-4o": "my-gpt4o-deployment"}}}]},
        "openai": openai_provider(mock),
    }}
    g = Gateway(tmp_module, cfg, env={"AZURE_TEST_ENDPOINT": mock.url})
    yield g
    g.stop()


def _last(mock: Mock, path: str) -> dict[str, Any]:
    reqs = mock.requests(path)
    assert reqs, f"the upstream received no request on {path}"
    return reqs[-1]


# --- OpenAI SDK -> gateway -> Azure upstream --------------------------------------------------------

@pytest.mark.conformance("openai", "azure", "chat", "usage")
def test_openai_sdk_to_azure_provider(gw: Gateway, mock: Mock) -> None:
    mock.reset()
    r = gw.openai().chat.completions.create(model="azure/gpt-4o-mini",
                                            messages=[{"role": "user", "content": "hello"}])
    sent = _last(mock, "/openai/deployments/gpt-4o-mini/chat/completions")
    assert sent["query"] == f"api-version={API_VERSION}"
    assert sent["headers"]["api-key"] == "az-upstream-key"
    assert "authorization" not in sent["headers"]
    assert sent["body"]["model"] == "gpt-4o-mini"
    assert sent["body"]["messages"] == [{"role": "user", "content": "hello"}]
    assert r.model == "gpt-4o-mini" and r.choices[0].message.content
    assert r.usage is not None and r.usage.completion_tokens > 0
    extra = r.model_extra["extra_fields"]
    assert extra["provider"] == "azure"


def test_deployment_mapping(gw: Gateway, mock: Mock) -> None:
    r = gw.openai().chat.completions.create(model="azure/gpt-4o", messages=[{"role": "user", "content": "hi"}])
    sent = _last(mock, "/openai/deployments/my-gpt4o-deployment/chat/completions")
    assert sent["body"]["model"] == "my-gpt4o-deployment"
    assert r.model == "my-gpt4o-deployment"


@pytest.mark.conformance("openai", "azure", "stream", "embeddings")
def test_azure_stream_text_and_embeddings(gw: Gateway, mock: Mock) -> None:
    client = gw.openai()
    chunks = list(client.chat.completions.create(model="azure/gpt-4o-mini", stream=True,
                                                 messages=[{"role": "user", "content": "hi"}]))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert len(text) > 10
    sent = _last(mock, "/openai/deployments/gpt-4o-mini/chat/completions")
    assert sent["body"]["stream"] is True and sent["headers"]["api-key"] == "az-upstream-key"

    t = client.completions.create(model="azure/gpt-35-turbo-instruct", prompt="say hi")
    assert t.choices[0].text
    assert _last(mock, "/openai/deployments/gpt-35-turbo-instruct/completions")["query"] == f"api-version={API_VERSION}"

    e = client.embeddings.create(model="azure/text-embedding-3-small", input=["a", "b"])
    assert len(e.data) == 2 and len(e.data[0].embedding) > 0
    sent = _last(mock, "/openai/deployments/text-embedding-3-small/embeddings")
    assert sent["body"]["input"] == ["a", "b"] and sent["body"]["model"] == "text-embedding-3-small"

    resp = client.responses.create(model="azure/gpt-4o", input="say hi")
    assert resp.output_text
    sent = _last(mock, "/openai/v1/responses")
    assert sent["query"] == "api-version=preview" and sent["body"]["model"] == "my-gpt4o-deployment"
    assert sent["headers"]["api-key"] == "az-upstream-key"


@pytest.mark.conformance("openai", "azure", "errors")
def test_azure_upstream_error_keeps_status_and_message(gw: Gateway, mock: Mock) -> None:
    mock.script({"status": 429, "model": "azure-limited", "error_message": "Rate limit exceeded for deployment"})
    with pytest.raises(openai.APIStatusError) as e:
        gw.openai().chat.completions.create(model="azure/azure-limited", messages=[{"role": "user", "content": "x"}])
    assert e.value.status_code == 429
    doc = e.value.response.json()
    assert doc["extra_fields"]["provider"] == "azure"
    assert "Rate limit exceeded for deployment" in doc["error"]["message"]


def test_azure_list_models(gw: Gateway) -> None:
    status, _, body = http("GET", gw.url + "/v1/models?provider=azure")
    assert status == 200, body
    ids = [m["id"] for m in json.loads(body)["data"]]
    assert ids == ["azure/gpt-4o"]  # the key's deployments


def test_entra_id_token_fetched_once_and_sent_as_bearer(tmp_path: Path, mock: Mock) -> None:
    cfg = {"providers": {"azure": {"keys": [{
        "name": "entra", "value": "", "models": [], "weight": 1,
        "azure_key_config": {"endpoint": mock.url, "client_id": "client-2", "client_secret": "env.AZURE_TEST_SECRET",
                             "tenant_id": "tenant-2", "deployments": {"gpt-4o-mini": "entra-deployment"}}}]}}}
    g = Gateway(tmp_path, cfg, env={"AZURE_TEST_SECRET": "s3cret", "BIFROST_AZURE_AUTHORITY_HOST": mock.url})
    try:
        client = g.openai()
        for _ in range(3):
            r = client.chat.completions.create(model="azure/gpt-4o-mini",
                                               messages=[{"role": "user", "content": "hi"}])
            assert r.choices[0].message.content
        _, _, listed = http("GET", g.url + "/v1/models?provider=azure")
    finally:
        g.stop()
    assert [m["id"] for m in json.loads(listed)["data"]] == ["azure/gpt-4o-mini"]
    tokens = mock.requests("/tenant-2/oauth2/v2.0/token")
    assert len(tokens) == 1, tokens
    sent = mock.requests("/openai/deployments/entra-deployment/chat/completions")
    assert len(sent) == 3
    auths = {s["headers"]["authorization"] for s in sent}
    assert len(auths) == 1 and auths.pop().startswith("Bearer mock-entra-client-2-")
    assert all("api-key" not in s["headers"] for s in sent)


def test_entra_token_failure_is_reported(tmp_path: Path, mock: Mock) -> None:
    cfg = {"providers": {"azure": {"keys": [{"name": "e", "value": "", "models": [], "weight": 1,
                                             "azure_key_config": {"endpoint": mock.url, "client_id": "c",
                                                                  "client_secret": "env.EMPTY_SECRET",
                                                                  "tenant_id": "t"}}]}}}
    g = Gateway(tmp_path, cfg, env={"BIFROST_AZURE_AUTHORITY_HOST": mock.url, "EMPTY_SECRET": ""})
    try:
        status, _, body = http("POST", g.url + "/v1/chat/completions",
                               {"model": "azure/gpt-4o-mini", "messages": [{"role": "user", "content": "x"}]})
    finally:
        g.stop()
    # An empty client_secret is not an Entra client: with no value either, no key is usable.
    assert status == 500 and b"no usable key" in body, body


# --- config validation -------------------------------------------------------------------------------

def test_azure_key_config_problems_have_json_paths() -> None:
    raw = {"providers": {"azure": {"keys": [
        {"name": "a", "value": "k", "azure_key_config": {"api_version": "2024-10-21"}},
        {"name": "b", "value": "k", "azure_key_config": {"endpoint": "ftp://x", "deployments": {"m": 3}}},
        {"name": "c", "value": "k", "azure_key_config": {"endpoint": "https://x.openai.azure.com", "client_id": "c"}},
        {"name": "d", "value": "k"},
    ]}}}
    with pytest.raises(ConfigInvalid) as e:
        parse_config(raw, {})
    problems = e.value.problems
    p = "$.providers.azure.keys"
    for path in (f"{p}[0].azure_key_config.endpoint:", f"{p}[1].azure_key_config.endpoint:",
                 f"{p}[1].azure_key_config.deployments.m:", f"{p}[2].azure_key_config:",
                 f"{p}[3].azure_key_config:"):
        assert sum(1 for x in problems if x.startswith(path)) == 1, (path, problems)
    assert len(problems) == 5, problems
    assert "missing client_secret, tenant_id" in next(x for x in problems if x.startswith(f"{p}[2]"))


def test_azure_key_config_env_and_defaults() -> None:
    raw = {"providers": {"azure": {"keys": [
        {"name": "a", "value": "k", "azure_key_config": {"endpoint": "env.AZ_EP"}},
        {"name": "b", "value": "k", "azure_key_config": {"endpoint": "env.AZ_SET", "deployments": {"m": "d"}}},
    ]}}}
    res = parse_config(raw, {"AZ_SET": "https://r.openai.azure.com/"})
    a, b = res.config.providers["azure"].keys
    assert a.unresolved == "env.AZ_EP: not set (providers.azure.keys[0].azure_key_config.endpoint)"
    assert a.unresolved in res.warnings
    assert b.unresolved is None and b.azure is not None
    assert b.azure.endpoint == "https://r.openai.azure.com" and b.azure.api_version == "2024-10-21"
    assert b.azure.deployments == {"m": "d"} and not b.azure.entra


def test_serve_refuses_azure_key_without_endpoint(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"providers": {"azure": {"keys": [
        {"name": "a", "value": "k", "azure_key_config": {"deployments": {}}}]}}}))
    r = subprocess.run([PY, "-m", "bifrost", "serve", "--app-dir", str(tmp_path), "--host", "127.0.0.1",
                        "--port", str(free_port())], env={**os.environ, "OPENAI_API_KEY": ""},
                       capture_output=True, text=True, timeout=30)
    assert r.returncode != 0
    assert "$.providers.azure.keys[0].azure_key_config.endpoint:" in r.stdout + r.stderr


# --- AzureOpenAI SDK -> /openai/deployments/... -> any provider ------------------------------------

def _azure_client(gw: Gateway) -> openai.AzureOpenAI:
    return openai.AzureOpenAI(azure_endpoint=gw.url, api_key="sk-client-to-gateway", api_version=API_VERSION,
                              max_retries=0)


@pytest.mark.conformance("azure", "openai", "chat", "stream", "embeddings")
def test_azure_sdk_to_openai_provider(gw: Gateway, mock: Mock) -> None:
    mock.reset()
    client = _azure_client(gw)
    r = client.chat.completions.create(model="openai/gpt-4o-mini", messages=[{"role": "user", "content": "hello"}])
    sent = _last(mock, "/v1/chat/completions")
    assert sent["headers"]["authorization"] == "Bearer sk-mock-1"
    assert "api-key" not in sent["headers"]
    assert sent["body"]["model"] == "gpt-4o-mini"
    assert r.choices[0].message.content and r.model == "gpt-4o-mini"

    text = "".join(c.choices[0].delta.content or "" for c in client.chat.completions.create(
        model="openai/gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], stream=True) if c.choices)
    assert len(text) > 10

    e = client.embeddings.create(model="openai/text-embedding-3-small", input="hello")
    assert len(e.data[0].embedding) > 0
    assert _last(mock, "/v1/embeddings")["body"]["model"] == "text-embedding-3-small"


@pytest.mark.conformance("azure", "openai", "errors")
def test_azure_route_with_encoded_slash_and_errors(gw: Gateway, mock: Mock) -> None:
    body = {"messages": [{"role": "user", "content": "hi"}]}
    status, _, out = http("POST", gw.url + f"/openai/deployments/openai%2Fgpt-4o-mini/chat/completions"
                          f"?api-version={API_VERSION}", body, headers={"api-key": "client-key"})
    assert status == 200, out
    assert json.loads(out)["extra_fields"]["provider"] == "openai"
    assert "api-key" not in _last(mock, "/v1/chat/completions")["headers"]

    status, _, out = http("POST", gw.url + "/openai/deployments/openai%2Fgpt-4o-mini/images/generations",
                          body)
    assert status == 404 and json.loads(out)["error"]["message"].startswith("Route not found")
    status, _, out = http("GET", gw.url + "/openai/deployments/openai%2Fgpt-4o-mini/chat/completions")
    assert status == 405
    status, _, out = http("POST", gw.url + "/openai/deployments/openai%2Fgpt-4o-mini/chat/completions", {})
    assert status == 400 and "messages" in json.loads(out)["error"]["message"]

    with pytest.raises(openai.APIStatusError) as e:
        _azure_client(gw).chat.completions.create(model="openai/mock-fail-503", messages=body["messages"])
    assert e.value.status_code == 503
    assert e.value.response.json()["extra_fields"]["provider"] == "openai"
