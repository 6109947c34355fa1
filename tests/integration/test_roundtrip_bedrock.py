"""boto3 bedrock-runtime -> /bedrock/model/{id}/converse | converse-stream -> Bedrock provider: the native
round trip is exact.

Each test compares what boto3 got through the gateway with what boto3 gets straight from the loopback
upstream (the mock speaks the Converse API and the AWS binary event stream), and checks what the
upstream received: the gateway re-signs with its own credentials, never the client's.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import Gateway, Mock

MODEL = "anthropic.claude-3-haiku-20240307-v1:0"
PATH = "/model/anthropic.claude-3-haiku-20240307-v1%3A0/"
SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
TOOL_CFG = {"tools": [{"toolSpec": {"name": "get_weather", "description": "Weather for a city",
                                    "inputSchema": {"json": SCHEMA}}}]}


@pytest.fixture(scope="module")
def gw(tmp_module: Path, mock: Mock) -> Iterator[Gateway]:
    cfg = {"providers": {
        "bedrock": {"keys": [{"name": "b", "value": "", "models": [], "weight": 1,
                              "bedrock_key_config": {"access_key": "AKIDUPSTREAM", "secret_key": "secret",
                                                     "region": "eu-west-3"}}],
                    "network_config": {"base_url": mock.url}},
    }}
    g = Gateway(tmp_module, cfg)
    yield g
    g.stop()


def _boto(url: str) -> Any:
    return boto3.client("bedrock-runtime", endpoint_url=url, region_name="us-east-1",
                        aws_access_key_id="AKIDCLIENT", aws_secret_access_key="client-secret",
                        config=Config(retries={"total_max_attempts": 1}))


def _client(gw: Gateway) -> Any:
    return _boto(gw.url + "/bedrock")


def _last(mock: Mock, op: str, path: str = PATH) -> dict[str, Any]:
    reqs = mock.requests(path + op)
    assert reqs, f"the upstream received no request on {path + op}"
    return reqs[-1]


def _signed_by_gateway(sent: dict[str, Any]) -> None:
    auth = sent["headers"]["authorization"]
    assert auth.startswith("AWS4-HMAC-SHA256 Credential=AKIDUPSTREAM/") and "/eu-west-3/bedrock/" in auth
    assert "AKIDCLIENT" not in json.dumps(sent["headers"])


def _kinds(events: list[dict[str, Any]]) -> list[str]:
    return [next(iter(e)) for e in events]


def _text(events: list[dict[str, Any]]) -> str:
    return "".join(e["contentBlockDelta"]["delta"].get("text", "") for e in events if "contentBlockDelta" in e)


@pytest.mark.conformance("bedrock", "bedrock", "stream", "usage")
def test_converse_stream_round_trip_keeps_events_text_and_usage(gw: Gateway, mock: Mock) -> None:
    kw: dict[str, Any] = {"system": [{"text": "be brief"}], "messages": [{"role": "user", "content": [{"text": "hi"}]}],
                          "inferenceConfig": {"maxTokens": 300, "temperature": 0.2}}
    events = list(_client(gw).converse_stream(modelId="bedrock/" + MODEL, **kw)["stream"])
    sent = _last(mock, "converse-stream")
    _signed_by_gateway(sent)
    assert sent["body"] == kw
    direct = list(_boto(mock.url).converse_stream(modelId=MODEL, **kw)["stream"])
    assert _kinds(events)[0] == "messageStart" and _kinds(events)[-2:] == ["messageStop", "metadata"]
    assert _text(events) == _text(direct) and len(_text(events)) > 10
    assert events[-2]["messageStop"]["stopReason"] == direct[-2]["messageStop"]["stopReason"] == "end_turn"
    got, want = events[-1]["metadata"]["usage"], direct[-1]["metadata"]["usage"]
    assert (got["inputTokens"], got["outputTokens"], got["totalTokens"]) == (
        want["inputTokens"], want["outputTokens"], want["totalTokens"])


@pytest.mark.conformance("bedrock", "bedrock", "tools")
def test_converse_tool_use_and_tool_result_round_trip(gw: Gateway, mock: Mock) -> None:
    client = _client(gw)
    cfg = {**TOOL_CFG, "toolChoice": {"tool": {"name": "get_weather"}}}
    ask = [{"role": "user", "content": [{"text": "weather in Paris?"}]}]
    r = client.converse(modelId="bedrock/" + MODEL, toolConfig=cfg, messages=ask)
    sent = _last(mock, "converse")
    _signed_by_gateway(sent)
    assert sent["body"]["toolConfig"] == cfg
    direct = _boto(mock.url).converse(modelId=MODEL, toolConfig=cfg, messages=ask)
    use = next(b["toolUse"] for b in r["output"]["message"]["content"] if "toolUse" in b)
    d_use = next(b["toolUse"] for b in direct["output"]["message"]["content"] if "toolUse" in b)
    assert r["stopReason"] == "tool_use" and use["name"] == "get_weather" and use["input"] == d_use["input"]
    assert use["toolUseId"].startswith("tooluse_")

    follow = client.converse(modelId="bedrock/" + MODEL, toolConfig=TOOL_CFG, messages=[
        *ask, {"role": "assistant", "content": [{"toolUse": use}]},
        {"role": "user", "content": [{"toolResult": {"toolUseId": use["toolUseId"], "content": [{"text": "sunny"}],
                                                     "status": "success"}}]}])
    turns = _last(mock, "converse")["body"]["messages"]
    assert turns[1] == {"role": "assistant", "content": [{"toolUse": use}]}
    assert turns[2] == {"role": "user", "content": [{"toolResult": {
        "toolUseId": use["toolUseId"], "content": [{"text": "sunny"}], "status": "success"}}]}
    assert follow["stopReason"] == "end_turn" and follow["output"]["message"]["content"][0]["text"]


@pytest.mark.conformance("bedrock", "bedrock", "streamed tools")
def test_converse_stream_tool_use_round_trip(gw: Gateway, mock: Mock) -> None:
    kw: dict[str, Any] = {"toolConfig": TOOL_CFG, "messages": [{"role": "user", "content": [{"text": "weather?"}]}]}
    events = list(_client(gw).converse_stream(modelId="bedrock/" + MODEL, **kw)["stream"])
    assert _last(mock, "converse-stream")["body"]["toolConfig"] == TOOL_CFG
    direct = list(_boto(mock.url).converse_stream(modelId=MODEL, **kw)["stream"])

    def tool_of(evs: list[dict[str, Any]]) -> tuple[str, Any, int]:
        start = next(e["contentBlockStart"]["start"]["toolUse"] for e in evs if "contentBlockStart" in e)
        pieces = [e["contentBlockDelta"]["delta"]["toolUse"]["input"] for e in evs
                  if "contentBlockDelta" in e and "toolUse" in e["contentBlockDelta"]["delta"]]
        return start["name"], json.loads("".join(pieces)), len(pieces)

    name, args, n = tool_of(events)
    assert (name, args) == tool_of(direct)[:2] and n > 1
    assert next(e for e in events if "messageStop" in e)["messageStop"]["stopReason"] == "tool_use"


@pytest.mark.conformance("bedrock", "bedrock", "usage")
def test_converse_cache_point_reaches_the_provider_and_cache_usage_reaches_the_client(
        gw: Gateway, mock: Mock) -> None:
    answer = {"output": {"message": {"role": "assistant", "content": [{"text": "Pride and class."}]}},
              "stopReason": "end_turn", "metrics": {"latencyMs": 12},
              "usage": {"inputTokens": 21, "outputTokens": 5, "totalTokens": 2074,
                        "cacheReadInputTokens": 1800, "cacheWriteInputTokens": 248}}
    mock.script({"status": 200, "model": "anthropic.claude-cached-v1:0", "body": answer})
    system = [{"text": "a long shared prefix"}, {"cachePoint": {"type": "default"}}]
    messages = [{"role": "user", "content": [{"text": "long document"}, {"cachePoint": {"type": "default"}},
                                             {"text": "themes?"}]}]
    r = _client(gw).converse(modelId="bedrock/anthropic.claude-cached-v1:0", system=system, messages=messages)
    sent = _last(mock, "converse", "/model/anthropic.claude-cached-v1%3A0/")["body"]
    assert sent["system"] == system, "the system cache point must reach the provider"
    assert sent["messages"] == messages, "the message cache point must reach the provider"
    assert r["usage"] == answer["usage"]
    assert r["output"]["message"]["content"] == [{"text": "Pride and class."}]


@pytest.mark.conformance("bedrock", "bedrock", "errors")
def test_converse_upstream_errors_keep_aws_code_status_and_message(gw: Gateway, mock: Mock) -> None:
    client = _client(gw)
    ask = [{"role": "user", "content": [{"text": "x"}]}]
    with pytest.raises(ClientError) as e:
        client.converse(modelId="bedrock/mock-fail-429", messages=ask)
    err = e.value.response
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 429 and err["Error"]["Code"] == "ThrottlingException"
    assert "Mock error 429" in err["Error"]["Message"]
    _signed_by_gateway(_last(mock, "converse", "/model/mock-fail-429/"))

    msg = "The provided model identifier is invalid (mock)"
    mock.script({"status": 400, "model": "anthropic.claude-bad-v1:0", "error_message": msg})
    with pytest.raises(ClientError) as e2:
        client.converse(modelId="bedrock/anthropic.claude-bad-v1:0", messages=ask)
    err = e2.value.response
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 400 and err["Error"]["Code"] == "ValidationException"
    assert msg in err["Error"]["Message"]

    with pytest.raises(ClientError) as e3:
        list(client.converse_stream(modelId="bedrock/mock-fail-503", messages=ask)["stream"])
    assert e3.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    assert e3.value.response["Error"]["Code"] == "ServiceUnavailableException"


@pytest.mark.conformance("bedrock", "bedrock", "chat")
def test_converse_round_trip_keeps_request_and_answer(gw: Gateway, mock: Mock) -> None:
    kw: dict[str, Any] = {"system": [{"text": "be brief"}],
                          "messages": [{"role": "user", "content": [{"text": "hello"}]}],
                          "inferenceConfig": {"maxTokens": 300, "temperature": 0.2, "topP": 0.9,
                                              "stopSequences": ["zzz"]}}
    r = _client(gw).converse(modelId="bedrock/" + MODEL, **kw)
    sent = _last(mock, "converse")
    _signed_by_gateway(sent)
    assert sent["body"] == kw
    direct = _boto(mock.url).converse(modelId=MODEL, **kw)
    assert r["output"] == direct["output"] and r["stopReason"] == direct["stopReason"] == "end_turn"
    assert r["usage"] == direct["usage"]
