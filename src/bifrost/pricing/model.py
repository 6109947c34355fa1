"""The price shapes: what a catalog file holds (`Entry`, in the field names Bifrost's datasheet and
litellm's price list use) and what a lookup returns (`ModelPrice`, every rate resolved).

All prices are USD per token unless the name says otherwise (per request, per image).
"""

from __future__ import annotations

from typing import Annotated

import msgspec

Rate = Annotated[float, msgspec.Meta(ge=0)]


class TierEntry(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """Rates that replace the base ones when a request's total tokens exceed `above_tokens`."""

    above_tokens: Annotated[int, msgspec.Meta(ge=0)]
    input_cost_per_token: Rate | None = None
    output_cost_per_token: Rate | None = None
    cache_read_input_token_cost: Rate | None = None
    cache_creation_input_token_cost: Rate | None = None


class Entry(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """One model in a catalog file; in an override file every field is optional (a patch)."""

    mode: str | None = None
    input_cost_per_token: Rate | None = None
    output_cost_per_token: Rate | None = None
    cache_read_input_token_cost: Rate | None = None
    cache_creation_input_token_cost: Rate | None = None
    output_cost_per_reasoning_token: Rate | None = None
    input_cost_per_request: Rate | None = None
    input_cost_per_image: Rate | None = None
    output_cost_per_image: Rate | None = None
    tiers: list[TierEntry] | None = None


class CatalogFile(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A catalog or override file: `{"metadata": {...}, "models": {"<provider>/<model>": Entry}}`."""

    models: dict[str, Entry]
    metadata: dict[str, object] = msgspec.field(default_factory=dict)


def merge(base: Entry | None, patch: Entry) -> Entry:
    """`patch`'s set fields over `base` (Bifrost's pricing_patch semantics: unset means unchanged)."""
    if base is None:
        return patch
    changes = {f: getattr(patch, f) for f in patch.__struct_fields__ if getattr(patch, f) is not None}
    return msgspec.structs.replace(base, **changes)


class Tier(msgspec.Struct, frozen=True):
    """Resolved rates above a token threshold (unset tier fields take the base model's rate)."""

    above_tokens: int
    input: float
    output: float
    cache_read: float
    cache_write: float


class ModelPrice(msgspec.Struct, frozen=True):
    """A model's prices, resolved: cache reads and writes without their own price cost the input rate."""

    provider: str
    model: str
    mode: str
    input: float
    output: float
    cache_read: float
    cache_write: float
    # Set only where the list prices reasoning tokens apart; otherwise they are output tokens.
    reasoning: float | None = None
    per_request: float | None = None
    input_per_image: float | None = None
    output_per_image: float | None = None
    # Highest threshold first, so the first tier a request exceeds is the one that applies.
    tiers: tuple[Tier, ...] = ()


def compile_entry(provider: str, model: str, e: Entry) -> ModelPrice:
    inp = e.input_cost_per_token or 0.0
    out = e.output_cost_per_token or 0.0
    read = e.cache_read_input_token_cost if e.cache_read_input_token_cost is not None else inp
    write = e.cache_creation_input_token_cost if e.cache_creation_input_token_cost is not None else inp
    tiers = []
    for t in sorted(e.tiers or (), key=lambda t: -t.above_tokens):
        t_in = t.input_cost_per_token if t.input_cost_per_token is not None else inp
        tiers.append(Tier(
            above_tokens=t.above_tokens, input=t_in,
            output=t.output_cost_per_token if t.output_cost_per_token is not None else out,
            # As Bifrost: a tier without its own cache price keeps the base cache price, and a model
            # without any cache price bills cached tokens at the (tier's) input rate.
            cache_read=_first(t.cache_read_input_token_cost, e.cache_read_input_token_cost, t_in),
            cache_write=_first(t.cache_creation_input_token_cost, e.cache_creation_input_token_cost, t_in),
        ))
    return ModelPrice(provider=provider, model=model, mode=e.mode or "chat", input=inp, output=out,
                      cache_read=read, cache_write=write, reasoning=e.output_cost_per_reasoning_token,
                      per_request=e.input_cost_per_request, input_per_image=e.input_cost_per_image,
                      output_per_image=e.output_cost_per_image, tiers=tuple(tiers))


def _first(*vals: float | None) -> float:
    for v in vals:
        if v is not None:
            return v
    return 0.0
