"""Anthropic SDK -> gateway: Messages request -> OpenAI chat request, chat.completion -> Message. Pure.

The gateway serves /anthropic/v1/messages on any provider by converting the request to the neutral
OpenAI chat format (`messages_to_chat`) and the answer back (`chat_response_to_messages`; the stream
converter is `ChatStreamToMessages` in translate_stream.py).

`native=True` is for requests the gateway will send to an Anthropic upstream again (through
`chat_to_messages`): it keeps what only Anthropic understands (signed thinking as
`reasoning_details`, cache_control, the `thinking` object, server tools such as web_search_20250305
and request fields such as container), so the round trip is lossless. Without it those are dropped,
since OpenAI-compatible upstreams reject or ignore them.
"""

from __future__ import annotations

from typing import Any

from bifrost.providers.anthropic.translate_common import MIN_THINKING_BUDGET, dumps, tool_id, tool_input
from bifrost.providers.anthropic.translate_response import anthropic_usage, matched_stop, stop_fields

_NATIVE_FIELDS = ("thinking", "output_config", "cache_control", "container", "mcp_servers", "context_management",
                  "inference_geo", "speed", "diagnostics")
_SKIPPED_BLOCKS = frozenset({"thinking", "redacted_thinking", "server_tool_use", "web_search_tool_result",
                             "web_fetch_tool_result", "code_execution_tool_result", "mcp_tool_use",
                             "mcp_tool_result", "container_upload"})
_EFFORTS = {"low": "low", "medium": "medium", "high": "high", "xhigh": "high", "max": "high"}
_TIERS = {"auto": "auto", "standard_only": "default"}


def messages_to_chat(body: dict, *, native: bool = False) -> dict:
    """An Anthropic Messages request -> an OpenAI chat request (model left as given).

    Raises ValueError for content the chat format cannot carry (files by id, URL documents, ...).
    """
    if not isinstance(body, dict):
        raise ValueError("the request body must be a JSON object")
    if not isinstance(body.get("messages"), list):
        raise ValueError("`messages` must be an array")
    out: dict[str, Any] = {}
    if body.get("model") is not None:
        out["model"] = body["model"]
    messages = _system(body.get("system"), native)
    for n, msg in enumerate(body["messages"]):
        role = msg.get("role") if isinstance(msg, dict) else None
        if role == "user":
            messages.extend(_user(msg.get("content"), n, native))
        elif role == "assistant":
            assistant = _assistant(msg.get("content"), n, native)
            if assistant is not None:
                messages.append(assistant)
        else:
            raise ValueError(f"messages[{n}].role must be user or assistant")
    out["messages"] = messages

    if body.get("max_tokens") is not None:
        out["max_tokens"] = body["max_tokens"]
    for key in ("temperature", "top_p", "top_k"):
        if body.get(key) is not None:
            out[key] = body[key]
    if body.get("stop_sequences"):
        out["stop"] = list(body["stop_sequences"])
    user_id = (body.get("metadata") or {}).get("user_id")
    if user_id:
        out["user"] = user_id
    tier = _TIERS.get(body.get("service_tier") or "")
    if tier:
        out["service_tier"] = tier

    tools = [t for t in (_tool(t, n, native) for n, t in enumerate(body.get("tools") or ())) if t]
    if tools:
        out["tools"] = tools
        choice = body.get("tool_choice")
        if isinstance(choice, dict):
            out.update(_tool_choice(choice))

    effort = _effort(body)
    if effort:
        out["reasoning_effort"] = effort
    fmt = (body.get("output_config") or {}).get("format")
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        out["response_format"] = {"type": "json_schema",
                                  "json_schema": {"name": "output", "schema": fmt.get("schema") or {}, "strict": True}}
    if native:
        out.update({k: body[k] for k in _NATIVE_FIELDS if body.get(k) is not None})
    if body.get("stream") is not None:
        out["stream"] = bool(body["stream"])
        if out["stream"]:
            out["stream_options"] = {"include_usage": True}
    return out


def chat_response_to_messages(resp: dict, model: str) -> dict:
    """An OpenAI chat.completion -> an Anthropic Message (first choice only).

    Reasoning (`reasoning_details` with signatures, else `reasoning_content`/`reasoning` text) becomes
    leading thinking blocks (signature "" when the provider gave none), then text, then tool_use
    blocks with their JSON arguments parsed into `input`.
    """
    choices = resp.get("choices") or [{}]
    choice = next((c for c in choices if c.get("index", 0) == 0), choices[0])
    msg = choice.get("message") or {}
    content = thinking_blocks(msg)
    text = _text_of(msg.get("content")) or msg.get("refusal") or ""
    if text:
        content.append({"type": "text", "text": text})
    calls = [c for c in msg.get("tool_calls") or () if isinstance(c, dict)]
    for k, call in enumerate(calls):
        fn = call.get("function") or {}
        content.append({"type": "tool_use", "id": tool_id(call.get("id"), f"toolu_{k}"),
                        "name": fn.get("name") or "", "input": tool_input(fn.get("arguments"))})
    return {
        "id": message_id(resp.get("id")),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        **stop_fields(choice.get("finish_reason"), matched_stop(choice), bool(calls),
                      choice.get("native_finish_reason")),
        "usage": anthropic_usage(resp.get("usage")),
    }


def message_id(chat_id: Any) -> str:
    """The Anthropic message id for a chat completion id ("msg_" + id)."""
    chat_id = str(chat_id or "")
    return chat_id if chat_id.startswith("msg_") else "msg_" + chat_id


def reasoning_text(container: dict) -> str:
    """The reasoning text of a chat message or delta (DeepSeek `reasoning_content`, or `reasoning`)."""
    for key in ("reasoning_content", "reasoning"):
        value = container.get(key)
        if isinstance(value, str) and value:
            return value
    return ""


def thinking_blocks(msg: dict) -> list[dict]:
    details = [d for d in msg.get("reasoning_details") or () if isinstance(d, dict)]
    blocks: list[dict] = []
    for d in details:
        if d.get("type") == "reasoning.encrypted" and d.get("data"):
            blocks.append({"type": "redacted_thinking", "data": d["data"]})
        elif d.get("text") or d.get("signature"):
            blocks.append({"type": "thinking", "thinking": d.get("text") or "", "signature": d.get("signature") or ""})
    if not any(b["type"] == "thinking" for b in blocks):
        text = reasoning_text(msg)
        if text:
            blocks.insert(0, {"type": "thinking", "thinking": text, "signature": ""})
    return blocks


# ----------------------------------------------------------------------------------- messages


def _system(system: Any, native: bool) -> list[dict]:
    if isinstance(system, str):
        return [{"role": "system", "content": system}] if system else []
    if not isinstance(system, list) or not system:
        return []
    parts = [_text_part(b, native) for b in system if isinstance(b, dict) and b.get("text")]
    if len(parts) == 1 and len(parts[0]) == 2:
        return [{"role": "system", "content": parts[0]["text"]}]
    return [{"role": "system", "content": parts}] if parts else []


def _user(content: Any, n: int, native: bool) -> list[dict]:
    if isinstance(content, str):
        return [{"role": "user", "content": content}]
    if not isinstance(content, list):
        raise ValueError(f"messages[{n}].content must be a string or an array of content blocks")
    tools: list[dict] = []
    parts: list[dict] = []
    for block in content:
        kind = block.get("type") if isinstance(block, dict) else None
        if kind == "tool_result":
            text, images = _tool_result_content(block.get("content"), n)
            tools.append({"role": "tool", "tool_call_id": block.get("tool_use_id") or "", "content": text})
            parts.extend(images)  # chat tool messages carry text only: images follow in a user message
        elif kind == "text":
            parts.append(_text_part(block, native))
        elif kind == "image":
            parts.append(_cache(_image_part(block, n), block, native))
        elif kind == "document":
            parts.append(_cache(_document_part(block, n), block, native))
        elif kind not in _SKIPPED_BLOCKS:
            raise ValueError(f"messages[{n}]: content blocks of type {kind!r} are not supported here")
    out = tools
    if parts:
        simple = len(parts) == 1 and parts[0]["type"] == "text" and len(parts[0]) == 2
        out.append({"role": "user", "content": parts[0]["text"] if simple else parts})
    return out


def _assistant(content: Any, n: int, native: bool) -> dict | None:
    if isinstance(content, str):
        return {"role": "assistant", "content": content}
    if not isinstance(content, list):
        raise ValueError(f"messages[{n}].content must be a string or an array of content blocks")
    texts: list[str] = []
    calls: list[dict] = []
    details: list[dict] = []
    for block in content:
        kind = block.get("type") if isinstance(block, dict) else None
        if kind == "text":
            texts.append(block.get("text") or "")
        elif kind == "tool_use":
            calls.append({"id": block.get("id") or "", "type": "function",
                          "function": {"name": block.get("name") or "", "arguments": dumps(block.get("input") or {})}})
        elif kind == "thinking" and native:
            details.append({"index": len(details), "type": "reasoning.text", "text": block.get("thinking") or "",
                            "signature": block.get("signature") or ""})
        elif kind == "redacted_thinking" and native:
            details.append({"index": len(details), "type": "reasoning.encrypted", "data": block.get("data") or ""})
        elif kind not in _SKIPPED_BLOCKS:
            raise ValueError(f"messages[{n}]: assistant content blocks of type {kind!r} are not supported here")
    text = "".join(texts)
    if not text and not calls and not details:
        return None
    out: dict[str, Any] = {"role": "assistant", "content": text if text or not calls else None}
    if calls:
        out["tool_calls"] = calls
    if details:
        out["reasoning_details"] = details
    return out


def _tool_result_content(content: Any, n: int) -> tuple[str, list[dict]]:
    if isinstance(content, str) or content is None:
        return content or "", []
    texts, images = [], []
    for block in content:
        kind = block.get("type") if isinstance(block, dict) else None
        if kind == "text":
            texts.append(block.get("text") or "")
        elif kind == "image":
            images.append(_image_part(block, n))
        elif kind == "document":
            images.append(_document_part(block, n))
        else:
            raise ValueError(f"messages[{n}]: tool_result content of type {kind!r} is not supported here")
    return "\n".join(texts), images


def _text_part(block: dict, native: bool) -> dict:
    return _cache({"type": "text", "text": block.get("text") or ""}, block, native)


def _image_part(block: dict, n: int) -> dict:
    source = block.get("source") or {}
    if source.get("type") == "base64":
        url = f"data:{source.get('media_type') or 'image/png'};base64,{source.get('data') or ''}"
    elif source.get("type") == "url" and source.get("url"):
        url = source["url"]
    else:
        raise ValueError(f"messages[{n}]: image sources of type {source.get('type')!r} are not supported here")
    return {"type": "image_url", "image_url": {"url": url}}


def _document_part(block: dict, n: int) -> dict:
    source = block.get("source") or {}
    if source.get("type") == "base64":
        media_type = source.get("media_type") or "application/pdf"
        file = {"file_data": f"data:{media_type};base64,{source.get('data') or ''}",
                "filename": block.get("title") or "document.pdf"}
        return {"type": "file", "file": file}
    if source.get("type") == "text":
        return {"type": "text", "text": source.get("data") or ""}
    raise ValueError(f"messages[{n}]: document sources of type {source.get('type')!r} are not supported here")


def _cache(part: dict, block: dict, native: bool) -> dict:
    if native and block.get("cache_control"):
        part["cache_control"] = block["cache_control"]
    return part


# -------------------------------------------------------------------------------------- tools


def _tool(tool: Any, n: int, native: bool) -> dict | None:
    if not isinstance(tool, dict):
        raise ValueError(f"tools[{n}] must be an object")
    if tool.get("type") not in (None, "custom"):  # server tools (web_search_20250305, bash_20250124, ...)
        return dict(tool) if native else None
    if not tool.get("name"):
        raise ValueError(f"tools[{n}].name is required")
    fn: dict[str, Any] = {"name": tool["name"]}
    if tool.get("description"):
        fn["description"] = tool["description"]
    fn["parameters"] = tool.get("input_schema") or {"type": "object", "properties": {}}
    if tool.get("strict") is not None:
        fn["strict"] = tool["strict"]
    out: dict[str, Any] = {"type": "function", "function": fn}
    if native and tool.get("cache_control"):
        out["cache_control"] = tool["cache_control"]
    return out


def _tool_choice(choice: dict) -> dict:
    kind = choice.get("type")
    out: dict[str, Any] = {}
    if kind == "auto":
        out["tool_choice"] = "auto"
    elif kind == "any":
        out["tool_choice"] = "required"
    elif kind == "none":
        out["tool_choice"] = "none"
    elif kind == "tool":
        out["tool_choice"] = {"type": "function", "function": {"name": choice.get("name") or ""}}
    if choice.get("disable_parallel_tool_use"):
        out["parallel_tool_calls"] = False
    return out


def _effort(body: dict) -> str | None:
    """Anthropic thinking -> OpenAI reasoning_effort (Bifrost GetReasoningEffortFromBudgetTokens)."""
    thinking = body.get("thinking") if isinstance(body.get("thinking"), dict) else {}
    effort = (body.get("output_config") or {}).get("effort")
    if effort:
        return _EFFORTS.get(effort, "medium")
    if thinking.get("type") != "enabled":
        return None
    budget, max_tokens = thinking.get("budget_tokens") or 0, body.get("max_tokens") or 0
    if max_tokens <= MIN_THINKING_BUDGET:
        return "medium" if budget else None
    budget = min(max(budget, MIN_THINKING_BUDGET), max_tokens)
    ratio = (budget - MIN_THINKING_BUDGET) / (max_tokens - MIN_THINKING_BUDGET)
    return "low" if ratio <= 0.25 else "medium" if ratio <= 0.60 else "high"


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(p.get("text") or "" for p in content or () if isinstance(p, dict) and p.get("type") == "text")

