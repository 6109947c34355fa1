"""The AWS Bedrock Converse API of the mock: /model/{modelId}/converse (JSON) and
/model/{modelId}/converse-stream (AWS binary event stream, `application/vnd.amazon.eventstream`);
/model/{modelId}/invoke (and /invoke-with-response-stream) for the text models of `bedrock_text`
(Anthropic legacy, Mistral) and for the embedding models (Titan `amazon.titan-embed-*`: {"inputText"} ->
{"embedding", "inputTextTokenCount"}; Cohere `cohere.embed-*`: {"texts", "input_type"} -> {"embeddings"});
GET /foundation-models (the control plane's ListFoundationModels).

/mock/script actions with a `status` answer converse calls (`body` verbatim, else {"message"} with
x-amzn-ErrorType). Auth: an `Authorization` header is required (SigV4 `AWS4-HMAC-SHA256 ...` or `Bearer <key>`; with
--require-key, a bearer key must be one of them); signatures are not verified. The answer is
planned like the Anthropic mock's (same text, tool call and stop reasons, which Converse shares).
"""

from __future__ import annotations

import asyncio
import binascii
import struct
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

import msgspec

from . import anthropic_wire, bedrock_text
from .content import approx_tokens, embedding_floats
from .protocol import chunk, http_response

if TYPE_CHECKING:
    from .app import MockApp
    from .protocol import HttpProtocol, Request

_encode = msgspec.json.encode
_STREAM_HEAD = (b"HTTP/1.1 200 OK\r\ncontent-type: application/vnd.amazon.eventstream\r\n"
                b"transfer-encoding: chunked\r\n")
_ERROR_TYPES = {400: "ValidationException", 403: "AccessDeniedException", 404: "ResourceNotFoundException",
                429: "ThrottlingException", 500: "InternalServerException", 503: "ServiceUnavailableException"}


# ---------------------------------------------------------------- event stream encoding


def _headers(pairs: list[tuple[str, str]]) -> bytes:
    out = b""
    for name, value in pairs:
        n, v = name.encode(), value.encode()
        out += bytes([len(n)]) + n + b"\x07" + struct.pack(">H", len(v)) + v  # 7 = string
    return out


def frame(event_type: str, payload: dict, message_type: str = "event") -> bytes:
    """One event-stream message: prelude (total length, headers length, CRC32), headers, payload, CRC32."""
    kind = ":event-type" if message_type == "event" else ":exception-type"
    hb = _headers([(kind, event_type), (":content-type", "application/json"), (":message-type", message_type)])
    body = _encode(payload)
    prelude = struct.pack(">II", 12 + len(hb) + len(body) + 4, len(hb))
    msg = prelude + struct.pack(">I", binascii.crc32(prelude)) + hb + body
    return msg + struct.pack(">I", binascii.crc32(msg))


# ---------------------------------------------------------------- what to answer


def _as_anthropic(req: dict) -> dict:
    """The parts of a Converse request that the Anthropic mock's planner reads, in its shape."""
    out: dict[str, Any] = {}
    inf = req.get("inferenceConfig") or {}
    if inf.get("maxTokens") is not None:
        out["max_tokens"] = inf["maxTokens"]
    if inf.get("stopSequences"):
        out["stop_sequences"] = inf["stopSequences"]
    tc = req.get("toolConfig")
    if isinstance(tc, dict) and tc.get("tools"):
        specs = [t["toolSpec"] for t in tc["tools"] if isinstance(t, dict) and isinstance(t.get("toolSpec"), dict)]
        out["tools"] = [{"name": s.get("name"), "input_schema": (s.get("inputSchema") or {}).get("json")}
                        for s in specs]
        choice = tc.get("toolChoice") or {}
        if "any" in choice:
            out["tool_choice"] = {"type": "any"}
        elif "tool" in choice:
            out["tool_choice"] = {"type": "tool", "name": (choice["tool"] or {}).get("name")}
    last = req["messages"][-1]
    blocks = last.get("content") if isinstance(last, dict) else None
    out["messages"] = [{"role": last.get("role") if isinstance(last, dict) else "user",
                        "content": [{"type": "tool_result" if isinstance(b, dict) and "toolResult" in b else "text"}
                                    for b in blocks or []]}]
    return out


def _usage(req: dict, out: int) -> dict:
    inp = max(1, approx_tokens(req.get("messages")) + approx_tokens(req.get("system")))
    return {"inputTokens": inp, "outputTokens": out, "totalTokens": inp + out}


def converse_json(req: dict, plan: anthropic_wire.Plan, tool_id: str) -> dict:
    content: list[dict] = [{"text": plan.text}]
    if plan.tool is not None:
        content.append({"toolUse": {"toolUseId": tool_id, "name": plan.tool.tool_name,
                                    "input": msgspec.json.decode(plan.tool.text)}})
    return {"output": {"message": {"role": "assistant", "content": content}}, "stopReason": plan.stop_reason,
            "usage": _usage(req, plan.output), "metrics": {"latencyMs": 1}}


def converse_stream(req: dict, plan: anthropic_wire.Plan, tool_id: str) -> list[bytes]:
    frames = [frame("messageStart", {"role": "assistant"})]
    frames += [frame("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": p}}) for p in plan.pieces]
    frames.append(frame("contentBlockStop", {"contentBlockIndex": 0}))
    if plan.tool is not None:
        frames.append(frame("contentBlockStart", {"contentBlockIndex": 1, "start": {
            "toolUse": {"toolUseId": tool_id, "name": plan.tool.tool_name}}}))
        frames += [frame("contentBlockDelta", {"contentBlockIndex": 1, "delta": {"toolUse": {"input": p}}})
                   for p in plan.tool.pieces]
        frames.append(frame("contentBlockStop", {"contentBlockIndex": 1}))
    frames.append(frame("messageStop", {"stopReason": plan.stop_reason}))
    frames.append(frame("metadata", {"usage": _usage(req, plan.output), "metrics": {"latencyMs": 1}}))
    return frames


# ---------------------------------------------------------------- routing


def error_bytes(status: int, message: str, keep_alive: bool) -> bytes:
    typ = _ERROR_TYPES.get(status, "InternalServerException" if status >= 500 else "ValidationException")
    return http_response(status, _encode({"message": message}), keep_alive, headers={"x-amzn-ErrorType": typ})


def _scripted(status: int, body: Any, message: str | None, headers: dict[str, str] | None, keep_alive: bool) -> bytes:
    """A /mock/script answer on converse: `body` as given (any status), else the AWS error shape."""
    if body is None:
        return error_bytes(status, message or f"Mock error {status}", keep_alive)
    return http_response(status, _encode(body), keep_alive, headers=headers)


FOUNDATION_MODELS = [
    ("anthropic.claude-3-haiku-20240307-v1:0", "Claude 3 Haiku", "Anthropic", ["TEXT"]),
    ("amazon.titan-embed-text-v2:0", "Titan Text Embeddings V2", "Amazon", ["EMBEDDING"]),
    ("cohere.embed-english-v3", "Embed English", "Cohere", ["EMBEDDING"]),
]


def _models_json() -> dict:
    return {"modelSummaries": [
        {"modelArn": f"arn:aws:bedrock:us-east-1::foundation-model/{mid}", "modelId": mid, "modelName": name,
         "providerName": prov, "inputModalities": ["TEXT"], "outputModalities": out,
         "responseStreamingSupported": out == ["TEXT"], "customizationsSupported": [],
         "inferenceTypesSupported": ["ON_DEMAND"], "modelLifecycle": {"status": "ACTIVE"}}
        for mid, name, prov, out in FOUNDATION_MODELS]}


def _invoke_text(app: MockApp, conn: HttpProtocol, fam: str, body: dict, stream: bool, keep_alive: bool) -> None:
    err = bedrock_text.validate(fam, body)
    if err is not None:
        return conn.send(error_bytes(400, err, keep_alive), keep_alive)
    ans = bedrock_text.plan(fam, body, app.chunks)
    if stream:
        frames = [frame("chunk", p) for p in bedrock_text.stream_payloads(fam, body, ans)]
        return conn.spawn(_send_stream(app, conn, frames, keep_alive))
    inp, out = bedrock_text.tokens(body, ans)
    headers = {"x-amzn-bedrock-input-token-count": str(inp), "x-amzn-bedrock-output-token-count": str(out),
               "x-amzn-bedrock-invocation-latency": "5"}
    return conn.send(http_response(200, _encode(bedrock_text.response(fam, ans)), keep_alive, headers=headers),
                     keep_alive)


def _invoke(app: MockApp, conn: HttpProtocol, model: str, body: Any, keep_alive: bool, stream: bool) -> None:
    fail, _ = app.state.model_rule(model)
    if fail is not None:
        return conn.send(error_bytes(fail, f"Mock error {fail}", keep_alive), keep_alive)
    if not isinstance(body, dict):
        return conn.send(error_bytes(400, "Malformed input request", keep_alive), keep_alive)
    fam = bedrock_text.family(model)
    if fam is not None:
        return _invoke_text(app, conn, fam, body, stream, keep_alive)
    if stream:
        return conn.send(error_bytes(400, f"The mock's InvokeModelWithResponseStream does not serve {model}",
                                     keep_alive), keep_alive)
    if "titan-embed" in model:
        text = body.get("inputText")
        if not isinstance(text, str) or not text:
            return conn.send(error_bytes(400, "Malformed input request: #: required key [inputText] not found",
                                         keep_alive), keep_alive)
        dim = body.get("dimensions") or 1024
        if dim not in (256, 512, 1024):
            return conn.send(error_bytes(400, "Malformed input request: dimensions must be 256, 512 or 1024",
                                         keep_alive), keep_alive)
        out: dict = {"embedding": list(embedding_floats(text, dim)), "inputTextTokenCount": approx_tokens(text)}
        return conn.send(http_response(200, _encode(out), keep_alive), keep_alive)
    if "cohere.embed" in model:
        texts = body.get("texts")
        if not isinstance(texts, list) or not texts or not isinstance(body.get("input_type"), str):
            return conn.send(error_bytes(400, "Malformed input request: texts and input_type are required",
                                         keep_alive), keep_alive)
        out = {"id": "emb-" + app.state.next_id(), "response_type": "embeddings_floats", "texts": texts,
               "embeddings": [list(embedding_floats(str(t), 1024)) for t in texts]}
        return conn.send(http_response(200, _encode(out), keep_alive), keep_alive)
    return conn.send(error_bytes(400, f"The mock's InvokeModel does not serve {model}", keep_alive), keep_alive)


def _auth_error(app: MockApp, req: Request) -> str | None:
    auth = (req.header(b"authorization") or b"").decode("latin-1")
    if not auth:
        return "Missing Authentication Token"
    if auth.startswith("Bearer ") and app.api_keys is not None and auth[7:].encode() not in app.api_keys:
        return "The security token included in the request is invalid."
    if not auth.startswith(("Bearer ", "AWS4-HMAC-SHA256 Credential=")):
        return "Invalid Authorization header"
    return None


def handle_models(app: MockApp, conn: HttpProtocol, req: Request) -> None:
    """GET /foundation-models."""
    keep_alive = req.keep_alive
    if app.state.records is not None:
        app.state.record(req.method, req.path, req.query, req.headers, req.body)
    err = _auth_error(app, req)
    if err is not None:
        return conn.send(error_bytes(403, err, keep_alive), keep_alive)
    conn.send(http_response(200, _encode(_models_json()), keep_alive), keep_alive)


def handle(app: MockApp, conn: HttpProtocol, req: Request) -> None:
    keep_alive = req.keep_alive
    if app.state.records is not None:
        app.state.record(req.method, req.path, req.query, req.headers, req.body)
    parts = req.path.decode("latin-1").split("/")  # "", "model", id, op
    ops = ("converse", "converse-stream", "invoke", "invoke-with-response-stream")
    if len(parts) != 4 or parts[3] not in ops or req.method != b"POST":
        return conn.send(error_bytes(404, "UnknownOperationException", keep_alive), keep_alive)
    model, stream = unquote(parts[2]), parts[3] == "converse-stream"
    err = _auth_error(app, req)
    if err is not None:
        return conn.send(error_bytes(403, err, keep_alive), keep_alive)
    try:
        body = msgspec.json.decode(req.body) if req.body else None
    except msgspec.DecodeError:
        body = None
    if parts[3].startswith("invoke"):
        return _invoke(app, conn, model, body, keep_alive, parts[3] != "invoke")
    if not isinstance(body, dict) or not isinstance(body.get("messages"), list) or not body["messages"]:
        return conn.send(error_bytes(400, "messages: at least one message is required", keep_alive), keep_alive)
    fail, _ = app.state.model_rule(model)
    if fail is not None:
        return conn.send(error_bytes(fail, f"Mock error {fail}", keep_alive), keep_alive)
    action = app.state.take_action(model) if app.state.script else None
    if action is not None and action.status is not None:
        return conn.send(_scripted(action.status, action.body, action.error_message, action.headers, keep_alive),
                         keep_alive)
    plan = anthropic_wire.plan_messages(_as_anthropic(body), app.chunks)
    tool_id = "tooluse_" + app.state.next_id()
    if not stream:
        return conn.send(http_response(200, _encode(converse_json(body, plan, tool_id)), keep_alive), keep_alive)
    conn.spawn(_send_stream(app, conn, converse_stream(body, plan, tool_id), keep_alive))


async def _send_stream(app: MockApp, conn: HttpProtocol, frames: list[bytes], keep_alive: bool) -> None:
    if conn.closed:
        return
    head = _STREAM_HEAD + (b"connection: keep-alive\r\n" if keep_alive else b"connection: close\r\n") + b"\r\n"
    conn.transport.write(head + chunk(frames[0]))
    for f in frames[1:-1]:
        if app.interval:
            await asyncio.sleep(app.interval)
        if conn.closed:
            return
        conn.transport.write(chunk(f))
        if conn.paused:
            await conn.drain()
    conn.send(chunk(frames[-1]) + b"0\r\n\r\n", keep_alive)
