"""Chat Completions answers -> OpenAI Responses API answers (JSON and SSE events). Pure, no I/O.

`chat_to_responses` converts one chat.completion object; `ChatToResponsesStream` converts a stream
of chat.completion.chunk objects into the Responses SSE event sequence, in the order OpenAI emits it.
Both build the same Response object, echoing the request's settings (instructions, tools, ...) when
the caller passes the original Responses request. Only the first choice (index 0) is converted.

Item ids are derived from the chat id and the output index ("msg_<chat id>_0", "fc_<chat id>_1"),
so the output is deterministic. A provider's reasoning text (`reasoning_content` or `reasoning`)
becomes a leading "reasoning" item with "reasoning_text" content.
"""

from __future__ import annotations

from typing import Any

_SERVICE_TIERS = frozenset({"auto", "default", "flex", "scale", "priority"})


def chat_to_responses(chat: dict, model: str, request: dict | None = None) -> dict:
    """A chat.completion response -> a Responses API response object for `model`.

    `request` is the original Responses request; its settings are echoed in the result.
    """
    choices = chat.get("choices") or [{}]
    choice = next((c for c in choices if c.get("index", 0) == 0), choices[0])
    msg = choice.get("message") or {}
    stem = chat.get("id") or ""
    status, incomplete = _status(choice.get("finish_reason"))
    output: list[dict] = []
    reasoning = _reasoning_text(msg)
    if reasoning:
        output.append(reasoning_item(_item_id("rs", stem, 0), reasoning, "completed"))
    parts = []
    content = _content_text(msg.get("content"))
    if content:
        parts.append(text_part(content))
    if isinstance(msg.get("refusal"), str) and msg["refusal"]:
        parts.append({"type": "refusal", "refusal": msg["refusal"]})
    calls = [c for c in msg.get("tool_calls") or () if isinstance(c, dict)]
    if parts or not calls:
        output.append(message_item(_item_id("msg", stem, len(output)), parts, "completed"))
    for n, call in enumerate(calls):
        fn = call.get("function") or {}
        call_id = call.get("id") or f"call_{stem}_{n}"
        idx = len(output)
        output.append(
            function_call_item(_item_id("fc", stem, idx), call_id, fn.get("name") or "", fn.get("arguments") or "",
                               "completed")
        )
    if status == "incomplete" and output:
        output[-1]["status"] = "incomplete"
    return response_object(
        "resp_" + stem, chat.get("created") or 0, model, request, status, output,
        responses_usage(chat.get("usage")), incomplete, chat.get("service_tier"),
    )


class ChatToResponsesStream:
    """Converts one chat completion stream into Responses API SSE events.

    `feed(chunk)` takes each decoded chat.completion.chunk and returns the events it produces, as
    (event type, data) pairs whose data carries "type" and "sequence_number"; `finish()` closes the
    open item and returns the final events, ending in `response.completed` (or `response.incomplete`
    when the upstream stopped on the token limit or a content filter) with the full response object.
    At most one output item is open at a time, as with OpenAI: a new kind of delta closes the open one.
    """

    def __init__(self, model: str, request: dict | None = None) -> None:
        self.model = model
        self.request = request
        self._seq = 0
        self._started = False
        self._finished = False
        self._stem = ""
        self._created = 0
        self._output: list[dict] = []  # closed items, in output order
        self._cur: dict[str, Any] | None = None  # the open item
        self._seen_tools: set[int] = set()  # chat tool_call indexes already given an item
        self._finish_reason: str | None = None
        self._usage: dict | None = None
        self._service_tier: str | None = None

    def feed(self, chunk: dict) -> list[tuple[str, dict]]:
        events: list[tuple[str, dict]] = []
        if self._finished:
            return events
        self._start(chunk, events)
        usage = chunk.get("usage") or (chunk.get("x_groq") or {}).get("usage")
        if isinstance(usage, dict):
            self._usage = usage
        if chunk.get("service_tier"):
            self._service_tier = chunk["service_tier"]
        for choice in chunk.get("choices") or ():
            if choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            reasoning = _reasoning_text(delta)
            if reasoning:
                self._text("reasoning", reasoning, events)
            content = _content_text(delta.get("content"))
            if content:
                self._text("message", content, events)
            for call in delta.get("tool_calls") or ():
                if isinstance(call, dict):
                    self._tool(call, events)
            if choice.get("finish_reason"):
                self._finish_reason = choice["finish_reason"]
        return events

    def finish(self) -> list[tuple[str, dict]]:
        events: list[tuple[str, dict]] = []
        if self._finished:
            return events
        self._start({}, events)
        self._finished = True
        status, incomplete = _status(self._finish_reason)
        self._close(events, "incomplete" if status == "incomplete" else "completed")
        response = self._response(status, list(self._output), responses_usage(self._usage), incomplete)
        events.append(self._event("response." + status, response=response))
        return events

    # ------------------------------------------------------------------------------------- internals

    def _event(self, kind: str, **fields: Any) -> tuple[str, dict]:
        data = {"type": kind, **fields, "sequence_number": self._seq}
        self._seq += 1
        return kind, data

    def _response(self, status: str, output: list, usage: dict | None, incomplete: dict | None = None) -> dict:
        return response_object("resp_" + self._stem, self._created, self.model, self.request, status, output, usage,
                               incomplete, self._service_tier)

    def _start(self, chunk: dict, events: list) -> None:
        if self._started:
            return
        self._started = True
        self._stem = chunk.get("id") or ""
        self._created = chunk.get("created") or 0
        events.append(self._event("response.created", response=self._response("in_progress", [], None)))
        events.append(self._event("response.in_progress", response=self._response("in_progress", [], None)))

    def _text(self, kind: str, text: str, events: list) -> None:
        cur = self._cur
        if cur is None or cur["kind"] != kind:
            self._close(events, "completed")
            idx = len(self._output)
            item_id = _item_id("msg" if kind == "message" else "rs", self._stem, idx)
            cur = self._cur = {"kind": kind, "id": item_id, "index": idx, "buf": []}
            if kind == "message":
                item = message_item(item_id, [], "in_progress")
                part = text_part("")
            else:
                item = reasoning_item(item_id, "", "in_progress")
                part = {"type": "reasoning_text", "text": ""}
            events.append(self._event("response.output_item.added", output_index=idx, item=item))
            events.append(self._event("response.content_part.added", item_id=item_id, output_index=idx,
                                      content_index=0, part=part))
        cur["buf"].append(text)
        loc = {"item_id": cur["id"], "output_index": cur["index"], "content_index": 0}
        if kind == "message":
            events.append(self._event("response.output_text.delta", **loc, delta=text, logprobs=[]))
        else:
            events.append(self._event("response.reasoning_text.delta", **loc, delta=text))

    def _tool(self, call: dict, events: list) -> None:
        fn = call.get("function") or {}
        cur = self._cur
        tool_index = call.get("index")
        if tool_index is None:  # some upstreams omit it: a call with a new id is a new call
            same = cur is not None and cur["kind"] == "function_call" and call.get("id") in (None, cur["call_id"])
            tool_index = cur["tool_index"] if same else -1 - len(self._seen_tools)
        if cur is None or cur["kind"] != "function_call" or cur["tool_index"] != tool_index:
            if tool_index in self._seen_tools:
                return  # a late fragment of a call already closed: upstreams stream calls one at a time
            self._seen_tools.add(tool_index)
            self._close(events, "completed")
            idx = len(self._output)
            cur = self._cur = {"kind": "function_call", "id": _item_id("fc", self._stem, idx), "index": idx,
                               "buf": [], "tool_index": tool_index, "call_id": None, "name": "", "announced": False}
        if call.get("id") and not cur["call_id"]:
            cur["call_id"] = call["id"]
        if fn.get("name") and not cur["announced"]:
            cur["name"] = fn["name"]
        args = fn.get("arguments") or ""
        if args:
            cur["buf"].append(args)
        if not cur["announced"]:
            if cur["name"]:  # the item is announced once its name is known; arguments seen so far follow
                self._announce(cur, events)
            return
        if args:
            events.append(self._event("response.function_call_arguments.delta", item_id=cur["id"],
                                      output_index=cur["index"], delta=args))

    def _announce(self, cur: dict, events: list) -> None:
        cur["announced"] = True
        cur["call_id"] = cur["call_id"] or f"call_{self._stem}_{cur['tool_index']}"
        item = function_call_item(cur["id"], cur["call_id"], cur["name"], "", "in_progress")
        events.append(self._event("response.output_item.added", output_index=cur["index"], item=item))
        if cur["buf"]:
            events.append(self._event("response.function_call_arguments.delta", item_id=cur["id"],
                                      output_index=cur["index"], delta="".join(cur["buf"])))

    def _close(self, events: list, status: str) -> None:
        cur, self._cur = self._cur, None
        if cur is None:
            return
        text = "".join(cur["buf"])
        item_id, idx = cur["id"], cur["index"]
        loc = {"item_id": item_id, "output_index": idx, "content_index": 0}
        if cur["kind"] == "message":
            part = text_part(text)
            events.append(self._event("response.output_text.done", **loc, text=text, logprobs=[]))
            events.append(self._event("response.content_part.done", **loc, part=part))
            item = message_item(item_id, [text_part(text)], status)
        elif cur["kind"] == "reasoning":
            events.append(self._event("response.reasoning_text.done", **loc, text=text))
            events.append(self._event("response.content_part.done", **loc,
                                      part={"type": "reasoning_text", "text": text}))
            item = reasoning_item(item_id, text, status)
        else:
            if not cur["announced"]:
                self._announce(cur, events)
            events.append(self._event("response.function_call_arguments.done", item_id=item_id, output_index=idx,
                                      arguments=text, name=cur["name"]))
            item = function_call_item(item_id, cur["call_id"], cur["name"], text, status)
        events.append(self._event("response.output_item.done", output_index=idx, item=item))
        self._output.append(item)


# -------------------------------------------------------------------------------------- builders


def text_part(text: str) -> dict:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def message_item(item_id: str, content: list, status: str) -> dict:
    return {"id": item_id, "type": "message", "status": status, "role": "assistant", "content": content}


def reasoning_item(item_id: str, text: str, status: str) -> dict:
    content = [{"type": "reasoning_text", "text": text}] if text else []
    return {"id": item_id, "type": "reasoning", "status": status, "summary": [], "content": content}


def function_call_item(item_id: str, call_id: str, name: str, arguments: str, status: str) -> dict:
    return {"id": item_id, "type": "function_call", "status": status, "call_id": call_id, "name": name,
            "arguments": arguments}


def responses_usage(usage: Any) -> dict | None:
    """Chat usage (prompt/completion tokens) -> Responses usage (input/output tokens), or None."""
    if not isinstance(usage, dict):
        return None
    prompt = usage.get("prompt_tokens") or 0
    completion = usage.get("completion_tokens") or 0
    prompt_details = usage.get("prompt_tokens_details") or {}
    completion_details = usage.get("completion_tokens_details") or {}
    return {
        "input_tokens": prompt,
        "input_tokens_details": {
            "cached_tokens": prompt_details.get("cached_tokens") or 0,
            "cache_write_tokens": prompt_details.get("cache_write_tokens") or 0,
        },
        "output_tokens": completion,
        "output_tokens_details": {"reasoning_tokens": completion_details.get("reasoning_tokens") or 0},
        "total_tokens": usage.get("total_tokens") or prompt + completion,
    }


def response_object(
    response_id: str, created: int, model: str, request: dict | None, status: str, output: list,
    usage: dict | None, incomplete: dict | None = None, service_tier: str | None = None,
) -> dict:
    """The Response object, with the request's settings echoed as OpenAI echoes them."""
    req = request or {}

    def echo(key: str, default: Any) -> Any:
        value = req.get(key)
        return default if value is None else value

    reasoning = req.get("reasoning") if isinstance(req.get("reasoning"), dict) else {}
    text = req.get("text") if isinstance(req.get("text"), dict) else {}
    tier = service_tier if service_tier in _SERVICE_TIERS else req.get("service_tier")
    return {
        "id": response_id,
        "object": "response",
        "created_at": created,
        "status": status,
        "background": False,
        "error": None,
        "incomplete_details": incomplete,
        "instructions": req.get("instructions"),
        "max_output_tokens": req.get("max_output_tokens"),
        "max_tool_calls": req.get("max_tool_calls"),
        "model": model,
        "output": output,
        "parallel_tool_calls": echo("parallel_tool_calls", True),
        "previous_response_id": None,
        "reasoning": {"effort": reasoning.get("effort"), "summary": reasoning.get("summary")},
        "safety_identifier": req.get("safety_identifier"),
        "service_tier": tier if tier in _SERVICE_TIERS else "default",
        "store": False,
        "temperature": echo("temperature", 1.0),
        "text": {**text, "format": text.get("format") or {"type": "text"}},
        "tool_choice": echo("tool_choice", "auto"),
        "tools": echo("tools", []),
        "top_logprobs": echo("top_logprobs", 0),
        "top_p": echo("top_p", 1.0),
        "truncation": echo("truncation", "disabled"),
        "usage": usage,
        "user": req.get("user"),
        "metadata": echo("metadata", {}),
    }


def _status(finish_reason: Any) -> tuple[str, dict | None]:
    if finish_reason == "length":
        return "incomplete", {"reason": "max_output_tokens"}
    if finish_reason == "content_filter":
        return "incomplete", {"reason": "content_filter"}
    return "completed", None


def _item_id(prefix: str, stem: str, index: int) -> str:
    return f"{prefix}_{stem}_{index}"


def _reasoning_text(msg: dict) -> str:
    for key in ("reasoning_content", "reasoning"):  # deepseek/vllm/qwen, groq/ollama/openrouter
        value = msg.get(key)
        if isinstance(value, str) and value:
            return value
    return ""


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # a few upstreams answer with content parts
        return "".join(p.get("text") or "" for p in content if isinstance(p, dict) and p.get("type") == "text")
    return ""
