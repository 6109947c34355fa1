"""Cohere translators, provider direction: chat request -> Cohere, Cohere response/stream -> chat.

The mapping table is in translate.py."""

from __future__ import annotations

import time
from typing import Any

from bifrost.providers.cohere._common import (
    NATIVE_FIELDS,
    StreamError,
    _text_of,
    _tool_calls,
    _tools,
    _user_content,
    finish_reason,
)

# ---------------------------------------------------------------- provider direction: request


def chat_to_cohere(body: dict, model: str) -> dict:
    n = body.get("n")
    if isinstance(n, int) and n > 1:
        raise ValueError("n > 1 is not supported by Cohere")
    messages = body.get("messages")
    if not isinstance(messages, list):
        raise ValueError("messages must be an array")
    out_msgs: list[dict] = []
    for m in messages:
        if not isinstance(m, dict):
            raise ValueError("each message must be an object")
        role = m.get("role")
        if role in ("system", "developer"):
            out_msgs.append({"role": "system", "content": _text_of(m.get("content"), "system")})
        elif role == "user":
            out_msgs.append({"role": "user", "content": _user_content(m.get("content"))})
        elif role == "assistant":
            msg: dict = {"role": "assistant"}
            text = _text_of(m.get("content"), "assistant")
            calls = _tool_calls(m.get("tool_calls"))
            if text:
                msg["content"] = text
            if calls:
                msg["tool_calls"] = calls
                plan = m.get("reasoning") or m.get("reasoning_content")
                if isinstance(plan, str) and plan:
                    msg["tool_plan"] = plan
            if "content" not in msg and not calls:
                msg["content"] = ""
            out_msgs.append(msg)
        elif role == "tool":
            out_msgs.append({"role": "tool", "tool_call_id": m.get("tool_call_id"),
                             "content": _text_of(m.get("content"), "tool")})
        else:
            raise ValueError(f"message role {role!r} is not supported by Cohere")
    req: dict[str, Any] = {"model": model, "messages": out_msgs}
    tools = body.get("tools")
    if tools:
        if not isinstance(tools, list):
            raise ValueError("tools must be an array")
        req["tools"], strict = _tools(tools)
        if strict:
            req["strict_tools"] = True
    choice = body.get("tool_choice")
    if choice == "required":
        req["tool_choice"] = "REQUIRED"
    elif choice == "none":
        req["tool_choice"] = "NONE"
    elif isinstance(choice, dict):
        name = (choice.get("function") or {}).get("name") if choice.get("type") == "function" else None
        if name and "tools" in req:
            req["tools"] = [t for t in req["tools"] if t["function"]["name"] == name] or req["tools"]
            req["tool_choice"] = "REQUIRED"
        elif choice.get("type") == "allowed_tools" and choice.get("mode") == "required":
            req["tool_choice"] = "REQUIRED"
    rf = body.get("response_format")
    if isinstance(rf, dict):
        if rf.get("type") == "json_object":
            req["response_format"] = {"type": "json_object"}
        elif rf.get("type") == "json_schema":
            js = rf.get("json_schema") or {}
            req["response_format"] = {"type": "json_object", "json_schema": js.get("schema") or {}}
    mt = body.get("max_completion_tokens") or body.get("max_tokens")
    if mt is not None:
        req["max_tokens"] = mt
    stop = body.get("stop")
    if stop:
        req["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
    for src, dst in (("temperature", "temperature"), ("top_p", "p"), ("top_k", "k"), ("seed", "seed"),
                     ("frequency_penalty", "frequency_penalty"), ("presence_penalty", "presence_penalty")):
        if body.get(src) is not None:
            req[dst] = body[src]
    if body.get("logprobs") is True:
        req["logprobs"] = True
    effort = body.get("reasoning_effort")
    if effort is None and isinstance(body.get("reasoning"), dict):
        effort = body["reasoning"].get("effort")
    if isinstance(effort, str):
        req["thinking"] = {"type": "disabled" if effort == "none" else "enabled"}
    for k in NATIVE_FIELDS:
        if k in body:
            req[k] = body[k]
    if body.get("stream"):
        req["stream"] = True
    return req


# ---------------------------------------------------------------- provider direction: response


def chat_usage(usage: dict | None) -> dict:
    usage = usage or {}
    tokens = usage.get("tokens") or {}
    billed = usage.get("billed_units") or {}
    inp = tokens.get("input_tokens")
    out = tokens.get("output_tokens")
    inp = int(inp if inp is not None else billed.get("input_tokens") or 0)
    out = int(out if out is not None else billed.get("output_tokens") or 0)
    res: dict = {"prompt_tokens": inp, "completion_tokens": out, "total_tokens": inp + out}
    if usage.get("cached_tokens"):
        res["prompt_tokens_details"] = {"cached_tokens": int(usage["cached_tokens"])}
    # Cohere bills fewer tokens than it counts (tokens it adds itself are free): keep both, so a
    # Cohere client sees the billed units its upstream reported, not the raw counts twice.
    billed_units = {k: int(billed[k]) for k in ("input_tokens", "output_tokens") if billed.get(k) is not None}
    if billed_units:
        res["billed_units"] = billed_units
    return res


def cohere_usage(usage: dict | None) -> dict:
    usage = usage or {}
    inp, out = int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)
    billed = usage.get("billed_units") if isinstance(usage.get("billed_units"), dict) else {}
    res: dict = {"billed_units": {"input_tokens": int(billed.get("input_tokens", inp)),
                                  "output_tokens": int(billed.get("output_tokens", out))},
                 "tokens": {"input_tokens": inp, "output_tokens": out}}
    cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens")
    if cached:
        res["cached_tokens"] = cached
    return res


def cohere_response_to_chat(resp: dict, model: str, created: int | None = None) -> dict:
    msg = resp.get("message") or {}
    texts, thinking = [], []
    content = msg.get("content")
    if isinstance(content, str):
        texts.append(content)
    for block in content if isinstance(content, list) else ():
        if isinstance(block, dict):
            if block.get("type") == "text":
                texts.append(block.get("text") or "")
            elif block.get("type") == "thinking":
                thinking.append(block.get("thinking") or "")
    if msg.get("tool_plan"):
        thinking.append(msg["tool_plan"])
    calls = _tool_calls(msg.get("tool_calls"))
    message: dict = {"role": "assistant", "content": "".join(texts) if texts or not calls else None}
    if calls:
        message["tool_calls"] = calls
    if thinking:
        message["reasoning"] = "\n".join(thinking)
    return {
        "id": resp.get("id") or "",
        "object": "chat.completion",
        "created": int(time.time()) if created is None else created,
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason(resp.get("finish_reason")),
                     "native_finish_reason": resp.get("finish_reason"), "logprobs": None}],
        "usage": chat_usage(resp.get("usage")),
    }


class CohereStreamToChat:
    """Cohere v2 stream events (decoded `data:` payloads) in, chat.completion.chunk dicts out."""

    def __init__(self, model: str, created: int | None = None) -> None:
        self.model = model
        self.created = int(time.time()) if created is None else created
        self.id = ""
        self.finish: str | None = None

    def _chunk(self, delta: dict | None, finish: str | None = None) -> dict:
        return {"id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model,
                "choices": [{"index": 0, "delta": delta or {}, "finish_reason": finish, "logprobs": None}]}

    def feed(self, data: dict) -> list[dict]:
        kind = data.get("type")
        delta: dict = data["delta"] if isinstance(data.get("delta"), dict) else {}
        msg: dict = delta["message"] if isinstance(delta.get("message"), dict) else {}
        if kind == "message-start":
            self.id = data.get("id") or self.id
            return [self._chunk({"role": "assistant", "content": ""})]
        if kind in ("content-start", "content-delta"):
            c: dict = msg["content"] if isinstance(msg.get("content"), dict) else {}
            if c.get("thinking"):
                return [self._chunk({"reasoning": c["thinking"]})]
            if c.get("text"):
                return [self._chunk({"content": c["text"]})]
            return []
        if kind == "tool-plan-delta":
            plan = msg.get("tool_plan")
            return [self._chunk({"reasoning": plan})] if plan else []
        if kind in ("tool-call-start", "tool-call-delta"):
            tc: dict = msg["tool_calls"] if isinstance(msg.get("tool_calls"), dict) else {}
            f: dict = tc["function"] if isinstance(tc.get("function"), dict) else {}
            call: dict = {"index": data.get("index") or 0}
            if kind == "tool-call-start":
                call.update({"id": tc.get("id"), "type": "function",
                             "function": {"name": f.get("name"), "arguments": f.get("arguments") or ""}})
            else:
                call["function"] = {"arguments": f.get("arguments") or ""}
            return [self._chunk({"tool_calls": [call]})]
        if kind == "message-end":
            if delta.get("finish_reason") == "ERROR" or delta.get("error"):
                raise StreamError(str(delta.get("error") or "the model stopped with an error"))
            fin = finish_reason(delta.get("finish_reason")) or "stop"
            out = [self._chunk({}, fin)]
            out[0]["choices"][0]["native_finish_reason"] = delta.get("finish_reason")
            usage = chat_usage(delta.get("usage"))
            out.append({"id": self.id, "object": "chat.completion.chunk", "created": self.created,
                        "model": self.model, "choices": [], "usage": usage})
            return out
        return []  # content-end, tool-call-end, citation-*, debug
