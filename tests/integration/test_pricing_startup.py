"""`bifrost serve` and the price override: a bad file stops the start with the file and the problem;
an http(s) pricing_url is not fetched and says so."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import Gateway, Mock, openai_provider

pytestmark = pytest.mark.integration


def test_bad_override_file_stops_serve_with_a_message_naming_it(tmp_path: Path, mock: Mock) -> None:
    bad = tmp_path / "prices.json"
    bad.write_text(json.dumps({"models": {"openai/gpt-4o": {"input_cost_per_token": "two dollars"}}}))
    gw = Gateway(tmp_path, {"providers": {"openai": openai_provider(mock)}},
                 env={"BIFROST_PRICING_FILE": str(bad)}, wait=False)
    code = gw.proc.p.wait(timeout=30)
    assert code == 2
    errors = [e.get("message", "") for e in gw.logs() if e.get("level") == "error"]
    assert any(str(bad) in m and 'models["openai/gpt-4o"]' in m and "input_cost_per_token" in m for m in errors), \
        gw.proc.output()
    assert not (gw.app_dir / "logs.db").exists()  # stopped before any store was opened


def test_remote_pricing_url_is_not_fetched_and_the_shipped_catalog_is_used(tmp_path: Path, mock: Mock) -> None:
    cfg = {"providers": {"openai": openai_provider(mock)},
           "framework": {"pricing": {"pricing_url": "https://prices.example.invalid/datasheet.json"}}}
    gw = Gateway(tmp_path, cfg)
    try:
        msgs = [(e.get("level"), e.get("message", "")) for e in gw.logs()]
        assert any(lvl == "warn" and "not fetched" in m and "shipped" in m for lvl, m in msgs), msgs
        assert any(lvl == "info" and m.startswith("pricing: ") and "litellm" in m for lvl, m in msgs), msgs
    finally:
        gw.stop()
