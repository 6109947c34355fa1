"""Model prices and request cost: a catalog shipped with the package plus a local override file.

See catalog.py (lookups and the cost formula), model.py (the shapes), settings.py (where the
override file comes from) and docs/pricing.md.
"""

from bifrost.pricing.catalog import Catalog, PricingError, price_usage
from bifrost.pricing.model import ModelPrice, Tier
from bifrost.pricing.settings import ENV, override_path

__all__ = ["ENV", "Catalog", "ModelPrice", "PricingError", "Tier", "override_path", "price_usage"]
