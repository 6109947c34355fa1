"""Request logs end to end: the openai SDK -> `bifrost serve` -> `bifrost mock`, read back via /api/logs.

Run with the logs store on SQLite (logs.db in the app dir) and on the real PostgreSQL (own database).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import openai
import pytest

from conftest import Gateway, Mock, http, openai_provider
from logs_pg import pg_database, store_config

pytestmark = pytest.mark.integration
MSGS = [{"role": "user", "content": "Say hello"}]


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def gw(request: pytest.FixtureRequest, tmp_module: Path, mock: Mock) -> Iterator[Gateway]:
    def start(db_name: str | None) -> Gateway:
        cfg = {"providers": {
            "openai": openai_provider(mock),
            "backup": {"keys": [{"name": "c", "value": "sk-b", "models": [], "weight": 1}],
                       "network_config": {"base_url": mock.url},
                       "custom_provider_config": {"base_provider_type": "openai"}},
        }, "logs_store": store_config(request.param, db_name)}
        return Gateway(tmp_module / request.param, cfg)

    (tmp_module / request.param).mkdir()
    if request.param == "sqlite":
        g = start(None)
        yield g
        g.stop()
        return
    with pg_database() as name:
        g = start(name)
        yield g
        g.stop()


def api(gw: Gateway, path: str = "/api/logs", **params: Any) -> dict[str, Any]:
    status, _, body = http("GET", gw.url + path + ("?" + urlencode(params) if params else ""))
    assert status == 200, body
    return json.loads(body)


def wait_for(gw: Gateway, pred: Any, timeout: float = 10.0, **params: Any) -> list[dict[str, Any]]:
    """Poll /api/logs until `pred(logs)` holds (the writer flushes every 0.5 s)."""
    deadline = time.monotonic() + timeout
    while True:
        logs = api(gw, **params)["logs"]
        if pred(logs) or time.monotonic() > deadline:
            return logs
        time.sleep(0.1)


def by_content(gw: Gateway, text: str, n: int = 1) -> list[dict[str, Any]]:
    return wait_for(gw, lambda logs: len(logs) >= n, content_search=text)


def test_a_chat_completion_is_logged_with_content_usage_and_latency(gw: Gateway) -> None:
    client = gw.openai()
    msgs = [{"role": "user", "content": "log me: chat one"}]
    resp = client.chat.completions.create(model="openai/gpt-4o-mini", messages=msgs, temperature=0.5)
    (log,) = by_content(gw, "log me: chat one")
    assert (log["provider"], log["model"], log["status"], log["object"]) == \
        ("openai", "gpt-4o-mini", "success", "chat.completion")
    assert log["stream"] is False and log["fallback_index"] == 0
    assert log["input_history"] == msgs
    assert log["params"] == {"temperature": 0.5}
    assert log["output_message"]["content"] == resp.choices[0].message.content
    assert resp.usage is not None
    assert log["token_usage"]["prompt_tokens"] == resp.usage.prompt_tokens
    assert log["token_usage"]["total_tokens"] == resp.usage.total_tokens
    assert log["total_tokens"] == resp.usage.total_tokens
    assert log["latency"] > 0 and log["timestamp"].endswith("Z")


def test_a_stream_is_logged_once_at_the_end_with_its_content_and_usage(gw: Gateway) -> None:
    client = gw.openai()
    msgs = [{"role": "user", "content": "log me: stream one"}]
    chunks = list(client.chat.completions.create(model="openai/gpt-4o-mini", messages=msgs, stream=True,
                                                 stream_options={"include_usage": True}))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    usage = next(c.usage for c in chunks if c.usage)
    time.sleep(1.0)  # one flush later there must still be exactly one row for it
    (log,) = by_content(gw, "log me: stream one")
    assert log["stream"] is True and log["status"] == "success"
    assert log["output_message"] == {"role": "assistant", "content": text}
    assert log["token_usage"]["completion_tokens"] == usage.completion_tokens
    assert log["completion_tokens"] == usage.completion_tokens
    assert log["stop_reason"] == "stop"


def test_an_upstream_error_is_logged_with_its_message(gw: Gateway, mock: Mock) -> None:
    mock.script({"model": "gpt-4o", "status": 400,
                 "body": {"error": {"message": "bad parameter: top_k", "type": "invalid_request_error"}}})
    with pytest.raises(openai.BadRequestError):
        gw.openai().chat.completions.create(model="openai/gpt-4o", messages=[
            {"role": "user", "content": "log me: error one"}])
    (log,) = by_content(gw, "log me: error one")
    assert log["status"] == "error"
    assert "bad parameter: top_k" in log["error_details"]["error"]["message"]
    assert log["error_details"]["status_code"] == 400


def test_a_fallback_logs_each_attempt_with_its_index(gw: Gateway, mock: Mock) -> None:
    mock.script({"model": "gpt-4o", "status": 503})
    gw.openai().chat.completions.create(model="openai/gpt-4o", messages=[
        {"role": "user", "content": "log me: fallback one"}], extra_body={"fallbacks": ["backup/gpt-4o-mini"]})
    logs = by_content(gw, "log me: fallback one", n=2)
    assert [(x["provider"], x["fallback_index"], x["status"]) for x in logs[::-1]] == \
        [("openai", 0, "error"), ("backup", 1, "success")]
    first, second = logs[::-1]
    assert second["parent_request_id"] == first["id"]


def test_filters_keyset_and_offset_pages_and_stats(gw: Gateway) -> None:
    client = gw.openai()
    for i in range(6):
        client.chat.completions.create(model="backup/gpt-4o-mini", messages=[
            {"role": "user", "content": f"log me: page {i}"}])
    wait_for(gw, lambda logs: len(logs) >= 6, content_search="log me: page")
    everything = api(gw, limit=1000)
    total = everything["pagination"]["total_count"]
    assert total == len(everything["logs"]) >= 10
    ids = [x["id"] for x in everything["logs"]]
    # keyset walk, 3 per page
    walked: list[str] = []
    params: dict[str, Any] = {"limit": 3}
    while True:
        page = api(gw, **params)
        walked += [x["id"] for x in page["logs"]]
        if "next_cursor" not in page:
            break
        params = {"limit": 3, "cursor": page["next_cursor"]}
    assert walked == ids
    assert [x["id"] for x in api(gw, limit=3, offset=3)["logs"]] == ids[3:6]
    # filters
    backup = api(gw, providers="backup", limit=1000)["logs"]
    assert backup and all(x["provider"] == "backup" for x in backup)
    errors = api(gw, status="error", limit=1000)["logs"]
    assert errors and all(x["status"] == "error" for x in errors)
    stats = api(gw, "/api/logs/stats")
    assert stats["total_requests"] == total
    assert stats["success_rate"] == pytest.approx(100 * (total - sum(x["status"] == "error" for x in
                                                               everything["logs"])) / total, abs=1e-3)
    assert stats["total_tokens"] == sum(x.get("total_tokens", 0) for x in everything["logs"])
    assert everything["stats"]["total_requests"] == total
    future = api(gw, start_time="2999-01-01T00:00:00Z")
    assert future["logs"] == [] and future["pagination"]["total_count"] == 0 and future["has_logs"] is True


def test_bad_query_parameters_say_what_to_fix(gw: Gateway) -> None:
    for q, word in (("limit=0", "limit"), ("start_time=yesterday", "RFC 3339"), ("cursor=!!", "cursor"),
                    ("min_latency=fast", "min_latency")):
        status, _, body = http("GET", f"{gw.url}/api/logs?{q}")
        assert status == 400, q
        assert word in json.loads(body)["error"]["message"]


def test_dropped_count_is_zero_while_the_store_is_up(gw: Gateway) -> None:
    assert api(gw, "/api/logs/dropped") == {"dropped_requests": 0}
    status, _, body = http("GET", gw.url + "/metrics")
    assert b"bifrost_logs_dropped_total 0" in body


def test_embeddings_and_responses_are_logged_with_their_object_and_usage(gw: Gateway) -> None:
    client = gw.openai()
    emb = client.embeddings.create(model="openai/text-embedding-3-small", input="log me: embed one")
    (log,) = by_content(gw, "log me: embed one")
    assert log["object"] == "embedding" and log["input_history"] == "log me: embed one"
    assert "output_message" not in log  # vectors are not stored
    assert log["prompt_tokens"] == emb.usage.prompt_tokens
    resp = client.responses.create(model="openai/gpt-4o-mini", input="log me: responses one")
    (log,) = by_content(gw, "log me: responses one")
    assert log["object"] == "response" and log["status"] == "success"
    assert log["responses_input_history"] == "log me: responses one"
    assert [o["type"] for o in log["responses_output"]] == [o.type for o in resp.output]
    assert resp.usage is not None and log["total_tokens"] == resp.usage.total_tokens
