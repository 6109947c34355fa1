"""OpenAI Chat Completions request -> Anthropic Messages request (gateway -> Anthropic upstream). Pure.

`chat_to_messages(body, model)` is the whole job (the max_tokens table and the reasoning -> thinking
rules are in translate_common.py). Requests Anthropic cannot serve raise `ValueError`
with a message meant for the client (the caller turns it into a 400). See `translate.py` for the
full mapping table; the per-field rules live next to the code below.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from bifrost.providers.anthropic.translate_common import (
    default_max_tokens,
    sampling,
    thinking_for,
    tool_id,
    tool_input,
)

# Anthropic-native request fields an OpenAI-shaped body may carry for this provider; passed as-is.
_NATIVE = ("container", "mcp_servers", "context_management", "inference_geo", "speed",
           "cache_control", "diagnostics")
_NATIVE_TOOL = re.compile(r"^[a-z_]+_\d{8}$")  # web_search_20250305, bash_20250124, text_editor_20250728...
_CHOICES = {"auto": {"type": "auto"}, "none": {"type": "none"}, "required": {"type": "any"}}
_TIERS = {"auto": "auto", "default": "standard_only", "standard_only": "standard_only"}


def chat_to_messages(body: dict, model: str) -> dict:
    """An OpenAI chat request body -> an Anthropic Messages request body for `model`."""
    if not isinstance(body, dict):
        raise ValueError("the request body must be a JSON object")
    if (body.get("n") or 1) != 1:
        raise ValueError("`n` greater than 1 is not supported by Anthropic")
    system, messages = _messages(body.get("messages"))
    max_tokens = _first(body, "max_completion_tokens", "max_tokens")
    out: dict[str, Any] = {"model": model, "max_tokens": int(max_tokens or default_max_tokens(model))}
    if system is not None:
        out["system"] = system
    out["messages"] = messages

    output_config = dict(body["output_config"]) if isinstance(body.get("output_config"), dict) else {}
    thinking, effort = thinking_for(body, model, out["max_tokens"])
    if thinking is not None:
        out["thinking"] = thinking
    if effort is not None:
        output_config["effort"] = effort
    sampling(body, model, thinking, out)
    stop = body.get("stop")
    stops = [stop] if isinstance(stop, str) else list(stop or ())
    if any(stops):
        out["stop_sequences"] = [s for s in stops if s]

    tools = [_tool(t, n) for n, t in enumerate(body.get("tools") or ())]
    if tools:
        out["tools"] = tools
        choice = _tool_choice(body.get("tool_choice"), body.get("parallel_tool_calls"))
        if choice is not None:
            out["tool_choice"] = choice

    fmt = body.get("response_format")
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        schema = (fmt.get("json_schema") or {}).get("schema")
        if not isinstance(schema, dict):
            raise ValueError("`response_format.json_schema.schema` must be a JSON schema object")
        output_config["format"] = {"type": "json_schema", "schema": schema}
    if output_config:
        out["output_config"] = output_config

    user = body.get("user") or body.get("safety_identifier")
    if user:
        out["metadata"] = {"user_id": str(user)}
    tier = _TIERS.get(body.get("service_tier") or "")
    if tier:
        out["service_tier"] = tier
    if body.get("stream") is not None:
        out["stream"] = bool(body["stream"])
    for key in _NATIVE:
        if body.get(key) is not None and key not in out:
            out[key] = body[key]
    return out


# ----------------------------------------------------------------------------------- messages


def _messages(messages: Any) -> tuple[str | list | None, list[dict]]:
    if not isinstance(messages, list) or not messages:
        raise ValueError("`messages` must be a non-empty array")
    system: list[dict] = []
    out: list[dict] = []
    for n, msg in enumerate(messages):
        role = msg.get("role") if isinstance(msg, dict) else None
        if role in ("system", "developer"):
            system.extend(_text_blocks(msg.get("content"), n))
        elif role == "user":
            _append(out, "user", _user_blocks(msg.get("content"), n))
        elif role == "assistant":
            _append(out, "assistant", _assistant_blocks(msg, n))
        elif role == "tool":
            _append(out, "user", [_tool_result(msg, n)])  # consecutive results share one user message
        else:
            raise ValueError(f"messages[{n}].role must be system, developer, user, assistant or tool")
    if out and out[-1]["role"] == "assistant":  # Anthropic rejects a prefill ending in whitespace
        blocks = out[-1]["content"]
        for i in range(len(blocks) - 1, -1, -1):
            if blocks[i]["type"] == "text":
                blocks[i]["text"] = blocks[i]["text"].rstrip()
                if not blocks[i]["text"]:
                    del blocks[i]
                break
        if not blocks:
            out.pop()
    if not out and system:  # a system-only transcript: Anthropic needs one message (Bifrost does this)
        out, system = [{"role": "user", "content": system}], []
    for msg in out:
        blocks = msg["content"]
        if len(blocks) == 1 and blocks[0]["type"] == "text" and len(blocks[0]) == 2:
            msg["content"] = blocks[0]["text"]
    if not system:
        return None, out
    if any("cache_control" in b for b in system):
        return system, out
    return "\n".join(b["text"] for b in system), out


def _append(out: list[dict], role: str, blocks: list[dict]) -> None:
    if not blocks:
        return
    if out and out[-1]["role"] == role:  # Anthropic wants alternating turns: merge same-role neighbours
        out[-1]["content"].extend(blocks)
    else:
        out.append({"role": role, "content": blocks})


def _text_blocks(content: Any, n: int) -> list[dict]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    blocks = []
    for part in content or ():
        if not isinstance(part, dict) or part.get("type") not in ("text", "input_text"):
            raise ValueError(f"messages[{n}]: system messages may only contain text")
        if part.get("text"):
            blocks.append(_with_cache({"type": "text", "text": part["text"]}, part))
    return blocks


def _user_blocks(content: Any, n: int) -> list[dict]:
    if isinstance(content, str) or content is None:
        return _text_blocks(content, n)
    if not isinstance(content, list):
        raise ValueError(f"messages[{n}].content must be a string or an array of content parts")
    blocks = []
    for part in content:
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text":
            if part.get("text"):
                blocks.append(_with_cache({"type": "text", "text": part["text"]}, part))
        elif kind == "image_url":
            blocks.append(_with_cache(_image(part, n), part))
        elif kind == "file":
            blocks.append(_with_cache(_document(part.get("file") or {}, n), part))
        else:
            raise ValueError(f"messages[{n}]: content parts of type {kind!r} are not supported by Anthropic")
    return blocks


def _assistant_blocks(msg: dict, n: int) -> list[dict]:
    blocks = _thinking_blocks(msg.get("reasoning_details"))
    content = msg.get("content")
    if isinstance(content, str):
        if content:
            blocks.append({"type": "text", "text": content})
    elif isinstance(content, list):
        for part in content:
            text = part.get("text") or part.get("refusal") if isinstance(part, dict) else None
            if text:
                blocks.append(_with_cache({"type": "text", "text": text}, part))
    if not content and msg.get("refusal"):
        blocks.append({"type": "text", "text": msg["refusal"]})
    for k, call in enumerate(msg.get("tool_calls") or ()):
        fn = call.get("function") or {}
        if not fn.get("name"):
            raise ValueError(f"messages[{n}].tool_calls[{k}].function.name is required")
        blocks.append({"type": "tool_use", "id": tool_id(call.get("id"), f"toolu_{n}_{k}"),
                       "name": fn["name"], "input": tool_input(fn.get("arguments"))})
    return blocks


def _thinking_blocks(details: Any) -> list[dict]:
    """Bifrost reasoning_details -> thinking/redacted_thinking blocks to replay.

    Fragments sharing an `index` (an accumulated stream) are merged. Anthropic rejects replayed
    thinking without a valid signature, so unsigned reasoning (e.g. from another provider) is dropped.
    """
    merged: dict[int, dict] = {}
    for pos, d in enumerate(details or ()):
        if not isinstance(d, dict):
            continue
        cur = merged.setdefault(d.get("index", pos), {"type": d.get("type"), "text": "", "signature": "",
                                                      "data": ""})
        cur["text"] += d.get("text") or ""
        cur["signature"] = d.get("signature") or cur["signature"]
        cur["data"] = d.get("data") or cur["data"]
    blocks = []
    for d in merged.values():
        if d["type"] == "reasoning.encrypted" and d["data"]:
            blocks.append({"type": "redacted_thinking", "data": d["data"]})
        elif d["signature"]:
            blocks.append({"type": "thinking", "thinking": d["text"], "signature": d["signature"]})
    return blocks


def _tool_result(msg: dict, n: int) -> dict:
    if not msg.get("tool_call_id"):
        raise ValueError(f"messages[{n}].tool_call_id is required")
    block: dict[str, Any] = {"type": "tool_result", "tool_use_id": tool_id(msg["tool_call_id"], "")}
    content = msg.get("content")
    if isinstance(content, str):
        if content:
            block["content"] = content
        return block
    parts = []
    for part in content or ():
        if not isinstance(part, dict):
            raise ValueError(f"messages[{n}]: tool content parts must be objects")
        kind = part.get("type")
        if part.get("cache_control") and "cache_control" not in block:
            block["cache_control"] = part["cache_control"]  # Anthropic: not allowed inside tool_result.content
        if kind == "text" and part.get("text"):
            parts.append({"type": "text", "text": part["text"]})
        elif kind == "image_url":
            parts.append(_image(part, n))
        elif kind != "text":
            raise ValueError(f"messages[{n}]: tool content parts of type {kind!r} are not supported")
    if parts:
        block["content"] = parts
    return block


def _image(part: dict, n: int) -> dict:
    image = part.get("image_url")
    url = image.get("url") if isinstance(image, dict) else image
    if not isinstance(url, str) or not url:
        raise ValueError(f"messages[{n}]: image_url.url is required")
    if url.startswith("data:"):
        media_type, data = _data_url(url, n)
        return {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}}
    if url.startswith(("http://", "https://")):
        return {"type": "image", "source": {"type": "url", "url": url}}
    raise ValueError(f"messages[{n}]: image_url.url must be an http(s) or data: URL")


def _document(file: dict, n: int) -> dict:
    if file.get("file_id"):  # needs the files-api beta header upstream
        return {"type": "document", "source": {"type": "file", "file_id": file["file_id"]}}
    if not file.get("file_data"):
        raise ValueError(f"messages[{n}]: file parts need file_data (a data: URL) or file_id")
    media_type, data = _data_url(file["file_data"], n)
    if media_type == "application/pdf":
        source = {"type": "base64", "media_type": media_type, "data": data}
    elif media_type.startswith("text/"):
        try:
            text = base64.b64decode(data, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise ValueError(f"messages[{n}]: file_data is not valid base64 UTF-8 text") from None
        source = {"type": "text", "media_type": "text/plain", "data": text}
    else:
        raise ValueError(f"messages[{n}]: files of type {media_type!r} are not supported by Anthropic "
                         "(PDF and plain text are)")
    block: dict[str, Any] = {"type": "document", "source": source}
    if file.get("filename"):
        block["title"] = file["filename"]
    return block


def _data_url(url: str, n: int) -> tuple[str, str]:
    header, sep, data = url[5:].partition(",")
    if not sep or not header.endswith(";base64"):
        raise ValueError(f"messages[{n}]: data: URLs must be base64-encoded")
    return header.split(";", 1)[0] or "application/octet-stream", data


def _with_cache(block: dict, part: dict) -> dict:
    if isinstance(part, dict) and part.get("cache_control"):
        block["cache_control"] = part["cache_control"]
    return block


# -------------------------------------------------------------------------------------- tools


def _tool(tool: Any, n: int) -> dict:
    kind = tool.get("type") if isinstance(tool, dict) else None
    if kind != "function":
        if isinstance(kind, str) and _NATIVE_TOOL.match(kind):  # Anthropic server/client tool, as-is
            return dict(tool)
        raise ValueError(f"tools[{n}]: tools of type {kind!r} are not supported by Anthropic")
    fn = tool.get("function") or {}
    if not fn.get("name"):
        raise ValueError(f"tools[{n}].function.name is required")
    schema = fn.get("parameters") if isinstance(fn.get("parameters"), dict) else {}
    out: dict[str, Any] = {"name": fn["name"]}
    if fn.get("description"):
        out["description"] = fn["description"]
    out["input_schema"] = schema if schema.get("type") else {"type": "object", "properties": {}, **schema}
    if fn.get("strict") is True:
        out["strict"] = True
    if tool.get("cache_control"):
        out["cache_control"] = tool["cache_control"]
    return out


def _tool_choice(choice: Any, parallel: Any) -> dict | None:
    out: dict | None
    if choice is None:
        out = None
    elif isinstance(choice, str):
        if choice not in _CHOICES:
            raise ValueError("`tool_choice` must be auto, none, required or a function")
        out = dict(_CHOICES[choice])
    elif isinstance(choice, dict) and choice.get("type") == "function":
        name = (choice.get("function") or {}).get("name")
        if not name:
            raise ValueError("`tool_choice.function.name` is required")
        out = {"type": "tool", "name": name}
    elif isinstance(choice, dict) and choice.get("type") == "allowed_tools":
        mode = (choice.get("allowed_tools") or {}).get("mode")
        out = {"type": "any" if mode == "required" else "auto"}
    else:
        raise ValueError("`tool_choice` must be auto, none, required or a function")
    if parallel is False:
        out = out or {"type": "auto"}
        if out["type"] != "none":
            out["disable_parallel_tool_use"] = True
    return out


def _first(body: dict, *keys: str) -> Any:
    return next((body[k] for k in keys if body.get(k) is not None), None)
