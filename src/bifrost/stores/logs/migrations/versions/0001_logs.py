"""The logs table and its hourly rollup.

Revision ID: logs_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "logs_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "logs",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("parent_request_id", sa.String(64), nullable=True),
        sa.Column("timestamp", sa.BigInteger, nullable=False),
        sa.Column("object_type", sa.String(32), nullable=False),
        sa.Column("provider", sa.String(255), nullable=False),
        sa.Column("model", sa.String(255), nullable=False),
        sa.Column("number_of_retries", sa.Integer, nullable=False, server_default="0"),
        sa.Column("fallback_index", sa.Integer, nullable=False, server_default="0"),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("stream", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("latency", sa.Float, nullable=True),
        sa.Column("prompt_tokens", sa.Integer, nullable=False, server_default="0"),
        sa.Column("completion_tokens", sa.Integer, nullable=False, server_default="0"),
        sa.Column("total_tokens", sa.Integer, nullable=False, server_default="0"),
        sa.Column("cached_read_tokens", sa.Integer, nullable=False, server_default="0"),
        sa.Column("reasoning_tokens", sa.Integer, nullable=False, server_default="0"),
        sa.Column("stop_reason", sa.String(50), nullable=True),
        sa.Column("input_history", sa.Text, nullable=True),
        sa.Column("output_message", sa.Text, nullable=True),
        sa.Column("params", sa.Text, nullable=True),
        sa.Column("token_usage", sa.Text, nullable=True),
        sa.Column("error_details", sa.Text, nullable=True),
        sa.Column("content_summary", sa.Text, nullable=True),
    )
    op.create_index("ix_logs_ts_id", "logs", ["timestamp", "id"])
    op.create_index("ix_logs_provider_ts", "logs", ["provider", "timestamp", "id"])
    op.create_index("ix_logs_model_ts", "logs", ["model", "timestamp", "id"])
    op.create_index("ix_logs_status_ts", "logs", ["status", "timestamp", "id"])
    op.create_index("ix_logs_latency", "logs", ["latency"])
    op.create_index("ix_logs_total_tokens", "logs", ["total_tokens"])
    op.create_table(
        "logs_hourly",
        sa.Column("hour", sa.BigInteger, primary_key=True),
        sa.Column("provider", sa.String(255), primary_key=True),
        sa.Column("model", sa.String(255), primary_key=True),
        sa.Column("status", sa.String(16), primary_key=True),
        sa.Column("requests", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("roots", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("root_successes", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("latency_sum", sa.Float, nullable=False, server_default="0"),
        sa.Column("latency_count", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("prompt_tokens", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("completion_tokens", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("total_tokens", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("cached_read_tokens", sa.BigInteger, nullable=False, server_default="0"),
    )


def downgrade() -> None:
    op.drop_table("logs_hourly")
    op.drop_table("logs")
