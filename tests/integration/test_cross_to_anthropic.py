"""google-genai SDK, boto3 (Converse) and the Cohere SDK -> their drop-in routes -> an Anthropic provider.

Each test checks the Messages request the provider received, then replays that exact request to the
provider (the loopback mock) and compares its own answer with what the client SDK got: text, tool
call, finish reason, usage, and errors in the client API's own shape.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import cohere
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from google import genai
from google.genai import errors, types

from conftest import Gateway, Mock
from native_wire import native_text, native_tool, native_usage, replay

CLAUDE = "claude-3-5-haiku-latest"
MODEL = "anthropic/" + CLAUDE
SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
ANTHROPIC_TOOL = {"name": "get_weather", "description": "Weather for a city", "input_schema": SCHEMA}
FEATURES = ("chat", "stream", "tools", "streamed tools", "usage", "errors")


@pytest.fixture(scope="module")
def gw(tmp_module: Path, mock: Mock) -> Iterator[Gateway]:
    cfg = {"providers": {"anthropic": {"keys": [{"name": "a", "value": "sk-ant-upstream", "models": [], "weight": 1}],
                                       "network_config": {"base_url": mock.url}}}}
    g = Gateway(tmp_module, cfg)
    yield g
    g.stop()


def _sent(mock: Mock, stream: bool = False, model: str = CLAUDE) -> dict[str, Any]:
    reqs = mock.requests("/v1/messages")
    assert reqs, "the upstream received no request on /v1/messages"
    sent = reqs[-1]
    h = sent["headers"]
    assert h["x-api-key"] == "sk-ant-upstream" and h["anthropic-version"] == "2023-06-01"
    assert "authorization" not in h and "x-goog-api-key" not in h
    assert sent["body"]["model"] == model and (sent["body"].get("stream") is True) == stream
    return sent


def _check_basic(body: dict[str, Any]) -> None:
    assert body["system"] == "be brief" or body["system"] == [{"type": "text", "text": "be brief"}]
    assert body["messages"] in ([{"role": "user", "content": "hello"}],
                                [{"role": "user", "content": [{"type": "text", "text": "hello"}]}])
    assert body["max_tokens"] == 200


def _check_tool_result(body: dict[str, Any], call_id: str) -> None:
    uses = [b for b in body["messages"][-2]["content"] if b["type"] == "tool_use"]
    assert body["messages"][-2]["role"] == "assistant" and [u["id"] for u in uses] == [call_id]
    result = body["messages"][-1]["content"][0]
    assert body["messages"][-1]["role"] == "user" and result["type"] == "tool_result"
    assert result["tool_use_id"] == call_id and "21" in json.dumps(result.get("content"))


# --- google-genai -----------------------------------------------------------------------------------

def _genai(gw: Gateway) -> genai.Client:
    return genai.Client(api_key="goog-client-to-gateway", http_options=types.HttpOptions(
        base_url=gw.url + "/genai", api_version="v1beta", retry_options=types.HttpRetryOptions(attempts=1)))


GENAI_TOOLS = types.GenerateContentConfig(
    tools=[types.Tool(function_declarations=[types.FunctionDeclaration(
        name="get_weather", description="Weather for a city", parameters_json_schema=SCHEMA)])],
    tool_config=types.ToolConfig(function_calling_config=types.FunctionCallingConfig(mode="ANY")))
GENAI_BASIC = types.GenerateContentConfig(system_instruction="be brief", max_output_tokens=200)


@pytest.mark.conformance("genai", "anthropic", "chat", "usage")
def test_genai_sdk_to_anthropic_matches_the_provider_answer(gw: Gateway, mock: Mock) -> None:
    client = _genai(gw)
    r = client.models.generate_content(model=MODEL, contents="hello", config=GENAI_BASIC)
    sent = _sent(mock)
    _check_basic(sent["body"])
    native = replay(mock, sent)
    assert r.text == native_text("anthropic", native) and r.candidates[0].content.role == "model"
    assert r.candidates[0].finish_reason == types.FinishReason.STOP
    u = r.usage_metadata
    assert (u.prompt_token_count, u.candidates_token_count) == native_usage("anthropic", native)
    assert u.total_token_count == sum(native_usage("anthropic", native))


@pytest.mark.conformance("genai", "anthropic", "stream", "usage")
def test_genai_sdk_stream_from_anthropic_matches_the_provider_answer(gw: Gateway, mock: Mock) -> None:
    client = _genai(gw)
    chunks = list(client.models.generate_content_stream(model=MODEL, contents="hello", config=GENAI_BASIC))
    sent = _sent(mock, stream=True)
    _check_basic(sent["body"])
    native = replay(mock, sent)
    assert len(chunks) > 2 and "".join(c.text or "" for c in chunks) == native_text("anthropic", native)
    assert chunks[-1].candidates[0].finish_reason == types.FinishReason.STOP
    assert chunks[-1].usage_metadata.candidates_token_count == native_usage("anthropic", native)[1]


@pytest.mark.conformance("genai", "anthropic", "tools", "streamed tools")
def test_genai_sdk_function_calls_through_anthropic_match_the_provider(gw: Gateway, mock: Mock) -> None:
    client = _genai(gw)
    r = client.models.generate_content(model=MODEL, contents="weather in Paris?", config=GENAI_TOOLS)
    sent = _sent(mock)
    assert sent["body"]["tools"] == [ANTHROPIC_TOOL] and sent["body"]["tool_choice"]["type"] == "any"
    call = r.function_calls[0]
    assert (call.name, call.args) == native_tool("anthropic", replay(mock, sent))

    follow = client.models.generate_content(model=MODEL, config=GENAI_TOOLS, contents=[
        types.Content(role="user", parts=[types.Part(text="weather in Paris?")]), r.candidates[0].content,
        types.Content(role="user", parts=[types.Part.from_function_response(name="get_weather",
                                                                            response={"temp": 21})])])
    body = _sent(mock)["body"]
    call_id = next(b["id"] for b in body["messages"][-2]["content"] if b["type"] == "tool_use")
    _check_tool_result(body, call_id)
    assert follow.candidates[0].content.parts

    streamed = [fc for c in client.models.generate_content_stream(
        model=MODEL, contents="weather?", config=GENAI_TOOLS) for fc in c.function_calls or ()]
    sent = _sent(mock, stream=True)
    assert sent["body"]["tools"] == [ANTHROPIC_TOOL]
    assert [(c.name, c.args) for c in streamed] == [native_tool("anthropic", replay(mock, sent))]


@pytest.mark.conformance("genai", "anthropic", "errors")
def test_genai_sdk_gets_anthropic_errors_in_google_shape(gw: Gateway, mock: Mock) -> None:
    client = _genai(gw)
    mock.script({"status": 429, "model": "claude-limited", "error_message": "anthropic rate limit (mock)"})
    with pytest.raises(errors.ClientError) as e:
        client.models.generate_content(model="anthropic/claude-limited", contents="x")
    _sent(mock, model="claude-limited")
    assert e.value.code == 429 and e.value.status == "RESOURCE_EXHAUSTED"
    assert "anthropic rate limit (mock)" in e.value.message
    mock.script({"status": 500, "model": "claude-limited", "error_message": "anthropic internal error (mock)"})
    with pytest.raises(errors.ServerError) as e2:
        client.models.generate_content(model="anthropic/claude-limited", contents="x")
    assert e2.value.code == 500 and e2.value.status == "INTERNAL"
    assert "anthropic internal error (mock)" in e2.value.message


# --- boto3 Converse ---------------------------------------------------------------------------------

def _boto(gw: Gateway) -> Any:
    return boto3.client("bedrock-runtime", endpoint_url=gw.url + "/bedrock", region_name="us-east-1",
                        aws_access_key_id="AKIDCLIENT", aws_secret_access_key="client-secret",
                        config=Config(retries={"total_max_attempts": 1}))


CONVERSE_BASIC: dict[str, Any] = {"system": [{"text": "be brief"}],
                                  "messages": [{"role": "user", "content": [{"text": "hello"}]}],
                                  "inferenceConfig": {"maxTokens": 200}}
CONVERSE_TOOLS = {"tools": [{"toolSpec": {"name": "get_weather", "description": "Weather for a city",
                                          "inputSchema": {"json": SCHEMA}}}],
                  "toolChoice": {"tool": {"name": "get_weather"}}}


@pytest.mark.conformance("bedrock", "anthropic", "chat", "usage")
def test_boto3_converse_to_anthropic_matches_the_provider_answer(gw: Gateway, mock: Mock) -> None:
    r = _boto(gw).converse(modelId=MODEL, **CONVERSE_BASIC)
    sent = _sent(mock)
    _check_basic(sent["body"])
    native = replay(mock, sent)
    assert r["output"]["message"] == {"role": "assistant", "content": [{"text": native_text("anthropic", native)}]}
    assert r["stopReason"] == "end_turn"
    assert (r["usage"]["inputTokens"], r["usage"]["outputTokens"]) == native_usage("anthropic", native)


@pytest.mark.conformance("bedrock", "anthropic", "usage")
def test_boto3_cache_points_reach_anthropic_as_cache_control(gw: Gateway, mock: Mock) -> None:
    answer = json.loads((Path(__file__).resolve().parents[1] / "fixtures" / "anthropic" /
                         "response_cache_usage.json").read_text())["anthropic"]
    mock.script({"status": 200, "model": "claude-cached", "body": answer})
    r = _boto(gw).converse(modelId="anthropic/claude-cached", system=[
        {"text": "a long shared prefix"}, {"cachePoint": {"type": "default"}}],
        messages=[{"role": "user", "content": [{"text": "themes?"}]}])
    sent = _sent(mock, model="claude-cached")["body"]
    assert sent["system"] == [{"type": "text", "text": "a long shared prefix", "cache_control": {"type": "ephemeral"}}]
    assert r["usage"] == {"inputTokens": 21, "outputTokens": 503, "totalTokens": 2572,
                          "cacheReadInputTokens": 1800, "cacheWriteInputTokens": 248}
    assert r["stopReason"] == "max_tokens"


@pytest.mark.conformance("bedrock", "anthropic", "stream", "usage")
def test_boto3_converse_stream_from_anthropic_matches_the_provider_answer(gw: Gateway, mock: Mock) -> None:
    events = list(_boto(gw).converse_stream(modelId=MODEL, **CONVERSE_BASIC)["stream"])
    sent = _sent(mock, stream=True)
    _check_basic(sent["body"])
    native = replay(mock, sent)
    kinds = [next(iter(e)) for e in events]
    assert kinds[0] == "messageStart" and kinds[-2:] == ["messageStop", "metadata"]
    deltas = [e["contentBlockDelta"]["delta"]["text"] for e in events if "contentBlockDelta" in e]
    assert len(deltas) > 2 and "".join(deltas) == native_text("anthropic", native)
    assert events[-2]["messageStop"]["stopReason"] == "end_turn"
    usage = events[-1]["metadata"]["usage"]
    assert (usage["inputTokens"], usage["outputTokens"]) == native_usage("anthropic", native)


@pytest.mark.conformance("bedrock", "anthropic", "tools", "streamed tools")
def test_boto3_tool_use_through_anthropic_matches_the_provider(gw: Gateway, mock: Mock) -> None:
    client = _boto(gw)
    ask = [{"role": "user", "content": [{"text": "weather in Paris?"}]}]
    r = client.converse(modelId=MODEL, toolConfig=CONVERSE_TOOLS, messages=ask)
    sent = _sent(mock)
    assert sent["body"]["tools"] == [ANTHROPIC_TOOL]
    assert sent["body"]["tool_choice"] == {"type": "tool", "name": "get_weather"}
    use = next(b["toolUse"] for b in r["output"]["message"]["content"] if "toolUse" in b)
    assert r["stopReason"] == "tool_use" and (use["name"], use["input"]) == native_tool("anthropic", replay(mock, sent))

    client.converse(modelId=MODEL, toolConfig=CONVERSE_TOOLS, messages=[
        *ask, {"role": "assistant", "content": [{"toolUse": use}]},
        {"role": "user", "content": [{"toolResult": {"toolUseId": use["toolUseId"], "content": [{"text": "21"}]}}]}])
    _check_tool_result(_sent(mock)["body"], use["toolUseId"])

    events = list(client.converse_stream(modelId=MODEL, toolConfig=CONVERSE_TOOLS, messages=ask)["stream"])
    sent = _sent(mock, stream=True)
    start = next(e["contentBlockStart"]["start"]["toolUse"] for e in events if "contentBlockStart" in e)
    args = "".join(e["contentBlockDelta"]["delta"]["toolUse"]["input"] for e in events
                   if "contentBlockDelta" in e and "toolUse" in e["contentBlockDelta"]["delta"])
    assert (start["name"], json.loads(args)) == native_tool("anthropic", replay(mock, sent))
    assert next(e for e in events if "messageStop" in e)["messageStop"]["stopReason"] == "tool_use"


@pytest.mark.conformance("bedrock", "anthropic", "errors")
def test_boto3_gets_anthropic_errors_in_aws_shape(gw: Gateway, mock: Mock) -> None:
    ask = [{"role": "user", "content": [{"text": "x"}]}]
    mock.script({"status": 429, "model": "claude-limited", "error_message": "anthropic rate limit (mock)"})
    with pytest.raises(ClientError) as e:
        _boto(gw).converse(modelId="anthropic/claude-limited", messages=ask)
    _sent(mock, model="claude-limited")
    err = e.value.response
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 429 and err["Error"]["Code"] == "ThrottlingException"
    assert "anthropic rate limit (mock)" in err["Error"]["Message"]
    mock.script({"status": 400, "model": "claude-limited", "error_message": "messages: bad turn order (mock)"})
    with pytest.raises(ClientError) as e2:
        _boto(gw).converse(modelId="anthropic/claude-limited", messages=ask)
    err = e2.value.response
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 400 and err["Error"]["Code"] == "ValidationException"
    assert "messages: bad turn order (mock)" in err["Error"]["Message"]


# --- Cohere SDK -------------------------------------------------------------------------------------

def _cohere(gw: Gateway) -> cohere.ClientV2:
    return cohere.ClientV2(api_key="co-client-to-gateway", base_url=gw.url + "/cohere")


COHERE_BASIC: dict[str, Any] = {"messages": [{"role": "system", "content": "be brief"},
                                             {"role": "user", "content": "hello"}], "max_tokens": 200}
COHERE_TOOL = {"type": "function", "function": {"name": "get_weather", "description": "Weather for a city",
                                                "parameters": SCHEMA}}


@pytest.mark.conformance("cohere", "anthropic", "chat", "usage")
def test_cohere_sdk_to_anthropic_matches_the_provider_answer(gw: Gateway, mock: Mock) -> None:
    r = _cohere(gw).chat(model=MODEL, **COHERE_BASIC)
    sent = _sent(mock)
    _check_basic(sent["body"])
    native = replay(mock, sent)
    assert r.message.role == "assistant" and r.message.content[0].text == native_text("anthropic", native)
    assert r.finish_reason == "COMPLETE"
    assert (r.usage.tokens.input_tokens, r.usage.tokens.output_tokens) == native_usage("anthropic", native)


@pytest.mark.conformance("cohere", "anthropic", "stream", "usage")
def test_cohere_sdk_stream_from_anthropic_matches_the_provider_answer(gw: Gateway, mock: Mock) -> None:
    events = list(_cohere(gw).chat_stream(model=MODEL, **COHERE_BASIC))
    sent = _sent(mock, stream=True)
    _check_basic(sent["body"])
    native = replay(mock, sent)
    kinds = [e.type for e in events]
    assert kinds[0] == "message-start" and kinds[-1] == "message-end" and kinds.count("content-delta") > 2
    text = "".join(e.delta.message.content.text for e in events if e.type == "content-delta")
    assert text == native_text("anthropic", native)
    end = events[-1].delta
    assert end.finish_reason == "COMPLETE"
    assert (end.usage.tokens.input_tokens, end.usage.tokens.output_tokens) == native_usage("anthropic", native)


@pytest.mark.conformance("cohere", "anthropic", "tools", "streamed tools")
def test_cohere_sdk_tool_calls_through_anthropic_match_the_provider(gw: Gateway, mock: Mock) -> None:
    client = _cohere(gw)
    ask = [{"role": "user", "content": "weather in Paris?"}]
    r = client.chat(model=MODEL, tools=[COHERE_TOOL], tool_choice="REQUIRED", messages=ask)
    sent = _sent(mock)
    assert sent["body"]["tools"] == [ANTHROPIC_TOOL] and sent["body"]["tool_choice"]["type"] == "any"
    call = r.message.tool_calls[0]
    assert r.finish_reason == "TOOL_CALL"
    assert (call.function.name, json.loads(call.function.arguments)) == native_tool("anthropic", replay(mock, sent))

    client.chat(model=MODEL, tools=[COHERE_TOOL], messages=[
        *ask, {"role": "assistant", "tool_calls": [call.dict()], "tool_plan": r.message.tool_plan},
        {"role": "tool", "tool_call_id": call.id, "content": [{"type": "text", "text": "21 degrees"}]}])
    _check_tool_result(_sent(mock)["body"], call.id)

    evs = list(client.chat_stream(model=MODEL, tools=[COHERE_TOOL], messages=ask))
    sent = _sent(mock, stream=True)
    start = next(e for e in evs if e.type == "tool-call-start")
    args = (start.delta.message.tool_calls.function.arguments or "") + "".join(
        e.delta.message.tool_calls.function.arguments for e in evs if e.type == "tool-call-delta")
    name = start.delta.message.tool_calls.function.name
    assert (name, json.loads(args)) == native_tool("anthropic", replay(mock, sent))
    assert evs[-1].delta.finish_reason == "TOOL_CALL"


@pytest.mark.conformance("cohere", "anthropic", "errors")
def test_cohere_sdk_gets_anthropic_errors_in_cohere_shape(gw: Gateway, mock: Mock) -> None:
    client = _cohere(gw)
    mock.script({"status": 429, "model": "claude-limited", "error_message": "anthropic rate limit (mock)"})
    with pytest.raises(cohere.errors.TooManyRequestsError) as e:
        client.chat(model="anthropic/claude-limited", messages=[{"role": "user", "content": "x"}],
                    request_options={"max_retries": 0})
    _sent(mock, model="claude-limited")
    assert e.value.status_code == 429 and "anthropic rate limit (mock)" in e.value.body["message"]
    mock.script({"status": 400, "model": "claude-limited", "error_message": "messages: bad turn order (mock)"})
    with pytest.raises(cohere.errors.BadRequestError) as e2:
        client.chat(model="anthropic/claude-limited", messages=[{"role": "user", "content": "x"}],
                    request_options={"max_retries": 0})
    assert "messages: bad turn order (mock)" in e2.value.body["message"]
