"""GET/PUT /api/config and /api/version against a real gateway: Bifrost's body shape, the config.json
validation messages, and which client settings apply live."""

from __future__ import annotations

import http.client as httpc
import json
from pathlib import Path
from typing import Any

import pytest

from conftest import Gateway, Mock, http, openai_provider

pytestmark = pytest.mark.integration


def api(gw: Gateway, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    status, _, raw = http(method, gw.url + path, body)
    return status, json.loads(raw) if raw else None


def post_keepalive(gw: Gateway, body: bytes) -> int:
    """A keep-alive client (like the SDKs): a 413 is read once the body is sent, not as a broken pipe."""
    conn = httpc.HTTPConnection("127.0.0.1", gw.port, timeout=10)
    conn.request("POST", "/v1/chat/completions", body=body, headers={"Content-Type": "application/json"})
    r = conn.getresponse()
    r.read()
    conn.close()
    return r.status


def test_client_config_get_put_validates_and_applies_live(tmp_path: Path, mock: Mock) -> None:
    gw = Gateway(tmp_path, {"client": {"max_request_body_size_mb": 5}, "providers": {"openai": openai_provider(mock)}})
    try:
        status, doc = api(gw, "GET", "/api/config")
        assert status == 200
        assert {"client_config", "framework_config", "auth_config", "is_db_connected", "is_cache_connected",
                "is_logs_connected"} <= set(doc)
        assert doc["client_config"]["max_request_body_size_mb"] == 5
        assert doc["client_config"]["drop_excess_requests"] is False
        assert doc["auth_config"] == {"admin_username": "", "admin_password": "", "is_enabled": False,
                                      "disable_auth_on_inference": False}

        status, doc = api(gw, "PUT", "/api/config", {"client_config": {"max_request_body_size_mb": 0}})
        assert status == 400
        assert "$.client.max_request_body_size_mb: expected a number >= 1, found number 0" in doc["error"]["message"]
        status, doc = api(gw, "PUT", "/api/config", {"client_config": "yes"})
        assert status == 400 and "client_config must be an object" in doc["error"]["message"]

        big = b'{"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "' + b"x" * 2_000_000 + b'"}]}'
        assert post_keepalive(gw, big) == 200
        status, doc = api(gw, "PUT", "/api/config", {"client_config": {"max_request_body_size_mb": 1}})
        assert status == 200 and doc == {"status": "success", "message": "configuration updated successfully"}
        assert post_keepalive(gw, big) == 413  # live, no restart

        # allowed_origins is read once at start: stored, and the answer says a restart applies it.
        status, doc = api(gw, "PUT", "/api/config", {"client_config": {"allowed_origins": ["https://a.example"]}})
        assert status == 200 and "allowed_origins" in doc["restart_required"]["reason"]
        _, doc = api(gw, "GET", "/api/config")
        assert doc["client_config"]["allowed_origins"] == ["https://a.example"]
        assert doc["client_config"]["max_request_body_size_mb"] == 1  # earlier PUT kept: fields left out stay

        status, version = api(gw, "GET", "/api/version")
        assert status == 200 and isinstance(version, str) and version.startswith("v")
    finally:
        gw.stop()
