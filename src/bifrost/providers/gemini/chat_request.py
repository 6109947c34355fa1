"""OpenAI chat completion request -> Gemini GenerateContentRequest (the provider direction). Pure.

See `translate` for the field mapping. Requests that cannot be expressed raise ValueError with a message
meant for the client (the caller answers 400).
"""

from __future__ import annotations

from typing import Any

from bifrost.providers.gemini._shared import (
    NOT_JSON,
    SKIP_SIGNATURE,
    content_text,
    mime_from_uri,
    parse_json,
    split_call_id,
    split_data_url,
)
from bifrost.providers.gemini.schema import to_gemini_schema

# thinkingLevel rungs each Gemini 3 model implements (Bifrost's geminiThinkingLevelSupport); first prefix wins.
_LEVELS = ("minimal", "low", "medium", "high")
_LEVEL_SUPPORT = (
    ("gemini-3.1-flash-lite-image", ("minimal", "high")),
    ("gemini-3.1-flash-lite", _LEVELS),
    ("gemini-3.7-flash", ("low", "medium", "high")),
    ("gemini-3.6-flash", _LEVELS),
    ("gemini-3.5-flash", _LEVELS),
    ("gemini-3.1-pro", ("low", "medium", "high")),
    ("gemini-3-flash", _LEVELS),
    ("gemini-3-pro", ("low", "high")),
)
_DEFAULT_LEVELS = ("low", "medium", "high")
# thinkingBudget range per model (Bifrost's geminiBudgetRanges): longest prefix first.
_BUDGETS = (("gemini-2.5-flash-lite", 512, 24576), ("gemini-2.5-pro", 128, 32768), ("gemini-2.5-flash", 0, 24576))
# Share of the budget range an effort asks for (Bifrost's GetBudgetTokensFromReasoningEffort).
_EFFORT_RATIO = {"minimal": 0.025, "low": 0.15, "medium": 0.425, "high": 0.8, "xhigh": 0.95}
_MIN_BUDGET = 128


def chat_to_generate(body: dict, model: str = "") -> dict:
    """An OpenAI chat request body -> a GenerateContentRequest body (the model goes in the URL, not here).

    `model` (else body["model"]) only gates model-specific choices: the thinking control and JSON mode with tools.
    """
    if not isinstance(body, dict):
        raise ValueError("the request body must be a JSON object")
    model = (model or body.get("model") or "").lower().removeprefix("models/").removeprefix("google/")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ValueError("`messages` must be a non-empty array")
    contents, system = _contents(messages)
    out: dict[str, Any] = {"contents": contents}
    if system:
        out["systemInstruction"] = {"parts": system}
    declarations = _declarations(body)
    if declarations:
        out["tools"] = [{"functionDeclarations": declarations}]
        tool_config = _tool_config(body.get("tool_choice", body.get("function_call")))
        if tool_config:
            out["toolConfig"] = tool_config
    if isinstance(body.get("safety_settings"), list):
        out["safetySettings"] = body["safety_settings"]
    if isinstance(body.get("cached_content"), str):
        out["cachedContent"] = body["cached_content"]
    config = _generation_config(body, model, bool(declarations))
    if config:
        out["generationConfig"] = config
    return out


# ------------------------------------------------------------------------------------------ messages


def _contents(messages: list) -> tuple[list[dict], list[dict]]:
    system: list[dict] = []
    contents: list[dict] = []
    responses: list[dict] = []  # functionResponse parts of consecutive tool messages: Gemini wants one turn
    names: dict[str, str] = {}  # tool call id -> function name
    for i, msg in enumerate(messages):
        if not isinstance(msg, dict):
            raise ValueError(f"messages[{i}] must be an object")
        role = msg.get("role")
        if role in ("system", "developer"):
            system.extend(_text_parts(msg.get("content")))
            continue
        if role in ("tool", "function"):
            responses.append(_function_response(msg, names, i))
            continue
        if responses:
            contents.append({"role": "user", "parts": responses})
            responses = []
        if role == "user":
            parts = _user_parts(msg.get("content"), i)
            if parts:
                contents.append({"role": "user", "parts": parts})
        elif role == "assistant":
            parts = _text_parts(msg.get("content")) + _function_calls(msg, names)
            if parts:
                contents.append({"role": "model", "parts": parts})
        else:
            raise ValueError(f"messages[{i}]: unsupported role {role!r}")
    if responses:
        contents.append({"role": "user", "parts": responses})
    # Gemini rejects a conversation ending on a model turn: drop trailing assistant prefill (Bifrost does too).
    while contents and contents[-1]["role"] == "model" and all("text" in p for p in contents[-1]["parts"]):
        contents.pop()
    if not contents and system:  # only a system prompt: OpenAI accepts it, Gemini needs contents
        contents, system = [{"role": "user", "parts": system}], []
    if not contents:
        raise ValueError("the request has no user message")
    return contents, system


def _text_parts(content: Any) -> list[dict]:
    if isinstance(content, str):
        return [{"text": content}] if content else []
    if isinstance(content, list):
        return [{"text": p["text"]} for p in content
                if isinstance(p, dict) and p.get("type") in ("text", "input_text", "output_text")
                and isinstance(p.get("text"), str) and p["text"]]
    return []


def _user_parts(content: Any, i: int) -> list[dict]:
    if not isinstance(content, list):
        return _text_parts(content)
    parts: list[dict] = []
    for part in content:
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text":
            parts.extend(_text_parts([part]))
        elif kind == "image_url":
            image = part.get("image_url")
            url = image.get("url") if isinstance(image, dict) else image
            if not isinstance(url, str) or not url:
                raise ValueError(f"messages[{i}]: image_url part without a url")
            parts.append(_media_part(url, "image/jpeg", i))
        elif kind == "input_audio":
            audio = part.get("input_audio") or {}
            fmt = str(audio.get("format") or "mp3").lower()
            mime = fmt if fmt.startswith("audio/") else "audio/" + fmt
            parts.append({"inlineData": {"mimeType": mime, "data": audio.get("data") or ""}})
        elif kind == "file":
            file = part.get("file") or {}
            name = file.get("filename") or ""
            url = file.get("file_data") or file.get("file_url") or file.get("file_id")
            if not isinstance(url, str) or not url:
                raise ValueError(f"messages[{i}]: file part without file_data")
            default = mime_from_uri(name, "application/pdf")
            if not url.startswith(("data:", "http://", "https://", "gs://")):  # bare base64 file_data
                url = f"data:{default};base64,{url}"
            parts.append(_media_part(url, default, i))
        else:
            raise ValueError(f"messages[{i}]: content part type {kind!r} is not supported by Gemini")
    return parts


def _media_part(url: str, default_mime: str, i: int) -> dict:
    data_url = split_data_url(url)
    if data_url:
        return {"inlineData": {"mimeType": data_url[0], "data": data_url[1]}}
    if not url.startswith(("http://", "https://", "gs://")):
        raise ValueError(f"messages[{i}]: unsupported URL scheme in {url[:40]!r}")
    return {"fileData": {"mimeType": mime_from_uri(url, default_mime), "fileUri": url}}


def _function_calls(msg: dict, names: dict[str, str]) -> list[dict]:
    calls = [c for c in msg.get("tool_calls") or () if isinstance(c, dict)]
    legacy = msg.get("function_call")
    if isinstance(legacy, dict) and legacy.get("name"):
        calls.append({"id": legacy["name"], "function": legacy})
    parts = []
    for call in calls:
        fn = call.get("function") or {}
        name = fn.get("name")
        if not isinstance(name, str) or not name:
            continue
        args = parse_json(fn.get("arguments") or "{}")
        if args is NOT_JSON or not isinstance(args, dict):
            args = {}
        call_id = call.get("id") if isinstance(call.get("id"), str) else ""
        base, signature = split_call_id(call_id)
        names[call_id] = names[base] = name
        function_call: dict[str, Any] = {"name": name, "args": args}
        if base and base != name:
            function_call["id"] = base
        parts.append({"functionCall": function_call, "thoughtSignature": signature or SKIP_SIGNATURE})
    return parts


def _function_response(msg: dict, names: dict[str, str], i: int) -> dict:
    call_id = msg.get("tool_call_id") if isinstance(msg.get("tool_call_id"), str) else ""
    base, _ = split_call_id(call_id)
    name = names.get(call_id) or names.get(base) or msg.get("name") or base
    if not isinstance(name, str) or not name:
        raise ValueError(f"messages[{i}]: tool message without tool_call_id")
    text = content_text(msg.get("content"), "\n")
    parsed = parse_json(text)
    if isinstance(parsed, dict) and not _has_ref(parsed):  # Gemini reads "$ref" as a pointer into parts
        response = parsed
    else:
        response = {"content": text}
    function_response: dict[str, Any] = {"name": name, "response": response}
    if base and base != name:
        function_response["id"] = base
    return {"functionResponse": function_response}


def _has_ref(value: Any) -> bool:
    if isinstance(value, dict):
        return "$ref" in value or any(_has_ref(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_ref(v) for v in value)
    return False


# --------------------------------------------------------------------------------------------- tools


def _declarations(body: dict) -> list[dict]:
    functions = [t.get("function") for t in body.get("tools") or ()
                 if isinstance(t, dict) and t.get("type") == "function"]
    functions += list(body.get("functions") or ())  # the legacy form
    out = []
    for fn in functions:
        if not isinstance(fn, dict) or not isinstance(fn.get("name"), str):
            continue
        decl: dict[str, Any] = {"name": fn["name"]}
        if isinstance(fn.get("description"), str) and fn["description"]:
            decl["description"] = fn["description"]
        params = to_gemini_schema(fn.get("parameters"))
        # An object without properties is rejected ("should be non-empty for OBJECT type"): omit it.
        if params and (params.get("properties") or str(params.get("type", "")).lower() != "object"):
            decl["parameters"] = params
        out.append(decl)
    return out


def _tool_config(choice: Any) -> dict | None:
    if choice is None:
        return None
    config: dict[str, Any]
    if choice == "none":
        config = {"mode": "NONE"}
    elif choice in ("required", "any"):
        config = {"mode": "ANY"}
    elif isinstance(choice, dict) and choice.get("type") == "allowed_tools":
        allowed = choice.get("allowed_tools") or {}
        names = [(t.get("function") or {}).get("name") for t in allowed.get("tools") or () if isinstance(t, dict)]
        # Gemini honours allowedFunctionNames only with ANY (must call) or VALIDATED (may answer in text).
        config = {"mode": "ANY" if allowed.get("mode") == "required" else "VALIDATED",
                  "allowedFunctionNames": [n for n in names if isinstance(n, str)]}
    elif isinstance(choice, dict):  # {"type": "function", "function": {"name"}} or legacy {"name"}
        name = (choice.get("function") or {}).get("name") or choice.get("name")
        config = {"mode": "ANY", "allowedFunctionNames": [name]} if isinstance(name, str) else {"mode": "AUTO"}
    else:
        config = {"mode": "AUTO"}
    return {"functionCallingConfig": config}


# --------------------------------------------------------------------------------- generationConfig

_DIRECT = (("temperature", "temperature"), ("top_p", "topP"), ("top_k", "topK"), ("n", "candidateCount"),
           ("seed", "seed"), ("presence_penalty", "presencePenalty"), ("frequency_penalty", "frequencyPenalty"))


def _generation_config(body: dict, model: str, has_tools: bool) -> dict:
    config: dict[str, Any] = {}
    for src, dst in _DIRECT:
        if body.get(src) is not None:
            config[dst] = body[src]
    max_tokens = body.get("max_completion_tokens")
    if max_tokens is None:
        max_tokens = body.get("max_tokens")
    if max_tokens is not None:
        config["maxOutputTokens"] = max_tokens
    stop = body.get("stop")
    if isinstance(stop, str) and stop:
        config["stopSequences"] = [stop]
    elif isinstance(stop, list) and stop:
        config["stopSequences"] = [s for s in stop if isinstance(s, str)]
    if body.get("logprobs") is True:
        config["responseLogprobs"] = True
    top_logprobs = body.get("top_logprobs")
    if isinstance(top_logprobs, int) and top_logprobs > 0:
        config["responseLogprobs"] = True
        config["logprobs"] = min(top_logprobs, 20)
    fmt = body.get("response_format")
    if isinstance(fmt, dict) and fmt.get("type") in ("json_object", "json_schema"):
        # Gemini before 3.0 rejects JSON mode together with function declarations (Bifrost drops the hint).
        if not (has_tools and model and not _is_gemini3(model)):
            config["responseMimeType"] = "application/json"
            schema = (fmt.get("json_schema") or {}).get("schema") if fmt["type"] == "json_schema" else None
            if isinstance(schema, dict):
                config["responseSchema"] = to_gemini_schema(schema, ordering=True)
    reasoning = body.get("reasoning") if isinstance(body.get("reasoning"), dict) else {}
    effort = body.get("reasoning_effort") or reasoning.get("effort")
    budget = reasoning.get("max_tokens")
    thinking = _thinking(effort if isinstance(effort, str) else None, budget if isinstance(budget, int) else None,
                         model, max_tokens if isinstance(max_tokens, int) else None)
    if thinking is not None:
        config["thinkingConfig"] = thinking
    return config


def _is_gemini3(model: str) -> bool:
    idx = model.find("gemini-")
    rest = model[idx + 7:] if idx >= 0 else ""
    return bool(rest) and rest[0].isdigit() and rest[0] >= "3"


def _thinking(effort: str | None, budget: int | None, model: str, max_tokens: int | None) -> dict | None:
    """reasoning_effort / reasoning.max_tokens -> thinkingConfig (see `translate` for the table)."""
    if effort is None and budget is None:
        return None
    if model and not (_is_gemini3(model) or "gemini-2.5" in model or "thinking" in model or "-latest" in model):
        return None  # gemini-2.0, gemma, ...: no thinking; the API rejects a thinkingConfig
    can_disable = "gemini-2.5-pro" not in model
    if budget is not None:
        if budget == 0:
            return {"thinkingBudget": 0} if can_disable else None
        return {"thinkingBudget": budget, "includeThoughts": True}
    effort = effort.lower() if effort else "medium"
    if _is_gemini3(model):  # Gemini 3 takes a level and cannot switch thinking off
        levels = next((lv for prefix, lv in _LEVEL_SUPPORT if prefix in model), _DEFAULT_LEVELS)
        if effort == "none":
            return {"thinkingLevel": levels[0]}
        return {"thinkingLevel": _clamp(effort, levels), "includeThoughts": True}
    if effort == "none":
        return {"thinkingBudget": 0} if can_disable else None
    low, high = next(((lo, hi) for prefix, lo, hi in _BUDGETS if prefix in model), (0, 24576))
    if max_tokens is not None:
        high = max(min(high, max_tokens), low)
    value = low + int(_EFFORT_RATIO.get(effort, 0.425) * (high - low))
    return {"thinkingBudget": max(value, low, _MIN_BUDGET), "includeThoughts": True}


def _clamp(effort: str, levels: tuple[str, ...]) -> str:
    """The nearest rung the model implements; ties go up (never less thinking than asked)."""
    want = _LEVELS.index(effort) if effort in _LEVELS else len(_LEVELS) - 1  # xhigh etc. -> high
    return min(levels, key=lambda lv: (abs(_LEVELS.index(lv) - want), -_LEVELS.index(lv)))
