"""The logging plugin: one log row per attempt (each fallback its own row, as in Bifrost).

`pre` notes the attempt's start; `post` captures the outcome and hands it to the `LogWriter`
(an O(1) append, never a wait). A stream is logged once, when it ends, with the content and usage
accumulated from its chunks. The row's cost is priced from the pricing catalog when the writer
builds the row, off the request path. Turned off by `client.enable_logging: false`; the request and
response content are left out with `client.disable_content_logging: true`.
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator
from typing import Any

from bifrost.engine.pipeline import RequestContext, Result
from bifrost.plugins.logging.record import PendingLog
from bifrost.pricing import Catalog
from bifrost.schemas.errors import BifrostError, CancelledError
from bifrost.schemas.inference import InferenceRequest, InferenceResponse, InferenceStream, StreamEvent
from bifrost.stores.logs.writer import LogWriter

_KEY = "logging.attempt"


class LoggingPlugin:
    name = "logging"

    def __init__(self, writer: LogWriter, *, content: bool = True, catalog: Catalog | None = None) -> None:
        self.writer = writer
        self.content = content
        # Prices each row's usage in the writer's task (None: the `cost` column stays NULL).
        self.catalog = catalog
        # Request ids restart at 1 with each process; a per-process prefix keeps log ids unique.
        self._prefix = os.urandom(4).hex()

    async def pre(self, req: InferenceRequest, ctx: RequestContext) -> InferenceRequest:
        ctx.values[_KEY] = (req, time.perf_counter(), time.time_ns() // 1000)
        return req

    async def post(self, result: Result, ctx: RequestContext) -> Result:
        started = ctx.values.pop(_KEY, None)
        if started is None:
            return result
        req, t0, ts_us = started
        base = f"{self._prefix}-{ctx.request_id}"
        i = ctx.fallback_index
        target = result.target if not isinstance(result, BifrostError) else req.target
        rec = PendingLog(base if i == 0 else f"{base}-fb{i}", base if i else None, ts_us, req,
                         target.provider, target.model, i, self.content)
        rec.retries = ctx.retries
        rec.catalog = self.catalog
        if isinstance(result, InferenceStream):
            result.events = self._watch(result.events, rec, t0, result)
            return result
        rec.latency_ms = (time.perf_counter() - t0) * 1000
        if isinstance(result, InferenceResponse):
            rec.body = result.body
        else:
            rec.status = "error"
            rec.error = result
        self.writer.enqueue(rec)
        return result

    async def _watch(self, events: AsyncIterator[StreamEvent], rec: PendingLog,
                     t0: float, stream: InferenceStream) -> AsyncIterator[StreamEvent]:
        """Pass the stream through, keeping its chunks (or, without content logging, only usage ones)."""
        chunks: list[bytes] = []
        keep_all = rec.content
        try:
            async for ev in events:
                d = ev.data
                if keep_all or b'"usage"' in d:
                    chunks.append(d)
                yield ev
        except BifrostError as exc:
            rec.status, rec.error = "error", exc
            raise
        except BaseException as exc:  # the client went away (or the task was cancelled)
            rec.status, rec.error = "error", _cancelled(exc)
            raise
        finally:
            rec.latency_ms = (time.perf_counter() - t0) * 1000
            rec.chunks = chunks
            # The engine keeps the usage even when it stripped the usage chunk the client did not ask for.
            rec.stream_usage = stream.usage
            self.writer.enqueue(rec)
            aclose: Any = getattr(events, "aclose", None)
            if aclose is not None:
                await aclose()


def _cancelled(exc: BaseException) -> BifrostError:
    if isinstance(exc, GeneratorExit):
        return CancelledError("stream closed before it finished (the client disconnected)", status=499)
    return CancelledError(f"stream ended early: {type(exc).__name__}", status=499)
