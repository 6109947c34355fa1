"""Routing and behaviour of the mock: inference routes, auth, scripted failures, control API."""

from __future__ import annotations

import asyncio
import time

import msgspec

from . import anthropic_wire, azure_wire, bedrock_wire, cohere_wire, gemini_wire, responses_wire, vertex_wire, wire
from .options import DEFAULT_MODELS, MockOptions
from .protocol import HttpProtocol, Request, chunk, http_response, stream_head
from .state import MockState, ScriptAction

_encode = msgspec.json.encode
_decode = msgspec.json.decode

# route kinds; from MESSAGES on: Anthropic's API
CHAT, COMPLETIONS, EMBEDDINGS, RESPONSES, MODELS, HEALTH, RERANK, MESSAGES, COUNT_TOKENS, MODEL_DETAIL, COMPLETE = (
    range(11))
_ROUTES: dict[bytes, tuple[bytes, int]] = {
    b"/v1/chat/completions": (b"POST", CHAT),
    b"/v1/completions": (b"POST", COMPLETIONS),
    b"/v1/embeddings": (b"POST", EMBEDDINGS),
    b"/v1/responses": (b"POST", RESPONSES),
    b"/v1/models": (b"GET", MODELS),
    b"/v1/rerank": (b"POST", RERANK),  # vLLM's rerank (also at /rerank)
    b"/rerank": (b"POST", RERANK),
    b"/v1/messages": (b"POST", MESSAGES),
    b"/v1/messages/count_tokens": (b"POST", COUNT_TOKENS),
    b"/v1/complete": (b"POST", COMPLETE),
    b"/health": (b"GET", HEALTH),
}
_HEALTH_BODY = b'{"status":"ok"}'
_BAD_JSON = (
    "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your "
    "HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)"
)


class MockApp:
    """One mock server's behaviour; the protocol calls `handle` once per complete request."""

    def __init__(self, opts: MockOptions) -> None:
        self.opts = opts
        self.state = MockState(opts)
        self.connections: set[HttpProtocol] = set()
        self.latency = max(0.0, opts.latency_ms) / 1000.0
        self.interval = max(0.0, opts.chunk_interval_ms) / 1000.0
        self.chunks = max(0, opts.chunks)
        self.keys: frozenset[bytes] | None = None
        self.api_keys = frozenset(k.encode() for k in opts.require_keys) if opts.require_keys else None
        models = tuple(opts.models)
        if models == DEFAULT_MODELS:  # Anthropic-style listings also offer a few Claude ids
            models = tuple(dict.fromkeys(models + anthropic_wire.CLAUDE_MODELS))
        self.claude_models = models
        if opts.require_keys:
            keys = set()
            for k in opts.require_keys:
                kb = k.encode()
                keys.update((b"Bearer " + kb, b"bearer " + kb, b"BEARER " + kb))
            self.keys = frozenset(keys)
        self.models_body = _encode(wire.models_json(tuple(opts.models)))

    def error_bytes(
        self, status: int, message: str | None = None, keep_alive: bool = True, param: str | None = None
    ) -> bytes:
        return http_response(status, _encode(wire.error_payload(status, message, param)), keep_alive)

    def anthropic_error_bytes(
        self, status: int, message: str | None = None, keep_alive: bool = True, param: str | None = None
    ) -> bytes:
        return http_response(status, _encode(anthropic_wire.error_payload(status, message)), keep_alive)

    # ---------------------------------------------------------------- dispatch

    def handle(self, conn: HttpProtocol, req: Request) -> None:
        path = req.path
        state = self.state
        route = _ROUTES.get(path)
        if route is None and path.startswith(b"/mock/"):
            return self.control(conn, req)
        state.count(path)
        if cohere_wire.handles(req):
            return cohere_wire.handle(self, conn, req)
        if route is None:
            if path.startswith(b"/v1beta/"):
                return gemini_wire.handle(self, conn, req)
            if vertex_wire.handles(path):
                return vertex_wire.handle(self, conn, req)
            if azure_wire.handles(path):
                return azure_wire.handle(self, conn, req)
            if path.startswith(b"/model/"):
                return bedrock_wire.handle(self, conn, req)
            if path == b"/foundation-models" and req.method == b"GET":
                return bedrock_wire.handle_models(self, conn, req)
            if path.startswith(b"/v1/models/") and req.method == b"GET":
                return self.model_detail(conn, req)
            if state.records is not None:
                state.record(req.method, path, req.query, req.headers, req.body)
            if _is_anthropic(req):
                return conn.send(self.anthropic_error_bytes(404, "Not Found", req.keep_alive), req.keep_alive)
            msg = f"Invalid URL ({req.method.decode('latin-1')} {path.decode('latin-1')})"
            return conn.send(self.error_bytes(404, msg, req.keep_alive), req.keep_alive)
        method, kind = route
        if kind == HEALTH:
            return conn.send(http_response(200, _HEALTH_BODY, req.keep_alive), req.keep_alive)
        if state.records is not None:
            state.record(req.method, path, req.query, req.headers, req.body)
        if kind >= MESSAGES or (kind == MODELS and _is_anthropic(req)):
            return self.anthropic(conn, req, kind, method)
        if req.method != method:
            msg = f"Invalid method for URL ({req.method.decode('latin-1')} {path.decode('latin-1')})"
            return conn.send(self.error_bytes(405, msg, req.keep_alive), req.keep_alive)
        if self.keys is not None and not self.authorized(req):
            return self.unauthorized(conn, req)
        if kind == MODELS:
            return conn.send(http_response(200, self.models_body, req.keep_alive), req.keep_alive)
        self.inference(conn, req, kind)

    def authorized(self, req: Request) -> bool:
        auth = req.header(b"authorization")
        return auth is not None and auth.strip() in self.keys  # type: ignore[operator]

    def unauthorized(self, conn: HttpProtocol, req: Request) -> None:
        auth = req.header(b"authorization")
        if not auth:
            msg = (
                "You didn't provide an API key. You need to provide your API key in an Authorization header "
                "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
            )
        else:
            key = auth.split(b" ", 1)[-1].decode("latin-1")
            shown = key[:3] + "*" * 4 + key[-4:] if len(key) > 8 else "*" * len(key)
            msg = f"Incorrect API key provided: {shown}."
        conn.send(self.error_bytes(401, msg, req.keep_alive), req.keep_alive)

    def model_detail(self, conn: HttpProtocol, req: Request) -> None:
        state = self.state
        if state.records is not None:
            state.record(req.method, req.path, req.query, req.headers, req.body)
        if _is_anthropic(req):
            return self.anthropic(conn, req, MODEL_DETAIL, b"GET")
        if self.keys is not None and not self.authorized(req):
            return self.unauthorized(conn, req)
        model_id = req.path[len(b"/v1/models/") :].decode("utf-8", "replace")
        if model_id in self.opts.models:
            body = http_response(200, _encode(wire.model_entry(model_id)), req.keep_alive)
        else:
            msg = f"The model '{model_id}' does not exist or you do not have access to it."
            body = http_response(
                404,
                _encode(
                    {
                        "error": {
                            "message": msg,
                            "type": "invalid_request_error",
                            "param": None,
                            "code": "model_not_found",
                        }
                    }
                ),
                req.keep_alive,
            )
        conn.send(body, req.keep_alive)

    def anthropic(self, conn: HttpProtocol, req: Request, kind: int, method: bytes) -> None:
        """Anthropic's routes: x-api-key / anthropic-version auth, then messages, count_tokens, models."""
        keep_alive = req.keep_alive
        if req.method != method:
            msg = f"Method not allowed: {req.method.decode('latin-1')} {req.path.decode('latin-1')}"
            return conn.send(self.anthropic_error_bytes(405, msg, keep_alive), keep_alive)
        bad = anthropic_wire.auth_failure(
            req.header(b"x-api-key"), req.header(b"authorization"), req.header(b"anthropic-version"), self.api_keys
        )
        if bad is not None:
            return conn.send(self.anthropic_error_bytes(bad[0], bad[1], keep_alive), keep_alive)
        if kind == MODELS:
            body = anthropic_wire.models_page(self.claude_models, req.query)
        elif kind == MODEL_DETAIL:
            model_id = req.path[len(b"/v1/models/") :].decode("utf-8", "replace")
            if model_id not in self.claude_models:
                return conn.send(self.anthropic_error_bytes(404, f"model: {model_id}", keep_alive), keep_alive)
            body = anthropic_wire.model_info(model_id)
        else:
            return self.inference(conn, req, kind)
        conn.send(http_response(200, _encode(body), keep_alive), keep_alive)

    # ---------------------------------------------------------------- inference

    def inference(self, conn: HttpProtocol, req: Request, kind: int) -> None:
        keep_alive = req.keep_alive
        try:
            body = _decode(req.body) if req.body else None
        except msgspec.DecodeError:
            body = None
        anth = kind >= MESSAGES
        if anth:
            try:
                if kind == COMPLETE:
                    model = anthropic_wire.validate_complete(body)
                else:
                    model = anthropic_wire.validate(body, kind == COUNT_TOKENS)
            except wire.RequestError as e:
                return conn.send(self.anthropic_error_bytes(400, e.message, keep_alive), keep_alive)
        else:
            if not isinstance(body, dict):
                return conn.send(self.error_bytes(400, _BAD_JSON, keep_alive), keep_alive)
            model = body.get("model")
            if not isinstance(model, str) or not model:
                msg = "you must provide a model parameter"
                return conn.send(self.error_bytes(400, msg, keep_alive, "model"), keep_alive)
        state = self.state
        fail, slow = state.model_rule(model)
        action = state.take_action(model) if state.script else None
        delay = self.latency + slow
        stream = body.get("stream") is True and kind not in (EMBEDDINGS, COUNT_TOKENS, RERANK, COMPLETE)
        scripted = False
        if action is not None:
            delay += action.delay_ms / 1000.0
            if action.close:
                if delay > 0:
                    return conn.spawn(self._close_later(conn, delay))
                return conn.close()
            if action.status is not None:
                fail, scripted = action.status, True
            elif action.stream_error_after_chunks is not None and not stream:
                fail, scripted = anthropic_wire.STATUS_OF_TYPE.get(action.error_type, 500), True
        if fail is not None:
            if scripted and action is not None:
                payload = action.body
                if payload is None and anth:
                    typ = None if action.status is not None else action.error_type
                    payload = anthropic_wire.error_payload(fail, action.error_message, typ)
                elif payload is None:
                    payload = wire.error_payload(fail, action.error_message)
                data = http_response(fail, _encode(payload), keep_alive, headers=action.headers)
            else:
                data = (self.anthropic_error_bytes if anth else self.error_bytes)(fail, None, keep_alive)
            if delay > 0:
                return conn.spawn(self._send_later(conn, data, keep_alive, delay, None))
            return conn.send(data, keep_alive)

        cut = action.cut_after_chunks if action is not None else None
        try:
            if stream:
                frames = self.build_stream(kind, body)
            else:
                data = http_response(200, _encode(self.build_json(kind, body)), keep_alive)
        except wire.RequestError as e:
            err = self.anthropic_error_bytes if anth else self.error_bytes
            return conn.send(err(400, e.message, keep_alive, e.param), keep_alive)
        if stream:
            if action is not None and action.stream_error_after_chunks is not None:
                head, paced, _ = frames  # N content deltas, then the error event ends the stream
                frames = (head, paced[: action.stream_error_after_chunks], [_stream_error_frame(kind, action)])
            return conn.spawn(self._stream(conn, frames, keep_alive, delay, cut))
        if delay > 0 or cut is not None:
            return conn.spawn(self._send_later(conn, data, keep_alive, delay, cut))
        conn.send(data, keep_alive)

    def build_json(self, kind: int, body: dict) -> dict:
        state = self.state
        if kind == CHAT:
            sid = state.next_id()
            ans = wire.plan_chat(body, self.chunks)
            return wire.chat_json(body, ans, "chatcmpl-" + sid, int(time.time()), "call_" + sid)
        if kind == EMBEDDINGS:
            return wire.embeddings_json(body, self.opts.embedding_dim)
        if kind == RERANK:
            return cohere_wire.vllm_rerank_json(body, state.next_id())
        if kind == COMPLETIONS:
            ans = wire.plan_completion(body, self.chunks)
            return wire.completion_json(body, ans, "cmpl-" + state.next_id(), int(time.time()))
        if kind == MESSAGES:
            sid = state.next_id()
            plan = anthropic_wire.plan_messages(body, self.chunks)
            return anthropic_wire.messages_json(body, plan, "msg_" + sid, "toolu_" + sid)
        if kind == COUNT_TOKENS:
            return anthropic_wire.count_tokens_json(body)
        if kind == COMPLETE:
            ans = wire.text_answer(self.chunks, body.get("max_tokens_to_sample"))
            return anthropic_wire.complete_json(body, ans, "compl_" + state.next_id())
        sid = state.next_id()
        ans = responses_wire.plan_responses(body, self.chunks)
        return responses_wire.responses_json(
            body,
            ans,
            "resp_" + sid,
            ("fc_" if ans.tool_name else "msg_") + sid,
            "call_" + sid,
            int(time.time()),
        )

    def build_stream(self, kind: int, body: dict) -> wire.Frames:
        sid = self.state.next_id()
        created = int(time.time())
        if kind == CHAT:
            ans = wire.plan_chat(body, self.chunks)
            return wire.chat_stream(body, ans, "chatcmpl-" + sid, created, "call_" + sid)
        if kind == COMPLETIONS:
            ans = wire.plan_completion(body, self.chunks)
            return wire.completion_stream(body, ans, "cmpl-" + sid, created)
        if kind == MESSAGES:
            plan = anthropic_wire.plan_messages(body, self.chunks)
            return anthropic_wire.messages_stream(body, plan, "msg_" + sid, "toolu_" + sid)
        ans = responses_wire.plan_responses(body, self.chunks)
        return responses_wire.responses_stream(
            body, ans, "resp_" + sid, ("fc_" if ans.tool_name else "msg_") + sid, "call_" + sid, created
        )

    # ---------------------------------------------------------------- responses that wait

    async def _close_later(self, conn: HttpProtocol, delay: float) -> None:
        await asyncio.sleep(delay)
        conn.close()

    async def _send_later(
        self, conn: HttpProtocol, data: bytes, keep_alive: bool, delay: float, cut: int | None
    ) -> None:
        if delay > 0:
            await asyncio.sleep(delay)
        if cut is not None:  # a non-streamed answer cut short: half the body, then close
            head_end = data.index(b"\r\n\r\n") + 4
            conn.send(data[: head_end + (len(data) - head_end) // 2], False)
            return
        conn.send(data, keep_alive)

    async def _stream(
        self, conn: HttpProtocol, frames: wire.Frames, keep_alive: bool, delay: float, cut: int | None
    ) -> None:
        if delay > 0:
            await asyncio.sleep(delay)
        if conn.closed:
            return
        head, paced, tail = frames
        write = conn.transport.write
        budget = 1 << 62 if cut is None else max(0, cut)
        first = head[:budget]
        budget -= len(first)
        write(stream_head(keep_alive) + b"".join(chunk(f) for f in first))
        if budget == 0 and cut is not None:
            return conn.close()
        interval = self.interval
        for f in paced:
            if interval:
                await asyncio.sleep(interval)
            if conn.closed:
                return
            if budget == 0:
                return conn.close()
            write(chunk(f))
            budget -= 1
            if conn.paused:
                await conn.drain()
        if conn.closed:
            return
        if budget < len(tail):
            write(b"".join(chunk(f) for f in tail[:budget]))
            return conn.close()
        conn.send(b"".join(chunk(f) for f in tail) + b"0\r\n\r\n", keep_alive)

    # ---------------------------------------------------------------- control API (/mock/...)

    def control(self, conn: HttpProtocol, req: Request) -> None:
        state = self.state
        path, method, keep_alive = req.path, req.method, req.keep_alive
        status, payload = 200, None
        if path == b"/mock/script":
            if method == b"POST":
                try:
                    n = state.add_actions(_decode(req.body or b"null"))
                except (msgspec.DecodeError, msgspec.ValidationError, TypeError) as e:
                    status, payload = 400, wire.error_payload(400, f"invalid script: {e}")
                else:
                    payload = {"queued": n, "pending": len(state.script)}
            elif method == b"GET":
                payload = {"actions": state.script}
            elif method == b"DELETE":
                state.script.clear()
                payload = {"pending": 0}
        elif path == b"/mock/requests":
            if method == b"GET":
                payload = state.recorded()
            elif method == b"DELETE":
                state.clear()
                payload = {"cleared": True}
        elif path == b"/mock/stats":
            if method == b"GET":
                payload = state.stats()
            elif method == b"DELETE":
                state.reset_stats()
                payload = {"cleared": True}
        else:
            status, payload = 404, wire.error_payload(404, f"Unknown mock control route {path.decode()}")
        if payload is None:
            status, payload = 405, wire.error_payload(405, "Method not allowed")
        conn.send(http_response(status, _encode(payload), keep_alive), keep_alive)


def _is_anthropic(req: Request) -> bool:
    return req.header(b"anthropic-version") is not None or req.header(b"x-api-key") is not None


def _stream_error_frame(kind: int, action: ScriptAction) -> bytes:
    """The SSE frame a scripted mid-stream failure ends with, in the route's own shape."""
    typ, msg = action.error_type, action.error_message
    if kind >= MESSAGES:
        return anthropic_wire.error_event(typ, msg)
    msg = msg or anthropic_wire.error_payload(anthropic_wire.STATUS_OF_TYPE.get(typ, 500))["error"]["message"]
    if kind == RESPONSES:
        ev = {"type": "error", "code": typ, "message": msg, "param": None}
        return b"event: error\ndata: " + _encode(ev) + b"\n\n"
    return b"data: " + _encode({"error": {"message": msg, "type": typ, "param": None, "code": None}}) + b"\n\n"
