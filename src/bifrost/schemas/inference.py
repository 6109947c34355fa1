"""The neutral request and response types that flow between the server, engine and providers.

The neutral schema is OpenAI's wire format, as in Bifrost: a request body is an OpenAI-shaped
dict (unknown fields kept, so they pass through to OpenAI-compatible upstreams unchanged), and a
response is OpenAI-shaped JSON bytes that the engine does not re-encode. Native providers
translate from and to this format.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import msgspec

CHAT = "chat_completion"
TEXT = "text_completion"
EMBEDDING = "embedding"
RESPONSES = "responses"
RERANK = "rerank"
LIST_MODELS = "list_models"


class Target(msgspec.Struct, frozen=True):
    provider: str
    model: str

    def __str__(self) -> str:
        return f"{self.provider}/{self.model}"


class InferenceRequest(msgspec.Struct, kw_only=True):
    request_type: str
    target: Target
    # OpenAI-shaped body without `model` and `fallbacks`; the provider sets the model it sends.
    body: dict[str, Any]
    stream: bool = False
    fallbacks: list[Target] = msgspec.field(default_factory=list)
    # Headers to forward upstream (from x-bf-eh-*), already stripped of the prefix.
    extra_headers: dict[str, str] | None = None
    # The model string exactly as the client sent it, for extra_fields.
    model_requested: str = ""
    # stream_options.include_usage as the client sent it (we ask upstream for usage regardless).
    client_wants_usage: bool = False


class Usage(msgspec.Struct, kw_only=True):
    """Token counts as OpenAI reports them: input includes cached reads and cache writes, output
    includes reasoning tokens; the details say how many of each."""

    input_tokens: int = 0
    output_tokens: int = 0
    cached_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0


class InferenceResponse(msgspec.Struct, kw_only=True):
    status: int
    # OpenAI-shaped JSON object as bytes, passed through without re-encoding.
    body: bytes
    target: Target
    usage: Usage | None = None
    fallback_index: int = 0
    latency_ms: float = 0.0


class StreamEvent(msgspec.Struct, frozen=True):
    """One server-sent event: `data` is its payload (a JSON object, or b"[DONE]")."""

    data: bytes
    event: str | None = None


class InferenceStream(msgspec.Struct, kw_only=True):
    """An established upstream stream: the status and headers arrived; events follow."""

    target: Target
    events: AsyncIterator[StreamEvent]
    # The usage the upstream reported, set by the engine as the stream passes it (even when the usage
    # chunk is not forwarded to the client), so plugins can charge for it once the stream ends.
    usage: Usage | None = None
    fallback_index: int = 0
