"""Loading the pricing catalog for a gateway, and teaching it the config's provider names.

`load_catalog` is what `bifrost serve` runs first (a bad override file stops the start, before any
database is touched, with a message naming the file); `configure_pricing` maps custom providers to
their base provider's prices and Azure deployment names to the models they serve, at start and on
each live provider change.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from pathlib import Path

from bifrost.config.model import GatewayConfig, ProviderConfig
from bifrost.pricing import Catalog, override_path
from bifrost.pricing.settings import BIFROST_DEFAULT_URL

log = logging.getLogger("bifrost.pricing")


def load_catalog(cfg: GatewayConfig, environ: Mapping[str, str], app_dir: Path | None) -> Catalog:
    """The shipped catalog plus the configured override file; raises PricingError for a bad file."""
    path, warnings = override_path(environ, cfg.pricing_url, app_dir)
    for w in warnings:
        log.warning("%s", w)
    if path is None and (cfg.pricing_url or "").rstrip("/") == BIFROST_DEFAULT_URL:
        log.info("framework.pricing.pricing_url is Bifrost's datasheet; prices are not fetched, the catalog "
                 "shipped with the package is used (docs/pricing.md)")
    catalog = Catalog.load(path)
    source = catalog.metadata.get("source", "the shipped catalog")
    extra = f", overridden by {path}" if path is not None else ""
    log.info("pricing: %d models from %s%s", len(catalog), source, extra)
    return catalog


def configure_pricing(catalog: Catalog, providers: Iterable[ProviderConfig]) -> None:
    for p in providers:
        base = p.base_type
        catalog.alias_provider(p.name, base)
        for k in p.keys:
            if k.azure is not None and k.azure.deployments:
                # deployments maps model -> deployment name; a client may send either.
                catalog.alias_models(base, {dep: model for model, dep in k.azure.deployments.items()})
