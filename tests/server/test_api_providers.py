"""The management API for providers and keys, against a real gateway and mock: Bifrost's bodies and status
codes, secrets never returned in plaintext, the config.json validation messages, and changes served live."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from conftest import Gateway, Mock, http

pytestmark = pytest.mark.integration

SECRET = "sk-live-secret-0001"
ENV_SECRET = "sk-from-env-0002"
MSG = [{"role": "user", "content": "hello"}]


@pytest.fixture(scope="module")
def gw(tmp_module: Path) -> Iterator[Gateway]:
    g = Gateway(tmp_module, {"providers": {}}, env={"API_TEST_KEY": ENV_SECRET})
    yield g
    g.stop()


def api(gw: Gateway, method: str, path: str, body: Any = None) -> tuple[int, Any, str]:
    status, _, raw = http(method, gw.url + path, body)
    text = raw.decode()
    return status, json.loads(text) if text else None, text


def provider_body(mock: Mock, **extra: Any) -> dict[str, Any]:
    return {"provider": "openai", "keys": [{"name": "k1", "value": SECRET, "models": ["*"], "weight": 1}],
            "network_config": {"base_url": mock.url}, **extra}


def last_auth(mock: Mock) -> str:
    return mock.requests("/v1/chat/completions")[-1]["headers"]["authorization"]


def test_provider_lifecycle_is_live_and_never_leaks_secrets(gw: Gateway, mock: Mock) -> None:
    status, doc, text = api(gw, "POST", "/api/providers", provider_body(mock))
    assert status == 200, text
    assert doc["name"] == "openai" and doc["provider_status"] == "active"
    key = doc["keys"][0]
    assert key["value"] == {"value": "sk-l" + "*" * 24 + "0001", "env_var": "", "from_env": False}
    assert key["id"] and key["name"] == "k1" and SECRET not in text
    assert doc["concurrency_and_buffer_size"] == {"concurrency": 1000, "buffer_size": 5000}
    assert doc["network_config"]["base_url"] == mock.url

    client = gw.openai()
    client.chat.completions.create(model="openai/gpt-4o-mini", messages=MSG)  # type: ignore[arg-type]
    assert last_auth(mock) == f"Bearer {SECRET}"

    status, doc, _ = api(gw, "POST", "/api/providers", provider_body(mock))
    assert status == 409 and "already exists" in doc["error"]["message"]
    assert doc["is_bifrost_error"] is False and doc["status_code"] == 409

    status, doc, text = api(gw, "GET", "/api/providers")
    assert status == 200 and doc["total"] == 1 and [p["name"] for p in doc["providers"]] == ["openai"]
    assert SECRET not in text

    # An env.VAR key is shown as its reference; the next request uses it.
    keys = [{"name": "k2", "value": "env.API_TEST_KEY", "models": ["*"], "weight": 1}]
    status, doc, text = api(gw, "PUT", "/api/providers/openai", {"keys": keys})
    assert status == 200, text
    assert doc["keys"][0]["value"] == {"value": "sk-f" + "*" * 24 + "0002", "env_var": "env.API_TEST_KEY",
                                       "from_env": True}
    assert ENV_SECRET not in text
    assert doc["network_config"]["base_url"] == mock.url  # blocks left out of a PUT are kept
    client.chat.completions.create(model="openai/gpt-4o-mini", messages=MSG)  # type: ignore[arg-type]
    assert last_auth(mock) == f"Bearer {ENV_SECRET}"

    # Back to a plain key, then send the redacted GET body back unchanged: the stored secret is kept.
    api(gw, "PUT", "/api/providers/openai", {"keys": provider_body(mock)["keys"]})
    _, got, _ = api(gw, "GET", "/api/providers/openai")
    got["keys"][0]["weight"] = 2
    status, doc, text = api(gw, "PUT", "/api/providers/openai", {"keys": got["keys"]})
    assert status == 200, text
    assert doc["keys"][0]["weight"] == 2
    client.chat.completions.create(model="openai/gpt-4o-mini", messages=MSG)  # type: ignore[arg-type]
    assert last_auth(mock) == f"Bearer {SECRET}"

    # A redacted value that matches no stored key is refused, not stored as a key.
    bad = [{"name": "other", "value": "abcd" + "*" * 24 + "wxyz", "models": ["*"]}]
    status, doc, _ = api(gw, "PUT", "/api/providers/openai", {"keys": bad})
    assert status == 400 and "redacted" in doc["error"]["message"] and "keys[0].value" in doc["error"]["message"]

    status, doc, _ = api(gw, "DELETE", "/api/providers/openai")
    assert status == 200 and doc == {"name": "openai"}
    with pytest.raises(openai.BadRequestError) as exc:
        client.chat.completions.create(model="openai/gpt-4o-mini", messages=MSG)  # type: ignore[arg-type]
    assert "not configured" in str(exc.value)
    assert api(gw, "GET", "/api/providers/openai")[0] == 404
    assert api(gw, "DELETE", "/api/providers/openai")[0] == 404


def test_keys_routes_add_update_and_remove_keys_live(gw: Gateway, mock: Mock) -> None:
    assert api(gw, "POST", "/api/providers", provider_body(mock, keys=[]))[0] == 200
    try:
        status, key, text = api(gw, "POST", "/api/providers/openai/keys",
                                {"name": "kb", "value": "sk-key-route-0003", "models": ["*"], "weight": 1})
        assert status == 200, text
        assert "sk-key-route-0003" not in text and key["value"]["value"].endswith("0003")
        gw.openai().chat.completions.create(model="openai/gpt-4o-mini", messages=MSG)  # type: ignore[arg-type]
        assert last_auth(mock) == "Bearer sk-key-route-0003"

        status, doc, _ = api(gw, "GET", "/api/providers/openai/keys")
        assert status == 200 and doc["total"] == 1 and doc["keys"][0]["id"] == key["id"]
        status, doc, text = api(gw, "GET", "/api/keys")
        assert status == 200 and [(k["provider"], k["key_id"]) for k in doc] == [("openai", key["id"])]
        assert "sk-key-route-0003" not in text
        status, upd, _ = api(gw, "PUT", f"/api/providers/openai/keys/{key['id']}", {"value": "sk-rotated-0004"})
        assert status == 200 and upd["id"] == key["id"] and upd["name"] == "kb"
        gw.openai().chat.completions.create(model="openai/gpt-4o-mini", messages=MSG)  # type: ignore[arg-type]
        assert last_auth(mock) == "Bearer sk-rotated-0004"

        assert api(gw, "GET", "/api/providers/openai/keys/nope")[0] == 404
        assert api(gw, "DELETE", f"/api/providers/openai/keys/{key['id']}")[0] == 200
        with pytest.raises(openai.APIStatusError) as exc:
            gw.openai().chat.completions.create(model="openai/gpt-4o-mini", messages=MSG)  # type: ignore[arg-type]
        assert "no keys found" in str(exc.value)
    finally:
        api(gw, "DELETE", "/api/providers/openai")


def test_api_rejects_what_config_json_rejects_with_the_same_message(gw: Gateway, mock: Mock,
                                                                    tmp_path: Path) -> None:
    bad = {"keys": [{"name": "k", "value": "sk-x", "models": ["*"], "weight": -1}],
           "concurrency_and_buffer_size": {"concurrency": 10, "buffer_size": 5}}
    status, doc, _ = api(gw, "POST", "/api/providers", {"provider": "openai", **bad})
    assert status == 400
    msg = doc["error"]["message"]
    weight = "$.providers.openai.keys[0].weight: expected a number >= 0, found number -1"
    buffer = ("$.providers.openai.concurrency_and_buffer_size.buffer_size: expected a value >= concurrency (10), "
              "found number 5")
    assert weight in msg and buffer in msg
    assert api(gw, "GET", "/api/providers/openai")[0] == 404  # nothing was stored

    # The same provider in config.json stops the gateway with the same lines.
    file_gw = Gateway(tmp_path, {"providers": {"openai": bad}}, wait=False)
    assert file_gw.proc.p.wait(20) == 2
    out = file_gw.proc.output()
    file_gw.stop()
    assert weight in out and buffer in out

    status, doc, _ = api(gw, "POST", "/api/providers", {"provider": "nosuch", "keys": []})
    assert status == 400 and "unknown provider 'nosuch'" in doc["error"]["message"]
    assert "custom_provider_config" in doc["error"]["message"]
    status, doc, _ = api(gw, "POST", "/api/providers", {"keys": []})
    assert status == 400 and doc["error"]["message"].startswith("Missing provider")
    status, _, raw = http("POST", gw.url + "/api/providers", b"{not json")
    assert status == 400 and b"not valid JSON" in raw


def test_unknown_api_routes_and_methods(gw: Gateway) -> None:
    status, doc, _ = api(gw, "GET", "/api/nothing")
    assert status == 404 and "Route not found" in doc["error"]["message"]
    status, headers, _ = http("PATCH", gw.url + "/api/providers/openai")
    assert status == 405 and set(headers["allow"].split(", ")) == {"GET", "PUT", "DELETE"}
    assert api(gw, "GET", "/api/version")[1].startswith("v")
