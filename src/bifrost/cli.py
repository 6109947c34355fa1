"""`bifrost serve | mock | version`: the command line."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from bifrost import __version__

log = logging.getLogger("bifrost")


# Bifrost's container image and Helm chart set APP_DIR/APP_PORT/APP_HOST/LOG_LEVEL/LOG_STYLE; our BIFROST_*
# names win when both are set, so a Bifrost values file (env, extraEnv) keeps working unchanged.
_FALLBACK = {"BIFROST_APP_DIR": "APP_DIR", "BIFROST_HOST": "APP_HOST", "BIFROST_PORT": "APP_PORT",
             "BIFROST_LOG_LEVEL": "LOG_LEVEL", "BIFROST_LOG_STYLE": "LOG_STYLE"}


def _env_name(name: str) -> str:
    """The variable that supplies `name`: itself when set, else Bifrost's container name for it."""
    alt = _FALLBACK.get(name)
    return alt if alt and not os.environ.get(name) and os.environ.get(alt) else name


def _env(name: str, default: str) -> str:
    return os.environ.get(_env_name(name)) or default


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="bifrost", description="Bifrost for Python: a fast AI gateway.")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("serve", help="run the gateway")
    s.add_argument("--app-dir", default=_env("BIFROST_APP_DIR", "./data"),
                   help="directory holding config.json (and the databases); env BIFROST_APP_DIR (or APP_DIR); "
                        "default ./data")
    s.add_argument("--host", default=_env("BIFROST_HOST", "0.0.0.0"),
                   help="env BIFROST_HOST (or APP_HOST); default 0.0.0.0")
    s.add_argument("--port", type=int, default=int(_env("BIFROST_PORT", "8080")),
                   help="env BIFROST_PORT (or APP_PORT); default 8080")
    s.add_argument("--log-level", choices=["debug", "info", "warn", "error"],
                   default=_env("BIFROST_LOG_LEVEL", "info").lower(), help="env BIFROST_LOG_LEVEL (or LOG_LEVEL)")
    s.add_argument("--log-style", choices=["json", "pretty"], default=_env("BIFROST_LOG_STYLE", "json").lower(),
                   help="env BIFROST_LOG_STYLE (or LOG_STYLE)")

    m = sub.add_parser("mock", help="run a fast mock LLM provider speaking the OpenAI, Anthropic and Gemini APIs "
                                    "(for tests, benchmarks, demos)")
    from bifrost.mock.server import add_arguments

    add_arguments(m)
    sub.add_parser("version", help="print the version")
    return p


def _validate_env_choices() -> str | None:
    for name, allowed in (("BIFROST_LOG_LEVEL", ("debug", "info", "warn", "error")),
                          ("BIFROST_LOG_STYLE", ("json", "pretty"))):
        var = _env_name(name)
        v = os.environ.get(var)
        if v and v.lower() not in allowed:
            return f"{var}={v!r} is not valid; use one of: {', '.join(allowed)}"
    port_var = _env_name("BIFROST_PORT")
    port = os.environ.get(port_var)
    if port and not (port.isdigit() and 0 < int(port) < 65536):
        return f"{port_var}={port!r} is not a valid port; use a number from 1 to 65535"
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

    return serve(AppState(cfg), args.host, args.port)


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
