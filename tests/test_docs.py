"""Docs stay true: every provider the code knows is documented."""

from pathlib import Path

from bifrost.providers.compat_table import COMPAT_PROVIDERS

ROOT = Path(__file__).resolve().parents[1]


def test_every_compat_provider_is_in_the_providers_doc() -> None:
    doc = (ROOT / "docs" / "providers.md").read_text()
    missing = [n for n in COMPAT_PROVIDERS if f"| `{n}` |" not in doc]
    assert not missing, f"docs/providers.md lacks rows for {missing}"
