"""One request attempt waiting to be logged, and how it becomes a `logs` row.

The plugin only captures references (the request, the response bytes or the stream's chunks, the
error) on the request path; `row()` does the decoding and encoding later, in the writer's task.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec

from bifrost.schemas.errors import BifrostError
from bifrost.schemas.inference import CHAT, EMBEDDING, RERANK, RESPONSES, TEXT, InferenceRequest, Usage

if TYPE_CHECKING:
    from bifrost.pricing import Catalog

_decode = msgspec.json.decode
_encode = msgspec.json.encode

# Bifrost's `object` values for our request types.
OBJECTS = {CHAT: "chat.completion", TEXT: "text.completion", EMBEDDING: "embedding", RESPONSES: "response",
           RERANK: "rerank"}
_INPUT_FIELDS = {CHAT: ("messages",), TEXT: ("prompt",), EMBEDDING: ("input",), RESPONSES: ("input",),
                 RERANK: ("query", "documents")}
_NOT_PARAMS = {"model", "messages", "prompt", "input", "query", "documents", "stream", "stream_options"}
SUMMARY_CHARS = 1000


class PendingLog:
    """Everything a row needs, captured cheaply; see `row()`."""

    __slots__ = ("id", "parent_id", "ts_us", "req", "provider", "model", "status", "latency_ms", "retries",
                 "fallback_index", "body", "chunks", "error", "content", "catalog", "stream_usage")

    def __init__(self, id: str, parent_id: str | None, ts_us: int, req: InferenceRequest, provider: str,
                 model: str, fallback_index: int, content: bool) -> None:
        self.id = id
        self.parent_id = parent_id
        self.ts_us = ts_us
        self.req = req
        self.provider = provider
        self.model = model
        self.fallback_index = fallback_index
        self.content = content
        self.status = "success"
        self.latency_ms: float | None = None
        self.retries = 0
        self.body: bytes | None = None
        self.chunks: list[bytes] | None = None
        self.error: BifrostError | None = None
        self.catalog: Catalog | None = None
        self.stream_usage: Usage | None = None

    def row(self) -> dict[str, Any]:
        req = self.req
        out, usage, stop = _output(req.request_type, self.body, self.chunks)
        if usage is None and self.stream_usage is not None:
            usage = _usage_dict(self.stream_usage)
        tokens = _tokens(usage)
        cost = self._cost(tokens, usage is not None)
        del tokens["cache_write_tokens"]  # priced, but not a column
        row: dict[str, Any] = {
            "cost": cost,
            "id": self.id, "parent_request_id": self.parent_id, "timestamp": self.ts_us,
            "object_type": OBJECTS.get(req.request_type, req.request_type), "provider": self.provider,
            "model": self.model, "number_of_retries": self.retries, "fallback_index": self.fallback_index,
            "status": self.status, "stream": req.stream, "latency": self.latency_ms, **tokens,
            "stop_reason": stop, "token_usage": _encode(usage).decode() if usage else None,
            "error_details": self.error.to_json().decode() if self.error is not None else None,
            "input_history": None, "output_message": None, "params": None, "content_summary": None,
        }
        if self.content:
            body = req.body
            fields = _INPUT_FIELDS.get(req.request_type, ())
            inp: Any = body.get(fields[0]) if len(fields) == 1 else {f: body[f] for f in fields if f in body}
            row["input_history"] = _encode(inp).decode() if inp is not None else None
            params = {k: v for k, v in body.items() if k not in _NOT_PARAMS}
            row["params"] = _encode(params).decode() if params else None
            if out is not None and req.request_type != EMBEDDING:
                row["output_message"] = _encode(out).decode()
            row["content_summary"] = _summary(inp, out)
        return row

    def _cost(self, tokens: dict[str, int], has_usage: bool) -> float | None:
        """USD from the catalog; None when there is no catalog or it has no price for the model."""
        catalog = self.catalog
        if catalog is None:
            return None
        if not has_usage and self.status == "error":
            # A failed attempt that reported no usage billed nothing (0), if the model is priced at all.
            return 0.0 if catalog.price(self.provider, self.model) is not None else None
        usage = Usage(input_tokens=tokens["prompt_tokens"], output_tokens=tokens["completion_tokens"],
                      cached_read_tokens=tokens["cached_read_tokens"], cache_write_tokens=tokens["cache_write_tokens"],
                      reasoning_tokens=tokens["reasoning_tokens"]) if has_usage else None
        return catalog.cost(self.provider, self.model, usage)


def _output(rtype: str, body: bytes | None, chunks: list[bytes] | None) -> tuple[Any, dict[str, Any] | None, Any]:
    """(output, usage, stop reason) from a response body or a stream's chunks."""
    if body is not None:
        try:
            obj = _decode(body)
        except msgspec.DecodeError:
            return None, None, None
        if not isinstance(obj, dict):
            return None, None, None
        usage = obj.get("usage") if isinstance(obj.get("usage"), dict) else None
        if rtype == RESPONSES:
            return obj.get("output"), usage, obj.get("status")
        if rtype == RERANK:
            return obj.get("results"), usage, None
        choice = _first(obj.get("choices"))
        if rtype == TEXT:
            return ({"role": "assistant", "content": choice.get("text")} if choice else None), usage, \
                choice.get("finish_reason") if choice else None
        return (choice.get("message") if choice else None), usage, choice.get("finish_reason") if choice else None
    if chunks:
        return _from_chunks(rtype, chunks)
    return None, None, None


def _first(choices: Any) -> dict[str, Any] | None:
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        return choices[0]
    return None


def _from_chunks(rtype: str, chunks: list[bytes]) -> tuple[Any, dict[str, Any] | None, Any]:
    text: list[str] = []
    role = "assistant"
    tools: dict[int, dict[str, Any]] = {}
    usage: dict[str, Any] | None = None
    stop: Any = None
    output: Any = None
    for data in chunks:
        if data[:1] != b"{":
            continue
        try:
            ev = _decode(data)
        except msgspec.DecodeError:
            continue
        if not isinstance(ev, dict):
            continue
        if isinstance(ev.get("usage"), dict):
            usage = ev["usage"]
        if rtype == RESPONSES:
            resp = ev.get("response")
            if ev.get("type") == "response.completed" and isinstance(resp, dict):
                output, stop = resp.get("output"), resp.get("status")
                if isinstance(resp.get("usage"), dict):
                    usage = resp["usage"]
            continue
        choice = _first(ev.get("choices"))
        if choice is None:
            continue
        if choice.get("finish_reason"):
            stop = choice["finish_reason"]
        if rtype == TEXT:
            if isinstance(choice.get("text"), str):
                text.append(choice["text"])
            continue
        delta = choice.get("delta")
        if isinstance(delta, dict):
            if isinstance(delta.get("content"), str):
                text.append(delta["content"])
            role = delta.get("role") or role
            for tc in delta.get("tool_calls") or ():
                _merge_tool_call(tools, tc)
    if rtype == RESPONSES:
        return output, usage, stop
    msg: dict[str, Any] = {"role": role, "content": "".join(text)}
    if tools:
        msg["tool_calls"] = [tools[i] for i in sorted(tools)]
    return msg, usage, stop


def _merge_tool_call(tools: dict[int, dict[str, Any]], tc: Any) -> None:
    if not isinstance(tc, dict):
        return
    i = tc.get("index", 0) if isinstance(tc.get("index", 0), int) else 0
    cur = tools.setdefault(i, {"id": None, "type": "function", "function": {"name": "", "arguments": ""}})
    if tc.get("id"):
        cur["id"] = tc["id"]
    fn = tc.get("function")
    if isinstance(fn, dict):
        if isinstance(fn.get("name"), str):
            cur["function"]["name"] += fn["name"]
        if isinstance(fn.get("arguments"), str):
            cur["function"]["arguments"] += fn["arguments"]


def _usage_dict(u: Usage) -> dict[str, Any]:
    """Chat-shaped usage from the engine's neutral Usage (a stream whose usage chunk was stripped)."""
    return {"prompt_tokens": u.input_tokens, "completion_tokens": u.output_tokens,
            "total_tokens": u.input_tokens + u.output_tokens,
            "prompt_tokens_details": {"cached_tokens": u.cached_read_tokens,
                                      "cache_write_tokens": u.cache_write_tokens},
            "completion_tokens_details": {"reasoning_tokens": u.reasoning_tokens}}


def _int(d: Any, *keys: str) -> int:
    for k in keys:
        if not isinstance(d, dict):
            return 0
        d = d.get(k)
    return d if isinstance(d, int) else 0


def _tokens(usage: dict[str, Any] | None) -> dict[str, int]:
    """The denormalised token columns, from Chat (prompt/completion) or Responses (input/output) usage
    (plus `cache_write_tokens`, which has no column but is priced)."""
    if not usage:
        return {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0, "cached_read_tokens": 0,
                "reasoning_tokens": 0, "cache_write_tokens": 0}
    prompt = _int(usage, "prompt_tokens") or _int(usage, "input_tokens")
    completion = _int(usage, "completion_tokens") or _int(usage, "output_tokens")
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": _int(usage, "total_tokens") or prompt + completion,
        "cached_read_tokens": _int(usage, "prompt_tokens_details", "cached_tokens")
        or _int(usage, "input_tokens_details", "cached_tokens"),
        "reasoning_tokens": _int(usage, "completion_tokens_details", "reasoning_tokens")
        or _int(usage, "output_tokens_details", "reasoning_tokens"),
        "cache_write_tokens": _int(usage, "prompt_tokens_details", "cache_write_tokens")
        or _int(usage, "input_tokens_details", "cache_write_tokens"),
    }


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(_text_of(p.get("text") if isinstance(p, dict) else p) for p in content)
    if isinstance(content, dict):
        return _text_of(content.get("content") if "content" in content else content.get("text"))
    return ""


def _summary(inp: Any, out: Any) -> str | None:
    """The last user message and the reply, for /api/logs content_search (as Bifrost's content_summary)."""
    last = inp
    if isinstance(inp, list) and inp:
        users = [m for m in inp if isinstance(m, dict) and m.get("role") == "user"]
        last = users[-1] if users else inp[-1]
    parts = [_text_of(last)[:SUMMARY_CHARS], _text_of(out)[:SUMMARY_CHARS]]
    s = "\n".join(p for p in parts if p)
    return s or None
