"""How a captured attempt becomes a `logs` row (pure: no database, no server)."""

from __future__ import annotations

import json

import msgspec
import pytest

from bifrost.plugins.logging.record import PendingLog
from bifrost.schemas.errors import UpstreamError
from bifrost.schemas.inference import CHAT, RESPONSES, InferenceRequest, Target


def pending(rtype: str = CHAT, body: dict | None = None, content: bool = True, stream: bool = False) -> PendingLog:
    req = InferenceRequest(request_type=rtype, target=Target("openai", "gpt-4o-mini"), stream=stream,
                           body=body or {"messages": [{"role": "user", "content": "hi"}], "temperature": 0})
    return PendingLog("id-1", None, 1_700_000_000_000_000, req, "openai", "gpt-4o-mini", 0, content)


def chunk(**choice: object) -> bytes:
    return msgspec.json.encode({"object": "chat.completion.chunk", "choices": [{"index": 0, **choice}]})


def test_stream_chunks_become_one_message_with_merged_tool_calls_and_usage() -> None:
    p = pending(stream=True)
    p.chunks = [
        chunk(delta={"role": "assistant", "content": "Let me "}),
        chunk(delta={"content": "check."}),
        chunk(delta={"tool_calls": [{"index": 0, "id": "call_1", "function": {"name": "get_", "arguments": "{\"ci"}}]}),
        chunk(delta={"tool_calls": [{"index": 0, "function": {"name": "weather", "arguments": "ty\":1}"}}]}),
        chunk(delta={}, finish_reason="tool_calls"),
        msgspec.json.encode({"choices": [], "usage": {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10,
                                                      "prompt_tokens_details": {"cached_tokens": 4},
                                                      "completion_tokens_details": {"reasoning_tokens": 2}}}),
        b"[DONE]",
    ]
    row = p.row()
    msg = json.loads(row["output_message"])
    assert msg["content"] == "Let me check."
    assert msg["tool_calls"] == [{"id": "call_1", "type": "function",
                                  "function": {"name": "get_weather", "arguments": "{\"city\":1}"}}]
    assert row["stop_reason"] == "tool_calls" and row["stream"] is True
    assert (row["prompt_tokens"], row["completion_tokens"], row["total_tokens"], row["cached_read_tokens"],
            row["reasoning_tokens"]) == (7, 3, 10, 4, 2)


def test_responses_usage_is_read_as_prompt_and_completion_tokens() -> None:
    p = pending(RESPONSES, {"input": "hello", "instructions": "be brief"})
    p.body = msgspec.json.encode({"status": "completed", "output": [{"type": "message"}],
                                  "usage": {"input_tokens": 5, "output_tokens": 6, "total_tokens": 11,
                                            "output_tokens_details": {"reasoning_tokens": 1}}})
    row = p.row()
    assert (row["prompt_tokens"], row["completion_tokens"], row["total_tokens"], row["reasoning_tokens"]) == \
        (5, 6, 11, 1)
    assert json.loads(row["input_history"]) == "hello"
    assert json.loads(row["params"]) == {"instructions": "be brief"}


def test_without_content_the_row_keeps_tokens_and_error_but_no_text() -> None:
    p = pending(content=False)
    p.status, p.error = "error", UpstreamError("rate limited by upstream", status=429, provider="openai")
    row = p.row()
    assert row["input_history"] is None and row["params"] is None and row["content_summary"] is None
    err = json.loads(row["error_details"])
    assert err["status_code"] == 429 and err["error"]["message"] == "rate limited by upstream"


def test_a_body_that_is_not_json_still_makes_a_row() -> None:
    p = pending()
    p.body = b"not json"
    row = p.row()
    assert row["output_message"] is None and row["total_tokens"] == 0
    assert row["content_summary"] == "hi"


def test_row_cost_prices_the_usage_with_cached_and_cache_write_tokens() -> None:
    from bifrost.pricing import Catalog

    catalog = Catalog.load()
    price = catalog.price("openai", "gpt-4o-mini")
    assert price is not None
    p = pending()
    p.catalog = catalog
    p.body = msgspec.json.encode({"choices": [{"message": {"role": "assistant", "content": "x"}}],
                                  "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120,
                                            "prompt_tokens_details": {"cached_tokens": 60, "cache_write_tokens": 10}}})
    row = p.row()
    want = 30 * price.input + 60 * price.cache_read + 10 * price.cache_write + 20 * price.output
    assert row["cost"] == pytest.approx(want)
    assert "cache_write_tokens" not in row  # priced, but not a column


def test_row_cost_is_null_for_an_unpriced_model_and_without_a_catalog() -> None:
    from bifrost.pricing import Catalog

    p = PendingLog("id-2", None, 1, pending().req, "openai", "my-finetune-nobody-prices", 0, True)
    p.catalog = Catalog.load()
    p.body = msgspec.json.encode({"choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 5}})
    assert p.row()["cost"] is None
    q = pending()
    q.body = p.body
    assert q.row()["cost"] is None


def test_failed_attempt_without_usage_costs_zero_when_priced() -> None:
    from bifrost.pricing import Catalog

    p = pending()
    p.catalog = Catalog.load()
    p.status, p.error = "error", UpstreamError("boom", status=500, provider="openai")
    assert p.row()["cost"] == 0.0
