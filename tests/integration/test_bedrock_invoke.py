"""AWS Bedrock beyond Converse: embeddings over InvokeModel (Titan, Cohere), the control plane's
ListFoundationModels, and the /bedrock drop-in's InvokeModel for Anthropic-on-Bedrock bodies."""

from __future__ import annotations

import base64
import json
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import Gateway, Mock, http

TITAN = "amazon.titan-embed-text-v2:0"
COHERE = "cohere.embed-english-v3"


@pytest.fixture(scope="module")
def gw(tmp_module: Path, mock: Mock) -> Iterator[Gateway]:
    cfg = {"providers": {
        "bedrock": {"keys": [{"name": "b", "value": "", "models": [], "weight": 1,
                              "bedrock_key_config": {"access_key": "AKIDEXAMPLE", "secret_key": "secret",
                                                     "region": "eu-west-3"}}],
                    "network_config": {"base_url": mock.url}},
        "openai": {"keys": [{"name": "o", "value": "sk-openai-upstream", "models": [], "weight": 1}],
                   "network_config": {"base_url": mock.url}},
    }}
    g = Gateway(tmp_module, cfg)
    yield g
    g.stop()


def _invokes(mock: Mock, model: str) -> list[dict[str, Any]]:
    return mock.requests("/model/" + model.replace(":", "%3A") + "/invoke")


@pytest.mark.conformance("openai", "bedrock", "embeddings")
def test_titan_embeddings_one_invoke_per_input(gw: Gateway, mock: Mock) -> None:
    mock.reset()
    r = gw.openai().embeddings.create(model="bedrock/" + TITAN, input=["hello world", "second text"], dimensions=256)
    assert [d.index for d in r.data] == [0, 1] and all(len(d.embedding) == 256 for d in r.data)
    assert r.data[0].embedding != r.data[1].embedding
    assert r.usage.prompt_tokens > 0 and r.usage.total_tokens == r.usage.prompt_tokens
    sent = _invokes(mock, TITAN)
    assert sorted(s["body"]["inputText"] for s in sent) == ["hello world", "second text"]
    assert all(s["body"] == {"inputText": s["body"]["inputText"], "dimensions": 256} for s in sent)
    for s in sent:
        assert s["headers"]["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
        assert "/eu-west-3/bedrock/aws4_request" in s["headers"]["authorization"]
        assert "x-amz-date" in s["headers"]

    b64 = gw.openai().embeddings.create(model="bedrock/" + TITAN, input="hello world", dimensions=256,
                                        encoding_format="base64")
    raw = b64.data[0].embedding
    vec = list(struct.unpack("<256f", base64.b64decode(raw))) if isinstance(raw, str) else raw
    assert vec == pytest.approx(r.data[0].embedding, abs=1e-6)


@pytest.mark.conformance("openai", "bedrock", "embeddings")
def test_cohere_embeddings_one_invoke(gw: Gateway, mock: Mock) -> None:
    mock.reset()
    r = gw.openai().embeddings.create(model="bedrock/" + COHERE, input=["a", "b", "c"])
    assert len(r.data) == 3 and all(len(d.embedding) == 1024 for d in r.data)
    sent = _invokes(mock, COHERE)
    assert len(sent) == 1
    assert sent[0]["body"] == {"texts": ["a", "b", "c"], "input_type": "search_document"}
    assert sent[0]["headers"]["authorization"].startswith("AWS4-HMAC-SHA256 ")


def test_embedding_errors(gw: Gateway) -> None:
    import openai

    with pytest.raises(openai.BadRequestError):
        gw.openai().embeddings.create(model="bedrock/anthropic.claude-3-haiku-20240307-v1:0", input="x")
    with pytest.raises(openai.APIStatusError) as e:
        gw.openai().embeddings.create(model="bedrock/mock-fail-429-titan-embed", input="x")
    assert e.value.status_code == 429


def test_list_foundation_models(gw: Gateway, mock: Mock) -> None:
    mock.reset()
    status, _, body = http("GET", gw.url + "/v1/models?provider=bedrock")
    assert status == 200, body
    ids = [m["id"] for m in json.loads(body)["data"]]
    assert "bedrock/" + TITAN in ids and "bedrock/anthropic.claude-3-haiku-20240307-v1:0" in ids
    sent = mock.requests("/foundation-models")
    assert sent and sent[-1]["method"] == "GET"
    assert sent[-1]["headers"]["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")


# --- boto3 bedrock-runtime invoke_model -> /bedrock/model/{id}/invoke -> any provider ----------------

def _boto(gw: Gateway) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client("bedrock-runtime", endpoint_url=gw.url + "/bedrock", region_name="us-east-1",
                        aws_access_key_id="AKIDCLIENT", aws_secret_access_key="client-secret",
                        config=Config(retries={"max_attempts": 1}))


@pytest.mark.conformance("bedrock", "openai", "chat", "usage")
def test_boto3_invoke_model_anthropic_body_to_openai(gw: Gateway, mock: Mock) -> None:
    mock.reset()
    body = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 200, "system": "be brief",
            "temperature": 0.3, "messages": [{"role": "user", "content": "hello"}]}
    r = _boto(gw).invoke_model(modelId="openai/gpt-4o-mini", body=json.dumps(body),
                               contentType="application/json", accept="application/json")
    out = json.loads(r["body"].read())
    assert out["type"] == "message" and out["role"] == "assistant" and out["stop_reason"] == "end_turn"
    assert len(out["content"][0]["text"]) > 10
    assert out["usage"]["input_tokens"] > 0 and out["usage"]["output_tokens"] > 0
    sent = mock.requests("/v1/chat/completions")[-1]
    assert sent["headers"]["authorization"] == "Bearer sk-openai-upstream"
    assert not any(h.startswith("x-amz") for h in sent["headers"])
    assert sent["body"]["messages"] == [{"role": "system", "content": "be brief"},
                                        {"role": "user", "content": "hello"}]
    assert sent["body"]["max_tokens"] == 200 and sent["body"]["model"] == "gpt-4o-mini"
    assert "anthropic_version" not in sent["body"]


@pytest.mark.conformance("bedrock", "openai", "stream", "tools", "streamed tools")
def test_boto3_invoke_with_response_stream(gw: Gateway, mock: Mock) -> None:
    client = _boto(gw)
    body = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 200,
            "messages": [{"role": "user", "content": "hi"}]}
    r = client.invoke_model_with_response_stream(modelId="openai/gpt-4o-mini", body=json.dumps(body))
    events = [json.loads(e["chunk"]["bytes"]) for e in r["body"]]
    kinds = [e["type"] for e in events]
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop" and "message_delta" in kinds
    text = "".join(e["delta"].get("text", "") for e in events if e["type"] == "content_block_delta")
    assert len(text) > 10
    delta = next(e for e in events if e["type"] == "message_delta")
    assert delta["delta"]["stop_reason"] == "end_turn" and delta["usage"]["output_tokens"] > 0

    tools = [{"name": "get_weather", "description": "Weather for a city",
              "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}]
    body = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 200, "tools": tools,
            "tool_choice": {"type": "any"}, "messages": [{"role": "user", "content": "weather in Paris?"}]}
    r = client.invoke_model_with_response_stream(modelId="openai/gpt-4o-mini", body=json.dumps(body))
    events = [json.loads(e["chunk"]["bytes"]) for e in r["body"]]
    start = next(e for e in events if e["type"] == "content_block_start"
                 and e["content_block"]["type"] == "tool_use")
    args = "".join(e["delta"]["partial_json"] for e in events
                   if e["type"] == "content_block_delta" and e["delta"]["type"] == "input_json_delta")
    assert start["content_block"]["name"] == "get_weather" and isinstance(json.loads(args), dict)
    assert next(e for e in events if e["type"] == "message_delta")["delta"]["stop_reason"] == "tool_use"
    sent = mock.requests("/v1/chat/completions")[-1]["body"]
    assert sent["tool_choice"] == "required" and sent["stream"] is True


def test_boto3_invoke_errors_are_aws_shaped(gw: Gateway) -> None:
    from botocore.exceptions import ClientError

    body = json.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 10,
                       "messages": [{"role": "user", "content": "x"}]})
    with pytest.raises(ClientError) as e:
        _boto(gw).invoke_model(modelId="openai/mock-fail-429", body=body)
    assert e.value.response["Error"]["Code"] == "ThrottlingException"
    with pytest.raises(ClientError) as e:
        _boto(gw).invoke_model(modelId="openai/gpt-4o-mini", body=json.dumps({"question": "x"}))
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
