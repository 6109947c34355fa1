"""SSE both ways: parsing upstream blocks (providers/http.py) and the server's encoding (server/inference.py,
server/asgi.py stream_sse)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bifrost.providers.http import parse_sse_block
from bifrost.schemas import inference as I
from bifrost.schemas.errors import BifrostError, UpstreamConnectionError
from bifrost.schemas.inference import InferenceRequest, InferenceStream, StreamEvent, Target
from bifrost.server.asgi import SSE_HEADERS, stream_sse
from bifrost.server.inference import DONE, _event_bytes, _sse_chunks, _sse_error, extra_fields, splice

# --------------------------------------------------------------------------- parse_sse_block


@pytest.mark.parametrize(("block", "data", "event"), [
    (b'data: {"a":1}', b'{"a":1}', None),
    (b'data:{"a":1}', b'{"a":1}', None),  # the space after the colon is optional
    (b"data:  two spaces", b" two spaces", None),  # only one space is stripped
    (b"data: [DONE]", b"[DONE]", None),
    (b"data: line one\ndata: line two", b"line one\nline two", None),
    (b"data: a\ndata:\ndata: c", b"a\n\nc", None),
    (b"data", b"", None),  # a field name alone is a field with an empty value
    (b"event: response.created\ndata: {}", b"{}", "response.created"),
    (b"data: {}\nevent: error", b"{}", "error"),
    (b": keep-alive\ndata: x", b"x", None),
    (b"id: 7\nretry: 1000\ndata: x", b"x", None),
    (b"data: x:y:z", b"x:y:z", None),
])
def test_parse_sse_block(block: bytes, data: bytes, event: str | None) -> None:
    assert parse_sse_block(block) == StreamEvent(data, event)


@pytest.mark.parametrize("block", [b": just a comment", b":", b"", b"event: ping", b"id: 1\nretry: 5"])
def test_blocks_without_data_yield_nothing(block: bytes) -> None:
    assert parse_sse_block(block) is None


# --------------------------------------------------------------------------- splice / extra_fields


@pytest.mark.parametrize(("obj", "out"), [
    (b'{"a":1}', b'{"a":1,"extra_fields":{"x":2}}'),
    (b"{}", b'{"extra_fields":{"x":2}}'),
    (b"{ }", b'{"extra_fields":{"x":2}}'),
    (b'{"a":{"b":[1,{}]}}\n', b'{"a":{"b":[1,{}]},"extra_fields":{"x":2}}\n'),
    (b'{\n  "a": 1\n}', b'{\n  "a": 1,"extra_fields":{"x":2}}'),
    (b"[1,2]", b"[1,2]"),  # not an object: left alone
])
def test_splice(obj: bytes, out: bytes) -> None:
    res = splice(obj, b'{"x":2}')
    assert res == out
    if obj.strip().startswith(b"{"):
        assert json.loads(res)["extra_fields"] == {"x": 2}


def test_extra_fields() -> None:
    req = InferenceRequest(request_type=I.CHAT, target=Target("openai", "gpt-4o"), body={})
    f = json.loads(extra_fields(req, Target("openai", "gpt-4o-mini"), 0, 12.7))
    assert f == {"request_type": "chat_completion", "provider": "openai", "model_requested": "gpt-4o-mini",
                 "latency": 12}
    f = json.loads(extra_fields(req, Target("groq", "llama"), 2, None))
    assert f == {"request_type": "chat_completion", "provider": "groq", "model_requested": "llama",
                 "fallback_index": 2}


# --------------------------------------------------------------------------- the server's SSE encoding


async def agen(items: list[Any]) -> AsyncIterator[StreamEvent]:
    for it in items:
        if isinstance(it, BaseException):
            raise it
        yield it


def encode(request_type: str, items: list[Any], fallback_index: int = 0) -> list[bytes]:
    req = InferenceRequest(request_type=request_type, target=Target("openai", "gpt-4o-mini"), body={})
    stream = InferenceStream(target=req.target, events=agen(items), fallback_index=fallback_index)

    async def go() -> list[bytes]:
        return [c async for c in _sse_chunks(req, stream)]
    return asyncio.run(go())


def data_of(chunk: bytes) -> Any:
    lines = [ln[6:] for ln in chunk.decode().split("\n") if ln.startswith("data: ")]
    return json.loads("\n".join(lines))


def test_chat_stream_encoding_adds_extra_fields_and_one_done() -> None:
    out = encode(I.CHAT, [StreamEvent(b'{"id":"c1","choices":[]}'), StreamEvent(b'{"id":"c2","choices":[]}'),
                          StreamEvent(b"[DONE]")])
    assert len(out) == 3 and out[-1] == DONE == b"data: [DONE]\n\n"
    for i, chunk in enumerate(out[:2]):
        assert chunk.startswith(b"data: ") and chunk.endswith(b"\n\n") and chunk.count(b"\n\n") == 1
        d = data_of(chunk)
        assert d["id"] == f"c{i + 1}"
        assert d["extra_fields"] == {"request_type": "chat_completion", "provider": "openai",
                                     "model_requested": "gpt-4o-mini", "chunk_index": i}
    assert out[0] == (b'data: {"id":"c1","choices":[],"extra_fields":{"request_type":"chat_completion",'
                      b'"provider":"openai","model_requested":"gpt-4o-mini","chunk_index":0}}\n\n')


def test_done_is_added_when_upstream_omits_it() -> None:
    out = encode(I.TEXT, [StreamEvent(b'{"id":"t"}')])
    assert out[-1] == DONE and out.count(DONE) == 1


def test_fallback_index_in_stream_extra_fields() -> None:
    out = encode(I.CHAT, [StreamEvent(b'{"id":"c"}')], fallback_index=1)
    assert data_of(out[0])["extra_fields"]["fallback_index"] == 1


def test_responses_stream_keeps_event_names_and_has_no_done() -> None:
    out = encode(I.RESPONSES, [StreamEvent(b'{"type":"response.created"}', "response.created"),
                               StreamEvent(b'{"type":"response.completed"}', "response.completed")])
    assert DONE not in out and len(out) == 2
    assert out[0].startswith(b"event: response.created\ndata: {")
    assert data_of(out[1])["extra_fields"]["request_type"] == "responses"


def test_non_json_data_passes_through_unchanged() -> None:
    out = encode(I.CHAT, [StreamEvent(b"hello")])
    assert out[0] == b"data: hello\n\n"


def test_multiline_data_is_written_as_several_data_lines() -> None:
    assert _event_bytes(StreamEvent(b"a\nb"), b"a\nb") == b"data: a\ndata: b\n\n"
    assert _event_bytes(StreamEvent(b"x", "ev"), b"x") == b"event: ev\ndata: x\n\n"


def test_error_event_shape() -> None:
    err = UpstreamConnectionError("openai stream broke: connection reset", provider="openai", model="gpt-4o-mini")
    chunk = _sse_error(err)
    assert chunk.startswith(b"data: ") and chunk.endswith(b"\n\n") and chunk.count(b"\n") == 2
    d = data_of(chunk)
    assert d == {
        "is_bifrost_error": True,
        "status_code": 502,
        "error": {"message": "openai stream broke: connection reset", "type": "upstream_connection_error"},
        "extra_fields": {"provider": "openai", "model_requested": "gpt-4o-mini"},
    }


def test_upstream_error_mid_stream_propagates_from_the_encoder() -> None:
    with pytest.raises(UpstreamConnectionError):
        encode(I.CHAT, [StreamEvent(b'{"id":"c"}'), UpstreamConnectionError("cut", provider="openai")])


# --------------------------------------------------------------------------- stream_sse over fake ASGI


class FakeASGI:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.gone = asyncio.Event()

    async def send(self, msg: dict[str, Any]) -> None:
        self.sent.append(msg)

    async def receive(self) -> dict[str, Any]:
        await self.gone.wait()
        return {"type": "http.disconnect"}

    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.sent if m["type"] == "http.response.body")


def test_stream_sse_writes_events_and_ends() -> None:
    async def go() -> tuple[bool, FakeASGI]:
        a = FakeASGI()

        async def chunks() -> AsyncIterator[bytes]:
            yield b"data: 1\n\n"
            yield DONE
        ok = await stream_sse(a.send, a.receive, chunks(), on_error=_sse_error)
        return ok, a
    ok, a = asyncio.run(go())
    assert ok
    assert a.sent[0] == {"type": "http.response.start", "status": 200, "headers": SSE_HEADERS}
    assert a.body() == b"data: 1\n\n" + DONE
    assert a.sent[-1] == {"type": "http.response.body", "body": b"", "more_body": False}


def test_stream_sse_error_becomes_one_event_and_ends() -> None:
    async def go() -> FakeASGI:
        a = FakeASGI()

        async def chunks() -> AsyncIterator[bytes]:
            yield b"data: 1\n\n"
            raise UpstreamConnectionError("openai stream broke: reset", provider="openai")
        assert await stream_sse(a.send, a.receive, chunks(), on_error=_sse_error)
        return a
    a = asyncio.run(go())
    body = a.body()
    assert body.startswith(b"data: 1\n\n")
    err = data_of(body[len(b"data: 1\n\n"):])
    assert err["error"]["message"] == "openai stream broke: reset" and err["status_code"] == 502
    assert DONE not in body
    assert a.sent[-1]["more_body"] is False


def test_stream_sse_client_disconnect_stops_the_producer() -> None:
    state: dict[str, Any] = {"produced": 0, "closed": False}

    async def go() -> tuple[bool, FakeASGI]:
        a = FakeASGI()

        async def chunks() -> AsyncIterator[bytes]:
            try:
                while True:
                    state["produced"] += 1
                    yield b"data: x\n\n"
                    await asyncio.sleep(0.01)
            finally:
                state["closed"] = True

        task = asyncio.ensure_future(stream_sse(a.send, a.receive, chunks()))
        await asyncio.sleep(0.05)
        a.gone.set()
        ok = await asyncio.wait_for(task, 2)
        return ok, a
    ok, a = asyncio.run(go())
    assert ok is False
    assert state["closed"] is True
    n = state["produced"]
    assert 2 <= n < 20
    assert not any(m.get("more_body") is False for m in a.sent)  # no end-of-body after the client left


def test_stream_cut_by_shutdown_ends_with_an_error_event() -> None:
    async def go() -> tuple[FakeASGI, bool]:
        a = FakeASGI()

        async def chunks() -> AsyncIterator[bytes]:
            while True:
                yield b"data: x\n\n"
                await asyncio.sleep(0.01)

        task = asyncio.ensure_future(
            stream_sse(a.send, a.receive, chunks(), on_error=lambda e: b"data: " + e.to_json() + b"\n\n"))
        await asyncio.sleep(0.03)
        task.cancel()  # the server's shutdown grace expired: not a client disconnect
        return a, await task
    a, completed = asyncio.run(go())
    assert completed is False
    last = a.sent[-1]
    assert last["more_body"] is False
    assert b'"type":"shutting_down"' in last["body"] and b"grace period" in last["body"]


def test_bifrost_error_without_on_error_still_ends_stream() -> None:
    async def go() -> FakeASGI:
        a = FakeASGI()

        async def chunks() -> AsyncIterator[bytes]:
            yield b"data: 1\n\n"
            raise BifrostError("x")
        assert await stream_sse(a.send, a.receive, chunks())
        return a
    a = asyncio.run(go())
    assert a.body() == b"data: 1\n\n" and a.sent[-1]["more_body"] is False
