"""AWS Bedrock Converse API <-> OpenAI Chat Completions. Pure: dicts in, dicts out; no I/O, no state
outside the stream converter. Requests that cannot be served raise ValueError (the caller answers 400).

    chat_to_converse(body)                  chat request       -> Converse request (model id goes in the URL)
    converse_response_to_chat(resp, model)  Converse response  -> chat.completion
    ConverseStreamToChat(model).feed(event_type, payload) -> [chunk]   (ConverseStream events)

chat_to_converse mapping
    system / developer messages   -> `system`: [{text}] (one block per message)
    user / assistant              -> same roles, content blocks; consecutive same-role turns merged
    text part / string content    -> {text}; empty text dropped; a part with cache_control is followed by
                                     {cachePoint: {type: default}} (system parts too)
    image_url data: URL           -> {image: {format: png|jpeg|gif|webp, source: {bytes: base64}}};
                                     http(s) URLs are downloaded and inlined by the client
                                     before this runs (images.py); any left -> ValueError
    assistant tool_calls          -> {toolUse: {toolUseId, name, input = JSON-decoded arguments (bad JSON -> {})}}
    role "tool"                   -> user turn {toolResult: {toolUseId, content: [{text}], status: success}}
    max_completion_tokens / max_tokens, temperature, top_p, stop -> inferenceConfig maxTokens / temperature /
                                     topP / stopSequences
    tools (function)              -> toolConfig.tools [{toolSpec: {name, description, inputSchema: {json}}}]
    tool_choice auto / required / function -> toolChoice {auto: {}} / {any: {}} / {tool: {name}};
                                     "none" -> tools sent without toolChoice (Converse has no "none")
    top_k                         -> additionalModelRequestFields.top_k
    n > 1                         -> ValueError; other OpenAI fields are dropped

converse_to_chat (the drop-in route's direction) keeps a cachePoint as cache_control {type: ephemeral} on the
text/image part before it when the target caches prompts (cache_points=True: Bedrock, Anthropic).

converse_response_to_chat / ConverseStreamToChat mapping
    text blocks        -> message.content (joined); null when only tool calls
    toolUse            -> tool_calls [{id: toolUseId, type: function, function: {name, arguments: JSON}}]
    reasoningContent   -> message.reasoning
    stopReason         -> finish_reason: end_turn / stop_sequence -> stop, max_tokens /
                          model_context_window_exceeded -> length, tool_use -> tool_calls,
                          guardrail_intervened / content_filtered -> content_filter
    usage              -> prompt_tokens = inputTokens + cacheReadInputTokens + cacheWriteInputTokens,
                          completion_tokens = outputTokens, prompt_tokens_details.cached_tokens = cacheRead
    stream             -> messageStart: role chunk; contentBlockStart toolUse: tool_calls delta (id, name,
                          arguments ""); contentBlockDelta text / toolUse.input / reasoningContent.text:
                          content / argument fragments / reasoning; messageStop: finish chunk;
                          metadata: usage chunk with empty choices
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "guardrail_intervened": "content_filter",
    "content_filtered": "content_filter",
}
# Converse marks a prompt-cache boundary with a block after the cached one; the neutral (Anthropic-style)
# form is cache_control on the part the boundary follows.
CACHE_POINT = {"cachePoint": {"type": "default"}}
_CACHE_CONTROL = {"type": "ephemeral"}
_IMAGE_FORMATS = {"image/png": "png", "image/jpeg": "jpeg", "image/jpg": "jpeg", "image/gif": "gif",
                  "image/webp": "webp"}


CONVERSE_STOP_REASONS = frozenset({"end_turn", "tool_use", "max_tokens", "stop_sequence", "guardrail_intervened",
                                   "content_filtered", "model_context_window_exceeded"})


def finish_reason(stop: str | None) -> str:
    return FINISH_REASONS.get(stop or "", "stop")


# ---------------------------------------------------------------- request


def _image_block(url: str) -> dict:
    if not url.startswith("data:"):
        raise ValueError("image_url: Bedrock Converse takes images as base64 data: URLs or http(s) URLs "
                         "(which the gateway downloads); other URL schemes are not supported")
    header, sep, data = url[5:].partition(",")
    if not sep or ";base64" not in header:
        raise ValueError("image_url data: URLs must be base64-encoded")
    mime = header.split(";", 1)[0].lower()
    fmt = _IMAGE_FORMATS.get(mime)
    if fmt is None:
        raise ValueError(f"unsupported image type {mime!r} for Bedrock (png, jpeg, gif or webp)")
    return {"image": {"format": fmt, "source": {"bytes": data}}}


def _content_blocks(content: Any) -> list[dict]:
    if content is None:
        return []
    if isinstance(content, str):
        return [{"text": content}] if content else []
    if not isinstance(content, list):
        raise ValueError("message content must be a string or an array of content parts")
    out: list[dict] = []
    for part in content:
        if not isinstance(part, dict):
            raise ValueError("content parts must be objects")
        typ = part.get("type")
        if typ == "text":
            if not part.get("text"):
                continue
            out.append({"text": part["text"]})
        elif typ == "image_url":
            iu = part.get("image_url")
            url = iu.get("url") if isinstance(iu, dict) else iu
            if not isinstance(url, str):
                raise ValueError("image_url.url must be a string")
            out.append(_image_block(url))
        else:
            raise ValueError(f"content part type {typ!r} is not supported by the bedrock provider")
        if part.get("cache_control"):
            out.append(dict(CACHE_POINT))
    return out


def _system_blocks(content: Any) -> list[dict]:
    """System text as one block, split where a part carries cache_control (a cachePoint follows it)."""
    if not isinstance(content, list) or not any(isinstance(p, dict) and p.get("cache_control") for p in content):
        text = _text_of(content)
        return [{"text": text}] if text else []
    out: list[dict] = []
    pending = ""
    for p in content:
        if not isinstance(p, dict) or p.get("type") != "text":
            continue
        pending += p.get("text") or ""
        if p.get("cache_control") and pending:
            out += [{"text": pending}, dict(CACHE_POINT)]
            pending = ""
    if pending:
        out.append({"text": pending})
    return out


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text") or "" for p in content if isinstance(p, dict) and p.get("type") == "text")
    return ""


def _tool_use(call: dict) -> dict:
    fn = call.get("function") or {}
    args = fn.get("arguments")
    try:
        inp = json.loads(args) if isinstance(args, str) and args.strip() else (args or {})
    except ValueError:
        inp = {}
    if not isinstance(inp, dict):
        inp = {}
    return {"toolUse": {"toolUseId": call.get("id") or "", "name": fn.get("name") or "", "input": inp}}


def chat_to_converse(body: dict) -> dict:
    """An OpenAI chat request (without `model`) -> a Converse request body."""
    if (body.get("n") or 1) > 1:
        raise ValueError("n > 1 is not supported by the bedrock provider")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ValueError("messages must be a non-empty array")
    system: list[dict] = []
    turns: list[dict] = []

    def add(role: str, blocks: list[dict]) -> None:
        if not blocks:
            return
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})

    for m in messages:
        if not isinstance(m, dict):
            raise ValueError("each message must be an object")
        role = m.get("role")
        if role in ("system", "developer"):
            system.extend(_system_blocks(m.get("content")))
        elif role == "user":
            add("user", _content_blocks(m.get("content")))
        elif role == "assistant":
            blocks = _content_blocks(m.get("content"))
            blocks.extend(_tool_use(c) for c in m.get("tool_calls") or [] if isinstance(c, dict))
            add("assistant", blocks)
        elif role == "tool":
            result = {"toolUseId": m.get("tool_call_id") or "", "content": [{"text": _text_of(m.get("content"))}],
                      "status": "success"}
            add("user", [{"toolResult": result}])
        else:
            raise ValueError(f"unsupported message role {role!r}")
    out: dict[str, Any] = {"messages": turns}
    if system:
        out["system"] = system
    inf: dict[str, Any] = {}
    max_tokens = body.get("max_completion_tokens") or body.get("max_tokens")
    if max_tokens is not None:
        inf["maxTokens"] = max_tokens
    if body.get("temperature") is not None:
        inf["temperature"] = body["temperature"]
    if body.get("top_p") is not None:
        inf["topP"] = body["top_p"]
    stop = body.get("stop")
    if stop:
        inf["stopSequences"] = [stop] if isinstance(stop, str) else list(stop)
    if inf:
        out["inferenceConfig"] = inf
    if body.get("top_k") is not None:
        out["additionalModelRequestFields"] = {"top_k": body["top_k"]}
    tools = []
    for t in body.get("tools") or []:
        if not isinstance(t, dict) or t.get("type", "function") != "function":
            raise ValueError("only function tools are supported by the bedrock provider")
        fn = t.get("function") or {}
        spec: dict[str, Any] = {"name": fn.get("name") or ""}
        if fn.get("description"):
            spec["description"] = fn["description"]
        spec["inputSchema"] = {"json": fn.get("parameters") or {"type": "object", "properties": {}}}
        tools.append({"toolSpec": spec})
    if tools:
        cfg: dict[str, Any] = {"tools": tools}
        choice = body.get("tool_choice")
        if choice == "auto":
            cfg["toolChoice"] = {"auto": {}}
        elif choice == "required":
            cfg["toolChoice"] = {"any": {}}
        elif isinstance(choice, dict) and choice.get("type") == "function":
            cfg["toolChoice"] = {"tool": {"name": (choice.get("function") or {}).get("name") or ""}}
        out["toolConfig"] = cfg
    return out


# ---------------------------------------------------------------- response


def chat_usage(usage: dict) -> dict:
    read = usage.get("cacheReadInputTokens") or 0
    write = usage.get("cacheWriteInputTokens") or 0
    prompt = (usage.get("inputTokens") or 0) + read + write
    completion = usage.get("outputTokens") or 0
    out: dict[str, Any] = {"prompt_tokens": prompt, "completion_tokens": completion,
                           "total_tokens": prompt + completion}
    if read or write:
        out["prompt_tokens_details"] = {"cached_tokens": read, "cache_write_tokens": write}
    return out


def converse_response_to_chat(resp: dict, model: str, created: int | None = None) -> dict:
    message = ((resp.get("output") or {}).get("message")) or {}
    texts: list[str] = []
    reasoning: list[str] = []
    calls: list[dict] = []
    for block in message.get("content") or []:
        if not isinstance(block, dict):
            continue
        if isinstance(block.get("text"), str):
            texts.append(block["text"])
        elif isinstance(block.get("toolUse"), dict):
            tu = block["toolUse"]
            calls.append({"id": tu.get("toolUseId") or "", "type": "function",
                          "function": {"name": tu.get("name") or "",
                                       "arguments": json.dumps(tu.get("input") or {}, separators=(",", ":"))}})
        elif isinstance(block.get("reasoningContent"), dict):
            rt = block["reasoningContent"].get("reasoningText") or {}
            if rt.get("text"):
                reasoning.append(rt["text"])
    msg: dict[str, Any] = {"role": "assistant", "content": "".join(texts) if texts or not calls else None}
    if calls:
        msg["tool_calls"] = calls
    if reasoning:
        msg["reasoning"] = "\n".join(reasoning)
    out: dict[str, Any] = {
        "id": "chatcmpl-" + uuid.uuid4().hex[:24], "object": "chat.completion",
        "created": int(time.time()) if created is None else created, "model": model,
        "choices": [{"index": 0, "message": msg, "logprobs": None,
                     "finish_reason": finish_reason(resp.get("stopReason")),
                     "native_finish_reason": resp.get("stopReason")}],
    }
    if isinstance(resp.get("usage"), dict):
        out["usage"] = chat_usage(resp["usage"])
    return out


class ConverseStreamToChat:
    """ConverseStream events (event type + JSON payload) -> OpenAI chat.completion.chunk dicts."""

    def __init__(self, model: str, created: int | None = None) -> None:
        self.model = model
        self.created = int(time.time()) if created is None else created
        self.id = "chatcmpl-" + uuid.uuid4().hex[:24]
        self._tools: dict[int, int] = {}  # content block index -> tool call index
        self._args_seen: set[int] = set()

    def feed(self, event: str, data: dict) -> list[dict]:
        if event == "messageStart":
            return [self._chunk({"role": data.get("role") or "assistant", "content": ""})]
        if event == "contentBlockStart":
            tu = (data.get("start") or {}).get("toolUse")
            if not isinstance(tu, dict):
                return []
            index = data.get("contentBlockIndex", 0)
            n = self._tools[index] = len(self._tools)
            call = {"index": n, "id": tu.get("toolUseId") or f"tooluse_{n}", "type": "function",
                    "function": {"name": tu.get("name") or "", "arguments": ""}}
            return [self._chunk({"tool_calls": [call]})]
        if event == "contentBlockDelta":
            index = data.get("contentBlockIndex", 0)
            delta = data.get("delta") or {}
            if isinstance(delta.get("text"), str) and delta["text"]:
                return [self._chunk({"content": delta["text"]})]
            tu = delta.get("toolUse")
            if isinstance(tu, dict) and tu.get("input") and index in self._tools:
                self._args_seen.add(index)
                return [self._chunk({"tool_calls": [{"index": self._tools[index],
                                                     "function": {"arguments": tu["input"]}}]})]
            rc = delta.get("reasoningContent")
            if isinstance(rc, dict) and rc.get("text"):
                return [self._chunk({"reasoning": rc["text"]})]
            return []
        if event == "contentBlockStop":
            index = data.get("contentBlockIndex", 0)
            if index in self._tools and index not in self._args_seen:
                return [self._chunk({"tool_calls": [{"index": self._tools[index], "function": {"arguments": "{}"}}]})]
            return []
        if event == "messageStop":
            chunk = self._chunk({}, finish_reason(data.get("stopReason")))
            chunk["choices"][0]["native_finish_reason"] = data.get("stopReason")
            return [chunk]
        if event == "metadata":
            if not isinstance(data.get("usage"), dict):
                return []
            chunk = self._chunk(None)
            chunk["usage"] = chat_usage(data["usage"])
            return [chunk]
        return []

    def _chunk(self, delta: dict | None, finish: str | None = None) -> dict:
        choices = [] if delta is None else [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]
        return {"id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model,
                "choices": choices}


# ---------------------------------------------------------------- inbound (boto3 -> /bedrock -> any provider)
#
#   converse_to_chat(body)                   Converse request   -> chat request (no model)
#   chat_response_to_converse(resp)          chat.completion    -> Converse response
#   ChatStreamToConverse().feed(chunk) / .finish() -> [(event type, payload)]   ConverseStream events

_STOP_REASONS = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use",
                 "function_call": "tool_use", "content_filter": "content_filtered"}


def stop_reason(finish: str | None, choice: dict | None = None) -> str:
    """Converse stopReason for a neutral finish; "stop_sequence" when the choice names the stop sequence it
    matched (`stop_reason`, vLLM's field, filled by the Anthropic translators)."""
    choice = choice or {}
    native = choice.get("native_finish_reason")
    if isinstance(native, str) and native in CONVERSE_STOP_REASONS:
        return native  # OpenRouter's field: the provider's own reason, when Converse has it too
    seq = choice.get("stop_reason")
    if isinstance(seq, str) and seq and finish in (None, "stop"):
        return "stop_sequence"
    return _STOP_REASONS.get(finish or "", "end_turn")


def _tool_result_text(content: Any) -> str:
    parts = []
    for c in content or []:
        if isinstance(c, dict):
            if isinstance(c.get("text"), str):
                parts.append(c["text"])
            elif "json" in c:
                parts.append(json.dumps(c["json"], separators=(",", ":")))
    return "".join(parts)


def converse_to_chat(body: dict, cache_points: bool = False) -> dict:
    """A Converse request body -> an OpenAI chat request (the model comes from the URL).

    cache_points=True keeps `cachePoint` blocks (after system, text and image blocks) as cache_control on
    the preceding part, for targets that cache prompts (Bedrock, Anthropic); otherwise they are dropped.
    """
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ValueError("messages: at least one message is required")
    out_msgs: list[dict] = []
    sys_blocks = [b for b in body.get("system") or [] if isinstance(b, dict)]
    system = [b["text"] for b in sys_blocks if isinstance(b.get("text"), str)]
    if cache_points and any("cachePoint" in b for b in sys_blocks):
        sys_parts: list[dict] = []
        for b in sys_blocks:
            if isinstance(b.get("text"), str):
                sys_parts.append({"type": "text", "text": b["text"]})
            elif "cachePoint" in b and sys_parts:
                sys_parts[-1]["cache_control"] = dict(_CACHE_CONTROL)
        out_msgs.append({"role": "system", "content": sys_parts})
    elif system:
        out_msgs.append({"role": "system", "content": "\n".join(system)})
    for m in messages:
        if not isinstance(m, dict) or m.get("role") not in ("user", "assistant"):
            raise ValueError("each message must have role user or assistant")
        parts: list[dict] = []
        calls: list[dict] = []
        for b in m.get("content") or []:
            if not isinstance(b, dict):
                continue
            if isinstance(b.get("text"), str):
                parts.append({"type": "text", "text": b["text"]})
            elif isinstance(b.get("image"), dict):
                img = b["image"]
                data = (img.get("source") or {}).get("bytes")
                if not isinstance(data, str):
                    raise ValueError("image blocks need source.bytes")
                parts.append({"type": "image_url",
                              "image_url": {"url": f"data:image/{img.get('format') or 'png'};base64,{data}"}})
            elif isinstance(b.get("toolUse"), dict):
                tu = b["toolUse"]
                calls.append({"id": tu.get("toolUseId") or "", "type": "function",
                              "function": {"name": tu.get("name") or "",
                                           "arguments": json.dumps(tu.get("input") or {}, separators=(",", ":"))}})
            elif isinstance(b.get("toolResult"), dict):
                tr = b["toolResult"]
                out_msgs.append({"role": "tool", "tool_call_id": tr.get("toolUseId") or "",
                                 "content": _tool_result_text(tr.get("content"))})
            elif "cachePoint" in b and cache_points and parts:
                parts[-1]["cache_control"] = dict(_CACHE_CONTROL)
            # cachePoint after a tool block, reasoningContent, documents, guardContent: dropped
        if m["role"] == "assistant":
            msg: dict[str, Any] = {"role": "assistant", "content": _join_parts(parts)}
            if calls:
                msg["tool_calls"] = calls
            if parts or calls:
                out_msgs.append(msg)
        elif parts:
            out_msgs.append({"role": "user", "content": _join_parts(parts)})
    out: dict[str, Any] = {"messages": out_msgs}
    inf = body.get("inferenceConfig") or {}
    for src, dst in (("maxTokens", "max_tokens"), ("temperature", "temperature"), ("topP", "top_p"),
                     ("stopSequences", "stop")):
        if inf.get(src) is not None:
            out[dst] = inf[src]
    tc = body.get("toolConfig") or {}
    tools = []
    for t in tc.get("tools") or []:
        spec = t.get("toolSpec") if isinstance(t, dict) else None
        if isinstance(spec, dict):
            fn: dict[str, Any] = {"name": spec.get("name") or ""}
            if spec.get("description"):
                fn["description"] = spec["description"]
            fn["parameters"] = (spec.get("inputSchema") or {}).get("json") or {"type": "object", "properties": {}}
            tools.append({"type": "function", "function": fn})
    if tools:
        out["tools"] = tools
        choice = tc.get("toolChoice") or {}
        if "any" in choice:
            out["tool_choice"] = "required"
        elif isinstance(choice.get("tool"), dict):
            out["tool_choice"] = {"type": "function", "function": {"name": choice["tool"].get("name") or ""}}
        elif "auto" in choice:
            out["tool_choice"] = "auto"
    return out


def _join_parts(parts: list[dict]) -> Any:
    """One plain text block as a string; several blocks stay parts (joining them would glue their words)."""
    if not parts:
        return None
    if len(parts) == 1 and parts[0]["type"] == "text" and "cache_control" not in parts[0]:
        return parts[0]["text"]
    return parts


def converse_usage(usage: dict | None) -> dict:
    usage = usage or {}
    details = usage.get("prompt_tokens_details") or {}
    read = details.get("cached_tokens") or 0
    write = details.get("cache_write_tokens") or 0
    inp = max((usage.get("prompt_tokens") or 0) - read - write, 0)
    outp = usage.get("completion_tokens") or 0
    out = {"inputTokens": inp, "outputTokens": outp, "totalTokens": inp + outp + read + write}
    if read:
        out["cacheReadInputTokens"] = read
    if write:
        out["cacheWriteInputTokens"] = write
    return out


def chat_response_to_converse(resp: dict) -> dict:
    choice = (resp.get("choices") or [{}])[0]
    msg = choice.get("message") or {}
    content: list[dict] = []
    if isinstance(msg.get("content"), str) and msg["content"]:
        content.append({"text": msg["content"]})
    for call in msg.get("tool_calls") or []:
        content.append(_tool_use(call))
    if not content:
        content.append({"text": ""})
    return {"output": {"message": {"role": "assistant", "content": content}},
            "stopReason": stop_reason(choice.get("finish_reason"), choice),
            "usage": converse_usage(resp.get("usage")), "metrics": {"latencyMs": 0}}


class ChatStreamToConverse:
    """OpenAI chat.completion.chunk dicts -> ConverseStream (event type, payload) pairs.

    messageStart on the first chunk; content in a text block (contentBlockDelta, no start event, as
    Bedrock does); each tool call in its own block (contentBlockStart toolUse, input fragments); a
    block is stopped before the next starts; `finish()` stops the open block and sends messageStop
    and metadata (usage)."""

    def __init__(self) -> None:
        self._started = False
        self._next = 0
        self._open: tuple[str, int, Any] | None = None  # (kind, block index, chat tool index)
        self._finish: str | None = None
        self._finish_choice: dict | None = None
        self._usage: dict | None = None
        self._done = False

    def _close(self) -> list[tuple[str, dict]]:
        if self._open is None:
            return []
        idx = self._open[1]
        self._open = None
        return [("contentBlockStop", {"contentBlockIndex": idx})]

    def _begin(self, kind: str, tool: Any = None) -> tuple[list[tuple[str, dict]], int]:
        out = self._close()
        idx = self._next
        self._next += 1
        self._open = (kind, idx, tool)
        return out, idx

    def feed(self, chunk: dict) -> list[tuple[str, dict]]:
        out: list[tuple[str, dict]] = []
        if not self._started:
            self._started = True
            out.append(("messageStart", {"role": "assistant"}))
        if isinstance(chunk.get("usage"), dict):
            self._usage = chunk["usage"]
        for choice in chunk.get("choices") or []:
            if choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            text = delta.get("content")
            if isinstance(text, str) and text:
                if self._open is None or self._open[0] != "text":
                    ev, idx = self._begin("text")
                    out.extend(ev)
                else:
                    idx = self._open[1]
                out.append(("contentBlockDelta", {"contentBlockIndex": idx, "delta": {"text": text}}))
            for call in delta.get("tool_calls") or []:
                n = call.get("index", 0)
                fn = call.get("function") or {}
                if self._open is None or self._open[0] != "tool" or self._open[2] != n:
                    ev, idx = self._begin("tool", n)
                    out.extend(ev)
                    out.append(("contentBlockStart", {"contentBlockIndex": idx, "start": {"toolUse": {
                        "toolUseId": call.get("id") or f"tooluse_{n}", "name": fn.get("name") or ""}}}))
                idx = self._open[1]  # type: ignore[index]
                if fn.get("arguments"):
                    out.append(("contentBlockDelta", {"contentBlockIndex": idx,
                                                      "delta": {"toolUse": {"input": fn["arguments"]}}}))
            if choice.get("finish_reason"):
                self._finish = choice["finish_reason"]
                self._finish_choice = choice
        return out

    def finish(self) -> list[tuple[str, dict]]:
        if self._done:
            return []
        self._done = True
        out = [] if self._started else [("messageStart", {"role": "assistant"})]
        out.extend(self._close())
        out.append(("messageStop", {"stopReason": stop_reason(self._finish, self._finish_choice)}))
        out.append(("metadata", {"usage": converse_usage(self._usage), "metrics": {"latencyMs": 0}}))
        return out
