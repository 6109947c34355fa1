"""What the engine and the server need from the stores, and nothing about SQL.

Bodies are Bifrost's JSON shapes (a provider as it appears under `providers.<name>` in config.json,
`client` as in config.json), so config.json, the store and the management API speak one language
and the loader's validation applies to all three. Secrets come back decrypted; encryption at rest
is the store's business.
"""

from __future__ import annotations

from typing import Any, Protocol

import msgspec


class Session(msgspec.Struct, frozen=True, kw_only=True):
    token_hash: str  # SHA-256 hex of the session token; the token itself is never stored
    username: str
    expires_at: float  # unix seconds


class ConfigStore(Protocol):
    """The config store: providers (with keys), client config, plugins, admin auth, sessions."""

    async def get_providers(self) -> dict[str, dict[str, Any]]: ...
    async def put_provider(self, name: str, body: dict[str, Any]) -> None: ...
    async def delete_provider(self, name: str) -> bool: ...

    async def get_client_config(self) -> dict[str, Any] | None: ...
    async def put_client_config(self, body: dict[str, Any]) -> None: ...

    async def get_plugins(self) -> list[dict[str, Any]]: ...
    async def put_plugin(self, name: str, body: dict[str, Any]) -> None: ...

    # Admin auth: the password is stored as a hash (never in plaintext, never encrypted-reversible).
    async def get_admin(self) -> tuple[str, str] | None: ...  # (username, password_hash)
    async def put_admin(self, username: str, password_hash: str) -> None: ...

    async def put_session(self, session: Session) -> None: ...
    async def get_session(self, token_hash: str) -> Session | None: ...
    async def delete_session(self, token_hash: str) -> None: ...

    # Governance entities by kind and id, in Bifrost's JSON shapes; a virtual key's plaintext `value`
    # is never kept as such (see stores/config/governance.py).
    async def get_governance(self) -> dict[str, dict[str, dict[str, Any]]]: ...
    async def put_governance(self, kind: str, eid: str, body: dict[str, Any]) -> None: ...
    async def delete_governance(self, kind: str, eid: str) -> bool: ...

    async def ping(self) -> None: ...
    async def close(self) -> None: ...


class MemoryConfigStore:
    """`config_store.enabled: false` (file-only mode) and unit tests: the same contract, in memory."""

    def __init__(self) -> None:
        self.providers: dict[str, dict[str, Any]] = {}
        self.client: dict[str, Any] | None = None
        self.plugins: dict[str, dict[str, Any]] = {}
        self.admin: tuple[str, str] | None = None
        self.sessions: dict[str, Session] = {}
        self.governance: dict[str, dict[str, dict[str, Any]]] = {}

    async def get_providers(self) -> dict[str, dict[str, Any]]:
        return dict(self.providers)

    async def put_provider(self, name: str, body: dict[str, Any]) -> None:
        self.providers[name] = body

    async def delete_provider(self, name: str) -> bool:
        return self.providers.pop(name, None) is not None

    async def get_client_config(self) -> dict[str, Any] | None:
        return self.client

    async def put_client_config(self, body: dict[str, Any]) -> None:
        self.client = body

    async def get_plugins(self) -> list[dict[str, Any]]:
        return list(self.plugins.values())

    async def put_plugin(self, name: str, body: dict[str, Any]) -> None:
        self.plugins[name] = body

    async def get_admin(self) -> tuple[str, str] | None:
        return self.admin

    async def put_admin(self, username: str, password_hash: str) -> None:
        self.admin = (username, password_hash)

    async def put_session(self, session: Session) -> None:
        self.sessions[session.token_hash] = session

    async def get_session(self, token_hash: str) -> Session | None:
        return self.sessions.get(token_hash)

    async def delete_session(self, token_hash: str) -> None:
        self.sessions.pop(token_hash, None)

    async def get_governance(self) -> dict[str, dict[str, dict[str, Any]]]:
        return {k: dict(v) for k, v in self.governance.items()}

    async def put_governance(self, kind: str, eid: str, body: dict[str, Any]) -> None:
        if kind == "virtual_keys":  # as the SQL store without a key: the plaintext value is not kept
            body = {k: v for k, v in body.items() if k != "value"}
        self.governance.setdefault(kind, {})[eid] = body

    async def delete_governance(self, kind: str, eid: str) -> bool:
        return self.governance.get(kind, {}).pop(eid, None) is not None

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        return None
