"""What a failed PostgreSQL connection means, and which setting fixes it.

asyncpg reports an unreachable server as OSError, a server refusing SSL as ConnectionError, and the
server's own refusals as PostgresError with a SQLSTATE. Each maps to one message that names the
config.json setting (and the Helm chart value) to change; only "cannot reach it yet" is retryable.
"""

from __future__ import annotations

import socket
from typing import NamedTuple

import asyncpg

from bifrost.config.model import PostgresConfig


class DatabaseError(Exception):
    """A store's database cannot be used; str() is the whole user-facing message (what failed + the fix).

    `hint` repeats just the fix, for `bifrost doctor`'s table.
    """

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.hint = hint


class Failure(NamedTuple):
    retryable: bool
    reason: str  # what happened, short, for the per-attempt log line
    hint: str  # how to fix it
    message: str  # the full message when not retried


def setting_prefix(label: str) -> str:
    """"config store" -> "config_store": the config.json section behind a store."""
    return {"config store": "config_store", "logs store": "logs_store"}.get(label, label.replace(" ", "_"))


def create_database_sql(pg: PostgresConfig) -> str:
    return (f"CREATE DATABASE {_ident(pg.db_name)} WITH TEMPLATE template0 ENCODING 'UTF8' "
            f"LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8' OWNER {_ident(pg.user)};")


def _ident(name: str) -> str:
    return name if name.isidentifier() and name.islower() else '"' + name.replace('"', '""') + '"'


def encoding_problem(encoding: str, pg: PostgresConfig, setting: str) -> str | None:
    """The message refusing a non-UTF8 database, or None when it is UTF8."""
    if encoding.upper() in ("UTF8", "UTF-8"):
        return None
    return (f"database \"{pg.db_name}\" on {pg.host}:{pg.port} has encoding {encoding}, but Bifrost needs UTF8 "
            f"(text would be mangled or rejected). Create a UTF8 database and point {setting}.config.db_name at "
            f"it: {create_database_sql(pg)} (pick a locale the server has, see SELECT collname FROM "
            f"pg_collation); check with SELECT datname, pg_encoding_to_char(encoding) FROM pg_database")


def describe_failure(exc: BaseException, pg: PostgresConfig, setting: str) -> Failure:
    """Classify one connection failure."""
    where = f"{pg.host}:{pg.port}"
    cfg = f"{setting}.config"
    if isinstance(exc, asyncpg.PostgresError):
        return _server_refused(exc, pg, where, cfg)
    text = str(exc) or type(exc).__name__
    if "rejected SSL upgrade" in text:
        hint = (f"the server at {where} does not accept SSL but {cfg}.ssl_mode is \"{pg.ssl_mode}\": enable SSL on "
                f"the server (ssl = on in postgresql.conf) or set {cfg}.ssl_mode to \"disable\" or \"prefer\" "
                "(Helm: postgresql.external.sslMode)")
        return Failure(False, "server does not support SSL", hint,
                       f"failed to connect to database: {where}: server does not support SSL; {hint}")
    if isinstance(exc, socket.gaierror):
        reason = f"host name {pg.host!r} does not resolve ({exc.strerror or text})"
        hint = (f"check {cfg}.host (Helm: postgresql.external.host; the embedded one is <fullname>-postgresql) "
                "and that DNS works from here")
        return Failure(True, reason, hint, "")
    if isinstance(exc, ConnectionRefusedError):
        reason = "connection refused (nothing listens on that port)"
    elif isinstance(exc, TimeoutError | asyncpg.exceptions.ConnectionDoesNotExistError):
        reason = "no answer within 10s" if isinstance(exc, TimeoutError) else "connection closed by the server"
    elif isinstance(exc, OSError):
        reason = exc.strerror or text
    else:
        reason = text
    hint = (f"check that PostgreSQL is running and reachable from here, and {cfg}.host / {cfg}.port "
            "(Helm: postgresql.external.host / port)")
    return Failure(True, reason, hint, "")


def _server_refused(exc: asyncpg.PostgresError, pg: PostgresConfig, where: str, cfg: str) -> Failure:
    code = getattr(exc, "sqlstate", "") or ""
    msg = str(exc)
    head = f"failed to connect to database: {where}: {msg}"
    if code == "28P01":
        hint = (f"the password for user \"{pg.user}\" is wrong: set {cfg}.password (usually "
                "\"env.BIFROST_POSTGRES_PASSWORD\"; Helm: the Secret in postgresql.external.existingSecret, key "
                "postgresql.external.passwordKey) to that user's password")
        return Failure(False, msg, hint, f"{head}; {hint}")
    if code == "28000" and "no encryption" in msg:
        hint = (f"the server only accepts SSL connections but {cfg}.ssl_mode is \"{pg.ssl_mode}\": set {cfg}.ssl_mode "
                "to \"require\" (or \"verify-full\" with a trusted CA; Helm: postgresql.external.sslMode)")
        return Failure(False, msg, hint, f"{head}; {hint}")
    if code == "28000" and "pg_hba.conf" in msg:
        hint = (f"the server's pg_hba.conf has no line admitting user \"{pg.user}\" to database \"{pg.db_name}\" "
                f"from this address: add one on the server, or check {cfg}.user / {cfg}.db_name / {cfg}.ssl_mode")
        return Failure(False, msg, hint, f"{head}; {hint}")
    if code == "28000":
        hint = (f"the role \"{pg.user}\" cannot log in: check {cfg}.user, or create it on the server "
                f"(CREATE ROLE {pg.user} LOGIN PASSWORD '...')")
        return Failure(False, msg, hint, f"{head}; {hint}")
    if code == "3D000":
        hint = (f"create the database (as a superuser: {create_database_sql(pg)}) or fix {cfg}.db_name "
                "(Helm: postgresql.external.database)")
        return Failure(False, msg, hint, f"{head}; {hint}")
    # Starting up, shutting down (admin/crash), too many connections, connection lost: waiting can fix these.
    if code in ("57P03", "57P01", "57P02", "53300", "08006", "08001", "08003"):
        return Failure(True, msg, "wait for the server to accept connections, or raise its max_connections", "")
    hint = f"the server refused the connection (SQLSTATE {code}); check {cfg}"
    return Failure(False, msg, hint, f"{head}; {hint}")
