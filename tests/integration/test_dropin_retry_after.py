"""Regression: the drop-in routes (/anthropic, /genai, /cohere, /bedrock) dropped the upstream's Retry-After
header from error answers (only /v1 kept it), so SDK clients lost the provider's back-off hint."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import Gateway, Mock, http

ROUTES = [
    pytest.param("/anthropic/v1/messages",
                 {"model": "anthropic/claude-limited", "max_tokens": 10,
                  "messages": [{"role": "user", "content": "x"}]}, id="anthropic"),
    pytest.param("/genai/v1beta/models/anthropic/claude-limited:generateContent",
                 {"contents": [{"role": "user", "parts": [{"text": "x"}]}]}, id="genai"),
    pytest.param("/cohere/v2/chat",
                 {"model": "anthropic/claude-limited", "messages": [{"role": "user", "content": "x"}]}, id="cohere"),
    pytest.param("/bedrock/model/anthropic%2Fclaude-limited/converse",
                 {"messages": [{"role": "user", "content": [{"text": "x"}]}]}, id="bedrock"),
    pytest.param("/v1/chat/completions",
                 {"model": "anthropic/claude-limited", "messages": [{"role": "user", "content": "x"}]}, id="openai"),
]


@pytest.fixture(scope="module")
def gw(tmp_module: Path, mock: Mock) -> Iterator[Gateway]:
    cfg = {"providers": {"anthropic": {"keys": [{"name": "a", "value": "sk-ant-upstream", "models": [], "weight": 1}],
                                       "network_config": {"base_url": mock.url}}}}
    g = Gateway(tmp_module, cfg)
    yield g
    g.stop()


@pytest.mark.parametrize(("path", "body"), ROUTES)
def test_drop_in_routes_keep_the_upstream_retry_after_header(gw: Gateway, mock: Mock, path: str, body: dict) -> None:
    mock.script({"status": 429, "model": "claude-limited", "headers": {"Retry-After": "7"}})
    status, headers, raw = http("POST", gw.url + path, body)
    assert status == 429, raw
    assert {k.lower(): v for k, v in headers.items()}.get("retry-after") == "7"
    assert mock.requests("/v1/messages")[-1]["body"]["model"] == "claude-limited"
