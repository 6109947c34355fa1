"""Text completions (the OpenAI SDK's completions.create) on the bedrock provider over InvokeModel
(Anthropic legacy text and Mistral bodies, JSON and event stream) and on the anthropic provider over
the legacy /v1/complete; and images in for bedrock (data: and http(s) URLs -> Converse image blocks,
boto3 converse image blocks -> an OpenAI upstream). Upstreams are the loopback mock."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from bifrost.mock.content import approx_tokens
from conftest import Gateway, Mock, http

CLAUDE = "anthropic.claude-v2:1"
MISTRAL = "mistral.mistral-7b-instruct-v0:2"
# A 1x1 PNG.
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9aw"
                       "AAAABJRU5ErkJggg==")


class _ImageHost(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        if self.path.split("?", 1)[0] == "/cat.png":
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(PNG)))
            self.end_headers()
            self.wfile.write(PNG)
        else:
            self.send_error(404)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def image_host() -> Iterator[str]:
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _ImageHost)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


@pytest.fixture(scope="module")
def gw(tmp_module: Path, mock: Mock) -> Iterator[Gateway]:
    cfg = {"providers": {
        "bedrock": {"keys": [{"name": "b", "value": "", "models": [], "weight": 1,
                              "bedrock_key_config": {"access_key": "AKIDEXAMPLE", "secret_key": "secret",
                                                     "region": "us-west-2"}}],
                    "network_config": {"base_url": mock.url}},
        "anthropic": {"keys": [{"name": "a", "value": "sk-ant-upstream", "models": [], "weight": 1}],
                      "network_config": {"base_url": mock.url}},
        "openai": {"keys": [{"name": "o", "value": "sk-openai-upstream", "models": [], "weight": 1}],
                   "network_config": {"base_url": mock.url}},
    }}
    # The image host is on loopback: let the gateway fetch from private addresses.
    g = Gateway(tmp_module, cfg, env={"BIFROST_IMAGE_FETCH_ALLOW_PRIVATE": "1"})
    yield g
    g.stop()


def _sent(mock: Mock, model: str, op: str) -> dict[str, Any]:
    reqs = mock.requests("/model/" + model.replace(":", "%3A") + "/" + op)
    assert reqs, f"the upstream received no {op} request for {model}"
    return reqs[-1]


def test_bedrock_claude_text_completion_over_invoke(gw: Gateway, mock: Mock) -> None:
    mock.reset()
    r = gw.openai().completions.create(model="bedrock/" + CLAUDE, prompt="Say hello", max_tokens=50,
                                       temperature=0.5, stop=["END"])
    sent = _sent(mock, CLAUDE, "invoke")
    assert sent["body"] == {"prompt": "\n\nHuman: Say hello\n\nAssistant:", "max_tokens_to_sample": 50,
                            "stop_sequences": ["END"], "temperature": 0.5}
    assert sent["headers"]["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/us-west-2/bedrock/aws4_request" in sent["headers"]["authorization"]
    assert r.object == "text_completion" and r.model == CLAUDE
    assert len(r.choices) == 1 and len(r.choices[0].text) > 10
    assert r.choices[0].finish_reason == "stop"  # Anthropic stop_reason "stop_sequence"
    # usage is what Bedrock put in the x-amzn-bedrock-*-token-count headers
    assert r.usage is not None and r.usage.prompt_tokens == max(1, approx_tokens(sent["body"]["prompt"]))
    assert r.usage.completion_tokens == 20 and r.usage.total_tokens == r.usage.prompt_tokens + 20


def test_bedrock_text_completion_max_tokens_is_finish_reason_length(gw: Gateway, mock: Mock) -> None:
    mock.reset()
    r = gw.openai().completions.create(model="bedrock/" + CLAUDE, prompt=["one", "two"], max_tokens=3)
    assert r.choices[0].finish_reason == "length"  # stop_reason "max_tokens"
    assert r.usage is not None and r.usage.completion_tokens == 3
    assert _sent(mock, CLAUDE, "invoke")["body"]["prompt"] == "\n\nHuman: one\n\ntwo\n\nAssistant:"


def test_bedrock_mistral_text_completion(gw: Gateway, mock: Mock) -> None:
    mock.reset()
    r = gw.openai().completions.create(model="bedrock/" + MISTRAL, prompt="<s>[INST] hi [/INST]", max_tokens=40,
                                       stop="\n\n", top_p=0.9)
    assert _sent(mock, MISTRAL, "invoke")["body"] == {"prompt": "<s>[INST] hi [/INST]", "max_tokens": 40,
                                                      "stop": ["\n\n"], "top_p": 0.9}
    assert r.choices[0].finish_reason == "stop" and r.choices[0].text.strip()
    assert r.usage is not None and r.usage.completion_tokens == 20


@pytest.mark.parametrize("model", [CLAUDE, MISTRAL])
def test_bedrock_text_completion_stream_over_invoke_with_response_stream(gw: Gateway, mock: Mock,
                                                                         model: str) -> None:
    mock.reset()
    chunks = list(gw.openai().completions.create(model="bedrock/" + model, prompt="hello", max_tokens=100,
                                                 stream=True, stream_options={"include_usage": True}))
    sent = _sent(mock, model, "invoke-with-response-stream")
    assert sent["headers"]["accept"] == "application/vnd.amazon.eventstream"
    text = "".join(c.choices[0].text for c in chunks if c.choices)
    assert len(text.split()) == 20
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == ["stop"]
    usage = chunks[-1].usage  # from amazon-bedrock-invocationMetrics
    assert chunks[-1].choices == [] and usage is not None and usage.completion_tokens == 20
    assert usage.prompt_tokens == max(1, approx_tokens(sent["body"]["prompt"]))


def test_bedrock_text_stream_without_include_usage_has_no_usage_chunk(gw: Gateway) -> None:
    chunks = list(gw.openai().completions.create(model="bedrock/" + MISTRAL, prompt="hello", stream=True))
    assert chunks and all(c.choices for c in chunks) and all(c.usage is None for c in chunks)
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_bedrock_text_completion_for_other_families_is_a_clear_400(gw: Gateway, mock: Mock) -> None:
    import openai

    mock.reset()
    with pytest.raises(openai.BadRequestError) as e:
        gw.openai().completions.create(model="bedrock/amazon.titan-text-express-v1", prompt="x")
    assert "Anthropic" in str(e.value) and "Mistral" in str(e.value) and "/v1/chat/completions" in str(e.value)
    assert not mock.requests("/model/amazon.titan-text-express-v1/invoke")


def test_bedrock_text_completion_upstream_error_keeps_status(gw: Gateway) -> None:
    import openai

    with pytest.raises(openai.APIStatusError) as e:
        gw.openai().completions.create(model="bedrock/mock-fail-429-anthropic.claude-v2", prompt="x")
    assert e.value.status_code == 429


def test_anthropic_text_completion_over_legacy_complete(gw: Gateway, mock: Mock) -> None:
    mock.reset()
    r = gw.openai().completions.create(model="anthropic/claude-2.1", prompt="Why is the sky blue?", max_tokens=30,
                                       stop=["\n\nHuman:"], top_p=0.8)
    sent = mock.requests("/v1/complete")[-1]
    assert sent["headers"]["x-api-key"] == "sk-ant-upstream" and sent["headers"]["anthropic-version"]
    assert sent["body"] == {"model": "claude-2.1", "prompt": "\n\nHuman: Why is the sky blue?\n\nAssistant:",
                            "max_tokens_to_sample": 30, "stop_sequences": ["\n\nHuman:"], "top_p": 0.8}
    assert r.object == "text_completion" and r.id.startswith("compl_")
    assert r.choices[0].finish_reason == "stop" and len(r.choices[0].text) > 10

    r = gw.openai().completions.create(model="anthropic/claude-2.1", prompt="\n\nHuman: hi\n\nAssistant:",
                                       max_tokens=2)
    assert r.choices[0].finish_reason == "length"
    assert mock.requests("/v1/complete")[-1]["body"]["prompt"] == "\n\nHuman: hi\n\nAssistant:"  # not re-wrapped


def test_anthropic_text_completion_stream_is_unsupported_as_in_bifrost(gw: Gateway, mock: Mock) -> None:
    import openai

    mock.reset()
    with pytest.raises(openai.APIStatusError) as e:
        list(gw.openai().completions.create(model="anthropic/claude-2.1", prompt="x", stream=True))
    assert e.value.status_code == 400
    assert not mock.requests("/v1/complete")


def _complete(gw: Gateway, **body: Any) -> tuple[int, dict[str, Any]]:
    """POST /anthropic/v1/complete as Anthropic's legacy Text Completions clients send it (the installed
    anthropic SDK no longer has `completions`, so the request is made by hand with its headers)."""
    status, _, raw = http("POST", gw.url + "/anthropic/v1/complete", body,
                          {"x-api-key": "client-key", "anthropic-version": "2023-06-01"})
    return status, json.loads(raw)


def test_anthropic_legacy_complete_route_to_openai(gw: Gateway, mock: Mock) -> None:
    mock.reset()
    status, r = _complete(gw, model="openai/gpt-3.5-turbo-instruct", max_tokens_to_sample=40,
                          prompt="\n\nHuman: hi\n\nAssistant:", stop_sequences=["\n\nHuman:"], temperature=0.3,
                          top_k=5)
    assert status == 200, r
    assert r["type"] == "completion" and r["stop_reason"] == "stop_sequence" and len(r["completion"].split()) == 20
    assert r["model"] == "openai/gpt-3.5-turbo-instruct" and r["usage"]["output_tokens"] == 20
    sent = mock.requests("/v1/completions")[-1]
    assert sent["headers"]["authorization"] == "Bearer sk-openai-upstream"  # the client's key stays here
    assert sent["body"] == {"model": "gpt-3.5-turbo-instruct", "prompt": "\n\nHuman: hi\n\nAssistant:",
                            "max_tokens": 40, "stop": ["\n\nHuman:"], "temperature": 0.3}  # no top_k for OpenAI
    _, short = _complete(gw, model="openai/gpt-3.5-turbo-instruct", max_tokens_to_sample=2,
                         prompt="\n\nHuman: hi\n\nAssistant:")
    assert short["stop_reason"] == "max_tokens"


def test_anthropic_legacy_complete_route_to_anthropic(gw: Gateway, mock: Mock) -> None:
    mock.reset()
    status, r = _complete(gw, model="anthropic/claude-2.1", max_tokens_to_sample=40, top_k=7,
                          prompt="\n\nHuman: hi\n\nAssistant:")
    assert status == 200 and r["completion"].strip() and r["stop_reason"] == "stop_sequence"
    sent = mock.requests("/v1/complete")[-1]
    assert sent["headers"]["x-api-key"] == "sk-ant-upstream"
    assert sent["body"] == {"model": "claude-2.1", "prompt": "\n\nHuman: hi\n\nAssistant:",
                            "max_tokens_to_sample": 40, "top_k": 7}


def test_anthropic_legacy_complete_errors_are_anthropic_shaped(gw: Gateway) -> None:
    status, r = _complete(gw, model="openai/gpt-3.5-turbo-instruct", max_tokens_to_sample=5,
                          prompt="\n\nHuman: hi\n\nAssistant:", stream=True)
    assert status == 400 and r["type"] == "error" and "streaming is not supported" in r["error"]["message"]
    status, r = _complete(gw, model="openai/gpt-3.5-turbo-instruct", prompt="x")
    assert status == 400 and "max_tokens_to_sample" in r["error"]["message"]
    status, r = _complete(gw, model="openai/mock-fail-429", max_tokens_to_sample=5, prompt="\n\nHuman: x")
    assert status == 429 and r["error"]["type"] == "rate_limit_error"


# --- images in -----------------------------------------------------------------------------------

def _image_chat(gw: Gateway, url: str) -> Any:
    return gw.openai().chat.completions.create(model="bedrock/anthropic.claude-3-haiku-20240307-v1:0", messages=[
        {"role": "user", "content": [{"type": "text", "text": "what is this?"},
                                     {"type": "image_url", "image_url": {"url": url}}]}])


@pytest.mark.conformance("openai", "bedrock", "images in")
def test_openai_image_data_url_becomes_converse_image_bytes(gw: Gateway, mock: Mock) -> None:
    mock.reset()
    b64 = base64.b64encode(PNG).decode()
    r = _image_chat(gw, "data:image/png;base64," + b64)
    assert r.choices[0].message.content
    sent = _sent(mock, "anthropic.claude-3-haiku-20240307-v1:0", "converse")
    assert sent["body"]["messages"][0]["content"] == [
        {"text": "what is this?"}, {"image": {"format": "png", "source": {"bytes": b64}}}]


@pytest.mark.conformance("openai", "bedrock", "images in")
def test_openai_image_http_url_is_fetched_and_inlined(gw: Gateway, mock: Mock, image_host: str) -> None:
    mock.reset()
    r = _image_chat(gw, image_host + "/cat.png?sig=secret")
    assert r.choices[0].message.content
    sent = _sent(mock, "anthropic.claude-3-haiku-20240307-v1:0", "converse")
    block = sent["body"]["messages"][0]["content"][1]
    assert block == {"image": {"format": "png", "source": {"bytes": base64.b64encode(PNG).decode()}}}


def test_unfetchable_image_url_is_a_clear_400(gw: Gateway, mock: Mock, image_host: str) -> None:
    import openai

    mock.reset()
    with pytest.raises(openai.BadRequestError) as e:
        _image_chat(gw, image_host + "/missing.png?token=hidden")
    msg = str(e.value)
    assert "HTTP 404" in msg and "/missing.png" in msg and "hidden" not in msg and "data: URL" in msg
    assert not mock.requests("/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse")


@pytest.mark.conformance("bedrock", "openai", "images in")
def test_boto3_converse_image_block_reaches_openai_as_data_url(gw: Gateway, mock: Mock) -> None:
    import boto3

    mock.reset()
    client = boto3.client("bedrock-runtime", endpoint_url=gw.url + "/bedrock", region_name="us-east-1",
                          aws_access_key_id="AKIDCLIENT", aws_secret_access_key="client-secret")
    r = client.converse(modelId="openai/gpt-4o-mini", messages=[{"role": "user", "content": [
        {"text": "describe"}, {"image": {"format": "png", "source": {"bytes": PNG}}}]}])
    assert r["output"]["message"]["content"][0]["text"]
    sent = mock.requests("/v1/chat/completions")[-1]["body"]
    assert sent["messages"] == [{"role": "user", "content": [
        {"type": "text", "text": "describe"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64," + base64.b64encode(PNG).decode()}}]}]
