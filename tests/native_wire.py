"""Test helpers for cross-format round trips: replay what the upstream received, read a provider's answer.

`replay` sends a recorded upstream request to the mock again, unchanged (headers and body), so a test can
compare what the client got through the gateway with what the provider itself answers to the exact
request the gateway made. `native_*` read text, the tool call and usage out of a provider's own JSON.
"""

from __future__ import annotations

import json
from typing import Any

from conftest import Mock, http

_HOP = {"host", "content-length", "transfer-encoding", "connection", "accept-encoding"}


def replay(mock: Mock, sent: dict[str, Any], unstreamed: bool = True) -> dict[str, Any]:
    """The provider's JSON answer to a recorded request (a streamed one replayed as its JSON twin)."""
    path, body = sent["path"], dict(sent["body"])
    if unstreamed:
        path = path.replace(":streamGenerateContent", ":generateContent").replace("/converse-stream", "/converse")
        body.pop("stream", None)
    headers = {k: v for k, v in sent["headers"].items() if k not in _HOP}
    status, _, raw = http("POST", mock.url + path, body, headers)
    assert status == 200, raw
    return json.loads(raw)


def native_text(provider: str, doc: dict[str, Any]) -> str:
    if provider == "gemini":
        return "".join(p.get("text", "") for p in doc["candidates"][0]["content"]["parts"] if not p.get("thought"))
    if provider == "bedrock":
        return "".join(b.get("text", "") for b in doc["output"]["message"]["content"])
    if provider == "cohere":
        return "".join(b.get("text", "") for b in doc["message"].get("content") or [])
    return "".join(b.get("text", "") for b in doc["content"] if b["type"] == "text")  # anthropic


def native_tool(provider: str, doc: dict[str, Any]) -> tuple[str, Any]:
    """(name, arguments as an object) of the first tool call in a provider's answer."""
    if provider == "gemini":
        fc = next(p["functionCall"] for p in doc["candidates"][0]["content"]["parts"] if "functionCall" in p)
        return fc["name"], fc.get("args") or {}
    if provider == "bedrock":
        tu = next(b["toolUse"] for b in doc["output"]["message"]["content"] if "toolUse" in b)
        return tu["name"], tu["input"]
    if provider == "cohere":
        fn = doc["message"]["tool_calls"][0]["function"]
        return fn["name"], json.loads(fn["arguments"])
    tu = next(b for b in doc["content"] if b["type"] == "tool_use")
    return tu["name"], tu["input"]


def native_usage(provider: str, doc: dict[str, Any]) -> tuple[int, int]:
    """(input tokens, output tokens) as the provider reports them."""
    if provider == "gemini":
        u = doc["usageMetadata"]
        return u["promptTokenCount"], u["candidatesTokenCount"]
    if provider == "bedrock":
        return doc["usage"]["inputTokens"], doc["usage"]["outputTokens"]
    if provider == "cohere":
        t = doc["usage"]["tokens"]
        return int(t["input_tokens"]), int(t["output_tokens"])
    return doc["usage"]["input_tokens"], doc["usage"]["output_tokens"]
