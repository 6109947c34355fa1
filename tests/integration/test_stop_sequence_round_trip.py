"""Regression: an Anthropic answer that ended on a stop sequence reached clients as a plain end of turn
(Anthropic SDK: stop_reason "end_turn", stop_sequence None; Converse "end_turn"; Cohere "COMPLETE"): the
matched sequence was lost in the neutral format. It now travels as the choice's `stop_reason` (vLLM's field).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import boto3
import cohere
import pytest
from botocore.config import Config

from conftest import Gateway, Mock

CLAUDE = "claude-3-5-haiku-latest"
STOP = ["mock"]  # the mock's answer is "This is a mock response ...": it stops before "mock"


@pytest.fixture(scope="module")
def gw(tmp_module: Path, mock: Mock) -> Iterator[Gateway]:
    cfg = {"providers": {"anthropic": {"keys": [{"name": "a", "value": "sk-ant-upstream", "models": [], "weight": 1}],
                                       "network_config": {"base_url": mock.url}}}}
    g = Gateway(tmp_module, cfg)
    yield g
    g.stop()


def _sent_stop(mock: Mock) -> Any:
    return mock.requests("/v1/messages")[-1]["body"]["stop_sequences"]


def test_anthropic_stop_sequence_is_not_reported_as_end_turn(gw: Gateway, mock: Mock) -> None:
    kw: dict[str, Any] = {"max_tokens": 100, "stop_sequences": STOP, "messages": [{"role": "user", "content": "hi"}]}
    client = anthropic.Anthropic(base_url=gw.url + "/anthropic", api_key="x", max_retries=0)
    msg = client.messages.create(model="anthropic/" + CLAUDE, **kw)
    assert _sent_stop(mock) == STOP
    direct = anthropic.Anthropic(base_url=mock.url, api_key="x", max_retries=0).messages.create(model=CLAUDE, **kw)
    assert direct.stop_reason == "stop_sequence" and direct.stop_sequence == "mock"
    assert (msg.stop_reason, msg.stop_sequence) == ("stop_sequence", "mock")
    assert msg.content[0].text == direct.content[0].text
    with client.messages.stream(model="anthropic/" + CLAUDE, **kw) as s:
        final = s.get_final_message()
    assert (final.stop_reason, final.stop_sequence) == ("stop_sequence", "mock")


def test_openai_client_sees_which_stop_sequence_matched(gw: Gateway, mock: Mock) -> None:
    r = gw.openai().chat.completions.create(model="anthropic/" + CLAUDE, stop=STOP,
                                            messages=[{"role": "user", "content": "hi"}])
    assert _sent_stop(mock) == STOP
    assert r.choices[0].finish_reason == "stop" and r.choices[0].model_extra["stop_reason"] == "mock"


def test_converse_stop_sequence_is_not_reported_as_end_turn(gw: Gateway, mock: Mock) -> None:
    client = boto3.client("bedrock-runtime", endpoint_url=gw.url + "/bedrock", region_name="us-east-1",
                          aws_access_key_id="A", aws_secret_access_key="s",
                          config=Config(retries={"total_max_attempts": 1}))
    kw: dict[str, Any] = {"modelId": "anthropic/" + CLAUDE, "inferenceConfig": {"stopSequences": STOP},
                          "messages": [{"role": "user", "content": [{"text": "hi"}]}]}
    assert client.converse(**kw)["stopReason"] == "stop_sequence"
    assert _sent_stop(mock) == STOP
    events = list(client.converse_stream(**kw)["stream"])
    assert next(e for e in events if "messageStop" in e)["messageStop"]["stopReason"] == "stop_sequence"


def test_cohere_stop_sequence_is_not_reported_as_complete(gw: Gateway, mock: Mock) -> None:
    client = cohere.ClientV2(api_key="x", base_url=gw.url + "/cohere")
    kw: dict[str, Any] = {"model": "anthropic/" + CLAUDE, "stop_sequences": STOP,
                          "messages": [{"role": "user", "content": "hi"}]}
    assert client.chat(**kw).finish_reason == "STOP_SEQUENCE"
    assert _sent_stop(mock) == STOP
    assert list(client.chat_stream(**kw))[-1].delta.finish_reason == "STOP_SEQUENCE"
