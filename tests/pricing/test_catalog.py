"""The shipped pricing catalog: lookups by provider and model, and Bifrost's cost formula on real entries.

Expected costs are computed from the entry's own rates (read through `price()`), so the tests hold
when the catalog is rebuilt from a newer price list; what they pin is the formula and the lookups.
"""

from __future__ import annotations

import json
from importlib import resources

import pytest

from bifrost.pricing import Catalog
from bifrost.schemas.inference import Usage


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.load()


def _raw(name: str) -> dict:
    doc = json.loads(resources.files("bifrost.pricing").joinpath("catalog.json").read_text())
    return doc["models"][name]


def test_shipped_catalog_names_its_source_and_version(catalog: Catalog) -> None:
    assert "litellm" in str(catalog.metadata["source"])
    assert catalog.metadata["source_version"]
    assert catalog.metadata["models"] == len(catalog) > 500
    providers = {p.provider for p in catalog}
    assert {"openai", "anthropic", "azure", "bedrock", "gemini", "vertex", "cohere", "mistral", "groq"} <= providers


def test_price_has_the_list_rates_for_input_output_and_cache(catalog: Catalog) -> None:
    p = catalog.price("anthropic", "claude-sonnet-4-5")
    raw = _raw("anthropic/claude-sonnet-4-5")
    assert p is not None
    assert (p.input, p.output) == (raw["input_cost_per_token"], raw["output_cost_per_token"])
    assert p.cache_read == raw["cache_read_input_token_cost"] < p.input
    assert p.cache_write == raw["cache_creation_input_token_cost"] > p.input


def test_unknown_model_has_no_price_and_no_cost(catalog: Catalog) -> None:
    assert catalog.price("openai", "no-such-model") is None
    assert catalog.cost("openai", "no-such-model", Usage(input_tokens=10, output_tokens=10)) is None
    assert catalog.cost("no-such-provider", "gpt-4o", Usage(input_tokens=10)) is None


def test_plain_request_costs_input_and_output_tokens(catalog: Catalog) -> None:
    p = catalog.price("openai", "gpt-4o")
    assert p is not None
    cost = catalog.cost("openai", "gpt-4o", Usage(input_tokens=1200, output_tokens=300))
    assert cost == pytest.approx(1200 * p.input + 300 * p.output)


def test_cached_reads_cost_the_cache_price_and_are_not_billed_again_as_input(catalog: Catalog) -> None:
    p = catalog.price("openai", "gpt-4o")
    assert p is not None and p.cache_read < p.input
    u = Usage(input_tokens=1000, output_tokens=100, cached_read_tokens=800)
    assert catalog.cost("openai", "gpt-4o", u) == pytest.approx(200 * p.input + 800 * p.cache_read + 100 * p.output)
    uncached = catalog.cost("openai", "gpt-4o", Usage(input_tokens=1000, output_tokens=100))
    assert uncached is not None and catalog.cost("openai", "gpt-4o", u) < uncached  # type: ignore[operator]


def test_cache_writes_cost_the_cache_write_price(catalog: Catalog) -> None:
    p = catalog.price("anthropic", "claude-sonnet-4-5")
    assert p is not None
    u = Usage(input_tokens=5000, output_tokens=50, cached_read_tokens=1000, cache_write_tokens=3000)
    want = 1000 * p.input + 1000 * p.cache_read + 3000 * p.cache_write + 50 * p.output
    assert catalog.cost("anthropic", "claude-sonnet-4-5", u) == pytest.approx(want)


def test_reasoning_tokens_are_billed_as_output_tokens(catalog: Catalog) -> None:
    p = catalog.price("openai", "o3-mini")
    assert p is not None and p.reasoning is None
    with_reasoning = catalog.cost("openai", "o3-mini", Usage(input_tokens=100, output_tokens=900, reasoning_tokens=700))
    assert with_reasoning == pytest.approx(100 * p.input + 900 * p.output)


def test_cache_counts_larger_than_the_prompt_are_clamped_never_negative(catalog: Catalog) -> None:
    p = catalog.price("anthropic", "claude-sonnet-4-5")
    assert p is not None
    u = Usage(input_tokens=100, output_tokens=0, cached_read_tokens=500, cache_write_tokens=500)
    assert catalog.cost("anthropic", "claude-sonnet-4-5", u) == pytest.approx(100 * p.cache_read)


def test_long_requests_use_the_tier_above_the_threshold(catalog: Catalog) -> None:
    p = catalog.price("gemini", "gemini-2.5-pro")
    assert p is not None and p.tiers
    tier = p.tiers[0]
    small = Usage(input_tokens=1000, output_tokens=1000)
    big = Usage(input_tokens=tier.above_tokens, output_tokens=1000)
    assert catalog.cost("gemini", "gemini-2.5-pro", small) == pytest.approx(1000 * p.input + 1000 * p.output)
    assert catalog.cost("gemini", "gemini-2.5-pro", big) == pytest.approx(
        tier.above_tokens * tier.input + 1000 * tier.output)
    assert tier.input > p.input


def test_rerank_is_priced_per_request(catalog: Catalog) -> None:
    p = catalog.price("cohere", "rerank-v3.5")
    assert p is not None and p.per_request is not None and p.per_request > 0
    assert catalog.cost("cohere", "rerank-v3.5", Usage(input_tokens=0)) == pytest.approx(p.per_request)
    assert catalog.cost("cohere", "rerank-v3.5", None) == pytest.approx(p.per_request)


def test_embeddings_cost_input_tokens(catalog: Catalog) -> None:
    p = catalog.price("openai", "text-embedding-3-small")
    assert p is not None and p.mode == "embedding"
    cost = catalog.cost("openai", "text-embedding-3-small", Usage(input_tokens=10_000))
    assert cost == pytest.approx(10_000 * p.input)


@pytest.mark.parametrize(("provider", "model", "listed"), [
    ("openai", "openai/gpt-4o", "gpt-4o"),  # provider/model id
    ("", "openai/gpt-4o", "gpt-4o"),  # provider only in the model id
    ("openai", "GPT-4o", "gpt-4o"),  # case
    ("bedrock", "claude-3-5-sonnet-20240620-v1:0", "anthropic.claude-3-5-sonnet-20240620-v1:0"),
    ("bedrock", "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-5-sonnet-20240620-v1:0",
     "us.anthropic.claude-3-5-sonnet-20240620-v1:0"),
    ("gemini", "models/gemini-2.5-pro", "gemini-2.5-pro"),
    ("vertex", "anthropic/claude-3-5-sonnet@20240620", "claude-3-5-sonnet@20240620"),
])
def test_model_ids_are_normalised(catalog: Catalog, provider: str, model: str, listed: str) -> None:
    p = catalog.price(provider, model)
    assert p is not None and p.model == listed


def test_bedrock_region_prefix_falls_back_to_the_base_model_only_when_unlisted(catalog: Catalog) -> None:
    listed = catalog.price("bedrock", "us.anthropic.claude-3-5-sonnet-20240620-v1:0")
    assert listed is not None and listed.model.startswith("us.")  # the profile's own (possibly uplifted) price
    # A geography the list does not price falls back to the model's on-demand price.
    p = catalog.price("bedrock", "jp.anthropic.claude-3-5-sonnet-20240620-v1:0")
    assert p is not None and p.model == "anthropic.claude-3-5-sonnet-20240620-v1:0"


def test_gemini_falls_back_to_vertex_prices(catalog: Catalog) -> None:
    vertex_only = next(p.model for p in catalog if p.provider == "vertex" and p.model.startswith("gemini")
                       and catalog.price("gemini", p.model) is not None
                       and catalog._prices.get(("gemini", p.model)) is None)
    assert catalog.price("gemini", vertex_only) == catalog.price("vertex", vertex_only)


def test_dated_versions_are_not_guessed_from_the_base_name(catalog: Catalog) -> None:
    assert catalog.price("openai", "gpt-4o") is not None
    assert catalog.price("openai", "gpt-4o-2099-01-01") is None
    listed = catalog.price("openai", "gpt-4o-2024-08-06")  # versions the list names are priced
    assert listed is not None and listed.model == "gpt-4o-2024-08-06"


def test_custom_provider_is_priced_as_its_base_provider() -> None:
    c = Catalog.load()
    assert c.price("backup", "gpt-4o") is None
    c.alias_provider("backup", "openai")
    assert c.price("backup", "gpt-4o") == c.price("openai", "gpt-4o")


def test_override_can_price_a_custom_provider_apart_from_its_base(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "p.json"
    path.write_text('{"models": {"backup/gpt-4o": {"input_cost_per_token": 0.000009}}}')
    c = Catalog.load(path)
    c.alias_provider("backup", "openai")
    own = c.price("backup", "gpt-4o")
    assert own is not None and own.input == 0.000009
    assert c.price("backup", "gpt-4o-mini") == c.price("openai", "gpt-4o-mini")  # the rest: the base's prices


def test_azure_deployment_name_is_priced_as_its_model() -> None:
    c = Catalog.load()
    assert c.price("azure", "prod-chat") is None
    c.alias_models("azure", {"prod-chat": "gpt-4o"})
    p = c.price("azure", "prod-chat")
    assert p is not None and p.model == "gpt-4o" and p.provider == "azure"


def test_lookup_memo_is_bounded() -> None:
    from bifrost.pricing import catalog as mod

    c = Catalog.load()
    for i in range(mod.MEMO_MAX + 10):
        c.price("openai", f"random-{i}")
    assert len(c._memo) <= mod.MEMO_MAX


def test_catalog_json_is_package_data_so_installs_ship_it() -> None:
    import tomllib
    from pathlib import Path

    pyproject = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())
    assert "pricing/catalog.json" in pyproject["tool"]["setuptools"]["package-data"]["bifrost"]
