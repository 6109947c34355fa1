"""AWS Bedrock: the OpenAI SDK through the gateway to a Bedrock (Converse API) upstream, played by the mock
(JSON and binary event-stream answers; SigV4 and bearer API-key auth)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import Gateway, Mock

TOOL = {"type": "function", "function": {"name": "get_weather", "description": "Weather for a city",
                                         "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                                                        "required": ["city"]}}}
MODEL = "anthropic.claude-3-haiku-20240307-v1:0"
PATH = "/model/anthropic.claude-3-haiku-20240307-v1%3A0/"


@pytest.fixture(scope="module")
def gw(tmp_module: Path, mock: Mock) -> Iterator[Gateway]:
    cfg = {"providers": {
        "bedrock": {"keys": [{"name": "b", "value": "", "models": [], "weight": 1,
                              "bedrock_key_config": {"access_key": "AKIDEXAMPLE", "secret_key": "secret",
                                                     "session_token": "tok", "region": "eu-west-3"}}],
                    "network_config": {"base_url": mock.url}},
        "openai": {"keys": [{"name": "o", "value": "sk-openai-upstream", "models": [], "weight": 1}],
                   "network_config": {"base_url": mock.url}},
    }}
    g = Gateway(tmp_module, cfg)
    yield g
    g.stop()


def _last(mock: Mock, op: str) -> dict[str, Any]:
    reqs = mock.requests(PATH + op)
    assert reqs, f"the upstream received no request on {PATH + op}"
    return reqs[-1]


@pytest.mark.conformance("openai", "bedrock", "chat", "usage")
def test_chat_is_sigv4_signed_converse(gw: Gateway, mock: Mock) -> None:
    mock.reset()
    r = gw.openai().chat.completions.create(
        model="bedrock/" + MODEL, max_tokens=300, temperature=0.2,
        messages=[{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello"}])
    sent = _last(mock, "converse")
    auth = sent["headers"]["authorization"]
    assert re.match(r"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/\d{8}/eu-west-3/bedrock/aws4_request, "
                    r"SignedHeaders=[a-z0-9;-]+, Signature=[0-9a-f]{64}$", auth), auth
    assert sent["headers"]["x-amz-security-token"] == "tok" and "x-amz-date" in sent["headers"]
    _verify_signature(mock, sent, auth)
    assert sent["body"] == {"messages": [{"role": "user", "content": [{"text": "hello"}]}],
                            "system": [{"text": "be brief"}],
                            "inferenceConfig": {"maxTokens": 300, "temperature": 0.2}}
    assert r.choices[0].finish_reason == "stop" and r.model == MODEL
    assert r.choices[0].message.content and len(r.choices[0].message.content) > 10
    assert r.usage is not None and r.usage.prompt_tokens > 0 and r.usage.completion_tokens > 0


def _verify_signature(mock: Mock, sent: dict[str, Any], auth: str) -> None:
    """Recompute the SigV4 signature from what the upstream received: it must match."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    signed = re.search(r"SignedHeaders=([^,]+)", auth).group(1).split(";")  # type: ignore[union-attr]
    assert "host" in signed and "x-amz-date" in signed
    raw = json.dumps(sent["body"], separators=(",", ":"), ensure_ascii=False).encode()
    req = AWSRequest(method="POST", url=mock.url + sent["path"], data=raw,
                     headers={h: sent["headers"][h] for h in signed if h != "host"})
    req.context["timestamp"] = sent["headers"]["x-amz-date"]
    signer = SigV4Auth(Credentials("AKIDEXAMPLE", "secret", "tok"), "bedrock", "eu-west-3")
    expected = signer.signature(signer.string_to_sign(req, signer.canonical_request(req)), req)
    assert auth.endswith("Signature=" + expected)


@pytest.mark.conformance("openai", "bedrock", "stream")
def test_stream_over_binary_event_stream(gw: Gateway, mock: Mock) -> None:
    mock.reset()
    chunks = list(gw.openai().chat.completions.create(
        model="bedrock/" + MODEL, messages=[{"role": "user", "content": "hi"}], stream=True,
        stream_options={"include_usage": True}))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    direct = gw.openai().chat.completions.create(model="bedrock/" + MODEL, messages=[{"role": "user", "content": "hi"}])
    assert text == direct.choices[0].message.content and len(text) > 10
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0
    sent = _last(mock, "converse-stream")
    assert sent["headers"]["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")


@pytest.mark.conformance("openai", "bedrock", "tools", "streamed tools")
def test_tools_plain_and_streamed(gw: Gateway, mock: Mock) -> None:
    client = gw.openai()
    r = client.chat.completions.create(model="bedrock/" + MODEL, tools=[TOOL], tool_choice="required",
                                       messages=[{"role": "user", "content": "weather in Paris?"}])
    call = r.choices[0].message.tool_calls[0]
    assert r.choices[0].finish_reason == "tool_calls" and call.function.name == "get_weather"
    cfg = _last(mock, "converse")["body"]["toolConfig"]
    assert cfg["toolChoice"] == {"any": {}}
    assert cfg["tools"][0]["toolSpec"]["inputSchema"]["json"]["required"] == ["city"]

    with client.chat.completions.stream(model="bedrock/" + MODEL, tools=[TOOL],
                                        messages=[{"role": "user", "content": "weather?"}]) as s:
        final = s.get_final_completion()
    streamed = final.choices[0].message.tool_calls[0]
    assert final.choices[0].finish_reason == "tool_calls" and streamed.function.name == "get_weather"
    assert json.loads(streamed.function.arguments) == json.loads(call.function.arguments)

    follow = client.chat.completions.create(model="bedrock/" + MODEL, tools=[TOOL], messages=[
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
        {"role": "tool", "tool_call_id": call.id, "content": "sunny"}])
    assert follow.choices[0].finish_reason == "stop"
    msgs = _last(mock, "converse")["body"]["messages"]
    assert msgs[1]["content"][0]["toolUse"]["toolUseId"] == call.id
    assert msgs[2] == {"role": "user", "content": [{"toolResult": {"toolUseId": call.id, "content": [{"text": "sunny"}],
                                                                   "status": "success"}}]}


@pytest.mark.conformance("openai", "bedrock", "errors")
def test_upstream_error_keeps_status(gw: Gateway) -> None:
    import openai

    with pytest.raises(openai.APIStatusError) as e:
        gw.openai().chat.completions.create(model="bedrock/mock-fail-429",
                                            messages=[{"role": "user", "content": "x"}])
    assert e.value.status_code == 429 and e.value.response.json()["extra_fields"]["provider"] == "bedrock"


def test_bearer_api_key_mode(tmp_module: Path, mock: Mock) -> None:
    """A Bedrock API key (the key value, e.g. env.AWS_BEARER_TOKEN_BEDROCK) is sent as a bearer token."""
    cfg = {"providers": {"bedrock": {"keys": [{"name": "k", "value": "env.AWS_BEARER_TOKEN_BEDROCK",
                                               "models": [], "weight": 1}],
                                     "network_config": {"base_url": mock.url}}}}
    g = Gateway(tmp_module, cfg, env={"AWS_BEARER_TOKEN_BEDROCK": "bedrock-api-key-1"})
    try:
        mock.reset()
        r = g.openai().chat.completions.create(model="bedrock/" + MODEL, messages=[{"role": "user", "content": "hi"}])
        assert r.choices[0].message.content
        sent = _last(mock, "converse")
        assert sent["headers"]["authorization"] == "Bearer bedrock-api-key-1"
        assert "x-amz-date" not in sent["headers"]
    finally:
        g.stop()


# --- boto3 bedrock-runtime -> /bedrock/model/{id}/converse -> any provider -----------------------

def _boto(gw: Gateway) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client("bedrock-runtime", endpoint_url=gw.url + "/bedrock", region_name="us-east-1",
                        aws_access_key_id="AKIDCLIENT", aws_secret_access_key="client-secret",
                        config=Config(retries={"max_attempts": 1}))


@pytest.mark.conformance("bedrock", "openai", "chat", "usage")
def test_boto3_converse_to_openai_provider(gw: Gateway, mock: Mock) -> None:
    mock.reset()
    r = _boto(gw).converse(modelId="openai/gpt-4o-mini", system=[{"text": "be brief"}],
                           messages=[{"role": "user", "content": [{"text": "hello"}]}],
                           inferenceConfig={"maxTokens": 200, "temperature": 0.3})
    sent = mock.requests("/v1/chat/completions")[-1]
    assert sent["headers"]["authorization"] == "Bearer sk-openai-upstream"
    assert not any(h.startswith("x-amz") for h in sent["headers"])
    assert sent["body"]["messages"] == [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello"}]
    assert sent["body"]["max_tokens"] == 200 and sent["body"]["model"] == "gpt-4o-mini"
    assert r["stopReason"] == "end_turn" and r["output"]["message"]["role"] == "assistant"
    assert len(r["output"]["message"]["content"][0]["text"]) > 10
    assert r["usage"]["outputTokens"] > 0 and r["usage"]["inputTokens"] > 0


@pytest.mark.conformance("bedrock", "openai", "stream", "tools", "streamed tools")
def test_boto3_converse_stream_and_tools(gw: Gateway, mock: Mock) -> None:
    client = _boto(gw)
    events = list(client.converse_stream(modelId="openai/gpt-4o-mini",
                                         messages=[{"role": "user", "content": [{"text": "hi"}]}])["stream"])
    kinds = [next(iter(e)) for e in events]
    assert kinds[0] == "messageStart" and kinds[-2:] == ["messageStop", "metadata"]
    text = "".join(e["contentBlockDelta"]["delta"].get("text", "") for e in events if "contentBlockDelta" in e)
    assert len(text) > 10 and events[-2]["messageStop"]["stopReason"] == "end_turn"
    assert events[-1]["metadata"]["usage"]["outputTokens"] > 0

    tool_cfg = {"tools": [{"toolSpec": {"name": "get_weather", "description": "Weather for a city",
                                        "inputSchema": {"json": TOOL["function"]["parameters"]}}}],
                "toolChoice": {"any": {}}}
    r = client.converse(modelId="openai/gpt-4o-mini", toolConfig=tool_cfg,
                        messages=[{"role": "user", "content": [{"text": "weather in Paris?"}]}])
    assert r["stopReason"] == "tool_use"
    use = next(b["toolUse"] for b in r["output"]["message"]["content"] if "toolUse" in b)
    assert use["name"] == "get_weather" and isinstance(use["input"], dict)
    sent = mock.requests("/v1/chat/completions")[-1]["body"]
    assert sent["tool_choice"] == "required" and sent["tools"][0]["function"]["name"] == "get_weather"

    events = list(client.converse_stream(modelId="openai/gpt-4o-mini", toolConfig=tool_cfg, messages=[
        {"role": "user", "content": [{"text": "weather?"}]}])["stream"])
    start = next(e["contentBlockStart"] for e in events if "contentBlockStart" in e)
    args = "".join(e["contentBlockDelta"]["delta"]["toolUse"]["input"] for e in events
                   if "contentBlockDelta" in e and "toolUse" in e["contentBlockDelta"]["delta"])
    assert start["start"]["toolUse"]["name"] == "get_weather" and json.loads(args) == use["input"]
    assert next(e for e in events if "messageStop" in e)["messageStop"]["stopReason"] == "tool_use"

    follow = client.converse(modelId="openai/gpt-4o-mini", toolConfig=tool_cfg, messages=[
        {"role": "user", "content": [{"text": "weather?"}]},
        {"role": "assistant", "content": [{"toolUse": use}]},
        {"role": "user", "content": [{"toolResult": {"toolUseId": use["toolUseId"], "content": [{"text": "sunny"}]}}]}])
    assert follow["output"]["message"]["content"]
    msgs = mock.requests("/v1/chat/completions")[-1]["body"]["messages"]
    assert msgs[1]["tool_calls"][0]["id"] == use["toolUseId"]
    assert msgs[2] == {"role": "tool", "tool_call_id": use["toolUseId"], "content": "sunny"}


@pytest.mark.conformance("bedrock", "openai", "errors")
def test_boto3_errors_are_aws_shaped(gw: Gateway) -> None:
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError) as e:
        _boto(gw).converse(modelId="openai/mock-fail-429", messages=[{"role": "user", "content": [{"text": "x"}]}])
    assert e.value.response["Error"]["Code"] == "ThrottlingException"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429

    with pytest.raises(ClientError) as e:
        _boto(gw).converse(modelId="nosuchprovider/x", messages=[{"role": "user", "content": [{"text": "x"}]}])
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] in (400, 404)
