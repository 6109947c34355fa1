"""`bifrost migrate`, migrations at start, `serve --no-migrate`, and two processes migrating at once.

The real store packages live on other branches; these tests build a store package of their own in a
temporary directory (Alembic env.py + two revisions) and register it in place of the real list.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bifrost import cli
from bifrost.config.loader import load_config
from bifrost.stores import registry
from bifrost.stores.registry import StoreEntry, migrate_all
from teststore import make_store_pkg


@pytest.fixture
def store_pkg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Path]]:
    """A store package `bf_teststore_<random>` importable from tmp_path/pkgs, registered as the config store."""
    root = tmp_path / "pkgs"
    name = make_store_pkg(root)
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.setattr(registry, "STORES", (StoreEntry("config store", "config_store", name),
                                             StoreEntry("logs store", "logs_store", "bifrost.stores.no_such")))
    yield name, root
    sys.modules.pop(name, None)


def _app_dir(tmp_path: Path, store: dict[str, Any] | None) -> Path:
    app = tmp_path / "app"
    app.mkdir(exist_ok=True)
    cfg: dict[str, Any] = {"providers": {}}
    if store is not None:
        cfg["config_store"] = {"enabled": True, "type": "postgres", "config": store}
    (app / "config.json").write_text(json.dumps(cfg))
    return app


def _statuses(app: Path, apply: bool) -> list[Any]:
    cfg = load_config(app).config
    return asyncio.run(migrate_all(cfg, app, apply=apply))


def test_migrations_apply_from_empty_then_rerun_is_a_no_op_on_sqlite(tmp_path: Path, store_pkg: Any) -> None:
    app = _app_dir(tmp_path, None)
    assert [s.pending for s in _statuses(app, apply=False)][0] == ["0001_widgets", "0002_widget_name"]
    first = _statuses(app, apply=True)
    assert first[0].applied == ["0001_widgets", "0002_widget_name"] and first[0].where.endswith("test-store.db")
    assert first[1].skipped == "not available in this build"
    again = _statuses(app, apply=True)
    assert again[0].applied == [] and _statuses(app, apply=False)[0].pending == []


def test_migrate_command_applies_then_reports_up_to_date(tmp_path: Path, store_pkg: Any, pg: Any, pg_db: str,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    app = _app_dir(tmp_path, pg.store_config(pg_db))
    assert cli.main(["migrate", "--app-dir", str(app)]) == 0
    out = capsys.readouterr().out
    assert f"config store ({pg.host}:{pg.port}/{pg_db}): applied 2 migration(s): 0001_widgets, 0002_widget_name" in out
    assert "logs store: skipped (not available in this build)" in out
    assert cli.main(["migrate", "--app-dir", str(app)]) == 0
    assert f"config store ({pg.host}:{pg.port}/{pg_db}): up to date" in capsys.readouterr().out
    pg.execute("DROP TABLE IF EXISTS widgets, bf_test_migrations")  # leave the module's database clean


def test_serve_no_migrate_fails_fast_when_migrations_are_pending(tmp_path: Path, store_pkg: Any,
                                                                 capfd: pytest.CaptureFixture[str]) -> None:
    app = _app_dir(tmp_path, None)
    assert cli.main(["serve", "--app-dir", str(app), "--no-migrate", "--port", "1"]) == 1
    err = capfd.readouterr().err
    assert "database migrations are pending and --no-migrate / BIFROST_NO_MIGRATE is set" in err
    assert "config store" in err and "0001_widgets, 0002_widget_name" in err and "bifrost migrate" in err
    # without --no-migrate, start-up applies them before serving; after that --no-migrate finds nothing pending
    cfg = load_config(app).config
    assert cli.prepare_stores(cfg, app, no_migrate=False) is None
    assert cli.prepare_stores(cfg, app, no_migrate=True) is None
    assert _statuses(app, apply=False)[0].pending == []


def test_no_migrate_env_var_sets_the_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BIFROST_NO_MIGRATE", "true")
    assert cli.build_parser().parse_args(["serve"]).no_migrate is True
    monkeypatch.setenv("BIFROST_NO_MIGRATE", "0")
    assert cli.build_parser().parse_args(["serve"]).no_migrate is False


def test_migrate_against_a_closed_port_exits_1_with_the_connect_message(
        tmp_path: Path, store_pkg: Any, pg: Any, capfd: pytest.CaptureFixture[str]) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = _app_dir(tmp_path, pg.store_config("bifrost", port=str(port)))
    assert cli.main(["migrate", "--app-dir", str(app), "--db-connect-timeout", "0"]) == 1
    assert f"failed to connect to database: 127.0.0.1:{port}: connection refused" in capfd.readouterr().err


def test_two_processes_migrating_the_same_database_at_once(tmp_path: Path, store_pkg: Any, pg: Any) -> None:
    """Exactly one applies the migrations (under the advisory lock); the other waits and finds none pending."""
    name, root = store_pkg
    db = pg.create_database()
    try:
        app = _app_dir(tmp_path, pg.store_config(db))
        script = textwrap.dedent(f'''
            import asyncio, json, sys
            from pathlib import Path
            sys.path.insert(0, {str(root)!r})
            from bifrost.config.loader import load_config
            from bifrost.stores.registry import StoreEntry, migrate_all
            app = Path({str(app)!r})
            st = asyncio.run(migrate_all(load_config(app).config, app,
                                         stores=(StoreEntry("config store", "config_store", {name!r}),)))
            print(json.dumps(st[0].applied))
        ''')
        procs = [subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True) for _ in range(2)]
        results = [p.communicate(timeout=120) for p in procs]
        assert [p.returncode for p in procs] == [0, 0], results
        applied = sorted(json.loads(out.strip().splitlines()[-1]) for out, _ in results)
        assert applied == [[], ["0001_widgets", "0002_widget_name"]]
        assert _statuses(app, apply=False)[0].pending == []
    finally:
        pg.drop_database(db)


def _serve_script(root: Path, name: str, app: Path, port: int) -> str:
    """`bifrost serve` in a real process, with the test store package registered as the config store."""
    return textwrap.dedent(f'''
        import sys
        sys.path.insert(0, {str(root)!r})
        from bifrost.stores import registry
        registry.STORES = (registry.StoreEntry("config store", "config_store", {name!r}),)
        from bifrost.cli import main
        sys.exit(main(["serve", "--app-dir", {str(app)!r}, "--host", "127.0.0.1", "--port", "{port}",
                       "--log-style", "pretty"]))
    ''')


def test_serve_retries_an_unreachable_database_then_exits_1_without_serving(tmp_path: Path, store_pkg: Any,
                                                                             pg: Any) -> None:
    import socket

    name, root = store_pkg
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        db_port = s.getsockname()[1]
    app = _app_dir(tmp_path, pg.store_config("bifrost", port=str(db_port)))
    r = subprocess.run([sys.executable, "-c", _serve_script(root, name, app, 1)], capture_output=True, text=True,
                       timeout=60, env={**os.environ, "BIFROST_DB_CONNECT_TIMEOUT": "2"})
    out = r.stdout + r.stderr
    assert r.returncode == 1, out
    assert f"config store: connecting to 127.0.0.1:{db_port} failed (attempt 1, " in out
    assert "(attempt 2, " in out and "retrying in" in out
    assert f"failed to connect to database: 127.0.0.1:{db_port}: connection refused" in out
    assert "successfully started" not in out


def test_serve_applies_migrations_before_it_listens(tmp_path: Path, store_pkg: Any, pg: Any) -> None:
    from conftest import free_port, http

    name, root = store_pkg
    db = pg.create_database()
    port = free_port()
    app = _app_dir(tmp_path, pg.store_config(db))
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen([sys.executable, "-c", _serve_script(root, name, app, port)], stdout=log,
                            stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 30
        while time.time() < deadline and proc.poll() is None:
            try:
                if http("GET", f"http://127.0.0.1:{port}/health", timeout=1)[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        out = (tmp_path / "serve.log").read_text()
        assert proc.poll() is None, out
        assert _statuses(app, apply=False)[0].pending == []
        applied_at = out.index("applied 2 migration(s): 0001_widgets, 0002_widget_name")
        assert applied_at < out.index("successfully started bifrost")
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()
        pg.drop_database(db)
