"""Request cost: `logs.cost` (USD, NULL when the model has no price) and its hourly sum.

Revision ID: logs_0002
Revises: logs_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "logs_0002"
down_revision = "logs_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("logs") as b:
        b.add_column(sa.Column("cost", sa.Float, nullable=True))
    op.create_index("ix_logs_cost", "logs", ["cost"])
    with op.batch_alter_table("logs_hourly") as b:
        b.add_column(sa.Column("cost", sa.Float, nullable=False, server_default="0"))


def downgrade() -> None:
    op.drop_index("ix_logs_cost", "logs")
    with op.batch_alter_table("logs_hourly") as b:
        b.drop_column("cost")
    with op.batch_alter_table("logs") as b:
        b.drop_column("cost")
