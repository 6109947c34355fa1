"""Gemini GenerateContentRequest (as google-genai sends it) -> OpenAI chat request (the inbound direction). Pure.

The gateway serves /genai/v1beta/models/{model}:generateContent for Gemini clients and routes the converted
request to any provider, so the result must be a plain OpenAI chat body. See `translate` for the mapping.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from bifrost.providers.gemini._shared import dumps, join_call_id
from bifrost.providers.gemini.schema import to_json_schema

_MODES = {"AUTO": "auto", "NONE": "none", "ANY": "required", "VALIDATED": "auto"}
_AUDIO_FORMATS = {"mpeg": "mp3", "mp3": "mp3", "wav": "wav", "x-wav": "wav", "wave": "wav"}


def _get(obj: dict, camel: str, snake: str) -> Any:
    """Gemini's JSON API accepts lowerCamelCase and snake_case field names alike."""
    value = obj.get(camel)
    return obj.get(snake) if value is None else value


def generate_to_chat(body: dict) -> dict:
    """A GenerateContentRequest body -> an OpenAI chat request body (no "model": it comes from the URL)."""
    if not isinstance(body, dict):
        raise ValueError("the request body must be a JSON object")
    contents = body.get("contents")
    if not isinstance(contents, list) or not contents:
        raise ValueError("`contents` must be a non-empty array")
    messages: list[dict] = []
    system = _system_text(_get(body, "systemInstruction", "system_instruction"))
    if system:
        messages.append({"role": "system", "content": system})
    calls = _Calls()
    for i, content in enumerate(contents):
        if not isinstance(content, dict):
            raise ValueError(f"contents[{i}] must be an object")
        role = content.get("role") or "user"
        parts = [p for p in content.get("parts") or () if isinstance(p, dict)]
        if role == "model":
            msg = _model_message(parts, calls)
            if msg:
                messages.append(msg)
        elif role in ("user", "function", "tool"):
            messages.extend(_user_messages(parts, calls, i))
        else:
            raise ValueError(f"contents[{i}]: unsupported role {role!r}")
    out: dict[str, Any] = {"messages": messages}
    tools = _tools(body.get("tools"))
    choice = _tool_choice(_get(body, "toolConfig", "tool_config"))
    if isinstance(choice, tuple):  # ANY with several allowed names: offer only those
        allowed, choice = set(choice[0]), choice[1]
        tools = [t for t in tools if t["function"]["name"] in allowed]
    if tools:
        out["tools"] = tools
        if choice is not None:
            out["tool_choice"] = choice
    _generation_config(_get(body, "generationConfig", "generation_config"), out)
    return out


def count_tokens_to_chat(body: dict) -> dict:
    """A countTokens body ({"contents"} or {"generateContentRequest"}) -> an OpenAI chat request body."""
    if not isinstance(body, dict):
        raise ValueError("the request body must be a JSON object")
    inner = _get(body, "generateContentRequest", "generate_content_request")
    return generate_to_chat(inner if isinstance(inner, dict) else {"contents": body.get("contents")})


def _system_text(si: Any) -> str:
    if isinstance(si, str):
        return si
    parts = si.get("parts") if isinstance(si, dict) else si
    if isinstance(parts, list):
        return "\n".join(p["text"] for p in parts if isinstance(p, dict) and isinstance(p.get("text"), str))
    return ""


class _Calls:
    """Tool call ids handed out for model functionCall parts, so later functionResponse parts can refer to them."""

    def __init__(self) -> None:
        self.count = 0
        self.by_id: dict[str, str] = {}
        self.by_name: dict[str, deque[str]] = {}

    def add(self, fc: dict, signature: Any) -> str:
        self.count += 1
        raw = fc.get("id") if isinstance(fc.get("id"), str) and fc["id"] else f"call_{self.count}"
        call_id = join_call_id(raw, signature)
        self.by_id[raw] = call_id
        self.by_name.setdefault(str(fc.get("name") or ""), deque()).append(call_id)
        return call_id

    def match(self, fr: dict) -> str:
        name = str(fr.get("name") or "")
        queue = self.by_name.get(name) or deque()
        raw = fr.get("id") if isinstance(fr.get("id"), str) and fr["id"] else ""
        if raw:
            call_id = self.by_id.get(raw, raw)
            if call_id in queue:
                queue.remove(call_id)
            return call_id
        if queue:
            return queue.popleft()
        self.count += 1
        return f"call_{self.count}"


def _model_message(parts: list[dict], calls: _Calls) -> dict | None:
    text: list[str] = []
    tool_calls = []
    for part in parts:
        if isinstance(part.get("text"), str):
            if not part.get("thought"):
                text.append(part["text"])
        fc = _get(part, "functionCall", "function_call")
        if isinstance(fc, dict):
            call_id = calls.add(fc, _get(part, "thoughtSignature", "thought_signature"))
            tool_calls.append({"id": call_id, "type": "function",
                               "function": {"name": fc.get("name") or "", "arguments": dumps(fc.get("args") or {})}})
    joined = "".join(text)
    if not joined and not tool_calls:
        return None
    msg: dict[str, Any] = {"role": "assistant", "content": joined or None}
    if tool_calls:
        msg["tool_calls"] = tool_calls
    return msg


def _user_messages(parts: list[dict], calls: _Calls, i: int) -> list[dict]:
    out: list[dict] = []
    blocks: list[dict] = []
    for part in parts:
        fr = _get(part, "functionResponse", "function_response")
        if isinstance(fr, dict):
            out.append({"role": "tool", "tool_call_id": calls.match(fr), "content": _response_text(fr.get("response"))})
            continue
        if isinstance(part.get("text"), str):
            if part["text"]:
                blocks.append({"type": "text", "text": part["text"]})
            continue
        blob = _get(part, "inlineData", "inline_data")
        if isinstance(blob, dict):
            blocks.append(_blob_block(blob))
            continue
        file = _get(part, "fileData", "file_data")
        if isinstance(file, dict):
            mime = str(_get(file, "mimeType", "mime_type") or "")
            uri = _get(file, "fileUri", "file_uri")
            if not mime.startswith("image/") and mime:
                raise ValueError(f"contents[{i}]: fileData of type {mime} cannot be forwarded; send it inline")
            blocks.append({"type": "image_url", "image_url": {"url": uri}})
            continue
        # thought parts, executable code, video metadata...: nothing an OpenAI-format upstream can use
    if blocks:
        if len(blocks) == 1 and blocks[0]["type"] == "text":
            out.append({"role": "user", "content": blocks[0]["text"]})
        else:
            out.append({"role": "user", "content": blocks})
    return out


def standard_base64(data: str) -> str:
    """Google's JSON carries bytes as base64url (the google-genai SDK sends `-` and `_`); data URLs and
    OpenAI-format upstreams expect standard base64 with padding."""
    if "-" in data or "_" in data:
        data = data.replace("-", "+").replace("_", "/")
    return data + "=" * (-len(data) % 4)


def _blob_block(blob: dict) -> dict:
    mime = str(_get(blob, "mimeType", "mime_type") or "application/octet-stream")
    data = standard_base64(str(blob.get("data") or ""))
    if mime.startswith("image/"):
        return {"type": "image_url", "image_url": {"url": f"data:{mime};base64,{data}"}}
    if mime.startswith("audio/"):
        sub = mime[6:].split(";")[0]
        return {"type": "input_audio", "input_audio": {"data": data, "format": _AUDIO_FORMATS.get(sub, sub)}}
    ext = mime.split("/")[-1].split(";")[0] or "bin"
    return {"type": "file", "file": {"file_data": f"data:{mime};base64,{data}", "filename": f"file.{ext}"}}


def _response_text(response: Any) -> str:
    """functionResponse.response -> tool message text: a lone content/output/result string as is, else JSON."""
    if isinstance(response, dict) and len(response) == 1:
        (key, value), = response.items()
        if key in ("content", "output", "result") and isinstance(value, str):
            return value
    return dumps(response if response is not None else {})


def _tools(tools: Any) -> list[dict]:
    out = []
    for tool in tools or ():
        if not isinstance(tool, dict):
            continue
        for decl in _get(tool, "functionDeclarations", "function_declarations") or ():
            if not isinstance(decl, dict) or not decl.get("name"):
                continue
            fn: dict[str, Any] = {"name": decl["name"]}
            if decl.get("description"):
                fn["description"] = decl["description"]
            schema = _get(decl, "parametersJsonSchema", "parameters_json_schema")
            if not isinstance(schema, dict):
                schema = to_json_schema(decl.get("parameters")) if isinstance(decl.get("parameters"), dict) else None
            fn["parameters"] = schema or {"type": "object", "properties": {}}
            out.append({"type": "function", "function": fn})
        # googleSearch, codeExecution, urlContext, ...: hosted tools no OpenAI-format upstream runs -> dropped
    return out


def _tool_choice(config: Any) -> Any:
    fcc = _get(config, "functionCallingConfig", "function_calling_config") if isinstance(config, dict) else None
    if not isinstance(fcc, dict):
        return None
    mode = str(fcc.get("mode") or "AUTO").upper()
    names = [n for n in _get(fcc, "allowedFunctionNames", "allowed_function_names") or () if isinstance(n, str)]
    if mode == "ANY" and len(names) == 1:
        return {"type": "function", "function": {"name": names[0]}}
    if mode in ("ANY", "VALIDATED") and names:
        return names, _MODES[mode]
    return _MODES.get(mode, "auto")


_CONFIG = (("temperature", "temperature", "temperature"), ("topP", "top_p", "top_p"), ("topK", "top_k", "top_k"),
           ("candidateCount", "candidate_count", "n"), ("maxOutputTokens", "max_output_tokens", "max_tokens"),
           ("seed", "seed", "seed"), ("presencePenalty", "presence_penalty", "presence_penalty"),
           ("frequencyPenalty", "frequency_penalty", "frequency_penalty"), ("logprobs", "logprobs", "top_logprobs"))


def _generation_config(config: Any, out: dict) -> None:
    if not isinstance(config, dict):
        return
    for camel, snake, dst in _CONFIG:
        value = _get(config, camel, snake)
        if value is not None:
            out[dst] = value
    stop = _get(config, "stopSequences", "stop_sequences")
    if isinstance(stop, list) and stop:
        out["stop"] = stop
    if _get(config, "responseLogprobs", "response_logprobs") is True:
        out["logprobs"] = True
    mime = _get(config, "responseMimeType", "response_mime_type")
    schema = _get(config, "responseJsonSchema", "response_json_schema")
    if not isinstance(schema, dict):
        gemini_schema = _get(config, "responseSchema", "response_schema")
        schema = to_json_schema(gemini_schema) if isinstance(gemini_schema, dict) else None
    if isinstance(schema, dict):
        name = schema.get("title") if isinstance(schema.get("title"), str) else "response"
        out["response_format"] = {"type": "json_schema", "json_schema": {"name": _safe_name(name), "schema": schema}}
    elif mime == "application/json":
        out["response_format"] = {"type": "json_object"}
    effort = _effort(_get(config, "thinkingConfig", "thinking_config"))
    if effort:
        out["reasoning_effort"] = effort


def _safe_name(name: str) -> str:
    """OpenAI's json_schema.name allows [a-zA-Z0-9_-], at most 64 characters."""
    cleaned = "".join(c if c.isascii() and (c.isalnum() or c in "_-") else "_" for c in name)[:64]
    return cleaned or "response"


def _effort(thinking: Any) -> str | None:
    """thinkingConfig -> reasoning_effort: a thinkingLevel keeps its name; a budget maps by its share of 24576."""
    if not isinstance(thinking, dict):
        return None
    level = _get(thinking, "thinkingLevel", "thinking_level")
    if isinstance(level, str) and level.lower() in ("minimal", "low", "medium", "high"):
        return level.lower()
    budget = _get(thinking, "thinkingBudget", "thinking_budget")
    if not isinstance(budget, int) or isinstance(budget, bool):
        return None
    if budget == 0:
        return "none"
    if budget < 0:  # -1: dynamic
        return "medium"
    ratio = budget / 24576
    return "low" if ratio <= 0.25 else "medium" if ratio <= 0.6 else "high"
