"""The logs database goes away while the gateway runs: inference keeps answering, the writer keeps a
bounded buffer and counts what it drops, and writing resumes by itself when the database returns.

The gateway reaches the real PostgreSQL through a loopback TCP proxy that the test stops (every
connection cut, the port refusing) and restarts.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from conftest import Gateway, Mock, http, openai_provider
from logs_pg import TcpProxy, pg_database, pg_parts, store_config

pytestmark = pytest.mark.integration
BUFFER = 5


@pytest.fixture(scope="module")
def setup(tmp_module: Path, mock: Mock) -> Iterator[tuple[Gateway, TcpProxy]]:
    with pg_database() as name:
        p = pg_parts()
        proxy = TcpProxy((str(p["host"]), int(p["port"])))
        proxy.start()
        cfg = {"providers": {"openai": openai_provider(mock)},
               "logs_store": store_config("postgres", name, port=proxy.port)}
        gw = Gateway(tmp_module, cfg, env={"BIFROST_LOGS_BUFFER": str(BUFFER)})
        try:
            yield gw, proxy
        finally:
            gw.stop()
            proxy.stop()


def logs_with(gw: Gateway, text: str) -> tuple[int, list[dict[str, Any]]]:
    status, _, body = http("GET", f"{gw.url}/api/logs?limit=1000&content_search={quote(text)}")
    data = json.loads(body)
    return status, data.get("logs", [])


def dropped_metric(gw: Gateway) -> float:
    _, _, body = http("GET", gw.url + "/metrics")
    m = re.search(rb"^bifrost_logs_dropped_total ([0-9.e+]+)$", body, re.M)
    assert m, "bifrost_logs_dropped_total missing from /metrics"
    return float(m.group(1))


def wait(pred: Any, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.2)
    return False


def chat(gw: Gateway, text: str) -> str:
    resp = gw.openai().chat.completions.create(model="openai/gpt-4o-mini",
                                               messages=[{"role": "user", "content": text}])
    return resp.choices[0].message.content or ""


def test_database_down_mid_run_inference_answers_drops_are_counted_and_writing_resumes(
        setup: tuple[Gateway, TcpProxy]) -> None:
    gw, proxy = setup
    assert chat(gw, "outage: before")
    assert wait(lambda: len(logs_with(gw, "outage: before")[1]) == 1)

    proxy.stop()  # the database is gone
    sent = 12
    for i in range(sent):
        assert chat(gw, f"outage: during {i}")  # every request still answers
    # The writer keeps BUFFER logs and drops (and counts) the rest.
    assert wait(lambda: dropped_metric(gw) == sent - BUFFER), dropped_metric(gw)
    status, _, body = http("GET", gw.url + "/api/logs/dropped")
    assert json.loads(body) == {"dropped_requests": sent - BUFFER}
    status, _, body = http("GET", gw.url + "/api/logs")
    assert status == 503 and "log store not available" in json.loads(body)["error"]["message"]
    assert wait(lambda: any("logs store unavailable" in (line.get("message") or "") for line in gw.logs())), \
        gw.proc.output()[-2000:]
    assert gw.proc.p.poll() is None

    proxy.start()  # it is back: the buffered logs are written, new ones too
    assert wait(lambda: len(logs_with(gw, "outage: during")[1]) == BUFFER)
    status, during = logs_with(gw, "outage: during")
    assert status == 200
    assert chat(gw, "outage: after")
    assert wait(lambda: len(logs_with(gw, "outage: after")[1]) == 1)
    assert dropped_metric(gw) == sent - BUFFER
