"""Google's Gemini API (generativelanguage v1beta) as the mock sends it.

Routes (all under /v1beta): POST models/{model}:generateContent (JSON), :streamGenerateContent?alt=sse
(SSE `data:` objects: the text in --chunks pieces paced by --chunk-interval-ms, the last one carrying
finishReason and usageMetadata), :embedContent, :batchEmbedContents, :countTokens, GET models and
GET models/{model}. The key goes in `x-goog-api-key` or `?key=`; errors use Google's shape
{"error": {"code", "message", "status"}}. Scripted failures (/mock/script), model rules
(mock-fail-<status>, mock-slow-<ms>) and recording work as on the other routes.

The answer builders are pure; `handle` does the routing and reuses the app's pacing helpers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote

import msgspec

from . import anthropic_wire
from .content import embedding_floats, embedding_inputs
from .options import DEFAULT_MODELS
from .protocol import http_response
from .wire import Answer, Frames, RequestError, text_answer, tool_answer

if TYPE_CHECKING:
    from .app import MockApp
    from .protocol import HttpProtocol, Request

_encode = msgspec.json.encode
_decode = msgspec.json.decode

GEMINI_MODELS = ("gemini-2.5-flash", "gemini-2.0-flash", "text-embedding-004")
_STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
           405: "INVALID_ARGUMENT", 408: "DEADLINE_EXCEEDED", 409: "ABORTED", 429: "RESOURCE_EXHAUSTED",
           500: "INTERNAL", 501: "UNIMPLEMENTED", 502: "UNAVAILABLE", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}
_MESSAGES = {
    403: "Method doesn't allow unregistered callers (callers without established identity). "
         "Please use API Key or other form of API consumer identity to call this API.",
    404: "Requested entity was not found.",
    429: "Resource has been exhausted (e.g. check quota). (mock)",
    500: "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting",
    503: "The model is overloaded. Please try again later.",
    504: "Deadline expired before operation could complete. (mock)",
}
_ACTIONS = ("generateContent", "streamGenerateContent", "embedContent", "batchEmbedContents", "countTokens")
_FINISH = {"stop": "STOP", "length": "MAX_TOKENS", "tool_calls": "STOP"}


# ---------------------------------------------------------------- errors


def error_payload(status: int, message: str | None = None) -> dict:
    if message is None:
        message = _MESSAGES.get(status) or (f"Mock error {status}" if status >= 500 else "Invalid request (mock)")
    state = _STATUS.get(status) or ("INTERNAL" if status >= 500 else "INVALID_ARGUMENT")
    return {"error": {"code": status, "message": message, "status": state}}


def error_bytes(status: int, message: str | None, keep_alive: bool) -> bytes:
    return http_response(status, _encode(error_payload(status, message)), keep_alive)


def stream_error_frame(typ: str, message: str | None) -> bytes:
    """A scripted mid-stream failure: Google sends the error object as the last `data:` event."""
    status = anthropic_wire.STATUS_OF_TYPE.get(typ, 500)
    if status == 529:  # overloaded
        status = 503
    return b"data: " + _encode(error_payload(status, message)) + b"\r\n\r\n"


# ---------------------------------------------------------------- what to answer


def _texts(x: Any, out: list[str]) -> list[str]:
    if isinstance(x, dict):
        for k, v in x.items():
            if k == "text" and isinstance(v, str):
                out.append(v)
            elif k in ("args", "response"):
                out.append(msgspec.json.encode(v).decode())
            elif isinstance(v, (dict, list)):
                _texts(v, out)
    elif isinstance(x, list):
        for v in x:
            _texts(v, out)
    return out


def prompt_tokens(req: dict) -> int:
    contents = req.get("contents")
    n = 3 * len(contents) if isinstance(contents, list) else 0
    texts = _texts([contents, req.get("systemInstruction"), req.get("tools")], [])
    return max(1, n + sum((len(t) + 3) // 4 for t in texts))


def validate(req: Any) -> None:
    if not isinstance(req, dict):
        raise RequestError("Invalid JSON payload received. Request body must be a JSON object.")
    contents = req.get("contents")
    if not isinstance(contents, list) or not contents:
        raise RequestError("* GenerateContentRequest.contents: contents is not specified")
    for i, c in enumerate(contents):
        if not isinstance(c, dict) or not isinstance(c.get("parts"), list) or not c["parts"]:
            raise RequestError(f"* GenerateContentRequest.contents[{i}].parts: contents.parts must not be empty.")


def _lower_types(schema: Any) -> Any:
    """Gemini's OpenAPI-style schema ("type": "OBJECT") -> JSON Schema types, for the sample generator."""
    if isinstance(schema, dict):
        return {k: (v.lower() if k == "type" and isinstance(v, str) else _lower_types(v)) for k, v in schema.items()}
    if isinstance(schema, list):
        return [_lower_types(v) for v in schema]
    return schema


def _pick_tool(req: dict) -> tuple[str, Any] | None:
    funcs = []
    for t in req.get("tools") or ():
        for f in (t.get("functionDeclarations") or ()) if isinstance(t, dict) else ():
            if isinstance(f, dict) and isinstance(f.get("name"), str):
                funcs.append((f["name"], _lower_types(
                    f.get("parameters") or f.get("parametersJsonSchema") or f.get("parameters_json_schema"))))
    if not funcs:
        return None
    cfg = (req.get("toolConfig") or {}).get("functionCallingConfig") or {}
    mode = cfg.get("mode") if isinstance(cfg, dict) else None
    if mode == "NONE":
        return None
    if mode == "ANY":
        allowed = cfg.get("allowedFunctionNames") or []
        return next((f for f in funcs if f[0] in allowed), funcs[0])
    last = req["contents"][-1]
    if any(isinstance(p, dict) and "functionResponse" in p for p in last.get("parts") or ()):
        return None  # the function result is in: answer with text so agent loops end
    return funcs[0]


def plan(req: dict, chunks: int) -> Answer:
    if req.get("tools"):
        tool = _pick_tool(req)
        if tool is not None:
            return tool_answer(tool[0], tool[1], chunks)
    gc = req.get("generationConfig") if isinstance(req.get("generationConfig"), dict) else {}
    schema = gc.get("responseSchema") or gc.get("responseJsonSchema")
    json_object = gc.get("responseMimeType") == "application/json"
    return text_answer(chunks, gc.get("maxOutputTokens"), _lower_types(schema) if json_object else None,
                       json_object)


def _usage(prompt: int, completion: int) -> dict:
    return {"promptTokenCount": prompt, "candidatesTokenCount": completion, "totalTokenCount": prompt + completion}


def _part(ans: Answer, text: str) -> dict:
    if ans.tool_name is not None:
        return {"functionCall": {"name": ans.tool_name, "args": _decode(ans.text)}}
    return {"text": text}


def generate_json(req: dict, ans: Answer, model: str, rid: str) -> dict:
    cand = {"content": {"role": "model", "parts": [_part(ans, ans.text)]},
            "finishReason": _FINISH.get(ans.finish_reason, "STOP"), "index": 0}
    return {"candidates": [cand], "usageMetadata": _usage(prompt_tokens(req), ans.completion_tokens),
            "modelVersion": model, "responseId": rid}


def _frame(data: dict) -> bytes:
    return b"data: " + _encode(data) + b"\r\n\r\n"


def generate_stream(req: dict, ans: Answer, model: str, rid: str) -> Frames:
    """No head; one paced frame per text piece but the last; the tail is the last piece with finishReason
    and usageMetadata (a function call arrives whole, in the tail)."""
    pieces = [ans.text] if ans.tool_name is not None else list(ans.pieces) or [""]
    prompt = prompt_tokens(req)
    frames = []
    for i, piece in enumerate(pieces):
        cand: dict[str, Any] = {"content": {"role": "model", "parts": [_part(ans, piece)]}, "index": 0}
        last = i == len(pieces) - 1
        if last:
            cand["finishReason"] = _FINISH.get(ans.finish_reason, "STOP")
        frames.append(_frame({"candidates": [cand],
                              "usageMetadata": _usage(prompt, ans.completion_tokens if last else 0),
                              "modelVersion": model, "responseId": rid}))
    return [], frames[:-1], frames[-1:]


def _embed_one(req: Any, dim: int, where: str) -> tuple[dict, int]:
    content = req.get("content") if isinstance(req, dict) else None
    parts = content.get("parts") if isinstance(content, dict) else None
    if not isinstance(parts, list) or not parts:
        raise RequestError(f"* {where}.content.parts: must not be empty")
    text = " ".join(p["text"] for p in parts if isinstance(p, dict) and isinstance(p.get("text"), str))
    out_dim = req.get("outputDimensionality")
    d = out_dim if isinstance(out_dim, int) and out_dim > 0 else dim
    key, tokens = (embedding_inputs(text) or [(text, 1)])[0]
    return {"values": list(embedding_floats(key, d))}, tokens


def embed_json(req: Any, batch: bool, dim: int) -> dict:
    if not isinstance(req, dict):
        raise RequestError("Invalid JSON payload received. Request body must be a JSON object.")
    if not batch:
        return {"embedding": _embed_one(req, dim, "EmbedContentRequest")[0]}
    reqs = req.get("requests")
    if not isinstance(reqs, list) or not reqs:
        raise RequestError("* BatchEmbedContentsRequest.requests: must not be empty")
    return {"embeddings": [_embed_one(r, dim, f"BatchEmbedContentsRequest.requests[{i}]")[0]
                           for i, r in enumerate(reqs)]}


def count_tokens_json(req: Any) -> dict:
    if not isinstance(req, dict):
        raise RequestError("Invalid JSON payload received. Request body must be a JSON object.")
    inner = req.get("generateContentRequest")
    return {"totalTokens": prompt_tokens(inner if isinstance(inner, dict) else {"contents": req.get("contents")})}


def model_info(model_id: str) -> dict:
    embed = "embedding" in model_id
    return {"name": "models/" + model_id, "version": "001", "displayName": model_id,
            "description": "A mock model served by bifrost mock", "inputTokenLimit": 1048576,
            "outputTokenLimit": 0 if embed else 65536,
            "supportedGenerationMethods": ["embedContent", "batchEmbedContents"] if embed
            else ["generateContent", "countTokens"]}


def models(opts_models: tuple[str, ...]) -> tuple[str, ...]:
    if opts_models == DEFAULT_MODELS:
        return tuple(dict.fromkeys(opts_models + GEMINI_MODELS))
    return opts_models


# ---------------------------------------------------------------- routing


def _key(req: Request) -> bytes | None:
    key = req.header(b"x-goog-api-key")
    if not key and req.query:
        vals = parse_qs(req.query.decode("latin-1")).get("key")
        key = vals[0].encode("latin-1") if vals else None
    return key.strip() if key else None


def handle(app: MockApp, conn: HttpProtocol, req: Request) -> None:
    """Any request under /v1beta/ (already counted by the app; recorded here)."""
    state, keep_alive = app.state, req.keep_alive
    if state.records is not None:
        state.record(req.method, req.path, req.query, req.headers, req.body)

    def fail(status: int, message: str | None = None) -> None:
        conn.send(error_bytes(status, message, keep_alive), keep_alive)

    path = unquote(req.path.decode("latin-1"))
    if not (path == "/v1beta/models" or path.startswith("/v1beta/models/")):
        return fail(404, f"Requested entity was not found: {path}")
    key = _key(req)
    if not key:
        return fail(403)
    if app.api_keys is not None and key not in app.api_keys:
        return fail(400, "API key not valid. Please pass a valid API key.")
    known = models(tuple(app.opts.models))
    rest = path[len("/v1beta/models/"):]
    if path == "/v1beta/models" or ":" not in rest:
        if req.method != b"GET":
            return fail(405, f"Method not allowed: {req.method.decode('latin-1')} {path}")
        if path == "/v1beta/models":
            body: dict = {"models": [model_info(m) for m in known]}
        elif rest in known:
            body = model_info(rest)
        else:
            return fail(404, f"models/{rest} is not found for API version v1beta, or is not supported.")
        return conn.send(http_response(200, _encode(body), keep_alive), keep_alive)
    model, _, action = rest.rpartition(":")
    if action not in _ACTIONS:
        return fail(404, f"Requested entity was not found: unknown method {action}")
    if req.method != b"POST":
        return fail(405, f"Method not allowed: {req.method.decode('latin-1')} {path}")
    try:
        body = _decode(req.body) if req.body else None
    except msgspec.DecodeError:
        body = None
    stream = action == "streamGenerateContent"
    try:
        if action in ("generateContent", "streamGenerateContent"):
            validate(body)
    except RequestError as e:
        return fail(400, e.message)
    _answer(app, conn, req, model, action, body, stream)


def _answer(app: MockApp, conn: HttpProtocol, req: Request, model: str, action: str, body: Any,
            stream: bool) -> None:
    state, keep_alive = app.state, req.keep_alive
    fail_status, slow = state.model_rule(model)
    action_ = state.take_action(model) if state.script else None
    delay = app.latency + slow
    scripted = False
    if action_ is not None:
        delay += action_.delay_ms / 1000.0
        if action_.close:
            if delay > 0:
                return conn.spawn(app._close_later(conn, delay))
            return conn.close()
        if action_.status is not None:
            fail_status, scripted = action_.status, True
        elif action_.stream_error_after_chunks is not None and not stream:
            status = anthropic_wire.STATUS_OF_TYPE.get(action_.error_type, 500)
            fail_status, scripted = (503 if status == 529 else status), True
    if fail_status is not None:
        payload = action_.body if scripted and action_ is not None else None
        if payload is None:
            payload = error_payload(fail_status, action_.error_message if scripted and action_ else None)
        headers = action_.headers if scripted and action_ is not None else None
        data = http_response(fail_status, _encode(payload), keep_alive, headers=headers)
        if delay > 0:
            return conn.spawn(app._send_later(conn, data, keep_alive, delay, None))
        return conn.send(data, keep_alive)

    rid = state.next_id()
    try:
        if action == "embedContent" or action == "batchEmbedContents":
            out = embed_json(body, action == "batchEmbedContents", app.opts.embedding_dim)
        elif action == "countTokens":
            out = count_tokens_json(body)
        else:
            ans = plan(body, app.chunks)
            if stream:
                frames = generate_stream(body, ans, model, rid)
            else:
                out = generate_json(body, ans, model, rid)
    except RequestError as e:
        return conn.send(error_bytes(400, e.message, keep_alive), keep_alive)
    cut = action_.cut_after_chunks if action_ is not None else None
    if stream:
        if action_ is not None and action_.stream_error_after_chunks is not None:
            head, paced, tail = frames
            pieces = (paced + tail)[: action_.stream_error_after_chunks]
            frames = (head, pieces, [stream_error_frame(action_.error_type, action_.error_message)])
        return conn.spawn(app._stream(conn, frames, keep_alive, delay, cut))
    data = http_response(200, _encode(out), keep_alive)
    if delay > 0 or cut is not None:
        return conn.spawn(app._send_later(conn, data, keep_alive, delay, cut))
    conn.send(data, keep_alive)


