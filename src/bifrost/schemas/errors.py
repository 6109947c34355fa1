"""The one error tree of the gateway, rendered as Bifrost's error JSON at the boundary.

    BifrostError                       any failure a client sees; knows its HTTP status
    ├── RequestError (400/404/413)     the client's request is wrong: bad JSON, missing field, unknown provider
    ├── ConfigError (500)              the gateway's own configuration can't serve it: env.VAR not set, no key
    ├── QueueFullError (503)           the provider queue is full and drop_excess_requests is on
    ├── UpstreamError (upstream's)     the provider answered with an error status; keeps status and message
    ├── UpstreamConnectionError (502)  the provider could not be reached or cut the connection
    ├── UpstreamTimeoutError (504)     the provider did not answer within the configured timeout
    └── CancelledError (499)           the client went away

Every error renders as
    {"is_bifrost_error": bool, "status_code": int,
     "error": {"type", "code", "message", "param"}, "extra_fields": {"provider", "model_requested", ...}}
`retryable` tells the engine whether another attempt (same provider, maybe another key) may succeed.
"""

from __future__ import annotations

from typing import Any

import msgspec

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
_encode = msgspec.json.encode


class BifrostError(Exception):
    status: int = 500
    is_bifrost_error: bool = True
    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        type: str | None = None,
        code: str | int | None = None,
        param: str | None = None,
        provider: str | None = None,
        model: str | None = None,
        retry_after: float | None = None,
        headers: dict[str, str] | None = None,
        raw_response: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        self.type = type
        self.code = code
        self.param = param
        self.provider = provider
        self.model = model
        self.retry_after = retry_after
        self.headers = headers
        self.raw_response = raw_response

    def to_dict(self, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        err: dict[str, Any] = {"message": self.message}
        if self.type is not None:
            err["type"] = self.type
        if self.code is not None:
            err["code"] = self.code
        if self.param is not None:
            err["param"] = self.param
        fields: dict[str, Any] = {}
        if self.provider:
            fields["provider"] = self.provider
        if self.model:
            fields["model_requested"] = self.model
        if self.raw_response is not None:
            fields["raw_response"] = self.raw_response
        if extra:
            fields.update(extra)
        return {
            "is_bifrost_error": self.is_bifrost_error,
            "status_code": self.status,
            "error": err,
            "extra_fields": fields,
        }

    def to_json(self, extra: dict[str, Any] | None = None) -> bytes:
        return _encode(self.to_dict(extra))


class RequestError(BifrostError):
    """The request is wrong; the message says which field and how to fix it."""

    status = 400
    is_bifrost_error = False

    def __init__(self, message: str, **kw: Any) -> None:
        kw.setdefault("type", "invalid_request_error")
        super().__init__(message, **kw)


class ConfigError(BifrostError):
    """The gateway's configuration cannot serve this request (unset env.VAR, no key for a model)."""

    status = 500

    def __init__(self, message: str, **kw: Any) -> None:
        kw.setdefault("type", "configuration_error")
        super().__init__(message, **kw)


class QueueFullError(BifrostError):
    status = 503

    def __init__(self, provider: str, **kw: Any) -> None:
        super().__init__(
            "request dropped: queue is full, please increase the queue size "
            "(concurrency_and_buffer_size.buffer_size) or set client.drop_excess_requests to false",
            type="request_dropped",
            provider=provider,
            **kw,
        )


class UpstreamError(BifrostError):
    """The provider answered with an error status: its status and message are passed through."""

    is_bifrost_error = False

    def __init__(self, message: str, *, status: int, **kw: Any) -> None:
        super().__init__(message, status=status, **kw)
        self.retryable = status in RETRYABLE_STATUSES


class UpstreamConnectionError(BifrostError):
    status = 502
    retryable = True

    def __init__(self, message: str, **kw: Any) -> None:
        kw.setdefault("type", "upstream_connection_error")
        super().__init__(message, **kw)


class UpstreamTimeoutError(BifrostError):
    status = 504
    retryable = True

    def __init__(self, message: str, **kw: Any) -> None:
        kw.setdefault("type", "request_timed_out")
        super().__init__(message, **kw)


class CancelledError(BifrostError):
    status = 499

    def __init__(self, message: str = "request cancelled by the client", **kw: Any) -> None:
        kw.setdefault("type", "request_cancelled")
        super().__init__(message, **kw)
