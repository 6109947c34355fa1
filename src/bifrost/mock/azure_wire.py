"""Azure OpenAI on the mock: per-deployment OpenAI routes, Azure's auth, and a fake Entra ID token endpoint.

* `POST /openai/deployments/{deployment}/chat/completions|completions|embeddings?api-version=...` answer
  exactly as the OpenAI routes do, with the deployment as the model; `POST /openai/v1/responses` and
  `GET /openai/models` likewise. They need an `api-key` header (one of `--require-key` when given) or
  `Authorization: Bearer ...`, and an `api-version` query parameter.
* `POST /{tenant}/oauth2/v2.0/token` (client-credentials form) issues `mock-entra-<client_id>-<n>` tokens
  valid for an hour, so a gateway pointed here with BIFROST_AZURE_AUTHORITY_HOST can be tested.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import parse_qs, unquote

import msgspec

from .protocol import http_response

if TYPE_CHECKING:
    from .app import MockApp
    from .protocol import HttpProtocol, Request

_encode = msgspec.json.encode
_DEPLOYMENTS = b"/openai/deployments/"
_TOKEN = b"/oauth2/v2.0/token"
_OPS = {b"chat/completions": "CHAT", b"completions": "COMPLETIONS", b"embeddings": "EMBEDDINGS"}
_DENIED = ("Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid "
           "key for an active subscription and use a correct regional API endpoint for your resource.")
_issued = [0]


def handles(path: bytes) -> bool:
    return path.startswith(b"/openai/") or path.endswith(_TOKEN)


def _azure_error(status: int, message: str, keep_alive: bool, code: str | None = None) -> bytes:
    return http_response(status, _encode({"error": {"code": code or str(status), "message": message}}), keep_alive)


def handle(app: MockApp, conn: HttpProtocol, req: Request) -> None:
    from . import app as A

    ka = req.keep_alive
    state = app.state
    if state.records is not None:
        state.record(req.method, req.path, req.query, req.headers, req.body)
    path = req.path
    if path.endswith(_TOKEN):
        return conn.send(_token(req), ka)
    kind = None
    if path.startswith(_DEPLOYMENTS):
        rest = path[len(_DEPLOYMENTS):]
        for suffix, name in _OPS.items():
            if rest.endswith(b"/" + suffix) and len(rest) > len(suffix) + 1:
                deployment = unquote(rest[: -len(suffix) - 1].decode("latin-1"))
                kind = getattr(A, name)
                break
    elif path == b"/openai/v1/responses":
        kind, deployment = A.RESPONSES, ""
    elif path == b"/openai/models":
        kind, deployment = A.MODELS, ""
    if kind is None:
        return conn.send(_azure_error(404, "Resource not found", ka), ka)
    want = b"GET" if kind == A.MODELS else b"POST"
    if req.method != want:
        return conn.send(_azure_error(405, f"Method {req.method.decode('latin-1')} not allowed", ka), ka)
    api_key = req.header(b"api-key")
    bearer = req.header(b"authorization")
    if api_key:
        if app.api_keys is not None and api_key not in app.api_keys:
            return conn.send(_azure_error(401, _DENIED, ka), ka)
    elif not (bearer and bearer.lower().startswith(b"bearer ") and len(bearer) > 7):
        return conn.send(_azure_error(401, _DENIED, ka), ka)
    if b"api-version=" not in (req.query or b""):
        return conn.send(_azure_error(404, "Resource not found", ka), ka)
    if kind == A.MODELS:
        return conn.send(http_response(200, app.models_body, ka), ka)
    if deployment:
        try:
            body = msgspec.json.decode(req.body) if req.body else None
        except msgspec.DecodeError:
            body = None
        if isinstance(body, dict):
            body["model"] = deployment
            req.body = _encode(body)
    app.inference(conn, req, kind)


def _token(req: Request) -> bytes:
    ka = req.keep_alive
    form = parse_qs((req.body or b"").decode("utf-8", "replace"))
    client_id = (form.get("client_id") or [""])[0]
    if req.method != b"POST" or (form.get("grant_type") or [""])[0] != "client_credentials":
        payload = {"error": "unsupported_grant_type",
                   "error_description": "AADSTS70003: The app requested an unsupported grant type."}
        return http_response(400, _encode(payload), ka)
    if not client_id or not (form.get("client_secret") or [""])[0]:
        payload = {"error": "invalid_client",
                   "error_description": "AADSTS7000215: Invalid client secret provided."}
        return http_response(401, _encode(payload), ka)
    _issued[0] += 1
    token = f"mock-entra-{client_id}-{_issued[0]}"
    return http_response(200, _encode({"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599,
                                       "access_token": token}), ka)
