"""Imports flow one way: schemas <- providers <- engine <- plugins <- server (docs/DESIGN)."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "bifrost"

# package -> bifrost packages it must never import
FORBIDDEN = {
    "schemas": {"providers", "engine", "plugins", "server", "config", "mock", "cli"},
    "providers": {"engine", "plugins", "server", "mock", "cli"},
    "engine": {"plugins", "server", "mock", "cli"},
    "plugins": {"server", "mock", "cli"},
    "governance": {"server", "mock", "cli"},
    "mock": {"engine", "plugins", "server", "providers", "config"},
    "pricing": {"providers", "engine", "plugins", "server", "stores", "config", "mock", "cli"},
    "metrics": {"schemas", "providers", "engine", "plugins", "server", "config", "mock"},
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("bifrost."):
            out.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("bifrost."):
                    out.add(a.name.split(".")[1])
    return out


def test_imports_flow_one_way() -> None:
    bad = []
    for py in SRC.rglob("*.py"):
        rel = py.relative_to(SRC)
        pkg = rel.parts[0].removesuffix(".py")
        for imported in _imports(py) & FORBIDDEN.get(pkg, set()):
            bad.append(f"{rel} imports bifrost.{imported}")
    assert not bad, "layering violations:\n" + "\n".join(bad)
