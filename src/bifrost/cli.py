"""`bifrost serve | migrate | doctor | support-bundle | mock | version`: the command line."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from bifrost import __version__
from bifrost.config.loader import ConfigInvalid, LoadResult, load_config
from bifrost.config.model import GatewayConfig

if TYPE_CHECKING:
    from bifrost.config.model import GatewayConfig
    from bifrost.pricing import Catalog

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


def _truthy(name: str) -> bool:
    return os.environ.get(name, "") in ("1", "true", "TRUE", "True")


def add_common(s: argparse.ArgumentParser, log_style: str = "json") -> None:
    """--app-dir, --log-level, --log-style: shared by every command that reads the config."""
    s.add_argument("--app-dir", default=_env("BIFROST_APP_DIR", "./data"),
                   help="directory holding config.json (and the databases); env BIFROST_APP_DIR (or APP_DIR); "
                        "default ./data")
    s.add_argument("--log-level", choices=["debug", "info", "warn", "error"],
                   default=_env("BIFROST_LOG_LEVEL", "info").lower(), help="env BIFROST_LOG_LEVEL (or LOG_LEVEL)")
    s.add_argument("--log-style", choices=["json", "pretty"], default=_env("BIFROST_LOG_STYLE", log_style).lower(),
                   help="env BIFROST_LOG_STYLE (or LOG_STYLE)")
    s.add_argument("--db-connect-timeout", type=float, default=None, metavar="SECONDS",
                   help="how long to retry an unreachable PostgreSQL at start; env BIFROST_DB_CONNECT_TIMEOUT; "
                        "default 30 (0 = one attempt)")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="bifrost", description="Bifrost for Python: a fast AI gateway.")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("serve", help="run the gateway")
    add_common(s)
    s.add_argument("--host", default=_env("BIFROST_HOST", "0.0.0.0"),
                   help="env BIFROST_HOST (or APP_HOST); default 0.0.0.0")
    s.add_argument("--port", type=int, default=int(_env("BIFROST_PORT", "8080")),
                   help="env BIFROST_PORT (or APP_PORT); default 8080")
    s.add_argument("--no-migrate", action="store_true", default=_truthy("BIFROST_NO_MIGRATE"),
                   help="do not run database migrations at start; fail fast if any are pending "
                        "(env BIFROST_NO_MIGRATE=1; run `bifrost migrate` first)")

    mg = sub.add_parser("migrate", help="run every store's database migrations under the migration lock, "
                                        "then exit (for a Helm pre-upgrade hook)")
    add_common(mg, "pretty")

    from bifrost.doctor.cli import add_parsers

    add_parsers(sub, add_common)

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


def _apply_db_timeout(args: argparse.Namespace) -> None:
    # The stores read BIFROST_DB_CONNECT_TIMEOUT when they open their databases; the flag overrides it.
    if getattr(args, "db_connect_timeout", None) is not None:
        os.environ["BIFROST_DB_CONNECT_TIMEOUT"] = str(max(0.0, args.db_connect_timeout))


def _load(app_dir: Path) -> GatewayConfig | None:
    try:
        loaded = load_config(app_dir)
    except ConfigInvalid as exc:
        _config_invalid(exc)
        return None
    for w in loaded.warnings:
        log.warning("%s", w)
    for n in loaded.notices:
        log.info("%s", n)
    return loaded.config


def prepare_stores(cfg: GatewayConfig, app_dir: Path, *, no_migrate: bool) -> str | None:
    """Before serving: run pending migrations (under the lock), or with no_migrate check none are pending.

    Returns the error to print (and exit 1 with), or None to go on.
    """
    import asyncio

    from bifrost.stores.db import DatabaseError
    from bifrost.stores.registry import migrate_all, pending_message

    try:
        statuses = asyncio.run(migrate_all(cfg, app_dir, apply=not no_migrate))
    except DatabaseError as exc:
        return str(exc)
    return pending_message(statuses) if no_migrate else None


def cmd_migrate(args: argparse.Namespace) -> int:
    import asyncio

    from bifrost.logs import setup_logging
    from bifrost.stores.db import DatabaseError
    from bifrost.stores.registry import migrate_all

    setup_logging(args.log_level, args.log_style)
    _apply_db_timeout(args)
    app_dir = Path(args.app_dir).resolve()
    cfg = _load(app_dir)
    if cfg is None:
        return 2
    try:
        statuses = asyncio.run(migrate_all(cfg, app_dir))
    except DatabaseError as exc:
        log.error("%s", exc)
        return 1
    for st in statuses:
        if st.skipped:
            print(f"{st.label}: skipped ({st.skipped})")
        elif st.applied:
            print(f"{st.label} ({st.where}): applied {len(st.applied)} migration(s): {', '.join(st.applied)}")
        else:
            print(f"{st.label} ({st.where}): up to date")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from bifrost.logs import setup_logging

    setup_logging(args.log_level, args.log_style)
    _apply_db_timeout(args)
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
    pricing = _pricing(loaded.config, app_dir)
    if pricing is None:
        return 2
    # Migrations (or, with --no-migrate, the check that none are pending) come before any store is read.
    err = prepare_stores(loaded.config, app_dir, no_migrate=args.no_migrate)
    if err:
        log.error("%s", err)
        return 1
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

    return serve(AppState(cfg, app_dir=app_dir, pricing=pricing), args.host, args.port)


def _pricing(cfg: GatewayConfig, app_dir: Path) -> Catalog | None:
    """The price catalog with its override file; None (after logging why) when the file is unusable."""
    from bifrost.pricing import PricingError
    from bifrost.server.pricing_setup import load_catalog

    try:
        return load_catalog(cfg, os.environ, app_dir)
    except PricingError as exc:
        log.error("%s", exc)
        return None


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
    if args.command == "migrate":
        return cmd_migrate(args)
    if args.command in ("doctor", "support-bundle"):
        from bifrost.doctor.cli import run_command

        _apply_db_timeout(args)
        return run_command(args)
    return cmd_serve(args)


if __name__ == "__main__":
    sys.exit(main())
