"""STAND-IN for p7-pricing's `bifrost.pricing` (same interface, a handful of prices).

p7-gov needs `Catalog.cost` to count spend against budgets; the real package (shipped catalog,
override file) replaces this file at merge. Prices are USD per token, from OpenAI's price list.
"""

from __future__ import annotations

from pathlib import Path

import msgspec

from bifrost.schemas.inference import Usage


class ModelPrice(msgspec.Struct, frozen=True, kw_only=True):
    input_cost_per_token: float
    output_cost_per_token: float


_PRICES = {
    "gpt-4o-mini": ModelPrice(input_cost_per_token=0.15e-6, output_cost_per_token=0.6e-6),
    "gpt-4o": ModelPrice(input_cost_per_token=2.5e-6, output_cost_per_token=10e-6),
}


class Catalog:
    def __init__(self, prices: dict[str, ModelPrice]) -> None:
        self._prices = prices

    @classmethod
    def load(cls, override_path: Path | None = None) -> Catalog:
        return cls(dict(_PRICES))

    def price(self, provider: str, model: str) -> ModelPrice | None:
        return self._prices.get(model)

    def cost(self, provider: str, model: str, usage: Usage | None) -> float | None:
        p = self._prices.get(model)
        if p is None or usage is None:
            return None
        return usage.input_tokens * p.input_cost_per_token + usage.output_tokens * p.output_cost_per_token
