"""`bifrost doctor` against healthy and broken set-ups, each built for real.

Real parts: the `bifrost` CLI in a subprocess, the local PostgreSQL (a UTF8 and a SQL_ASCII database
made per test, a closed port for "PostgreSQL down"), a real `bifrost mock` provider for
--probe-providers (one key it accepts, one it rejects), and a read-only bind mount (as root) for an
unwritable app dir.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bifrost.doctor.run import run_checks
from bifrost.stores import registry
from bifrost.stores.registry import StoreEntry, migrate_all
from conftest import Mock
from teststore import make_store_pkg

CLEAN_ENV = {k: v for k, v in os.environ.items() if not k.startswith(("BIFROST_", "OPENAI_"))}


def _doctor(app: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, dict[str, Any], str]:
    r = subprocess.run([sys.executable, "-m", "bifrost", "doctor", "--app-dir", str(app), "--json", *args],
                       capture_output=True, text=True, timeout=120, env={**CLEAN_ENV, **(env or {})})
    return r.returncode, json.loads(r.stdout), r.stderr


def _rows(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in report["checks"]}


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _write(app: Path, cfg: dict[str, Any]) -> Path:
    app.mkdir(parents=True, exist_ok=True)
    (app / "config.json").write_text(json.dumps(cfg))
    return app


def _pg_store(pg: Any, db: str, **extra: Any) -> dict[str, Any]:
    return {"enabled": True, "type": "postgres", "config": pg.store_config(db, **extra)}


@pytest.fixture(scope="module")
def rejecting_mock(tmp_module: Path) -> Iterator[Mock]:
    m = Mock(tmp_module, "--require-key", "sk-good")
    yield m
    m.stop()


def test_healthy_setup_passes_every_check_and_exits_0(tmp_path: Path, pg: Any, pg_db: str,
                                                      rejecting_mock: Mock) -> None:
    app = _write(tmp_path / "app", {
        "providers": {"openai": {"keys": [{"name": "good", "value": "env.DOCTOR_OPENAI_KEY", "models": []}],
                                 "network_config": {"base_url": rejecting_mock.url}}},
        "config_store": _pg_store(pg, pg_db), "logs_store": _pg_store(pg, pg_db),
    })
    # A healthy deployment has been migrated (serve does it at start; here `bifrost migrate` does).
    env = {**CLEAN_ENV, "DOCTOR_OPENAI_KEY": "sk-good", "BIFROST_ENCRYPTION_KEY": "a" * 32}
    subprocess.run([sys.executable, "-m", "bifrost", "migrate", "--app-dir", str(app)], env=env, check=True,
                   capture_output=True, timeout=120)
    rc, report, _ = _doctor(app, "--probe-providers",
                            env={"DOCTOR_OPENAI_KEY": "sk-good", "BIFROST_ENCRYPTION_KEY": "a" * 32})
    rows = _rows(report)
    assert rc == 0 and report["ok"] is True, report
    assert all(c["status"] in ("pass", "skip") for c in report["checks"]), report
    assert rows["env.VAR references"]["detail"] == "1 reference(s), all set"
    assert rows["config store reachable"]["detail"].startswith(f"{pg.host}:{pg.port}/{pg_db}, PostgreSQL ")
    assert rows["logs store UTF8"]["detail"] == "encoding UTF8"
    assert rows["config store SSL"]["detail"] == "ssl_mode disable, connection not encrypted"
    assert rows["encryption key"]["detail"] == "present (from BIFROST_ENCRYPTION_KEY)"
    assert rows["app dir writable"]["status"] == "pass"
    assert rows["provider openai key good"]["status"] == "pass"
    assert "models" in rows["provider openai key good"]["detail"]
    assert rows["cluster"]["detail"] == "skipped: cluster mode not configured"


def test_missing_env_var_and_rejected_key_fail_with_their_fixes(tmp_path: Path, rejecting_mock: Mock) -> None:
    app = _write(tmp_path / "app", {"providers": {"openai": {
        "keys": [{"name": "unset", "value": "env.DOCTOR_UNSET_KEY", "models": []},
                 {"name": "wrong", "value": "sk-wrong", "models": []}],
        "network_config": {"base_url": rejecting_mock.url}}}})
    rc, report, _ = _doctor(app, "--probe-providers")
    rows = _rows(report)
    assert rc == 1 and report["ok"] is False
    env_row = rows["env.VAR references"]
    assert env_row["status"] == "fail"
    assert env_row["detail"] == "env.DOCTOR_UNSET_KEY: not set (providers.openai.keys[0].value)"
    assert "DOCTOR_UNSET_KEY" in env_row["fix"] and "providerSecrets" in env_row["fix"]
    assert rows["provider openai key unset"]["status"] == "fail"
    wrong = rows["provider openai key wrong"]
    assert wrong["status"] == "fail" and "model list failed" in wrong["detail"] and "401" in wrong["fix"]


def test_postgres_down_fails_reachability_with_host_port_and_fix(tmp_path: Path) -> None:
    port = _closed_port()
    app = _write(tmp_path / "app", {"config_store": {"enabled": True, "type": "postgres", "config": {
        "host": "127.0.0.1", "port": str(port), "user": "bifrost", "db_name": "bifrost", "ssl_mode": "disable"}}})
    rc, report, _ = _doctor(app)
    row = _rows(report)["config store reachable"]
    assert rc == 1 and row["status"] == "fail"
    assert row["detail"].startswith(f"failed to connect to database: 127.0.0.1:{port}: connection refused")
    assert "config_store.config.host" in row["fix"]


def test_non_utf8_database_fails_the_utf8_check_with_the_create_command(tmp_path: Path, pg: Any) -> None:
    db = pg.create_database(encoding="SQL_ASCII")
    try:
        app = _write(tmp_path / "app", {"logs_store": _pg_store(pg, db)})
        rc, report, _ = _doctor(app)
    finally:
        pg.drop_database(db)
    row = _rows(report)["logs store UTF8"]
    assert rc == 1 and row["status"] == "fail" and row["detail"] == "encoding is SQL_ASCII, not UTF8"
    assert f"CREATE DATABASE {db} WITH TEMPLATE template0 ENCODING 'UTF8'" in row["fix"]
    assert "logs_store.config.db_name" in row["fix"]


def test_app_dir_that_is_a_file_fails_writable(tmp_path: Path) -> None:
    app = tmp_path / "data"
    app.write_text("not a directory")
    rc, report, _ = _doctor(app)
    row = _rows(report)["app dir writable"]
    assert rc == 1 and row["status"] == "fail" and row["detail"].endswith("is a file, not a directory")
    assert "fsGroup" in row["fix"]


def test_app_dir_on_a_read_only_mount_fails_writable(tmp_path: Path) -> None:
    src, app = tmp_path / "src", tmp_path / "app"
    src.mkdir()
    app.mkdir()
    if os.getuid() == 0:
        mounted = subprocess.run(["mount", "--bind", str(src), str(app)], capture_output=True).returncode == 0
        if mounted and subprocess.run(["mount", "-o", "remount,bind,ro", str(app)]).returncode != 0:
            subprocess.run(["umount", str(app)])
            mounted = False
        if not mounted:
            pytest.skip("running as root without permission to mount: cannot make a directory unwritable")
    else:
        app.chmod(0o555)
    try:
        rc, report, _ = _doctor(app)
    finally:
        if os.getuid() == 0:
            subprocess.run(["umount", str(app)], check=True)
        else:
            app.chmod(0o755)
    row = _rows(report)["app dir writable"]
    assert rc == 1 and row["status"] == "fail"
    assert f"cannot create a file in {app} as UID {os.getuid()}" in row["detail"]
    assert "Read-only file system" in row["detail"] or "Permission denied" in row["detail"]


def test_invalid_config_fails_and_skips_the_database_checks(tmp_path: Path) -> None:
    app = _write(tmp_path / "app", {"client": {"drop_excess_requests": "yes"}})
    rc, report, _ = _doctor(app)
    rows = _rows(report)
    assert rc == 1 and rows["config.json"]["status"] == "fail"
    assert "$.client.drop_excess_requests: expected true or false" in rows["config.json"]["detail"]
    assert rows["databases"]["detail"] == "skipped: fix config.json first"
    (app / "config.json").write_text("{not json")
    rc, report, _ = _doctor(app)
    assert rc == 1 and "not valid JSON" in _rows(report)["config.json"]["detail"]


def test_pending_migrations_fail_until_migrated(tmp_path: Path, pg: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    pg_db = pg.create_database()  # its own: the module's database already holds an encrypted config store
    root = tmp_path / "pkgs"
    name = make_store_pkg(root)
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.setattr(registry, "STORES", (StoreEntry("config store", "config_store", name),))
    app = _write(tmp_path / "app", {"config_store": _pg_store(pg, pg_db)})
    try:
        report = asyncio.run(run_checks(app))
        row = {c.name: c for c in report.checks}["config store migrated"]
        assert row.status == "fail" and "2 pending: 0001_widgets, 0002_widget_name" in row.detail
        assert "bifrost migrate" in row.fix and report.ok is False
        from bifrost.config.loader import load_config

        asyncio.run(migrate_all(load_config(app).config, app))
        report = asyncio.run(run_checks(app))
        row = {c.name: c for c in report.checks}["config store migrated"]
        assert row.status == "pass" and row.detail.endswith("up to date") and report.ok is True, report.checks
    finally:
        pg.drop_database(pg_db)
        sys.modules.pop(name, None)


def test_text_output_is_a_table_with_numbered_fixes(tmp_path: Path) -> None:
    app = _write(tmp_path / "app", {"providers": {"openai": {"keys": [
        {"name": "k", "value": "env.DOCTOR_UNSET_KEY", "models": []}]}}})
    r = subprocess.run([sys.executable, "-m", "bifrost", "doctor", "--app-dir", str(app)], capture_output=True,
                       text=True, timeout=60, env=CLEAN_ENV)
    assert r.returncode == 1
    lines = r.stdout.splitlines()
    assert lines[2].split() == ["STATUS", "CHECK", "DETAIL"]
    assert any(line.startswith("FAIL") and "env.DOCTOR_UNSET_KEY: not set" in line and "(fix [" in line
               for line in lines)
    assert "How to fix:" in lines and any(line.startswith("[") and "DOCTOR_UNSET_KEY" in line for line in lines)
    assert lines[-1] == "1 check(s) failed"


def test_key_check_finds_a_missing_or_wrong_key_and_changes_nothing(tmp_path: Path) -> None:
    """A real SQLite config store encrypted with one key: the doctor with another key, or none, fails
    with the store's own message; with the right key it passes. The store is left as it was."""
    from bifrost.config.model import GatewayConfig
    from bifrost.doctor.checks import check_key_opens_store
    from bifrost.stores.config import open_config_store

    app = tmp_path / "app"
    app.mkdir()
    store = asyncio.run(open_config_store(GatewayConfig(encryption_key="right-key-" + "r" * 22), app))
    asyncio.run(store.close())
    before = (app / "config.db").read_bytes()
    wrong = asyncio.run(check_key_opens_store(GatewayConfig(encryption_key="wrong-key-" + "w" * 22), app))
    assert wrong.status == "fail" and wrong.detail.startswith("wrong encryption key"), wrong
    assert "BIFROST_ENCRYPTION_KEY" in wrong.fix
    missing = asyncio.run(check_key_opens_store(GatewayConfig(), app))
    assert missing.status == "fail" and "no encryption key is given" in missing.detail, missing
    right = asyncio.run(check_key_opens_store(GatewayConfig(encryption_key="right-key-" + "r" * 22), app))
    assert right.status == "pass", right
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    pending = asyncio.run(check_key_opens_store(GatewayConfig(encryption_key="k" * 32), fresh))
    assert pending.status == "skip" and "bifrost migrate" in pending.detail, pending
    assert (app / "config.db").read_bytes() == before
