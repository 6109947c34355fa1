"""The Responses API on a provider with no upstream /v1/responses is served through chat."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from conftest import Gateway, Mock


@pytest.fixture(scope="module")
def gw(tmp_module: Path, mock: Mock) -> Iterator[Gateway]:
    cfg = {"providers": {"groq": {"keys": [{"name": "g", "value": "sk-groq", "models": [], "weight": 1}],
                                  "network_config": {"base_url": mock.url}}}}
    g = Gateway(tmp_module, cfg)
    yield g
    g.stop()


def test_responses_json_is_served_by_upstream_chat(gw: Gateway, mock: Mock) -> None:
    mock.reset()
    r = gw.openai().responses.create(model="groq/llama-3.3-70b", input="hello", instructions="be brief",
                                     max_output_tokens=50)
    sent = mock.requests()
    assert [x["path"] for x in sent] == ["/v1/chat/completions"]
    body = sent[0]["body"]
    assert body["model"] == "llama-3.3-70b"
    assert body["messages"] == [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello"}]
    assert body["max_tokens"] == 50 and "max_output_tokens" not in body
    direct = openai.OpenAI(base_url=mock.url + "/v1", api_key="x", max_retries=0).chat.completions.create(
        model="llama-3.3-70b", messages=body["messages"])
    assert r.output_text == direct.choices[0].message.content
    assert r.usage is not None and r.usage.output_tokens == direct.usage.completion_tokens


def test_responses_stream_is_served_by_upstream_chat_stream(gw: Gateway, mock: Mock) -> None:
    mock.reset()
    with gw.openai().responses.stream(model="groq/llama-3.3-70b", input="hi") as s:
        kinds = [ev.type for ev in s]
        final = s.get_final_response()
    assert kinds[0] == "response.created" and kinds[-1] == "response.completed"
    assert "response.output_text.delta" in kinds
    sent = mock.requests()
    assert sent[0]["path"] == "/v1/chat/completions" and sent[0]["body"]["stream"] is True
    assert final.output_text and final.usage is not None and final.usage.output_tokens > 0


def test_responses_needing_server_state_are_refused_clearly(gw: Gateway) -> None:
    with pytest.raises(openai.BadRequestError) as e:
        gw.openai().responses.create(model="groq/llama-3.3-70b", input="x", previous_response_id="resp_1")
    assert "previous_response_id" in str(e.value)
