"""Errors: every bad request, routing problem and upstream failure answers Bifrost's error JSON
with a message that names the problem, and the gateway stays healthy afterwards."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from conftest import Gateway, Mock, http, openai_provider

pytestmark = pytest.mark.integration

MSGS = [{"role": "user", "content": "hi"}]
CHAT = "/v1/chat/completions"


@pytest.fixture(scope="module")
def gw(tmp_module: Path, mock: Mock) -> Iterator[Gateway]:
    cfg = {"providers": {
        "openai": openai_provider(mock),
        # groq (chat only) pointed at the mock; its key offers a model no other provider has.
        "groq": {"keys": [{"name": "g", "value": "sk-groq", "models": ["gpt-4o-mini", "groq-only-model"],
                           "weight": 1}],
                 "network_config": {"base_url": mock.url}},
    }}
    g = Gateway(tmp_module, cfg)
    # Listing models teaches the gateway which provider offers what (openai lists gpt-4o-mini too).
    status, _, body = http("GET", g.url + "/v1/models")
    assert status == 200, body
    yield g
    g.stop()


@pytest.fixture(autouse=True)
def _healthy_after(gw: Gateway, mock: Mock) -> Iterator[None]:
    mock.reset()
    yield
    status, _, body = http("GET", gw.url + "/health")
    assert status == 200, body
    assert json.loads(body)["status"] == "ok"


def post(gw: Gateway, body: Any, path: str = CHAT) -> tuple[int, dict[str, Any]]:
    status, headers, raw = http("POST", gw.url + path, body)
    assert headers.get("content-type", "").startswith("application/json"), headers
    return status, json.loads(raw)


def check_error(status: int, err: dict[str, Any], expect_status: int, *needles: str) -> str:
    """Bifrost's error shape, the status echoed in it, and a message naming the problem."""
    assert status == expect_status, err
    assert set(err) >= {"is_bifrost_error", "status_code", "error", "extra_fields"}, err
    assert isinstance(err["is_bifrost_error"], bool)
    assert err["status_code"] == expect_status
    assert isinstance(err["extra_fields"], dict)
    msg = err["error"]["message"]
    assert isinstance(msg, str) and msg
    for n in needles:
        assert n in msg, f"{n!r} not in {msg!r}"
    return msg


def chat_upstream(mock: Mock) -> list[dict[str, Any]]:
    return mock.requests(CHAT)


# --------------------------------------------------------------------------- malformed requests

def test_invalid_json(gw: Gateway, mock: Mock) -> None:
    status, err = post(gw, b'{"model": "openai/gpt-4o-mini", "messages": [')
    check_error(status, err, 400, "invalid request format", "JSON")
    assert chat_upstream(mock) == []


def test_body_not_an_object(gw: Gateway, mock: Mock) -> None:
    status, err = post(gw, [{"model": "openai/gpt-4o-mini"}])
    check_error(status, err, 400, "must be a JSON object")
    assert chat_upstream(mock) == []


def test_missing_messages(gw: Gateway, mock: Mock) -> None:
    status, err = post(gw, {"model": "openai/gpt-4o-mini"})
    check_error(status, err, 400, "messages", "required")
    assert err["error"]["param"] == "messages"
    assert chat_upstream(mock) == []


def test_missing_messages_sdk(gw: Gateway) -> None:
    with pytest.raises(openai.BadRequestError) as ei:
        gw.openai().chat.completions.create(model="openai/gpt-4o-mini", messages=None)  # type: ignore[arg-type]
    assert ei.value.status_code == 400
    assert "messages is required" in ei.value.message


@pytest.mark.parametrize("messages", ["hello", {"role": "user"}, 3])
def test_wrong_typed_messages(gw: Gateway, mock: Mock, messages: Any) -> None:
    status, err = post(gw, {"model": "openai/gpt-4o-mini", "messages": messages})
    check_error(status, err, 400, "messages must be an array")
    assert chat_upstream(mock) == []


@pytest.mark.parametrize("model", [None, "", 42])
def test_missing_or_bad_model(gw: Gateway, mock: Mock, model: Any) -> None:
    body: dict[str, Any] = {"messages": MSGS}
    if model is not None:
        body["model"] = model
    status, err = post(gw, body)
    check_error(status, err, 400, "model is required")
    assert err["error"]["param"] == "model"
    assert chat_upstream(mock) == []


def test_stream_not_bool(gw: Gateway, mock: Mock) -> None:
    status, err = post(gw, {"model": "openai/gpt-4o-mini", "messages": MSGS, "stream": "yes"})
    check_error(status, err, 400, "stream must be true or false")
    assert chat_upstream(mock) == []


@pytest.mark.parametrize("fallbacks", ["openai/gpt-4o", [1, 2], {"a": "openai/gpt-4o"}])
def test_fallbacks_wrong_type(gw: Gateway, mock: Mock, fallbacks: Any) -> None:
    status, err = post(gw, {"model": "openai/gpt-4o-mini", "messages": MSGS, "fallbacks": fallbacks})
    check_error(status, err, 400, "fallbacks must be an array")
    assert chat_upstream(mock) == []


def test_missing_input_embeddings(gw: Gateway) -> None:
    status, err = post(gw, {"model": "openai/text-embedding-3-small"}, "/v1/embeddings")
    check_error(status, err, 400, "input is required")


# --------------------------------------------------------------------------- routing problems

def test_unknown_provider_prefix(gw: Gateway, mock: Mock) -> None:
    status, err = post(gw, {"model": "nosuchprovider/gpt-4o", "messages": MSGS})
    msg = check_error(status, err, 400, "nosuchprovider", "not configured")
    assert "groq" in msg and "openai" in msg  # names what *is* configured
    assert chat_upstream(mock) == []


def test_unknown_provider_prefix_sdk(gw: Gateway) -> None:
    with pytest.raises(openai.BadRequestError) as ei:
        gw.openai().chat.completions.create(model="nosuchprovider/gpt-4o", messages=MSGS)
    assert "nosuchprovider" in ei.value.message and "configured" in ei.value.message


@pytest.mark.parametrize(("model", "missing"), [("openai/", "model name"), ("/gpt-4o", "provider")])
def test_model_with_empty_part(gw: Gateway, mock: Mock, model: str, missing: str) -> None:
    status, err = post(gw, {"model": model, "messages": MSGS})
    check_error(status, err, 400, repr(model), f"empty {missing}", "provider/model")
    assert chat_upstream(mock) == []


def test_request_type_unsupported_by_provider(gw: Gateway, mock: Mock) -> None:
    status, err = post(gw, {"model": "groq/text-embedding-3-small", "input": "hi"}, "/v1/embeddings")
    check_error(status, err, 400, "groq", "embedding")
    assert mock.requests("/v1/embeddings") == []


def test_bare_model_ambiguous(gw: Gateway, mock: Mock) -> None:
    status, err = post(gw, {"model": "gpt-4o-mini", "messages": MSGS})
    check_error(status, err, 400, "gpt-4o-mini", "prefix", '"openai/gpt-4o-mini"', '"groq/gpt-4o-mini"')
    assert chat_upstream(mock) == []


def test_bare_model_offered_by_one_provider_resolves(gw: Gateway, mock: Mock) -> None:
    resp = gw.openai().chat.completions.create(model="groq-only-model", messages=MSGS)
    assert resp.choices[0].message.content
    assert resp.model_extra["extra_fields"]["provider"] == "groq"
    [got] = chat_upstream(mock)
    assert got["body"]["model"] == "groq-only-model"
    assert got["headers"]["authorization"] == "Bearer sk-groq"


# --------------------------------------------------------------------------- upstream errors

@pytest.mark.conformance("openai", "openai", "errors")
def test_upstream_404_passes_through(gw: Gateway, mock: Mock) -> None:
    status, err = post(gw, {"model": "openai/mock-fail-404", "messages": MSGS})
    direct_status, _, direct_body = http("POST", mock.url + CHAT, {"model": "mock-fail-404", "messages": MSGS})
    upstream_msg = json.loads(direct_body)["error"]["message"]
    check_error(status, err, direct_status, upstream_msg)
    assert direct_status == 404
    assert err["extra_fields"]["provider"] == "openai"
    assert len([r for r in chat_upstream(mock) if r["headers"].get("authorization") == "Bearer sk-mock-1"]) == 1


def test_upstream_401_scripted_sdk(gw: Gateway, mock: Mock) -> None:
    upstream_msg = "Incorrect API key provided: sk-mo****ck-1. You can find your API key at example.test."
    mock.script({"model": "gpt-4o-mini", "status": 401,
                 "body": {"error": {"message": upstream_msg, "type": "invalid_request_error",
                                    "code": "invalid_api_key", "param": None}}})
    with pytest.raises(openai.AuthenticationError) as ei:
        gw.openai().chat.completions.create(model="openai/gpt-4o-mini", messages=MSGS)
    assert ei.value.status_code == 401
    assert ei.value.message.endswith(upstream_msg) or upstream_msg in ei.value.message
    assert ei.value.code == "invalid_api_key"
    full = ei.value.response.json()
    check_error(401, full, 401, upstream_msg)
    assert len(chat_upstream(mock)) == 1


def test_upstream_500_without_retries(gw: Gateway, mock: Mock) -> None:
    with pytest.raises(openai.InternalServerError) as ei:
        gw.openai().chat.completions.create(model="openai/mock-fail-500", messages=MSGS)
    assert ei.value.status_code == 500
    check_error(500, ei.value.response.json(), 500, "mock 500")
    assert len(chat_upstream(mock)) == 1  # max_retries defaults to 0: one attempt


def test_upstream_429_keeps_retry_after(gw: Gateway, mock: Mock) -> None:
    mock.script({"model": "gpt-4o-mini", "status": 429, "headers": {"Retry-After": "7"}})
    status, headers, raw = http("POST", gw.url + CHAT, {"model": "openai/gpt-4o-mini", "messages": MSGS})
    check_error(status, json.loads(raw), 429, "Rate limit")
    assert headers.get("retry-after") == "7"
    assert len(chat_upstream(mock)) == 1


def test_upstream_breaks_mid_stream(gw: Gateway, mock: Mock) -> None:
    mock.script({"model": "gpt-4o-mini", "cut_after_chunks": 3})
    chunks = []
    with pytest.raises(openai.APIError) as ei:
        for c in gw.openai().chat.completions.create(model="openai/gpt-4o-mini", messages=MSGS, stream=True):
            chunks.append(c)
    assert len(chunks) == 3  # what arrived before the break was forwarded
    assert "openai" in ei.value.message and "stream" in ei.value.message
    assert len(chat_upstream(mock)) == 1


def test_upstream_error_on_stream_request(gw: Gateway, mock: Mock) -> None:
    status, err = post(gw, {"model": "openai/mock-fail-429", "messages": MSGS, "stream": True})
    check_error(status, err, 429, "Rate limit")
    assert len(chat_upstream(mock)) == 1


# --------------------------------------------------------------------------- HTTP level

def test_unknown_route(gw: Gateway) -> None:
    status, headers, raw = http("POST", gw.url + "/v1/not-a-route", {"x": 1})
    assert headers["content-type"].startswith("application/json")
    check_error(status, json.loads(raw), 404, "Route not found", "/v1/not-a-route")


def test_get_on_chat_completions(gw: Gateway) -> None:
    status, headers, raw = http("GET", gw.url + CHAT)
    assert headers["content-type"].startswith("application/json")
    check_error(status, json.loads(raw), 405, "POST")
    assert headers.get("allow") == "POST"
