"""Request-log settings through a real gateway: content logging off, logging off, retention at start,
and the buffer flushed at shutdown (SQLite logs.db in the app dir)."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest

from bifrost.config.loader import load_config
from bifrost.stores.logs import LogFilter, Page, open_logs_store
from bifrost.stores.logs.retention import DAY_US
from conftest import Gateway, Mock, http, openai_provider

pytestmark = pytest.mark.integration


def config(mock: Mock, **client: Any) -> dict[str, Any]:
    return {"providers": {"openai": openai_provider(mock)}, "client": client}


def api_logs(gw: Gateway, query: str = "") -> dict[str, Any]:
    status, _, body = http("GET", f"{gw.url}/api/logs?{query}")
    assert status == 200, body
    return json.loads(body)


def wait_logs(gw: Gateway, n: int, timeout: float = 10.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        logs = api_logs(gw)["logs"]
        if len(logs) >= n or time.monotonic() > deadline:
            return logs
        time.sleep(0.1)


def read_rows(app_dir: Path) -> list[dict[str, Any]]:
    async def go() -> list[dict[str, Any]]:
        store = await open_logs_store(load_config(app_dir).config, app_dir)
        try:
            return (await store.search(LogFilter(), Page(limit=1000), with_count=False)).rows
        finally:
            await store.close()
    return asyncio.run(go())


def test_disable_content_logging_keeps_everything_but_the_content(tmp_path: Path, mock: Mock) -> None:
    gw = Gateway(tmp_path, config(mock, disable_content_logging=True))
    try:
        gw.openai().chat.completions.create(model="openai/gpt-4o-mini",
                                            messages=[{"role": "user", "content": "secret prompt"}])
        (log,) = wait_logs(gw, 1)
        assert log["status"] == "success" and log["total_tokens"] > 0 and log["latency"] > 0
        for field in ("input_history", "output_message", "params", "content_summary"):
            assert field not in log
        assert "secret prompt" not in json.dumps(log)
    finally:
        gw.stop()


def test_enable_logging_false_writes_no_logs(tmp_path: Path, mock: Mock) -> None:
    gw = Gateway(tmp_path, config(mock, enable_logging=False))
    try:
        gw.openai().chat.completions.create(model="openai/gpt-4o-mini",
                                            messages=[{"role": "user", "content": "hi"}])
        time.sleep(1.0)  # two flush intervals
        page = api_logs(gw)
        assert page["logs"] == [] and page["has_logs"] is False
    finally:
        gw.stop()


def test_retention_deletes_old_logs_in_the_background_at_start(tmp_path: Path, mock: Mock) -> None:
    app_dir = tmp_path / "app-retention"
    app_dir.mkdir()
    (app_dir / "config.json").write_text(json.dumps(config(mock, log_retention_days=3)))
    now = time.time_ns() // 1000

    async def seed() -> None:
        store = await open_logs_store(load_config(app_dir).config, app_dir)
        base = {"parent_request_id": None, "object_type": "chat.completion", "provider": "openai",
                "model": "m", "number_of_retries": 0, "fallback_index": 0, "status": "success",
                "stream": False, "latency": 1.0, "prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0,
                "cached_read_tokens": 0, "reasoning_tokens": 0, "stop_reason": None, "input_history": None,
                "output_message": None, "params": None, "token_usage": None, "error_details": None,
                "content_summary": None}
        rows = [{**base, "id": f"old-{i}", "timestamp": now - (10 + i) * DAY_US} for i in range(5)]
        rows += [{**base, "id": f"new-{i}", "timestamp": now - i * 3_600_000_000} for i in range(3)]
        await store.insert(rows)
        await store.close()

    asyncio.run(seed())
    gw = _gateway_in(app_dir, tmp_path)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and len(api_logs(gw)["logs"]) != 3:
            time.sleep(0.1)
        assert sorted(x["id"] for x in api_logs(gw)["logs"]) == ["new-0", "new-1", "new-2"]
        assert any("log retention: deleted 5" in (ln.get("message") or "") for ln in gw.logs())
    finally:
        gw.stop()


def _gateway_in(app_dir: Path, tmp: Path) -> Gateway:
    """A Gateway on an app dir prepared by the test (conftest's Gateway makes a fresh one)."""
    import conftest

    gw = Gateway.__new__(Gateway)
    gw.port = conftest.free_port()
    gw.url = f"http://127.0.0.1:{gw.port}"
    gw.app_dir = app_dir
    gw.proc = conftest.Proc(
        [conftest.PY, "-m", "bifrost", "serve", "--app-dir", str(app_dir), "--host", "127.0.0.1",
         "--port", str(gw.port), "--log-style", "json"], tmp / f"gw-{gw.port}.log",
        env={"OPENAI_API_KEY": "", "GROQ_API_KEY": ""})
    gw.wait_ready()
    return gw


def test_logs_buffered_at_shutdown_are_written_before_exit(tmp_path: Path, mock: Mock) -> None:
    gw = Gateway(tmp_path, config(mock))
    client = gw.openai()
    for i in range(3):
        client.chat.completions.create(model="openai/gpt-4o-mini",
                                       messages=[{"role": "user", "content": f"last words {i}"}])
    assert gw.stop() == 0  # at once: the writer's 0.5 s flush has not come yet
    rows = read_rows(gw.app_dir)
    assert sorted(r["content_summary"].split("\n")[0] for r in rows) == [f"last words {i}" for i in range(3)]
