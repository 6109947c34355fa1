"""Regression: on a native round trip the provider's own finish reason was flattened through the neutral
format (Gemini RECITATION -> SAFETY, MALFORMED_FUNCTION_CALL -> STOP; Converse guardrail_intervened ->
content_filtered, stop_sequence -> end_turn; Cohere STOP_SEQUENCE -> COMPLETE, TIMEOUT -> ERROR; Anthropic
pause_turn -> end_turn). It now rides along as the choice's `native_finish_reason` (OpenRouter's field), and
a client of the same API gets it back unchanged; other clients get the mapped value.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import boto3
import cohere
import openai
import pytest
from botocore.config import Config
from google import genai
from google.genai import types

from conftest import Gateway, Mock


@pytest.fixture(scope="module")
def gw(tmp_module: Path, mock: Mock) -> Iterator[Gateway]:
    net = {"base_url": mock.url}
    cfg = {"providers": {
        "gemini": {"keys": [{"name": "g", "value": "g-up", "models": [], "weight": 1}], "network_config": net},
        "cohere": {"keys": [{"name": "c", "value": "c-up", "models": [], "weight": 1}], "network_config": net},
        "anthropic": {"keys": [{"name": "a", "value": "a-up", "models": [], "weight": 1}], "network_config": net},
        "bedrock": {"keys": [{"name": "b", "value": "", "models": [], "weight": 1,
                              "bedrock_key_config": {"access_key": "AKID", "secret_key": "s", "region": "us-east-1"}}],
                    "network_config": net},
    }}
    g = Gateway(tmp_module, cfg)
    yield g
    g.stop()


@pytest.mark.parametrize("reason", ["RECITATION", "MALFORMED_FUNCTION_CALL", "BLOCKLIST", "OTHER"])
def test_gemini_finish_reason_is_not_flattened_for_genai_clients(gw: Gateway, mock: Mock, reason: str) -> None:
    answer = {"candidates": [{"content": {"role": "model", "parts": [{"text": "x"}]}, "finishReason": reason,
                              "index": 0}],
              "usageMetadata": {"promptTokenCount": 1, "candidatesTokenCount": 1, "totalTokenCount": 2}}
    mock.script({"status": 200, "model": "gemini-fin", "body": answer})
    client = genai.Client(api_key="k", http_options=types.HttpOptions(
        base_url=gw.url + "/genai", api_version="v1beta", retry_options=types.HttpRetryOptions(attempts=1)))
    r = client.models.generate_content(model="gemini/gemini-fin", contents="x")
    assert mock.requests("/v1beta/models/gemini-fin:generateContent")
    assert r.candidates[0].finish_reason == reason


@pytest.mark.parametrize("reason", ["STOP_SEQUENCE", "TIMEOUT", "MAX_TOKENS"])
def test_cohere_finish_reason_is_not_flattened_for_cohere_clients(gw: Gateway, mock: Mock, reason: str) -> None:
    answer = {"id": "x", "finish_reason": reason, "message": {"role": "assistant", "content": [
        {"type": "text", "text": "x"}]}, "usage": {"tokens": {"input_tokens": 1, "output_tokens": 1}}}
    mock.script({"status": 200, "model": "command-fin", "body": answer})
    r = cohere.ClientV2(api_key="k", base_url=gw.url + "/cohere").chat(
        model="cohere/command-fin", messages=[{"role": "user", "content": "x"}])
    assert mock.requests("/v2/chat")[-1]["body"]["model"] == "command-fin"
    assert r.finish_reason == reason


@pytest.mark.parametrize("reason", ["guardrail_intervened", "stop_sequence", "model_context_window_exceeded"])
def test_converse_stop_reason_is_not_flattened_for_boto3_clients(gw: Gateway, mock: Mock, reason: str) -> None:
    answer = {"output": {"message": {"role": "assistant", "content": [{"text": "x"}]}}, "stopReason": reason,
              "usage": {"inputTokens": 1, "outputTokens": 1, "totalTokens": 2}, "metrics": {"latencyMs": 1}}
    mock.script({"status": 200, "model": "fin.model-v1:0", "body": answer})
    client = boto3.client("bedrock-runtime", endpoint_url=gw.url + "/bedrock", region_name="us-east-1",
                          aws_access_key_id="A", aws_secret_access_key="s",
                          config=Config(retries={"total_max_attempts": 1}))
    r = client.converse(modelId="bedrock/fin.model-v1:0", messages=[{"role": "user", "content": [{"text": "x"}]}])
    assert mock.requests("/model/fin.model-v1%3A0/converse")
    assert r["stopReason"] == reason


@pytest.mark.parametrize("reason", ["pause_turn", "refusal", "model_context_window_exceeded"])
def test_anthropic_stop_reason_is_not_flattened_for_anthropic_clients(gw: Gateway, mock: Mock, reason: str) -> None:
    answer = {"id": "msg_fin", "type": "message", "role": "assistant", "model": "claude-fin",
              "content": [{"type": "text", "text": "x"}], "stop_reason": reason, "stop_sequence": None,
              "usage": {"input_tokens": 1, "output_tokens": 1}}
    mock.script({"status": 200, "model": "claude-fin", "body": answer})
    msg = anthropic.Anthropic(base_url=gw.url + "/anthropic", api_key="k", max_retries=0).messages.create(
        model="anthropic/claude-fin", max_tokens=10, messages=[{"role": "user", "content": "x"}])
    assert mock.requests("/v1/messages")[-1]["body"]["model"] == "claude-fin"
    assert msg.stop_reason == reason


def test_other_clients_get_the_mapped_finish_reason(gw: Gateway, mock: Mock) -> None:
    answer: dict[str, Any] = {"candidates": [{"content": {"role": "model", "parts": [{"text": "x"}]},
                                              "finishReason": "RECITATION", "index": 0}]}
    mock.script({"status": 200, "model": "gemini-fin", "body": answer}, {"status": 200, "model": "gemini-fin",
                                                                         "body": answer})
    r = openai.OpenAI(base_url=gw.url + "/v1", api_key="k", max_retries=0).chat.completions.create(
        model="gemini/gemini-fin", messages=[{"role": "user", "content": "x"}])
    assert r.choices[0].finish_reason == "content_filter"
    assert r.choices[0].model_extra["native_finish_reason"] == "RECITATION"
    msg = anthropic.Anthropic(base_url=gw.url + "/anthropic", api_key="k", max_retries=0).messages.create(
        model="gemini/gemini-fin", max_tokens=10, messages=[{"role": "user", "content": "x"}])
    assert msg.stop_reason == "refusal"  # content_filter, as Anthropic says it
