"""Key selection: weighted random among the keys that admit the requested model."""

from __future__ import annotations

import random

from bifrost.config.model import Key, ProviderConfig
from bifrost.schemas.errors import ConfigError, RequestError


class KeySelector:
    """Per provider; caches the eligible keys per model so a pick is one dict lookup + a random()."""

    __slots__ = ("provider", "_keys", "_cache", "_rand")

    def __init__(self, provider: ProviderConfig, rand: random.Random | None = None) -> None:
        self.provider = provider.name
        self._keys = provider.keys
        self._cache: dict[str, tuple[tuple[Key, ...], tuple[float, ...], float]] = {}
        self._rand = rand or random.Random()

    def _eligible(self, model: str) -> tuple[tuple[Key, ...], tuple[float, ...], float]:
        hit = self._cache.get(model)
        if hit is not None:
            return hit
        admitting = [k for k in self._keys if k.admits(model)]
        if not admitting:
            raise RequestError(
                f"no keys found that support model {model!r} for provider {self.provider!r}; add the model to "
                f"a key's \"models\" list in providers.{self.provider}.keys (or use [\"*\"])",
                provider=self.provider, model=model,
            )
        usable = [k for k in admitting if k.unresolved is None and k.has_credential]
        if not usable:
            reasons = "; ".join(k.unresolved or f"key {k.name!r} has an empty value" for k in admitting)
            raise ConfigError(
                f"no usable key for provider {self.provider!r}: {reasons}; set the variable and restart "
                "the gateway, or change the key in config.json",
                provider=self.provider, model=model,
            )
        weights = [max(k.weight, 0.0) for k in usable]
        if sum(weights) <= 0:
            weights = [1.0] * len(usable)
        cum, total = [], 0.0
        for w in weights:
            total += w
            cum.append(total)
        entry = (tuple(usable), tuple(cum), total)
        if len(self._cache) < 10000:
            self._cache[model] = entry
        return entry

    def select(self, model: str, only: frozenset[str] | None = None) -> Key:
        keys, cum, total = self._eligible(model)
        if only is not None:
            return self._select_only(model, keys, only)
        if len(keys) == 1:
            return keys[0]
        r = self._rand.random() * total
        for k, c in zip(keys, cum, strict=True):
            if r < c:
                return k
        return keys[-1]

    def _select_only(self, model: str, keys: tuple[Key, ...], only: frozenset[str]) -> Key:
        """Only the keys a virtual key allows (by name or id), weighted as usual."""
        allowed = [k for k in keys if k.name in only or getattr(k, "id", None) in only]
        if not allowed:
            raise RequestError(
                f"no key of provider {self.provider!r} that this virtual key may use supports model {model!r}; "
                "add a key's name or id to the virtual key's provider_configs[].key_ids (or use [\"*\"])",
                status=403, provider=self.provider, model=model, type="key_blocked",
            )
        weights = [max(k.weight, 0.0) for k in allowed]
        if sum(weights) <= 0:
            weights = [1.0] * len(allowed)
        r = self._rand.random() * sum(weights)
        for k, w in zip(allowed, weights, strict=True):
            r -= w
            if r < 0:
                return k
        return allowed[-1]
