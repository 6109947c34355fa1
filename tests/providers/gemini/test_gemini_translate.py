"""Gemini API <-> OpenAI translation: golden fixtures both ways, round trips, and checks with the real SDKs.

Fixtures (tests/fixtures/gemini/*.json) follow Google's API reference and the responses Google's SDK test data
records from the live API; each file says where its shapes come from. The google-genai SDK is driven end to
end against an in-process fake of the gateway's /genai endpoints (httpx2.MockTransport), so the inbound
direction is checked against exactly what the SDK sends and parses.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import httpx2
import pydantic
import pytest
from google import genai
from google.genai import errors as genai_errors
from google.genai import types
from openai.lib.streaming.chat import ChatCompletionStreamState
from openai.types import CreateEmbeddingResponse
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from bifrost.providers.gemini.translate import (
    ChatStreamToGenerate,
    GeminiError,
    GenerateStreamToChat,
    chat_response_to_generate,
    chat_to_generate,
    count_tokens_response,
    count_tokens_to_chat,
    embed_to_openai,
    embeddings_to_gemini,
    error_body,
    error_message,
    gemini_embeddings_to_openai,
    generate_response_to_chat,
    generate_to_chat,
    openai_embeddings_to_gemini,
    to_gemini_schema,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "gemini"
GENERATED_ID = re.compile(r"call_[0-9a-f]{24}")
SKIP = "c2tpcF90aG91Z2h0X3NpZ25hdHVyZV92YWxpZGF0b3I="  # base64(b"skip_thought_signature_validator")


def load(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def cases(name: str, section: str) -> list:
    return [pytest.param(c, id=c["name"]) for c in load(name)[section]]


def norm(value: Any) -> Any:
    """Generated tool call ids -> "call_ID"."""
    if isinstance(value, str):
        return GENERATED_ID.sub("call_ID", value)
    if isinstance(value, dict):
        return {k: norm(v) for k, v in value.items()}
    if isinstance(value, list):
        return [norm(v) for v in value]
    return value


def without(d: dict, *keys: str) -> dict:
    return {k: v for k, v in d.items() if k not in keys}


# ------------------------------------------------------------------------------- golden: responses


@pytest.mark.parametrize("case", cases("responses", "gemini_to_chat"))
def test_gemini_response_to_chat_golden(case):
    out = generate_response_to_chat(copy.deepcopy(case["gemini"]), case["model"])
    expected = case["openai"]
    # each candidate's own finishReason rides along (OpenRouter's field) so a Gemini client gets it back
    natives = [c.pop("native_finish_reason", None) for c in out["choices"]]
    assert natives == [c.get("finishReason") for c in case["gemini"].get("candidates") or ()] or natives == [None]
    assert isinstance(out["created"], int) and out["created"] > 0
    if "created" in expected:
        assert out["created"] == expected["created"]
    if "id" in expected:
        assert out["id"] == expected["id"]
    else:
        assert out["id"].startswith("chatcmpl-") and len(out["id"]) > 20
    assert norm(without(out, "id", "created")) == without(expected, "id", "created")
    ChatCompletion.model_validate(out)


@pytest.mark.parametrize("case", cases("responses", "chat_to_gemini"))
def test_chat_response_to_gemini_golden(case):
    out = chat_response_to_generate(copy.deepcopy(case["openai"]), case["model"])
    assert out == case["gemini"]
    parsed = types.GenerateContentResponse.model_validate(out)
    message = case["openai"]["choices"][0]["message"]
    calls = message.get("tool_calls") or []
    if calls:
        assert [c.name for c in parsed.function_calls] == [c["function"]["name"] for c in calls]
        assert [c.id for c in parsed.function_calls] == [c["id"].split("_ts_")[0] for c in calls]
    else:
        assert parsed.text == (message.get("content") or message.get("refusal"))


def test_sdk_reads_thoughts_and_signature_from_converted_response():
    case = load("responses")["chat_to_gemini"][1]
    parsed = types.GenerateContentResponse.model_validate(chat_response_to_generate(case["openai"], "m"))
    parts = parsed.candidates[0].content.parts
    assert parts[0].thought is True and parts[0].text == "The user wants the weather."
    assert parsed.function_calls[0].args == {"location": "Boston, MA"}
    assert parts[2].thought_signature == bytes([0xFF, 0xEF, 0xBE]) + b"second-signature/check" + bytes([0xFC, 0x3F])
    assert parsed.usage_metadata.thoughts_token_count == 40
    assert parsed.usage_metadata.cached_content_token_count == 64


# --------------------------------------------------------------------------------- golden: streams


def simplify(chunk: dict) -> Any:
    if not chunk["choices"]:
        return {"usage": chunk["usage"]}
    (choice,) = chunk["choices"]
    return [choice["index"], choice["delta"], choice["finish_reason"]]


@pytest.mark.parametrize("case", cases("streams", "gemini_to_chat"))
def test_gemini_stream_to_chat_golden(case):
    conv = GenerateStreamToChat("gemini-x")
    chunks = [c for event in copy.deepcopy(case["events"]) for c in conv.feed(event)] + conv.finish()
    assert norm([simplify(c) for c in chunks]) == case["chunks"]
    assert len({c["id"] for c in chunks}) == 1 and len({c["created"] for c in chunks}) == 1
    if "id" in case:
        assert chunks[0]["id"] == case["id"]
    assert all(c["model"] == "gemini-x" and c["object"] == "chat.completion.chunk" for c in chunks)
    state = ChatCompletionStreamState()
    for chunk in chunks:
        state.handle_chunk(ChatCompletionChunk.model_validate(chunk))
    final = state.current_completion_snapshot  # get_final_completion() raises on content_filter
    if "text" in case:
        assert final.choices[0].message.content == case["text"]
    calls = [d for c in case["chunks"] if isinstance(c, list) for d in c[1].get("tool_calls", [])]
    got = final.choices[0].message.tool_calls or []
    assert [(norm(t.id), t.function.name, t.function.arguments) for t in got] == [
        (d["id"], d["function"]["name"], d["function"]["arguments"]) for d in calls]


@pytest.mark.parametrize("case", cases("streams", "chat_to_gemini"))
def test_chat_stream_to_gemini_golden(case):
    conv = ChatStreamToGenerate(case["model"])
    events = [e for chunk in copy.deepcopy(case["chunks"]) for e in conv.feed(chunk)] + conv.finish()
    assert events == case["events"]
    assert conv.finish() == [] and conv.feed(case["chunks"][0]) == []
    parsed = [types.GenerateContentResponse.model_validate(e) for e in events]
    first_parts = [p.candidates[0].content.parts[0] for p in parsed]
    text = "".join(part.text or "" for part in first_parts if not part.thought)
    streamed = "".join((c["choices"][0]["delta"].get("content") or "") for c in case["chunks"] if c["choices"])
    assert text == streamed
    assert parsed[-1].candidates[0].finish_reason == types.FinishReason.STOP
    assert parsed[-1].usage_metadata.total_token_count == case["chunks"][-1]["usage"]["total_tokens"]


def test_streamed_tool_calls_accumulate_to_the_non_streamed_answer():
    gemini = load("responses")["gemini_to_chat"][2]["gemini"]  # three parallel calls
    conv = GenerateStreamToChat("m")
    chunks = conv.feed(gemini) + conv.finish()
    state = ChatCompletionStreamState()
    for chunk in chunks:
        state.handle_chunk(ChatCompletionChunk.model_validate(chunk))
    final = state.get_final_completion().choices[0]
    direct = generate_response_to_chat(gemini, "m")["choices"][0]
    assert final.finish_reason == direct["finish_reason"] == "tool_calls"
    assert [(t.function.name, json.loads(t.function.arguments)) for t in final.message.tool_calls] == [
        (t["function"]["name"], json.loads(t["function"]["arguments"])) for t in direct["message"]["tool_calls"]]
    assert final.message.tool_calls[1].id == "fc-7"


def test_stream_error_event_raises():
    conv = GenerateStreamToChat("m")
    with pytest.raises(GeminiError) as info:
        conv.feed({"error": {"code": 429, "message": "Resource has been exhausted", "status": "RESOURCE_EXHAUSTED"}})
    assert info.value.status == "RESOURCE_EXHAUSTED" and info.value.code == 429
    with pytest.raises(GeminiError):
        generate_response_to_chat({"error": {"code": 500, "message": "boom", "status": "INTERNAL"}}, "m")


def test_stream_with_two_candidates():
    conv = GenerateStreamToChat("m")
    chunks = conv.feed({"candidates": [{"content": {"parts": [{"text": "a"}], "role": "model"}, "index": 0},
                                       {"content": {"parts": [{"text": "b"}], "role": "model"}, "index": 1,
                                        "finishReason": "MAX_TOKENS"}]})
    chunks += conv.finish()
    assert [simplify(c) for c in chunks] == [
        [0, {"role": "assistant", "content": ""}, None], [0, {"content": "a"}, None],
        [1, {"role": "assistant", "content": ""}, None], [1, {"content": "b"}, None], [1, {}, "length"],
        [0, {}, "stop"],
    ]


def test_stream_logprobs_ride_on_the_content_chunk():
    conv = GenerateStreamToChat("m")
    logprobs = {"chosenCandidates": [{"token": "Yes", "logProbability": -0.1}]}
    chunks = conv.feed({"candidates": [{"content": {"parts": [{"text": "Yes"}], "role": "model"},
                                        "finishReason": "STOP", "logprobsResult": logprobs}]})
    assert [c["choices"][0]["logprobs"] is not None for c in chunks] == [False, True, False]
    assert chunks[1]["choices"][0]["logprobs"]["content"][0] == {
        "token": "Yes", "logprob": -0.1, "bytes": [89, 101, 115], "top_logprobs": []}
    for chunk in chunks:
        ChatCompletionChunk.model_validate(chunk)


# -------------------------------------------------------------------------------- golden: requests


def validate_request_with_sdk(req: dict) -> None:
    """Every piece of a GenerateContentRequest parses with google-genai's types (which forbid unknown fields)."""
    for content in req["contents"]:
        types.Content.model_validate(content)
    if "systemInstruction" in req:
        types.Content.model_validate(req["systemInstruction"])
    for tool in req.get("tools", []):
        types.Tool.model_validate(tool)
    if "toolConfig" in req:
        types.ToolConfig.model_validate(req["toolConfig"])
    if "generationConfig" in req:
        types.GenerationConfig.model_validate(req["generationConfig"])


@pytest.mark.parametrize("case", cases("requests", "chat_to_gemini"))
def test_chat_request_to_gemini_golden(case):
    out = chat_to_generate(copy.deepcopy(case["openai"]), case["model"])
    assert out == case["gemini"]
    validate_request_with_sdk(out)


@pytest.mark.parametrize("case", cases("requests", "gemini_to_chat"))
def test_gemini_request_to_chat_golden(case):
    assert generate_to_chat(copy.deepcopy(case["gemini"])) == case["openai"]


def test_chat_request_round_trip_keeps_messages_and_ids():
    body = load("requests")["chat_to_gemini"][0]["openai"]
    back = generate_to_chat(chat_to_generate(body))
    msgs = body["messages"]
    skip = "_ts_c2tpcF90aG91Z2h0X3NpZ25hdHVyZV92YWxpZGF0b3I"  # the placeholder signature, as an id suffix
    assert back["messages"] == [
        msgs[0],
        {"role": "user", "content": [msgs[1]["content"][0],
                                     {"type": "image_url", "image_url": {"url": "https://example.com/photos/boston.png"}}]},
        {"role": "assistant", "content": None, "tool_calls": [
            {**c, "id": c["id"] if "_ts_" in c["id"] else c["id"] + skip,
             "function": {"name": c["function"]["name"],
                          "arguments": json.dumps(json.loads(c["function"]["arguments"]), separators=(",", ":"))}}
            for c in msgs[2]["tool_calls"]]},
        {"role": "tool", "tool_call_id": "call_a" + skip, "content": msgs[3]["content"]},
        msgs[4],
        msgs[5],
    ]
    assert back["tool_choice"] == "auto" and back["max_tokens"] == 1024 and back["stop"] == ["END"]
    assert back["reasoning_effort"] == "low"  # 435 of 24576: effort survives only coarsely (documented)
    assert back["tools"][0]["function"]["parameters"]["properties"]["unit"]["type"] == ["string", "null"]


def test_gemini_request_round_trip_keeps_signature_and_pairs_responses():
    gemini = load("requests")["gemini_to_chat"][0]["gemini"]
    again = chat_to_generate(generate_to_chat(gemini), "gemini-3-pro-preview")  # 2.x drops JSON mode with tools
    model_turn, response_turn = again["contents"][1], again["contents"][2]
    original_call = gemini["contents"][1]["parts"][1]
    assert model_turn == {"role": "model", "parts": [{
        "functionCall": {**original_call["functionCall"], "id": "call_1"},
        "thoughtSignature": original_call["thoughtSignature"]}]}
    assert response_turn == {"role": "user", "parts": [{"functionResponse": {
        **gemini["contents"][2]["parts"][0]["functionResponse"], "id": "call_1"}}]}
    assert again["toolConfig"] == gemini["toolConfig"]
    assert again["generationConfig"]["responseSchema"] == {
        "type": "object", "title": "Answer", "properties": {"answer": {"type": "string"}}}
    validate_request_with_sdk(again)


def test_thought_signature_survives_an_openai_client_tool_loop():
    gemini = load("responses")["gemini_to_chat"][1]["gemini"]
    answer = generate_response_to_chat(gemini, "gemini-2.5-pro")["choices"][0]["message"]
    call = answer["tool_calls"][0]
    follow_up = {"messages": [
        {"role": "user", "content": "How many days until New Year's Eve?"},
        {"role": "assistant", "content": None, "tool_calls": [call]},  # what an OpenAI client sends back
        {"role": "tool", "tool_call_id": call["id"], "content": "2025-10-26"},
    ]}
    req = chat_to_generate(follow_up, "gemini-3-pro-preview")
    part = req["contents"][1]["parts"][0]
    assert part["thoughtSignature"] == gemini["candidates"][0]["content"]["parts"][1]["thoughtSignature"]
    assert part["functionCall"]["id"] == req["contents"][2]["parts"][0]["functionResponse"]["id"]
    assert GENERATED_ID.fullmatch(part["functionCall"]["id"])
    assert req["contents"][2]["parts"][0]["functionResponse"] == {
        "name": "now", "response": {"content": "2025-10-26"}, "id": part["functionCall"]["id"]}


def test_response_round_trips():
    for case in load("responses")["gemini_to_chat"][:2]:
        gemini = case["gemini"]
        back = chat_response_to_generate(generate_response_to_chat(gemini, case["model"]), case["model"])
        orig_parts = gemini["candidates"][0]["content"]["parts"]
        text = "".join(p["text"] for p in orig_parts if "text" in p and not p.get("thought"))
        got = types.GenerateContentResponse.model_validate(back)
        assert (got.text or "") == text or got.function_calls
        new_parts = back["candidates"][0]["content"]["parts"]
        for orig, new in zip([p for p in orig_parts if "functionCall" in p],
                             [p for p in new_parts if "functionCall" in p], strict=True):
            assert new.get("thoughtSignature") == orig.get("thoughtSignature")
            assert (new["functionCall"]["name"], new["functionCall"]["args"]) == (
                orig["functionCall"]["name"], orig["functionCall"]["args"])
        meta, orig_meta = back["usageMetadata"], gemini["usageMetadata"]
        for key in ("promptTokenCount", "candidatesTokenCount", "totalTokenCount"):
            assert meta[key] == orig_meta[key]
        assert meta.get("thoughtsTokenCount") == orig_meta.get("thoughtsTokenCount")
        assert back["candidates"][0]["finishReason"] == gemini["candidates"][0]["finishReason"]
    chat = load("responses")["chat_to_gemini"][0]["openai"]
    again = generate_response_to_chat(chat_response_to_generate(chat, "gpt-4o-mini"), "gpt-4o-mini")
    assert again["id"] == "chatcmpl-chatcmpl-123" or again["id"].endswith("chatcmpl-123")
    assert again["choices"][0]["message"] == chat["choices"][0]["message"]
    assert again["usage"]["total_tokens"] == 21


# ------------------------------------------------------------------------------- request details


@pytest.mark.parametrize(("choice", "config"), [
    ("auto", {"mode": "AUTO"}),
    ("none", {"mode": "NONE"}),
    ("required", {"mode": "ANY"}),
    ({"type": "function", "function": {"name": "f"}}, {"mode": "ANY", "allowedFunctionNames": ["f"]}),
    ({"type": "allowed_tools", "allowed_tools": {"mode": "required", "tools": [
        {"type": "function", "function": {"name": "f"}}]}}, {"mode": "ANY", "allowedFunctionNames": ["f"]}),
    ({"type": "allowed_tools", "allowed_tools": {"mode": "auto", "tools": [
        {"type": "function", "function": {"name": "f"}}]}}, {"mode": "VALIDATED", "allowedFunctionNames": ["f"]}),
])
def test_tool_choice(choice, config):
    body = {"messages": [{"role": "user", "content": "hi"}], "tool_choice": choice,
            "tools": [{"type": "function", "function": {"name": "f", "parameters": {
                "type": "object", "properties": {"x": {"type": "integer"}}}}}]}
    out = chat_to_generate(body)
    assert out["toolConfig"] == {"functionCallingConfig": config}
    types.ToolConfig.model_validate(out["toolConfig"])
    back = generate_to_chat(out)
    if config["mode"] == "ANY" and config.get("allowedFunctionNames"):
        assert back["tool_choice"] == {"type": "function", "function": {"name": "f"}}
    else:
        assert back["tool_choice"] == {"AUTO": "auto", "NONE": "none", "ANY": "required", "VALIDATED": "auto"}[
            config["mode"]]


def test_tool_choice_without_tools_is_not_sent():
    out = chat_to_generate({"messages": [{"role": "user", "content": "hi"}], "tool_choice": "none"})
    assert "toolConfig" not in out and "tools" not in out


ON = {"includeThoughts": True}


@pytest.mark.parametrize(("model", "body", "thinking"), [
    ("gemini-2.5-flash", {"reasoning_effort": "low"}, {"thinkingBudget": 3686, **ON}),
    ("gemini-2.5-flash", {"reasoning_effort": "high", "max_tokens": 2000}, {"thinkingBudget": 1600, **ON}),
    ("gemini-2.5-flash", {"reasoning_effort": "minimal", "max_tokens": 1000}, {"thinkingBudget": 128, **ON}),
    ("gemini-2.5-flash", {"reasoning_effort": "none"}, {"thinkingBudget": 0}),
    ("gemini-2.5-pro", {"reasoning_effort": "none"}, None),
    ("gemini-2.5-pro", {"reasoning_effort": "medium"}, {"thinkingBudget": 14000, **ON}),
    ("gemini-2.5-flash-lite", {"reasoning_effort": "low"}, {"thinkingBudget": 4121, **ON}),
    ("gemini-2.5-flash", {"reasoning": {"max_tokens": -1}}, {"thinkingBudget": -1, **ON}),
    ("gemini-3-pro-preview", {"reasoning_effort": "medium"}, {"thinkingLevel": "high", **ON}),
    ("gemini-3-pro-preview", {"reasoning_effort": "minimal"}, {"thinkingLevel": "low", **ON}),
    ("gemini-3-flash-preview", {"reasoning_effort": "minimal"}, {"thinkingLevel": "minimal", **ON}),
    ("gemini-3-pro-preview", {"reasoning_effort": "none"}, {"thinkingLevel": "low"}),
    ("gemini-2.0-flash", {"reasoning_effort": "high"}, None),
    ("", {"reasoning_effort": "medium"}, {"thinkingBudget": 10444, **ON}),
])
def test_reasoning_effort_to_thinking_config(model, body, thinking):
    out = chat_to_generate({"messages": [{"role": "user", "content": "hi"}], **body}, model)
    assert out.get("generationConfig", {}).get("thinkingConfig") == thinking
    if thinking:
        types.ThinkingConfig.model_validate(thinking)


@pytest.mark.parametrize(("thinking", "effort"), [
    ({"thinkingBudget": 0}, "none"), ({"thinkingBudget": -1}, "medium"), ({"thinkingBudget": 3686}, "low"),
    ({"thinkingBudget": 10444}, "medium"), ({"thinkingBudget": 19660}, "high"), ({"thinkingLevel": "HIGH"}, "high"),
    ({"thinking_level": "minimal"}, "minimal"), ({"includeThoughts": True}, None),
])
def test_thinking_config_to_reasoning_effort(thinking, effort):
    out = generate_to_chat({"contents": [{"role": "user", "parts": [{"text": "hi"}]}],
                            "generationConfig": {"thinkingConfig": thinking}})
    assert out.get("reasoning_effort") == effort


def test_json_mode_is_dropped_with_tools_before_gemini_3():
    body = {"messages": [{"role": "user", "content": "hi"}], "response_format": {"type": "json_object"},
            "tools": [{"type": "function", "function": {"name": "f"}}]}
    assert "responseMimeType" not in chat_to_generate(body, "gemini-2.5-flash").get("generationConfig", {})
    json_mode = {"responseMimeType": "application/json"}
    assert chat_to_generate(body, "gemini-3-pro-preview")["generationConfig"] == json_mode
    assert chat_to_generate(without(body, "tools"), "gemini-2.5-flash")["generationConfig"] == json_mode


def test_message_edge_cases():
    # a lone system prompt becomes the user turn; trailing prefill is dropped; empty texts are skipped
    assert chat_to_generate({"messages": [{"role": "system", "content": "Say hi"}]}) == {
        "contents": [{"role": "user", "parts": [{"text": "Say hi"}]}]}
    texts = [{"type": "text", "text": ""}, {"type": "text", "text": "q"}]
    prefill = {"role": "assistant", "content": "prefill"}
    out = chat_to_generate({"messages": [{"role": "user", "content": texts}, prefill]})
    assert out["contents"] == [{"role": "user", "parts": [{"text": "q"}]}]
    # legacy functions / function_call / function messages
    out = chat_to_generate({
        "messages": [{"role": "user", "content": "hi"},
                     {"role": "assistant", "content": None, "function_call": {"name": "f", "arguments": "{\"a\": 1}"}},
                     {"role": "function", "name": "f", "content": "[1, 2]"}],
        "functions": [{"name": "f", "parameters": {"type": "object", "properties": {"a": {"type": "integer"}}}}],
        "function_call": {"name": "f"}})
    assert out["contents"][1:] == [
        {"role": "model", "parts": [{"functionCall": {"name": "f", "args": {"a": 1}}, "thoughtSignature": SKIP}]},
        {"role": "user", "parts": [{"functionResponse": {"name": "f", "response": {"content": "[1, 2]"}}}]}]
    assert out["toolConfig"] == {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["f"]}}
    # a JSON object holding "$ref" is sent as text (Gemini reads $ref as a pointer into parts)
    out = chat_to_generate({"messages": [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "g", "arguments": "oops"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": [{"type": "text", "text": "{\"$ref\": \"#/x\"}"}]}]})
    assert out["contents"][1]["parts"][0]["functionCall"]["args"] == {}
    assert out["contents"][2]["parts"][0]["functionResponse"]["response"] == {"content": "{\"$ref\": \"#/x\"}"}


@pytest.mark.parametrize(("body", "message"), [
    ({"messages": []}, "non-empty"),
    ({"messages": ["hi"]}, "must be an object"),
    ({"messages": [{"role": "critic", "content": "x"}]}, "unsupported role"),
    ({"messages": [{"role": "user", "content": [{"type": "refusal", "refusal": "x"}]}]}, "not supported"),
    ({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "file:///etc/passwd"}}]}]},
     "unsupported URL"),
    ({"messages": [{"role": "user", "content": "q"}, {"role": "tool", "content": "x"}]}, "tool_call_id"),
    ({"messages": [{"role": "assistant", "content": "only me"}]}, "no user message"),
])
def test_chat_request_errors(body, message):
    with pytest.raises(ValueError, match=message):
        chat_to_generate(body)


def test_gemini_request_errors_and_drops():
    with pytest.raises(ValueError, match="contents"):
        generate_to_chat({"contents": []})
    with pytest.raises(ValueError, match="fileData"):
        generate_to_chat({"contents": [{"role": "user", "parts": [
            {"fileData": {"mimeType": "application/pdf", "fileUri": "https://generativelanguage.googleapis.com/v1beta/files/x"}}]}]})
    out = generate_to_chat({"contents": [
        {"role": "user", "parts": [{"inlineData": {"mimeType": "audio/mpeg", "data": "SUQz"}},
                                   {"inlineData": {"mimeType": "application/pdf", "data": "JVBE"}}]},
        {"role": "model", "parts": [{"text": "thinking...", "thought": True}]}],
        "tools": [{"codeExecution": {}}], "cachedContent": "cachedContents/abc"})
    assert out == {"messages": [{"role": "user", "content": [
        {"type": "input_audio", "input_audio": {"data": "SUQz", "format": "mp3"}},
        {"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBE", "filename": "file.pdf"}}]}]}
    # ANY with several allowed names: only those tools are offered, and one must be called
    out = generate_to_chat({"contents": [{"parts": [{"text": "hi"}]}],
                            "tools": [{"functionDeclarations": [{"name": n} for n in "abc"]}],
                            "toolConfig": {"functionCallingConfig": {
                                "mode": "ANY", "allowedFunctionNames": ["a", "c"]}}})
    assert [t["function"]["name"] for t in out["tools"]] == ["a", "c"] and out["tool_choice"] == "required"
    assert out["tools"][0]["function"]["parameters"] == {"type": "object", "properties": {}}


def test_count_tokens_bodies():
    simple = count_tokens_to_chat({"contents": [{"role": "user", "parts": [{"text": "count me"}]}]})
    assert simple == {"messages": [{"role": "user", "content": "count me"}]}
    wrapped = count_tokens_to_chat({"generateContentRequest": {
        "model": "models/gemini-2.5-flash", "contents": [{"parts": [{"text": "x"}]}],
        "systemInstruction": {"parts": [{"text": "s"}]}}})
    assert wrapped["messages"] == [{"role": "system", "content": "s"}, {"role": "user", "content": "x"}]
    assert count_tokens_response(42) == {"totalTokens": 42}
    types.CountTokensResponse.model_validate(count_tokens_response(42))


# ----------------------------------------------------------------------------------------- schemas


class Tag(pydantic.BaseModel):
    label: str
    kind: str = pydantic.Field(json_schema_extra={"const": "tag"})


class Node(pydantic.BaseModel):
    name: str | None = None
    level: int = pydantic.Field(ge=0, le=5, json_schema_extra={"enum": [1, 2, 3]})
    tags: list[Tag]
    extra: dict[str, int]
    children: list[Node] = []
    either: int | str


FORBIDDEN = {"additionalProperties", "$schema", "$defs", "$ref", "strict", "const", "oneOf", "allOf",
             "exclusiveMinimum", "examples", "definitions"}


def keys_anywhere(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in keys_anywhere(v)}
    if isinstance(value, list):
        return {k for v in value for k in keys_anywhere(v)}
    return set()


def test_schema_cleaning_of_a_pydantic_schema():
    schema = {**Node.model_json_schema(), "$schema": "https://json-schema.org/draft/2020-12/schema",
              "additionalProperties": False}
    out = to_gemini_schema(schema)
    props = out["properties"]
    assert not keys_anywhere(out) & FORBIDDEN and not {k for k in keys_anywhere(out) if k.startswith("$")} - {"$"}
    assert props["name"] == {"type": "string", "title": "Name", "nullable": True}
    assert props["level"]["type"] == "integer" and props["level"]["minimum"] == 0 and "enum" not in props["level"]
    assert "Allowed values: 1, 2, 3" in props["level"]["description"]
    tag = props["tags"]["items"]
    assert tag["properties"]["kind"] == {"type": "string", "title": "Kind", "enum": ["tag"]}
    assert tag["required"] == ["label", "kind"]
    assert props["extra"] == {"type": "object", "title": "Extra"}
    assert props["children"]["items"] == {"type": "object"}  # the recursive reference stops here
    assert props["either"] == {"anyOf": [{"type": "integer"}, {"type": "string"}], "title": "Either"}
    assert out["required"] == ["level", "tags", "extra", "either"]
    types.Schema.model_validate(out)


@pytest.mark.parametrize(("schema", "expected"), [
    ({"type": ["string", "integer", "null"]}, {"anyOf": [{"type": "string"}, {"type": "integer"}], "nullable": True}),
    ({"anyOf": [{"$ref": "#/definitions/A"}, {"type": "null"}], "description": "d",
      "definitions": {"A": {"type": "string"}}},
     {"type": "string", "description": "d", "nullable": True}),
    ({"oneOf": [{"type": "string", "format": "email"}, {"type": "number", "format": "double"}]},
     {"anyOf": [{"type": "string"}, {"type": "number", "format": "double"}]}),
    ({"allOf": [{"properties": {"a": {"type": "string"}}, "required": ["a"]},
                {"properties": {"b": {"type": "string", "format": "date-time"}}, "required": ["b", "zz"]}]},
     {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "string", "format": "date-time"}},
      "required": ["a", "b"]}),
    ({"type": "array", "items": [{"type": "integer"}], "uniqueItems": True, "minItems": 1},
     {"type": "array", "items": {"type": "integer"}, "minItems": 1}),
    ({"type": "object", "properties": {"p": {"type": "string", "default": None, "examples": ["x"]}},
      "patternProperties": {"^x": {}}, "required": "p"}, {"type": "object", "properties": {"p": {"type": "string"}}}),
    ({"type": "string", "properties": {"a": {"type": "string"}}, "required": ["a"], "items": {"type": "string"}},
     {"type": "string"}),
    ({"properties": {"a": {"type": "STRING"}}, "required": ["a"]},
     {"type": "object", "properties": {"a": {"type": "STRING"}}, "required": ["a"]}),
])
def test_schema_rewrites(schema, expected):
    assert to_gemini_schema(schema) == expected


# --------------------------------------------------------------------------- embeddings and errors


@pytest.mark.parametrize("case", cases("embeddings", "openai_to_gemini"))
def test_embeddings_provider_direction_golden(case):
    method, body = embeddings_to_gemini(case["openai"], case["model"])
    assert (method, body) == (case["method"], case["gemini"])
    inputs = case["openai"]["input"] if isinstance(case["openai"]["input"], list) else [case["openai"]["input"]]
    out = gemini_embeddings_to_openai(case["gemini_response"], case["model"], inputs)
    assert out == case["openai_response"]
    CreateEmbeddingResponse.model_validate(out)


@pytest.mark.parametrize("case", cases("embeddings", "gemini_to_openai"))
def test_embeddings_inbound_golden(case):
    assert embed_to_openai(case["gemini"], case["batch"]) == case["openai"]
    out = openai_embeddings_to_gemini(case["openai_response"], case["batch"])
    assert out == case["gemini_response"]
    if case["batch"]:
        types.EmbedContentResponse.model_validate(out)


def test_embeddings_errors_and_base64():
    with pytest.raises(ValueError, match="array of strings"):
        embeddings_to_gemini({"input": [[1, 2, 3]]}, "m")
    with pytest.raises(ValueError, match="outputDimensionality"):
        embed_to_openai({"requests": [{"content": {"parts": [{"text": "a"}]}, "outputDimensionality": 8},
                                      {"content": {"parts": [{"text": "b"}]}}]}, True)
    with pytest.raises(ValueError, match="only text"):
        embed_to_openai({"content": {"parts": [{"inlineData": {"mimeType": "image/png", "data": "AA=="}}]}}, False)
    b64 = "AACAPwAAAMA="  # float32 little-endian [1.0, -2.0]
    assert openai_embeddings_to_gemini({"data": [{"index": 0, "embedding": b64}]}, False) == {
        "embedding": {"values": [1.0, -2.0]}}
    stats = {"embeddings": [{"values": [1], "statistics": {"tokenCount": 4}},
                            {"values": [2], "statistics": {"tokenCount": 5}}]}
    assert gemini_embeddings_to_openai(stats, "m")["usage"] == {"prompt_tokens": 9, "total_tokens": 9}


@pytest.mark.parametrize("case", load("errors")["cases"], ids=lambda c: str(c["status"]))
def test_error_message(case):
    assert error_message(case["status"], case["body"]) == (case["message"], case["state"])


@pytest.mark.parametrize(("status", "state"), load("errors")["error_body"])
def test_error_body_parses_as_google_error(status, state):
    body = error_body(status, "something went wrong")
    assert body == {"error": {"code": status, "message": "something went wrong", "status": state}}
    err = genai_errors.APIError(status, body)
    assert (err.code, err.status, err.message) == (status, state, "something went wrong")
    assert error_message(status, body) == ("something went wrong", state)


# ----------------------------------------------------------- the google-genai SDK against a fake /genai


class FakeGateway:
    """What the gateway's /genai endpoints do, with a scripted OpenAI-format upstream."""

    def __init__(self) -> None:
        self.chat_requests: list[dict] = []
        self.upstream: list[dict] = []  # chat.completion objects (or chunk lists for streams), in order

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        path = request.url.path
        model, _, method = path.rsplit("/", 1)[-1].partition(":")
        body = json.loads(request.content or b"{}")
        if model == "missing-model":
            return httpx2.Response(404, json=error_body(404, f"models/{model} is not found"))
        if method == "countTokens":
            chat = count_tokens_to_chat(body)
            return httpx2.Response(200, json=count_tokens_response(sum(len(m["content"]) for m in chat["messages"])))
        if method == "batchEmbedContents":
            req = embed_to_openai(body, True)
            data = [{"object": "embedding", "index": i, "embedding": [float(len(t)), 0.5]}
                    for i, t in enumerate(req["input"])]
            resp = {"object": "list", "model": "emb", "data": data, "usage": {"prompt_tokens": 3, "total_tokens": 3}}
            return httpx2.Response(200, json=openai_embeddings_to_gemini(resp, True))
        chat = generate_to_chat(body)
        self.chat_requests.append(chat)
        answer = self.upstream.pop(0)
        if method == "streamGenerateContent":
            conv = ChatStreamToGenerate(model)
            events = [e for chunk in answer for e in conv.feed(chunk)] + conv.finish()
            sse = b"".join(b"data: " + json.dumps(e).encode() + b"\r\n\r\n" for e in events)
            return httpx2.Response(200, content=sse, headers={"content-type": "text/event-stream"})
        return httpx2.Response(200, json=chat_response_to_generate(answer, model))


def sdk_client(gateway: FakeGateway) -> genai.Client:
    return genai.Client(api_key="test-key", http_options=types.HttpOptions(
        base_url="http://gateway.test/genai", api_version="v1beta",
        client_args={"transport": httpx2.MockTransport(gateway)}))


WEATHER_TOOL = types.Tool(function_declarations=[types.FunctionDeclaration(
    name="get_weather", description="Weather for a city",
    parameters=types.Schema(type=types.Type.OBJECT, properties={"city": types.Schema(type=types.Type.STRING)},
                            required=["city"]))])


def test_google_genai_sdk_function_calling_loop():
    gateway = FakeGateway()
    client = sdk_client(gateway)
    gateway.upstream.append({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-4o",
        "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
            "role": "assistant", "content": None, "tool_calls": [{
                "id": "call_up_ts_-_-_PhAgdGhvdWdodC1zaWduYXR1cmUtZXhhbXBsZTp2Mfr-_w", "type": "function",
                "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]}}],
        "usage": {"prompt_tokens": 30, "completion_tokens": 8, "total_tokens": 38}})
    config = types.GenerateContentConfig(
        system_instruction="Be brief.", temperature=0.3, max_output_tokens=200, tools=[WEATHER_TOOL],
        tool_config=types.ToolConfig(function_calling_config=types.FunctionCallingConfig(mode="ANY")),
        automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True))
    first = client.models.generate_content(model="gemini-2.5-flash", contents="Weather in Paris?", config=config)
    assert gateway.chat_requests[0] == {
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Weather in Paris?"}],
        "tools": [{"type": "function", "function": {
            "name": "get_weather", "description": "Weather for a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}],
        "tool_choice": "required", "temperature": 0.3, "max_tokens": 200}
    (call,) = first.function_calls
    assert (call.name, call.args, call.id) == ("get_weather", {"city": "Paris"}, "call_up")
    assert first.usage_metadata.prompt_token_count == 30 and first.candidates[0].finish_reason == "STOP"

    gateway.upstream.append({
        "id": "chatcmpl-2", "object": "chat.completion", "created": 2, "model": "gpt-4o",
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "Sunny, 21°C."}}],
        "usage": {"prompt_tokens": 50, "completion_tokens": 5, "total_tokens": 55}})
    history = [types.Content(role="user", parts=[types.Part(text="Weather in Paris?")]), first.candidates[0].content,
               types.Content(role="user", parts=[types.Part.from_function_response(
                   name="get_weather", response={"result": "sunny, 21C"})])]
    second = client.models.generate_content(model="gemini-2.5-flash", contents=history, config=config)
    assert second.text == "Sunny, 21°C."
    msgs = gateway.chat_requests[1]["messages"]
    # the SDK echoes the functionCall part (with its id and signature); the response pairs with it by name
    assert msgs[2]["tool_calls"][0]["id"] == "call_up_ts_-_-_PhAgdGhvdWdodC1zaWduYXR1cmUtZXhhbXBsZTp2Mfr-_w"
    assert msgs[3] == {"role": "tool", "tool_call_id": msgs[2]["tool_calls"][0]["id"], "content": "sunny, 21C"}


def test_google_genai_sdk_streaming_and_thinking():
    gateway = FakeGateway()
    client = sdk_client(gateway)
    chunk = {"id": "chatcmpl-s", "object": "chat.completion.chunk", "created": 1, "model": "o4-mini"}
    gateway.upstream.append([
        {**chunk, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]},
        {**chunk, "choices": [{"index": 0, "delta": {"reasoning_content": "Hmm."}, "finish_reason": None}]},
        {**chunk, "choices": [{"index": 0, "delta": {"content": "Hel"}, "finish_reason": None}]},
        {**chunk, "choices": [{"index": 0, "delta": {"content": "lo!"}, "finish_reason": None}]},
        {**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": "length"}]},
        {**chunk, "choices": [], "usage": {"prompt_tokens": 4, "completion_tokens": 9, "total_tokens": 13,
                                           "completion_tokens_details": {"reasoning_tokens": 6}}},
    ])
    thinking = types.ThinkingConfig(thinking_budget=20000, include_thoughts=True)
    config = types.GenerateContentConfig(thinking_config=thinking)
    pieces = list(client.models.generate_content_stream(model="o4-mini", contents="Say hello", config=config))
    assert gateway.chat_requests[0]["reasoning_effort"] == "high"
    assert "".join(p.text or "" for p in pieces) == "Hello!"
    assert [p.candidates[0].content.parts[0].thought for p in pieces[:1]] == [True]
    last = pieces[-1]
    assert last.candidates[0].finish_reason == types.FinishReason.MAX_TOKENS
    assert (last.usage_metadata.prompt_token_count, last.usage_metadata.candidates_token_count,
            last.usage_metadata.thoughts_token_count, last.usage_metadata.total_token_count) == (4, 3, 6, 13)


def test_google_genai_sdk_count_tokens_embeddings_and_errors():
    gateway = FakeGateway()
    client = sdk_client(gateway)
    assert client.models.count_tokens(model="gemini-2.5-flash", contents="abcd").total_tokens == 4
    emb = client.models.embed_content(model="gemini-embedding-001", contents=["hi", "there"],
                                      config=types.EmbedContentConfig(output_dimensionality=2))
    assert [e.values for e in emb.embeddings] == [[2.0, 0.5], [5.0, 0.5]]
    with pytest.raises(genai_errors.ClientError) as info:
        client.models.generate_content(model="missing-model", contents="x")
    assert (info.value.code, info.value.status) == (404, "NOT_FOUND")
    assert "missing-model is not found" in info.value.message
