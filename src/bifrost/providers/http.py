"""Upstream HTTP helpers shared by the clients: SSE parsing and error mapping.

Network failures become `UpstreamConnectionError` / `UpstreamTimeoutError` (retryable); an error
status becomes `UpstreamError` carrying the upstream's status and message. The client itself is
`fasthttp.FastHttpClient` (docs/decisions.md says why not aiohttp).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from bifrost.schemas.errors import (
    UpstreamConnectionError,
    UpstreamError,
)
from bifrost.schemas.inference import StreamEvent

_decode = msgspec.json.decode
_encode = msgspec.json.encode


def parse_sse_block(block: bytes) -> StreamEvent | None:
    """Parse one SSE event block (lines, no trailing blank line). Comments yield None."""
    if block.startswith(b"data: ") and b"\n" not in block:
        return StreamEvent(block[6:])
    data: list[bytes] = []
    event: str | None = None
    for line in block.split(b"\n"):
        if not line or line.startswith(b":"):
            continue
        name, _, value = line.partition(b":")
        if value.startswith(b" "):
            value = value[1:]
        if name == b"data":
            data.append(value)
        elif name == b"event":
            event = value.decode()
    if not data:
        return None
    return StreamEvent(b"\n".join(data), event)


def exc_reason(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text


def connection_error(provider: str, url: str, exc: BaseException) -> UpstreamConnectionError:
    bare = url.partition("?")[0]  # never the query: it may carry an API key (Vertex's ?key=)
    host = bare.split("/")[2] if "://" in bare else bare
    return UpstreamConnectionError(
        f"could not reach {provider} at {host}: {exc_reason(exc)}; check "
        f"providers.{provider}.network_config.base_url and that the host is reachable",
        provider=provider,
    )


def _retry_after(headers: Mapping[str, str]) -> float | None:
    v = headers.get("Retry-After") or headers.get("retry-after")
    if not v:
        return None
    try:
        return max(0.0, float(v))
    except ValueError:
        return None  # an HTTP date: rare from LLM APIs; fall back to our own backoff


def upstream_error(provider: str, status: int, data: bytes, headers: Mapping[str, str]) -> UpstreamError:
    """Map an upstream error answer to Bifrost's error, keeping status and message."""
    parsed: Any = None
    message = ""
    etype = code = param = None
    try:
        parsed = _decode(data) if data else None
    except msgspec.DecodeError:
        parsed = None
    if isinstance(parsed, dict):
        err = parsed.get("error", parsed)
        if isinstance(err, dict):
            m = err.get("message") or err.get("detail") or ""
            # Mistral's 422 puts the validation details (an object) in `message`: keep them as JSON.
            message = m if isinstance(m, str) else _encode(m).decode()
            etype = err.get("type")
            code = err.get("code")
            param = err.get("param")
        elif isinstance(err, str):
            message = err
        if not message and isinstance(parsed.get("message"), str):
            message = parsed["message"]
    elif isinstance(parsed, str):
        message = parsed
    if not message:
        text = data.decode("utf-8", "replace").strip()[:500]
        message = text or f"{provider} answered HTTP {status} with an empty body"
    ra = _retry_after(headers)
    hdrs = {"Retry-After": headers["Retry-After"]} if "Retry-After" in headers else None
    return UpstreamError(
        message, status=status, type=etype if isinstance(etype, str) else None,
        code=code if isinstance(code, str | int) else None, param=param if isinstance(param, str) else None,
        provider=provider, retry_after=ra, headers=hdrs,
        raw_response=parsed if parsed is not None else None,
    )
