"""deploy/docker/Dockerfile, checked as far as a machine without Docker allows: it parses; it is
multi-stage on a slim Python base; it installs the package the README's way and that wheel builds;
its user, entrypoint, ports, app dir and health check are what the chart and the CLI expect."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from bifrost_chart import DOCKERFILE, ROOT, TAG, Render

from bifrost.cli import build_parser

INSTRUCTIONS = {"FROM", "ARG", "ENV", "RUN", "COPY", "ADD", "WORKDIR", "USER", "EXPOSE", "VOLUME", "HEALTHCHECK",
                "ENTRYPOINT", "CMD", "LABEL", "STOPSIGNAL", "SHELL", "ONBUILD"}


@dataclass
class Instr:
    cmd: str
    args: str
    line: int

    def exec_form(self) -> list[str]:
        """The JSON (exec) form; fails for shell form, which would put /bin/sh between tini and the gateway."""
        v = json.loads(self.args)
        assert isinstance(v, list) and all(isinstance(x, str) for x in v), self
        return v


def parse(text: str) -> list[Instr]:
    """Dockerfile instructions with backslash continuations joined and comments dropped."""
    out: list[Instr] = []
    buf, start = "", 0
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not buf and (not line or line.startswith("#")):
            continue
        if buf and line.startswith("#"):
            continue
        if not buf:
            start = n
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        buf += line
        cmd, _, args = buf.partition(" ")
        assert cmd.upper() in INSTRUCTIONS, f"line {start}: unknown instruction {cmd!r}"
        out.append(Instr(cmd.upper(), args.strip(), start))
        buf = ""
    assert not buf, "the Dockerfile ends inside a continued line"
    return out


@pytest.fixture(scope="module")
def instrs() -> list[Instr]:
    return parse(DOCKERFILE.read_text())


def stages(instrs: list[Instr]) -> list[list[Instr]]:
    out: list[list[Instr]] = []
    for i in instrs:
        if i.cmd == "FROM":
            out.append([])
        if out:
            out[-1].append(i)
    return out


def final(instrs: list[Instr], cmd: str) -> Instr:
    found = [i for i in stages(instrs)[-1] if i.cmd == cmd]
    assert found, f"no {cmd} in the final stage"
    return found[-1]


def env_of(instrs: list[Instr]) -> dict[str, str]:
    env: dict[str, str] = {}
    for i in stages(instrs)[-1]:
        if i.cmd == "ENV":
            for tok in shlex.split(i.args):
                k, _, v = tok.partition("=")
                env[k] = v
    return env


def test_it_is_multi_stage_on_a_slim_python_base(instrs: list[Instr]) -> None:
    args = {i.args.split("=")[0]: i.args.split("=", 1)[1] for i in instrs if i.cmd == "ARG" and "=" in i.args}
    froms = [i.args for i in instrs if i.cmd == "FROM"]
    assert len(froms) >= 2 and all(" AS " in f for f in froms), froms
    for f in froms:
        image = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], f.split()[0])
        assert re.fullmatch(r"python:3\.1[1-9]-slim(-\w+)?", image), image
    copies = [i.args for i in stages(instrs)[-1] if i.cmd == "COPY"]
    assert any(c.startswith("--from=build ") for c in copies)  # the runtime stage gets the built venv only


def test_the_install_steps_are_the_readmes_venv_and_pip_install(instrs: list[Instr]) -> None:
    readme = (ROOT / "README.md").read_text()
    assert "python3 -m venv .venv && .venv/bin/pip install" in readme
    build = " ".join(i.args for i in stages(instrs)[0] if i.cmd == "RUN")
    assert "pip wheel --no-deps --wheel-dir /wheels ." in build
    assert "python -m venv /opt/venv" in build and "/opt/venv/bin/pip install /wheels/*.whl" in build
    for i in instrs:
        if i.cmd == "COPY" and not i.args.startswith("--from"):
            *sources, _ = i.args.split()
            for s in sources:
                assert (ROOT / s).exists(), f"COPY {s}: not in the repository"
    ignore = [ln.strip() for ln in (DOCKERFILE.parent / "Dockerfile.dockerignore").read_text().splitlines()
              if ln.strip() and not ln.startswith("#")]
    assert not {"src", "pyproject.toml", "README.md"} & set(ignore)


def test_the_wheel_the_dockerfile_installs_builds(instrs: list[Instr], tmp_path: Path) -> None:
    # The build stage's context: exactly what its COPY instructions bring in.
    ctx = tmp_path / "src-context"
    ctx.mkdir()
    for i in stages(instrs)[0]:
        if i.cmd == "COPY":
            *sources, dest = i.args.split()
            for s in sources:
                target = ctx / dest / s if dest.endswith("/") and dest != "./" else ctx / (dest if dest != "./" else s)
                if (ROOT / s).is_dir():
                    shutil.copytree(ROOT / s, target, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
                else:
                    shutil.copy(ROOT / s, target)
    cmd = next(i.args for i in stages(instrs)[0] if i.cmd == "RUN").split("&&")[0].strip()
    assert cmd == "pip wheel --no-deps --wheel-dir /wheels ."
    wheels = tmp_path / "wheels"
    r = subprocess.run([sys.executable, "-m", *cmd.replace("/wheels", str(wheels)).split()], cwd=ctx,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    (wheel,) = wheels.glob("bifrost_gateway-*.whl")
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        assert "bifrost/cli.py" in names and "bifrost/server/run.py" in names
        entry = next(n for n in names if n.endswith("entry_points.txt"))
        assert "bifrost = bifrost.cli:main" in z.read(entry).decode()


def test_it_runs_as_uid_1000_and_works_under_any_uid_with_gid_0(instrs: list[Instr]) -> None:
    assert final(instrs, "USER").args == "1000"
    run = " ".join(i.args for i in stages(instrs)[-1] if i.cmd == "RUN")
    assert "useradd --uid 1000 --gid 0" in run
    assert "chown -R 1000:0 /app" in run and "chmod -R g=u /app" in run  # group 0 may write the app dir
    assert env_of(instrs)["APP_DIR"] == "/app/data" and "/app/data" in final(instrs, "VOLUME").args


def test_entrypoint_is_exec_form_tini_running_bifrost_serve(instrs: list[Instr]) -> None:
    entry = final(instrs, "ENTRYPOINT").exec_form()
    cmd = final(instrs, "CMD").exec_form()
    assert entry == ["tini", "--", "bifrost"] and cmd == ["serve"]
    run = " ".join(i.args for i in stages(instrs)[-1] if i.cmd == "RUN")
    assert "apt-get install -y --no-install-recommends tini" in run  # Debian's package, at build time
    assert build_parser().parse_args(entry[2:][1:] + cmd).command == "serve"


def test_healthcheck_calls_health_with_python_and_no_downloaded_tool(instrs: list[Instr]) -> None:
    hc = final(instrs, "HEALTHCHECK")
    opts, _, rest = hc.args.partition("CMD ")
    assert "--interval=30s" in opts and "--timeout=10s" in opts
    argv = json.loads(rest)
    assert argv[:2] == ["python", "-c"] and "/health" in argv[2]
    compile(argv[2], "HEALTHCHECK", "exec")
    text = DOCKERFILE.read_text()
    assert not re.search(r"\b(curl|wget)\b", text), "no download tools: the image fetches nothing at run time"
    assert not [i for i in stages(instrs)[-1] if i.cmd == "ADD"]


def test_exposes_http_and_gossip_ports(instrs: list[Instr]) -> None:
    ports = set(final(instrs, "EXPOSE").args.split())
    assert {"8080", "7946", "7946/udp"} <= ports
    assert env_of(instrs)["APP_PORT"] == "8080"


def test_the_chart_runs_the_image_the_way_the_image_expects(instrs: list[Instr]) -> None:
    r = Render(TAG)
    c = r.container()
    pod = r.workload()["spec"]["template"]["spec"]
    assert "command" not in c  # the image's ENTRYPOINT (tini) stays PID 1
    argv = final(instrs, "ENTRYPOINT").exec_form() + c["args"]
    assert argv == ["tini", "--", "bifrost", "serve"]
    assert pod["securityContext"]["runAsUser"] == c["securityContext"]["runAsUser"] == int(
        final(instrs, "USER").args)
    assert pod["securityContext"]["fsGroup"] == 1000
    # The preStop hook runs `sh`: the slim Debian base has it (python:*-slim ships dash as /bin/sh).
    assert c["lifecycle"]["preStop"]["exec"]["command"][0] == "sh"
    image_env = env_of(instrs)
    chart_env = {e["name"]: e["value"] for e in c["env"] if "value" in e}
    for k in ("APP_DIR", "APP_PORT", "APP_HOST", "LOG_LEVEL", "LOG_STYLE"):
        assert chart_env[k] == image_env[k], k


def test_the_healthcheck_command_passes_against_a_running_gateway_and_fails_without_one(
        instrs: list[Instr], tmp_path: Path) -> None:
    from conftest import Gateway, free_port

    code = json.loads(final(instrs, "HEALTHCHECK").args.partition("CMD ")[2])[2]
    gw = Gateway(tmp_path, {"providers": {}})
    try:
        ok = subprocess.run([sys.executable, "-c", code], env={**os.environ, "BIFROST_PORT": str(gw.port)},
                            capture_output=True, timeout=30)
        assert ok.returncode == 0, ok.stderr
    finally:
        gw.stop()
    down = subprocess.run([sys.executable, "-c", code], env={**os.environ, "BIFROST_PORT": "",
                                                            "APP_PORT": str(free_port())},
                          capture_output=True, timeout=30)
    assert down.returncode != 0
