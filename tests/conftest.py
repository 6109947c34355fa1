"""Shared test harness: real `bifrost mock` and `bifrost serve` processes on loopback."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

PY = sys.executable
pytest_plugins = ["conformance_plugin", "pgtemp", "stores_plugin"]
REQUIRE_SERVICES = os.environ.get("BIFROST_TEST_REQUIRE_SERVICES") == "1"


_GIVEN_PORTS: set[int] = set()


def free_port() -> int:
    """A free loopback port, never one already handed out in this test process (the kernel may give the
    same ephemeral port to two probes in a row, and two servers of one test would then collide)."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port not in _GIVEN_PORTS:
            _GIVEN_PORTS.add(port)
            return port


def http(method: str, url: str, body: Any = None, headers: dict[str, str] | None = None,
         timeout: float = 10) -> tuple[int, dict[str, str], bytes]:
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json",
                                                                         **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


class Proc:
    """A child process whose output goes to a file we can read at any time."""

    def __init__(self, args: list[str], log_path: Path, env: dict[str, str] | None = None) -> None:
        self.log_path = log_path
        self._log = open(log_path, "wb")
        full_env = {**os.environ, **(env or {})}
        self.p = subprocess.Popen(args, stdout=self._log, stderr=subprocess.STDOUT, env=full_env)

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        if self.p.poll() is None:
            self.p.send_signal(sig)
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait(5)
        self._log.close()
        return self.p.returncode


class Mock:
    def __init__(self, tmp: Path, *args: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = Proc([PY, "-m", "bifrost.mock", "--port", str(self.port), *args], tmp / f"mock-{self.port}.log")
        deadline = time.time() + 15
        while "listening" not in self.proc.output():
            if self.proc.p.poll() is not None or time.time() > deadline:
                raise RuntimeError("mock did not start:\n" + self.proc.output())
            time.sleep(0.05)

    def requests(self, path: str | None = None) -> list[dict[str, Any]]:
        _, _, body = http("GET", self.url + "/mock/requests")
        reqs = json.loads(body)
        return [r for r in reqs if path is None or r["path"] == path]

    def script(self, *actions: dict[str, Any]) -> None:
        status, _, body = http("POST", self.url + "/mock/script", {"actions": list(actions)})
        assert status == 200, body

    def reset(self) -> None:
        http("DELETE", self.url + "/mock/requests")

    def stop(self) -> None:
        self.proc.stop()


class Gateway:
    def __init__(self, tmp: Path, config: dict[str, Any] | None, env: dict[str, str] | None = None,
                 wait: bool = True, args: tuple[str, ...] = ()) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.app_dir = tmp / f"app-{self.port}"
        self.app_dir.mkdir(parents=True)
        if config is not None:
            (self.app_dir / "config.json").write_text(json.dumps(config))
        clean_env = {k: "" for k in ("OPENAI_API_KEY", "GROQ_API_KEY")}
        self.proc = Proc(
            [PY, "-m", "bifrost", "serve", "--app-dir", str(self.app_dir), "--host", "127.0.0.1",
             "--port", str(self.port), "--log-style", "json", *args],
            tmp / f"gw-{self.port}.log", env={**clean_env, **(env or {})},
        )
        if wait:
            self.wait_ready()

    def wait_ready(self, timeout: float = 20) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.p.poll() is not None:
                raise RuntimeError(f"gateway exited {self.proc.p.returncode}:\n{self.proc.output()}")
            try:
                if http("GET", self.url + "/health", timeout=1)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("gateway not ready:\n" + self.proc.output())

    def openai(self, **kw: Any) -> Any:
        import openai

        return openai.OpenAI(base_url=self.url + "/v1", api_key="unused-by-gateway", **{"max_retries": 0, **kw})

    def logs(self) -> list[dict[str, Any]]:
        out = []
        for line in self.proc.output().splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
        return out

    def stop(self, sig: int = signal.SIGTERM) -> int:
        return self.proc.stop(sig)


def openai_provider(mock: Mock, **extra: Any) -> dict[str, Any]:
    cfg: dict[str, Any] = {"keys": [{"name": "k1", "value": "sk-mock-1", "models": [], "weight": 1}],
                           "network_config": {"base_url": mock.url}}
    for k, v in extra.items():
        cfg[k] = v
    return cfg


@pytest.fixture(scope="module")
def tmp_module(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mod")


@pytest.fixture(scope="module")
def mock(tmp_module: Path) -> Iterator[Mock]:
    m = Mock(tmp_module)
    yield m
    m.stop()
