"""Stream converters between Anthropic Messages SSE events and OpenAI chat.completion.chunk objects. Pure.

`MessagesStreamToChat` (provider direction): Anthropic events in, OpenAI chunks out.
`ChatStreamToMessages` (inbound direction): OpenAI chunks in, Anthropic events out.
Both are per-stream state machines; feed them events/chunks in order.
"""

from __future__ import annotations

import time
from typing import Any

from bifrost.providers.anthropic.translate_common import tool_id
from bifrost.providers.anthropic.translate_inbound import message_id, reasoning_text
from bifrost.providers.anthropic.translate_response import (
    StreamError,
    anthropic_usage,
    chat_usage,
    error_status,
    finish_reason,
    matched_stop,
    stop_fields,
)


class MessagesStreamToChat:
    """Anthropic stream events -> OpenAI chat.completion.chunk dicts.

    message_start -> a first chunk with role "assistant"; text_delta -> content; tool_use start ->
    a tool_calls delta with index, id, type and name (arguments ""), input_json_delta -> argument
    fragments (a tool whose input never streamed gets "{}" at its block stop, as in Bifrost);
    thinking_delta -> `reasoning` + a "reasoning.text" `reasoning_details` entry; signature_delta ->
    the entry's signature; redacted_thinking -> a "reasoning.encrypted" entry; message_delta -> the
    finish_reason chunk; message_stop -> a usage chunk with empty choices. ping and unknown events
    produce nothing; an `error` event raises StreamError. Server-tool blocks are skipped.
    """

    def __init__(self, model: str, created: int | None = None) -> None:
        self.model = model
        self.created = int(time.time()) if created is None else created
        self.id = ""
        self._blocks: dict[int, tuple[str, int]] = {}  # block index -> (kind, tool call / detail index)
        self._args_seen: set[int] = set()
        self._tools = 0
        self._details = 0
        self._usage: dict[str, Any] = {}
        self._finish: str | None = None

    def feed(self, event: str, data: dict) -> list[dict]:
        kind = data.get("type") or event
        if kind == "message_start":
            message = data.get("message") or {}
            self.id = message.get("id") or self.id
            self._usage.update(message.get("usage") or {})
            return [self._chunk({"role": "assistant", "content": ""})]
        if kind == "content_block_start":
            return self._block_start(data.get("index", 0), data.get("content_block") or {})
        if kind == "content_block_delta":
            return self._block_delta(data.get("index", 0), data.get("delta") or {})
        if kind == "content_block_stop":
            index = data.get("index", 0)
            block_kind, tool = self._blocks.get(index, ("", 0))
            if block_kind == "tool_use" and index not in self._args_seen:
                return [self._chunk({"tool_calls": [{"index": tool, "function": {"arguments": "{}"}}]})]
            return []
        if kind == "message_delta":
            self._usage.update({k: v for k, v in (data.get("usage") or {}).items() if v is not None})
            delta = data.get("delta") or {}
            reason = delta.get("stop_reason")
            if reason is None:
                return []
            self._finish = finish_reason(reason)
            chunk = self._chunk({}, self._finish)
            chunk["choices"][0]["native_finish_reason"] = reason
            if reason == "stop_sequence" and isinstance(delta.get("stop_sequence"), str):
                chunk["choices"][0]["stop_reason"] = delta["stop_sequence"]  # which one matched (vLLM's field)
            return [chunk]
        if kind == "message_stop":
            chunk = self._chunk(None)
            chunk["usage"] = chat_usage(self._usage)
            return [chunk]
        if kind == "error":
            err = data.get("error") or {}
            raise StreamError(error_status(err.get("type")), err.get("type"), err.get("message") or "stream error")
        return []  # ping, and event types added to the API later

    def _block_start(self, index: int, block: dict) -> list[dict]:
        kind = block.get("type")
        if kind == "tool_use":
            tool = self._tools
            self._tools += 1
            self._blocks[index] = ("tool_use", tool)
            call = {"index": tool, "id": block.get("id") or f"toolu_{tool}", "type": "function",
                    "function": {"name": block.get("name") or "", "arguments": ""}}
            return [self._chunk({"tool_calls": [call]})]
        if kind in ("thinking", "redacted_thinking"):
            self._blocks[index] = (kind, self._details)
            self._details += 1
            if kind == "redacted_thinking" and block.get("data"):
                detail = {"index": self._details - 1, "type": "reasoning.encrypted", "data": block["data"]}
                return [self._chunk({"reasoning_details": [detail]})]
            if block.get("thinking"):
                return self._block_delta(index, {"type": "thinking_delta", "thinking": block["thinking"]})
            return []
        self._blocks[index] = (kind or "", 0)
        if kind == "text" and block.get("text"):
            return [self._chunk({"content": block["text"]})]
        return []

    def _block_delta(self, index: int, delta: dict) -> list[dict]:
        kind = delta.get("type")
        block_kind, n = self._blocks.get(index, ("", 0))
        if kind == "text_delta" and delta.get("text"):
            return [self._chunk({"content": delta["text"]})]
        if kind == "input_json_delta" and block_kind == "tool_use" and delta.get("partial_json"):
            self._args_seen.add(index)
            return [self._chunk({"tool_calls": [{"index": n, "function": {"arguments": delta["partial_json"]}}]})]
        if kind == "thinking_delta" and delta.get("thinking"):
            text = delta["thinking"]
            detail = {"index": n, "type": "reasoning.text", "text": text}
            return [self._chunk({"reasoning": text, "reasoning_details": [detail]})]
        if kind == "signature_delta" and delta.get("signature"):
            detail = {"index": n, "type": "reasoning.text", "signature": delta["signature"]}
            return [self._chunk({"reasoning_details": [detail]})]
        return []  # citations_delta, server-tool input, empty fragments

    def _chunk(self, delta: dict | None, finish: str | None = None) -> dict:
        choices = [] if delta is None else [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]
        return {"id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model,
                "choices": choices}


class ChatStreamToMessages:
    """OpenAI chat.completion.chunk dicts -> the Anthropic SSE event sequence, as (event, data) pairs.

    The first chunk opens `message_start` (usage.input_tokens from that chunk if it has usage, else 0).
    Each kind of delta runs in its own content block — reasoning (`reasoning_content`/`reasoning`)
    in a thinking block (its `reasoning_details` signature as a signature_delta), content in a text
    block, each tool call in a tool_use block with input_json_delta fragments — and a block is
    closed before the next one starts, so blocks never interleave and indices count up from 0.
    `finish()` closes the open block and emits message_delta (stop_reason, full usage with
    output_tokens) and message_stop. Only choice 0 is converted; argument fragments for a tool call
    whose block was already closed cannot be sent and are dropped (no known upstream sends them).
    """

    def __init__(self, model: str) -> None:
        self.model = model
        self._started = False
        self._done = False
        self._id = ""
        self._next = 0  # next content block index
        self._open: tuple[str, int, Any] | None = None  # (kind, block index, chat tool index)
        self._tool_blocks: dict[int, int] = {}  # chat tool_calls index -> block index
        self._has_tools = False
        self._usage: dict | None = None
        self._finish: str | None = None
        self._stop_seq: str | None = None
        self._native: Any = None

    def feed(self, chunk: dict) -> list[tuple[str, dict]]:
        events: list[tuple[str, dict]] = []
        if not self._started:
            self._start(chunk, events)
        if isinstance(chunk.get("usage"), dict):
            self._usage = chunk["usage"]
        for choice in chunk.get("choices") or ():
            if choice.get("index", 0) != 0:
                continue
            self._delta(choice.get("delta") or {}, events)
            if choice.get("finish_reason"):
                self._finish = choice["finish_reason"]
                self._stop_seq = matched_stop(choice)
                self._native = choice.get("native_finish_reason")
                self._close(events)
        return events

    def finish(self) -> list[tuple[str, dict]]:
        if self._done:
            return []
        self._done = True
        events: list[tuple[str, dict]] = []
        if not self._started:
            self._start({}, events)
        self._close(events)
        usage = anthropic_usage(self._usage) if self._usage is not None else {"output_tokens": 0}
        delta = stop_fields(self._finish, self._stop_seq, self._has_tools, self._native)
        events.append(("message_delta", {"type": "message_delta", "delta": delta, "usage": usage}))
        events.append(("message_stop", {"type": "message_stop"}))
        return events

    def _start(self, chunk: dict, events: list) -> None:
        self._started = True
        self._id = message_id(chunk.get("id"))
        usage = anthropic_usage(chunk["usage"]) if isinstance(chunk.get("usage"), dict) else {}
        message = {"id": self._id, "type": "message", "role": "assistant", "model": self.model, "content": [],
                   "stop_reason": None, "stop_sequence": None,
                   "usage": {"input_tokens": usage.get("input_tokens", 0), "output_tokens": 0}}
        events.append(("message_start", {"type": "message_start", "message": message}))

    def _delta(self, delta: dict, events: list) -> None:
        thinking = reasoning_text(delta)
        details = [d for d in delta.get("reasoning_details") or () if isinstance(d, dict)]
        if not thinking:  # some upstreams send reasoning only as reasoning_details text
            thinking = "".join(d.get("text") or "" for d in details if d.get("type") == "reasoning.text")
        if thinking:
            self._emit_delta("thinking", {"type": "thinking_delta", "thinking": thinking}, events)
        for d in details:
            if d.get("signature") and self._open and self._open[0] == "thinking":
                self._emit_delta("thinking", {"type": "signature_delta", "signature": d["signature"]}, events)
            elif d.get("type") == "reasoning.encrypted" and d.get("data"):
                self._close(events)
                block = {"type": "redacted_thinking", "data": d["data"]}
                self._open_block("redacted_thinking", block, None, events)
                self._close(events)
        text = delta.get("content") or delta.get("refusal")
        if isinstance(text, str) and text:
            self._emit_delta("text", {"type": "text_delta", "text": text}, events)
        for call in delta.get("tool_calls") or ():
            self._tool_delta(call, events)

    def _tool_delta(self, call: dict, events: list) -> None:
        n = call.get("index", 0)
        fn = call.get("function") or {}
        if n not in self._tool_blocks:
            self._close(events)
            self._has_tools = True
            block = {"type": "tool_use", "id": tool_id(call.get("id"), f"toolu_{self._id[4:]}_{n}"),
                     "name": fn.get("name") or "", "input": {}}
            self._tool_blocks[n] = self._open_block("tool_use", block, n, events)
        args = fn.get("arguments")
        if args and self._open and self._open[0] == "tool_use" and self._open[2] == n:
            delta = {"type": "input_json_delta", "partial_json": args}
            events.append(("content_block_delta", {"type": "content_block_delta", "index": self._open[1],
                                                   "delta": delta}))

    def _emit_delta(self, kind: str, delta: dict, events: list) -> None:
        if self._open is None or self._open[0] != kind:
            self._close(events)
            start = {"type": "thinking", "thinking": "", "signature": ""} if kind == "thinking" else \
                {"type": "text", "text": ""}
            self._open_block(kind, start, None, events)
        assert self._open is not None
        events.append(("content_block_delta", {"type": "content_block_delta", "index": self._open[1], "delta": delta}))

    def _open_block(self, kind: str, block: dict, tool: int | None, events: list) -> int:
        index = self._next
        self._next += 1
        self._open = (kind, index, tool)
        events.append(("content_block_start", {"type": "content_block_start", "index": index,
                                               "content_block": block}))
        return index

    def _close(self, events: list) -> None:
        if self._open is not None:
            events.append(("content_block_stop", {"type": "content_block_stop", "index": self._open[1]}))
            self._open = None
