"""Text completions and InvokeModel family translators, against fixtures shaped like AWS's documented
request/response examples (tests/fixtures/bedrock/invoke_text.json says where each comes from)."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bifrost.mock.bedrock_wire import frame
from bifrost.providers.anthropic.translate_text import complete_to_completion, completion_to_complete
from bifrost.providers.bedrock.client import _text_chunks
from bifrost.providers.bedrock.invoke import (
    CompletionStreamToInvoke,
    completion_to_invoke_response,
    embedding_to_invoke_response,
    invoke_family,
    invoke_to_completion,
    invoke_to_embedding,
)
from bifrost.providers.bedrock.text import (
    InvokeTextStreamToCompletion,
    completion_to_invoke,
    invoke_text_to_completion,
)
from bifrost.schemas.errors import UpstreamError

FX = json.loads((Path(__file__).resolve().parents[2] / "fixtures" / "bedrock" / "invoke_text.json").read_text())


# ---------------------------------------------------------------- outbound: the bedrock provider


def test_openai_completion_to_claude_text_body() -> None:
    want = FX["anthropic_text"]["request"]
    body = {"prompt": "Hello, world!", "max_tokens": 200, "temperature": 0.5, "top_p": 0.9, "top_k": 250,
            "stop": "\n\nHuman:"}
    assert completion_to_invoke(body, "anthropic.claude-v2:1") == {**want, "prompt": "\n\nHuman: Hello, world!"
                                                                   "\n\nAssistant:"}
    # a prompt already in Human/Assistant form is not wrapped twice; max_tokens_to_sample defaults to 4096
    out = completion_to_invoke({"prompt": want["prompt"]}, "us.anthropic.claude-instant-v1")
    assert out == {"prompt": want["prompt"], "max_tokens_to_sample": 4096}


def test_openai_completion_to_mistral_body() -> None:
    want = FX["mistral"]["request"]
    body = {"prompt": want["prompt"], "max_tokens": 400, "stop": ["</s>"], "temperature": 0.7, "top_p": 0.9,
            "top_k": 50}
    assert completion_to_invoke(body, "mistral.mistral-7b-instruct-v0:2") == want
    assert completion_to_invoke({"prompt": ["a", "b"]}, "mistral.mixtral-8x7b-instruct-v0:1") == {"prompt": "a\n\nb"}


@pytest.mark.parametrize(("body", "model"), [
    ({"prompt": "x"}, "amazon.titan-text-express-v1"),
    ({"prompt": "x"}, "meta.llama3-8b-instruct-v1:0"),
    ({"prompt": [1, 2, 3]}, "mistral.mistral-7b-instruct-v0:2"),
    ({"prompt": "x", "n": 2}, "anthropic.claude-v2"),
])
def test_unservable_text_completions_raise(body: dict, model: str) -> None:
    with pytest.raises(ValueError):
        completion_to_invoke(body, model)


def test_claude_text_response_to_completion_with_header_usage() -> None:
    out = invoke_text_to_completion(FX["anthropic_text"]["response"], "anthropic.claude-v2", 14, 10, created=7)
    assert out["object"] == "text_completion" and out["created"] == 7 and out["model"] == "anthropic.claude-v2"
    assert out["choices"] == [{"text": " Hello! How can I help you today?", "index": 0, "logprobs": None,
                               "finish_reason": "stop"}]
    assert out["usage"] == {"prompt_tokens": 14, "completion_tokens": 10, "total_tokens": 24}
    length = invoke_text_to_completion({"completion": "x", "stop_reason": "max_tokens"}, "m", None, None)
    assert length["choices"][0]["finish_reason"] == "length" and "usage" not in length


def test_mistral_response_to_completion() -> None:
    out = invoke_text_to_completion(FX["mistral"]["response"], "mistral.x", 19, 7)
    assert out["choices"][0]["text"] == " Ketchup, for its versatility."
    assert out["choices"][0]["finish_reason"] == "stop"
    two = invoke_text_to_completion({"outputs": [{"text": "a", "stop_reason": "stop"},
                                                 {"text": "b", "stop_reason": "length"}]}, "m", 1, 2)
    assert [(c["index"], c["text"], c["finish_reason"]) for c in two["choices"]] == [(0, "a", "stop"),
                                                                                     (1, "b", "length")]


@pytest.mark.parametrize("family", ["anthropic_text", "mistral"])
def test_text_stream_chunks_to_completion_chunks(family: str) -> None:
    conv = InvokeTextStreamToCompletion("m", created=1)
    chunks = [c for data in FX[family]["stream"] for c in conv.feed(data)]
    assert all(c["object"] == "text_completion" and c["id"] == chunks[0]["id"] for c in chunks)
    texts = [c["choices"][0]["text"] for c in chunks if c["choices"]]
    assert "".join(texts) == "".join(
        d.get("completion") or d.get("outputs", [{}])[0].get("text", "") for d in FX[family]["stream"])
    finishes = [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]]
    assert finishes[:-1] == [None] * (len(finishes) - 1)
    assert finishes[-1] == ("stop" if family == "anthropic_text" else "length")
    metrics = FX[family]["stream"][-1]["amazon-bedrock-invocationMetrics"]
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"] == {
        "prompt_tokens": metrics["inputTokenCount"], "completion_tokens": metrics["outputTokenCount"],
        "total_tokens": metrics["inputTokenCount"] + metrics["outputTokenCount"]}


def _stream_of(frames: list[bytes]) -> AsyncIterator[bytes]:
    async def gen() -> AsyncIterator[bytes]:
        for f in frames:
            yield f
    return gen()


def _collect(frames: list[bytes]) -> list[dict]:
    async def run() -> list[dict]:
        return [json.loads(ev.data) async for ev in _text_chunks("bedrock", _stream_of(frames), "m")]
    return asyncio.run(run())


def test_event_stream_chunk_frames_are_decoded() -> None:
    frames = [frame("chunk", {"bytes": base64.b64encode(json.dumps(d).encode()).decode()})
              for d in FX["anthropic_text"]["stream"]]
    whole = b"".join(frames)
    chunks = _collect([whole[:7], whole[7:50], whole[50:]])  # frames split across reads
    assert [c["choices"][0]["text"] for c in chunks if c["choices"]] == [" Hello!", " How can I help you today?"]
    assert chunks[-1]["usage"]["completion_tokens"] == 10


def test_exception_frame_in_a_text_stream_raises_with_status() -> None:
    ok = frame("chunk", {"bytes": base64.b64encode(b'{"completion": "a", "stop_reason": null}').decode()})
    bad = frame("throttlingException", {"message": "Too many requests"}, message_type="exception")
    with pytest.raises(UpstreamError) as e:
        _collect([ok, bad])
    assert e.value.status == 429 and e.value.message == "Too many requests"


# ---------------------------------------------------------------- outbound: the anthropic provider


def test_openai_completion_to_anthropic_complete_and_back() -> None:
    fx = FX["anthropic_complete"]
    assert completion_to_complete({"prompt": "Hello, world!", "max_tokens": 256}, "claude-2.1") == fx["request"]
    out = complete_to_completion(fx["response"], "claude-2.1", created=3)
    assert out == {"id": "compl_018CKm6gsux7P8yMcwZbeCPw", "object": "text_completion", "created": 3,
                   "model": "claude-2.1", "choices": [{"text": " Hello! My name is Claude.", "index": 0,
                                                       "logprobs": None, "finish_reason": "stop"}]}
    usage = complete_to_completion({**fx["response"], "usage": {"input_tokens": 5, "output_tokens": 6}}, "m")
    assert usage["usage"] == {"prompt_tokens": 5, "completion_tokens": 6, "total_tokens": 11}


# ---------------------------------------------------------------- inbound: the /bedrock invoke drop-in


@pytest.mark.parametrize(("family", "model"), [
    ("anthropic_text", "openai/gpt-4o-mini"), ("mistral", "openai/gpt-4o-mini"), ("llama", "openai/gpt-4o-mini"),
    ("titan_text", "openai/gpt-4o-mini"), ("titan_embed", "openai/text-embedding-3-small"),
    ("cohere_embed", "openai/text-embedding-3-small"),
])
def test_family_is_told_from_the_documented_bodies(family: str, model: str) -> None:
    assert invoke_family(FX[family]["request"], model) == family


def test_family_falls_back_to_the_model_id() -> None:
    assert invoke_family({"prompt": "x", "max_tokens": 5}, "bedrock/meta.llama3-8b-instruct-v1:0") == "llama"
    assert invoke_family({"prompt": "x"}, "bedrock/anthropic.claude-v2") == "anthropic_text"
    assert invoke_family({"messages": [{"role": "user", "content": "x"}]}, "m") == "messages"
    assert invoke_family({"question": "x"}, "m") is None and invoke_family({"messages": []}, "m") is None


def test_text_bodies_to_openai_completions() -> None:
    assert invoke_to_completion(FX["anthropic_text"]["request"], "anthropic_text", keep_top_k=True) == {
        "prompt": "\n\nHuman: Hello, world!\n\nAssistant:", "max_tokens": 200, "temperature": 0.5, "top_p": 0.9,
        "top_k": 250, "stop": ["\n\nHuman:"]}
    assert invoke_to_completion(FX["llama"]["request"], "llama") == {
        "prompt": "What is the capital of France?", "max_tokens": 512, "temperature": 0.5, "top_p": 0.9}
    assert invoke_to_completion(FX["titan_text"]["request"], "titan_text") == {
        "prompt": "Write a haiku about rain.", "max_tokens": 512, "temperature": 0.7, "top_p": 0.9, "stop": ["User:"]}
    m = FX["mistral"]["request"]
    assert invoke_to_completion(m, "mistral", keep_top_k=True) == m  # the same field names as OpenAI
    assert "top_k" not in invoke_to_completion(m, "mistral")  # OpenAI has no top_k


def _completion(text: str, finish: str, inp: int, out: int) -> dict[str, Any]:
    return {"object": "text_completion", "choices": [{"text": text, "index": 0, "finish_reason": finish}],
            "usage": {"prompt_tokens": inp, "completion_tokens": out, "total_tokens": inp + out}}


@pytest.mark.parametrize("family", ["anthropic_text", "mistral", "llama", "titan_text"])
def test_openai_completion_to_the_documented_family_response(family: str) -> None:
    want = FX[family]["response"]
    text = {"anthropic_text": want.get("completion"), "mistral": (want.get("outputs") or [{}])[0].get("text"),
            "llama": want.get("generation"), "titan_text": (want.get("results") or [{}])[0].get("outputText")}[family]
    inp = want.get("prompt_token_count") or want.get("inputTextTokenCount") or 3
    out_n = want.get("generation_token_count") or (want.get("results") or [{}])[0].get("tokenCount") or 4
    got = completion_to_invoke_response(_completion(str(text), "stop", inp, out_n), family)
    if family == "anthropic_text":
        want = {**want, "stop": None}  # the stop sequence that matched is not known through OpenAI's answer
    assert got == want
    length = completion_to_invoke_response(_completion("x", "length", 1, 1), family)
    assert json.dumps(length).count({"anthropic_text": "max_tokens", "mistral": "length", "llama": "length",
                                     "titan_text": "LENGTH"}[family]) == 1


@pytest.mark.parametrize("family", ["anthropic_text", "mistral", "llama", "titan_text"])
def test_completion_stream_to_family_chunks(family: str) -> None:
    conv = CompletionStreamToInvoke(family)
    chunks = [{"choices": [{"index": 0, "text": t, "finish_reason": None}]} for t in ("Hel", "lo")]
    chunks.append({"choices": [{"index": 0, "text": "", "finish_reason": "stop"}]})
    chunks.append({"choices": [], "usage": {"prompt_tokens": 4, "completion_tokens": 2, "total_tokens": 6}})
    out = [o for c in chunks for o in conv.feed(c)] + conv.finish(12)
    assert len(out) == 3 and conv.finish() == []
    last = out[-1]
    assert last["amazon-bedrock-invocationMetrics"] == {"inputTokenCount": 4, "outputTokenCount": 2,
                                                        "invocationLatency": 12, "firstByteLatency": 12}
    if family == "titan_text":
        assert set(FX["titan_text"]["stream_chunk"]) <= set(last)
        assert last["completionReason"] == "FINISH" and last["totalOutputTextTokenCount"] == 2
    if family in ("anthropic_text", "mistral"):
        shape = FX[family]["stream"][0]
        assert set(out[0]) == set(shape)
        assert [bool(o.get("stop_reason") or (o.get("outputs") or [{}])[0].get("stop_reason")) for o in out] == [
            False, False, True]
    if family == "llama":
        assert last["stop_reason"] == "stop" and last["prompt_token_count"] == 4 and out[0]["generation"] == "Hel"


def test_embedding_bodies_and_answers() -> None:
    t = FX["titan_embed"]["request"]
    assert invoke_to_embedding(t, "titan_embed", keep_native=False) == {"input": t["inputText"], "dimensions": 256}
    assert invoke_to_embedding(t, "titan_embed", keep_native=True)["normalize"] is True
    c = FX["cohere_embed"]["request"]
    assert invoke_to_embedding(c, "cohere_embed", keep_native=False) == {"input": ["Hello", "world"]}
    assert invoke_to_embedding(c, "cohere_embed", keep_native=True) == {"input": ["Hello", "world"],
                                                                        "input_type": "search_document",
                                                                        "truncate": "NONE"}
    with pytest.raises(ValueError):
        invoke_to_embedding({**c, "embedding_types": ["int8"]}, "cohere_embed", keep_native=True)
    openai = {"data": [{"index": 1, "embedding": [0.3, 0.4]}, {"index": 0, "embedding": [0.1, 0.2]}],
              "usage": {"prompt_tokens": 10, "total_tokens": 10}}
    titan = embedding_to_invoke_response(openai, "titan_embed")
    assert titan == {"embedding": [0.1, 0.2], "inputTextTokenCount": 10}
    cohere = embedding_to_invoke_response(openai, "cohere_embed", ["hello", "world"])
    assert set(cohere) == set(FX["cohere_embed"]["response"])
    assert cohere["embeddings"] == FX["cohere_embed"]["response"]["embeddings"]
    assert cohere["response_type"] == "embeddings_floats" and cohere["texts"] == ["hello", "world"]
