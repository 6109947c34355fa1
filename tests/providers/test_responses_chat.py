"""Responses API <-> Chat Completions conversion, checked against the real openai SDK types and parsers."""

from __future__ import annotations

import json

import httpx2
import openai
import pydantic
import pytest
from openai.types.responses import Response, ResponseStreamEvent

from bifrost.providers.responses_chat import (
    ChatToResponsesStream,
    chat_to_responses,
    responses_to_chat,
    unsupported_tools,
)

EVENT = pydantic.TypeAdapter(ResponseStreamEvent)
WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    "strict": True,
}


# ------------------------------------------------------------------------------------ requests


def test_round_trip_request_with_instructions_tool_and_function_output():
    body = {
        "instructions": "You are terse.",
        "input": [
            {"role": "user", "content": "Weather in Paris?"},
            {"type": "reasoning", "id": "rs_1", "summary": []},
            {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "get_weather",
             "arguments": '{"city":"Paris"}', "status": "completed"},
            {"type": "function_call_output", "call_id": "call_1", "output": '{"temp_c":21}'},
        ],
        "tools": [WEATHER, {"type": "web_search"}],
        "tool_choice": "auto",
        "max_output_tokens": 200,
        "temperature": 0,
        "store": True,
        "include": ["reasoning.encrypted_content"],
        "truncation": "auto",
    }
    chat = responses_to_chat(body)
    assert chat["messages"] == [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}},
        ]},
        {"role": "tool", "tool_call_id": "call_1", "content": '{"temp_c":21}'},
    ]
    assert chat["tools"] == [{"type": "function", "function": {
        "name": "get_weather", "description": "Current weather for a city",
        "parameters": WEATHER["parameters"], "strict": True}}]
    assert chat["tool_choice"] == "auto"
    assert chat["max_tokens"] == 200 and chat["temperature"] == 0
    for gone in ("store", "include", "truncation", "input", "instructions", "max_output_tokens"):
        assert gone not in chat
    assert unsupported_tools(body) == ["web_search"]


def test_string_input_and_passthrough_fields():
    chat = responses_to_chat({
        "input": "hi", "stream": True, "seed": 7, "stop": ["x"], "n": 1, "logit_bias": {"1": 2},
        "frequency_penalty": 0.1, "presence_penalty": 0.2, "service_tier": "auto", "user": "u1",
        "metadata": {"k": "v"}, "top_p": 0.9, "top_k": 40, "background": False, "prompt_cache_key": "p",
        "stream_options": {"include_obfuscation": False}, "reasoning": {"effort": "low", "summary": "auto"},
        "previous_response_id": None, "temperature": None,
    })
    assert chat == {
        "messages": [{"role": "user", "content": "hi"}], "stream": True, "stream_options": {"include_usage": True},
        "seed": 7, "stop": ["x"], "n": 1, "logit_bias": {"1": 2}, "frequency_penalty": 0.1,
        "presence_penalty": 0.2, "service_tier": "auto", "user": "u1", "metadata": {"k": "v"}, "top_p": 0.9,
        "top_k": 40, "reasoning_effort": "low",
    }
    assert "stream_options" not in responses_to_chat({"input": "hi", "stream": False})


def test_content_parts_roles_and_merging():
    chat = responses_to_chat({"input": [
        {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "rule 1"},
                                                              {"type": "input_text", "text": "rule 2"}]},
        {"role": "user", "content": [
            {"type": "input_text", "text": "What is this?"},
            {"type": "input_image", "image_url": "https://x/cat.png", "detail": "low"},
            {"type": "input_file", "file_data": "data:application/pdf;base64,AAA", "filename": "a.pdf"},
        ]},
        {"role": "user", "content": [{"type": "input_text", "text": "single"}]},
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Let me look.",
                                                              "annotations": []}]},
        {"type": "function_call", "call_id": "a", "name": "f", "arguments": "{}"},
        {"type": "function_call", "call_id": "b", "name": "g", "arguments": '{"x":1}'},
        {"type": "function_call_output", "call_id": "a", "output": [{"type": "input_text", "text": "A"}]},
        {"type": "function_call_output", "call_id": "b", "output": "B"},
        {"type": "function_call", "call_id": "c", "name": "f"},
    ]})
    msgs = chat["messages"]
    assert msgs[0] == {"role": "system", "content": "rule 1\nrule 2"}
    assert msgs[1]["content"] == [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": "https://x/cat.png", "detail": "low"}},
        {"type": "file", "file": {"file_data": "data:application/pdf;base64,AAA", "filename": "a.pdf"}},
    ]
    assert msgs[2] == {"role": "user", "content": "single"}
    assert msgs[3]["role"] == "assistant" and msgs[3]["content"] == "Let me look."
    assert [c["id"] for c in msgs[3]["tool_calls"]] == ["a", "b"]
    assert msgs[4:6] == [{"role": "tool", "tool_call_id": "a", "content": "A"},
                         {"role": "tool", "tool_call_id": "b", "content": "B"}]
    assert msgs[6] == {"role": "assistant", "content": None, "tool_calls": [
        {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}
    assert len(msgs) == 7


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"input": "hi", "previous_response_id": "resp_1"}, "previous_response_id"),
        ({"input": "hi", "conversation": "conv_1"}, "conversation"),
        ({"input": [{"type": "item_reference", "id": "msg_1"}]}, "item_reference"),
        ({"input": [{"role": "user", "content": [{"type": "input_image", "file_id": "file_1"}]}]}, "file_id"),
        ({"input": [{"role": "tool", "content": "x"}]}, "role"),
        ({"input": [{"type": "function_call", "name": "f"}]}, "call_id"),
        ({"input": 3}, "input"),
        ({"input": "hi", "tools": [{"type": "web_search"}], "tool_choice": {"type": "web_search_preview"}},
         "tool_choice"),
        ({"input": "hi", "tools": [{"type": "web_search"}], "tool_choice": "required"}, "tool_choice"),
        ({"input": "hi", "text": {"format": {"type": "grammar"}}}, "text.format"),
    ],
)
def test_unservable_requests_raise_value_error(body, needle):
    with pytest.raises(ValueError, match=needle.replace(".", r"\.")):
        responses_to_chat(body)


def test_tools_choice_and_text_format():
    base = {"input": "hi", "tools": [WEATHER], "parallel_tool_calls": False}
    chat = responses_to_chat({**base, "tool_choice": {"type": "function", "name": "get_weather"}})
    assert chat["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    assert chat["parallel_tool_calls"] is False
    allowed = responses_to_chat({**base, "tool_choice": {"type": "allowed_tools", "mode": "required",
                                                         "tools": [{"type": "function", "name": "get_weather"}]}})
    assert allowed["tool_choice"] == {"type": "allowed_tools", "allowed_tools": {
        "mode": "required", "tools": [{"type": "function", "function": {"name": "get_weather"}}]}}
    # Only hosted tools: they are dropped, and so are the settings chat upstreams reject without tools.
    hosted = responses_to_chat({"input": "hi", "tools": [{"type": "web_search"}], "tool_choice": "auto",
                                "parallel_tool_calls": True})
    assert "tools" not in hosted and "tool_choice" not in hosted and "parallel_tool_calls" not in hosted

    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    js = responses_to_chat({"input": "hi", "text": {"format": {"type": "json_schema", "name": "out",
                                                               "schema": schema, "strict": True},
                                                    "verbosity": "low"}})
    assert js["response_format"] == {"type": "json_schema", "json_schema": {"name": "out", "schema": schema,
                                                                            "strict": True}}
    assert js["verbosity"] == "low"
    assert responses_to_chat({"input": "hi", "text": {"format": {"type": "json_object"}}})["response_format"] == {
        "type": "json_object"}
    assert "response_format" not in responses_to_chat({"input": "hi", "text": {"format": {"type": "text"}}})


# ------------------------------------------------------------------------------- JSON responses

REQUEST = {"model": "groq/llama", "instructions": "Be nice.", "input": "hi", "tools": [WEATHER],
           "temperature": 0.2, "metadata": {"k": "v"}, "reasoning": {"effort": "low"}}


def _chat(message: dict, finish: str = "stop", usage: dict | None = None) -> dict:
    return {
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1700000000, "model": "llama",
        "choices": [{"index": 0, "message": {"role": "assistant", **message}, "finish_reason": finish}],
        "usage": usage or {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15,
                           "prompt_tokens_details": {"cached_tokens": 4},
                           "completion_tokens_details": {"reasoning_tokens": 2}},
    }


def test_chat_to_responses_text_validates_with_sdk():
    data = chat_to_responses(_chat({"content": "Hello there"}), "groq/llama", REQUEST)
    resp = Response.model_validate(data)
    assert resp.id == "resp_chatcmpl-1" and resp.object == "response" and resp.status == "completed"
    assert resp.model == "groq/llama" and resp.created_at == 1700000000
    assert resp.output_text == "Hello there"
    assert resp.output[0].type == "message" and resp.output[0].status == "completed"
    assert resp.usage.input_tokens == 10 and resp.usage.output_tokens == 5 and resp.usage.total_tokens == 15
    assert resp.usage.input_tokens_details.cached_tokens == 4
    assert resp.usage.output_tokens_details.reasoning_tokens == 2
    assert resp.instructions == "Be nice." and resp.temperature == 0.2 and resp.metadata == {"k": "v"}
    assert resp.tools[0].name == "get_weather" and resp.tool_choice == "auto" and resp.parallel_tool_calls
    assert resp.error is None and resp.incomplete_details is None
    # No request given: defaults that still satisfy the SDK.
    assert Response.model_validate(chat_to_responses(_chat({"content": "x"}), "m")).output_text == "x"


def test_chat_to_responses_tool_calls_reasoning_and_length():
    calls = [{"id": "call_a", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"A"}'}},
             {"id": "call_b", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"B"}'}}]
    data = chat_to_responses(_chat({"content": None, "reasoning_content": "thinking", "tool_calls": calls},
                                   "tool_calls"), "m", REQUEST)
    resp = Response.model_validate(data)
    assert [o.type for o in resp.output] == ["reasoning", "function_call", "function_call"]
    assert resp.output[0].content[0].text == "thinking"
    assert [(o.call_id, o.name, o.arguments, o.status) for o in resp.output[1:]] == [
        ("call_a", "get_weather", '{"city":"A"}', "completed"), ("call_b", "get_weather", '{"city":"B"}', "completed")]
    assert len({o.id for o in resp.output}) == 3 and resp.output[1].id.startswith("fc_")

    cut = Response.model_validate(chat_to_responses(_chat({"content": "Once upon"}, "length"), "m"))
    assert cut.status == "incomplete" and cut.incomplete_details.reason == "max_output_tokens"
    assert cut.output[0].status == "incomplete" and cut.output_text == "Once upon"


def _client(handler) -> openai.OpenAI:
    return openai.OpenAI(api_key="k", base_url="http://gateway.test/v1", max_retries=0,
                         http_client=httpx2.Client(transport=httpx2.MockTransport(handler)))


def test_sdk_client_parses_converted_response():
    def handler(request: httpx2.Request) -> httpx2.Response:
        body = json.loads(request.content)
        chat_body = responses_to_chat({k: v for k, v in body.items() if k != "model"})
        assert chat_body["messages"][0] == {"role": "system", "content": "Be nice."}
        return httpx2.Response(200, json=chat_to_responses(_chat({"content": "Bonjour"}), body["model"], body))

    resp = _client(handler).responses.create(model="groq/llama", instructions="Be nice.", input="hi")
    assert resp.output_text == "Bonjour" and resp.usage.total_tokens == 15


# ------------------------------------------------------------------------------------- streaming


def _chunk(delta: dict | None = None, finish: str | None = None, usage: dict | None = None) -> dict:
    chunk = {"id": "chatcmpl-9", "object": "chat.completion.chunk", "created": 1700000001, "model": "llama",
             "choices": [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]}
    if usage is not None:
        chunk["usage"] = usage
    return chunk


USAGE = {"prompt_tokens": 8, "completion_tokens": 3, "total_tokens": 11}


def _run(chunks: list[dict], request: dict | None = None) -> list[tuple[str, dict]]:
    conv = ChatToResponsesStream("groq/llama", request)
    events = [e for c in chunks for e in conv.feed(c)] + conv.finish()
    for kind, data in events:
        assert EVENT.validate_python(data).type == kind == data["type"]
    assert [d["sequence_number"] for _, d in events] == list(range(len(events)))
    assert conv.finish() == []
    return events


def test_stream_text_event_sequence():
    events = _run([_chunk({"role": "assistant", "content": ""}), _chunk({"content": "Hel"}),
                   _chunk({"content": "lo"}), _chunk({}, "stop"), _chunk(usage=USAGE)], REQUEST)
    assert [k for k, _ in events] == [
        "response.created", "response.in_progress", "response.output_item.added", "response.content_part.added",
        "response.output_text.delta", "response.output_text.delta", "response.output_text.done",
        "response.content_part.done", "response.output_item.done", "response.completed",
    ]
    assert events[0][1]["response"]["status"] == "in_progress" and events[0][1]["response"]["output"] == []
    added = events[2][1]
    assert added["item"]["status"] == "in_progress" and added["item"]["content"] == []
    delta = events[4][1]
    assert delta["item_id"] == added["item"]["id"] and delta["output_index"] == 0 and delta["content_index"] == 0
    assert delta["logprobs"] == [] and delta["delta"] == "Hel"
    assert events[6][1]["text"] == "Hello"
    final = Response.model_validate(events[-1][1]["response"])
    assert final.status == "completed" and final.output_text == "Hello" and final.id == "resp_chatcmpl-9"
    assert final.usage.input_tokens == 8 and final.usage.output_tokens == 3 and final.instructions == "Be nice."


def test_stream_tool_calls_and_reasoning():
    args = '{"city":"Paris"}'
    events = _run([
        _chunk({"role": "assistant", "reasoning_content": "need "}), _chunk({"reasoning_content": "weather"}),
        _chunk({"tool_calls": [{"index": 0, "id": "call_1", "type": "function",
                                "function": {"name": "get_weather", "arguments": ""}}]}),
        _chunk({"tool_calls": [{"index": 0, "function": {"arguments": args[:8]}}]}),
        _chunk({"tool_calls": [{"index": 0, "function": {"arguments": args[8:]}}]}),
        # A provider that sends the name after the id: the item waits for it; arguments are buffered.
        _chunk({"tool_calls": [{"index": 1, "id": "call_2", "function": {"arguments": '{"city"'}}]}),
        _chunk({"tool_calls": [{"index": 1, "function": {"name": "get_weather", "arguments": ':"Rome"}'}}]}),
        _chunk({}, "tool_calls"), _chunk(usage=USAGE),
    ])
    assert [k for k, _ in events] == [
        "response.created", "response.in_progress",
        "response.output_item.added", "response.content_part.added", "response.reasoning_text.delta",
        "response.reasoning_text.delta", "response.reasoning_text.done", "response.content_part.done",
        "response.output_item.done",
        "response.output_item.added", "response.function_call_arguments.delta",
        "response.function_call_arguments.delta", "response.function_call_arguments.done",
        "response.output_item.done",
        "response.output_item.added", "response.function_call_arguments.delta",  # buffered + new, as one delta
        "response.function_call_arguments.done", "response.output_item.done", "response.completed",
    ]
    added = events[9][1]
    assert added["output_index"] == 1 and added["item"]["arguments"] == "" and added["item"]["name"] == "get_weather"
    assert events[12][1]["arguments"] == args
    assert events[15][1]["delta"] == '{"city":"Rome"}'
    final = Response.model_validate(events[-1][1]["response"])
    assert [o.type for o in final.output] == ["reasoning", "function_call", "function_call"]
    assert [(o.call_id, o.arguments) for o in final.output[1:]] == [("call_1", args), ("call_2", '{"city":"Rome"}')]
    assert final.output[0].content[0].text == "need weather"


def test_stream_whole_tool_calls_without_index():
    calls = [{"id": "call_x", "type": "function", "function": {"name": "f", "arguments": "{}"}},
             {"id": "call_y", "type": "function", "function": {"name": "g", "arguments": '{"a":1}'}}]
    events = _run([_chunk({"role": "assistant", "tool_calls": calls}), _chunk({}, "tool_calls")])
    final = Response.model_validate(events[-1][1]["response"])
    assert [(o.call_id, o.name, o.arguments) for o in final.output] == [
        ("call_x", "f", "{}"), ("call_y", "g", '{"a":1}')]
    assert [d["output_index"] for k, d in events if k == "response.output_item.added"] == [0, 1]


def test_stream_length_ends_incomplete_and_empty_stream():
    events = _run([_chunk({"content": "Once"}), _chunk({}, "length")])
    assert events[-1][0] == "response.incomplete"
    final = Response.model_validate(events[-1][1]["response"])
    assert final.incomplete_details.reason == "max_output_tokens" and final.output[0].status == "incomplete"
    assert final.usage is None

    empty = _run([])
    assert [k for k, _ in empty] == ["response.created", "response.in_progress", "response.completed"]
    assert Response.model_validate(empty[-1][1]["response"]).output == []


def test_sdk_stream_helper_reassembles_text_and_tool_call():
    chunks = [_chunk({"role": "assistant", "content": "It is "}), _chunk({"content": "sunny."}),
              _chunk({"tool_calls": [{"index": 0, "id": "call_9", "function": {"name": "get_weather",
                                                                              "arguments": '{"city":"Oslo"}'}}]}),
              _chunk({}, "tool_calls"), _chunk(usage=USAGE)]

    def handler(request: httpx2.Request) -> httpx2.Response:
        body = json.loads(request.content)
        assert responses_to_chat({k: v for k, v in body.items() if k != "model"})["stream_options"] == {
            "include_usage": True}
        conv = ChatToResponsesStream(body["model"], body)
        events = [e for c in chunks for e in conv.feed(c)] + conv.finish()
        sse = "".join(f"event: {k}\ndata: {json.dumps(d)}\n\n" for k, d in events)
        return httpx2.Response(200, content=sse.encode(), headers={"content-type": "text/event-stream"})

    with _client(handler).responses.stream(model="groq/llama", input="weather?", tools=[WEATHER]) as stream:
        deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert deltas == ["It is ", "sunny."]
    assert final.output_text == "It is sunny."
    call = final.output[1]
    assert call.type == "function_call" and call.call_id == "call_9" and call.arguments == '{"city":"Oslo"}'
    assert final.usage.total_tokens == 11
