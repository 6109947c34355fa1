"""`/cohere/v1/tokenize`: the Cohere SDK's `tokenize` through the gateway to a Cohere provider's own
/v1/tokenize (the mock), and a clear 400 for a model that routes to any other provider."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cohere
import pytest

from conftest import Gateway, Mock, http


@pytest.fixture(scope="module")
def gw(tmp_module: Path, mock: Mock) -> Iterator[Gateway]:
    cfg = {"providers": {
        "cohere": {"keys": [{"name": "c", "value": "co-upstream", "models": [], "weight": 1}],
                   "network_config": {"base_url": mock.url}},
        "openai": {"keys": [{"name": "o", "value": "sk-upstream", "models": [], "weight": 1}],
                   "network_config": {"base_url": mock.url}},
    }}
    g = Gateway(tmp_module, cfg)
    yield g
    g.stop()


def test_cohere_sdk_tokenize_is_forwarded_to_cohere(gw: Gateway, mock: Mock) -> None:
    mock.reset()
    client = cohere.ClientV2(api_key="co-client-to-gateway", base_url=gw.url + "/cohere")
    r = client.tokenize(text="tokenize me! :D", model="cohere/command-r-plus", offline=False)
    sent = mock.requests("/v1/tokenize")[-1]
    assert sent["body"] == {"text": "tokenize me! :D", "model": "command-r-plus"}
    assert sent["headers"]["authorization"] == "Bearer co-upstream"
    direct = cohere.ClientV2(api_key="k", base_url=mock.url).tokenize(
        text="tokenize me! :D", model="command-r-plus", offline=False)
    assert r.tokens == direct.tokens and len(r.tokens) == 3
    assert r.token_strings == ["tokenize", " me!", " :D"]
    # The SDK's default (offline) path asks for the model's tokenizer first, then falls back to the API.
    again = client.tokenize(text="tokenize me! :D", model="cohere/command-r-plus")
    assert again.tokens == r.tokens


def test_tokenize_for_a_non_cohere_model_is_a_clear_error(gw: Gateway, mock: Mock) -> None:
    mock.reset()
    client = cohere.ClientV2(api_key="k", base_url=gw.url + "/cohere")
    with pytest.raises(cohere.errors.BadRequestError) as exc:
        client.tokenize(text="hello", model="openai/gpt-4o-mini", offline=False)
    msg = exc.value.body["message"]
    assert "only offered by Cohere providers" in msg and "'openai'" in msg and "cohere/" in msg
    assert not mock.requests("/v1/tokenize")


def test_tokenize_errors_keep_coheres_shape(gw: Gateway, mock: Mock) -> None:
    status, _, raw = http("POST", gw.url + "/cohere/v1/tokenize", {"model": "cohere/command-r", "text": ""})
    assert status == 400 and b"text must be a non-empty string" in raw
    mock.script({"model": "command-r", "status": 429, "body": {"message": "trial key limit"}})
    status, _, raw = http("POST", gw.url + "/cohere/v1/tokenize", {"model": "cohere/command-r", "text": "hi"})
    assert status == 429 and b"trial key limit" in raw
