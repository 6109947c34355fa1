"""Options of `bifrost mock`: one msgspec Struct, filled from argparse or built directly by tests."""

from __future__ import annotations

import argparse

import msgspec

DEFAULT_MODELS = ("gpt-4o-mini", "gpt-4o", "text-embedding-3-small")


class MockOptions(msgspec.Struct, kw_only=True):
    """Everything the mock can be told at start. All fields have the CLI's defaults."""

    host: str = "127.0.0.1"
    port: int = 18000  # 0 = pick a free port
    latency_ms: float = 0.0  # delay before the first byte of every inference response
    chunks: int = 20  # content chunks per stream (and completion tokens per answer)
    chunk_interval_ms: float = 5.0  # delay between two stream content chunks
    embedding_dim: int = 16
    require_keys: tuple[str, ...] = ()  # empty = no auth check
    record: bool = True  # keep the last `record_limit` requests for GET /mock/requests
    record_limit: int = 2000
    models: tuple[str, ...] = DEFAULT_MODELS
    backlog: int = 4096


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the mock's options to the `bifrost mock` subparser (or any parser)."""
    d = MockOptions()
    parser.add_argument("--host", default=d.host, help="address to listen on (default %(default)s)")
    parser.add_argument(
        "--port", type=int, default=d.port, help="port to listen on; 0 picks a free one (default %(default)s)"
    )
    parser.add_argument(
        "--latency-ms",
        type=float,
        default=d.latency_ms,
        help="delay before the first byte (default %(default)s)",
    )
    parser.add_argument("--chunks", type=int, default=d.chunks, help="content chunks per stream (default %(default)s)")
    parser.add_argument(
        "--chunk-interval-ms",
        type=float,
        default=d.chunk_interval_ms,
        help="delay between stream chunks (default %(default)s)",
    )
    parser.add_argument(
        "--embedding-dim",
        type=int,
        default=d.embedding_dim,
        help="embedding vector size (default %(default)s)",
    )
    parser.add_argument(
        "--require-key",
        action="append",
        default=None,
        metavar="KEY",
        help="accept only `Authorization: Bearer KEY` (`x-api-key: KEY` on Anthropic routes; repeatable)",
    )
    parser.add_argument(
        "--record",
        action=argparse.BooleanOptionalAction,
        default=d.record,
        help=f"record received requests for GET /mock/requests (last {d.record_limit}; default on)",
    )
    parser.add_argument(
        "--models",
        default=",".join(d.models),
        help="comma-separated model ids listed by /v1/models (default %(default)s)",
    )


def options_from_args(args: argparse.Namespace) -> MockOptions:
    """Build MockOptions from parsed arguments; missing attributes keep their defaults."""
    d = MockOptions()
    models = getattr(args, "models", None)
    if isinstance(models, str):
        model_list = tuple(m.strip() for m in models.split(",") if m.strip())
    elif models:
        model_list = tuple(models)
    else:
        model_list = d.models
    return MockOptions(
        host=getattr(args, "host", d.host),
        port=int(getattr(args, "port", d.port)),
        latency_ms=float(getattr(args, "latency_ms", d.latency_ms)),
        chunks=max(0, int(getattr(args, "chunks", d.chunks))),
        chunk_interval_ms=max(0.0, float(getattr(args, "chunk_interval_ms", d.chunk_interval_ms))),
        embedding_dim=max(1, int(getattr(args, "embedding_dim", d.embedding_dim))),
        require_keys=tuple(getattr(args, "require_key", None) or ()),
        record=bool(getattr(args, "record", d.record)),
        models=model_list,
    )
