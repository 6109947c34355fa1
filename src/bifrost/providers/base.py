"""What the engine needs from a provider, as small capability protocols.

A provider implements the protocols for what it can do; the registry asks `supports()`, so an
"unsupported operation" error is derived in one place rather than written per provider.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Protocol, runtime_checkable

from bifrost.config.model import Key, ProviderConfig
from bifrost.schemas.inference import InferenceRequest, StreamEvent, Usage


class UpstreamResult(Protocol):
    status: int
    body: bytes
    usage: Usage | None


@runtime_checkable
class Provider(Protocol):
    name: str
    config: ProviderConfig
    keyless: bool

    def supports(self, request_type: str, stream: bool) -> bool: ...

    async def send(self, req: InferenceRequest, key: Key | None) -> tuple[bytes, Usage | None]:
        """One non-streaming request; raises a BifrostError on any failure."""
        ...

    async def open_stream(self, req: InferenceRequest, key: Key | None) -> AsyncIterator[StreamEvent]:
        """Open a stream; raises a BifrostError if it can't be established (retryable then)."""
        ...

    async def list_models(self, key: Key | None) -> list[dict[str, Any]]: ...

    async def close(self) -> None: ...
