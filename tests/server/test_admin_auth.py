"""Admin auth (`auth_config`): basic auth and sessions on /api, /metrics and inference, /health always open,
clear 401s, the password and session tokens hashed at rest, and auth changes through PUT /api/config live."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import openai
import pytest

from bifrost.config.loader import parse_config
from bifrost.server.app import AppState, create_app
from bifrost.stores.base import MemoryConfigStore
from conftest import Gateway, Mock, http, openai_provider

pytestmark = pytest.mark.integration

USER, PASSWORD = "admin", "s3cret-pass-word"
MSG = [{"role": "user", "content": "hello"}]


def basic(user: str = USER, password: str = PASSWORD) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def sdk(gw: Gateway, api_key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=gw.url + "/v1", api_key=api_key, max_retries=0)


def call(gw: Gateway, method: str, path: str, body: Any = None,
         headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], Any]:
    status, hdrs, raw = http(method, gw.url + path, body, headers)
    try:
        doc = json.loads(raw) if raw else None
    except ValueError:
        doc = raw.decode()
    return status, hdrs, doc


def test_auth_protects_api_metrics_and_inference_but_not_health(tmp_path: Path, mock: Mock) -> None:
    cfg = {"auth_config": {"is_enabled": True}, "providers": {"openai": openai_provider(mock)}}
    gw = Gateway(tmp_path, cfg, env={"BIFROST_ADMIN_USERNAME": USER, "BIFROST_ADMIN_PASSWORD": PASSWORD})
    try:
        assert call(gw, "GET", "/health")[0] == 200
        for path in ("/api/providers", "/api/config", "/metrics"):
            status, hdrs, doc = call(gw, "GET", path)
            assert status == 401, path
            assert "basic auth" in doc["error"]["message"] and "/api/session/login" in doc["error"]["message"]
            assert hdrs["www-authenticate"].startswith("Basic")
        with pytest.raises(openai.AuthenticationError) as exc:
            gw.openai().chat.completions.create(model="openai/gpt-4o-mini", messages=MSG)  # type: ignore
        assert "session token is invalid" in str(exc.value)  # the SDK sent its api_key as a bearer token

        assert call(gw, "GET", "/api/providers", headers=basic())[0] == 200
        assert call(gw, "GET", "/metrics", headers=basic())[0] == 200
        status, _, doc = call(gw, "GET", "/api/providers", headers=basic(password="wrong"))
        assert status == 401 and "invalid username or password" in doc["error"]["message"]

        status, _, doc = call(gw, "GET", "/api/config", headers=basic())
        assert doc["auth_config"] == {"admin_username": USER, "admin_password": "<redacted>", "is_enabled": True,
                                      "disable_auth_on_inference": False}
        assert PASSWORD not in json.dumps(doc)

        # Sessions: login -> cookie or bearer token; logout -> token refused.
        status, _, doc = call(gw, "POST", "/api/session/login", {"username": USER, "password": "nope"})
        assert status == 401 and doc["error"]["message"] == "Invalid username or password"
        status, hdrs, doc = call(gw, "POST", "/api/session/login", {"username": USER, "password": PASSWORD})
        assert status == 200 and doc["message"] == "Login successful"
        token = doc["token"]
        assert f"token={token}" in hdrs["set-cookie"] and "HttpOnly" in hdrs["set-cookie"]
        assert call(gw, "GET", "/api/config", headers={"Cookie": f"token={token}"})[0] == 200
        out = sdk(gw, token).chat.completions.create(model="openai/gpt-4o-mini", messages=MSG)  # type: ignore
        assert out.choices[0].message.content
        status, _, doc = call(gw, "GET", "/api/session/is-auth-enabled", headers={"Cookie": f"token={token}"})
        assert doc["is_auth_enabled"] is True and doc["has_valid_token"] is True
        assert call(gw, "POST", "/api/session/logout", headers={"Authorization": f"Bearer {token}"})[0] == 200
        status, _, doc = call(gw, "GET", "/api/config", headers={"Cookie": f"token={token}"})
        assert status == 401 and "log in again" in doc["error"]["message"]

        # A new password through PUT /api/config applies at once; the old one stops working.
        status, _, doc = call(gw, "PUT", "/api/config",
                              {"auth_config": {"admin_username": USER, "admin_password": "n3w-pass-word",
                                               "is_enabled": True, "disable_auth_on_inference": True}},
                              headers=basic())
        assert status == 200, doc
        assert call(gw, "GET", "/api/config", headers=basic())[0] == 401
        assert call(gw, "GET", "/api/config", headers=basic(password="n3w-pass-word"))[0] == 200
        # ... and disable_auth_on_inference opened inference, not the API.
        out = gw.openai().chat.completions.create(model="openai/gpt-4o-mini", messages=MSG)  # type: ignore
        assert out.choices[0].message.content
        assert call(gw, "GET", "/api/providers")[0] == 401
    finally:
        gw.stop()


def test_inference_open_with_disable_auth_on_inference(tmp_path: Path, mock: Mock) -> None:
    cfg = {"auth_config": {"admin_username": USER, "admin_password": "env.TEST_ADMIN_PW", "is_enabled": True,
                           "disable_auth_on_inference": True},
           "providers": {"openai": openai_provider(mock)}}
    gw = Gateway(tmp_path, cfg, env={"TEST_ADMIN_PW": PASSWORD})
    try:
        out = gw.openai().chat.completions.create(model="openai/gpt-4o-mini", messages=MSG)  # type: ignore
        assert out.choices[0].message.content
        assert call(gw, "GET", "/api/providers")[0] == 401
        assert call(gw, "GET", "/metrics")[0] == 401
        assert call(gw, "GET", "/api/providers", headers=basic())[0] == 200
    finally:
        gw.stop()


def test_auth_off_leaves_everything_open_and_login_says_how_to_enable(tmp_path: Path, mock: Mock) -> None:
    gw = Gateway(tmp_path, {"providers": {"openai": openai_provider(mock)}})
    try:
        assert call(gw, "GET", "/api/providers")[0] == 200
        assert call(gw, "GET", "/metrics")[0] == 200
        status, _, doc = call(gw, "POST", "/api/session/login", {"username": "a", "password": "b"})
        assert status == 403 and "auth_config.is_enabled" in doc["error"]["message"]
        out = gw.openai().chat.completions.create(model="openai/gpt-4o-mini", messages=MSG)  # type: ignore
        assert out.choices[0].message.content
    finally:
        gw.stop()


async def _request(app: Any, method: str, path: str, body: bytes = b"") -> tuple[int, dict[str, Any]]:
    sent: list[dict[str, Any]] = []
    msgs = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> dict[str, Any]:
        return msgs.pop(0) if msgs else {"type": "http.disconnect"}

    async def send(m: dict[str, Any]) -> None:
        sent.append(m)

    await app({"type": "http", "method": method, "path": path, "headers": [], "query_string": b""}, receive, send)
    return sent[0]["status"], json.loads(b"".join(m.get("body", b"") for m in sent[1:]))


def test_password_and_session_tokens_are_stored_hashed() -> None:
    raw = {"auth_config": {"admin_username": USER, "admin_password": PASSWORD, "is_enabled": True}}
    state = AppState(parse_config(raw, {}).config)
    store = MemoryConfigStore()
    state.config_store = store

    async def run() -> tuple[int, dict[str, Any]]:
        await state.startup()
        app = create_app(state)
        body = json.dumps({"username": USER, "password": PASSWORD}).encode()
        out = await _request(app, "POST", "/api/session/login", body)
        await state.shutdown()
        return out

    status, doc = asyncio.run(run())
    assert status == 200
    assert store.admin is not None
    username, pw_hash = store.admin
    assert username == USER and pw_hash.startswith("$argon2id$") and PASSWORD not in pw_hash
    token = doc["token"]
    assert list(store.sessions) == [hashlib.sha256(token.encode()).hexdigest()]
    assert all(token not in repr(s) for s in store.sessions.values())
