"""OpenAI chat.completion / chunks -> Gemini GenerateContentResponse (the inbound direction's answers). Pure."""

from __future__ import annotations

from typing import Any

from bifrost.providers.gemini._shared import (
    NOT_JSON,
    content_text,
    finish_from_openai,
    parse_json,
    reasoning_text,
    split_call_id,
    usage_to_gemini,
)


def chat_response_to_generate(resp: dict, model: str) -> dict:
    """A chat.completion object -> a GenerateContentResponse (candidates, finishReason, usageMetadata, ...)."""
    if not isinstance(resp, dict):
        raise ValueError("the chat completion must be a JSON object")
    candidates = []
    for pos, choice in enumerate(c for c in resp.get("choices") or () if isinstance(c, dict)):
        msg = choice.get("message") if isinstance(choice.get("message"), dict) else {}
        text = content_text(msg.get("content")) or (msg.get("refusal") if isinstance(msg.get("refusal"), str) else "")
        parts = _parts(reasoning_text(msg), text, msg.get("tool_calls") or ())
        index = choice["index"] if isinstance(choice.get("index"), int) else pos
        candidates.append({"content": {"role": "model", "parts": parts or [{"text": ""}]},
                           "finishReason": finish_from_openai(choice.get("finish_reason"),
                                                              choice.get("native_finish_reason")),
                           "index": index})
    out: dict[str, Any] = {"candidates": candidates}
    usage = usage_to_gemini(resp.get("usage"))
    if usage:
        out["usageMetadata"] = usage
    out["modelVersion"] = model
    if isinstance(resp.get("id"), str) and resp["id"]:
        out["responseId"] = resp["id"]
    return out


def _parts(reasoning: str, text: str, tool_calls: Any) -> list[dict]:
    parts: list[dict] = []
    if reasoning:
        parts.append({"text": reasoning, "thought": True})
    if text:
        parts.append({"text": text})
    for call in tool_calls:
        if isinstance(call, dict):
            parts.append(_function_call_part(call.get("id"), call.get("function") or {}))
    return parts


def _function_call_part(call_id: Any, fn: dict, arguments: str | None = None) -> dict:
    """An OpenAI tool call -> a functionCall part (a thoughtSignature embedded in the id is split back out)."""
    args = parse_json(fn.get("arguments") if arguments is None else arguments)
    if args is NOT_JSON or not isinstance(args, dict):
        args = {}
    function_call: dict[str, Any] = {"name": fn.get("name") or "", "args": args}
    part: dict[str, Any] = {"functionCall": function_call}
    if isinstance(call_id, str) and call_id:
        base, signature = split_call_id(call_id)
        function_call["id"] = base
        if signature:
            part["thoughtSignature"] = signature
    return part


class ChatStreamToGenerate:
    """Converts chat.completion.chunk objects into the `data:` objects of streamGenerateContent?alt=sse.

    Text and reasoning deltas are forwarded as they come (reasoning as thought parts). Tool call deltas are
    buffered per choice: Gemini sends each function call whole, so calls go out, complete, in the fragment
    that also carries the finishReason. That last fragment is produced by `finish()`, once the upstream usage
    chunk (which follows the finish_reason chunk) has been seen, so it also carries usageMetadata.
    """

    def __init__(self, model: str) -> None:
        self.model = model
        self.response_id = ""
        self._calls: dict[int, dict[int, dict]] = {}  # choice index -> tool call index -> {id, name, arguments}
        self._finish: dict[int, str] = {}
        self._native: dict[int, Any] = {}
        self._seen: list[int] = []
        self._usage: dict | None = None
        self._done = False

    def feed(self, chunk: dict) -> list[dict]:
        if not isinstance(chunk, dict) or self._done:
            return []
        if not self.response_id and isinstance(chunk.get("id"), str):
            self.response_id = chunk["id"]
        if isinstance(chunk.get("usage"), dict):
            self._usage = chunk["usage"]
        events = []
        for pos, choice in enumerate(c for c in chunk.get("choices") or () if isinstance(c, dict)):
            index = choice["index"] if isinstance(choice.get("index"), int) else pos
            if index not in self._seen:
                self._seen.append(index)
            delta = choice.get("delta") if isinstance(choice.get("delta"), dict) else {}
            parts = []
            reasoning = reasoning_text(delta)
            if reasoning:
                parts.append({"text": reasoning, "thought": True})
            text = content_text(delta.get("content")) or (delta.get("refusal") or "")
            if isinstance(text, str) and text:
                parts.append({"text": text})
            for n, call in enumerate(c for c in delta.get("tool_calls") or () if isinstance(c, dict)):
                self._add_call(index, n, call)
            if parts:
                events.append(self._event([{"content": {"role": "model", "parts": parts}, "index": index}]))
            if choice.get("finish_reason"):
                self._finish[index] = choice["finish_reason"]
                self._native[index] = choice.get("native_finish_reason")
        return events

    def finish(self) -> list[dict]:
        """The last fragment: buffered function calls, finishReason for every choice, usageMetadata."""
        if self._done:
            return []
        self._done = True
        candidates = []
        for index in self._seen or [0]:
            calls = self._calls.get(index, {})
            parts = [_function_call_part(c["id"], c, c["arguments"]) for _, c in sorted(calls.items())]
            candidates.append({"content": {"role": "model", "parts": parts or [{"text": ""}]},
                               "finishReason": finish_from_openai(self._finish.get(index), self._native.get(index)),
                               "index": index})
        event = self._event(candidates)
        usage = usage_to_gemini(self._usage)
        if usage:
            event["usageMetadata"] = usage
        return [event]

    def _add_call(self, index: int, position: int, call: dict) -> None:
        calls = self._calls.setdefault(index, {})
        key = call["index"] if isinstance(call.get("index"), int) else position
        fn = call.get("function") if isinstance(call.get("function"), dict) else {}
        cur = calls.setdefault(key, {"id": "", "name": "", "arguments": ""})
        if isinstance(call.get("id"), str) and call["id"]:
            cur["id"] = call["id"]
        if isinstance(fn.get("name"), str) and fn["name"]:
            cur["name"] = fn["name"]
        if isinstance(fn.get("arguments"), str):
            cur["arguments"] += fn["arguments"]

    def _event(self, candidates: list[dict]) -> dict:
        event: dict[str, Any] = {"candidates": candidates, "modelVersion": self.model}
        if self.response_id:
            event["responseId"] = self.response_id
        return event
