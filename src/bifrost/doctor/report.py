"""The doctor's report: one row per check (pass / fail / warn / skip), a fix for each failure, text or JSON."""

from __future__ import annotations

import msgspec

PASS, FAIL, WARN, SKIP = "pass", "fail", "warn", "skip"


class Check(msgspec.Struct, kw_only=True):
    name: str
    status: str  # pass | fail | warn | skip
    detail: str
    fix: str = ""


class Report(msgspec.Struct, kw_only=True):
    version: str
    app_dir: str
    ok: bool
    checks: list[Check]


def make_report(version: str, app_dir: str, checks: list[Check]) -> Report:
    return Report(version=version, app_dir=app_dir, ok=not any(c.status == FAIL for c in checks), checks=checks)


def render_json(report: Report) -> str:
    return msgspec.json.format(msgspec.json.encode(report).decode(), indent=2)


def render_table(report: Report) -> str:
    """A fixed-width table, then the fixes numbered by the failing (or warning) rows they belong to."""
    width = max((len(c.name) for c in report.checks), default=10)
    lines = [f"bifrost doctor {report.version} (app dir {report.app_dir})", "",
             f"{'STATUS':6}  {'CHECK':{width}}  DETAIL"]
    fixes: list[str] = []
    for c in report.checks:
        detail = c.detail
        if c.fix and c.status in (FAIL, WARN):
            fixes.append(f"[{len(fixes) + 1}] {c.name}: {c.fix}")
            detail += f"  (fix [{len(fixes)}])"
        lines.append(f"{c.status.upper():6}  {c.name:{width}}  {detail}")
    if fixes:
        lines += ["", "How to fix:", *fixes]
    failed = sum(c.status == FAIL for c in report.checks)
    lines += ["", f"{failed} check(s) failed" if failed else "all checks passed"]
    return "\n".join(lines)
