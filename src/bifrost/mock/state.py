"""Per-server mutable state of the mock: recorded requests, counters, the failure script, ids."""

from __future__ import annotations

import re
import secrets
import time
from collections import deque
from typing import Any

import msgspec

from .options import MockOptions

_MAX_PATHS = 1000
_FAIL_RE = re.compile(r"mock-fail-(\d{3})")
_SLOW_RE = re.compile(r"mock-slow-(\d+(?:\.\d+)?)")


class ScriptAction(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """One scripted behaviour, consumed by the next matching inference request."""

    model: str | None = None  # only requests for this model consume the action
    status: int | None = None  # answer this HTTP status (the route's error shape unless `body`)
    body: Any = None  # error JSON to send instead of the default one
    headers: dict[str, str] | None = None  # extra response headers, e.g. {"Retry-After": "1"}
    delay_ms: float = 0.0  # extra latency before the first byte
    cut_after_chunks: int | None = None  # stream: send N SSE chunks then close the connection
    close: bool = False  # close the connection without answering
    stream_error_after_chunks: int | None = None  # stream: N content deltas, then an SSE error event
    error_type: str = "overloaded_error"  # its error type (non-streamed requests get the matching status)
    error_message: str | None = None  # its message (default: the type's usual one)
    times: int = 1  # how many requests consume this action


class Recorded(msgspec.Struct, omit_defaults=True):
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    time: float
    query: str | None = None


class MockState:
    """Everything that changes while a mock server runs. One instance per server."""

    def __init__(self, opts: MockOptions) -> None:
        self.opts = opts
        # raw entries: (method, path, query, headers [(name, value)], body bytes, time)
        self.records: deque[tuple] | None = deque(maxlen=opts.record_limit) if opts.record else None
        self.paths: dict[bytes, int] = {}
        self.total = 0
        self.script: list[ScriptAction] = []
        self._seq = 0
        self._prefix = secrets.token_hex(6)
        self._rules: dict[str, tuple[int | None, float]] = {}

    # ---------------------------------------------------------------- hot path helpers

    def count(self, path: bytes) -> None:
        self.total += 1
        paths = self.paths
        if path in paths:
            paths[path] += 1
        elif len(paths) < _MAX_PATHS:
            paths[path] = 1
        else:
            paths[b"(other)"] = paths.get(b"(other)", 0) + 1

    def record(self, method: bytes, path: bytes, query: bytes | None, headers: list, body: bytes) -> None:
        if self.records is not None:
            self.records.append((method, path, query, headers, body, time.time()))

    def next_id(self) -> str:
        self._seq += 1
        return f"{self._prefix}{self._seq:08x}"

    def model_rule(self, model: str) -> tuple[int | None, float]:
        """(status to fail with, extra latency in seconds) from mock-fail-<status> / mock-slow-<ms>."""
        rule = self._rules.get(model)
        if rule is None:
            fail = _FAIL_RE.search(model) if "mock-" in model else None
            slow = _SLOW_RE.search(model) if "mock-" in model else None
            rule = (int(fail.group(1)) if fail else None, float(slow.group(1)) / 1000.0 if slow else 0.0)
            if len(self._rules) > 4096:
                self._rules.clear()
            self._rules[model] = rule
        return rule

    def take_action(self, model: str) -> ScriptAction | None:
        """Pop (or count down) the first queued action that applies to this model."""
        for i, action in enumerate(self.script):
            if action.model is None or action.model == model:
                action.times -= 1
                if action.times <= 0:
                    del self.script[i]
                return action
        return None

    # ---------------------------------------------------------------- control API

    def add_actions(self, payload: Any) -> int:
        if isinstance(payload, dict) and "actions" in payload:
            payload = payload["actions"]
        if isinstance(payload, dict):
            payload = [payload]
        actions = msgspec.convert(payload, type=list[ScriptAction])
        for a in actions:
            if a.times < 1:
                raise msgspec.ValidationError("`times` must be >= 1")
            if a.status is not None and not 100 <= a.status <= 599:
                raise msgspec.ValidationError("`status` must be an HTTP status code")
            if a.stream_error_after_chunks is not None and a.stream_error_after_chunks < 0:
                raise msgspec.ValidationError("`stream_error_after_chunks` must be >= 0")
        self.script.extend(actions)
        return len(actions)

    def recorded(self) -> list[Recorded]:
        out = []
        for method, path, query, headers, body, t in list(self.records or ()):
            parsed = None
            if body:
                try:
                    parsed = msgspec.json.decode(body)
                except msgspec.DecodeError:
                    parsed = None
            out.append(
                Recorded(
                    method=method.decode("latin-1"),
                    path=path.decode("latin-1"),
                    headers={k.decode("latin-1").lower(): v.decode("latin-1") for k, v in headers},
                    body=parsed,
                    time=t,
                    query=query.decode("latin-1") if query else None,
                )
            )
        return out

    def clear(self) -> None:
        if self.records is not None:
            self.records.clear()
        self.script.clear()

    def stats(self) -> dict:
        return {
            "total": self.total,
            "paths": {k.decode("latin-1"): v for k, v in sorted(self.paths.items())},
            "recorded": len(self.records) if self.records is not None else 0,
            "script_pending": sum(a.times for a in self.script),
        }

    def reset_stats(self) -> None:
        self.total = 0
        self.paths.clear()
