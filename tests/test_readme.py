"""The README's quick start is what CI runs: a missing install step must fail CI."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEST_COMMAND = "python3 -m venv .venv && .venv/bin/pip install -q -e '.[test]' && .venv/bin/python -m pytest"
SERVE_COMMAND = "python3 -m venv .venv && .venv/bin/pip install -q -e . && .venv/bin/bifrost serve"


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert TEST_COMMAND in readme
    assert TEST_COMMAND in ci.splitlines()
    assert "BIFROST_TEST_REQUIRE_SERVICES=1" in ci


def test_readme_quick_start_starts_the_gateway_with_the_default_app_dir() -> None:
    readme = (ROOT / "README.md").read_text()
    assert SERVE_COMMAND in readme
