"""Governance: budgets, rate limits, customers, teams and virtual keys (hashed, value encrypted).

Revision ID: config_0002
Revises: config_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "config_0002"
down_revision = "config_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "governance_entities",
        sa.Column("kind", sa.String(32), primary_key=True),
        sa.Column("id", sa.String(255), primary_key=True),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("value_hash", sa.String(64), nullable=True),
        sa.Column("encryption_status", sa.String(16), nullable=False, server_default="plain_text"),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_index("ix_governance_entities_value_hash", "governance_entities", ["value_hash"])


def downgrade() -> None:
    op.drop_index("ix_governance_entities_value_hash", table_name="governance_entities")
    op.drop_table("governance_entities")
