"""OpenAI wire shapes the mock sends: chat completions, legacy completions, embeddings, models, errors.

Pure functions from a decoded request to a JSON-able dict (non-streaming) or to SSE frames
(streaming, split as head / paced / tail: the server sleeps --chunk-interval-ms before each paced
frame). The Responses API lives in `responses_wire.py`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from http import HTTPStatus
from typing import Any

import msgspec

from .content import (
    approx_tokens,
    embedding_base64,
    embedding_floats,
    embedding_inputs,
    sample_json,
    split_text,
    word_pieces,
    word_text,
)

_encode = msgspec.json.encode
FINGERPRINT = "fp_bifrost_mock"
DONE = b"data: [DONE]\n\n"

Frames = tuple[list[bytes], list[bytes], list[bytes]]

_SLOT = "\x00mock-piece\x00"
_SLOT_JSON = _encode(_SLOT)


def templated(make_frame: Callable[[str], bytes], pieces: Sequence[str]) -> list[bytes]:
    """make_frame(piece) for every piece, encoding the frame once and splicing each piece in."""
    parts = make_frame(_SLOT).split(_SLOT_JSON)
    return [_encode(p).join(parts) for p in pieces]


class RequestError(Exception):
    """A request the real API would reject with 400."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param


# ---------------------------------------------------------------- errors

_ERROR_KIND = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("permission_error", None),
    404: ("invalid_request_error", None),
    405: ("invalid_request_error", None),
    408: ("timeout", None),
    409: ("conflict", None),
    413: ("invalid_request_error", None),
    422: ("invalid_request_error", None),
    429: ("requests", "rate_limit_exceeded"),
    500: ("server_error", None),
    502: ("server_error", None),
    503: ("server_error", "service_unavailable"),
    504: ("server_error", None),
}


def error_payload(status: int, message: str | None = None, param: str | None = None) -> dict:
    """{"error": {message, type, param, code}} as the OpenAI API sends it."""
    typ, code = _ERROR_KIND.get(status, ("server_error" if status >= 500 else "invalid_request_error", None))
    if message is None:
        if status == 429:
            message = "Rate limit reached for requests (mock). Please try again later."
        elif status >= 500:
            message = f"The server had an error while processing your request (mock {status})."
        else:
            try:
                message = f"{HTTPStatus(status).phrase} (mock)"
            except ValueError:
                message = f"Mock error {status}"
    return {"error": {"message": message, "type": typ, "param": param, "code": code}}


# ---------------------------------------------------------------- what to answer


class Answer:
    """The content of one answer: text pieces or one tool call whose arguments are split in pieces."""

    __slots__ = ("text", "pieces", "tool_name", "finish_reason", "completion_tokens")

    def __init__(
        self,
        text: str,
        pieces: list[str] | tuple[str, ...],
        tool_name: str | None,
        finish_reason: str,
        completion_tokens: int,
    ) -> None:
        self.text = text  # the content, or the tool call's arguments JSON
        self.pieces = pieces
        self.tool_name = tool_name
        self.finish_reason = finish_reason
        self.completion_tokens = completion_tokens


def _positive_int(v: Any) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) and v > 0 else None


def text_answer(chunks: int, max_tokens: Any, json_schema: Any = None, json_object: bool = False) -> Answer:
    if json_schema is not None or json_object:
        text = sample_json(json_schema) if json_schema is not None else '{"answer": "mock"}'
        pieces = split_text(text, max(1, chunks))
        return Answer(text, pieces, None, "stop", len(pieces))
    k = chunks
    limit = _positive_int(max_tokens)
    finish = "stop"
    if limit is not None and limit < k:
        k, finish = limit, "length"
    return Answer(word_text(k), word_pieces(k), None, finish, k)


def tool_answer(name: str, parameters: Any, chunks: int) -> Answer:
    args = sample_json(parameters) if isinstance(parameters, dict) and parameters.get("properties") else "{}"
    pieces = split_text(args, max(2, chunks))
    return Answer(args, pieces, name, "tool_calls", max(1, (len(args) + 3) // 4) + 5)


def pick_tool(tools: Any, tool_choice: Any, last_is_tool_result: bool, nested: bool) -> tuple[str, Any] | None:
    """The (name, parameters) of the tool to call, or None to answer with text.

    nested: chat format {"type":"function","function":{...}}; else the Responses flat format."""
    if not isinstance(tools, list) or not tools or tool_choice == "none":
        return None
    funcs = []
    for t in tools:
        if not isinstance(t, dict):
            continue
        f = t.get("function") if nested else t
        if isinstance(f, dict) and isinstance(f.get("name"), str):
            funcs.append((f["name"], f.get("parameters")))
    if not funcs:
        return None
    forced = None
    if isinstance(tool_choice, dict):
        f = tool_choice.get("function") if nested else tool_choice
        forced = f.get("name") if isinstance(f, dict) else None
    if forced:
        return next((f for f in funcs if f[0] == forced), funcs[0])
    if last_is_tool_result and tool_choice != "required":
        return None  # the tool result is in: answer with text so agent loops end
    return funcs[0]


def plan_chat(req: dict, chunks: int) -> Answer:
    messages = req.get("messages")
    if not isinstance(messages, list) or not messages:
        raise RequestError("Missing required parameter: 'messages'.", "messages")
    if "tools" in req:
        last = messages[-1]
        last_is_tool = isinstance(last, dict) and last.get("role") in ("tool", "function")
        tool = pick_tool(req["tools"], req.get("tool_choice"), last_is_tool, nested=True)
        if tool is not None:
            return tool_answer(tool[0], tool[1], chunks)
    rf = req.get("response_format")
    schema = None
    json_object = False
    if rf is not None and isinstance(rf, dict):
        if rf.get("type") == "json_schema" and isinstance(rf.get("json_schema"), dict):
            schema = rf["json_schema"].get("schema") or {}
        json_object = rf.get("type") == "json_object"
    max_tokens = req.get("max_completion_tokens") or req.get("max_tokens")
    return text_answer(chunks, max_tokens, schema, json_object)


def choice_count(req: dict) -> int:
    n = _positive_int(req.get("n"))
    return min(n, 128) if n else 1


def require_model(req: dict) -> str:
    model = req.get("model")
    if not isinstance(model, str) or not model:
        raise RequestError("you must provide a model parameter", "model")
    return model


# ---------------------------------------------------------------- chat completions


def _chat_usage(prompt: int, completion: int) -> dict:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def chat_prompt_tokens(req: dict) -> int:
    n = 3
    for m in req.get("messages") or ():
        if type(m) is dict and len(m) == 2:  # fast path for the common {"role", "content": str}
            c = m.get("content")
            if type(c) is str:
                n += 3 + (len(c) + 3) // 4
                continue
        n += approx_tokens(m)
    tools = req.get("tools")
    return n + approx_tokens(tools) if tools else n


def chat_json(req: dict, ans: Answer, cid: str, created: int, call_id: str) -> dict:
    n = choice_count(req)
    if ans.tool_name is not None:
        message: dict = {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": call_id,
                    "type": "function",
                    "function": {"name": ans.tool_name, "arguments": ans.text},
                }
            ],
            "refusal": None,
            "annotations": [],
        }
    else:
        message = {"role": "assistant", "content": ans.text, "refusal": None, "annotations": []}
    choices = [{"index": i, "message": message, "logprobs": None, "finish_reason": ans.finish_reason} for i in range(n)]
    return {
        "id": cid,
        "object": "chat.completion",
        "created": created,
        "model": req["model"],
        "choices": choices,
        "usage": _chat_usage(chat_prompt_tokens(req), ans.completion_tokens * n),
        "service_tier": "default",
        "system_fingerprint": FINGERPRINT,
    }


def include_usage(req: dict) -> bool:
    so = req.get("stream_options")
    return isinstance(so, dict) and bool(so.get("include_usage"))


def chat_stream(req: dict, ans: Answer, cid: str, created: int, call_id: str) -> Frames:
    n = choice_count(req)
    usage = include_usage(req)
    model = req["model"]

    def frame(i: int, delta: dict, finish: str | None = None) -> bytes:
        ev: dict = {
            "id": cid,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "service_tier": "default",
            "system_fingerprint": FINGERPRINT,
            "choices": [{"index": i, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }
        if usage:
            ev["usage"] = None
        return b"data: " + _encode(ev) + b"\n\n"

    if ans.tool_name is not None:
        first = {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "index": 0,
                    "id": call_id,
                    "type": "function",
                    "function": {"name": ans.tool_name, "arguments": ""},
                }
            ],
            "refusal": None,
        }
        head = [b"".join(frame(i, first) for i in range(n))]
        paced = templated(
            lambda p: b"".join(
                frame(i, {"tool_calls": [{"index": 0, "function": {"arguments": p}}]}) for i in range(n)
            ),
            ans.pieces,
        )
    else:
        head = [b"".join(frame(i, {"role": "assistant", "content": "", "refusal": None}) for i in range(n))]
        paced = templated(lambda p: b"".join(frame(i, {"content": p}) for i in range(n)), ans.pieces)
    tail = [b"".join(frame(i, {}, ans.finish_reason) for i in range(n))]
    if usage:
        ev = {
            "id": cid,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "service_tier": "default",
            "system_fingerprint": FINGERPRINT,
            "choices": [],
            "usage": _chat_usage(chat_prompt_tokens(req), ans.completion_tokens * n),
        }
        tail.append(b"data: " + _encode(ev) + b"\n\n")
    tail.append(DONE)
    return head, paced, tail


# ---------------------------------------------------------------- legacy completions


def _prompts(req: dict) -> list[Any]:
    p = req.get("prompt")
    if isinstance(p, list) and p and all(isinstance(x, str) for x in p):
        return p
    if isinstance(p, list) and p and all(isinstance(x, list) for x in p):
        return p
    return [p if p is not None else ""]


def plan_completion(req: dict, chunks: int) -> Answer:
    return text_answer(chunks, req.get("max_tokens"))


def completion_json(req: dict, ans: Answer, cid: str, created: int) -> dict:
    prompts = _prompts(req)
    n = choice_count(req) * len(prompts)
    return {
        "id": cid,
        "object": "text_completion",
        "created": created,
        "model": req["model"],
        "system_fingerprint": FINGERPRINT,
        "choices": [
            {"text": ans.text, "index": i, "logprobs": None, "finish_reason": ans.finish_reason} for i in range(n)
        ],
        "usage": {
            "prompt_tokens": max(1, approx_tokens(req.get("prompt"))),
            "completion_tokens": ans.completion_tokens * n,
            "total_tokens": max(1, approx_tokens(req.get("prompt"))) + ans.completion_tokens * n,
        },
    }


def completion_stream(req: dict, ans: Answer, cid: str, created: int) -> Frames:
    n = choice_count(req) * len(_prompts(req))
    model = req["model"]

    def frame(i: int, text: str, finish: str | None) -> bytes:
        ev = {
            "id": cid,
            "object": "text_completion",
            "created": created,
            "model": model,
            "system_fingerprint": FINGERPRINT,
            "choices": [{"text": text, "index": i, "logprobs": None, "finish_reason": finish}],
        }
        return b"data: " + _encode(ev) + b"\n\n"

    paced = templated(lambda p: b"".join(frame(i, p, None) for i in range(n)), ans.pieces)
    tail = [b"".join(frame(i, "", ans.finish_reason) for i in range(n))]
    if include_usage(req):
        prompt = max(1, approx_tokens(req.get("prompt")))
        ev = {
            "id": cid,
            "object": "text_completion",
            "created": created,
            "model": model,
            "choices": [],
            "usage": {
                "prompt_tokens": prompt,
                "completion_tokens": ans.completion_tokens * n,
                "total_tokens": prompt + ans.completion_tokens * n,
            },
        }
        tail.append(b"data: " + _encode(ev) + b"\n\n")
    tail.append(DONE)
    return [], paced, tail


# ---------------------------------------------------------------- embeddings


def embeddings_json(req: dict, default_dim: int) -> dict:
    model = require_model(req)
    items = embedding_inputs(req.get("input"))
    if items is None:
        raise RequestError("'input' must be a non-empty string, array of strings or array of token arrays", "input")
    # output_dimension: Mistral's name for it.
    dim = _positive_int(req.get("dimensions")) or _positive_int(req.get("output_dimension")) or default_dim
    fmt = req.get("encoding_format") or "float"
    if fmt not in ("float", "base64"):
        raise RequestError("encoding_format must be 'float' or 'base64'", "encoding_format")
    vec = embedding_base64 if fmt == "base64" else embedding_floats
    tokens = sum(t for _, t in items)
    return {
        "object": "list",
        "data": [{"object": "embedding", "index": i, "embedding": vec(key, dim)} for i, (key, _) in enumerate(items)],
        "model": model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


# ---------------------------------------------------------------- models


def model_entry(model_id: str) -> dict:
    return {"id": model_id, "object": "model", "created": 1700000000, "owned_by": "bifrost-mock"}


def models_json(models: tuple[str, ...]) -> dict:
    return {"object": "list", "data": [model_entry(m) for m in models]}
