"""Config changes through the management API apply live, with no restart and without dropping requests
in flight: a stream that started on the old settings finishes on them; the next request uses the new ones.
Real `bifrost serve` and `bifrost mock` processes, the openai SDK as client."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from conftest import Gateway, Mock, http

pytestmark = pytest.mark.integration

MSG = [{"role": "user", "content": "hello"}]
OLD_KEY, NEW_KEY = "sk-old-key-0001", "sk-new-key-0002"


@pytest.fixture()
def slow(tmp_path: Path) -> Iterator[Mock]:
    """Streams of up to 100 chunks, 100 ms apart: max_tokens=30 gives a ~3 s stream."""
    m = Mock(tmp_path, "--chunks", "100", "--chunk-interval-ms", "100")
    yield m
    m.stop()


@pytest.fixture()
def fast(tmp_path: Path) -> Iterator[Mock]:
    m = Mock(tmp_path)
    yield m
    m.stop()


def provider(mock: Mock, key: str, **extra: Any) -> dict[str, Any]:
    return {"keys": [{"name": "k", "value": key, "models": ["*"], "weight": 1}],
            "network_config": {"base_url": mock.url}, **extra}


def api(gw: Gateway, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    status, _, raw = http(method, gw.url + path, body)
    return status, json.loads(raw) if raw else None


class SlowStream:
    """An openai SDK stream read in a thread; `started` is set at the first content chunk."""

    def __init__(self, gw: Gateway, max_tokens: int = 30) -> None:
        self.started = threading.Event()
        self.pieces: list[str] = []
        self.finish: str | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(gw, max_tokens), daemon=True)
        self.thread.start()
        assert self.started.wait(10), self.error

    def _run(self, gw: Gateway, max_tokens: int) -> None:
        try:
            stream = gw.openai(timeout=30).chat.completions.create(
                model="openai/gpt-4o-mini", messages=MSG, stream=True, max_tokens=max_tokens)  # type: ignore
            for chunk in stream:
                if chunk.choices and chunk.choices[0].delta.content:
                    self.pieces.append(chunk.choices[0].delta.content)
                    self.started.set()
                if chunk.choices and chunk.choices[0].finish_reason:
                    self.finish = chunk.choices[0].finish_reason
        except BaseException as exc:  # reported by the test
            self.error = exc
            self.started.set()

    def join(self) -> None:
        self.thread.join(20)
        assert not self.thread.is_alive()
        assert self.error is None, repr(self.error)


def auths(mock: Mock) -> list[str]:
    return [r["headers"]["authorization"] for r in mock.requests("/v1/chat/completions")]


def test_provider_update_mid_stream_finishes_on_old_settings_and_next_request_uses_new(
        tmp_path: Path, slow: Mock, fast: Mock) -> None:
    gw = Gateway(tmp_path, {"providers": {"openai": provider(slow, OLD_KEY)}})
    try:
        s = SlowStream(gw)
        update = provider(fast, NEW_KEY, concurrency_and_buffer_size={"concurrency": 5, "buffer_size": 10})
        status, doc = api(gw, "PUT", "/api/providers/openai", update)
        assert status == 200, doc
        assert s.thread.is_alive()  # the change landed while the stream was in flight
        out = gw.openai().chat.completions.create(model="openai/gpt-4o-mini", messages=MSG)  # type: ignore
        assert out.choices[0].message.content
        assert auths(fast) == [f"Bearer {NEW_KEY}"]  # new base URL and new key
        assert s.thread.is_alive()
        s.join()
        assert len(s.pieces) == 30 and s.finish == "length"  # the whole stream, on the old upstream and key
        assert auths(slow) == [f"Bearer {OLD_KEY}"]
        _, got = api(gw, "GET", "/api/providers/openai")
        assert got["concurrency_and_buffer_size"] == {"concurrency": 5, "buffer_size": 10}
        assert "Traceback" not in gw.proc.output()
    finally:
        gw.stop()


def test_provider_deleted_mid_stream_lets_the_stream_finish(tmp_path: Path, slow: Mock) -> None:
    gw = Gateway(tmp_path, {"providers": {"openai": provider(slow, OLD_KEY)}})
    try:
        s = SlowStream(gw, max_tokens=20)
        assert api(gw, "DELETE", "/api/providers/openai")[0] == 200
        status, _, body = http("POST", gw.url + "/v1/chat/completions",
                               {"model": "openai/gpt-4o-mini", "messages": MSG})
        assert status == 400 and b"not configured" in body
        s.join()
        assert len(s.pieces) == 20 and s.finish == "length"
        # and it can come back, live
        assert api(gw, "POST", "/api/providers", {"provider": "openai", **provider(slow, NEW_KEY)})[0] == 200
        status, _, body = http("POST", gw.url + "/v1/chat/completions",
                               {"model": "openai/gpt-4o-mini", "messages": MSG})
        assert status == 200, body
        assert auths(slow)[-1] == f"Bearer {NEW_KEY}"
    finally:
        gw.stop()


def burst(gw: Gateway, n: int) -> list[tuple[int, dict[str, Any]]]:
    def one(_: int) -> tuple[int, dict[str, Any]]:
        status, _, body = http("POST", gw.url + "/v1/chat/completions",
                               {"model": "openai/mock-slow-500", "messages": MSG}, timeout=30)
        return status, json.loads(body)
    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(one, range(n)))


def test_queue_size_and_drop_excess_requests_change_live(tmp_path: Path, fast: Mock) -> None:
    gw = Gateway(tmp_path, {"providers": {"openai": provider(fast, OLD_KEY)}})
    try:
        t0 = time.perf_counter()
        assert [s for s, _ in burst(gw, 6)] == [200] * 6
        assert time.perf_counter() - t0 < 2.5  # served side by side under the default queue

        status, _ = api(gw, "PUT", "/api/providers/openai",
                        {"concurrency_and_buffer_size": {"concurrency": 1, "buffer_size": 1}})
        assert status == 200
        status, doc = api(gw, "PUT", "/api/config", {"client_config": {"drop_excess_requests": True}})
        assert status == 200 and doc["status"] == "success", doc
        results = burst(gw, 6)
        dropped = [b for s, b in results if s == 503]
        assert dropped and all(b["error"]["type"] == "request_dropped" for b in dropped), results
        assert sum(1 for s, _ in results if s == 200) >= 2

        assert api(gw, "PUT", "/api/config", {"client_config": {"drop_excess_requests": False}})[0] == 200
        t0 = time.perf_counter()
        assert [s for s, _ in burst(gw, 4)] == [200] * 4  # nothing dropped: they wait their turn
        assert time.perf_counter() - t0 >= 4 * 0.5 * 0.9  # one at a time
        _, cfg = api(gw, "GET", "/api/config")
        assert cfg["client_config"]["drop_excess_requests"] is False
    finally:
        gw.stop()
