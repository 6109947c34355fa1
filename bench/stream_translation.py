#!/usr/bin/env python3
"""Per-chunk CPU of stream translation vs OpenAI pass-through, in process (no network).

    .venv/bin/python bench/stream_translation.py [--chunks 20000]

Measures the gateway's own per-event work on each path, from upstream SSE event to the bytes
written to the client:
  passthrough         OpenAI chunk -> splice extra_fields -> `data:` event      (server/inference.py)
  anthropic-upstream  Anthropic event -> MessagesStreamToChat -> OpenAI chunk -> `data:` event
  anthropic-inbound   OpenAI chunk -> ChatStreamToMessages -> Anthropic `event:` frames
Issue #4's bar: a stream through Anthropic translation costs at most 1.5x the pass-through.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import AsyncIterator

import msgspec

from bifrost.providers.anthropic.client import _chat_chunks
from bifrost.schemas.inference import InferenceRequest, InferenceStream, StreamEvent, Target
from bifrost.server.inference import _sse_chunks
from bifrost.server.integrations.anthropic import _events

enc = msgspec.json.encode


def openai_chunks(n: int) -> list[StreamEvent]:
    out = []
    for i in range(n):
        out.append(StreamEvent(enc({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1,
                                    "model": "m", "choices": [{"index": 0, "delta": {"content": f" w{i}"},
                                                               "finish_reason": None}]})))
    return out


def anthropic_events(n: int) -> list[StreamEvent]:
    ev = [StreamEvent(enc({"type": "message_start", "message": {
        "id": "msg_1", "type": "message", "role": "assistant", "model": "m", "content": [],
        "stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": 5, "output_tokens": 1}}}),
        "message_start"),
          StreamEvent(enc({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
                      "content_block_start")]
    for i in range(n):
        ev.append(StreamEvent(enc({"type": "content_block_delta", "index": 0,
                                   "delta": {"type": "text_delta", "text": f" w{i}"}}), "content_block_delta"))
    ev.append(StreamEvent(enc({"type": "content_block_stop", "index": 0}), "content_block_stop"))
    ev.append(StreamEvent(enc({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                               "usage": {"output_tokens": n}}), "message_delta"))
    ev.append(StreamEvent(enc({"type": "message_stop"}), "message_stop"))
    return ev


async def aiter(items: list[StreamEvent]) -> AsyncIterator[StreamEvent]:
    for x in items:
        yield x


async def drain(it: AsyncIterator[bytes]) -> int:
    n = 0
    async for b in it:
        n += len(b)
    return n


def req() -> InferenceRequest:
    return InferenceRequest(request_type="chat_completion", target=Target("p", "m"), body={}, stream=True)


async def run(n: int) -> dict[str, float]:
    out = {}
    cases = {
        "passthrough": lambda: _sse_chunks(req(), InferenceStream(target=Target("p", "m"),
                                                                  events=aiter(openai_chunks(n)))),
        "anthropic-upstream": lambda: _sse_chunks(req(), InferenceStream(
            target=Target("anthropic", "m"), events=_chat_chunks("anthropic", aiter(anthropic_events(n)), "m"))),
        "anthropic-inbound": lambda: _events(InferenceStream(target=Target("p", "m"),
                                                             events=aiter(openai_chunks(n))), "m"),
    }
    for name, make in cases.items():
        best = float("inf")
        for _ in range(5):
            it = make()
            t0 = time.perf_counter()
            await drain(it)
            best = min(best, time.perf_counter() - t0)
        out[name] = best / n * 1e6
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--chunks", type=int, default=20000)
    a = ap.parse_args()
    res = asyncio.run(run(a.chunks))
    base = res["passthrough"]
    for name, us in res.items():
        print(f"{name:20s} {us:6.2f} us/chunk  ({us / base:4.2f}x pass-through)")


if __name__ == "__main__":
    main()
