"""The local override file: good files patch and add models; bad ones fail with the file and the problem."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bifrost.config.loader import parse_config
from bifrost.pricing import Catalog, PricingError, override_path
from bifrost.schemas.inference import Usage


def _write(tmp_path: Path, doc: object, name: str = "prices.json") -> Path:
    p = tmp_path / name
    p.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return p


def test_override_patches_a_listed_model_field_by_field(tmp_path: Path) -> None:
    shipped = Catalog.load().price("openai", "gpt-4o")
    assert shipped is not None
    path = _write(tmp_path, {"models": {"openai/gpt-4o": {"input_cost_per_token": 0.000001}}})
    c = Catalog.load(path)
    p = c.price("openai", "gpt-4o")
    assert p is not None and p.input == 0.000001
    assert (p.output, p.cache_read) == (shipped.output, shipped.cache_read)  # untouched fields stay
    assert c.override_path == path


def test_override_adds_a_model_the_list_does_not_have(tmp_path: Path) -> None:
    path = _write(tmp_path, {"models": {"vllm/my-llama": {
        "input_cost_per_token": 1e-7, "output_cost_per_token": 2e-7, "output_cost_per_reasoning_token": 5e-7,
        "tiers": [{"above_tokens": 100000, "input_cost_per_token": 3e-7}]}}})
    c = Catalog.load(path)
    u = Usage(input_tokens=1000, output_tokens=600, reasoning_tokens=400)
    assert c.cost("vllm", "my-llama", u) == pytest.approx(1000 * 1e-7 + 200 * 2e-7 + 400 * 5e-7)
    big = Usage(input_tokens=100_000, output_tokens=1)
    assert c.cost("vllm", "my-llama", big) == pytest.approx(100_000 * 3e-7 + 2e-7)


@pytest.mark.parametrize(("doc", "problem"), [
    ("{not json", "not valid JSON"),
    ({"models": {"openai/gpt-4o": {"input_cost_per_token": "cheap"}}}, "input_cost_per_token"),
    ({"models": {"openai/gpt-4o": {"input_cost_per_token": -1}}}, ">= 0"),
    ({"models": {"openai/gpt-4o": {"input_price": 1e-6}}}, "input_price"),
    ({"models": {"gpt-4o": {"input_cost_per_token": 1e-6}}}, '"<provider>/<model>"'),
    ({"models": {"acme/new-model": {"output_cost_per_token": 1e-6}}}, "needs input_cost_per_token"),
    ({"openai/gpt-4o": {"input_cost_per_token": 1e-6}}, "models"),
    ([], "Expected `object`"),
])
def test_bad_override_file_names_the_file_and_the_problem(tmp_path: Path, doc: object, problem: str) -> None:
    path = _write(tmp_path, doc)
    with pytest.raises(PricingError) as exc:
        Catalog.load(path)
    msg = str(exc.value)
    assert str(path) in msg and problem in msg


def test_missing_override_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(PricingError, match="cannot be read"):
        Catalog.load(tmp_path / "nope.json")


def test_env_var_wins_over_the_config_url(tmp_path: Path) -> None:
    path, warnings = override_path({"BIFROST_PRICING_FILE": "p.json"}, "file:///etc/other.json", tmp_path)
    assert (path, warnings) == (tmp_path / "p.json", [])


def test_file_url_and_plain_path_are_read_locally(tmp_path: Path) -> None:
    assert override_path({}, "file:///srv/prices.json")[0] == Path("/srv/prices.json")
    assert override_path({}, "prices.json", tmp_path)[0] == tmp_path / "prices.json"
    assert override_path({}, None) == (None, [])


def test_http_pricing_url_is_not_fetched_and_says_so() -> None:
    path, warnings = override_path({}, "https://example.invalid/datasheet.json")
    assert path is None
    assert len(warnings) == 1 and "not fetched" in warnings[0] and "shipped" in warnings[0]


def test_bifrost_default_datasheet_url_is_not_warned_about() -> None:
    from bifrost.pricing.settings import BIFROST_DEFAULT_URL

    assert override_path({}, BIFROST_DEFAULT_URL) == (None, [])


def test_framework_pricing_is_read_from_config_json() -> None:
    res = parse_config({"framework": {"pricing": {"pricing_url": "file:///srv/p.json", "pricing_sync_interval": 3600}}},
                       {})
    assert res.config.pricing_url == "file:///srv/p.json"
    assert any("pricing_sync_interval" in n for n in res.notices)
    assert not any("framework" in w for w in res.warnings)


def test_framework_pricing_url_resolves_env_references() -> None:
    res = parse_config({"framework": {"pricing": {"pricing_url": "env.PRICES"}}}, {"PRICES": "/srv/p.json"})
    assert res.config.pricing_url == "/srv/p.json"
