"""The chart's container spec drives the real CLI: its args and env parse with `bifrost serve`'s own
argparse into the chart's port and app dir, the probes hit a route the gateway serves, and a gateway
started exactly that way (env only, rendered config.json) answers /health and drains on SIGTERM."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import pytest
from bifrost_chart import TAG, Render, merge

from bifrost.cli import build_parser, main


def parse_serve(env: dict[str, str], args: list[str], monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    for k in ("BIFROST_APP_DIR", "BIFROST_HOST", "BIFROST_PORT", "BIFROST_LOG_LEVEL", "BIFROST_LOG_STYLE",
              "APP_DIR", "APP_HOST", "APP_PORT", "LOG_LEVEL", "LOG_STYLE"):
        monkeypatch.delenv(k, raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    return build_parser().parse_args(args)


def test_the_container_args_and_env_parse_into_the_charts_port_and_app_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    r = Render(merge(TAG, {"bifrost": {"port": 9090, "appDir": "/srv/bifrost", "logLevel": "debug"}}))
    c = r.container()
    env = {e["name"]: e["value"] for e in c["env"] if "value" in e}
    ns = parse_serve(env, c["args"], monkeypatch)
    assert (ns.command, ns.port, ns.app_dir, ns.host, ns.log_level) == ("serve", 9090, "/srv/bifrost", "0.0.0.0",
                                                                         "debug")
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert ports["http"] == ns.port
    for probe in ("livenessProbe", "readinessProbe"):
        assert c[probe]["httpGet"] == {"path": "/health", "port": "http"}
    mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
    assert mounts["data"] == ns.app_dir and mounts["config"] == f"{ns.app_dir}/config.json"
    svc = r.get("Service", "bifrost")["spec"]["ports"][0]
    assert svc["targetPort"] == "http" and svc["port"] == 8080


def test_bifrost_names_win_over_the_container_names(monkeypatch: pytest.MonkeyPatch) -> None:
    ns = parse_serve({"APP_PORT": "9000", "BIFROST_PORT": "9100", "LOG_STYLE": "pretty"}, ["serve"], monkeypatch)
    assert ns.port == 9100 and ns.log_style == "pretty"


def test_a_bad_container_variable_is_named_in_the_error(monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    for k in ("BIFROST_LOG_LEVEL", "BIFROST_PORT", "BIFROST_LOG_STYLE"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("LOG_LEVEL", "verbose")
    assert main(["version"]) == 2
    assert "LOG_LEVEL='verbose' is not valid; use one of: debug, info, warn, error" in capsys.readouterr().err
    monkeypatch.delenv("LOG_LEVEL")
    monkeypatch.setenv("APP_PORT", "http")
    assert main(["version"]) == 2
    assert "APP_PORT='http' is not a valid port" in capsys.readouterr().err


def test_the_migration_job_runs_a_command_the_cli_has() -> None:
    r = Render(merge(TAG, {"storage": {"mode": "postgres"}, "postgresql": {"enabled": True},
                           "migrations": {"job": {"enabled": True}}}))
    args = r.get("Job", "bifrost-migrate")["spec"]["template"]["spec"]["containers"][0]["args"]
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    assert args[0] in sub.choices, f"the migration Job runs `bifrost {args[0]}`, which the CLI lacks"  # type: ignore[operator]
    assert build_parser().parse_args(args).command == args[0]


def test_a_gateway_started_the_way_the_chart_starts_it_serves_health_and_drains(tmp_path: Path) -> None:
    from conftest import PY, Proc, free_port, http

    port = free_port()
    app_dir = tmp_path / "app"
    r = Render(merge(TAG, {"bifrost": {"appDir": str(app_dir), "host": "127.0.0.1", "port": port}}))
    app_dir.mkdir()
    (app_dir / "config.json").write_text(r.get("ConfigMap", "bifrost-config")["data"]["config.json"])
    c = r.container()
    env = {e["name"]: e["value"] for e in c["env"] if "value" in e}
    clean = {k: "" for k in ("BIFROST_APP_DIR", "BIFROST_HOST", "BIFROST_PORT", "BIFROST_LOG_LEVEL",
                             "BIFROST_LOG_STYLE", "OPENAI_API_KEY")}
    proc = Proc([PY, "-m", "bifrost", *c["args"]], tmp_path / "gw.log", env={**clean, **env})
    try:
        import time

        deadline = time.time() + 30
        status = 0
        while time.time() < deadline and proc.p.poll() is None:
            try:
                status = http("GET", f"http://127.0.0.1:{port}/health", timeout=1)[0]
            except OSError:
                status = 0
            if status == 200:
                break
            time.sleep(0.1)
        assert status == 200, proc.output()
        assert f"app dir {app_dir}" in proc.output()
    finally:
        code = proc.stop(signal.SIGTERM, timeout=60)
    assert code == 0, proc.output()
    assert "graceful shutdown" in proc.output()


if sys.platform == "win32":  # pragma: no cover
    pytestmark = pytest.mark.skip("POSIX signals")
