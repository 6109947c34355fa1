"""Cohere's v2 API as the mock sends it: POST /v2/chat (JSON and SSE), /v2/embed, /v2/rerank,
POST /v1/tokenize, GET /v1/models (Cohere's listing) and the `{"message": ...}` error shape.

Pure functions, like `wire.py`: a decoded request in, a JSON-able dict or SSE frames (head / paced /
tail; one delta per paced frame) out. Routing, auth and scripting live in `app.py`.
"""

from __future__ import annotations

import re
import zlib
from typing import TYPE_CHECKING, Any

import msgspec

from . import anthropic_wire
from .content import approx_tokens, embedding_base64, embedding_floats, split_text
from .protocol import http_response
from .wire import Answer, Frames, RequestError, templated, text_answer, tool_answer

if TYPE_CHECKING:
    from .app import MockApp
    from .protocol import HttpProtocol, Request

_encode = msgspec.json.encode

TOOL_PLAN = "I will call the tool to answer."
_MESSAGES = {
    400: "invalid request (mock)",
    401: "invalid api token",
    404: "model not found (mock)",
    429: "You are using a Trial key, which is limited to 10 API calls / minute (mock)",
    500: "internal server error (mock)",
    503: "service unavailable (mock)",
}


def error_payload(status: int, message: str | None = None) -> dict:
    return {"id": "mock-error", "message": message or _MESSAGES.get(status) or f"mock error {status}"}


def error_event(message: str | None) -> bytes:
    """A stream that fails after it started: message-end with finish_reason ERROR."""
    ev = {"type": "message-end", "delta": {"finish_reason": "ERROR", "error": message or "internal server error (mock)",
                                           "usage": _usage(0, 0)}}
    return _ev(ev)


def auth_failure(authorization: bytes | None, keys: frozenset[bytes] | None) -> str | None:
    if not authorization or authorization[:7].lower() != b"bearer " or not authorization[7:].strip():
        return "no api key supplied"
    if keys is not None and authorization[7:].strip() not in keys:
        return "invalid api token"
    return None


# ---------------------------------------------------------------- chat


class Plan:
    __slots__ = ("text", "pieces", "tool", "finish")

    def __init__(self, text: Answer, tool: Answer | None) -> None:
        self.text = text.text
        self.pieces = list(text.pieces)
        self.tool = tool
        self.finish = "TOOL_CALL" if tool else ("MAX_TOKENS" if text.finish_reason == "length" else "COMPLETE")


def validate_chat(req: Any) -> str:
    if not isinstance(req, dict):
        raise RequestError("invalid request: body must be a JSON object")
    model = req.get("model")
    if not isinstance(model, str) or not model:
        raise RequestError("invalid request: model must be a string")
    msgs = req.get("messages")
    if not isinstance(msgs, list) or not msgs:
        raise RequestError("invalid request: messages must be a non-empty array")
    return model


def plan_chat(req: dict, chunks: int) -> Plan:
    rf = req.get("response_format")
    schema, json_obj = None, False
    if isinstance(rf, dict) and rf.get("type") == "json_object":
        schema = rf.get("json_schema")
        json_obj = schema is None
    text = text_answer(chunks, req.get("max_tokens"), schema, json_obj)
    tool = None
    tools = req.get("tools")
    choice = req.get("tool_choice")
    if tools and isinstance(tools, list) and choice != "NONE" and text.finish_reason != "length":
        last = req["messages"][-1]
        after_result = isinstance(last, dict) and last.get("role") == "tool"
        if choice == "REQUIRED" or not after_result:
            f = tools[0].get("function") if isinstance(tools[0], dict) else None
            if isinstance(f, dict) and isinstance(f.get("name"), str):
                tool = tool_answer(f["name"], f.get("parameters"), chunks)
    plan = Plan(text, tool)
    seqs = req.get("stop_sequences")
    if not tool and isinstance(seqs, list):
        hits = [(plan.text.find(s), s) for s in seqs if isinstance(s, str) and s and plan.text.find(s) >= 0]
        if hits:
            cut = min(hits)[0]
            plan.text = plan.text[:cut]
            plan.pieces = split_text(plan.text, max(1, len(plan.pieces))) if plan.text else []
            plan.finish = "STOP_SEQUENCE"
    return plan


def _usage(inp: int, out: int) -> dict:
    return {"billed_units": {"input_tokens": inp, "output_tokens": out},
            "tokens": {"input_tokens": inp, "output_tokens": out}}


def _input_tokens(req: dict) -> int:
    n = approx_tokens(req.get("messages"))
    if req.get("tools"):
        n += (len(_encode(req["tools"])) + 3) // 4
    return max(1, n)


def _output_tokens(plan: Plan) -> int:
    return max(1, plan.tool.completion_tokens if plan.tool else len(plan.pieces))


def chat_json(req: dict, plan: Plan, cid: str, call_id: str) -> dict:
    msg: dict = {"role": "assistant"}
    if plan.tool is not None:
        msg["tool_plan"] = TOOL_PLAN
        msg["tool_calls"] = [{"id": call_id, "type": "function",
                              "function": {"name": plan.tool.tool_name, "arguments": plan.tool.text}}]
    else:
        msg["content"] = [{"type": "text", "text": plan.text}]
    return {"id": cid, "finish_reason": plan.finish, "message": msg,
            "usage": _usage(_input_tokens(req), _output_tokens(plan))}


def _ev(data: dict) -> bytes:
    return b"event: " + data["type"].encode() + b"\ndata: " + _encode(data) + b"\n\n"


def chat_stream(req: dict, plan: Plan, cid: str, call_id: str) -> Frames:
    """message-start, then content-start / content-delta* / content-end (text) or tool-plan-delta,
    tool-call-start / tool-call-delta* / tool-call-end (tool), then message-end; one event per frame."""
    start = {"id": cid, "type": "message-start",
             "delta": {"message": {"role": "assistant", "content": [], "tool_plan": "", "tool_calls": [],
                                   "citations": []}}}
    head = [_ev(start)]
    tail: list[bytes] = []
    if plan.tool is not None:
        head.append(_ev({"type": "tool-plan-delta", "delta": {"message": {"tool_plan": TOOL_PLAN}}}))
        head.append(_ev({"type": "tool-call-start", "index": 0, "delta": {"message": {"tool_calls": {
            "id": call_id, "type": "function", "function": {"name": plan.tool.tool_name, "arguments": ""}}}}}))
        paced = templated(lambda p: _ev({"type": "tool-call-delta", "index": 0, "delta": {"message": {
            "tool_calls": {"function": {"arguments": p}}}}}), plan.tool.pieces)
        tail.append(_ev({"type": "tool-call-end", "index": 0}))
    else:
        head.append(_ev({"type": "content-start", "index": 0,
                         "delta": {"message": {"content": {"type": "text", "text": ""}}}}))
        paced = templated(lambda p: _ev({"type": "content-delta", "index": 0,
                                         "delta": {"message": {"content": {"text": p}}}}), plan.pieces)
        tail.append(_ev({"type": "content-end", "index": 0}))
    tail.append(_ev({"type": "message-end", "delta": {"finish_reason": plan.finish,
                                                      "usage": _usage(_input_tokens(req), _output_tokens(plan))}}))
    return head, paced, tail


# ---------------------------------------------------------------- embed and rerank


_EMBED_TYPES = ("float", "int8", "uint8", "binary", "ubinary", "base64")


def embed_json(req: Any, default_dim: int, rid: str) -> dict:
    if not isinstance(req, dict) or not isinstance(req.get("model"), str):
        raise RequestError("invalid request: model must be a string")
    texts = req.get("texts")
    if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
        raise RequestError("invalid request: texts must be a non-empty array of strings")
    if "input_type" not in req:
        raise RequestError("invalid request: input_type is required for embed models v3 and higher")
    types = req.get("embedding_types") or ["float"]
    if not isinstance(types, list) or any(t not in _EMBED_TYPES for t in types):
        raise RequestError(f"invalid request: embedding_types must be a subset of {list(_EMBED_TYPES)}")
    dim: int = req["output_dimension"] if isinstance(req.get("output_dimension"), int) else default_dim
    embeddings: dict[str, Any] = {}
    for t in types:
        if t == "float":
            embeddings["float"] = [list(embedding_floats(s, dim)) for s in texts]
        elif t == "base64":
            embeddings["base64"] = [embedding_base64(s, dim) for s in texts]
        else:  # integer forms: the float vector scaled to int8 / uint8 (binary forms pack 8 dims per byte)
            n = dim // 8 if "binary" in t else dim
            off = 128 if t.startswith("u") else 0
            embeddings[t] = [[int(v * 127) + off for v in embedding_floats(s, dim)[:n]] for s in texts]
    tokens = sum(max(1, (len(s) + 3) // 4) for s in texts)
    return {"id": rid, "embeddings": embeddings, "texts": texts,
            "meta": {"api_version": {"version": "2"}, "billed_units": {"input_tokens": tokens}},
            "response_type": "embeddings_by_type"}


def rerank_json(req: Any, rid: str) -> dict:
    if not isinstance(req, dict) or not isinstance(req.get("model"), str):
        raise RequestError("invalid request: model must be a string")
    query, docs = req.get("query"), req.get("documents")
    if not isinstance(query, str) or not isinstance(docs, list) or not docs:
        raise RequestError("invalid request: query and a non-empty documents array are required")
    qwords = set(query.lower().split())
    results = []
    for i, d in enumerate(docs):
        text = d if isinstance(d, str) else _encode(d).decode()
        words = text.lower().split()
        overlap = sum(1 for w in words if w in qwords)
        results.append({"index": i, "relevance_score": round(overlap / (len(words) or 1) + 1.0 / (i + 2) / 100, 6)})
    results.sort(key=lambda r: -r["relevance_score"])
    top = req.get("top_n")
    if isinstance(top, int) and top > 0:
        results = results[:top]
    return {"id": rid, "results": results,
            "meta": {"api_version": {"version": "2"}, "billed_units": {"search_units": 1}}}


def vllm_rerank_json(req: Any, rid: str) -> dict:
    """vLLM's POST /v1/rerank (and /rerank) answer: the same scores, vLLM's shape (document and usage)."""
    out = rerank_json(req, rid)
    docs = req["documents"]
    tokens = approx_tokens(req["query"]) + sum(approx_tokens(d) for d in docs if isinstance(d, str))
    return {"id": "rerank-" + rid, "model": req["model"], "usage": {"total_tokens": tokens},
            "results": [{"index": r["index"], "document": {"text": docs[r["index"]]},
                         "relevance_score": r["relevance_score"]} for r in out["results"]]}


def tokenize_json(req: Any) -> dict:
    """POST /v1/tokenize: one token per word piece (leading space kept), ids from a stable hash."""
    text = req.get("text") if isinstance(req, dict) else None
    if not isinstance(text, str) or not text:
        raise RequestError("invalid request: text must be at least 1 character")
    pieces = re.findall(r"\s*\S+|\s+", text)
    return {"tokens": [zlib.crc32(p.encode()) % 100000 for p in pieces], "token_strings": pieces,
            "meta": {"api_version": {"version": "1"}}}


# ---------------------------------------------------------------- models


def models_json(models: tuple[str, ...]) -> dict:
    out = []
    for m in models:
        endpoints = ["embed"] if "embed" in m else (["rerank"] if "rerank" in m else ["chat", "generate"])
        out.append({"name": m, "endpoints": endpoints, "finetuned": False, "context_length": 128000,
                    "default_endpoints": []})
    return {"models": out, "next_page_token": None}


# ---------------------------------------------------------------- routing (called by app.py)

_POST = {b"/v2/chat": "chat", b"/v2/embed": "embed", b"/v2/rerank": "rerank", b"/v1/tokenize": "tokenize"}


def handles(req: Request) -> bool:
    """/v2/*, /v1/tokenize and Cohere's GET /v1/models listing (recognised by its page_size / endpoint query)."""
    if req.path.startswith(b"/v2/") or req.path == b"/v1/tokenize":
        return True
    q = req.query or b""
    return req.path == b"/v1/models" and (b"page_size=" in q or b"endpoint=" in q)


def error_bytes(status: int, message: str | None, keep_alive: bool) -> bytes:
    return http_response(status, _encode(error_payload(status, message)), keep_alive)


def handle(app: MockApp, conn: HttpProtocol, req: Request) -> None:
    """A Cohere request (already counted by the app; recorded here)."""
    state, keep_alive = app.state, req.keep_alive
    if state.records is not None:
        state.record(req.method, req.path, req.query, req.headers, req.body)

    def fail(status: int, message: str | None = None) -> None:
        conn.send(error_bytes(status, message, keep_alive), keep_alive)

    kind = "models" if req.path == b"/v1/models" else _POST.get(req.path)
    if kind is None:
        return fail(404, f"path not found: {req.path.decode('latin-1')}")
    if req.method != (b"GET" if kind == "models" else b"POST"):
        return fail(405, f"method not allowed: {req.method.decode('latin-1')}")
    bad = auth_failure(req.header(b"authorization"), app.api_keys)
    if bad is not None:
        return fail(401, bad)
    if kind == "models":
        return conn.send(http_response(200, _encode(models_json(tuple(app.opts.models))), keep_alive), keep_alive)
    try:
        body = msgspec.json.decode(req.body) if req.body else None
    except msgspec.DecodeError:
        body = None
    if not isinstance(body, dict):
        return fail(400, "invalid request: the body must be a JSON object")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        return fail(400, "invalid request: model must be a string")
    stream = kind == "chat" and body.get("stream") is True
    fail_status, slow = state.model_rule(model)
    action = state.take_action(model) if state.script else None
    delay = app.latency + slow
    scripted = False
    if action is not None:
        delay += action.delay_ms / 1000.0
        if action.close:
            if delay > 0:
                return conn.spawn(app._close_later(conn, delay))
            return conn.close()
        if action.status is not None:
            fail_status, scripted = action.status, True
        elif action.stream_error_after_chunks is not None and not stream:
            fail_status, scripted = anthropic_wire.STATUS_OF_TYPE.get(action.error_type, 500), True
    if fail_status is not None:
        payload = action.body if scripted and action is not None else None
        if payload is None:
            payload = error_payload(fail_status, action.error_message if scripted and action else None)
        headers = action.headers if scripted and action is not None else None
        data = http_response(fail_status, _encode(payload), keep_alive, headers=headers)
        if delay > 0:
            return conn.spawn(app._send_later(conn, data, keep_alive, delay, None))
        return conn.send(data, keep_alive)
    rid = state.next_id()
    try:
        if kind == "embed":
            out = embed_json(body, app.opts.embedding_dim, rid)
        elif kind == "tokenize":
            out = tokenize_json(body)
        elif kind == "rerank":
            out = rerank_json(body, rid)
        else:
            validate_chat(body)
            plan = plan_chat(body, app.chunks)
            if stream:
                frames = chat_stream(body, plan, rid, "call_" + rid)
            else:
                out = chat_json(body, plan, rid, "call_" + rid)
    except RequestError as e:
        return fail(400, e.message)
    cut = action.cut_after_chunks if action is not None else None
    if stream:
        if action is not None and action.stream_error_after_chunks is not None:
            head, paced, _ = frames
            frames = (head, paced[: action.stream_error_after_chunks], [error_event(action.error_message)])
        return conn.spawn(app._stream(conn, frames, keep_alive, delay, cut))
    data = http_response(200, _encode(out), keep_alive)
    if delay > 0 or cut is not None:
        return conn.spawn(app._send_later(conn, data, keep_alive, delay, cut))
    conn.send(data, keep_alive)
