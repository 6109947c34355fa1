"""The logs store's tables, shaped after Bifrost's `logs` table (framework/logstore/tables.go).

`logs` keeps one row per attempt (a fallback is its own row with `fallback_index` and
`parent_request_id`, as in Bifrost). `timestamp` is epoch microseconds (an integer compares and
indexes the same way on SQLite and PostgreSQL, and makes the keyset cursor exact).

`logs_hourly` is a rollup written in the same transaction as the rows it counts, so totals,
success rate, latency and tokens over any hour-aligned range with provider/model/status filters
are a few hundred rows to sum instead of millions (Bifrost needs materialized views for this).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Float, Index, Integer, MetaData, String, Table, Text, false

metadata = MetaData()

logs = Table(
    "logs", metadata,
    Column("id", String(64), primary_key=True),
    Column("parent_request_id", String(64), nullable=True),
    Column("timestamp", BigInteger, nullable=False),  # epoch microseconds, UTC
    Column("object_type", String(32), nullable=False),  # chat.completion, text.completion, embedding, ...
    Column("provider", String(255), nullable=False),
    Column("model", String(255), nullable=False),
    Column("number_of_retries", Integer, nullable=False, server_default="0"),
    Column("fallback_index", Integer, nullable=False, server_default="0"),
    Column("status", String(16), nullable=False),  # success | error
    Column("stream", Boolean, nullable=False, server_default=false()),
    Column("latency", Float, nullable=True),  # milliseconds
    Column("prompt_tokens", Integer, nullable=False, server_default="0"),
    Column("completion_tokens", Integer, nullable=False, server_default="0"),
    Column("total_tokens", Integer, nullable=False, server_default="0"),
    Column("cached_read_tokens", Integer, nullable=False, server_default="0"),
    Column("reasoning_tokens", Integer, nullable=False, server_default="0"),
    Column("cost", Float, nullable=True),  # USD from the pricing catalog; NULL: the model has no price
    Column("stop_reason", String(50), nullable=True),
    Column("input_history", Text, nullable=True),  # JSON: the request's messages / input / prompt
    Column("output_message", Text, nullable=True),  # JSON: the assistant message (or the output)
    Column("params", Text, nullable=True),  # JSON: the request's other parameters
    Column("token_usage", Text, nullable=True),  # JSON: the usage object as the provider sent it
    Column("error_details", Text, nullable=True),  # JSON: Bifrost's error shape
    Column("content_summary", Text, nullable=True),  # last user message + reply, for content search
    # Indexes for the queries /api/logs makes: newest first (keyset on (timestamp, id)), and the
    # same order within one provider, model or status, so a filtered page reads only its rows.
    Index("ix_logs_ts_id", "timestamp", "id"),
    Index("ix_logs_provider_ts", "provider", "timestamp", "id"),
    Index("ix_logs_model_ts", "model", "timestamp", "id"),
    Index("ix_logs_status_ts", "status", "timestamp", "id"),
    # Range filters (min/max latency and tokens), as Bifrost indexes them.
    Index("ix_logs_latency", "latency"),
    Index("ix_logs_total_tokens", "total_tokens"),
    Index("ix_logs_cost", "cost"),
)

logs_hourly = Table(
    "logs_hourly", metadata,
    Column("hour", BigInteger, primary_key=True),  # epoch seconds of the hour's start
    Column("provider", String(255), primary_key=True),
    Column("model", String(255), primary_key=True),
    Column("status", String(16), primary_key=True),
    Column("requests", BigInteger, nullable=False, server_default="0"),
    Column("roots", BigInteger, nullable=False, server_default="0"),  # fallback_index = 0
    Column("root_successes", BigInteger, nullable=False, server_default="0"),
    Column("latency_sum", Float, nullable=False, server_default="0"),
    Column("latency_count", BigInteger, nullable=False, server_default="0"),
    Column("prompt_tokens", BigInteger, nullable=False, server_default="0"),
    Column("completion_tokens", BigInteger, nullable=False, server_default="0"),
    Column("total_tokens", BigInteger, nullable=False, server_default="0"),
    Column("cached_read_tokens", BigInteger, nullable=False, server_default="0"),
    Column("cost", Float, nullable=False, server_default="0"),  # sum of the known costs
)

ROLLUP_SUMS = ("requests", "roots", "root_successes", "latency_sum", "latency_count", "prompt_tokens",
               "completion_tokens", "total_tokens", "cached_read_tokens", "cost")
