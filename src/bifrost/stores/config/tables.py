"""The config store's tables (SQLAlchemy Core), shared by the store and its first migration.

Bodies are Bifrost's JSON shapes, stored as JSON text. Secret fields (a key's value and the secrets
of its azure/bedrock/vertex configs, a plugin's config) are encrypted in place when a key is set;
`encryption_status` says which rows are (`plain_text` | `encrypted`, as Bifrost's columns).
`config_hash` is the hash of the config.json entity last synced into the row (None: created
through the API), which is how start-up tells "the file changed" from "the API changed the store".
"""

from __future__ import annotations

from sqlalchemy import Column, Float, ForeignKey, Integer, MetaData, String, Table, Text

PLAIN = "plain_text"
ENCRYPTED = "encrypted"

metadata = MetaData()

meta = Table(
    "config_meta", metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

providers = Table(
    "config_providers", metadata,
    Column("name", String(255), primary_key=True),
    Column("body", Text, nullable=False),  # the provider JSON without "keys"
    Column("config_hash", String(64), nullable=True),
    Column("updated_at", Float, nullable=False),
)

keys = Table(
    "config_keys", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("provider", String(255), ForeignKey("config_providers.name", ondelete="CASCADE"), nullable=False,
           index=True),
    Column("position", Integer, nullable=False),
    Column("name", String(255), nullable=False),
    Column("value", Text, nullable=False),  # literal: encrypted when a key is set; env.VAR: the reference
    Column("body", Text, nullable=False),  # the rest of the key JSON, nested secrets encrypted in place
    Column("encryption_status", String(16), nullable=False, server_default=PLAIN),
)

client = Table(
    "config_client", metadata,
    Column("id", Integer, primary_key=True),  # always 1
    Column("body", Text, nullable=False),
    Column("config_hash", String(64), nullable=True),
)

plugins = Table(
    "config_plugins", metadata,
    Column("name", String(255), primary_key=True),
    Column("body", Text, nullable=False),  # the plugin JSON; encrypted as a whole when a key is set
    Column("config_hash", String(64), nullable=True),
    Column("encryption_status", String(16), nullable=False, server_default=PLAIN),
)

admin = Table(
    "config_admin", metadata,
    Column("id", Integer, primary_key=True),  # always 1
    Column("username", String(255), nullable=False),
    Column("password_hash", Text, nullable=False),
)

sessions = Table(
    "config_sessions", metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("username", String(255), nullable=False),
    Column("expires_at", Float, nullable=False),
)

ENCRYPTABLE = (keys, plugins)

governance = Table(
    "governance_entities", metadata,
    Column("kind", String(32), primary_key=True),  # budgets | rate_limits | customers | teams | virtual_keys
    Column("id", String(255), primary_key=True),
    Column("body", Text, nullable=False),
    Column("value_hash", String(64), nullable=True, index=True),  # virtual keys: SHA-256 of the value
    Column("encryption_status", String(16), nullable=False, server_default=PLAIN),
    Column("updated_at", Float, nullable=False),
)
