"""Tests for bifrost.metrics: exposition format parsed back with a small strict parser."""

from __future__ import annotations

import math
import os
import re
import time

import pytest

from bifrost.metrics import (
    CONTENT_TYPE,
    LATENCY_BUCKETS,
    OTHER,
    Counter,
    GatewayMetrics,
    Gauge,
    Histogram,
    Registry,
    format_float,
)

# --------------------------------------------------------------------------- parser

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_SAMPLE_RE = re.compile(rf"^({_NAME})(\{{.*\}})? (\S+)$")
_ESC = {"\\": "\\", '"': '"', "n": "\n"}


def _parse_labels(text: str) -> dict[str, str]:
    """Parse ``{a="x",b="y"}`` with escapes; raise on anything malformed."""
    assert text[0] == "{" and text[-1] == "}", text
    body, i, out = text[1:-1], 0, {}
    while i < len(body):
        m = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*").match(body, i)
        assert m, f"bad label name at {body[i:]!r}"
        name, i = m.group(0), m.end()
        assert body[i : i + 2] == '="', body[i:]
        i += 2
        val = []
        while body[i] != '"':
            if body[i] == "\\":
                val.append(_ESC[body[i + 1]])  # KeyError on an invalid escape
                i += 2
            else:
                assert body[i] != "\n"
                val.append(body[i])
                i += 1
        i += 1
        assert name not in out
        out[name] = "".join(val)
        if i < len(body):
            assert body[i] == ",", body[i:]
            i += 1
    return out


def _parse_value(s: str) -> float:
    return {"+Inf": math.inf, "-Inf": -math.inf, "NaN": math.nan}.get(s) or float(s)


def parse(text: bytes):
    """-> (helps, types, samples) where samples maps (name, frozenset(labels)) -> value."""
    s = text.decode("utf-8")
    assert s.endswith("\n")
    helps: dict[str, str] = {}
    types: dict[str, str] = {}
    samples: dict[tuple[str, frozenset], float] = {}
    current = None
    for line in s[:-1].split("\n"):
        if line.startswith("# HELP "):
            name, _, doc = line[7:].partition(" ")
            assert name not in helps
            helps[name] = doc.replace("\\n", "\n").replace("\\\\", "\\")
            current = name
        elif line.startswith("# TYPE "):
            name, typ = line[7:].split(" ")
            assert name == current and name not in types
            assert typ in ("counter", "gauge", "histogram")
            types[name] = typ
        else:
            m = _SAMPLE_RE.match(line)
            assert m, f"bad sample line {line!r}"
            name, lbl, val = m.groups()
            base = current
            assert name == base or (
                types[base] == "histogram" and name in (base + "_bucket", base + "_sum", base + "_count")
            ), (name, base)
            key = (name, frozenset((_parse_labels(lbl) if lbl else {}).items()))
            assert key not in samples, key
            samples[key] = _parse_value(val)
    return helps, types, samples


def sample(samples, name, **labels):
    return samples[(name, frozenset(labels.items()))]


# --------------------------------------------------------------------------- primitives


def test_format_float_matches_prometheus_client():
    assert format_float(3) == "3.0"
    assert format_float(0.25) == "0.25"
    assert format_float(-2) == "-2.0"
    assert format_float(math.inf) == "+Inf"
    assert format_float(-math.inf) == "-Inf"
    assert format_float(math.nan) == "NaN"
    assert format_float(123456.0) == "123456.0"
    assert format_float(1234567.0) == "1.234567e+06"
    assert format_float(1e6 * 10) == "1e+07"
    assert format_float(1e-05) == "1e-05"


def test_counter_gauge_render_exact():
    r = Registry()
    c = r.counter("reqs_total", "Requests.", ("a",))
    g = r.gauge("temp", "Temperature.")
    c.labels("x").inc()
    c.labels("x").inc(2)
    c.labels("y").inc(0.5)
    g.set(21)
    g.inc(2)
    g.dec(0.5)
    assert r.render() == (
        b"# HELP reqs_total Requests.\n"
        b"# TYPE reqs_total counter\n"
        b'reqs_total{a="x"} 3.0\n'
        b'reqs_total{a="y"} 0.5\n'
        b"# HELP temp Temperature.\n"
        b"# TYPE temp gauge\n"
        b"temp 22.5\n"
    )
    assert CONTENT_TYPE == "text/plain; version=0.0.4; charset=utf-8"


def test_labels_cached_and_normalised():
    c = Counter("c_total", "c", ("status",))
    a = c.labels("200")
    assert c.labels("200") is a
    assert c.labels(200) is a  # non-str values are str()-ed, same series
    c.labels(200).inc()
    with pytest.raises(ValueError):
        c.labels("200", "x")
    with pytest.raises(ValueError):
        a.inc(-1)
    _, _, s = parse(_render(c))
    assert sample(s, "c_total", status="200") == 1.0


def test_unlabelled_metric_without_samples_and_empty_labelled():
    r = Registry()
    r.counter("a_total", "A.", ("x",))
    text = r.render()
    assert text == b"# HELP a_total A.\n# TYPE a_total counter\n"


def test_label_and_help_escaping():
    r = Registry()
    c = r.counter("esc_total", 'Help with \\ backslash\nand "quotes".', ("v",))
    nasty = 'a\\b"c\nd{e}=,f'
    c.labels(nasty).inc()
    text = r.render()
    assert b'esc_total{v="a\\\\b\\"c\\nd{e}=,f"} 1.0\n' in text
    assert b'# HELP esc_total Help with \\\\ backslash\\nand "quotes".\n' in text
    helps, _, s = parse(text)
    assert sample(s, "esc_total", v=nasty) == 1.0
    assert helps["esc_total"] == 'Help with \\ backslash\nand "quotes".'


def test_invalid_names_rejected():
    with pytest.raises(ValueError):
        Counter("bad-name", "x")
    with pytest.raises(ValueError):
        Counter("ok", "x", ("bad-label",))
    with pytest.raises(ValueError):
        Counter("ok", "x", ("__reserved",))
    with pytest.raises(ValueError):
        Histogram("h", "x", ("le",))
    r = Registry()
    r.counter("dup", "x")
    with pytest.raises(ValueError):
        r.counter("dup", "x")


def test_histogram_cumulative_buckets_exact():
    r = Registry()
    h = r.histogram("lat_seconds", "Latency.", ("p",), buckets=(0.1, 1, 5))
    child = h.labels("a")
    for v in (0.05, 0.1, 0.5, 1.0, 3.0, 7.0, 100.0):
        child.observe(v)
    assert r.render() == (
        b"# HELP lat_seconds Latency.\n"
        b"# TYPE lat_seconds histogram\n"
        b'lat_seconds_bucket{le="0.1",p="a"} 2.0\n'
        b'lat_seconds_bucket{le="1.0",p="a"} 4.0\n'
        b'lat_seconds_bucket{le="5.0",p="a"} 5.0\n'
        b'lat_seconds_bucket{le="+Inf",p="a"} 7.0\n'
        b'lat_seconds_count{p="a"} 7.0\n'
        b'lat_seconds_sum{p="a"} 111.65\n'
    )
    assert child.count == 7


def test_label_names_rendered_sorted_with_le_in_place():
    r = Registry()
    h = r.histogram("h", "H.", ("zz", "path", "a"), buckets=(1,))
    h.labels("z", 'x",y', "a").observe(0.5)
    text = r.render()
    assert b'h_bucket{a="a",le="1.0",path="x\\",y",zz="z"} 1.0\n' in text
    assert b'h_count{a="a",path="x\\",y",zz="z"} 1.0\n' in text
    _, _, s = parse(text)
    assert sample(s, "h_bucket", a="a", le="+Inf", path='x",y', zz="z") == 1.0


def test_histogram_unlabelled_and_parsed_invariants():
    r = Registry()
    h = r.histogram("h_seconds", "H.")
    values = [0.0005, 0.003, 0.003, 0.2, 0.9, 1.0, 12, 45, 61, 1e4]
    for v in values:
        h.observe(v)
    text = r.render()
    assert b'h_seconds_bucket{le="0.001"} 1.0\n' in text
    assert b"h_seconds_count 10.0\n" in text
    _, types, s = parse(text)
    assert types["h_seconds"] == "histogram"
    bounds = [*LATENCY_BUCKETS, math.inf]
    prev = 0.0
    for b in bounds:
        got = sample(s, "h_seconds_bucket", le=format_float(b))
        assert got == sum(1 for v in values if v <= b)
        assert got >= prev
        prev = got
    assert sample(s, "h_seconds_count") == len(values) == prev
    assert sample(s, "h_seconds_sum") == pytest.approx(sum(values))


# --------------------------------------------------------------------------- cardinality


def test_cardinality_cap_folds_into_other():
    c = Counter("m_total", "m", ("provider", "model"), max_children=10, keep_on_overflow=("provider",))
    for i in range(10):
        c.labels("openai", f"m{i}").inc()
    for i in range(1000):
        c.labels("openai", f"hostile-{i}").inc()
        c.labels("anthropic", f"hostile-{i}").inc()
    assert c.folded == 2000
    assert len(c._children) <= 2 * c.max_children
    _, _, s = parse(_render(c))
    assert len(s) == 12
    assert sample(s, "m_total", provider="openai", model=OTHER) == 1000.0
    assert sample(s, "m_total", provider="anthropic", model=OTHER) == 1000.0
    assert sample(s, "m_total", provider="openai", model="m3") == 1.0
    # Existing series keep working after the cap is reached.
    c.labels("openai", "m3").inc()
    assert c.labels("openai", "m3").value == 2.0


def test_cardinality_cap_bounds_kept_labels_too():
    c = Counter("m_total", "m", ("provider", "model"), max_children=5, keep_on_overflow=("provider",))
    for i in range(5000):
        c.labels(f"p{i}", f"m{i}").inc()
    # max_children + small overflow budget + one all-"other" series.
    assert len(c._series) <= 5 + 100 + 1
    _, _, s = parse(_render(c))
    assert sum(s.values()) == 5000.0
    assert sample(s, "m_total", provider=OTHER, model=OTHER) > 0


def test_long_label_values_truncated_and_not_cached():
    c = Counter("m_total", "m", ("model",), max_value_len=16)
    big = "x" * 100_000
    c.labels(big).inc()
    c.labels(big).inc()
    assert list(c._series) == [("x" * 16,)]
    assert all(len(k[0]) <= 16 for k in c._children)
    assert c.labels("x" * 16).value == 2.0


def test_gateway_bundle_caches_are_bounded():
    gm = GatewayMetrics(max_children=20, process_metrics=False)
    for i in range(500):
        gm.upstream_done("openai", f"evil-{i}", 0.01, ok=False, reason="bad_request")
        gm.http_done(f"/p{i}", "POST", 404, 0.001)
    assert len(gm._up) <= 20 and len(gm._http) <= 20
    _, _, s = parse(gm.render())
    assert sample(s, "bifrost_upstream_requests_total", provider="openai", model=OTHER) == 480.0
    err = sample(s, "bifrost_error_requests_total", provider="openai", model=OTHER, reason="bad_request")
    assert err == 480.0
    assert sample(s, "http_requests_total", path=OTHER, method="POST", status="404") == 480.0


# --------------------------------------------------------------------------- gateway


def test_gateway_metrics_names_labels_and_values():
    gm = GatewayMetrics()
    gm.active("openai", 1)
    gm.upstream_done("openai", "gpt-4o", 0.3, True, "", 10, 20)
    gm.upstream_done("openai", "gpt-4o", 0.7, ok=True, input_tokens=5, output_tokens=1)
    gm.upstream_done("openai", "gpt-4o", 2.0, ok=False, reason="rate_limit")
    gm.retry("openai", "gpt-4o")
    gm.first_token("openai", "gpt-4o", 0.12)
    gm.inter_token("openai", "gpt-4o", 0.02)
    gm.http_done("/v1/chat/completions", "POST", 200, 0.31)
    gm.http_done("/v1/chat/completions", "POST", "200", 0.8)
    gm.http_done("/v1/chat/completions", "POST", 429, 2.1)
    gm.active("openai", -1)
    gm.active("anthropic", 1)

    helps, types, s = parse(gm.render())
    assert gm.content_type == CONTENT_TYPE
    expected_types = {
        "http_requests_total": "counter",
        "http_request_duration_seconds": "histogram",
        "bifrost_upstream_requests_total": "counter",
        "bifrost_upstream_latency_seconds": "histogram",
        "bifrost_success_requests_total": "counter",
        "bifrost_error_requests_total": "counter",
        "bifrost_input_tokens_total": "counter",
        "bifrost_output_tokens_total": "counter",
        "bifrost_stream_first_token_latency_seconds": "histogram",
        "bifrost_stream_inter_token_latency_seconds": "histogram",
        "bifrost_active_requests": "gauge",
        "bifrost_request_retries": "counter",
    }
    for name, typ in expected_types.items():
        assert types[name] == typ, name
        assert helps[name]
    pm = {"provider": "openai", "model": "gpt-4o"}
    route = {"path": "/v1/chat/completions", "method": "POST"}
    assert sample(s, "http_requests_total", **route, status="200") == 2.0
    assert sample(s, "http_requests_total", **route, status="429") == 1.0
    assert sample(s, "http_request_duration_seconds_count", **route, status="200") == 2.0
    assert sample(s, "http_request_duration_seconds_sum", **route, status="200") == pytest.approx(1.11)
    assert sample(s, "http_request_duration_seconds_bucket", **route, status="200", le="0.5") == 1.0
    assert sample(s, "bifrost_upstream_requests_total", **pm) == 3.0
    assert sample(s, "bifrost_success_requests_total", **pm) == 2.0
    assert sample(s, "bifrost_error_requests_total", **pm, reason="rate_limit") == 1.0
    assert sample(s, "bifrost_input_tokens_total", **pm) == 15.0
    assert sample(s, "bifrost_output_tokens_total", **pm) == 21.0
    assert sample(s, "bifrost_upstream_latency_seconds_count", **pm) == 3.0
    assert sample(s, "bifrost_upstream_latency_seconds_bucket", **pm, le="1.0") == 2.0
    assert sample(s, "bifrost_upstream_latency_seconds_bucket", **pm, le="+Inf") == 3.0
    assert sample(s, "bifrost_upstream_latency_seconds_sum", **pm) == pytest.approx(3.0)
    assert sample(s, "bifrost_stream_first_token_latency_seconds_count", **pm) == 1.0
    assert sample(s, "bifrost_stream_first_token_latency_seconds_bucket", **pm, le="0.25") == 1.0
    assert sample(s, "bifrost_stream_first_token_latency_seconds_bucket", **pm, le="0.1") == 0.0
    assert sample(s, "bifrost_stream_inter_token_latency_seconds_sum", **pm) == pytest.approx(0.02)
    assert sample(s, "bifrost_request_retries", **pm) == 1.0
    assert sample(s, "bifrost_active_requests", provider="openai") == 0.0
    assert sample(s, "bifrost_active_requests", provider="anthropic") == 1.0
    les = {dict(k[1])["le"] for k in s if k[0] == "bifrost_upstream_latency_seconds_bucket"}
    assert les == {format_float(b) for b in LATENCY_BUCKETS} | {"+Inf"}


def test_process_metrics_present_and_sane():
    gm = GatewayMetrics()
    _, types, s = parse(gm.render())
    assert types["process_cpu_seconds_total"] == "counter"
    assert sample(s, "process_cpu_seconds_total") > 0
    start = sample(s, "process_start_time_seconds")
    assert time.time() - 7 * 86400 < start <= time.time() + 1
    if os.path.exists("/proc/self/statm"):
        assert types["process_resident_memory_bytes"] == "gauge"
        assert sample(s, "process_resident_memory_bytes") > 1_000_000
        assert sample(s, "process_virtual_memory_bytes") >= sample(s, "process_resident_memory_bytes")
    if os.path.isdir("/proc/self/fd"):
        assert sample(s, "process_open_fds") >= 3
    assert "process_cpu_seconds_total" not in GatewayMetrics(process_metrics=False).render().decode()


def test_shared_registry_and_render_is_repeatable():
    r = Registry()
    gm = GatewayMetrics(r, process_metrics=False)
    g = Gauge("custom", "Custom.", registry=r)
    g.set(1)
    gm.http_done("/health", "GET", 200, 0.0001)
    a = r.render()
    assert a == gm.render()
    assert b"custom 1.0\n" in a
    parse(a)


def test_hot_path_is_cheap():
    import timeit

    gm = GatewayMetrics(process_metrics=False)

    def call():
        gm.upstream_done("openai", "gpt-4o-mini", 0.2, True, "", 12, 34)
        gm.http_done("/v1/chat/completions", "POST", 200, 0.21)

    n = 20_000
    per_call = min(timeit.repeat(call, number=n, repeat=3)) / n
    assert per_call < 20e-6  # generous: ~1 us on a dev box; catches accidental slow paths


def test_byte_identical_to_prometheus_client_if_installed():
    """Optional cross-check; prometheus_client is not a dependency (skipped if absent)."""
    pc = pytest.importorskip("prometheus_client")
    pc.disable_created_metrics()
    try:
        theirs_reg = pc.CollectorRegistry()
        mine = Registry()
        tc = pc.Counter("reqs", 'Help \\ with\nnewline "q"', ["b", "a"], registry=theirs_reg)
        mc = mine.counter("reqs_total", 'Help \\ with\nnewline "q"', ("b", "a"))
        th = pc.Histogram("lat_seconds", "Latency.", ["path", "code"], registry=theirs_reg,
                          buckets=LATENCY_BUCKETS)
        mh = mine.histogram("lat_seconds", "Latency.", ("path", "code"))
        tg = pc.Gauge("g", "G.", registry=theirs_reg)
        mg = mine.gauge("g", "G.")
        for i, v in enumerate(["x", 'a\\b"c\nd', "\u00fc", 'q",r']):
            tc.labels(v, str(i)).inc(1234567 * i + 0.5)
            mc.labels(v, str(i)).inc(1234567 * i + 0.5)
            for x in (0.0005, 0.001, 0.3, 7, 1e5, 1e-9, 60):
                th.labels(v, "200").observe(x * (i + 1))
                mh.labels(v, "200").observe(x * (i + 1))
        tg.set(1e20)
        mg.set(1e20)
        assert mine.render() == pc.generate_latest(theirs_reg)
        gm = GatewayMetrics()
        gm.upstream_done("openai", "gpt", 0.2, False, 'x"y', 1, 2)
        gm.http_done("/v1", "POST", 200, 0.1)
        from prometheus_client.parser import text_string_to_metric_families

        names = {f.name for f in text_string_to_metric_families(gm.render().decode())}
        assert {"bifrost_error_requests", "http_request_duration_seconds", "process_open_fds"} <= names
    finally:
        pc.enable_created_metrics()


def _render(metric) -> bytes:
    out: list[str] = []
    metric.render(out)
    return "".join(out).encode()
