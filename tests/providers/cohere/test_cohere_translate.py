"""Cohere v2 <-> OpenAI chat / embeddings translation, checked against Cohere's documented examples
(tests/fixtures/cohere, each file names its source) and the official cohere and openai SDK types."""

from __future__ import annotations

import json
from pathlib import Path

import pydantic
import pytest
from cohere import EmbedByTypeResponse, V2ChatResponse, V2ChatStreamResponse
from openai.lib.streaming.chat import ChatCompletionStreamState
from openai.types import CreateEmbeddingResponse
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from bifrost.providers.cohere.translate import (
    ChatStreamToCohere,
    CohereStreamToChat,
    StreamError,
    chat_response_to_cohere,
    chat_to_cohere,
    cohere_embed_to_embedding,
    cohere_response_to_chat,
    cohere_to_chat,
    embed_to_embedding,
    embedding_response_to_cohere,
    embedding_to_cohere,
    error_body,
    error_message,
    finish_reason,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "cohere"
EVENT = pydantic.TypeAdapter(V2ChatStreamResponse)
MODEL = "command-a-03-2025"


def fixture(name: str) -> dict:
    doc = json.loads((FIXTURES / f"{name}.json").read_text())
    doc.pop("_source", None)
    return doc


def _accumulate(chunks: list[dict]) -> ChatCompletion:
    state = ChatCompletionStreamState()
    for c in chunks:
        state.handle_chunk(ChatCompletionChunk.model_validate(c))
    return state.get_final_completion()


# ---------------------------------------------------------------- provider direction


def test_request_with_tools_matches_cohere_docs() -> None:
    doc = fixture("request_tools")
    assert chat_to_cohere(doc["openai"], MODEL) == doc["cohere"]


def test_request_options() -> None:
    system = [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]
    body = {"messages": [{"role": "developer", "content": system},
                         {"role": "user", "content": [{"type": "text", "text": "look"},
                                                      {"type": "image_url", "image_url": {"url": "https://x/i.png"}}]}],
            "response_format": {"type": "json_schema", "json_schema": {"name": "o", "schema": {"type": "object"}}},
            "max_completion_tokens": 9, "reasoning_effort": "none", "stream": True, "n": 1,
            "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"},
                                                        "strict": True}}],
            "tool_choice": {"type": "function", "function": {"name": "f"}}, "safety_mode": "OFF"}
    out = chat_to_cohere(body, MODEL)
    assert out["messages"][0] == {"role": "system", "content": "a\nb"}
    assert out["messages"][1]["content"][1] == {"type": "image_url", "image_url": {"url": "https://x/i.png"}}
    assert out["response_format"] == {"type": "json_object", "json_schema": {"type": "object"}}
    assert out["max_tokens"] == 9 and out["thinking"] == {"type": "disabled"} and out["stream"] is True
    assert out["strict_tools"] is True and out["tool_choice"] == "REQUIRED" and out["safety_mode"] == "OFF"
    with pytest.raises(ValueError):
        chat_to_cohere({"messages": [], "n": 2}, MODEL)
    with pytest.raises(ValueError):
        chat_to_cohere({"messages": [{"role": "user", "content": [{"type": "input_audio"}]}]}, MODEL)
    with pytest.raises(ValueError):
        chat_to_cohere({"messages": [], "tools": [{"type": "web_search"}]}, MODEL)


def test_text_response_to_chat() -> None:
    doc = fixture("response_text")
    V2ChatResponse.model_validate(doc)
    out = cohere_response_to_chat(doc, MODEL, created=1)
    ChatCompletion.model_validate(out)
    assert out["id"] == doc["id"] and out["model"] == MODEL
    assert out["choices"][0]["message"] == {"role": "assistant", "content": doc["message"]["content"][0]["text"]}
    assert out["choices"][0]["finish_reason"] == "stop"
    assert out["usage"] == {"prompt_tokens": 83, "completion_tokens": 386, "total_tokens": 469,
                            "billed_units": {"input_tokens": 17, "output_tokens": 386}}


def test_tool_call_response_to_chat() -> None:
    doc = fixture("response_tool_call")
    V2ChatResponse.model_validate(doc)
    out = cohere_response_to_chat(doc, MODEL, created=1)
    ChatCompletion.model_validate(out)
    msg = out["choices"][0]["message"]
    assert msg["content"] is None and msg["reasoning"] == doc["message"]["tool_plan"]
    assert msg["tool_calls"] == doc["message"]["tool_calls"]
    assert out["choices"][0]["finish_reason"] == "tool_calls"


@pytest.mark.parametrize(("cohere", "openai"), [("COMPLETE", "stop"), ("STOP_SEQUENCE", "stop"),
                                                ("MAX_TOKENS", "length"), ("TOOL_CALL", "tool_calls"),
                                                ("ERROR", "error")])
def test_finish_reasons(cohere: str, openai: str) -> None:
    assert finish_reason(cohere) == openai


def test_text_stream_to_chat() -> None:
    events = fixture("stream_text")["events"]
    conv = CohereStreamToChat(MODEL, created=1)
    chunks = []
    for ev in events:
        EVENT.validate_python(ev)
        chunks.extend(conv.feed(ev))
    final = _accumulate(chunks)
    assert final.id == events[0]["id"] and final.choices[0].message.content == "Hello!"
    assert final.choices[0].finish_reason == "stop"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] == 2
    assert chunks[-1]["usage"]["prompt_tokens"] == 69


def test_tool_stream_to_chat() -> None:
    events = fixture("stream_tool_call")["events"]
    conv = CohereStreamToChat(MODEL, created=1)
    chunks = [c for ev in events for c in conv.feed(EVENT.validate_python(ev) and ev)]
    final = _accumulate(chunks)
    call = final.choices[0].message.tool_calls[0]
    assert call.id == "get_weather_nsz5zm3w56q3" and call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"location": "Madrid"}
    assert final.choices[0].finish_reason == "tool_calls"
    reasoning = "".join(c["choices"][0]["delta"].get("reasoning", "") for c in chunks if c["choices"])
    assert reasoning == "I will check the weather."


def test_stream_error_end() -> None:
    conv = CohereStreamToChat(MODEL)
    with pytest.raises(StreamError) as e:
        conv.feed({"type": "message-end", "delta": {"finish_reason": "ERROR", "error": "boom"}})
    assert e.value.message == "boom"


def test_embeddings_both_ways() -> None:
    req = embedding_to_cohere({"input": "hi", "dimensions": 256}, "embed-v4.0")
    assert req == {"model": "embed-v4.0", "texts": ["hi"], "input_type": "search_document",
                   "embedding_types": ["float"], "output_dimension": 256}
    assert embedding_to_cohere({"input": ["a"], "input_type": "search_query", "encoding_format": "base64"},
                               "m")["input_type"] == "search_query"
    with pytest.raises(ValueError):
        embedding_to_cohere({"input": [1, 2, 3]}, "m")
    doc = fixture("embed_response")
    EmbedByTypeResponse.model_validate(doc)
    out = cohere_embed_to_embedding(doc, "embed-english-v3.0")
    CreateEmbeddingResponse.model_validate(out)
    assert [d["embedding"] for d in out["data"]] == doc["embeddings"]["float"]
    assert out["usage"] == {"prompt_tokens": 2, "total_tokens": 2}
    # inbound: Cohere embed request -> OpenAI and back
    assert embed_to_embedding({"texts": ["a"], "input_type": "search_query", "output_dimension": 8}) == {
        "input": ["a"], "encoding_format": "float", "dimensions": 8}
    assert embed_to_embedding({"texts": ["a"], "input_type": "search_query"}, native=True)["input_type"] == \
        "search_query"
    with pytest.raises(ValueError):
        embed_to_embedding({"texts": ["a"], "embedding_types": ["int8"]})
    back = embedding_response_to_cohere(out, doc["texts"], ["float", "base64"], rid="r1")
    EmbedByTypeResponse.model_validate(back)
    assert back["embeddings"]["float"] == doc["embeddings"]["float"]
    assert back["meta"]["billed_units"] == {"input_tokens": 2} and back["texts"] == doc["texts"]
    again = embedding_response_to_cohere({"data": [{"index": 0, "embedding": back["embeddings"]["base64"][0]}]},
                                         ["hello"])
    assert again["embeddings"]["float"][0] == pytest.approx(doc["embeddings"]["float"][0])


# ---------------------------------------------------------------- inbound direction


def test_inbound_request_inverts_the_docs_example() -> None:
    doc = fixture("request_tools")
    chat = cohere_to_chat({**doc["cohere"], "stream": True})
    assert chat["messages"][0] == {"role": "system", "content": "You are a weather bot."}
    assert chat["messages"][2]["tool_calls"] == doc["openai"]["messages"][2]["tool_calls"]
    assert chat["messages"][2]["content"] is None and "reasoning" not in chat["messages"][2]
    assert chat["messages"][3] == doc["openai"]["messages"][3]
    assert chat["tools"] == doc["openai"]["tools"] and chat["tool_choice"] == "required"
    assert chat["stop"] == ["END"] and chat["top_p"] == 0.75 and chat["top_k"] == 40
    assert chat["stream_options"] == {"include_usage": True}
    native = cohere_to_chat({**doc["cohere"], "documents": ["d"]}, native=True)
    assert native["messages"][2]["reasoning"] == "I will search for the weather in Toronto."
    assert native["documents"] == ["d"]
    with pytest.raises(ValueError):
        cohere_to_chat({**doc["cohere"], "documents": ["d"]})


def test_chat_response_to_cohere_round_trip() -> None:
    for name in ("response_text", "response_tool_call"):
        doc = fixture(name)
        back = chat_response_to_cohere(cohere_response_to_chat(doc, MODEL))
        V2ChatResponse.model_validate(back)
        assert back["finish_reason"] == doc["finish_reason"] and back["id"] == doc["id"]
        assert back["message"].get("tool_calls") == doc["message"].get("tool_calls")
        assert back["message"].get("tool_plan") == doc["message"].get("tool_plan")
        assert back["message"].get("content") == doc["message"].get("content")
        tokens = doc["usage"]["tokens"]
        assert back["usage"]["tokens"] == tokens


@pytest.mark.parametrize("name", ["stream_text", "stream_tool_call"])
def test_chat_stream_to_cohere_round_trip(name: str) -> None:
    events = fixture(name)["events"]
    down = CohereStreamToChat(MODEL, created=1)
    up = ChatStreamToCohere(tools=name == "stream_tool_call")
    out = []
    for ev in events:
        for chunk in down.feed(ev):
            out.extend(up.feed(chunk))
    out.extend(up.finish())
    for ev in out:
        EVENT.validate_python(ev)
    want = [e["type"] for e in events]
    assert [e["type"] for e in out] == want
    assert out[-1]["delta"]["finish_reason"] == events[-1]["delta"]["finish_reason"]
    assert out[-1]["delta"]["usage"]["tokens"] == events[-1]["delta"]["usage"]["tokens"]
    deltas = [e for e in events if e["type"] in ("content-delta", "tool-call-delta")]
    got = [e for e in out if e["type"] in ("content-delta", "tool-call-delta")]
    assert got == deltas


def test_errors() -> None:
    doc = fixture("errors")
    assert error_message(doc["unauthorized"]) == "invalid api token"
    assert error_message(json.dumps(doc["too_many_requests"]).encode()).startswith("You are using a Trial key")
    assert error_body(400, "bad") == {"message": "bad"}
