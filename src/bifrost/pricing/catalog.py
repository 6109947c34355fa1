"""The pricing catalog: model prices by provider and model, and the cost of a request's usage.

`Catalog.load()` reads the catalog shipped with the package (catalog.json, built by
scripts/build_pricing.py from an open-source price list) and, optionally, a local override file in
the same format whose entries patch or add models. Nothing is fetched over the network.

Lookups normalise what clients send (see `_candidates`): `provider/model` ids, Bedrock regional and
global inference-profile prefixes and ARNs, Gemini's `models/` prefix, Vertex `publisher/model`
ids; Gemini falls back to Vertex prices (as Bifrost does). Dated versions are never guessed from a
base name: the list names each version it prices, and its `alias_of` entries are resolved when the
catalog is built. Results are memoised per catalog, so a request's lookup is one dict probe.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from importlib import resources
from pathlib import Path
from typing import TypeVar

import msgspec

from bifrost.pricing.model import CatalogFile, Entry, ModelPrice, compile_entry, merge
from bifrost.schemas.inference import Usage

SHIPPED = "catalog.json"
MEMO_MAX = 8192
# Bedrock cross-region inference profiles put a geography before the model id.
_BEDROCK_GEOS = ("us.", "eu.", "apac.", "global.", "us-gov.", "jp.", "au.", "ca.", "ap.")


_F = TypeVar("_F")


class PricingError(ValueError):
    """A price file that cannot be used; the message names the file, the problem and the fix."""


def _decode_file(data: bytes, where: str, shape: type[_F]) -> _F:
    try:
        return msgspec.json.decode(data, type=shape)
    except msgspec.ValidationError as exc:
        top = msgspec.json.decode(data)
        if isinstance(top, dict) and "models" not in top:
            raise PricingError(f'{where}: no "models" object at the top level; the file must look like '
                               '{"models": {"openai/gpt-4o": {"input_cost_per_token": 0.0000025}}}') from None
        raise PricingError(f"{where}: {exc}; fix the entry (fields and units are listed in docs/pricing.md)") from None
    except msgspec.DecodeError as exc:
        raise PricingError(f"{where}: not valid JSON ({exc}); fix the syntax") from None


class _LooseFile(msgspec.Struct):
    models: dict[str, msgspec.Raw]
    metadata: dict[str, object] = msgspec.field(default_factory=dict)


def _decode_override(data: bytes, where: str) -> dict[str, Entry]:
    """Entry by entry, so a problem names the model it is in."""
    loose = _decode_file(data, where, _LooseFile)
    out: dict[str, Entry] = {}
    for name, raw in loose.models.items():
        try:
            out[name] = msgspec.json.decode(raw, type=Entry)
        except msgspec.ValidationError as exc:
            msg = str(exc).replace("`$.", "`").replace(" - at `$`", "")
            raise PricingError(f'{where}: models["{name}"]: {msg}; fix the entry (fields and units are '
                               "listed in docs/pricing.md)") from None
    return out


class Catalog:
    """Model prices (USD per token) by (provider, model); see the module docstring for lookups."""

    def __init__(self, entries: Mapping[str, Entry], metadata: Mapping[str, object] | None = None,
                 override_path: Path | None = None) -> None:
        self.metadata = dict(metadata or {})
        self.override_path = override_path
        self._prices: dict[tuple[str, str], ModelPrice] = {}
        for name, e in entries.items():
            provider, _, model = name.partition("/")
            self._prices[(provider, model)] = compile_entry(provider, model, e)
        self._provider_alias: dict[str, str] = {}
        self._model_alias: dict[tuple[str, str], str] = {}
        self._memo: dict[tuple[str, str], ModelPrice | None] = {}

    @classmethod
    def load(cls, override_path: Path | None = None) -> Catalog:
        """The shipped catalog, patched by `override_path` when given (PricingError when it is unusable)."""
        shipped = _decode_file(resources.files("bifrost.pricing").joinpath(SHIPPED).read_bytes(),
                               "the shipped pricing catalog", CatalogFile)
        entries = dict(shipped.models)
        if override_path is not None:
            where = f"pricing override file {override_path}"
            try:
                data = Path(override_path).read_bytes()
            except OSError as exc:
                raise PricingError(f"{where}: cannot be read ({exc.strerror or exc}); check the path and its "
                                   "permissions (set by BIFROST_PRICING_FILE or framework.pricing.pricing_url)"
                                   ) from None
            for name, e in _decode_override(data, where).items():
                _check_override(where, name, e, entries.get(name))
                entries[name] = merge(entries.get(name), e)
        return cls(entries, shipped.metadata, override_path)

    # --- configuration from the gateway's config (Azure deployments, custom providers) -------

    def alias_provider(self, name: str, base: str) -> None:
        """Price a custom provider (e.g. `backup` with base_provider_type openai) as its base provider."""
        if name != base:
            self._provider_alias[name] = base
            self._memo.clear()

    def alias_models(self, provider: str, aliases: Mapping[str, str]) -> None:
        """Price `alias` as `model` for `provider` (an Azure deployment name -> the model it serves)."""
        for alias, model in aliases.items():
            if alias != model:
                self._model_alias[(provider, alias)] = model
        self._memo.clear()

    # --- lookups -----------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._prices)

    def __iter__(self) -> Iterator[ModelPrice]:
        return iter(self._prices.values())

    def price(self, provider: str, model: str) -> ModelPrice | None:
        """The model's prices, or None when the catalog does not know it."""
        key = (provider, model)
        memo = self._memo
        if key in memo:
            return memo[key]
        found = self._resolve(provider, model)
        if len(memo) >= MEMO_MAX:  # bounded: arbitrary client-sent model names cannot grow it forever
            memo.clear()
        memo[key] = found
        return found

    def _resolve(self, provider: str, model: str) -> ModelPrice | None:
        if not provider and "/" in model:
            provider, _, model = model.partition("/")
        # The provider's own entries (an override can price a custom provider), then its base
        # provider's; Gemini then tries Vertex, as Bifrost does.
        providers = [provider]
        base = self._provider_alias.get(provider)
        if base is not None:
            providers.append(base)
        if providers[-1] == "gemini":
            providers.append("vertex")
        for p in providers:
            for m in _candidates(p, model, self._model_alias.get((p, model))):
                hit = self._prices.get((p, m)) or self._prices.get((p, m.lower()))
                if hit is not None:
                    return hit
        return None

    def cost(self, provider: str, model: str, usage: Usage | None) -> float | None:
        """USD for one request's usage (None when the model is unknown), with Bifrost's formula:
        cached reads at the cache-read price and cache writes at the cache-write price, neither again
        as input; reasoning tokens are output tokens (at their own price only where one is listed);
        the rates of the highest tier the request's total tokens exceed; plus any per-request price."""
        p = self.price(provider, model)
        if p is None:
            return None
        return price_usage(p, usage)


def price_usage(p: ModelPrice, usage: Usage | None) -> float:
    if usage is None:
        return p.per_request or 0.0
    prompt = max(usage.input_tokens, 0)
    completion = max(usage.output_tokens, 0)
    # Clamped so a malformed provider payload can never make a cost negative (as Bifrost does).
    read = min(max(usage.cached_read_tokens, 0), prompt)
    write = min(max(usage.cache_write_tokens, 0), prompt - read)
    rate_in, rate_out, rate_read, rate_write = p.input, p.output, p.cache_read, p.cache_write
    total = prompt + completion
    for t in p.tiers:
        if total > t.above_tokens:
            rate_in, rate_out, rate_read, rate_write = t.input, t.output, t.cache_read, t.cache_write
            break
    cost = (prompt - read - write) * rate_in + read * rate_read + write * rate_write
    if p.reasoning is not None and usage.reasoning_tokens > 0:
        reasoning = min(usage.reasoning_tokens, completion)
        cost += (completion - reasoning) * rate_out + reasoning * p.reasoning
    else:
        cost += completion * rate_out
    return cost + (p.per_request or 0.0)


def _candidates(provider: str, model: str, alias: str | None) -> Iterator[str]:
    """Model ids to try, most specific first (see the module docstring)."""
    yield model
    if alias:
        yield alias
    if "/" in model:
        head, _, rest = model.partition("/")
        if head == provider or provider == "vertex":
            yield rest  # "openai/gpt-4o" sent to openai; "anthropic/claude-..." publisher ids on Vertex
    if provider == "gemini" and model.startswith("models/"):
        yield model[len("models/"):]
    if provider == "bedrock":
        m = model.rsplit("/", 1)[-1] if model.startswith("arn:") else model
        if m != model:
            yield m
        for geo in _BEDROCK_GEOS:
            if m.startswith(geo):
                m = m[len(geo):]
                yield m
                break
        if "claude" in m and not m.startswith("anthropic."):
            yield "anthropic." + m


def _check_override(where: str, name: str, e: Entry, base: Entry | None) -> None:
    provider, sep, model = name.partition("/")
    if not sep or not provider or not model:
        raise PricingError(f'{where}: models["{name}"]: expected a "<provider>/<model>" key such as '
                           '"openai/gpt-4o"; rename the entry')
    if base is None and e.input_cost_per_token is None and e.input_cost_per_request is None:
        raise PricingError(f'{where}: models["{name}"]: a model the shipped catalog does not list needs '
                           'input_cost_per_token (USD per token, e.g. 0.0000025 for $2.50 per million); add it')
