"""Admin auth (`auth_config`): who may call /api, /metrics and, unless disabled, inference.

Credentials are HTTP basic auth with the admin username and password, or a session token from
POST /api/session/login sent as the `token` cookie or `Authorization: Bearer <token>`, as in
Bifrost. The password is kept only as an Argon2id hash and session tokens only as SHA-256 hashes.
Verified credentials are cached briefly so that basic auth on every inference request costs a dict
lookup, not an Argon2 hash (which is slow on purpose).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import time
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from bifrost.schemas.errors import BifrostError
from bifrost.server.asgi import Scope, header

SESSION_TTL_S = 30 * 24 * 3600  # Bifrost's 30 days
_CACHE_TTL_S = 60.0  # a logout on another replica takes effect within this
_CACHE_MAX = 10000
_hasher = PasswordHasher()
_ALWAYS_OPEN = {"/health", "/api/session/login", "/api/session/logout", "/api/session/is-auth-enabled"}


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class AuthRequired(BifrostError):
    """401 with Bifrost's error JSON; the message says which credentials to send."""

    is_bifrost_error = False

    def __init__(self, message: str) -> None:
        super().__init__(message, status=401, type="unauthorized",
                         headers={"WWW-Authenticate": 'Basic realm="bifrost", charset="UTF-8"'})


HOW = ("send HTTP basic auth with the admin username and password (Authorization: Basic base64(user:password)), "
       "or log in with POST /api/session/login and send the token as the `token` cookie or "
       "Authorization: Bearer <token>")


class AdminAuth:
    """The live auth settings; replaced as a whole when PUT /api/config changes them."""

    def __init__(self, *, username: str = "", password_hash: str = "", is_enabled: bool = False,
                 disable_auth_on_inference: bool = False) -> None:
        self.username = username
        self.password_hash = password_hash
        self.is_enabled = is_enabled and bool(username and password_hash)
        self.disable_auth_on_inference = disable_auth_on_inference
        self._ok: dict[str, float] = {}  # sha256 of a verified credential -> valid until (monotonic)

    def protects(self, path: str, method: str) -> bool:
        if not self.is_enabled or method == "OPTIONS" or path in _ALWAYS_OPEN:
            return False
        if path.startswith("/api/") or path == "/metrics":
            return True
        return not self.disable_auth_on_inference

    def check_basic(self, username: str, password: str) -> bool:
        return username == self.username and verify_password(self.password_hash, password)

    async def authenticate(self, scope: Scope, store: Any) -> None:
        """Raise AuthRequired unless the request carries valid admin credentials."""
        try:
            await self._authenticate(scope, store)
        except AuthRequired as exc:
            path: str = scope["path"]
            if not (path.startswith("/api/") or path == "/metrics"):
                exc.message += ("; inference needs these credentials because auth_config.is_enabled is true "
                                "(set auth_config.disable_auth_on_inference to serve inference without them)")
            raise

    async def _authenticate(self, scope: Scope, store: Any) -> None:
        auth = header(scope, b"authorization")
        token = None
        if auth is not None:
            scheme, _, cred = auth.decode("latin-1").partition(" ")
            if scheme.lower() == "basic":
                return self._basic(cred.strip())
            if scheme.lower() == "bearer":
                token = cred.strip()
        if token is None:
            token = cookie(scope, "token")
        if not token:
            raise AuthRequired(f"authentication required: {HOW}")
        th = token_hash(token)
        now = time.monotonic()
        if self._ok.get("t:" + th, 0.0) > now:
            return
        session = await store.get_session(th) if store is not None else None
        if session is None or session.expires_at < time.time():
            raise AuthRequired("the session token is invalid or has expired; log in again with "
                               "POST /api/session/login, or send HTTP basic auth with the admin username and password")
        self._remember("t:" + th, now)

    def _basic(self, cred: str) -> None:
        key = "b:" + hashlib.sha256(cred.encode()).hexdigest()
        now = time.monotonic()
        if self._ok.get(key, 0.0) > now:
            return
        try:
            user, sep, password = base64.b64decode(cred, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            sep, user, password = "", "", ""
        if not sep:
            raise AuthRequired("malformed basic auth header: expected Authorization: Basic base64(user:password)")
        if not self.check_basic(user, password):
            raise AuthRequired("invalid username or password; use the admin credentials from auth_config "
                               "(or BIFROST_ADMIN_USERNAME / BIFROST_ADMIN_PASSWORD)")
        self._remember(key, now)

    def forget_token(self, token: str) -> None:
        self._ok.pop("t:" + token_hash(token), None)

    def _remember(self, key: str, now: float) -> None:
        if len(self._ok) >= _CACHE_MAX:
            self._ok.clear()
        self._ok[key] = now + _CACHE_TTL_S


def cookie(scope: Scope, name: str) -> str | None:
    raw = header(scope, b"cookie")
    if raw is None:
        return None
    for part in raw.decode("latin-1").split(";"):
        k, _, v = part.strip().partition("=")
        if k == name:
            return v
    return None


def presented_token(scope: Scope) -> str | None:
    auth = header(scope, b"authorization")
    if auth is not None:
        scheme, _, cred = auth.decode("latin-1").partition(" ")
        if scheme.lower() == "bearer" and cred.strip():
            return cred.strip()
    return cookie(scope, "token")
