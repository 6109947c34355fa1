"""Shared pieces of the management API: Bifrost's error JSON, JSON bodies, route parameters.

Bifrost's management handlers answer errors with `SendError`: a BifrostError whose
`is_bifrost_error` is false and whose `error.message` says what is wrong; ours do the same, and
the message also says how to fix it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import msgspec

from bifrost.schemas.errors import BifrostError
from bifrost.server.asgi import JSON_HEADERS, Receive, Scope, Send, read_body, send_bytes

if TYPE_CHECKING:
    from bifrost.server.app import AppState

Handler = Callable[["AppState", Scope, Receive, Send], Awaitable[int]]
Routes = dict[tuple[str, str], Handler]


class ApiError(BifrostError):
    """A management API error, sent as Bifrost's SendError does (`is_bifrost_error: false`)."""

    is_bifrost_error = False

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message, status=status)


def param(scope: Scope, name: str) -> str:
    """A `{name}` segment of the matched route."""
    value: str = scope["path_params"][name]
    return value


async def json_object(state: AppState, scope: Scope, receive: Receive) -> dict[str, Any]:
    """The request body as a JSON object, or a 400 that says what was wrong with it."""
    body = await read_body(scope, receive, state.max_body)
    if not body.strip():
        raise ApiError(400, "Invalid request payload: the body is empty; send a JSON object")
    try:
        obj = msgspec.json.decode(body)
    except msgspec.DecodeError as exc:
        raise ApiError(400, f"Invalid request payload: not valid JSON ({exc}); send a JSON object") from None
    if not isinstance(obj, dict):
        raise ApiError(400, "Invalid request payload: expected a JSON object")
    return obj


async def send_json(send: Send, obj: Any, status: int = 200,
                    headers: list[tuple[bytes, bytes]] | None = None) -> int:
    await send_bytes(send, status, msgspec.json.encode(obj), [*JSON_HEADERS, *(headers or [])])
    return status
