"""The gateway's config teaches the catalog its provider names (custom providers, Azure deployments)."""

from __future__ import annotations

from pathlib import Path

from bifrost.config.loader import parse_config
from bifrost.pricing import Catalog
from bifrost.server.pricing_setup import configure_pricing, load_catalog


def test_config_custom_provider_and_azure_deployments_are_priced() -> None:
    cfg = parse_config({"providers": {
        "backup": {"keys": [{"name": "b", "value": "sk-b", "models": [], "weight": 1}],
                   "network_config": {"base_url": "http://127.0.0.1:9"},
                   "custom_provider_config": {"base_provider_type": "openai"}},
        "azure": {"keys": [{"name": "a", "value": "k", "models": [], "weight": 1, "azure_key_config": {
            "endpoint": "https://x.openai.azure.com", "api_version": "2024-10-21",
            "deployments": {"gpt-4o": "prod-chat"}}}]},
    }}, {}).config
    c = Catalog.load()
    configure_pricing(c, cfg.providers.values())
    assert c.price("backup", "gpt-4o-mini") == c.price("openai", "gpt-4o-mini") is not None
    p = c.price("azure", "prod-chat")
    assert p is not None and (p.provider, p.model) == ("azure", "gpt-4o")


def test_load_catalog_uses_the_env_override_over_the_config(tmp_path: Path) -> None:
    (tmp_path / "mine.json").write_text('{"models": {"acme/m": {"input_cost_per_token": 1e-6}}}')
    cfg = parse_config({"framework": {"pricing": {"pricing_url": "https://example.invalid/x.json"}}}, {}).config
    c = load_catalog(cfg, {"BIFROST_PRICING_FILE": "mine.json"}, tmp_path)
    assert c.override_path == tmp_path / "mine.json"
    assert c.price("acme", "m") is not None
