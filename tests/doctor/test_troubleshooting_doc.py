"""docs/troubleshooting.md stays true: every doctor line it shows uses a check the doctor has, and every
failure mode issue #6 lists has its section."""

from __future__ import annotations

import re
from pathlib import Path

from bifrost.stores.registry import STORES

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "troubleshooting.md").read_text()


def _check_name_patterns() -> list[re.Pattern[str]]:
    """Every check name the doctor's source can produce, as regexes (f-string fields become wildcards)."""
    pats = []
    for src in (ROOT / "src" / "bifrost" / "doctor").glob("*.py"):
        for is_f, text in re.findall(r'name\s*=\s*(f?)"([^"]+)"', src.read_text()):
            variants = [text.replace("{entry.label}", e.label) for e in STORES] if "{entry.label}" in text else [text]
            for v in variants:
                rx = re.escape(v)
                if is_f:
                    rx = re.sub(r"\\\{[^}]*\\\}", r"\\S+", rx)
                pats.append(re.compile(rx + r"\Z"))
    return pats


def _doctor_lines() -> list[tuple[str, str]]:
    lines, in_block = [], False
    for line in DOC.splitlines():
        if line.startswith("```"):
            in_block = not in_block
            continue
        m = re.match(r"(PASS|FAIL|WARN|SKIP) {2,}(.+?) {2,}\S", line) if in_block else None
        if m:
            lines.append((m.group(1), m.group(2)))
    return lines


def test_every_doctor_line_in_the_guide_names_a_real_check() -> None:
    pats = _check_name_patterns()
    cited = _doctor_lines()
    assert len(cited) >= 12, cited
    unknown = [name for _, name in cited if not any(p.match(name) for p in pats)]
    assert not unknown, f"docs/troubleshooting.md cites doctor checks that do not exist: {unknown}"


def test_every_failure_mode_of_the_guide_has_a_section() -> None:
    headings = "\n".join(line for line in DOC.splitlines() if line.startswith("## ")).lower()
    modes = ["imagepullbackoff", "pvc pending", "configmap and secret", "crashloopbackoff", "postgresql unreachable",
             "wrong password", "ssl mismatch", "database missing", "not utf8", "migrations", "ingress",
             "provider keys", "encryption key", "memory", "cpu", "hpa", "scale-down", "statefulset migration",
             "cluster peers", "app dir not writable", "disk full", "/health"]
    missing = [m for m in modes if m not in headings]
    assert not missing, missing


def test_the_guide_uses_the_charts_names() -> None:
    for name in ("app.kubernetes.io/name=bifrost", "app.kubernetes.io/instance=bifrost", "configmap bifrost-config",
                 "secret bifrost-encryption", "encryption-key", "bifrost-headless", "7946", "svc/bifrost 8080:8080",
                 "deploy/bifrost -- bifrost doctor"):
        assert name in DOC, name
