"""Config store: providers, keys, client config, plugins, admin, sessions, meta (encryption canary).

Revision ID: config_0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "config_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "config_meta",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "config_providers",
        sa.Column("name", sa.String(255), primary_key=True),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("config_hash", sa.String(64), nullable=True),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_table(
        "config_keys",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("provider", sa.String(255), sa.ForeignKey("config_providers.name", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("encryption_status", sa.String(16), nullable=False, server_default="plain_text"),
    )
    op.create_index("ix_config_keys_provider", "config_keys", ["provider"])
    op.create_table(
        "config_client",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("config_hash", sa.String(64), nullable=True),
    )
    op.create_table(
        "config_plugins",
        sa.Column("name", sa.String(255), primary_key=True),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("config_hash", sa.String(64), nullable=True),
        sa.Column("encryption_status", sa.String(16), nullable=False, server_default="plain_text"),
    )
    op.create_table(
        "config_admin",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("username", sa.String(255), nullable=False),
        sa.Column("password_hash", sa.Text, nullable=False),
    )
    op.create_table(
        "config_sessions",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("username", sa.String(255), nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    for name in ("config_sessions", "config_admin", "config_plugins", "config_client", "config_keys",
                 "config_providers", "config_meta"):
        op.drop_table(name)
