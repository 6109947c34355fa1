"""`bifrost serve | mock | version`: the command line."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from bifrost import __version__
from bifrost.config.loader import ConfigInvalid, LoadResult, load_config
from bifrost.config.model import GatewayConfig

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
        return _config_invalid(exc)
    for w in loaded.warnings:
        log.warning("%s", w)
    for n in loaded.notices:
        log.info("%s", n)
    code, cfg = _with_config_store(loaded, app_dir)
    if cfg is None:
        return code
    if not cfg.providers:
        log.warning("no providers configured: add them to %s, or set a provider's API-key variable "
                    "(e.g. OPENAI_API_KEY) before starting", app_dir / "config.json")
    else:
        log.info("providers: %s", ", ".join(sorted(cfg.providers)))

    from bifrost.server.app import AppState
    from bifrost.server.run import serve

    return serve(AppState(cfg, app_dir=app_dir), args.host, args.port)


def _config_invalid(exc: ConfigInvalid) -> int:
    key_problem = "$.encryption_key: encryption key is required"
    for line in exc.problems:
        if line.startswith(key_problem):
            # The headline operators grep for: "encryption key is required: VAR is not set (referenced by ...)".
            headline, _, hint = line.removeprefix("$.encryption_key: ").partition("; ")
            log.error("%s", headline)
            log.error("  %s", hint)
    rest = [p for p in exc.problems if not p.startswith(key_problem)]
    if rest:
        log.error("invalid config file %s: %d problem(s), fix them and start again:", exc.path, len(rest))
        for line in rest:
            log.error("  %s", line)
    for line in exc.warnings:
        log.warning("  also: %s", line)
    return 2


def _with_config_store(loaded: LoadResult, app_dir: Path) -> tuple[int, GatewayConfig | None]:
    """Open (migrate, key-check, encrypt) the config store and reconcile it with config.json: the
    effective config, or an exit code and a message that says what went wrong and how to recover."""
    import asyncio

    from bifrost.stores.config.reconcile import prepare_config
    from bifrost.stores.encryption import EncryptionError

    try:
        effective = asyncio.run(prepare_config(loaded.config, app_dir, os.environ))
    except ConfigInvalid as exc:
        return _config_invalid(exc), None
    except EncryptionError as exc:
        log.error("%s", exc)
        return 1, None
    except Exception as exc:  # a database failure: its message says what failed and how to fix it
        log.error("cannot open the config store: %s", str(exc) or type(exc).__name__)
        log.debug("config store failure", exc_info=True)  # the traceback, for --log-level debug
        return 1, None
    seen = set(loaded.warnings)
    for w in effective.warnings:
        if w not in seen:
            log.warning("%s", w)
    return 0, effective.config


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
