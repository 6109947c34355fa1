"""Parsing of the top-level sections that configure persistence and admin auth.

`config_store`, `logs_store`, `encryption_key` and `auth_config`, in Bifrost's shape. Kept out of
loader.py so each section's rules read on their own; the `_Reader` does the typing and env.VAR work.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from bifrost.config.model import AuthConfig, PostgresConfig, StoreConfig

if TYPE_CHECKING:
    from bifrost.config.loader import _Reader

_PG_KEYS = {"host", "port", "user", "password", "db_name", "ssl_mode", "max_open_conns", "max_idle_conns",
            "matview_refresh_interval", "password_command", "conn_max_lifetime"}
SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")


def store(r: _Reader, name: str, value: Any) -> StoreConfig:
    """`$.config_store` / `$.logs_store`; absent means the embedded SQLite default."""
    p = f"$.{name}"
    if value is None:
        return StoreConfig()
    obj = r.obj(p, value)
    if obj is None:
        return StoreConfig()
    r.check_keys(p, obj, {"enabled", "type", "config"}, {"enabled", "type", "config", "retention_days"})
    enabled = r.boolean(f"{p}.enabled", obj.get("enabled"), True)
    kind = r.string(f"{p}.type", obj.get("type"), env=False) or "sqlite"
    if kind not in ("sqlite", "postgres"):
        r.problems.append(f'{p}.type: expected "sqlite" or "postgres", found "{kind}"')
        return StoreConfig(enabled=enabled)
    cfg = r.obj(f"{p}.config", obj.get("config")) or {}
    if kind == "sqlite":
        r.check_keys(f"{p}.config", cfg, {"path"}, {"path"})
        path = r.string(f"{p}.config.path", cfg.get("path"))
        return StoreConfig(enabled=enabled, type="sqlite", path=path or None)
    return StoreConfig(enabled=enabled, type="postgres", postgres=_postgres(r, f"{p}.config", cfg) if enabled else None)


def _postgres(r: _Reader, p: str, c: dict[str, Any]) -> PostgresConfig | None:
    r.check_keys(p, c, _PG_KEYS - {"matview_refresh_interval", "password_command", "conn_max_lifetime"}, _PG_KEYS)
    missing = [k for k in ("host", "user", "db_name") if not c.get(k)]
    if missing:
        r.problems.append(f"{p}: {', '.join(missing)} required for a postgres store "
                          '(e.g. {"host": "postgres", "port": "5432", "user": "bifrost", "db_name": "bifrost", '
                          '"ssl_mode": "disable", "password": "env.BIFROST_POSTGRES_PASSWORD"})')
        return None
    port_raw = c.get("port", 5432)
    port_s = r.string(f"{p}.port", str(port_raw) if isinstance(port_raw, int) else port_raw) or "5432"
    if not port_s.isdigit() or not 0 < int(port_s) < 65536:
        r.problems.append(f'{p}.port: expected a port number such as "5432", found "{port_s}"')
        port_s = "5432"
    ssl = (r.string(f"{p}.ssl_mode", c.get("ssl_mode")) or "disable").lower()
    if ssl not in SSL_MODES:
        r.problems.append(f'{p}.ssl_mode: expected one of {", ".join(SSL_MODES)}, found "{ssl}"')
    return PostgresConfig(
        host=r.string(f"{p}.host", c.get("host")) or "",
        port=int(port_s),
        user=r.string(f"{p}.user", c.get("user")) or "",
        password=r.string(f"{p}.password", c.get("password")) or "",
        db_name=r.string(f"{p}.db_name", c.get("db_name")) or "",
        ssl_mode=ssl,
        max_open_conns=int(r.number(f"{p}.max_open_conns", c.get("max_open_conns"), 50, minimum=2)),
        max_idle_conns=int(r.number(f"{p}.max_idle_conns", c.get("max_idle_conns"), 5, minimum=0)),
    )


def encryption_key(r: _Reader, value: Any, env: Mapping[str, str]) -> str | None:
    """`encryption_key` (may be `env.VAR`), else BIFROST_ENCRYPTION_KEY, else None (plaintext)."""
    if value is not None:
        if isinstance(value, str) and value.startswith("env."):
            var = value[4:]
            got = env.get(var)
            if not got:
                r.problems.append(f"$.encryption_key: encryption key is required: {var} is not set "
                                  "(referenced by encryption_key); set it, or remove encryption_key to store "
                                  "secrets in plaintext")
                return None
            return got
        key = r.string("$.encryption_key", value, env=False)
        if key:
            return key
    return env.get("BIFROST_ENCRYPTION_KEY") or None


def auth(r: _Reader, value: Any, env: Mapping[str, str]) -> AuthConfig:
    """`auth_config`; BIFROST_ADMIN_USERNAME / BIFROST_ADMIN_PASSWORD fill what it leaves out."""
    obj = r.obj("$.auth_config", value) if value is not None else {}
    obj = obj or {}
    p = "$.auth_config"
    keys = {"admin_username", "admin_password", "is_enabled", "disable_auth_on_inference"}
    r.check_keys(p, obj, keys, keys)
    user = r.string(f"{p}.admin_username", obj.get("admin_username")) or env.get("BIFROST_ADMIN_USERNAME", "")
    pwd = r.string(f"{p}.admin_password", obj.get("admin_password")) or env.get("BIFROST_ADMIN_PASSWORD", "")
    enabled = r.boolean(f"{p}.is_enabled", obj.get("is_enabled"), bool(value is not None and user and pwd))
    if enabled and not (user and pwd):
        r.problems.append(f"{p}: is_enabled is true but admin_username/admin_password are empty; set them "
                          "(or BIFROST_ADMIN_USERNAME / BIFROST_ADMIN_PASSWORD)")
    return AuthConfig(admin_username=user, admin_password=pwd, is_enabled=enabled,
                      disable_auth_on_inference=r.boolean(f"{p}.disable_auth_on_inference",
                                                          obj.get("disable_auth_on_inference"), False))


def framework(r: _Reader, value: Any) -> str | None:
    """`$.framework.pricing`: the price sheet's URL (read once from a file:// URL or path; never fetched)."""
    obj = r.obj("$.framework", value)
    if obj is None:
        return None
    r.check_keys("$.framework", obj, {"pricing"}, {"pricing"})
    pricing = r.obj("$.framework.pricing", obj.get("pricing"))
    if pricing is None:
        return None
    r.check_keys("$.framework.pricing", pricing, {"pricing_url", "pricing_sync_interval"},
                 {"pricing_url", "pricing_sync_interval"})
    if pricing.get("pricing_sync_interval") is not None:
        r.notices.append("$.framework.pricing.pricing_sync_interval: prices are read once at start "
                         "(no network sync); ignored")
    return r.string("$.framework.pricing.pricing_url", pricing.get("pricing_url")) or None
