"""Shared pieces of the Cohere translators: finish reasons, stream errors, message helpers.

The mapping table is in translate.py."""

from __future__ import annotations

from typing import Any

import msgspec

_encode = msgspec.json.encode
_decode = msgspec.json.decode

DEFAULT_INPUT_TYPE = "search_document"
_FINISH = {"COMPLETE": "stop", "STOP_SEQUENCE": "stop", "MAX_TOKENS": "length", "TOOL_CALL": "tool_calls",
           "ERROR": "error", "TIMEOUT": "error"}
_COHERE_FINISH = {"stop": "COMPLETE", "length": "MAX_TOKENS", "tool_calls": "TOOL_CALL", "function_call": "TOOL_CALL",
                  "content_filter": "ERROR", "error": "ERROR"}
# Cohere-only request fields passed through unchanged.
NATIVE_FIELDS = ("documents", "citation_options", "safety_mode", "thinking", "priority", "strict_tools")


class StreamError(Exception):
    """A stream that ended with finish_reason ERROR (message-end delta.error)."""

    def __init__(self, message: str, status: int = 500, type: str | None = "api_error") -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.type = type


def finish_reason(reason: str | None) -> str | None:
    if reason is None:
        return None
    return _FINISH.get(reason, reason.lower())


COHERE_FINISH_REASONS = frozenset({"COMPLETE", "STOP_SEQUENCE", "MAX_TOKENS", "TOOL_CALL", "ERROR", "TIMEOUT"})


def cohere_finish(reason: str | None, has_tool_calls: bool = False, stop_seq: Any = None, native: Any = None) -> str:
    """Cohere's finish_reason: the choice's `native_finish_reason` (OpenRouter's field) when it is a Cohere
    value; STOP_SEQUENCE when the choice names the stop sequence it matched (`stop_reason`, vLLM's field)."""
    if isinstance(native, str) and native in COHERE_FINISH_REASONS:
        return native
    if has_tool_calls and reason in (None, "stop", "tool_calls"):
        return "TOOL_CALL"
    if isinstance(stop_seq, str) and stop_seq and reason in (None, "stop"):
        return "STOP_SEQUENCE"
    return _COHERE_FINISH.get(reason or "stop", "COMPLETE")


# ---------------------------------------------------------------- helpers


def _text_of(content: Any, what: str) -> str:
    """The text of a string or a list of text parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        out = []
        for p in content:
            if isinstance(p, dict) and p.get("type") == "text":
                out.append(str(p.get("text") or ""))
            elif isinstance(p, str):
                out.append(p)
            else:
                kind = p.get("type") if isinstance(p, dict) else type(p).__name__
                raise ValueError(f"{what}: content part of type {kind!r} is not supported")
        return "\n".join(out) if what == "system" else "".join(out)
    raise ValueError(f"{what}: content must be a string or an array of parts")


def _user_content(content: Any) -> Any:
    if content is None or isinstance(content, str):
        return content or ""
    if not isinstance(content, list):
        raise ValueError("user message content must be a string or an array of parts")
    parts: list[dict] = []
    for p in content:
        if not isinstance(p, dict):
            raise ValueError("user message content parts must be objects")
        kind = p.get("type")
        if kind == "text":
            parts.append({"type": "text", "text": str(p.get("text") or "")})
        elif kind == "image_url":
            img = p.get("image_url")
            url = img.get("url") if isinstance(img, dict) else img
            if not isinstance(url, str):
                raise ValueError("image_url part needs image_url.url")
            out: dict = {"type": "image_url", "image_url": {"url": url}}
            if isinstance(img, dict) and img.get("detail"):
                out["image_url"]["detail"] = img["detail"]
            parts.append(out)
        else:
            raise ValueError(f"user message content part of type {kind!r} is not supported by Cohere")
    if len(parts) == 1 and parts[0]["type"] == "text":
        return parts[0]["text"]
    return parts


def _tool_calls(calls: Any) -> list[dict]:
    out = []
    for c in calls or ():
        if not isinstance(c, dict):
            continue
        f = c.get("function") or {}
        args = f.get("arguments")
        out.append({"id": c.get("id"), "type": "function",
                    "function": {"name": f.get("name"), "arguments": args if isinstance(args, str) else
                                 _encode(args if args is not None else {}).decode()}})
    return out


def _tools(tools: Any) -> tuple[list[dict], bool]:
    out, strict = [], False
    for t in tools:
        fdef = t.get("function") if isinstance(t, dict) else None
        if not isinstance(fdef, dict) or t.get("type", "function") != "function":
            kind = t.get("type") if isinstance(t, dict) else None
            raise ValueError(f"tools: tool type {kind!r} is not supported by Cohere (function tools only)")
        f = t["function"]
        fn: dict = {"name": f.get("name")}
        if f.get("description") is not None:
            fn["description"] = f["description"]
        fn["parameters"] = f.get("parameters") or {"type": "object", "properties": {}}
        strict = strict or f.get("strict") is True
        out.append({"type": "function", "function": fn})
    return out, strict
