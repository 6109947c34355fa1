"""Request cost end to end: the openai SDK -> `bifrost serve` -> `bifrost mock`, cost read back via /api/logs.

The gateway prices with the shipped catalog plus an override file given as `framework.pricing.pricing_url`
(file://); the logs store runs on SQLite and on the real PostgreSQL (own database). Expected costs come
from the same catalog loaded in the test, so what is pinned is that the gateway prices what it logged.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from bifrost.pricing import Catalog
from conftest import Gateway, Mock, http, openai_provider
from logs_pg import pg_database, store_config

pytestmark = pytest.mark.integration
MSGS = [{"role": "user", "content": "Say hello"}]
OVERRIDE = {"models": {"openai/house-model": {"input_cost_per_token": 0.000004, "output_cost_per_token": 0.000008}}}


@pytest.fixture(scope="module")
def override(tmp_module: Path) -> Path:
    p = tmp_module / "prices.json"
    p.write_text(json.dumps(OVERRIDE))
    return p


@pytest.fixture(scope="module")
def catalog(override: Path) -> Catalog:
    return Catalog.load(override)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def gw(request: pytest.FixtureRequest, tmp_module: Path, mock: Mock, override: Path) -> Iterator[Gateway]:
    def start(db_name: str | None) -> Gateway:
        cfg = {"providers": {"openai": openai_provider(mock)},
               "framework": {"pricing": {"pricing_url": override.as_uri()}},
               "logs_store": store_config(request.param, db_name)}
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


def logged(gw: Gateway, model: str, timeout: float = 10.0) -> dict[str, Any]:
    """The newest log row for `model`, once the writer has flushed it."""
    deadline = time.monotonic() + timeout
    while True:
        rows = api(gw, models=model)["logs"]
        if rows or time.monotonic() > deadline:
            assert rows, f"no log row for {model}"
            return rows[0]
        time.sleep(0.1)


def test_cached_tokens_are_priced_at_the_cache_price_in_the_log(gw: Gateway, mock: Mock, catalog: Catalog) -> None:
    usage = {"prompt_tokens": 2000, "completion_tokens": 150, "total_tokens": 2150,
             "prompt_tokens_details": {"cached_tokens": 1500},
             "completion_tokens_details": {"reasoning_tokens": 0}}
    mock.script({"model": "gpt-4o", "status": 200, "body": {
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-4o",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}],
        "usage": usage}})
    out = gw.openai().chat.completions.create(model="openai/gpt-4o", messages=MSGS)
    assert out.usage is not None and out.usage.prompt_tokens_details.cached_tokens == 1500
    row = logged(gw, "gpt-4o")
    p = catalog.price("openai", "gpt-4o")
    assert p is not None and p.cache_read < p.input
    assert row["cached_read_tokens"] == 1500
    assert row["cost"] == pytest.approx(500 * p.input + 1500 * p.cache_read + 150 * p.output)


def test_streamed_request_is_priced_from_its_usage_chunk(gw: Gateway, catalog: Catalog) -> None:
    stream = gw.openai().chat.completions.create(model="openai/gpt-4o-mini", messages=MSGS, stream=True)
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text
    row = logged(gw, "gpt-4o-mini")
    p = catalog.price("openai", "gpt-4o-mini")
    assert p is not None and row["prompt_tokens"] > 0 and row["completion_tokens"] > 0
    assert row["stream"] is True
    assert row["cost"] == pytest.approx(row["prompt_tokens"] * p.input + row["completion_tokens"] * p.output)


def test_model_from_the_override_file_is_priced(gw: Gateway) -> None:
    gw.openai().chat.completions.create(model="openai/house-model", messages=MSGS)
    row = logged(gw, "house-model")
    assert row["cost"] == pytest.approx(row["prompt_tokens"] * 0.000004 + row["completion_tokens"] * 0.000008)
    assert row["cost"] > 0


def test_unpriced_model_logs_null_cost_not_zero(gw: Gateway) -> None:
    gw.openai().chat.completions.create(model="openai/mystery-model-7", messages=MSGS)
    row = logged(gw, "mystery-model-7")
    assert row["prompt_tokens"] > 0
    assert "cost" in row and row["cost"] is None


def test_stats_total_cost_is_the_sum_of_logged_costs(gw: Gateway) -> None:
    gw.openai().chat.completions.create(model="openai/gpt-4o-mini", messages=MSGS)
    deadline = time.monotonic() + 10
    while True:
        rows = api(gw, limit=1000)["logs"]
        stats = api(gw, "/api/logs/stats")
        if stats["total_requests"] == len(rows) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    known = [r["cost"] for r in rows if r["cost"] is not None]
    assert len(known) < len(rows)  # the unpriced row counts as a request but adds no cost
    assert stats["total_cost"] == pytest.approx(sum(known))
    assert stats["total_cost"] > 0
    raw_path = api(gw, "/api/logs/stats", min_cost="0")  # a cost filter sums the rows, not the rollup
    assert raw_path["total_cost"] == pytest.approx(sum(known))
    priced = api(gw, min_cost="0.0000000001", limit=1000)["logs"]
    assert {r["id"] for r in priced} == {r["id"] for r in rows if r["cost"]}
    by_cost = api(gw, sort_by="cost", order="desc", min_cost="0", limit=1000)["logs"]
    assert [r["cost"] for r in by_cost] == sorted((r["cost"] for r in by_cost), reverse=True)
