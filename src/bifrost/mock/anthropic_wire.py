"""Anthropic's Messages API as the mock sends it: POST /v1/messages (JSON and SSE),
/v1/messages/count_tokens, the legacy POST /v1/complete (JSON), the models listing and the error shapes.

Pure functions, like `wire.py`: a decoded request in, a JSON-able dict or SSE frames (head / paced /
tail; one content delta per paced frame) out. Routing, auth and scripting live in `app.py`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

import msgspec

from .content import approx_tokens, split_text
from .wire import Answer, Frames, RequestError, templated, text_answer, tool_answer

_encode = msgspec.json.encode

CLAUDE_MODELS = ("claude-3-5-haiku-latest", "claude-sonnet-4-20250514")
THINKING = "The user wants an answer. I will reply with the mock response, one word at a time."
SIGNATURE = "EqQBCkYIBhgCKkBiaWZyb3N0LW1vY2stc2lnbmF0dXJlLW5vdC1hLXJlYWwtb25lAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
_MODEL_CREATED = "2025-05-14T00:00:00Z"

# ---------------------------------------------------------------- errors

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}
STATUS_OF_TYPE = {t: s for s, t in ERROR_TYPES.items()}
_MESSAGES = {
    401: "invalid x-api-key",
    403: "Your API key does not have permission to use the specified resource.",
    404: "Not found",
    413: "Request exceeds the maximum allowed number of bytes.",
    429: "Number of request tokens has exceeded your per-minute rate limit (mock)",
    500: "Internal server error",
    504: "Request timed out (mock)",
    529: "Overloaded",
}


def error_type(status: int) -> str:
    return ERROR_TYPES.get(status) or ("api_error" if status >= 500 else "invalid_request_error")


def error_payload(status: int, message: str | None = None, typ: str | None = None) -> dict:
    """{"type": "error", "error": {"type", "message"}} as the Anthropic API sends it."""
    if message is None:
        message = _MESSAGES.get(status) or (f"Mock error {status}" if status >= 500 else "Invalid request (mock)")
    return {"type": "error", "error": {"type": typ or error_type(status), "message": message}}


def error_event(typ: str, message: str | None = None) -> bytes:
    """The `event: error` SSE frame sent when a stream fails after it started."""
    status = STATUS_OF_TYPE.get(typ, 500)
    if message is None:
        message = _MESSAGES.get(status, "Internal server error")
    return b"event: error\ndata: " + _encode(error_payload(status, message, typ)) + b"\n\n"


def auth_failure(
    api_key: bytes | None, authorization: bytes | None, version: bytes | None, keys: frozenset[bytes] | None
) -> tuple[int, str] | None:
    """(status, message) when the x-api-key (or `Authorization: Bearer`, which recent SDKs send)
    and anthropic-version headers would be refused."""
    if not api_key and authorization and authorization[:7].lower() == b"bearer ":
        api_key = authorization[7:]
    if not api_key or not api_key.strip():
        return 401, "x-api-key header is required"
    if keys is not None and api_key.strip() not in keys:
        return 401, "invalid x-api-key"
    if not version or not version.strip():
        return 400, "anthropic-version: header is required"
    return None


def validate(req: Any, count_only: bool) -> str:
    """The request's model; RequestError with Anthropic's wording for what the API would refuse."""
    if not isinstance(req, dict):
        raise RequestError("The request body is not valid JSON.")
    model = req.get("model")
    if model is None:
        raise RequestError("model: Field required")
    if not isinstance(model, str) or not model:
        raise RequestError("model: Input should be a valid string")
    messages = req.get("messages")
    if messages is None:
        raise RequestError("messages: Field required")
    if not isinstance(messages, list):
        raise RequestError("messages: Input should be a valid list")
    if not count_only:
        if not messages:
            raise RequestError("messages: at least one message is required")
        mt = req.get("max_tokens")
        if mt is None:
            raise RequestError("max_tokens: Field required")
        if not isinstance(mt, int) or isinstance(mt, bool):
            raise RequestError("max_tokens: Input should be a valid integer")
        if mt < 1:
            raise RequestError("max_tokens: Input should be greater than or equal to 1")
    return model


# ---------------------------------------------------------------- what to answer


class Plan:
    """One answer: an optional thinking block, a text block, an optional tool_use block."""

    __slots__ = ("thinking", "thinking_pieces", "text", "pieces", "tool", "stop_reason", "stop_sequence", "output")

    def __init__(self, text: Answer, tool: Answer | None, thinking: bool, chunks: int) -> None:
        self.thinking = THINKING if thinking else None
        self.thinking_pieces = split_text(THINKING, max(1, chunks)) if thinking else []
        self.text = text.text
        self.pieces = list(text.pieces)
        self.tool = tool
        self.stop_reason = "tool_use" if tool else ("max_tokens" if text.finish_reason == "length" else "end_turn")
        self.stop_sequence: str | None = None
        self.output = 0


def _pick_tool(req: dict) -> tuple[str, Any] | None:
    tools = req.get("tools")
    if not isinstance(tools, list) or not tools:
        return None
    choice = req.get("tool_choice")
    ctype = choice.get("type") if isinstance(choice, dict) else None
    if ctype == "none":
        return None
    named = [(t["name"], t.get("input_schema")) for t in tools if isinstance(t, dict) and type(t.get("name")) is str]
    if not named:
        return None
    if ctype == "tool":
        return next((t for t in named if t[0] == choice.get("name")), named[0])  # type: ignore[union-attr]
    if ctype != "any" and _last_is_tool_result(req.get("messages")):
        return None  # the tool result is in: answer with text so agent loops end
    return named[0]


def _last_is_tool_result(messages: Any) -> bool:
    last = messages[-1] if isinstance(messages, list) and messages else None
    if not isinstance(last, dict) or last.get("role") != "user" or not isinstance(last.get("content"), list):
        return False
    return any(isinstance(b, dict) and b.get("type") == "tool_result" for b in last["content"])


def _stop_at(plan: Plan, seqs: Any) -> None:
    """Cut the text at the first stop sequence it contains."""
    if not isinstance(seqs, list):
        return
    hits = [(plan.text.find(s), s) for s in seqs if isinstance(s, str) and s]
    hits = [h for h in hits if h[0] >= 0]
    if not hits:
        return
    cut, seq = min(hits)
    plan.text = plan.text[:cut]
    pieces, pos = [], 0
    for p in plan.pieces:
        if pos + len(p) >= cut:
            if cut > pos:
                pieces.append(p[: cut - pos])
            break
        pieces.append(p)
        pos += len(p)
    plan.pieces = pieces
    plan.tool = None
    plan.stop_reason, plan.stop_sequence = "stop_sequence", seq


def plan_messages(req: dict, chunks: int) -> Plan:
    thinking = req.get("thinking")
    think = isinstance(thinking, dict) and thinking.get("type") in ("enabled", "adaptive")
    text = text_answer(chunks, req.get("max_tokens"))
    tool = None
    if text.finish_reason != "length" and "tools" in req:
        picked = _pick_tool(req)
        if picked is not None:
            tool = tool_answer(picked[0], picked[1], chunks)
    plan = Plan(text, tool, think, chunks)
    if "stop_sequences" in req:
        _stop_at(plan, req["stop_sequences"])
    plan.output = max(1, len(plan.pieces) + (tool.completion_tokens if plan.tool else 0)) + (
        (len(THINKING) + 3) // 4 if think else 0
    )
    return plan


def input_tokens(req: dict) -> int:
    n = approx_tokens(req.get("messages")) + approx_tokens(req.get("system"))
    tools = req.get("tools")
    if tools:
        n += (len(_encode(tools)) + 3) // 4
    return max(1, n)


def _usage(inp: int, out: int) -> dict:
    return {
        "input_tokens": inp,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "output_tokens": out,
    }


def _message(req: dict, mid: str, content: list, stop_reason: str | None, stop_seq: str | None, usage: dict) -> dict:
    return {
        "id": mid,
        "type": "message",
        "role": "assistant",
        "model": req["model"],
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": stop_seq,
        "usage": usage,
    }


# ---------------------------------------------------------------- JSON and SSE


def messages_json(req: dict, plan: Plan, mid: str, tool_id: str) -> dict:
    content: list[dict] = []
    if plan.thinking is not None:
        content.append({"type": "thinking", "thinking": plan.thinking, "signature": SIGNATURE})
    content.append({"type": "text", "text": plan.text})
    if plan.tool is not None:
        inp = msgspec.json.decode(plan.tool.text)
        content.append({"type": "tool_use", "id": tool_id, "name": plan.tool.tool_name, "input": inp})
    usage = _usage(input_tokens(req), plan.output)
    return _message(req, mid, content, plan.stop_reason, plan.stop_sequence, usage)


def count_tokens_json(req: dict) -> dict:
    return {"input_tokens": input_tokens(req)}


# ---------------------------------------------------------------- POST /v1/complete (legacy Text Completions)


def validate_complete(req: Any) -> str:
    """The request's model; RequestError worded as the legacy Text Completions API words it."""
    if not isinstance(req, dict):
        raise RequestError("The request body is not valid JSON.")
    model = req.get("model")
    if not isinstance(model, str) or not model:
        raise RequestError("model: Field required")
    prompt = req.get("prompt")
    if not isinstance(prompt, str):
        raise RequestError("prompt: Field required")
    if not prompt.startswith("\n\nHuman:"):
        raise RequestError('prompt: prompt must start with "\n\nHuman:" turn')
    if not prompt.rstrip().endswith("Assistant:"):
        raise RequestError('prompt: prompt must end with "\n\nAssistant:" turn')
    mts = req.get("max_tokens_to_sample")
    if not isinstance(mts, int) or isinstance(mts, bool) or mts < 1:
        raise RequestError("max_tokens_to_sample: Field required (an integer >= 1)")
    return model


def complete_json(req: dict, ans: Answer, cid: str) -> dict:
    """The documented response shape: {completion, stop_reason, model, id, type} (+ stop, log_id)."""
    stopped = ans.finish_reason == "stop"
    return {"type": "completion", "id": cid, "completion": " " + ans.text,
            "stop_reason": "stop_sequence" if stopped else "max_tokens", "stop": "\n\nHuman:" if stopped else None,
            "model": req["model"], "log_id": cid}


def _ev(typ: bytes, data: dict) -> bytes:
    return b"event: " + typ + b"\ndata: " + _encode(data) + b"\n\n"


def _delta(index: int, delta: dict) -> bytes:
    return _ev(b"content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta})


def _block_start(index: int, block: dict) -> bytes:
    return _ev(b"content_block_start", {"type": "content_block_start", "index": index, "content_block": block})


def _block_stop(index: int) -> bytes:
    return _ev(b"content_block_stop", {"type": "content_block_stop", "index": index})


PING = _ev(b"ping", {"type": "ping"})


def messages_stream(req: dict, plan: Plan, mid: str, tool_id: str) -> Frames:
    """message_start, (content_block_start, deltas, content_block_stop) per block, message_delta,
    message_stop; a ping after the first block start. Boundary events ride with the next delta."""
    blocks: list[tuple[dict, list[bytes]]] = []
    if plan.thinking is not None:
        i = len(blocks)
        deltas = templated(lambda p: _delta(i, {"type": "thinking_delta", "thinking": p}), plan.thinking_pieces)
        deltas.append(_delta(i, {"type": "signature_delta", "signature": SIGNATURE}))
        blocks.append(({"type": "thinking", "thinking": "", "signature": ""}, deltas))
    i = len(blocks)
    deltas = templated(lambda p: _delta(i, {"type": "text_delta", "text": p}), plan.pieces)
    blocks.append(({"type": "text", "text": ""}, deltas))
    if plan.tool is not None:
        i = len(blocks)
        deltas = templated(lambda p: _delta(i, {"type": "input_json_delta", "partial_json": p}), plan.tool.pieces)
        blocks.append(({"type": "tool_use", "id": tool_id, "name": plan.tool.tool_name, "input": {}}, deltas))

    usage = _usage(input_tokens(req), 1)
    start = _message(req, mid, [], None, None, usage)
    head = [_ev(b"message_start", {"type": "message_start", "message": start}), _block_start(0, blocks[0][0]), PING]
    paced: list[bytes] = []
    pending = b""
    for index, (block, deltas) in enumerate(blocks):
        if index:
            pending += _block_stop(index - 1) + _block_start(index, block)
        if deltas:
            deltas[0] = pending + deltas[0]
            pending = b""
            paced.extend(deltas)
    tail = [pending] if pending else []
    tail.append(_block_stop(len(blocks) - 1))
    tail.append(
        _ev(
            b"message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": plan.stop_reason, "stop_sequence": plan.stop_sequence},
                "usage": {"output_tokens": plan.output},
            },
        )
    )
    tail.append(_ev(b"message_stop", {"type": "message_stop"}))
    return head, paced, tail


# ---------------------------------------------------------------- models


def display_name(model_id: str) -> str:
    """claude-3-5-haiku-latest -> Claude 3.5 Haiku; claude-sonnet-4-20250514 -> Claude Sonnet 4."""
    words: list[str] = []
    for part in model_id.split("-"):
        if part == "latest" or (len(part) == 8 and part.isdigit()):
            continue
        if part.isdigit() and words and words[-1][-1:].isdigit():
            words[-1] += "." + part
        else:
            words.append(part[:1].upper() + part[1:])
    return " ".join(words) or model_id


def model_info(model_id: str) -> dict:
    return {"type": "model", "id": model_id, "display_name": display_name(model_id), "created_at": _MODEL_CREATED}


def models_page(models: tuple[str, ...], query: bytes | None) -> dict:
    """One page of GET /v1/models (limit, after_id, before_id as the API takes them)."""
    q = parse_qs(query.decode("latin-1")) if query else {}
    ids = list(models)
    after, before = q.get("after_id", [None])[0], q.get("before_id", [None])[0]
    try:
        limit = max(1, min(1000, int(q.get("limit", ["20"])[0])))
    except ValueError:
        limit = 20
    if before in ids:
        ids = ids[: ids.index(before)]
        page, more = ids[-limit:], len(ids) > limit
    else:
        if after in ids:
            ids = ids[ids.index(after) + 1 :]
        page, more = ids[:limit], len(ids) > limit
    return {
        "data": [model_info(m) for m in page],
        "has_more": more,
        "first_id": page[0] if page else None,
        "last_id": page[-1] if page else None,
    }
