"""scripts/build_pricing.py: how litellm's price list becomes our catalog (on a small list in its format)."""

from __future__ import annotations

import importlib.util
import json
import zipfile
from pathlib import Path
from types import ModuleType

import msgspec

from bifrost.pricing.model import CatalogFile

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "build_pricing.py"
RAW = {
    "sample_spec": {"litellm_provider": "one of ...", "mode": "chat"},
    "gpt-4o": {"litellm_provider": "openai", "mode": "chat", "input_cost_per_token": 2.5e-06,
               "output_cost_per_token": 1e-05, "cache_read_input_token_cost": 1.25e-06, "supports_vision": True},
    "azure/gpt-4o": {"litellm_provider": "azure", "mode": "chat", "input_cost_per_token": 2.5e-06,
                     "output_cost_per_token": 1e-05},
    "gemini/gemini-x": {"litellm_provider": "gemini", "mode": "chat", "input_cost_per_token": 1e-06,
                        "output_cost_per_token": 2e-06, "input_cost_per_token_above_200k_tokens": 2e-06},
    "claude-latest": {"alias_of": "claude-9"},
    "claude-9": {"litellm_provider": "anthropic", "mode": "chat", "input_cost_per_token": 3e-06,
                 "output_cost_per_token": 1.5e-05, "cache_creation_input_token_cost": 3.75e-06},
    "bedrock/us-east-1/anthropic.claude-v2": {"litellm_provider": "bedrock", "mode": "chat",
                                              "input_cost_per_token": 1e-06, "output_cost_per_token": 1e-06},
    "dall-e-3": {"litellm_provider": "openai", "mode": "image_generation", "output_cost_per_image": 0.04},
    "somewhere/model": {"litellm_provider": "unsupported_cloud", "mode": "chat", "input_cost_per_token": 1e-06},
    "rerank-x": {"litellm_provider": "cohere", "mode": "rerank", "input_cost_per_token": 0.0,
                 "input_cost_per_query": 0.002},
    "vertex_ai/claude-9@2025": {"litellm_provider": "vertex_ai-anthropic_models", "mode": "chat",
                                "input_cost_per_token": 3e-06, "output_cost_per_token": 1.5e-05},
}


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_pricing", SCRIPT)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_build_keeps_supported_text_models_under_our_provider_names() -> None:
    models = _script().build(RAW)
    assert set(models) == {"openai/gpt-4o", "azure/gpt-4o", "gemini/gemini-x", "anthropic/claude-latest",
                           "anthropic/claude-9", "cohere/rerank-x", "vertex/claude-9@2025"}
    assert models["openai/gpt-4o"] == {"mode": "chat", "input_cost_per_token": 2.5e-06,
                                       "output_cost_per_token": 1e-05, "cache_read_input_token_cost": 1.25e-06}


def test_build_resolves_alias_of_entries_to_their_target_prices() -> None:
    models = _script().build(RAW)
    assert models["anthropic/claude-latest"] == models["anthropic/claude-9"]


def test_build_turns_above_n_tokens_fields_into_tiers_and_query_prices_into_per_request() -> None:
    models = _script().build(RAW)
    assert models["gemini/gemini-x"]["tiers"] == [{"above_tokens": 200_000, "input_cost_per_token": 2e-06}]
    assert models["cohere/rerank-x"]["input_cost_per_request"] == 0.002


def test_build_script_writes_a_catalog_the_gateway_loads(tmp_path: Path) -> None:
    wheel = tmp_path / "litellm-9.9.9-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        z.writestr("litellm/model_prices_and_context_window_backup.json", json.dumps(RAW))
    out = tmp_path / "catalog.json"
    import subprocess
    import sys

    r = subprocess.run([sys.executable, str(SCRIPT), str(wheel), "--out", str(out)], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    doc = msgspec.json.decode(out.read_bytes(), type=CatalogFile)
    assert doc.metadata["source_version"] == "9.9.9" and len(doc.models) == 7
