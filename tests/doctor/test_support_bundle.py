"""`bifrost support-bundle`: a tarball with everything a bug report needs and no secret in it.

Real parts: a running gateway (for the /metrics snapshot), the CLI in a subprocess, a real log file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

from bifrost import __version__
from conftest import Gateway, free_port

CLEAN_ENV = {k: v for k, v in os.environ.items() if not k.startswith(("BIFROST_", "OPENAI_"))}
LITERAL_KEY = "sk-literal-provider-secret-123"
PG_PASSWORD = "pg-literal-password-xyz"
ENV_SECRET = "env-secret-value-4567"
ENC_KEY = "encryption-passphrase-0123456789abcdef"


def _bundle(app: Path, out: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    r = subprocess.run([sys.executable, "-m", "bifrost", "support-bundle", "--app-dir", str(app), "--output",
                        str(out), *args], capture_output=True, text=True, timeout=120, env={**CLEAN_ENV, **(env or {})})
    return r.returncode, r.stdout, r.stderr


def _members(out: Path) -> dict[str, str]:
    with tarfile.open(out) as tar:
        return {m.name.split("/", 1)[1]: tar.extractfile(m).read().decode()  # type: ignore[union-attr]
                for m in tar.getmembers()}


def test_bundle_has_every_part_and_no_secret(tmp_path: Path) -> None:
    config = {
        "encryption_key": ENC_KEY,
        "providers": {"openai": {"keys": [{"name": "lit", "value": LITERAL_KEY, "models": []},
                                          {"name": "ref", "value": "env.DOCTOR_SECRET_TOKEN", "models": []}],
                                 "network_config": {"base_url": f"http://127.0.0.1:{free_port()}"}}},
        "config_store": {"enabled": False, "type": "postgres", "config": {
            "host": "127.0.0.1", "port": "5432", "user": "bifrost", "password": PG_PASSWORD, "db_name": "bifrost"}},
        "logs_store": {"enabled": False},
    }
    env = {"DOCTOR_SECRET_TOKEN": ENV_SECRET}
    gw = Gateway(tmp_path, config, env=env)
    try:
        log = tmp_path / "gateway.log"
        log.write_text("".join(f"line {i}\n" for i in range(5000)) + f"debug: Authorization: Bearer {LITERAL_KEY}\n")
        out = tmp_path / "bundle.tar.gz"
        rc, stdout, stderr = _bundle(gw.app_dir, out, "--json", "--log-file", str(log), "--url", gw.url,
                                     "--log-lines", "100", env=env)
    finally:
        gw.stop()
    assert rc == 0, stdout + stderr
    summary = json.loads(stdout)
    assert summary["bundle"] == str(out) and summary["doctor_ok"] is True
    files = _members(out)
    assert set(files) == {"version.txt", "config.json", "effective-config.json", "doctor.txt", "doctor.json",
                          "logs.txt", "metrics.txt", "env-names.txt"}
    assert files["version.txt"].startswith(f"bifrost {__version__}\n")
    written = json.loads(files["config.json"])
    assert written["providers"]["openai"]["keys"][0]["value"] == "***masked***"
    assert written["providers"]["openai"]["keys"][1]["value"] == "env.DOCTOR_SECRET_TOKEN"  # a name, kept
    assert written["config_store"]["config"]["password"] == "***masked***"
    assert written["encryption_key"] == "***masked***"
    effective = json.loads(files["effective-config.json"])
    assert effective["providers"]["openai"]["keys"][1]["value"] == "***masked***"
    assert effective["encryption_key"] == "***masked***"
    assert json.loads(files["doctor.json"])["ok"] is True and "STATUS" in files["doctor.txt"]
    log_lines = files["logs.txt"].splitlines()
    assert len(log_lines) == 100 and log_lines[0] == "line 4901"
    assert log_lines[-1] == "debug: Authorization: Bearer ***masked***"
    assert "http_requests_total" in files["metrics.txt"]
    names = files["env-names.txt"].splitlines()
    assert "DOCTOR_SECRET_TOKEN" in names and "PATH" in names
    everything = "\n".join(files.values())
    for secret in (LITERAL_KEY, PG_PASSWORD, ENV_SECRET, ENC_KEY):
        assert secret not in everything, secret


def test_bundle_without_log_file_or_gateway_says_so_and_exits_1_when_doctor_fails(tmp_path: Path) -> None:
    app = tmp_path / "app"
    app.mkdir()
    (app / "config.json").write_text(json.dumps({"providers": {"openai": {"keys": [
        {"name": "k", "value": "env.DOCTOR_UNSET_KEY", "models": []}]}}}))
    out = tmp_path / "nested" / "b.tar.gz"
    url = f"http://127.0.0.1:{free_port()}"
    rc, stdout, _ = _bundle(app, out, "--url", url)
    assert rc == 1 and stdout.startswith(f"wrote {out} (8 files); doctor: some checks FAILED")
    files = _members(out)
    assert files["logs.txt"].startswith("no log file given: pass --log-file or set BIFROST_LOG_FILE")
    assert "kubectl logs -l app.kubernetes.io/name=bifrost" in files["logs.txt"]
    assert files["metrics.txt"].startswith(f"no /metrics snapshot: {url}/metrics did not answer")
    assert json.loads(files["doctor.json"])["ok"] is False
