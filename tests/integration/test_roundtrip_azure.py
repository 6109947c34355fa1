"""openai.AzureOpenAI -> /openai/deployments/{deployment}/... -> Azure provider: the native round trip is exact.

Each test compares what the Azure client got through the gateway with what the same client gets
straight from the loopback upstream (the mock serves Azure's deployment routes), and checks what the
upstream received: the key's deployment, its api-version and api-key, never the client's key.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from conftest import Gateway, Mock

API_VERSION = "2024-10-21"
DEPLOY = "my-gpt4o-deployment"
TOOL = {"type": "function", "function": {"name": "get_weather", "description": "Weather for a city",
                                         "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                                                        "required": ["city"]}}}


@pytest.fixture(scope="module")
def gw(tmp_module: Path, mock: Mock) -> Iterator[Gateway]:
    deployments = {"gpt-4o": DEPLOY, "text-embedding-3-small": "emb-deployment", "gpt-4o-usage": "usage-deployment",
                   "gpt-4o-limited": "limited-deployment"}
    cfg = {"providers": {
        "azure": {"keys": [{"name": "az", "value": "az-upstream-key", "models": [], "weight": 1,
                            "azure_key_config": {"endpoint": mock.url, "api_version": API_VERSION,
                                                 "deployments": deployments}}]},
    }}
    g = Gateway(tmp_module, cfg)
    yield g
    g.stop()


def _client(gw: Gateway) -> openai.AzureOpenAI:
    return openai.AzureOpenAI(azure_endpoint=gw.url, api_key="sk-client-to-gateway", api_version=API_VERSION,
                              max_retries=0)


def _direct(mock: Mock) -> openai.AzureOpenAI:
    return openai.AzureOpenAI(azure_endpoint=mock.url, api_key="k", api_version=API_VERSION, max_retries=0)


def _last(mock: Mock, deployment: str, op: str = "chat/completions") -> dict[str, Any]:
    path = f"/openai/deployments/{deployment}/{op}"
    reqs = mock.requests(path)
    assert reqs, f"the upstream received no request on {path}"
    sent = reqs[-1]
    assert sent["query"] == f"api-version={API_VERSION}"
    assert sent["headers"]["api-key"] == "az-upstream-key" and "authorization" not in sent["headers"]
    return sent


@pytest.mark.conformance("azure", "azure", "stream", "usage")
def test_azure_stream_round_trip_keeps_text_finish_and_usage(gw: Gateway, mock: Mock) -> None:
    kw: dict[str, Any] = {"messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}],
                          "stream": True, "stream_options": {"include_usage": True}, "max_tokens": 300}
    chunks = list(_client(gw).chat.completions.create(model="azure/gpt-4o", **kw))
    sent = _last(mock, DEPLOY)["body"]
    assert sent["messages"] == kw["messages"] and sent["stream"] is True and sent["max_tokens"] == 300
    assert sent["stream_options"] == {"include_usage": True}
    direct = list(_direct(mock).chat.completions.create(model=DEPLOY, **kw))

    def text(cs: list[Any]) -> str:
        return "".join(c.choices[0].delta.content or "" for c in cs if c.choices)

    assert text(chunks) == text(direct) and len(text(chunks)) > 10
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]
    assert chunks[-1].usage is not None and direct[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == direct[-1].usage.completion_tokens
    assert chunks[-1].usage.prompt_tokens == direct[-1].usage.prompt_tokens


@pytest.mark.conformance("azure", "azure", "tools")
def test_azure_tool_call_and_tool_result_round_trip(gw: Gateway, mock: Mock) -> None:
    client = _client(gw)
    ask = [{"role": "user", "content": "weather in Paris?"}]
    choice = {"type": "function", "function": {"name": "get_weather"}}
    r = client.chat.completions.create(model="azure/gpt-4o", tools=[TOOL], tool_choice=choice, messages=ask)
    sent = _last(mock, DEPLOY)["body"]
    assert sent["tools"] == [TOOL] and sent["tool_choice"] == choice
    direct = _direct(mock).chat.completions.create(model=DEPLOY, tools=[TOOL], tool_choice=choice, messages=ask)
    call, d_call = r.choices[0].message.tool_calls[0], direct.choices[0].message.tool_calls[0]
    assert r.choices[0].finish_reason == "tool_calls" and call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == json.loads(d_call.function.arguments)

    follow = client.chat.completions.create(model="azure/gpt-4o", tools=[TOOL], messages=[
        *ask, r.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": '{"temp": 21}'}])
    msgs = _last(mock, DEPLOY)["body"]["messages"]
    assert msgs[1]["tool_calls"][0]["id"] == call.id
    assert msgs[2] == {"role": "tool", "tool_call_id": call.id, "content": '{"temp": 21}'}
    assert follow.choices[0].finish_reason == "stop" and follow.choices[0].message.content


@pytest.mark.conformance("azure", "azure", "streamed tools")
def test_azure_streamed_tool_call_round_trip(gw: Gateway, mock: Mock) -> None:
    ask = [{"role": "user", "content": "weather?"}]
    with _client(gw).chat.completions.stream(model="azure/gpt-4o", tools=[TOOL], messages=ask) as s:
        final = s.get_final_completion()
    sent = _last(mock, DEPLOY)["body"]
    assert sent["stream"] is True and sent["tools"][0]["function"]["name"] == "get_weather"
    with _direct(mock).chat.completions.stream(model=DEPLOY, tools=[TOOL], messages=ask) as d:
        direct = d.get_final_completion()
    call, d_call = final.choices[0].message.tool_calls[0], direct.choices[0].message.tool_calls[0]
    assert call.function.name == d_call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == json.loads(d_call.function.arguments)
    assert final.choices[0].finish_reason == "tool_calls"


@pytest.mark.conformance("azure", "azure", "embeddings")
def test_azure_embeddings_round_trip(gw: Gateway, mock: Mock) -> None:
    e = _client(gw).embeddings.create(model="azure/text-embedding-3-small", input=["a", "b"], dimensions=8,
                                      encoding_format="float")
    sent = _last(mock, "emb-deployment", "embeddings")["body"]
    assert sent["input"] == ["a", "b"] and sent["dimensions"] == 8
    direct = _direct(mock).embeddings.create(model="emb-deployment", input=["a", "b"], dimensions=8,
                                             encoding_format="float")
    assert [d.embedding for d in e.data] == [pytest.approx(d.embedding) for d in direct.data]
    assert e.usage.prompt_tokens == direct.usage.prompt_tokens


@pytest.mark.conformance("azure", "azure", "usage")
def test_azure_cached_and_reasoning_tokens_reach_the_client(gw: Gateway, mock: Mock) -> None:
    answer = {"id": "chatcmpl-usage", "object": "chat.completion", "created": 1700000000, "model": "gpt-4o",
              "choices": [{"index": 0, "message": {"role": "assistant", "content": "42."}, "finish_reason": "stop",
                           "logprobs": None}],
              "usage": {"prompt_tokens": 2006, "completion_tokens": 300, "total_tokens": 2306,
                        "prompt_tokens_details": {"cached_tokens": 1920, "audio_tokens": 0},
                        "completion_tokens_details": {"reasoning_tokens": 256, "audio_tokens": 0,
                                                      "accepted_prediction_tokens": 0,
                                                      "rejected_prediction_tokens": 0}}}
    mock.script({"status": 200, "model": "usage-deployment", "body": answer})
    r = _client(gw).chat.completions.create(model="azure/gpt-4o-usage", messages=[{"role": "user", "content": "?"}])
    assert _last(mock, "usage-deployment")["body"]["messages"] == [{"role": "user", "content": "?"}]
    assert r.choices[0].message.content == "42."
    u = r.usage
    assert (u.prompt_tokens, u.completion_tokens, u.total_tokens) == (2006, 300, 2306)
    assert u.prompt_tokens_details.cached_tokens == 1920
    assert u.completion_tokens_details.reasoning_tokens == 256


@pytest.mark.conformance("azure", "azure", "errors")
def test_azure_upstream_errors_keep_status_code_and_message(gw: Gateway, mock: Mock) -> None:
    msg = ("Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-10-21 have "
           "exceeded call rate limit of your current OpenAI S0 pricing tier. Please retry after 7 seconds.")
    mock.script({"status": 429, "model": "limited-deployment", "body": {"error": {"code": "429", "message": msg}},
                 "headers": {"Retry-After": "7"}})
    with pytest.raises(openai.RateLimitError) as e:
        _client(gw).chat.completions.create(model="azure/gpt-4o-limited", messages=[{"role": "user", "content": "x"}])
    _last(mock, "limited-deployment")
    assert e.value.status_code == 429
    doc = e.value.response.json()
    assert doc["error"]["message"] == msg
    assert doc["extra_fields"]["provider"] == "azure"

    mock.script({"status": 400, "model": DEPLOY, "body": {"error": {
        "code": "content_filter", "message": "The response was filtered due to the prompt triggering Azure "
                                             "OpenAI's content management policy.", "param": "prompt"}}})
    with pytest.raises(openai.BadRequestError) as e2:
        _client(gw).chat.completions.create(model="azure/gpt-4o", messages=[{"role": "user", "content": "x"}])
    err = e2.value.response.json()["error"]
    assert err["message"].startswith("The response was filtered") and err["code"] == "content_filter"


@pytest.mark.conformance("azure", "azure", "chat")
def test_azure_chat_round_trip_keeps_messages_params_and_answer(gw: Gateway, mock: Mock) -> None:
    kw: dict[str, Any] = {"messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello"}],
                          "max_tokens": 200, "temperature": 0.3, "stop": ["zzz"], "seed": 7}
    r = _client(gw).chat.completions.create(model="azure/gpt-4o", **kw)
    sent = _last(mock, DEPLOY)["body"]
    assert {k: sent[k] for k in kw} == kw and sent["model"] == DEPLOY
    direct = _direct(mock).chat.completions.create(model=DEPLOY, **kw)
    assert r.choices[0].message.content == direct.choices[0].message.content
    assert r.choices[0].finish_reason == direct.choices[0].finish_reason == "stop"
    assert r.model == DEPLOY and r.model_extra["extra_fields"]["provider"] == "azure"
