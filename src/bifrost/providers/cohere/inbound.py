"""Cohere translators, inbound direction (Cohere SDK -> gateway) and error shapes.

The mapping table is in translate.py."""

from __future__ import annotations

from typing import Any

import msgspec

from bifrost.providers.cohere._common import NATIVE_FIELDS, _decode, _encode, _tool_calls, _tools, cohere_finish
from bifrost.providers.cohere.provider import cohere_usage

# ---------------------------------------------------------------- inbound direction


def _cohere_content(content: Any, role: str) -> tuple[Any, str]:
    """(OpenAI content, thinking text) of a Cohere message's content."""
    if content is None or isinstance(content, str):
        return content or "", ""
    if not isinstance(content, list):
        raise ValueError(f"{role} message content must be a string or an array")
    parts: list[dict] = []
    thinking = []
    for p in content:
        if not isinstance(p, dict):
            raise ValueError(f"{role} message content items must be objects")
        kind = p.get("type")
        if kind == "text":
            parts.append({"type": "text", "text": p.get("text") or ""})
        elif kind == "image_url" and role == "user":
            img = p.get("image_url")
            url = img.get("url") if isinstance(img, dict) else img
            parts.append({"type": "image_url", "image_url": {"url": url}})
        elif kind == "thinking":
            thinking.append(p.get("thinking") or "")
        elif kind == "document":
            doc = p.get("document") or {}
            data = doc.get("data") if isinstance(doc, dict) else doc
            parts.append({"type": "text", "text": data if isinstance(data, str) else _encode(data).decode()})
        else:
            raise ValueError(f"{role} message content of type {kind!r} is not supported")
    if role != "user" or all(p["type"] == "text" for p in parts):
        return "".join(p["text"] for p in parts) if role != "user" or len(parts) <= 1 else parts, "\n".join(thinking)
    return parts, "\n".join(thinking)


def cohere_to_chat(body: dict, native: bool = False) -> dict:
    messages = body.get("messages")
    if not isinstance(messages, list):
        raise ValueError("messages: an array of messages is required")
    if body.get("documents") and not native:
        raise ValueError("documents (RAG) are only supported when the model is served by Cohere")
    out_msgs: list[dict] = []
    for m in messages:
        if not isinstance(m, dict):
            raise ValueError("each message must be an object")
        role = m.get("role")
        if role == "system":
            text, _ = _cohere_content(m.get("content"), "system")
            out_msgs.append({"role": "system", "content": text})
        elif role == "user":
            content, _ = _cohere_content(m.get("content"), "user")
            if isinstance(content, list) and len(content) == 1 and content[0]["type"] == "text":
                content = content[0]["text"]
            out_msgs.append({"role": "user", "content": content})
        elif role == "assistant":
            text, thinking = _cohere_content(m.get("content"), "assistant")
            msg: dict = {"role": "assistant", "content": text or None}
            calls = _tool_calls(m.get("tool_calls"))
            if calls:
                msg["tool_calls"] = calls
            elif msg["content"] is None:
                msg["content"] = ""
            if native and (m.get("tool_plan") or thinking):
                msg["reasoning"] = m.get("tool_plan") or thinking
            out_msgs.append(msg)
        elif role == "tool":
            text, _ = _cohere_content(m.get("content"), "tool")
            out_msgs.append({"role": "tool", "tool_call_id": m.get("tool_call_id"), "content": text})
        else:
            raise ValueError(f"message role {role!r} is not supported")
    chat: dict[str, Any] = {"model": body.get("model"), "messages": out_msgs}
    if body.get("tools"):
        chat["tools"], _ = _tools(body["tools"])
        if body.get("strict_tools"):
            for t in chat["tools"]:
                t["function"]["strict"] = True
    tc = body.get("tool_choice")
    if tc == "REQUIRED":
        chat["tool_choice"] = "required"
    elif tc == "NONE":
        chat["tool_choice"] = "none"
    rf = body.get("response_format")
    if isinstance(rf, dict) and rf.get("type") == "json_object":
        schema = rf.get("json_schema") or rf.get("schema")
        chat["response_format"] = ({"type": "json_schema", "json_schema": {"name": "output", "schema": schema}}
                                   if schema else {"type": "json_object"})
    if body.get("max_tokens") is not None:
        chat["max_tokens"] = body["max_tokens"]
    if body.get("stop_sequences"):
        chat["stop"] = body["stop_sequences"]
    for src, dst in (("temperature", "temperature"), ("p", "top_p"), ("k", "top_k"), ("seed", "seed"),
                     ("frequency_penalty", "frequency_penalty"), ("presence_penalty", "presence_penalty")):
        if body.get(src) is not None:
            chat[dst] = body[src]
    if body.get("logprobs") is True:
        chat["logprobs"] = True
    think_cfg = body.get("thinking")
    if native:
        for k in NATIVE_FIELDS:
            if k in body:
                chat[k] = body[k]
    elif isinstance(think_cfg, dict) and think_cfg.get("type") == "enabled":
        chat["reasoning_effort"] = "medium"
    if body.get("stream"):
        chat["stream"] = True
        chat["stream_options"] = {"include_usage": True}
    return chat


def chat_response_to_cohere(resp: dict) -> dict:
    choice = (resp.get("choices") or [{}])[0]
    msg = choice.get("message") or {}
    calls = _tool_calls(msg.get("tool_calls"))
    out: dict = {"role": "assistant"}
    reasoning = msg.get("reasoning") or msg.get("reasoning_content")
    content: list[dict] = []
    if reasoning and not calls:
        content.append({"type": "thinking", "thinking": reasoning})
    text = msg.get("content")
    if isinstance(text, list):
        text = "".join(p.get("text") or "" for p in text if isinstance(p, dict))
    if text:
        content.append({"type": "text", "text": text})
    if content:
        out["content"] = content
    if calls:
        out["tool_calls"] = calls
        if reasoning:
            out["tool_plan"] = reasoning
    return {"id": resp.get("id") or "", "finish_reason": cohere_finish(choice.get("finish_reason"), bool(calls),
                                                                  choice.get("stop_reason"),
                                                                  choice.get("native_finish_reason")),
            "message": out, "usage": cohere_usage(resp.get("usage"))}


class ChatStreamToCohere:
    """chat.completion.chunk dicts in, Cohere v2 stream events out (each a dict whose `type` names it).

    tools: the request offered tools, so reasoning is streamed as tool-plan-delta (Cohere's tool plan);
    otherwise as thinking content."""

    def __init__(self, tools: bool = False) -> None:
        self.tools = tools
        self.started = False
        self.id = ""
        self.block: str | None = None  # open content block kind: "text" / "thinking"
        self.content_index = -1
        self.tool: int | None = None  # open tool-call index (Cohere's numbering)
        self.tool_count = 0
        self.tool_map: dict[int, int] = {}
        self.reason: str | None = None
        self.stop_seq: Any = None
        self.native: Any = None
        self.usage: dict | None = None

    def _start(self, chunk: dict, out: list) -> None:
        if not self.started:
            self.started = True
            self.id = chunk.get("id") or ""
            out.append({"id": self.id, "type": "message-start",
                        "delta": {"message": {"role": "assistant", "content": [], "tool_plan": "",
                                              "tool_calls": [], "citations": []}}})

    def _close_content(self, out: list) -> None:
        if self.block is not None:
            out.append({"type": "content-end", "index": self.content_index})
            self.block = None

    def _close_tool(self, out: list) -> None:
        if self.tool is not None:
            out.append({"type": "tool-call-end", "index": self.tool})
            self.tool = None

    def _content(self, kind: str, text: str, out: list) -> None:
        if self.block != kind:
            self._close_content(out)
            self._close_tool(out)
            self.content_index += 1
            self.block = kind
            out.append({"type": "content-start", "index": self.content_index,
                        "delta": {"message": {"content": {"type": kind, kind: ""}}}})
        out.append({"type": "content-delta", "index": self.content_index,
                    "delta": {"message": {"content": {kind: text}}}})

    def feed(self, chunk: dict) -> list[dict]:
        out: list[dict] = []
        self._start(chunk, out)
        if isinstance(chunk.get("usage"), dict):
            self.usage = chunk["usage"]
        for choice in chunk.get("choices") or ():
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            reasoning = delta.get("reasoning") or delta.get("reasoning_content")
            if reasoning:
                if self.tools or self.tool_count or delta.get("tool_calls"):
                    out.append({"type": "tool-plan-delta", "delta": {"message": {"tool_plan": reasoning}}})
                else:
                    self._content("thinking", reasoning, out)
            if delta.get("content"):
                self._content("text", delta["content"], out)
            for call in delta.get("tool_calls") or ():
                self._tool_delta(call, out)
            if choice.get("finish_reason"):
                self.reason = choice["finish_reason"]
                self.stop_seq = choice.get("stop_reason")
                self.native = choice.get("native_finish_reason")
        return out

    def _tool_delta(self, call: dict, out: list) -> None:
        idx = call.get("index", 0)
        f = call.get("function") or {}
        if idx not in self.tool_map:
            self._close_content(out)
            self._close_tool(out)
            self.tool_map[idx] = self.tool = self.tool_count
            self.tool_count += 1
            out.append({"type": "tool-call-start", "index": self.tool,
                        "delta": {"message": {"tool_calls": {"id": call.get("id") or f"call_{self.tool}",
                                                             "type": "function",
                                                             "function": {"name": f.get("name") or "",
                                                                          "arguments": f.get("arguments") or ""}}}}})
        elif f.get("arguments"):
            out.append({"type": "tool-call-delta", "index": self.tool_map[idx],
                        "delta": {"message": {"tool_calls": {"function": {"arguments": f["arguments"]}}}}})

    def finish(self) -> list[dict]:
        out: list[dict] = []
        self._start({}, out)
        self._close_content(out)
        self._close_tool(out)
        out.append({"type": "message-end",
                    "delta": {"finish_reason": cohere_finish(self.reason, self.tool_count > 0, self.stop_seq,
                                                             self.native),
                              "usage": cohere_usage(self.usage)}})
        return out


# ---------------------------------------------------------------- errors


def error_body(status: int, message: str) -> dict:
    return {"message": message}


def error_message(raw: dict | bytes) -> str:
    body: Any = raw
    if isinstance(raw, bytes):
        try:
            body = _decode(raw)
        except msgspec.DecodeError:
            return raw.decode("utf-8", "replace")
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return body["message"]
    return str(body)
