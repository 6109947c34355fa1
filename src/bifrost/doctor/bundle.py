"""`bifrost support-bundle`: one tarball to attach to a bug report, with no secret in it.

Contents (under `bifrost-support-<time>/`): version.txt, config.json (as written, secrets masked;
`env.VAR` references kept since they are names), effective-config.json (resolved, secrets masked),
doctor.txt / doctor.json, logs.txt (recent lines of --log-file / BIFROST_LOG_FILE), metrics.txt
(a /metrics snapshot from --url) and env-names.txt (variable names only). As a last guard every
file is scanned for the values of secret-looking fields and variables, which are replaced too.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import re
import sys
import tarfile
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgspec

from bifrost import __version__
from bifrost.doctor.report import Report, render_json, render_table

MASK = "***masked***"
_SECRET_FIELD = re.compile(r"password|secret|token|api_?key|access_key|private_key|credential|encryption_key|"
                           r"authorization|headers|^value$|^key$|^dsn$", re.IGNORECASE)
_SECRET_ENV = re.compile(r"KEY|SECRET|TOKEN|PASSWORD|PASSWD|CREDENTIAL|DSN|AUTH", re.IGNORECASE)


def mask(value: Any, secrets: set[str], *, under_secret: bool = False, keep_env_refs: bool = True) -> Any:
    """A copy with every string under a secret-looking key replaced; the replaced values go into `secrets`."""
    if isinstance(value, dict):
        return {k: mask(v, secrets, under_secret=under_secret or bool(_SECRET_FIELD.search(str(k))),
                        keep_env_refs=keep_env_refs) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask(v, secrets, under_secret=under_secret, keep_env_refs=keep_env_refs) for v in value]
    if under_secret and isinstance(value, str) and value:
        if keep_env_refs and value.startswith("env."):
            return value
        secrets.add(value)
        return MASK
    return value


def _scrub(text: str, secrets: set[str]) -> str:
    for s in sorted(secrets, key=len, reverse=True):
        if len(s) >= 6:  # shorter strings ("true", "5432") would mangle the text without hiding anything
            text = text.replace(s, MASK)
    return text


def tail_lines(path: Path, n: int) -> str:
    with path.open("r", errors="replace") as f:
        return "".join(deque(f, maxlen=max(1, n)))


def _logs(log_file: str | None, n: int) -> str:
    if not log_file:
        return ("no log file given: pass --log-file or set BIFROST_LOG_FILE. The gateway logs to stdout; on "
                "Kubernetes collect them with: kubectl logs -l app.kubernetes.io/name=bifrost --tail=2000\n")
    try:
        return tail_lines(Path(log_file), n)
    except OSError as exc:
        return f"cannot read the log file {log_file}: {exc.strerror}\n"


def _metrics(url: str) -> str:
    target = url.rstrip("/") + "/metrics"
    try:
        with urllib.request.urlopen(target, timeout=5) as r:
            body: bytes = r.read()
            return body.decode(errors="replace")
    except urllib.error.HTTPError as exc:
        why = " (admin auth is on: /metrics needs credentials)" if exc.code == 401 else ""
        return f"no /metrics snapshot: {target} answered {exc.code}{why}\n"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        return f"no /metrics snapshot: {target} did not answer ({reason}); pass --url of the running gateway\n"


def _configs(app_dir: Path, env: Mapping[str, str], secrets: set[str]) -> tuple[str, str]:
    from bifrost.config.loader import ConfigInvalid, load_config

    path = app_dir / "config.json"
    try:
        raw = msgspec.json.decode(path.read_bytes()) if path.exists() else None
        written = (msgspec.json.format(msgspec.json.encode(mask(raw, secrets)).decode(), indent=2) if raw is not None
                   else f"no {path}: the gateway builds its config from the environment\n")
    except (msgspec.DecodeError, OSError) as exc:
        written = f"{path} cannot be read as JSON: {exc}\n"
    try:
        cfg = load_config(app_dir, env).config
    except ConfigInvalid as exc:
        return written, "config.json is invalid:\n" + "\n".join(exc.problems) + "\n"
    eff = msgspec.to_builtins(cfg)
    eff.pop("raw", None)
    effective = mask(eff, secrets, keep_env_refs=False)
    return written, msgspec.json.format(msgspec.json.encode(effective).decode(), indent=2)


def build_bundle(out: Path, app_dir: Path, report: Report, *, log_file: str | None, log_lines: int, url: str,
                 env: Mapping[str, str] | None = None) -> list[str]:
    """Write the tarball; returns the member names."""
    env = os.environ if env is None else env
    secrets = {v for k, v in env.items() if _SECRET_ENV.search(k) and len(v) >= 6}
    written, effective = _configs(app_dir, env, secrets)
    stamp = out.name.removesuffix(".tar.gz")
    files = {
        "version.txt": f"bifrost {__version__}\npython {sys.version.split()[0]}\nplatform {platform.platform()}\n"
                       f"created {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}\n",
        "config.json": written,
        "effective-config.json": effective,
        "doctor.txt": render_table(report) + "\n",
        "doctor.json": render_json(report) + "\n",
        "logs.txt": _logs(log_file, log_lines),
        "metrics.txt": _metrics(url),
        "env-names.txt": "\n".join(sorted(env)) + "\n",
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(out, "w:gz") as tar:
        for name, text in files.items():
            data = (text if name == "env-names.txt" else _scrub(text, secrets)).encode()
            info = tarfile.TarInfo(f"{stamp}/{name}")
            info.size, info.mtime, info.mode = len(data), int(time.time()), 0o644
            tar.addfile(info, io.BytesIO(data))
    return [f"{stamp}/{n}" for n in files]


def bundle_main(args: argparse.Namespace) -> int:
    from bifrost.doctor.run import report_for_args

    report = report_for_args(args)
    out = Path(args.output or f"bifrost-support-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.tar.gz")
    try:
        members = build_bundle(out, Path(args.app_dir).resolve(), report, log_file=args.log_file,
                               log_lines=args.log_lines, url=args.url)
    except OSError as exc:
        print(f"bifrost support-bundle: cannot write {out}: {exc.strerror}; choose another path with --output",
              file=sys.stderr)
        return 2
    if args.json:
        print(msgspec.json.encode({"bundle": str(out), "doctor_ok": report.ok, "files": members}).decode())
    else:
        print(f"wrote {out} ({len(members)} files); doctor: "
              + ("all checks passed" if report.ok else "some checks FAILED, see doctor.txt inside"))
    return 0 if report.ok else 1
