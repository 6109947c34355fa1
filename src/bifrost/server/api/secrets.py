"""Secrets in API bodies: Bifrost's EnvVar shape out, redacted; and the round trip back in.

A secret field is answered as `{"value", "env_var", "from_env"}` as Bifrost does: a plain value is
redacted (first 4 + 24 `*` + last 4, or all `*` when 8 characters or fewer), an `env.VAR` reference
is shown as its reference with the resolved value redacted. A client (or Bifrost's UI) that sends a
redacted value back unchanged keeps the stored secret; a redacted value that matches nothing is
refused rather than stored as if it were a key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bifrost.server.api.common import ApiError

REDACTED = "<redacted>"
# Per key sub-config: field -> whether it is a secret (redacted) or only shown in the EnvVar shape.
SUB_CONFIGS: dict[str, dict[str, bool]] = {
    "azure_key_config": {"endpoint": False, "api_version": False, "client_id": False, "client_secret": True,
                         "tenant_id": False},
    "vertex_key_config": {"project_id": False, "project_number": False, "region": False,
                          "auth_credentials": True},
    "bedrock_key_config": {"access_key": True, "secret_key": True, "session_token": True, "region": False},
}


def redact(value: str) -> str:
    if not value:
        return ""
    if len(value) <= 8:
        return "*" * len(value)
    return value[:4] + "*" * 24 + value[-4:]


def is_redacted(value: str) -> bool:
    if not value:
        return False
    if len(value) <= 8:
        return value.count("*") == len(value)
    if len(value) == 32 and value[4:28] == "*" * 24:
        return True
    return value.lower() in ("<redacted>", "[redacted]")


def env_var_out(raw: Any, env: Mapping[str, str], secret: bool) -> Any:
    if not isinstance(raw, str):
        return raw
    if raw.startswith("env."):
        return {"value": redact(env.get(raw[4:], "")), "env_var": raw, "from_env": True}
    return {"value": redact(raw) if secret else raw, "env_var": "", "from_env": False}


def env_var_in(value: Any) -> Any:
    """Bifrost accepts a plain string or the EnvVar object; we store the string (`env.VAR` or value)."""
    if isinstance(value, dict) and "value" in value and "env_var" in value:
        ref = value.get("env_var")
        if isinstance(ref, str) and ref.startswith("env.") and (value.get("from_env") or not value.get("value")):
            return ref
        return value.get("value")
    return value


def key_out(key: dict[str, Any], env: Mapping[str, str]) -> dict[str, Any]:
    out = dict(key)
    if "value" in out:
        out["value"] = env_var_out(out["value"], env, True)
    for sub, fields in SUB_CONFIGS.items():
        cfg = out.get(sub)
        if isinstance(cfg, dict):
            out[sub] = {k: (env_var_out(v, env, fields[k]) if k in fields else v) for k, v in cfg.items()}
    return out


def keys_in(keys: Any, old_keys: list[dict[str, Any]], env: Mapping[str, str], where: str) -> Any:
    """Normalise incoming keys; a redacted secret sent back unchanged takes the stored value."""
    if not isinstance(keys, list):
        return keys  # the loader reports the type problem with its path
    by_id = {k.get("id"): k for k in old_keys if k.get("id")}
    by_name = {k.get("name"): k for k in old_keys if k.get("name")}
    out = []
    for i, key in enumerate(keys):
        if not isinstance(key, dict):
            out.append(key)
            continue
        old = by_id.get(key.get("id")) or by_name.get(key.get("name")) or {}
        new = dict(key)
        if "value" in new:
            new["value"] = _restore(new["value"], old.get("value"), env, True, f"{where}.keys[{i}].value")
        for sub, fields in SUB_CONFIGS.items():
            cfg = new.get(sub)
            if isinstance(cfg, dict):
                old_sub = old.get(sub)
                old_cfg: dict[str, Any] = old_sub if isinstance(old_sub, dict) else {}
                new[sub] = {k: (_restore(v, old_cfg.get(k), env, fields[k], f"{where}.keys[{i}].{sub}.{k}")
                                if k in fields else v) for k, v in cfg.items()}
        if old.get("id") and not new.get("id"):
            new["id"] = old["id"]
        out.append(new)
    return out


def _restore(value: Any, old: Any, env: Mapping[str, str], secret: bool, path: str) -> Any:
    value = env_var_in(value)
    if not isinstance(value, str) or not secret or not is_redacted(value):
        return value
    if isinstance(old, str):
        shown = env_var_out(old, env, True)
        if value in (shown["value"], REDACTED) or (shown["from_env"] and value == old):
            return old
    raise ApiError(400, f"{path}: the value is redacted ({value!r}) and matches no stored key; send the real "
                        "secret or an env.VAR reference (a redacted value is accepted only unchanged, for the "
                        "same key id or name)")
