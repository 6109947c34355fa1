"""Anthropic Messages responses <-> OpenAI chat.completion objects, and Anthropic error bodies. Pure.

Shared by the JSON and stream converters: stop reason <-> finish reason, usage in both directions,
error status <-> error type.
"""

from __future__ import annotations

import json
import time
from typing import Any

from bifrost.providers.anthropic.translate_common import dumps

# Anthropic stop_reason -> OpenAI finish_reason (Bifrost's table plus refusal and the newer reasons,
# mapped onto values the OpenAI SDKs accept).
FINISH_REASONS = {
    "end_turn": "stop", "stop_sequence": "stop", "pause_turn": "stop", "compaction": "stop",
    "max_tokens": "length", "model_context_window_exceeded": "length",
    "tool_use": "tool_calls", "refusal": "content_filter",
}
STOP_REASONS = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use",
                "function_call": "tool_use", "content_filter": "refusal"}
# https://docs.anthropic.com/en/api/errors
ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 402: "billing_error",
               403: "permission_error", 404: "not_found_error", 413: "request_too_large",
               429: "rate_limit_error", 500: "api_error", 503: "overloaded_error", 504: "timeout_error",
               529: "overloaded_error"}
ERROR_STATUSES = {v: k for k, v in ERROR_TYPES.items() if k != 503}


class StreamError(ValueError):
    """An `error` event inside an Anthropic stream (e.g. overloaded_error mid-response)."""

    def __init__(self, status: int, type: str | None, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.type = type
        self.message = message


def finish_reason(stop_reason: str | None) -> str:
    return FINISH_REASONS.get(stop_reason or "", "stop")


def stop_reason(finish: str | None, has_tool_calls: bool = False) -> str:
    if has_tool_calls and finish in (None, "stop"):  # some upstreams say "stop" after tool calls
        return "tool_use"
    return STOP_REASONS.get(finish or "", "end_turn")


def matched_stop(choice: dict) -> str | None:
    """The stop sequence a neutral choice ended on: its `stop_reason` string (vLLM's field, which the
    Anthropic translators fill from stop_sequence); None when it ended otherwise."""
    seq = choice.get("stop_reason")
    return seq if isinstance(seq, str) and seq and choice.get("finish_reason") in (None, "stop") else None


ANTHROPIC_STOP_REASONS = frozenset({*FINISH_REASONS, "refusal"})


def stop_fields(finish: str | None, seq: str | None, has_tool_calls: bool = False, native: Any = None) -> dict:
    """Anthropic's stop_reason and stop_sequence for a neutral finish (and matched stop sequence); the
    choice's `native_finish_reason` (OpenRouter's field) when it is an Anthropic reason."""
    if isinstance(native, str) and native in ANTHROPIC_STOP_REASONS and (native != "stop_sequence" or seq):
        return {"stop_reason": native, "stop_sequence": seq if native == "stop_sequence" else None}
    if seq is not None and not has_tool_calls and finish in (None, "stop"):
        return {"stop_reason": "stop_sequence", "stop_sequence": seq}
    return {"stop_reason": stop_reason(finish, has_tool_calls), "stop_sequence": None}


def messages_response_to_chat(resp: dict, model: str, created: int | None = None) -> dict:
    """An Anthropic Message -> an OpenAI chat.completion for `model`.

    Text blocks are joined; tool_use -> tool_calls (arguments as a JSON string); thinking ->
    `reasoning` text plus `reasoning_details` (with signatures, so the turn can be replayed), as
    Bifrost emits them; redacted_thinking -> a "reasoning.encrypted" detail. Server-tool blocks
    (server_tool_use, web_search_tool_result, ...) and citations are dropped.
    """
    texts: list[str] = []
    calls: list[dict] = []
    details: list[dict] = []
    for block in resp.get("content") or ():
        kind = block.get("type")
        if kind == "text":
            texts.append(block.get("text") or "")
        elif kind == "tool_use":
            calls.append({"id": block.get("id") or f"toolu_{len(calls)}", "type": "function",
                          "function": {"name": block.get("name") or "",
                                       "arguments": dumps(block.get("input") or {})}})
        elif kind == "thinking":
            details.append({"index": len(details), "type": "reasoning.text", "text": block.get("thinking") or "",
                            "signature": block.get("signature") or ""})
        elif kind == "redacted_thinking" and block.get("data"):
            details.append({"index": len(details), "type": "reasoning.encrypted", "data": block["data"]})
    message: dict[str, Any] = {"role": "assistant", "content": "".join(texts) if texts or not calls else None}
    if calls:
        message["tool_calls"] = calls
    reasoning = "\n".join(d["text"] for d in details if d["type"] == "reasoning.text" and d["text"])
    if reasoning:
        message["reasoning"] = reasoning
    if details:
        message["reasoning_details"] = details
    out = {
        "id": resp.get("id") or "",
        "object": "chat.completion",
        "created": int(time.time()) if created is None else created,
        "model": model,
        "choices": [{"index": 0, "message": message, "logprobs": None,
                     "finish_reason": finish_reason(resp.get("stop_reason"))}],
    }
    if resp.get("stop_reason"):
        out["choices"][0]["native_finish_reason"] = resp["stop_reason"]
    if resp.get("stop_reason") == "stop_sequence" and isinstance(resp.get("stop_sequence"), str):
        out["choices"][0]["stop_reason"] = resp["stop_sequence"]  # which one matched (vLLM's field)
    if isinstance(resp.get("usage"), dict):
        out["usage"] = chat_usage(resp["usage"])
    return out


def chat_usage(usage: dict) -> dict:
    """Anthropic usage -> OpenAI usage.

    prompt_tokens counts every input token (input + cache reads + cache writes, as Anthropic bills
    them); prompt_tokens_details.cached_tokens = cache reads and cache_write_tokens = cache writes
    (the OpenAI SDK's field, also what Bifrost emits); thinking tokens -> reasoning_tokens.
    """
    read = usage.get("cache_read_input_tokens") or 0
    write = usage.get("cache_creation_input_tokens") or 0
    prompt = (usage.get("input_tokens") or 0) + read + write
    completion = usage.get("output_tokens") or 0
    out: dict[str, Any] = {"prompt_tokens": prompt, "completion_tokens": completion,
                           "total_tokens": prompt + completion,
                           "prompt_tokens_details": {"cached_tokens": read, "cache_write_tokens": write}}
    thinking = (usage.get("output_tokens_details") or {}).get("thinking_tokens")
    if thinking:
        out["completion_tokens_details"] = {"reasoning_tokens": thinking}
    return out


def anthropic_usage(usage: dict | None) -> dict:
    """OpenAI usage -> Anthropic usage (input_tokens excludes cache reads and writes)."""
    usage = usage or {}
    details = usage.get("prompt_tokens_details") or {}
    read = details.get("cached_tokens") or details.get("cached_read_tokens") or 0
    write = details.get("cache_write_tokens") or details.get("cached_write_tokens") or 0
    return {"input_tokens": max((usage.get("prompt_tokens") or 0) - read - write, 0),
            "output_tokens": usage.get("completion_tokens") or 0,
            "cache_read_input_tokens": read, "cache_creation_input_tokens": write}


def error_message(status: int, body: dict | bytes) -> tuple[str, str | None]:
    """An upstream error body ({"type": "error", "error": {"type", "message"}}) -> (message, type)."""
    data: Any = body
    if isinstance(body, (bytes, bytearray)):
        try:
            data = json.loads(body)
        except ValueError:
            text = bytes(body).decode("utf-8", "replace").strip()
            return (text[:1000] or f"HTTP {status}"), None
    err = data.get("error") if isinstance(data, dict) else None
    if isinstance(err, dict):
        return str(err.get("message") or f"HTTP {status}"), err.get("type")
    if isinstance(data, dict) and data.get("message"):
        return str(data["message"]), data.get("type") if data.get("type") != "error" else None
    return f"HTTP {status}", None


def error_body(status: int, message: str) -> dict:
    """A gateway or upstream failure -> the Anthropic error JSON for that HTTP status."""
    kind = ERROR_TYPES.get(status) or ("invalid_request_error" if 400 <= status < 500 else "api_error")
    return {"type": "error", "error": {"type": kind, "message": message}}


def error_status(kind: str | None) -> int:
    """The HTTP status Anthropic uses for an error type (500 when unknown)."""
    return ERROR_STATUSES.get(kind or "", 500)

