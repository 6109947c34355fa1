"""`/api/session/*`: log in and out of the admin API, as Bifrost's session handler does.

Login answers `{"message": "Login successful", "token": ...}` and sets the `token` cookie
(HttpOnly, SameSite=Lax, 30 days); the token works as the cookie or as `Authorization: Bearer`.
Only the SHA-256 of a token is stored.
"""

from __future__ import annotations

import secrets
import time
from typing import TYPE_CHECKING

from bifrost.server.api.common import ApiError, Routes, json_object, send_json
from bifrost.server.asgi import Receive, Scope, Send, header
from bifrost.server.auth import SESSION_TTL_S, presented_token, token_hash
from bifrost.stores.base import Session

if TYPE_CHECKING:
    from bifrost.server.app import AppState


def _cookie(scope: Scope, value: str, max_age: int) -> tuple[bytes, bytes]:
    c = f"token={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax"
    if header(scope, b"x-forwarded-proto") == b"https":
        c += "; Secure"
    return (b"set-cookie", c.encode())


async def login(state: AppState, scope: Scope, receive: Receive, send: Send) -> int:
    auth = state.auth
    if not auth.is_enabled:
        raise ApiError(403, "Authentication is not enabled; set auth_config.is_enabled with admin_username and "
                            "admin_password (or BIFROST_ADMIN_USERNAME / BIFROST_ADMIN_PASSWORD) to use sessions")
    payload = await json_object(state, scope, receive)
    username, password = payload.get("username"), payload.get("password")
    if not isinstance(username, str) or not isinstance(password, str):
        raise ApiError(400, 'Invalid request payload: send {"username": "...", "password": "..."}')
    if not auth.check_basic(username, password):
        raise ApiError(401, "Invalid username or password")
    token = secrets.token_urlsafe(32)
    assert state.config_store is not None
    await state.config_store.put_session(Session(token_hash=token_hash(token), username=username,
                                                 expires_at=time.time() + SESSION_TTL_S))
    return await send_json(send, {"message": "Login successful", "token": token},
                           headers=[_cookie(scope, token, SESSION_TTL_S)])


async def logout(state: AppState, scope: Scope, receive: Receive, send: Send) -> int:
    token = presented_token(scope)
    if token and state.config_store is not None:
        await state.config_store.delete_session(token_hash(token))
        state.auth.forget_token(token)
    return await send_json(send, {"message": "Logout successful"}, headers=[_cookie(scope, "", 0)])


async def is_auth_enabled(state: AppState, scope: Scope, receive: Receive, send: Send) -> int:
    auth = state.auth
    valid = False
    token = presented_token(scope)
    if auth.is_enabled and token and state.config_store is not None:
        s = await state.config_store.get_session(token_hash(token))
        valid = s is not None and s.expires_at > time.time()
    return await send_json(send, {
        "is_auth_enabled": auth.is_enabled,
        "has_valid_token": valid,
        "auth_type": "password" if auth.is_enabled else "none",
        "inference_auth_enforced": auth.is_enabled and not auth.disable_auth_on_inference,
    })


ROUTES: Routes = {
    ("POST", "/api/session/login"): login,
    ("POST", "/api/session/logout"): logout,
    ("GET", "/api/session/is-auth-enabled"): is_auth_enabled,
}
