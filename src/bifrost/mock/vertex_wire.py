"""Google Vertex AI on the mock, delegating the answers to the Gemini and Anthropic wire code.

Routes: POST /v1/projects/{project}/locations/{region}/publishers/google/models/{model}:generateContent,
:streamGenerateContent?alt=sse, :predict (text embeddings: {"predictions": [{"embeddings": {"values",
"statistics"}}]}); .../publishers/anthropic/models/{model}:rawPredict and :streamRawPredict (a Messages body
with "anthropic_version": "vertex-2023-10-16" and no model; the model comes from the URL);
.../publishers/mistralai/models/{model}:rawPredict and :streamRawPredict (an OpenAI chat body with the model);
POST /v1beta1/projects/{project}/locations/{region}/endpoints/openapi/chat/completions (Model-as-a-Service:
OpenAI chat, the model as "publisher/model"); POST /v1beta1/projects/{project_number}/locations/{region}/
endpoints/{id}:generateContent and :streamGenerateContent (a fine-tuned endpoint: the Gemini wire, the project
given by number). Every call needs a credential, as Vertex does: `Authorization: Bearer <token>` (with
--require-key: one of the keys or a token this mock issued) or an express-mode API key as the `key` query
parameter (with --require-key: one of the keys; a wrong one is 400 "API key not valid", as Google answers).
Claude and Mistral `rawPredict` refuse an API key (401, as Vertex does for partner models); no credential
at all is 401 UNAUTHENTICATED. The recorded query keeps `key=` so tests can see what the gateway sent.

`POST /token` is a fake Google OAuth2 token endpoint (the service-account JWT-bearer grant): it answers
{"access_token": "mock-vertex-token-<n>", "expires_in": 3600, "token_type": "Bearer"}. Requests are
recorded (the token request's form as a JSON object).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote

import msgspec

from . import gemini_wire
from .content import embedding_floats, embedding_inputs
from .protocol import http_response

if TYPE_CHECKING:
    from .app import MockApp
    from .protocol import HttpProtocol, Request

_encode = msgspec.json.encode
_decode = msgspec.json.decode
PREFIX = b"/v1/projects/"
BETA_PREFIX = b"/v1beta1/projects/"
TOKEN_PATH = b"/token"
ANTHROPIC_VERSION = "vertex-2023-10-16"
_issued = [0]


def handles(path: bytes) -> bool:
    return path.startswith(PREFIX) or path.startswith(BETA_PREFIX) or path == TOKEN_PATH


def handle(app: MockApp, conn: HttpProtocol, req: Request) -> None:
    state, ka = app.state, req.keep_alive
    if req.path == TOKEN_PATH:  # recorded with the form decoded, as a JSON object
        form = {k: v[0] for k, v in parse_qs((req.body or b"").decode("utf-8", "replace")).items()}
        state.record(req.method, req.path, req.query, req.headers, _encode(form))
        return conn.send(_token(req), ka)
    state.record(req.method, req.path, req.query, req.headers, req.body)

    def fail(status: int, message: str | None = None) -> None:
        conn.send(gemini_wire.error_bytes(status, message, ka), ka)

    path = unquote(req.path.decode("latin-1"))
    parts = path.split("/")  # "", v1, projects, P, locations, R, publishers, X, models, M:action
    beta = parts[1] == "v1beta1" and len(parts) in (8, 10) and parts[4] == "locations" and parts[6] == "endpoints"
    if not beta and (len(parts) != 10 or parts[1] != "v1" or parts[4] != "locations" or parts[6] != "publishers"
                     or parts[8] != "models"):
        return fail(404, f"Requested entity was not found: {path}")
    if req.method != b"POST":
        return fail(405, f"Method not allowed: {req.method.decode('latin-1')} {path}")
    problem = _credential_problem(app, req, parts)
    if problem is not None:
        return fail(*problem)
    try:
        body = _decode(req.body) if req.body else None
    except msgspec.DecodeError:
        body = None
    if beta:
        return _endpoint(app, conn, req, parts, body)
    publisher = parts[7]
    model, _, action = parts[9].rpartition(":")
    if publisher == "anthropic":
        return _anthropic(app, conn, req, model, action, body)
    if publisher == "mistralai":
        if action not in ("rawPredict", "streamRawPredict"):
            return fail(404, f"Requested entity was not found: unknown method {action}")
        return _openai_chat(app, conn, req, body, action == "streamRawPredict", None)
    if publisher != "google":
        return fail(404, f"Publisher Model `{publisher}/{model}` was not found")
    if action == "predict":
        return _predict(app, conn, req, model, body)
    if action not in ("generateContent", "streamGenerateContent"):
        return fail(404, f"Requested entity was not found: unknown method {action}")
    try:
        gemini_wire.validate(body)
    except gemini_wire.RequestError as e:
        return fail(400, e.message)
    gemini_wire._answer(app, conn, req, model, action, body, action == "streamGenerateContent")


def _credential_problem(app: MockApp, req: Request, parts: list[str]) -> tuple[int, str] | None:
    """(status, message) when the request lacks a credential Vertex would accept, else None."""
    api_key = (parse_qs(req.query.decode("latin-1")).get("key") or [""])[0] if req.query else ""
    auth = (req.header(b"authorization") or b"").strip()
    if api_key:
        if len(parts) == 10 and parts[6] == "publishers" and parts[7] in ("anthropic", "mistralai"):
            return 401, ("API keys are not supported by this API. Expected OAuth2 access token or other "
                         "authentication credentials that assert a principal.")
        if app.api_keys is not None and api_key.encode("latin-1") not in app.api_keys:
            return 400, "API key not valid. Please pass a valid API key."
        return None
    if auth[:7].lower() != b"bearer " or not auth[7:].strip():
        return 401, ("Request is missing required authentication credential. Expected OAuth 2 access token, "
                     "login cookie or other valid authentication credential.")
    token = auth[7:].strip()
    if app.api_keys is not None and token not in app.api_keys and not token.startswith(b"mock-vertex-token-"):
        return 401, "Request had invalid authentication credentials. Expected OAuth 2 access token."
    return None


def _endpoint(app: MockApp, conn: HttpProtocol, req: Request, parts: list[str], body: Any) -> None:
    """/v1beta1/.../endpoints/openapi/chat/completions, or .../endpoints/{id}:generateContent (fine-tuned)."""
    ka = req.keep_alive
    if len(parts) == 10:
        if parts[7:] != ["openapi", "chat", "completions"]:
            return conn.send(gemini_wire.error_bytes(404, "Requested entity was not found.", ka), ka)
        return _openai_chat(app, conn, req, body, None, "publisher/model")
    endpoint, _, action = parts[7].rpartition(":")
    if not parts[3].isdigit() or not endpoint.isdigit():
        msg = f"Endpoint `projects/{parts[3]}/locations/{parts[5]}/endpoints/{endpoint}` not found."
        return conn.send(gemini_wire.error_bytes(404, msg, ka), ka)
    if action not in ("generateContent", "streamGenerateContent"):
        return conn.send(gemini_wire.error_bytes(404, f"unknown method {action}", ka), ka)
    try:
        gemini_wire.validate(body)
    except gemini_wire.RequestError as e:
        return conn.send(gemini_wire.error_bytes(400, e.message, ka), ka)
    gemini_wire._answer(app, conn, req, endpoint, action, body, action == "streamGenerateContent")


def _openai_chat(app: MockApp, conn: HttpProtocol, req: Request, body: Any, stream: bool | None,
                 model_form: str | None) -> None:
    """An OpenAI chat body served by the mock's chat wire (Mistral rawPredict, the MaaS endpoint)."""
    from .app import CHAT

    ka = req.keep_alive
    model = body.get("model") if isinstance(body, dict) else None
    if not isinstance(model, str) or not model:
        return conn.send(gemini_wire.error_bytes(400, "model: field required in the request body", ka), ka)
    if model_form == "publisher/model" and "/" not in model:
        msg = f"model must be given as publisher/model (e.g. meta/llama-3.3-70b-instruct-maas), got {model!r}"
        return conn.send(gemini_wire.error_bytes(400, msg, ka), ka)
    if stream is not None and isinstance(body, dict) and (body.get("stream") is True) != stream:
        body["stream"] = stream
        req.body = _encode(body)
    app.inference(conn, req, CHAT)


def _anthropic(app: MockApp, conn: HttpProtocol, req: Request, model: str, action: str, body: Any) -> None:
    from .app import MESSAGES

    ka = req.keep_alive
    if action not in ("rawPredict", "streamRawPredict"):
        return conn.send(app.anthropic_error_bytes(404, f"unknown method {action}", ka), ka)
    if not isinstance(body, dict):
        return conn.send(app.anthropic_error_bytes(400, "The request body is not valid JSON.", ka), ka)
    if body.get("anthropic_version") != ANTHROPIC_VERSION:
        msg = f"anthropic_version: Input should be '{ANTHROPIC_VERSION}'"
        return conn.send(app.anthropic_error_bytes(400, msg, ka), ka)
    if "model" in body:
        return conn.send(app.anthropic_error_bytes(400, "model: Extra inputs are not permitted", ka), ka)
    if (action == "streamRawPredict") != (body.get("stream") is True):
        body["stream"] = action == "streamRawPredict"
    body.pop("anthropic_version")
    body["model"] = model
    req.body = _encode(body)
    app.inference(conn, req, MESSAGES)


def _predict(app: MockApp, conn: HttpProtocol, req: Request, model: str, body: Any) -> None:
    ka = req.keep_alive
    fail_status, _ = app.state.model_rule(model)
    action = app.state.take_action(model) if app.state.script else None
    if action is not None and action.status is not None:
        fail_status = action.status
    if fail_status is not None:
        msg = action.error_message if action is not None else None
        return conn.send(gemini_wire.error_bytes(fail_status, msg, ka), ka)
    instances = body.get("instances") if isinstance(body, dict) else None
    if not isinstance(instances, list) or not instances:
        return conn.send(gemini_wire.error_bytes(400, "instances must not be empty", ka), ka)
    params = body.get("parameters") if isinstance(body.get("parameters"), dict) else {}
    dim = params.get("outputDimensionality")
    dim = dim if isinstance(dim, int) and dim > 0 else app.opts.embedding_dim
    preds = []
    for inst in instances:
        text = inst.get("content") if isinstance(inst, dict) else None
        if not isinstance(text, str):
            return conn.send(gemini_wire.error_bytes(400, "instances[].content must be a string", ka), ka)
        key, tokens = (embedding_inputs(text) or [(text, 1)])[0]
        preds.append({"embeddings": {"values": list(embedding_floats(key, dim)),
                                     "statistics": {"truncated": False, "token_count": tokens}}})
    conn.send(http_response(200, _encode({"predictions": preds}), ka), ka)


def _token(req: Request) -> bytes:
    ka = req.keep_alive
    form = parse_qs((req.body or b"").decode("utf-8", "replace"))
    grant = (form.get("grant_type") or [""])[0]
    if req.method != b"POST" or grant != "urn:ietf:params:oauth:grant-type:jwt-bearer":
        return http_response(400, _encode({"error": "unsupported_grant_type",
                                           "error_description": "Invalid grant_type: " + grant}), ka)
    if not (form.get("assertion") or [""])[0]:
        return http_response(400, _encode({"error": "invalid_grant", "error_description": "Missing assertion"}), ka)
    _issued[0] += 1
    return http_response(200, _encode({"access_token": f"mock-vertex-token-{_issued[0]}", "expires_in": 3600,
                                       "token_type": "Bearer"}), ka)
