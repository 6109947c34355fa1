"""Gemini GenerateContentResponse -> OpenAI chat.completion / chat.completion.chunk (the provider direction). Pure."""

from __future__ import annotations

import time
from typing import Any

from bifrost.providers.gemini._shared import (
    created_of,
    dumps,
    finish_to_openai,
    join_call_id,
    logprobs_to_openai,
    new_id,
    usage_to_openai,
)


class GeminiError(ValueError):
    """An error object Gemini sent inside a 200 stream; `status` is Google's status string."""

    def __init__(self, message: str, status: str | None = None, code: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


def generate_response_to_chat(resp: dict, model: str) -> dict:
    """A GenerateContentResponse -> a chat.completion object reporting `model`.

    Candidates become choices: text parts joined, thought parts -> `reasoning_content`, functionCall parts ->
    tool_calls (arguments as JSON text; the id is Gemini's or a new "call_..." one, with any thoughtSignature
    embedded). A prompt blocked before any candidate (promptFeedback.blockReason) -> one empty choice with
    finish_reason "content_filter".
    """
    if not isinstance(resp, dict):
        raise ValueError("the Gemini response must be a JSON object")
    _raise_embedded_error(resp)
    choices = []
    for pos, cand in enumerate(c for c in resp.get("candidates") or () if isinstance(c, dict)):
        text, reasoning, calls = _parts(cand)
        message: dict[str, Any] = {"role": "assistant", "content": text if text or not calls else None}
        if reasoning:
            message["reasoning_content"] = reasoning
        if calls:
            message["tool_calls"] = [{"id": cid, "type": "function", "function": {"name": name, "arguments": args}}
                                     for cid, name, args in calls]
        choices.append({
            "index": cand.get("index", pos) if isinstance(cand.get("index"), int) else pos,
            "message": message,
            "finish_reason": finish_to_openai(cand.get("finishReason"), bool(calls)),
            "logprobs": logprobs_to_openai(cand.get("logprobsResult")),
        })
        if isinstance(cand.get("finishReason"), str):
            choices[-1]["native_finish_reason"] = cand["finishReason"]
    if not choices:
        # No candidate: the prompt was blocked (promptFeedback.blockReason) or nothing was generated.
        blocked = isinstance(resp.get("promptFeedback"), dict) and bool(resp["promptFeedback"].get("blockReason"))
        choices.append({"index": 0, "message": {"role": "assistant", "content": ""},
                        "finish_reason": "content_filter" if blocked else "stop", "logprobs": None})
    out = {
        "id": "chatcmpl-" + (resp.get("responseId") or new_id("")),
        "object": "chat.completion",
        "created": created_of(resp),
        "model": model,
        "choices": choices,
    }
    usage = usage_to_openai(resp.get("usageMetadata"))
    if usage:
        out["usage"] = usage
    return out


def _parts(cand: dict) -> tuple[str, str, list[tuple[str, str, str]]]:
    text: list[str] = []
    reasoning: list[str] = []
    calls: list[tuple[str, str, str]] = []
    content = cand.get("content") if isinstance(cand.get("content"), dict) else {}
    for part in content.get("parts") or ():
        if not isinstance(part, dict):
            continue
        if isinstance(part.get("text"), str):
            (reasoning if part.get("thought") else text).append(part["text"])
        elif isinstance(part.get("functionCall"), dict):
            fc = part["functionCall"]
            call_id = fc.get("id") if isinstance(fc.get("id"), str) and fc["id"] else new_id("call_")
            calls.append((join_call_id(call_id, part.get("thoughtSignature")), fc.get("name") or "",
                          dumps(fc.get("args") or {})))
        elif isinstance(part.get("executableCode"), dict):  # code execution tool (Bifrost renders it as text)
            code = part["executableCode"]
            text.append(f"```{str(code.get('language') or '').lower()}\n{code.get('code') or ''}\n```")
        elif isinstance(part.get("codeExecutionResult"), dict):
            result = part["codeExecutionResult"]
            output = result.get("output") or ""
            text.append(output if result.get("outcome") in (None, "OUTCOME_OK") else "Error: " + output)
        elif isinstance(part.get("inlineData"), dict):  # generated image/audio -> a data URL in the text
            blob = part["inlineData"]
            text.append(f"data:{blob.get('mimeType') or 'application/octet-stream'};base64,{blob.get('data') or ''}")
    return "".join(text), "".join(reasoning), calls


def _raise_embedded_error(data: dict) -> None:
    err = data.get("error")
    if isinstance(err, dict):
        raise GeminiError(str(err.get("message") or "Gemini returned an error"), err.get("status"), err.get("code"))


class GenerateStreamToChat:
    """Converts the `data:` objects of streamGenerateContent?alt=sse into chat.completion.chunk objects.

    Each candidate index gets a role chunk first, then content / reasoning_content / tool call deltas as they
    arrive (Gemini sends each function call whole: one delta with id, name and complete arguments), then a
    finish chunk when its finishReason arrives. `finish()` closes choices that never got a finishReason and
    adds the usage chunk (empty choices, usage from the last usageMetadata seen: Gemini repeats cumulative
    counts on every event). An `error` object inside the stream raises GeminiError.
    """

    def __init__(self, model: str) -> None:
        self.model = model
        self.id = ""
        self.created = int(time.time())
        self._started: set[int] = set()
        self._finished: set[int] = set()
        self._tool_counts: dict[int, int] = {}
        self._usage: dict | None = None

    def feed(self, data: dict) -> list[dict]:
        if not isinstance(data, dict):
            return []
        _raise_embedded_error(data)
        if not self.id:
            self.id = "chatcmpl-" + (data.get("responseId") or new_id(""))
        if isinstance(data.get("usageMetadata"), dict):
            self._usage = data["usageMetadata"]
        chunks: list[dict] = []
        candidates = [c for c in data.get("candidates") or () if isinstance(c, dict)]
        for pos, cand in enumerate(candidates):
            index = cand["index"] if isinstance(cand.get("index"), int) else pos
            if index in self._finished:
                continue
            self._start(index, chunks)
            mark = len(chunks)
            text, reasoning, calls = _parts(cand)
            if reasoning:
                chunks.append(self._chunk(index, {"reasoning_content": reasoning}))
            if text:
                chunks.append(self._chunk(index, {"content": text}))
            if calls:
                first = self._tool_counts.get(index, 0)
                self._tool_counts[index] = first + len(calls)
                deltas = [{"index": first + n, "id": cid, "type": "function",
                           "function": {"name": name, "arguments": args}} for n, (cid, name, args) in enumerate(calls)]
                chunks.append(self._chunk(index, {"tool_calls": deltas}))
            logprobs = logprobs_to_openai(cand.get("logprobsResult"))
            if logprobs and len(chunks) > mark:
                chunks[-1]["choices"][0]["logprobs"] = logprobs
            if cand.get("finishReason"):
                reason = finish_to_openai(cand["finishReason"], self._tool_counts.get(index, 0) > 0)
                chunks.append(self._chunk(index, {}, reason))
                chunks[-1]["choices"][0]["native_finish_reason"] = cand["finishReason"]
                self._finished.add(index)
        feedback = data.get("promptFeedback")
        if not candidates and isinstance(feedback, dict) and feedback.get("blockReason"):
            for index in sorted(self._started - self._finished) or [0]:
                self._start(index, chunks)
                chunks.append(self._chunk(index, {}, "content_filter"))
                self._finished.add(index)
        return chunks

    def finish(self) -> list[dict]:
        """Chunks that end the stream: finish chunks for open choices, then the usage chunk."""
        if not self.id:
            self.id = "chatcmpl-" + new_id("")
        chunks: list[dict] = []
        for index in sorted(self._started - self._finished):
            reason = "tool_calls" if self._tool_counts.get(index) else "stop"
            chunks.append(self._chunk(index, {}, reason))
            self._finished.add(index)
        usage = usage_to_openai(self._usage)
        if usage:
            chunks.append({"id": self.id, "object": "chat.completion.chunk", "created": self.created,
                           "model": self.model, "choices": [], "usage": usage})
        return chunks

    def _start(self, index: int, chunks: list) -> None:
        if index not in self._started:
            self._started.add(index)
            chunks.append(self._chunk(index, {"role": "assistant", "content": ""}))

    def _chunk(self, index: int, delta: dict, finish_reason: str | None = None) -> dict:
        return {
            "id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model,
            "choices": [{"index": index, "delta": delta, "finish_reason": finish_reason, "logprobs": None}],
        }
