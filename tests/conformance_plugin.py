"""Pytest plugin: collect the conformance matrix from the tests that prove each cell.

A test claims cells with `@pytest.mark.conformance(inbound, provider, feature, ...)`:
`inbound` is the client API (openai, anthropic, genai, bedrock, cohere, azure), `provider` the
upstream wire format, and each feature one of FEATURES. With BIFROST_CONFORMANCE_OUT=path set,
the outcome of every claiming test is written there as JSON at the end of the session;
`scripts/conformance.py` turns it into docs/conformance.md.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

FEATURES = ("chat", "stream", "tools", "streamed tools", "embeddings", "images in", "usage", "errors", "rerank")
_results: list[dict[str, Any]] = []


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "conformance(inbound, provider, *features): conformance matrix cells")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when != "call" and not (report.when == "setup" and report.outcome != "passed"):
        return
    marks = getattr(report, "conformance_marks", None)
    if not marks:
        return
    for inbound, provider, features in marks:
        _results.append({"test": report.nodeid, "inbound": inbound, "provider": provider,
                         "features": list(features), "outcome": report.outcome})


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: Any) -> Any:
    outcome = yield
    report = outcome.get_result()
    marks = []
    for m in item.iter_markers("conformance"):
        inbound, provider, *features = m.args
        unknown = [f for f in features if f not in FEATURES]
        if unknown:
            raise pytest.UsageError(f"{item.nodeid}: unknown conformance features {unknown}; use {FEATURES}")
        marks.append((inbound, provider, tuple(features)))
    report.conformance_marks = marks


def pytest_sessionfinish(session: pytest.Session) -> None:
    out = os.environ.get("BIFROST_CONFORMANCE_OUT")
    if out:
        with open(out, "w") as f:
            json.dump(_results, f, indent=1)
