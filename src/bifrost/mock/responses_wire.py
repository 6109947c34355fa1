"""The OpenAI Responses API (POST /v1/responses) as the mock sends it: JSON and the SSE event sequence."""

from __future__ import annotations

from typing import Any

import msgspec

from .content import approx_tokens
from .wire import Answer, Frames, pick_tool, text_answer, tool_answer

_encode = msgspec.json.encode


def plan_responses(req: dict, chunks: int) -> Answer:
    inp = req.get("input")
    last = inp[-1] if isinstance(inp, list) and inp else None
    last_is_tool = isinstance(last, dict) and last.get("type") in (
        "function_call_output",
        "custom_tool_call_output",
    )
    tool = pick_tool(req.get("tools"), req.get("tool_choice"), last_is_tool, nested=False)
    if tool is not None:
        return tool_answer(tool[0], tool[1], chunks)
    schema = None
    json_object = False
    text = req.get("text")
    fmt = text.get("format") if isinstance(text, dict) else None
    if isinstance(fmt, dict):
        if fmt.get("type") == "json_schema":
            schema = fmt.get("schema") or {}
        json_object = fmt.get("type") == "json_object"
    return text_answer(chunks, req.get("max_output_tokens"), schema, json_object)


def input_tokens(req: dict) -> int:
    return max(1, approx_tokens(req.get("input")) + approx_tokens(req.get("instructions")))


def _usage(req: dict, ans: Answer) -> dict:
    inp = input_tokens(req)
    return {
        "input_tokens": inp,
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": ans.completion_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": inp + ans.completion_tokens,
    }


def _response(req: dict, rid: str, created: int, status: str, output: list, usage: dict | None) -> dict:
    text = req.get("text") if isinstance(req.get("text"), dict) else {"format": {"type": "text"}}
    return {
        "id": rid,
        "object": "response",
        "created_at": created,
        "status": status,
        "background": False,
        "error": None,
        "incomplete_details": None,
        "instructions": req.get("instructions"),
        "max_output_tokens": req.get("max_output_tokens"),
        "max_tool_calls": req.get("max_tool_calls"),
        "model": req["model"],
        "output": output,
        "parallel_tool_calls": req.get("parallel_tool_calls", True),
        "previous_response_id": req.get("previous_response_id"),
        "reasoning": req.get("reasoning") or {"effort": None, "summary": None},
        "service_tier": "default",
        "store": req.get("store", True),
        "temperature": req.get("temperature", 1.0),
        "text": text,
        "tool_choice": req.get("tool_choice", "auto"),
        "tools": req.get("tools") or [],
        "top_logprobs": 0,
        "top_p": req.get("top_p", 1.0),
        "truncation": req.get("truncation", "disabled"),
        "usage": usage,
        "user": req.get("user"),
        "metadata": req.get("metadata") or {},
    }


def _output_item(ans: Answer, item_id: str, call_id: str, done: bool) -> dict:
    status = "completed" if done else "in_progress"
    if ans.tool_name is not None:
        return {
            "id": item_id,
            "type": "function_call",
            "status": status,
            "arguments": ans.text if done else "",
            "call_id": call_id,
            "name": ans.tool_name,
        }
    return {
        "id": item_id,
        "type": "message",
        "status": status,
        "content": [_text_part(ans.text)] if done else [],
        "role": "assistant",
    }


def _text_part(text: str) -> dict:
    return {"type": "output_text", "annotations": [], "logprobs": [], "text": text}


def _final(req: dict, ans: Answer, rid: str, created: int, item: dict) -> dict:
    if ans.finish_reason == "length":
        resp = _response(req, rid, created, "incomplete", [item], _usage(req, ans))
        resp["incomplete_details"] = {"reason": "max_output_tokens"}
        return resp
    return _response(req, rid, created, "completed", [item], _usage(req, ans))


def responses_json(req: dict, ans: Answer, rid: str, item_id: str, call_id: str, created: int) -> dict:
    return _final(req, ans, rid, created, _output_item(ans, item_id, call_id, True))


def responses_stream(req: dict, ans: Answer, rid: str, item_id: str, call_id: str, created: int) -> Frames:
    seq = 0

    def ev(typ: str, **fields: Any) -> bytes:
        nonlocal seq
        data = {"type": typ, **fields, "sequence_number": seq}
        seq += 1
        return b"event: " + typ.encode() + b"\ndata: " + _encode(data) + b"\n\n"

    head = [
        ev("response.created", response=_response(req, rid, created, "in_progress", [], None)),
        ev("response.in_progress", response=_response(req, rid, created, "in_progress", [], None)),
        ev("response.output_item.added", output_index=0, item=_output_item(ans, item_id, call_id, False)),
    ]
    if ans.tool_name is not None:
        paced = [
            ev("response.function_call_arguments.delta", item_id=item_id, output_index=0, delta=p) for p in ans.pieces
        ]
        tail = [
            ev(
                "response.function_call_arguments.done",
                item_id=item_id,
                output_index=0,
                arguments=ans.text,
                name=ans.tool_name,
            ),
        ]
    else:
        loc = {"item_id": item_id, "output_index": 0, "content_index": 0}
        head.append(ev("response.content_part.added", **loc, part=_text_part("")))
        paced = [ev("response.output_text.delta", **loc, delta=p, logprobs=[]) for p in ans.pieces]
        tail = [
            ev("response.output_text.done", **loc, text=ans.text, logprobs=[]),
            ev("response.content_part.done", **loc, part=_text_part(ans.text)),
        ]
    item = _output_item(ans, item_id, call_id, True)
    tail.append(ev("response.output_item.done", output_index=0, item=item))
    final = _final(req, ans, rid, created, item)
    tail.append(ev("response." + final["status"], response=final))
    return head, paced, tail
