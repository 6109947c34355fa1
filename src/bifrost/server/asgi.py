"""Small ASGI helpers: reading a bounded body, sending JSON, and streaming SSE with disconnect watch."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from bifrost.schemas.errors import BifrostError, RequestError

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

log = logging.getLogger("bifrost.server")

JSON_HEADERS = [(b"content-type", b"application/json")]
SSE_HEADERS = [
    (b"content-type", b"text/event-stream"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]


class ClientGone(Exception):
    """The client disconnected while we were reading its request."""


def header(scope: Scope, name: bytes) -> bytes | None:
    for k, v in scope["headers"]:
        if k == name:
            return v
    return None


async def read_body(scope: Scope, receive: Receive, limit: int) -> bytes:
    """The whole request body, or a 413 RequestError once it exceeds `limit` bytes."""
    cl = header(scope, b"content-length")
    if cl is not None and cl.isdigit() and int(cl) > limit:
        raise too_large(limit)
    msg = await receive()
    if msg["type"] == "http.disconnect":
        raise ClientGone
    body = msg.get("body", b"")
    if not msg.get("more_body"):
        if len(body) > limit:
            raise too_large(limit)
        return body
    parts = [body]
    size = len(body)
    while True:
        msg = await receive()
        if msg["type"] == "http.disconnect":
            raise ClientGone
        chunk = msg.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        parts.append(chunk)
        if not msg.get("more_body"):
            return b"".join(parts)


def too_large(limit: int) -> RequestError:
    mb = limit / (1024 * 1024)
    return RequestError(
        f"request body is larger than {mb:g} MB; send a smaller body or raise client.max_request_body_size_mb",
        status=413, type="request_too_large",
    )


async def send_bytes(send: Send, status: int, body: bytes,
                     headers: list[tuple[bytes, bytes]] = JSON_HEADERS) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [*headers, (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def error_headers(err: BifrostError, base: list[tuple[bytes, bytes]] = JSON_HEADERS) -> list[tuple[bytes, bytes]]:
    """`base` plus the error's own headers (the upstream's Retry-After), for every route's error answer."""
    hdrs = list(base)
    if err.headers:
        hdrs += [(k.lower().encode(), v.encode()) for k, v in err.headers.items()]
    return hdrs


async def send_error(send: Send, err: BifrostError, extra_headers: list[tuple[bytes, bytes]] | None = None) -> int:
    hdrs = error_headers(err)
    if extra_headers:
        hdrs += extra_headers
    await send_bytes(send, err.status, err.to_json(), hdrs)
    return err.status


async def stream_sse(
    send: Send,
    receive: Receive,
    chunks: AsyncIterator[bytes],
    headers: list[tuple[bytes, bytes]] = SSE_HEADERS,
    on_error: Callable[[BifrostError], bytes] | None = None,
) -> bool:
    """Write each chunk as it arrives; stop the producer when the client goes away.

    Returns False if the client disconnected before the end. A BifrostError raised by the
    producer is written as one SSE error event (`on_error`) and ends the stream: never a hang.
    """
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    task = asyncio.current_task()
    assert task is not None
    state = {"done": False, "gone": False}

    async def watch() -> None:
        while True:
            msg = await receive()
            if msg["type"] == "http.disconnect":
                if not state["done"]:
                    state["gone"] = True
                    task.cancel()
                return

    watcher = asyncio.ensure_future(watch())
    try:
        try:
            async for chunk in chunks:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        except BifrostError as exc:
            if on_error is not None:
                await send({"type": "http.response.body", "body": on_error(exc), "more_body": True})
        state["done"] = True
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        return True
    except asyncio.CancelledError:
        if state["gone"]:
            task.uncancel()
            return False
        # Cancelled from outside: the shutdown grace period ran out. Tell the client the stream
        # was cut rather than letting a truncated answer look complete.
        if on_error is not None and not state["done"]:
            cut = BifrostError("the gateway is shutting down and its grace period ran out; the stream was cut "
                               "(raise client.shutdown_grace_seconds for longer streams)",
                               status=503, type="shutting_down")
            try:
                await asyncio.wait_for(send({"type": "http.response.body", "body": on_error(cut),
                                             "more_body": False}), 1.0)
            except BaseException:  # the connection may already be gone; nothing more to tell
                pass
        log.warning("stream cut by shutdown after the grace period")
        task.uncancel()
        return False
    finally:
        watcher.cancel()
        aclose = getattr(chunks, "aclose", None)
        if aclose is not None:
            try:
                await aclose()
            except Exception:  # the upstream is already gone; nothing more to do
                log.debug("closing the stream producer failed", exc_info=True)
