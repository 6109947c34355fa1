"""scripts/conformance.py renders cells that cannot exist as "n/a", distinct from cells not yet proven."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("conformance_script", ROOT / "scripts" / "conformance.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _row(doc: str, pair: str) -> list[str]:
    line = next(x for x in doc.splitlines() if x.startswith(f"| {pair} |"))
    return [c.strip() for c in line.strip("|").split("|")][1:]


def test_matrix_marks_impossible_cells_na_and_unproven_cells_empty() -> None:
    mod = _script()
    feats = list(mod.FEATURES)
    doc = mod.render([
        {"test": "t.py::test_a", "inbound": "anthropic", "provider": "gemini", "features": ["chat"],
         "outcome": "passed"},
        {"test": "t.py::test_b", "inbound": "cohere", "provider": "cohere", "features": ["rerank", "stream"],
         "outcome": "failed"},
    ])
    row = dict(zip(feats, _row(doc, "anthropic → gemini"), strict=True))
    assert row["chat"] == "✅" and row["stream"] == ""  # proven / not yet proven
    assert row["embeddings"] == "n/a" and row["rerank"] == "n/a"  # the Messages API has no embeddings
    row = dict(zip(feats, _row(doc, "cohere → cohere"), strict=True))
    assert row["rerank"] == "❌" and row["stream"] == "❌" and row["embeddings"] == ""
    assert "Legend:" in doc and "n/a the client API or the provider has no such operation" in doc
    assert "- anthropic → gemini, chat: `t.py::test_a`" in doc


def test_a_test_claiming_an_impossible_cell_is_refused() -> None:
    mod = _script()
    with pytest.raises(ValueError, match="cannot exist"):
        mod.render([{"test": "t.py::test_x", "inbound": "openai", "provider": "anthropic",
                     "features": ["embeddings"], "outcome": "passed"}])
