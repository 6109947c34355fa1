"""`bifrost serve | mock | version`: the command line."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from bifrost import __version__

log = logging.getLogger("bifrost")


def _env(name: str, default: str) -> str:
    return os.environ.get(name) or default


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="bifrost", description="Bifrost for Python: a fast AI gateway.")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("serve", help="run the gateway")
    s.add_argument("--app-dir", default=_env("BIFROST_APP_DIR", "./data"),
                   help="directory holding config.json (and the databases); env BIFROST_APP_DIR; default ./data")
    s.add_argument("--host", default=_env("BIFROST_HOST", "0.0.0.0"), help="env BIFROST_HOST; default 0.0.0.0")
    s.add_argument("--port", type=int, default=int(_env("BIFROST_PORT", "8080")),
                   help="env BIFROST_PORT; default 8080")
    s.add_argument("--log-level", choices=["debug", "info", "warn", "error"],
                   default=_env("BIFROST_LOG_LEVEL", "info").lower(), help="env BIFROST_LOG_LEVEL")
    s.add_argument("--log-style", choices=["json", "pretty"], default=_env("BIFROST_LOG_STYLE", "json").lower(),
                   help="env BIFROST_LOG_STYLE")

    m = sub.add_parser("mock", help="run a fast mock LLM provider speaking the OpenAI, Anthropic and Gemini APIs "
                                    "(for tests, benchmarks, demos)")
    from bifrost.mock.server import add_arguments

    add_arguments(m)
    sub.add_parser("version", help="print the version")
    return p


def _validate_env_choices() -> str | None:
    for var, allowed in (("BIFROST_LOG_LEVEL", ("debug", "info", "warn", "error")),
                         ("BIFROST_LOG_STYLE", ("json", "pretty"))):
        v = os.environ.get(var)
        if v and v.lower() not in allowed:
            return f"{var}={v!r} is not valid; use one of: {', '.join(allowed)}"
    port = os.environ.get("BIFROST_PORT")
    if port and not (port.isdigit() and 0 < int(port) < 65536):
        return f"BIFROST_PORT={port!r} is not a valid port; use a number from 1 to 65535"
    return None


def cmd_serve(args: argparse.Namespace) -> int:
    from bifrost.config.loader import ConfigInvalid, load_config
    from bifrost.logs import setup_logging

    setup_logging(args.log_level, args.log_style)
    app_dir = Path(args.app_dir).resolve()
    try:
        app_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        log.error("cannot create the app dir %s: %s; choose another with --app-dir or BIFROST_APP_DIR",
                  app_dir, exc.strerror)
        return 1
    if not os.access(app_dir, os.W_OK):
        log.error("the app dir %s is not writable by UID %d; fix its permissions (on Kubernetes set "
                  "podSecurityContext.fsGroup) or choose another with --app-dir", app_dir, os.getuid())
        return 1
    log.info("starting bifrost %s, app dir %s", __version__, app_dir)
    try:
        loaded = load_config(app_dir)
    except ConfigInvalid as exc:
        log.error("invalid config file %s: %d problem(s), fix them and start again:", exc.path, len(exc.problems))
        for line in exc.problems:
            log.error("  %s", line)
        for line in exc.warnings:
            log.warning("  also: %s", line)
        return 2
    for w in loaded.warnings:
        log.warning("%s", w)
    for n in loaded.notices:
        log.info("%s", n)
    cfg = loaded.config
    if not cfg.providers:
        log.warning("no providers configured: add them to %s, or set a provider's API-key variable "
                    "(e.g. OPENAI_API_KEY) before starting", app_dir / "config.json")
    else:
        log.info("providers: %s", ", ".join(sorted(cfg.providers)))

    from bifrost.server.app import AppState
    from bifrost.server.run import serve

    return serve(AppState(cfg, app_dir=app_dir), args.host, args.port)


def main(argv: list[str] | None = None) -> int:
    err = _validate_env_choices()
    if err:
        print(f"bifrost: {err}", file=sys.stderr)
        return 2
    args = build_parser().parse_args(argv)
    if args.command == "version":
        print(f"bifrost {__version__}")
        return 0
    if args.command == "mock":
        from bifrost.mock.server import run

        return run(args)
    return cmd_serve(args)


if __name__ == "__main__":
    sys.exit(main())
