"""boto3 bedrock-runtime invoke_model / invoke_model_with_response_stream with non-Messages bodies
(Anthropic legacy text, Mistral, Llama, Titan text; Titan and Cohere embeddings) through the /bedrock
drop-in to any provider, answered in each family's native shape; the mock plays the upstreams."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import Gateway, Mock

# (family, InvokeModel body as AWS documents it, what the OpenAI upstream must receive besides model/prompt)
TEXT_BODIES = [
    ("mistral", {"prompt": "<s>[INST] hi [/INST]", "max_tokens": 60, "temperature": 0.5, "top_p": 0.9,
                 "top_k": 50, "stop": ["</s>"]},
     {"max_tokens": 60, "temperature": 0.5, "top_p": 0.9, "stop": ["</s>"]}),  # top_k: no OpenAI field
    ("llama", {"prompt": "hi", "max_gen_len": 70, "temperature": 0.2, "top_p": 0.8},
     {"max_tokens": 70, "temperature": 0.2, "top_p": 0.8}),
    ("titan_text", {"inputText": "hi", "textGenerationConfig": {"maxTokenCount": 80, "temperature": 0.1,
                                                                "topP": 0.7, "stopSequences": ["User:"]}},
     {"max_tokens": 80, "temperature": 0.1, "top_p": 0.7, "stop": ["User:"]}),
    ("anthropic_text", {"prompt": "\n\nHuman: hi\n\nAssistant:", "max_tokens_to_sample": 90,
                        "stop_sequences": ["\n\nHuman:"]},
     {"max_tokens": 90, "stop": ["\n\nHuman:"]}),
]


@pytest.fixture(scope="module")
def gw(tmp_module: Path, mock: Mock) -> Iterator[Gateway]:
    cfg = {"providers": {
        "bedrock": {"keys": [{"name": "b", "value": "", "models": [], "weight": 1,
                              "bedrock_key_config": {"access_key": "AKIDEXAMPLE", "secret_key": "secret",
                                                     "region": "us-east-1"}}],
                    "network_config": {"base_url": mock.url}},
        "openai": {"keys": [{"name": "o", "value": "sk-openai-upstream", "models": [], "weight": 1}],
                   "network_config": {"base_url": mock.url}},
    }}
    g = Gateway(tmp_module, cfg)
    yield g
    g.stop()


def _boto(gw: Gateway) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client("bedrock-runtime", endpoint_url=gw.url + "/bedrock", region_name="us-east-1",
                        aws_access_key_id="AKIDCLIENT", aws_secret_access_key="client-secret",
                        config=Config(retries={"max_attempts": 1}))


def _prompt(body: dict) -> str:
    return body.get("prompt") or body["inputText"]


def _text_of(family: str, out: dict) -> tuple[str, str]:
    """(text, native stop reason) of a family's InvokeModel response."""
    if family == "mistral":
        return out["outputs"][0]["text"], out["outputs"][0]["stop_reason"]
    if family == "llama":
        return out["generation"], out["stop_reason"]
    if family == "titan_text":  # response {results: [...]}; stream chunk {outputText, completionReason, ...}
        res = out["results"][0] if "results" in out else out
        return res["outputText"], res["completionReason"]
    return out["completion"], out["stop_reason"]


STOPS = {"mistral": "stop", "llama": "stop", "titan_text": "FINISH", "anthropic_text": "stop_sequence"}


@pytest.mark.parametrize(("family", "body", "expect"), TEXT_BODIES, ids=[f for f, _, _ in TEXT_BODIES])
def test_boto3_invoke_model_text_body_to_openai_completions(gw: Gateway, mock: Mock, family: str, body: dict,
                                                            expect: dict) -> None:
    mock.reset()
    r = _boto(gw).invoke_model(modelId="openai/gpt-3.5-turbo-instruct", body=json.dumps(body))
    out = json.loads(r["body"].read())
    text, stop = _text_of(family, out)
    assert len(text.split()) == 20 and stop == STOPS[family]
    headers = r["ResponseMetadata"]["HTTPHeaders"]
    sent = mock.requests("/v1/completions")[-1]
    assert sent["headers"]["authorization"] == "Bearer sk-openai-upstream"
    assert not any(h.startswith("x-amz") for h in sent["headers"])
    assert sent["body"] == {"model": "gpt-3.5-turbo-instruct", "prompt": _prompt(body), **expect}
    assert int(headers["x-amzn-bedrock-output-token-count"]) == 20
    assert int(headers["x-amzn-bedrock-input-token-count"]) > 0
    if family == "llama":
        assert out["generation_token_count"] == 20 and out["prompt_token_count"] > 0
    if family == "titan_text":
        assert out["results"][0]["tokenCount"] == 20 and out["inputTextTokenCount"] > 0


def test_boto3_invoke_model_text_length_stop_reasons(gw: Gateway) -> None:
    out = json.loads(_boto(gw).invoke_model(modelId="openai/gpt-3.5-turbo-instruct", body=json.dumps(
        {"prompt": "hi", "max_tokens": 3}))["body"].read())
    assert out["outputs"][0]["stop_reason"] == "length"
    out = json.loads(_boto(gw).invoke_model(modelId="openai/gpt-3.5-turbo-instruct", body=json.dumps(
        {"inputText": "hi", "textGenerationConfig": {"maxTokenCount": 2}}))["body"].read())
    assert out["results"][0]["completionReason"] == "LENGTH" and out["results"][0]["tokenCount"] == 2


@pytest.mark.parametrize(("family", "body", "expect"), TEXT_BODIES, ids=[f for f, _, _ in TEXT_BODIES])
def test_boto3_invoke_with_response_stream_text_body(gw: Gateway, mock: Mock, family: str, body: dict,
                                                     expect: dict) -> None:
    mock.reset()
    r = _boto(gw).invoke_model_with_response_stream(modelId="openai/gpt-3.5-turbo-instruct", body=json.dumps(body))
    events = [json.loads(e["chunk"]["bytes"]) for e in r["body"]]
    assert len(events) > 2
    texts = [_text_of(family, e)[0] for e in events]
    assert len("".join(texts).split()) == 20
    last = events[-1]
    assert _text_of(family, last)[1] == STOPS[family]
    assert all(_text_of(family, e)[1] is None for e in events[:-1])
    metrics = last["amazon-bedrock-invocationMetrics"]
    assert metrics["outputTokenCount"] == 20 and metrics["inputTokenCount"] > 0
    sent = mock.requests("/v1/completions")[-1]["body"]
    assert sent["stream"] is True and sent["prompt"] == _prompt(body) and sent["max_tokens"] == expect["max_tokens"]


def test_boto3_invoke_text_body_to_bedrock_provider(gw: Gateway, mock: Mock) -> None:
    """A Mistral body for bedrock/mistral.*: the gateway's bedrock provider invokes the same family upstream."""
    mock.reset()
    model = "mistral.mistral-7b-instruct-v0:2"
    body = {"prompt": "<s>[INST] hi [/INST]", "max_tokens": 30, "top_k": 5}  # top_k kept for bedrock
    r = _boto(gw).invoke_model(modelId="bedrock/" + model, body=json.dumps(body))
    out = json.loads(r["body"].read())
    assert out["outputs"][0]["stop_reason"] == "stop" and out["outputs"][0]["text"].strip()
    sent = mock.requests("/model/" + model.replace(":", "%3A") + "/invoke")[-1]
    assert sent["body"] == body and sent["headers"]["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEX")
    assert int(r["ResponseMetadata"]["HTTPHeaders"]["x-amzn-bedrock-output-token-count"]) == 20


@pytest.mark.conformance("bedrock", "openai", "embeddings")
def test_boto3_invoke_titan_embedding_body_to_openai(gw: Gateway, mock: Mock) -> None:
    mock.reset()
    r = _boto(gw).invoke_model(modelId="openai/text-embedding-3-small", body=json.dumps(
        {"inputText": "hello world", "dimensions": 256, "normalize": True}))
    out = json.loads(r["body"].read())
    assert isinstance(out["embedding"], list) and len(out["embedding"]) == 256  # dimensions honoured
    assert out["inputTextTokenCount"] > 0
    sent = mock.requests("/v1/embeddings")[-1]["body"]
    assert sent == {"model": "text-embedding-3-small", "input": "hello world", "dimensions": 256}


@pytest.mark.conformance("bedrock", "openai", "embeddings")
def test_boto3_invoke_cohere_embedding_body_to_openai(gw: Gateway, mock: Mock) -> None:
    mock.reset()
    r = _boto(gw).invoke_model(modelId="openai/text-embedding-3-small", body=json.dumps(
        {"texts": ["a", "b"], "input_type": "search_query"}))
    out = json.loads(r["body"].read())
    assert out["response_type"] == "embeddings_floats" and out["texts"] == ["a", "b"]
    assert len(out["embeddings"]) == 2 and out["embeddings"][0] != out["embeddings"][1]
    assert mock.requests("/v1/embeddings")[-1]["body"] == {"model": "text-embedding-3-small", "input": ["a", "b"]}


@pytest.mark.conformance("bedrock", "bedrock", "embeddings")
def test_boto3_invoke_cohere_embedding_body_to_bedrock_keeps_input_type(gw: Gateway, mock: Mock) -> None:
    mock.reset()
    model = "cohere.embed-english-v3"
    r = _boto(gw).invoke_model(modelId="bedrock/" + model, body=json.dumps(
        {"texts": ["a"], "input_type": "search_query"}))
    out = json.loads(r["body"].read())
    assert len(out["embeddings"]) == 1 and len(out["embeddings"][0]) == 1024
    assert mock.requests(f"/model/{model}/invoke")[-1]["body"] == {"texts": ["a"], "input_type": "search_query"}


def test_boto3_invoke_unknown_body_is_a_validation_exception(gw: Gateway, mock: Mock) -> None:
    from botocore.exceptions import ClientError

    mock.reset()
    with pytest.raises(ClientError) as e:
        _boto(gw).invoke_model(modelId="openai/gpt-4o-mini", body=json.dumps({"question": "x"}))
    err = e.value.response
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 400 and err["Error"]["Code"] == "ValidationException"
    msg = err["Error"]["Message"]
    for family in ("Anthropic Messages", "Mistral", "Llama", "Titan text", "Titan embeddings", "Cohere embeddings"):
        assert family in msg
    with pytest.raises(ClientError) as e:
        _boto(gw).invoke_model_with_response_stream(modelId="openai/text-embedding-3-small",
                                                    body=json.dumps({"inputText": "x"}))
    assert e.value.response["Error"]["Code"] == "ValidationException"
    assert "invoke_model" in e.value.response["Error"]["Message"]
    assert not mock.requests("/v1/embeddings") and not mock.requests("/v1/completions")


def test_boto3_invoke_text_upstream_error_is_aws_shaped(gw: Gateway) -> None:
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError) as e:
        _boto(gw).invoke_model(modelId="openai/mock-fail-429", body=json.dumps({"prompt": "x", "max_gen_len": 5}))
    assert e.value.response["Error"]["Code"] == "ThrottlingException"


def test_bare_bedrock_model_id_goes_to_the_bedrock_provider(gw: Gateway, mock: Mock) -> None:
    """boto3 code written for AWS (no "provider/" prefix) works unchanged, as in Bifrost."""
    mock.reset()
    model = "mistral.mistral-7b-instruct-v0:2"
    out = json.loads(_boto(gw).invoke_model(modelId=model, body=json.dumps({"prompt": "hi", "max_tokens": 9}))[
        "body"].read())
    assert out["outputs"][0]["stop_reason"] == "length"
    assert mock.requests("/model/" + model.replace(":", "%3A") + "/invoke")[-1]["body"] == {"prompt": "hi",
                                                                                            "max_tokens": 9}
