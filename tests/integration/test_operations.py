"""Operational behaviour against real `bifrost serve` + `bifrost mock` processes: queue limits, client
disconnects, upstream failures mid-stream, graceful shutdown, /metrics, body limits, unreachable/slow upstreams."""

from __future__ import annotations

import base64
import http.client as httpc
import json
import os
import re
import signal
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import openai
import pytest

from conftest import Gateway, Mock, free_port, http, openai_provider

pytestmark = pytest.mark.integration

MSG = [{"role": "user", "content": "hello"}]


# --------------------------------------------------------------------------- helpers


@contextmanager
def gateway(tmp: Path, config: dict[str, Any]) -> Iterator[Gateway]:
    gw = Gateway(tmp, config)
    try:
        yield gw
    finally:
        gw.stop()


@pytest.fixture(scope="module")
def slow_mock(tmp_module: Path) -> Iterator[Mock]:
    """Streams of up to 100 chunks, 100 ms apart (max_tokens=N gives an N/10-second stream)."""
    m = Mock(tmp_module, "--chunks", "100", "--chunk-interval-ms", "100")
    yield m
    m.stop()


def chat(gw: Gateway, model: str = "openai/gpt-4o-mini", timeout: float = 10,
         **extra: Any) -> tuple[int, dict[str, Any], float]:
    t0 = time.perf_counter()
    status, _, body = http("POST", gw.url + "/v1/chat/completions", {"model": model, "messages": MSG, **extra},
                           timeout=timeout)
    return status, json.loads(body), time.perf_counter() - t0


def open_stream(port: int, body: dict[str, Any], timeout: float = 10
                ) -> tuple[httpc.HTTPConnection, httpc.HTTPResponse]:
    conn = httpc.HTTPConnection("127.0.0.1", port, timeout=timeout)
    conn.request("POST", "/v1/chat/completions", json.dumps(body), {"Content-Type": "application/json"})
    resp = conn.getresponse()
    assert resp.status == 200, resp.read()
    assert resp.getheader("content-type", "").startswith("text/event-stream")
    return conn, resp


def read_events(resp: httpc.HTTPResponse, limit: int | None = None,
                on_event: Any = None) -> tuple[list[bytes], str]:
    """SSE data payloads until `limit` events, EOF ("eof") or a broken body ("cut")."""
    events: list[bytes] = []
    cur: list[bytes] = []
    while True:
        try:
            line = resp.readline()
        except (httpc.IncompleteRead, ConnectionError):
            return events, "cut"
        if not line:
            return events, "eof"
        line = line.rstrip(b"\r\n")
        if line:
            if line.startswith(b"data: "):
                cur.append(line[6:])
            continue
        if cur:
            events.append(b"\n".join(cur))
            cur = []
            if on_event is not None:
                on_event(events)
            if limit is not None and len(events) >= limit:
                return events, "limit"


def parse_metrics(gw: Gateway) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    status, headers, body = http("GET", gw.url + "/metrics")
    assert status == 200
    assert headers["content-type"].startswith("text/plain; version=0.0.4")
    out = {}
    for line in body.decode().splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$", line)
        assert m, line
        labels = frozenset(re.findall(r'([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


def metric(ms: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    key = (name, frozenset(labels.items()))
    assert key in ms, f"{name}{labels} not in /metrics: " + ", ".join(sorted({n for n, _ in ms}))
    return ms[key]


def active_requests(gw: Gateway) -> float:
    return parse_metrics(gw).get(("bifrost_active_requests", frozenset({("provider", "openai")})), 0.0)


def wait_for(cond: Any, timeout: float, step: float = 0.05) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return True
        time.sleep(step)
    return cond()


def established_to(port: int) -> int | None:
    """Client-side TCP connections in ESTABLISHED state to 127.0.0.1:port (None without /proc/net/tcp)."""
    n = 0
    found = False
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(path).read_text().splitlines()[1:]
        except OSError:
            continue
        found = True
        for ln in lines:
            parts = ln.split()
            if parts[3] == "01" and int(parts[2].rsplit(":", 1)[1], 16) == port:
                n += 1
    return n if found else None


def assert_healthy(gw: Gateway) -> None:
    assert http("GET", gw.url + "/health", timeout=5)[0] == 200
    status, body, _ = chat(gw)
    assert status == 200, body
    assert body["choices"][0]["message"]["content"]


# --------------------------------------------------------------------------- queue full


def burst(gw: Gateway, n: int, model: str) -> list[tuple[int, dict[str, Any], float]]:
    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(lambda _: chat(gw, model, timeout=20), range(n)))


def test_queue_full_with_drop_excess_requests(tmp_path: Path, mock: Mock) -> None:
    cfg = {"client": {"drop_excess_requests": True},
           "providers": {"openai": openai_provider(mock, concurrency_and_buffer_size={"concurrency": 1,
                                                                                     "buffer_size": 1})}}
    with gateway(tmp_path, cfg) as gw:
        results = burst(gw, 6, "openai/mock-slow-500")
        ok = [r for r in results if r[0] == 200]
        dropped = [r for r in results if r[0] == 503]
        assert len(ok) + len(dropped) == 6, [(s, b) for s, b, _ in results]
        assert len(ok) >= 2 and len(dropped) >= 1
        for _, body, elapsed in dropped:
            assert body["error"]["type"] == "request_dropped"
            assert "queue is full" in body["error"]["message"]
            assert body["extra_fields"]["provider"] == "openai"
            assert elapsed < 0.4  # dropped at once, not after waiting for the slow upstream
        assert all(elapsed >= 0.45 for _, _, elapsed in ok)
        assert_healthy(gw)
        assert active_requests(gw) == 0


def test_queue_full_without_drop_waits(tmp_path: Path, mock: Mock) -> None:
    cfg = {"client": {"drop_excess_requests": False},
           "providers": {"openai": openai_provider(mock, concurrency_and_buffer_size={"concurrency": 1,
                                                                                     "buffer_size": 1})}}
    with gateway(tmp_path, cfg) as gw:
        t0 = time.perf_counter()
        results = burst(gw, 6, "openai/mock-slow-500")
        total = time.perf_counter() - t0
        assert [s for s, _, _ in results] == [200] * 6, [b for _, b, _ in results]
        assert total >= 6 * 0.5 * 0.9  # served one at a time
        assert_healthy(gw)
        assert active_requests(gw) == 0


# --------------------------------------------------------------------------- client disconnect


def test_client_disconnect_mid_stream_closes_upstream(tmp_path: Path, slow_mock: Mock) -> None:
    cfg = {"providers": {"openai": openai_provider(slow_mock)}}
    with gateway(tmp_path, cfg) as gw:
        body = {"model": "openai/gpt-4o-mini", "messages": MSG, "stream": True, "max_tokens": 50}  # ~5 s
        conn, resp = open_stream(gw.port, body)
        sock = conn.sock
        events, how = read_events(resp, limit=2)
        assert how == "limit" and len(events) == 2
        during = established_to(slow_mock.port)
        t_close = time.perf_counter()
        sock.shutdown(socket.SHUT_RDWR)
        resp.close()
        conn.close()

        if during is not None:
            # The gateway's connection to the mock carried the stream; once the client is gone it must be
            # closed (not returned to the pool after running to the end 5 s later).
            assert wait_for(lambda: established_to(slow_mock.port) < during, 2.0), (
                "upstream connection still open after the client disconnected")
            assert time.perf_counter() - t_close < 2.5
        assert wait_for(lambda: active_requests(gw) == 0, 3.0)
        assert_healthy(gw)
        ms = parse_metrics(gw)
        assert metric(ms, "bifrost_error_requests_total", provider="openai", model="gpt-4o-mini",
                      reason="cancelled") == 1
        assert not [r for r in gw.logs() if r.get("level") == "error"], gw.proc.output()


# --------------------------------------------------------------------------- upstream cut mid-stream


def test_upstream_cut_mid_stream_raw(tmp_path: Path, mock: Mock) -> None:
    mock.reset()
    with gateway(tmp_path, {"providers": {"openai": openai_provider(mock)}}) as gw:
        mock.script({"cut_after_chunks": 3})
        conn, resp = open_stream(gw.port, {"model": "openai/gpt-4o-mini", "messages": MSG, "stream": True},
                                 timeout=10)
        t0 = time.perf_counter()
        events, how = read_events(resp)
        conn.close()
        assert how == "eof" and time.perf_counter() - t0 < 5
        assert b"[DONE]" not in events
        assert len(events) >= 2
        for e in events[:-1]:
            assert "choices" in json.loads(e)
        err = json.loads(events[-1])
        assert set(err) == {"is_bifrost_error", "status_code", "error", "extra_fields"}
        assert err["status_code"] == 502
        assert err["error"]["type"] == "upstream_connection_error"
        assert err["error"]["message"].startswith("openai stream broke")
        assert err["extra_fields"]["provider"] == "openai"
        assert wait_for(lambda: active_requests(gw) == 0, 3.0)
        assert_healthy(gw)


def test_upstream_cut_mid_stream_sdk(tmp_path: Path, mock: Mock) -> None:
    mock.reset()
    with gateway(tmp_path, {"providers": {"openai": openai_provider(mock)}}) as gw:
        mock.script({"cut_after_chunks": 4})
        client = gw.openai(timeout=10)
        got = 0
        t0 = time.perf_counter()
        with pytest.raises(openai.APIError) as ei:
            for _chunk in client.chat.completions.create(model="openai/gpt-4o-mini", messages=MSG, stream=True):
                got += 1
        assert time.perf_counter() - t0 < 5
        assert got >= 1
        assert "openai" in ei.value.message and "stream broke" in ei.value.message
        assert_healthy(gw)


# --------------------------------------------------------------------------- SIGTERM


def test_sigterm_mid_stream_finishes_the_stream(tmp_path: Path, slow_mock: Mock) -> None:
    gw = Gateway(tmp_path, {"providers": {"openai": openai_provider(slow_mock)}})
    try:
        out: dict[str, Any] = {}
        first = threading.Event()

        def reader() -> None:
            conn, resp = open_stream(gw.port, {"model": "openai/gpt-4o-mini", "messages": MSG, "stream": True,
                                               "max_tokens": 30}, timeout=15)  # ~3 s
            out["events"], out["how"] = read_events(resp, on_event=lambda evs: first.set())
            conn.close()

        t = threading.Thread(target=reader, daemon=True)
        t.start()
        assert first.wait(5)
        time.sleep(0.5)
        t_sig = time.perf_counter()
        gw.proc.p.send_signal(signal.SIGTERM)
        time.sleep(0.2)
        try:
            status = http("GET", gw.url + "/health", timeout=2)[0]
        except OSError:
            status = None  # listener closed: connection refused
        assert status in (None, 503)

        t.join(10)
        assert not t.is_alive()
        assert out["how"] == "eof"
        assert out["events"][-1] == b"[DONE]"
        assert len(out["events"]) >= 30  # the whole answer arrived
        rc = gw.proc.p.wait(10)
        assert rc == 0, gw.proc.output()
        assert 1.5 < time.perf_counter() - t_sig < 8  # waited for the stream (~2.5 s left) to finish
        assert "graceful shutdown" in gw.proc.output()
    finally:
        gw.stop()


def test_sigterm_grace_expiry_cuts_long_stream(tmp_path: Path, slow_mock: Mock) -> None:
    cfg = {"client": {"shutdown_grace_seconds": 1}, "providers": {"openai": openai_provider(slow_mock)}}
    gw = Gateway(tmp_path, cfg)
    try:
        out: dict[str, Any] = {}
        first = threading.Event()

        def reader() -> None:
            conn, resp = open_stream(gw.port, {"model": "openai/gpt-4o-mini", "messages": MSG, "stream": True},
                                     timeout=15)  # 100 chunks: ~10 s
            out["events"], out["how"] = read_events(resp, on_event=lambda evs: first.set())
            conn.close()

        t = threading.Thread(target=reader, daemon=True)
        t.start()
        assert first.wait(5)
        time.sleep(0.5)
        t_sig = time.perf_counter()
        gw.proc.p.send_signal(signal.SIGTERM)
        rc = gw.proc.p.wait(8)
        exited_after = time.perf_counter() - t_sig
        t.join(5)
        assert not t.is_alive()
        assert exited_after < 1 + 3, exited_after
        assert rc == 0, gw.proc.output()
        assert "graceful shutdown" in gw.proc.output()
        assert out["how"] in ("eof", "cut")
        assert b"[DONE]" not in out["events"]  # cut short
        assert len(out["events"]) < 60
    finally:
        gw.stop()


# --------------------------------------------------------------------------- /metrics


def test_metrics_after_traffic(tmp_path: Path, mock: Mock) -> None:
    mock.reset()
    net = {"base_url": mock.url, "max_retries": 1, "retry_backoff_initial": 1, "retry_backoff_max": 2}
    with gateway(tmp_path, {"providers": {"openai": openai_provider(mock, network_config=net)}}) as gw:
        client = gw.openai(timeout=10)
        usages = []
        for _ in range(2):
            r = client.chat.completions.create(model="openai/gpt-4o-mini", messages=MSG)
            usages.append((r.usage.prompt_tokens, r.usage.completion_tokens))
        stream_usage = None
        for chunk in client.chat.completions.create(model="openai/gpt-4o-mini", messages=MSG, stream=True,
                                                    stream_options={"include_usage": True}):
            if chunk.usage is not None:
                stream_usage = (chunk.usage.prompt_tokens, chunk.usage.completion_tokens)
        assert stream_usage is not None
        usages.append(stream_usage)
        mock.script({"status": 503, "model": "gpt-4o-mini"})  # first attempt fails, the retry succeeds
        r = client.chat.completions.create(model="openai/gpt-4o-mini", messages=MSG)
        usages.append((r.usage.prompt_tokens, r.usage.completion_tokens))
        with pytest.raises(openai.BadRequestError):
            client.chat.completions.create(model="openai/mock-fail-400", messages=MSG)

        ms = parse_metrics(gw)
        pm = {"provider": "openai", "model": "gpt-4o-mini"}
        assert metric(ms, "http_requests_total", path="/v1/chat/completions", method="POST", status="200") == 4
        assert metric(ms, "http_requests_total", path="/v1/chat/completions", method="POST", status="400") == 1
        assert metric(ms, "bifrost_upstream_requests_total", **pm) == 5  # 2 + 1 stream + 2 attempts
        assert metric(ms, "bifrost_success_requests_total", **pm) == 4
        assert metric(ms, "bifrost_error_requests_total", reason="503", **pm) == 1
        assert metric(ms, "bifrost_error_requests_total", provider="openai", model="mock-fail-400",
                      reason="400") == 1
        assert metric(ms, "bifrost_input_tokens_total", **pm) == sum(u[0] for u in usages) > 0
        assert metric(ms, "bifrost_output_tokens_total", **pm) == sum(u[1] for u in usages) > 0
        assert metric(ms, "bifrost_stream_first_token_latency_seconds_count", **pm) == 1
        assert metric(ms, "bifrost_request_retries", **pm) == 1
        assert metric(ms, "bifrost_active_requests", provider="openai") == 0
        assert metric(ms, "bifrost_upstream_latency_seconds_count", **pm) == 5


# --------------------------------------------------------------------------- body size


def test_body_over_the_limit_gets_413(tmp_path: Path, mock: Mock) -> None:
    mock.reset()
    cfg = {"client": {"max_request_body_size_mb": 1}, "providers": {"openai": openai_provider(mock)}}
    with gateway(tmp_path, cfg) as gw:
        big = {"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "x" * (2 * 1024 * 1024)}]}
        payload = json.dumps(big).encode()
        # A keep-alive client (like the SDKs): the answer comes once the body is sent. (A client sending
        # "Connection: close" may see a reset instead: the gateway answers before reading the body.)
        for chunked in (False, True):  # with a Content-Length, and as a chunked upload without one
            conn = httpc.HTTPConnection("127.0.0.1", gw.port, timeout=10)
            t0 = time.perf_counter()
            if chunked:
                parts = iter([payload[i:i + 65536] for i in range(0, len(payload), 65536)])
                conn.request("POST", "/v1/chat/completions", body=parts,
                             headers={"Content-Type": "application/json"}, encode_chunked=True)
            else:
                conn.request("POST", "/v1/chat/completions", body=payload,
                             headers={"Content-Type": "application/json"})
            r = conn.getresponse()
            err = json.loads(r.read())
            conn.close()
            assert time.perf_counter() - t0 < 5
            assert r.status == 413, err
            assert err["error"]["type"] == "request_too_large"
            assert err["error"]["message"] == ("request body is larger than 1 MB; send a smaller body or raise "
                                               "client.max_request_body_size_mb")
        assert mock.requests("/v1/chat/completions") == []  # never forwarded
        assert_healthy(gw)


@pytest.mark.conformance("openai", "openai", "images in")
def test_ten_mb_image_passes_through_unchanged(tmp_path: Path, mock: Mock) -> None:
    mock.reset()
    with gateway(tmp_path, {"providers": {"openai": openai_provider(mock)}}) as gw:
        image = "data:image/png;base64," + base64.b64encode(os.urandom(7_700_000)).decode()
        assert len(image) > 10_000_000
        content = [{"type": "text", "text": "what is this?"}, {"type": "image_url", "image_url": {"url": image}}]
        r = gw.openai(timeout=30).chat.completions.create(
            model="openai/gpt-4o-mini", messages=[{"role": "user", "content": content}])
        assert r.choices[0].message.content
        (rec,) = mock.requests("/v1/chat/completions")
        got = rec["body"]["messages"][0]["content"]
        assert got[1]["image_url"]["url"] == image
        assert got == content


# --------------------------------------------------------------------------- unreachable / slow upstream


def test_unreachable_upstream_is_502_quickly(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    cfg = {"providers": {"openai": {"keys": [{"name": "k", "value": "sk", "models": [], "weight": 1}],
                                    "network_config": {"base_url": f"http://127.0.0.1:{port}"}}}}
    with gateway(tmp_path, cfg) as gw:
        status, body, elapsed = chat(gw)
        assert status == 502 and elapsed < 3
        assert body["error"]["type"] == "upstream_connection_error"
        msg = body["error"]["message"]
        assert f"could not reach openai at 127.0.0.1:{port}" in msg
        assert "providers.openai.network_config.base_url" in msg
        assert body["extra_fields"]["provider"] == "openai"
        assert http("GET", gw.url + "/health")[0] == 200


def test_upstream_timeout_is_504(tmp_path: Path, mock: Mock) -> None:
    net = {"base_url": mock.url, "default_request_timeout_in_seconds": 1}
    with gateway(tmp_path, {"providers": {"openai": openai_provider(mock, network_config=net)}}) as gw:
        status, body, elapsed = chat(gw, "openai/mock-slow-3000")
        assert status == 504, body
        assert 0.9 < elapsed < 2.5
        assert body["error"]["type"] == "request_timed_out"
        assert "timed out after 1s" in body["error"]["message"]
        assert "default_request_timeout_in_seconds" in body["error"]["message"]
        assert_healthy(gw)
