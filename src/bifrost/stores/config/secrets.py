"""Which fields of Bifrost's JSON shapes are secrets, and encrypting them in place.

A literal secret is encrypted when a key is set; an `env.VAR` reference is stored as the
reference (never the value) and never encrypted: it is not a secret, and a base64 ciphertext can
never start with "env." (the alphabet has no "."), so reading back is unambiguous.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# Nested secret fields of a key body: config object -> its secret fields.
KEY_CONFIG_SECRETS: dict[str, tuple[str, ...]] = {
    "azure_key_config": ("client_secret",),
    "bedrock_key_config": ("access_key", "secret_key", "session_token"),
    "vertex_key_config": ("auth_credentials",),
}


def is_literal(value: Any) -> bool:
    """A non-empty string that is not an env.VAR reference: what gets encrypted."""
    return isinstance(value, str) and value != "" and not value.startswith("env.")


def transform_key_body(body: dict[str, Any], fn: Callable[[str], str]) -> dict[str, Any]:
    """A copy of a key body (without "value") with every nested literal secret passed through `fn`."""
    out = dict(body)
    for section, fields in KEY_CONFIG_SECRETS.items():
        cfg = out.get(section)
        if not isinstance(cfg, dict):
            continue
        cfg = dict(cfg)
        for f in fields:
            if is_literal(cfg.get(f)):
                cfg[f] = fn(cfg[f])
        out[section] = cfg
    return out


def transform_value(value: str, fn: Callable[[str], str]) -> str:
    return fn(value) if is_literal(value) else value
