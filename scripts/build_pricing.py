"""Build src/bifrost/pricing/catalog.json from the open-source price list bundled in the litellm wheel.

The list is `litellm/model_prices_and_context_window_backup.json` inside the `litellm` wheel (MIT
licence). litellm is NOT a dependency: fetch the wheel once with the package manager and point this
script at it:

    pip download litellm --no-deps -d /tmp/litellm-wheel
    python scripts/build_pricing.py /tmp/litellm-wheel/litellm-*.whl

Kept: chat, completion, responses, embedding and rerank entries of the providers this gateway
supports, with the provider named as in our config (litellm's `together_ai` is our `together`, its
`vertex_ai-*` families are `vertex`, ...) and the model id as the provider's API takes it (litellm's
`azure/` / `gemini/` / `vertex_ai/` key prefixes removed). `alias_of` entries become copies of the
entry they point at (the data says the alias costs the same). Price tiers (`*_above_Nk_tokens`
fields and `tiered_pricing` ranges) become a `tiers` list. Everything else (capabilities, context
windows, service-tier and batch prices) is left out. The output is deterministic (sorted keys).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import zipfile
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parents[1] / "src" / "bifrost" / "pricing" / "catalog.json"
MEMBER = "litellm/model_prices_and_context_window_backup.json"
MODES = {"chat", "completion", "responses", "embedding", "rerank"}
# litellm_provider -> our provider name; None: a provider we do not support (entry dropped).
PROVIDERS = {
    "openai": "openai", "text-completion-openai": "openai", "anthropic": "anthropic", "azure": "azure",
    "azure_text": "azure", "bedrock": "bedrock", "bedrock_converse": "bedrock", "cohere": "cohere",
    "cohere_chat": "cohere", "gemini": "gemini", "groq": "groq", "deepseek": "deepseek", "xai": "xai",
    "openrouter": "openrouter", "cerebras": "cerebras", "fireworks_ai": "fireworks",
    "fireworks_ai-embedding-models": "fireworks", "perplexity": "perplexity", "nebius": "nebius",
    "together_ai": "together", "mistral": "mistral", "codestral": "mistral", "text-completion-codestral": "mistral",
    "sambanova": "sambanova", "novita": "novita", "hyperbolic": "hyperbolic", "deepinfra": "deepinfra",
    "huggingface": "huggingface", "opencode_go": "opencode-go", "opencode_zen": "opencode-zen",
    "ollama": "ollama", "parasail": "parasail",
}
# Key prefixes litellm puts before the provider's own model id.
PREFIXES = ("azure/", "azure_text/", "gemini/", "vertex_ai/", "bedrock/", "bedrock_converse/", "cohere/",
            "cohere_chat/", "groq/", "deepseek/", "xai/", "openrouter/", "cerebras/", "fireworks_ai/",
            "perplexity/", "nebius/", "together_ai/", "mistral/", "codestral/", "text-completion-codestral/",
            "sambanova/", "novita/", "hyperbolic/", "deepinfra/", "huggingface/", "opencode_go/", "opencode_zen/",
            "ollama/", "parasail/", "anthropic/", "openai/", "text-completion-openai/")
# Our field name -> litellm's (the same names Bifrost's datasheet and pricing overrides use).
BASE_FIELDS = ("input_cost_per_token", "output_cost_per_token", "cache_read_input_token_cost",
               "cache_creation_input_token_cost", "output_cost_per_reasoning_token", "input_cost_per_request",
               "input_cost_per_image", "output_cost_per_image")
TIER_FIELDS = ("input_cost_per_token", "output_cost_per_token", "cache_read_input_token_cost",
               "cache_creation_input_token_cost")
_ABOVE = re.compile(r"^(?P<field>.+)_above_(?P<n>\d+)k_tokens$")


def _model_id(key: str, provider: str) -> str | None:
    """The model id the provider's API takes, or None for keys we cannot use (region/commitment rows)."""
    for p in PREFIXES:
        if key.startswith(p):
            key = key[len(p):]
            break
    if provider == "bedrock" and "/" in key:
        return None  # bedrock/<region>/..., bedrock/*/1-month-commitment/...: not per-token on-demand prices
    return key


def _number(v: Any) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0 else None


def _tiers(e: dict[str, Any]) -> list[dict[str, Any]]:
    by_n: dict[int, dict[str, Any]] = {}
    for k, v in e.items():
        m = _ABOVE.match(k)
        if m and m["field"] in TIER_FIELDS and _number(v) is not None:
            by_n.setdefault(int(m["n"]) * 1000, {})[m["field"]] = _number(v)
    for t in e.get("tiered_pricing") or ():
        lo = (t.get("range") or [0])[0]
        vals = {f: _number(t[f]) for f in TIER_FIELDS if _number(t.get(f)) is not None}
        if lo and vals:
            by_n.setdefault(int(lo), {}).update(vals)
    return [{"above_tokens": n, **by_n[n]} for n in sorted(by_n)]


def _entry(e: dict[str, Any]) -> dict[str, Any] | None:
    out: dict[str, Any] = {"mode": e["mode"]}
    for f in BASE_FIELDS:
        if _number(e.get(f)) is not None:
            out[f] = _number(e[f])
    if "input_cost_per_request" not in out and _number(e.get("input_cost_per_query")) is not None:
        out["input_cost_per_request"] = _number(e["input_cost_per_query"])  # rerank: one query per request
    tiered = e.get("tiered_pricing")
    if tiered and "input_cost_per_token" not in out:
        first = tiered[0]  # the lowest range is the base price
        for f in TIER_FIELDS:
            if _number(first.get(f)) is not None:
                out[f] = _number(first[f])
    if "input_cost_per_token" not in out and "input_cost_per_request" not in out:
        return None
    tiers = _tiers(e)
    if tiers:
        out["tiers"] = tiers
    return out


def _provider_of(e: dict[str, Any]) -> str | None:
    lp = e.get("litellm_provider") or ""
    if lp.startswith("vertex_ai"):
        return "vertex"
    return PROVIDERS.get(lp)


def build(raw: dict[str, Any]) -> dict[str, dict[str, Any]]:
    models: dict[str, dict[str, Any]] = {}
    rank = {"chat": 0, "responses": 1, "completion": 2, "embedding": 3, "rerank": 4}
    for key, e in raw.items():
        if key == "sample_spec" or not isinstance(e, dict):
            continue
        if "alias_of" in e and isinstance(raw.get(e["alias_of"]), dict):
            e = {**raw[e["alias_of"]], **{k: v for k, v in e.items() if k != "alias_of"}}
        if e.get("mode") not in MODES:
            continue
        provider = _provider_of(e)
        if provider is None:
            continue
        model = _model_id(key, provider)
        entry = _entry(e)
        if model is None or entry is None:
            continue
        name = f"{provider}/{model}"
        old = models.get(name)
        # Two litellm keys can name one model (a prefixed and an unprefixed key): keep the chat one.
        if old is None or rank[entry["mode"]] < rank[old["mode"]]:
            models[name] = entry
    return dict(sorted(models.items()))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("wheel", type=Path, help="the litellm wheel (.whl) downloaded with `pip download`")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    m = re.match(r"litellm-([^-]+)-", args.wheel.name)
    if not m:
        print(f"{args.wheel}: not a litellm wheel (expected litellm-<version>-...whl)", file=sys.stderr)
        return 2
    with zipfile.ZipFile(args.wheel) as z:
        raw = json.loads(z.read(MEMBER))
    models = build(raw)
    doc = {
        "metadata": {
            "source": f"litellm {m[1]} (PyPI wheel), file {MEMBER}",
            "source_version": m[1],
            "licence": "MIT (litellm)",
            "generated_by": "scripts/build_pricing.py",
            "units": "USD per token (per request / per image where named)",
            "models": len(models),
        },
        "models": models,
    }
    args.out.write_text(json.dumps(doc, indent=1, sort_keys=False) + "\n")
    per: dict[str, int] = {}
    for name in models:
        per[name.split("/", 1)[0]] = per.get(name.split("/", 1)[0], 0) + 1
    print(f"wrote {args.out}: {len(models)} models from litellm {m[1]}")
    print("  " + ", ".join(f"{p} {n}" for p, n in sorted(per.items())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
