"""Bifrost's gateway metrics (names and labels as Bifrost's telemetry plugin) and process metrics."""

from __future__ import annotations

import os
import time
from bisect import bisect_left
from collections.abc import Sequence

from bifrost.metrics.prom import (
    CONTENT_TYPE,
    DEFAULT_MAX_CHILDREN,
    DEFAULT_MAX_VALUE_LEN,
    LATENCY_BUCKETS,
    CounterChild,
    HistogramChild,
    Registry,
    format_float,
)

# --------------------------------------------------------------------------- process metrics

_start_time: float | None = None


def _process_start_time() -> float:
    global _start_time
    if _start_time is None:
        try:
            with open("/proc/self/stat", "rb") as f:
                stat = f.read()
            # Field 22 (starttime, clock ticks since boot); comm (field 2) may contain spaces.
            ticks = float(stat[stat.rindex(b")") + 2:].split()[19])
            with open("/proc/stat", "rb") as f:
                btime = next(float(ln.split()[1]) for ln in f if ln.startswith(b"btime "))
            _start_time = btime + ticks / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError, StopIteration, AttributeError):
            _start_time = time.time()
    return _start_time


_process_start_time()  # at import: close to the real start even without /proc


def _gauge_lines(out: list[str], name: str, doc: str, typ: str, value: float) -> None:
    out.append(f"# HELP {name} {doc}\n# TYPE {name} {typ}\n{name} {format_float(value)}\n")


def process_collector(out: list[str]) -> None:
    """Process metrics (prometheus_client names), computed only when rendered."""
    try:
        with open("/proc/self/statm", "rb") as f:
            parts = f.read().split()
        page = os.sysconf("SC_PAGE_SIZE")
        _gauge_lines(out, "process_virtual_memory_bytes", "Virtual memory size in bytes.", "gauge",
                     float(parts[0]) * page)
        _gauge_lines(out, "process_resident_memory_bytes", "Resident memory size in bytes.", "gauge",
                     float(parts[1]) * page)
    except (OSError, ValueError, IndexError, AttributeError):
        pass
    _gauge_lines(out, "process_start_time_seconds",
                 "Start time of the process since unix epoch in seconds.", "gauge", _process_start_time())
    t = os.times()
    _gauge_lines(out, "process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
                 "counter", t.user + t.system)
    try:
        nfds = len(os.listdir("/proc/self/fd"))
    except OSError:
        nfds = None
    if nfds is not None:
        _gauge_lines(out, "process_open_fds", "Number of open file descriptors.", "gauge", nfds)
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        if soft >= 0:  # RLIM_INFINITY is -1
            _gauge_lines(out, "process_max_fds", "Maximum number of open file descriptors.", "gauge", soft)
    except (ImportError, OSError, ValueError):
        pass


# --------------------------------------------------------------------------- gateway metrics

_PM = ("provider", "model")


class GatewayMetrics:
    """Bifrost's metric set and the per-request calls the gateway makes.

    Hot-path calls cache a bundle of children per label tuple, so
    ``upstream_done`` is one dict lookup plus a handful of float adds.
    """

    def __init__(
        self,
        registry: Registry | None = None,
        *,
        buckets: Sequence[float] = LATENCY_BUCKETS,
        max_children: int = DEFAULT_MAX_CHILDREN,
        process_metrics: bool = True,
    ) -> None:
        r = self.registry = registry if registry is not None else Registry()
        self.max_children = max_children
        kw = {"max_children": max_children}
        hkw = {"max_children": max_children, "buckets": buckets}
        http = ("path", "method", "status")
        self.http_requests = r.counter(
            "http_requests_total", "Total number of HTTP requests.", http,
            keep_on_overflow=("method", "status"), **kw)
        self.http_duration = r.histogram(
            "http_request_duration_seconds", "Duration of HTTP requests in seconds.", http,
            keep_on_overflow=("method", "status"), **hkw)
        keep = {"keep_on_overflow": ("provider",)}
        self.upstream_requests = r.counter(
            "bifrost_upstream_requests_total", "Total number of requests forwarded to upstream providers.",
            _PM, **keep, **kw)
        self.upstream_latency = r.histogram(
            "bifrost_upstream_latency_seconds", "Latency of requests to upstream providers in seconds.",
            _PM, **keep, **hkw)
        self.success_requests = r.counter(
            "bifrost_success_requests_total", "Total number of successful requests to upstream providers.",
            _PM, **keep, **kw)
        self.error_requests = r.counter(
            "bifrost_error_requests_total", "Total number of failed requests to upstream providers.",
            ("provider", "model", "reason"), keep_on_overflow=("provider", "reason"), **kw)
        self.input_tokens = r.counter(
            "bifrost_input_tokens_total", "Total number of input tokens.", _PM, **keep, **kw)
        self.output_tokens = r.counter(
            "bifrost_output_tokens_total", "Total number of output tokens.", _PM, **keep, **kw)
        self.first_token_latency = r.histogram(
            "bifrost_stream_first_token_latency_seconds",
            "Latency until the first streamed token in seconds.", _PM, **keep, **hkw)
        self.inter_token_latency = r.histogram(
            "bifrost_stream_inter_token_latency_seconds",
            "Latency between consecutive streamed tokens in seconds.", _PM, **keep, **hkw)
        self.active_requests = r.gauge(
            "bifrost_active_requests", "Number of in-flight requests per provider.", ("provider",), **kw)
        self.request_retries = r.counter(
            "bifrost_request_retries", "Total number of retries of upstream requests.", _PM, **keep, **kw)
        self.logs_dropped_total = r.counter(
            "bifrost_logs_dropped_total",
            "Request logs dropped because the logs store was unavailable and the writer's buffer was full.", ())
        self.logs_dropped_total.labels()  # rendered (as 0) from the start, so alerts can rate() it
        if process_metrics:
            r.add_collector(process_collector)
        self._http: dict[tuple, tuple[CounterChild, HistogramChild]] = {}
        self._up: dict[tuple, tuple[CounterChild, HistogramChild, CounterChild, CounterChild, CounterChild]]
        self._up = {}

    # -- hot path -------------------------------------------------------------

    def http_done(self, path: str, method: str, status: int | str, seconds: float) -> None:
        """One finished HTTP request; ``path`` is the route template."""
        try:
            cnt, hist = self._http[path, method, status]
        except KeyError:
            cnt, hist = self._http_bundle(path, method, status)
        cnt.value += 1.0
        hist.counts[bisect_left(hist.bounds, seconds)] += 1
        hist.sum += seconds

    def upstream_done(
        self,
        provider: str,
        model: str,
        seconds: float,
        ok: bool = True,
        reason: str = "",
        input_tokens: int = 0,
        output_tokens: int = 0,
    ) -> None:
        """One finished upstream call (each attempt, or the final one: caller's choice)."""
        try:
            req, lat, succ, inp, outp = self._up[provider, model]
        except KeyError:
            req, lat, succ, inp, outp = self._up_bundle(provider, model)
        req.value += 1.0
        lat.counts[bisect_left(lat.bounds, seconds)] += 1
        lat.sum += seconds
        if ok:
            succ.value += 1.0
        else:
            self.error_requests.labels(provider, model, reason).value += 1.0
        if input_tokens:
            inp.value += input_tokens
        if output_tokens:
            outp.value += output_tokens

    def retry(self, provider: str, model: str, n: int = 1) -> None:
        self.request_retries.labels(provider, model).value += n

    def first_token(self, provider: str, model: str, seconds: float) -> None:
        self.first_token_latency.labels(provider, model).observe(seconds)

    def inter_token(self, provider: str, model: str, seconds: float) -> None:
        self.inter_token_latency.labels(provider, model).observe(seconds)

    def active(self, provider: str, delta: float) -> None:
        """``delta`` = +1 when a request starts, -1 when it ends."""
        self.active_requests.labels(provider).value += delta

    def logs_dropped(self, n: int) -> None:
        self.logs_dropped_total.inc(n)

    # -- exposition -----------------------------------------------------------

    content_type = CONTENT_TYPE

    def render(self) -> bytes:
        return self.registry.render()

    # -- slow paths -----------------------------------------------------------

    def _cacheable(self, cache: dict, key: tuple) -> bool:
        if len(cache) >= self.max_children:
            return False
        return all(type(v) is not str or len(v) <= DEFAULT_MAX_VALUE_LEN for v in key)

    def _http_bundle(self, path: str, method: str, status: int | str) -> tuple[CounterChild, HistogramChild]:
        b = (self.http_requests.labels(path, method, status), self.http_duration.labels(path, method, status))
        key = (path, method, status)
        if self._cacheable(self._http, key):
            self._http[key] = b
        return b

    def _up_bundle(self, provider: str, model: str):
        b = (
            self.upstream_requests.labels(provider, model),
            self.upstream_latency.labels(provider, model),
            self.success_requests.labels(provider, model),
            self.input_tokens.labels(provider, model),
            self.output_tokens.labels(provider, model),
        )
        key = (provider, model)
        if self._cacheable(self._up, key):
            self._up[key] = b
        return b


def _bench(number: int = 200_000) -> dict[str, float]:
    """Per-call cost in microseconds of the hot-path calls (warm caches)."""
    import timeit

    gm = GatewayMetrics(process_metrics=False)
    up = gm.upstream_done
    http = gm.http_done
    up("openai", "gpt-4o-mini", 0.2, True, "", 12, 34)
    http("/v1/chat/completions", "POST", 200, 0.21)
    res = {}
    for label, stmt in (
        ("upstream_done", lambda: up("openai", "gpt-4o-mini", 0.2, True, "", 12, 34)),
        ("http_done", lambda: http("/v1/chat/completions", "POST", 200, 0.21)),
        ("both", lambda: (up("openai", "gpt-4o-mini", 0.2, True, "", 12, 34),
                          http("/v1/chat/completions", "POST", 200, 0.21))),
        ("noop_lambda", lambda: None),
    ):
        best = min(timeit.repeat(stmt, number=number, repeat=5))
        res[label] = best / number * 1e6
    return res


if __name__ == "__main__":  # pragma: no cover
    for k, v in _bench().items():
        print(f"{k:14s} {v:.3f} us/call")
