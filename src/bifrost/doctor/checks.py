"""The checks that need no database: config.json, env.VAR references, the app dir, encryption key.

Each returns `Check` rows; none raises on bad input (a broken set-up is what the doctor is for).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import msgspec

from bifrost.config.loader import ConfigInvalid, LoadResult, load_config
from bifrost.config.model import GatewayConfig
from bifrost.doctor.report import FAIL, PASS, SKIP, WARN, Check

APP_DIR_FIX = ("make it writable by UID {uid} (Kubernetes: set podSecurityContext.fsGroup to the pod's group, "
               "e.g. 1000, so the volume is group-writable; OpenShift: leave fsGroup to the SCC) or point "
               "--app-dir / BIFROST_APP_DIR at a writable directory")


def check_config(app_dir: Path, env: Mapping[str, str]) -> tuple[Check, LoadResult | None]:
    path = app_dir / "config.json"
    try:
        loaded = load_config(app_dir, env)
    except ConfigInvalid as exc:
        detail = f"{exc.path}: {len(exc.problems)} problem(s): " + "; ".join(exc.problems)
        return Check(name="config.json", status=FAIL, detail=detail,
                     fix=f"edit {exc.path} (Helm: the bifrost.* values rendered into the ConfigMap <fullname>-config) "
                         "and fix each problem listed; `bifrost doctor` re-checks it"), None
    if not path.exists():
        return Check(name="config.json", status=PASS,
                     detail=f"no {path}: providers from the environment ({loaded.notices[0].split(': ', 1)[-1]})"
                     ), loaded
    extra = f", {len(loaded.warnings)} warning(s): " + "; ".join(loaded.warnings) if loaded.warnings else ""
    return Check(name="config.json", status=PASS,
                 detail=f"{path} parses and validates ({len(loaded.config.providers)} provider(s){extra})"), loaded


def env_references(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every `env.NAME` string in the raw config, with its JSON path (`providers.openai.keys[0].value`)."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from env_references(v, f"{path}.{k}" if path else str(k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from env_references(v, f"{path}[{i}]")
    elif isinstance(value, str) and value.startswith("env.") and len(value) > 4:
        yield path, value[4:]


def check_env_refs(app_dir: Path, env: Mapping[str, str]) -> Check:
    path = app_dir / "config.json"
    try:
        raw = msgspec.json.decode(path.read_bytes()) if path.exists() else {}
    except (msgspec.DecodeError, OSError):
        return Check(name="env.VAR references", status=SKIP, detail="skipped: config.json cannot be read")
    refs = list(env_references(raw))
    missing = [(p, v) for p, v in refs if v not in env]
    if not refs:
        return Check(name="env.VAR references", status=PASS, detail="config.json has no env.VAR references")
    if not missing:
        return Check(name="env.VAR references", status=PASS, detail=f"{len(refs)} reference(s), all set")
    names = sorted({v for _, v in missing})
    return Check(name="env.VAR references", status=FAIL,
                 detail="; ".join(f"env.{v}: not set ({p})" for p, v in missing),
                 fix=f"set {', '.join(names)} in the gateway's environment (Helm: bifrost.providerSecrets.<provider>"
                     " {existingSecret, key, envVar}, or extraEnv / envFrom; then restart the pods)")


def check_app_dir(app_dir: Path, min_free_mb: int) -> list[Check]:
    """Writable by a real write (os.access lies for read-only mounts and root), and free space."""
    uid = os.getuid()
    if not app_dir.is_dir():
        what = "is a file, not a directory" if app_dir.exists() else "does not exist"
        return [Check(name="app dir writable", status=FAIL, detail=f"{app_dir} {what}",
                      fix=APP_DIR_FIX.format(uid=uid) + ("" if app_dir.exists() else "; `bifrost serve` creates it "
                                                         "if its parent is writable"))]
    try:
        with tempfile.NamedTemporaryFile(dir=app_dir, prefix=".bifrost-doctor-"):
            pass
    except OSError as exc:
        return [Check(name="app dir writable", status=FAIL,
                      detail=f"cannot create a file in {app_dir} as UID {uid}: {exc.strerror}",
                      fix=APP_DIR_FIX.format(uid=uid))]
    rows = [Check(name="app dir writable", status=PASS, detail=f"{app_dir} is writable by UID {uid}")]
    usage = shutil.disk_usage(app_dir)
    free_mb = usage.free // (1024 * 1024)
    pct = 100 * usage.free / usage.total if usage.total else 0.0
    if free_mb < min_free_mb:
        rows.append(Check(name="app dir free space", status=FAIL,
                          detail=f"{free_mb} MiB free ({pct:.0f}%), below {min_free_mb} MiB",
                          fix="free space or grow the volume (Helm: storage.persistence.size; a PVC can be "
                              "expanded if its StorageClass allows it); lower log_retention_days"))
    else:
        rows.append(Check(name="app dir free space", status=PASS, detail=f"{free_mb} MiB free ({pct:.0f}%)"))
    return rows


def check_encryption_key(cfg: GatewayConfig, raw: Mapping[str, Any]) -> Check:
    if cfg.encryption_key:
        src = "encryption_key in config.json" if raw.get("encryption_key") else "BIFROST_ENCRYPTION_KEY"
        note = "" if len(cfg.encryption_key.encode()) >= 16 else " (shorter than 16 bytes: use a longer passphrase)"
        return Check(name="encryption key", status=WARN if note else PASS,
                     detail=f"present (from {src}){note}",
                     fix="use a random passphrase of 32+ characters; only before any secret is stored with the key"
                         if note else "")
    return Check(name="encryption key", status=WARN,
                 detail="not set: secrets are stored in plaintext in the config store",
                 fix="set BIFROST_ENCRYPTION_KEY (Helm: bifrost.encryptionKeySecret {name, key: encryption-key}); "
                     "keep it stable: a changed key cannot read what the old one encrypted")


async def check_key_opens_store(cfg: GatewayConfig, app_dir: Path) -> Check:
    """Open the config store with the configured key (or none): encrypted rows must decrypt."""
    name = "encryption key opens the config store"
    if not cfg.config_store.enabled:
        return Check(name=name, status=SKIP, detail="skipped: config store disabled")
    from bifrost.stores.config import NotMigrated, verify_key
    from bifrost.stores.db import DatabaseError

    try:
        await verify_key(cfg, app_dir)  # read-only: the doctor never migrates, encrypts or records
    except DatabaseError:
        return Check(name=name, status=SKIP, detail="skipped: the config store's database is not usable (see above)")
    except NotMigrated as exc:
        return Check(name=name, status=SKIP, detail=f"skipped: {exc}; run `bifrost migrate` (see above)")
    except Exception as exc:  # EncryptionError and anything else opening it: the message is the finding
        return Check(name=name, status=FAIL, detail=str(exc) or type(exc).__name__,
                     fix="use the key the store was encrypted with (BIFROST_ENCRYPTION_KEY / Helm "
                         "bifrost.encryptionKeySecret); the message above says whether it is missing or wrong")
    return Check(name=name, status=PASS, detail="opened; stored secrets decrypt with this key")
