"""Helpers shared by the Gemini translators: finish reasons, usage, ids, media and JSON. Pure."""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import time
import urllib.parse
from datetime import datetime
from typing import Any

# candidate.finishReason -> OpenAI finish_reason (Bifrost's geminiFinishReasonToBifrost, limited to the values
# OpenAI clients accept). Anything not listed (OTHER, MALFORMED_FUNCTION_CALL, NO_IMAGE, ...) -> "stop".
FINISH_TO_OPENAI = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "LANGUAGE": "content_filter",
    "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "SPII": "content_filter",
    "IMAGE_SAFETY": "content_filter",
    "IMAGE_PROHIBITED_CONTENT": "content_filter",
    "IMAGE_RECITATION": "content_filter",
    "MODEL_ARMOR": "content_filter",
}
# OpenAI finish_reason -> finishReason (Bifrost's bifrostToGeminiFinishReason); anything else -> STOP.
FINISH_FROM_OPENAI = {"stop": "STOP", "length": "MAX_TOKENS", "content_filter": "SAFETY", "tool_calls": "STOP",
                      "function_call": "STOP"}

# Bifrost embeds a Gemini thoughtSignature in the OpenAI tool call id as "<id>_ts_<base64url signature>", so
# clients that only echo ids still hand it back (Gemini 3 rejects a replayed functionCall without it).
SIGNATURE_SEPARATOR = "_ts_"
# The placeholder Google documents for function calls that carry no signature (e.g. made by another model).
SKIP_SIGNATURE = base64.b64encode(b"skip_thought_signature_validator").decode()

# File extension -> MIME type for fileData parts (Bifrost's uriExtensionMIMETypes).
_EXT_MIME = {
    ".pdf": "application/pdf", ".txt": "text/plain", ".csv": "text/csv", ".md": "text/markdown",
    ".html": "text/html", ".json": "application/json", ".xml": "application/xml", ".png": "image/png",
    ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp", ".gif": "image/gif", ".heic": "image/heic",
    ".heif": "image/heif", ".mp3": "audio/mpeg", ".wav": "audio/wav", ".ogg": "audio/ogg", ".flac": "audio/flac",
    ".aac": "audio/aac", ".mp4": "video/mp4", ".mov": "video/quicktime", ".webm": "video/webm",
    ".avi": "video/x-msvideo", ".mpeg": "video/mpeg",
}


def finish_to_openai(reason: Any, has_tool_calls: bool = False) -> str:
    mapped = FINISH_TO_OPENAI.get(reason, "stop") if isinstance(reason, str) else "stop"
    return "tool_calls" if has_tool_calls and mapped == "stop" else mapped


# Every candidate.finishReason the Gemini API defines: a choice's `native_finish_reason` (OpenRouter's field, set
# by the provider translators) that is one of these goes back to a Gemini client unchanged.
GEMINI_FINISH_REASONS = frozenset({*FINISH_TO_OPENAI, "FINISH_REASON_UNSPECIFIED", "OTHER", "MALFORMED_FUNCTION_CALL",
                                   "IMAGE_OTHER", "NO_IMAGE", "UNEXPECTED_TOOL_CALL", "TOO_MANY_TOOL_CALLS",
                                   "MISSING_THOUGHT_SIGNATURE"})


def finish_from_openai(reason: Any, native: Any = None) -> str:
    if isinstance(native, str) and native in GEMINI_FINISH_REASONS:
        return native
    return FINISH_FROM_OPENAI.get(reason, "STOP") if isinstance(reason, str) else "STOP"


# -------------------------------------------------------------------------------------------- usage


def usage_to_openai(meta: Any) -> dict | None:
    """usageMetadata -> OpenAI usage. Thoughts count as completion tokens (and as reasoning_tokens)."""
    if not isinstance(meta, dict):
        return None
    prompt = _int(meta.get("promptTokenCount")) + _int(meta.get("toolUsePromptTokenCount"))
    thoughts = _int(meta.get("thoughtsTokenCount"))
    completion = _int(meta.get("candidatesTokenCount")) + thoughts
    total = _int(meta.get("totalTokenCount")) or prompt + completion
    prompt_details: dict[str, int] = {"cached_tokens": _int(meta.get("cachedContentTokenCount"))}
    audio = sum(_int(d.get("tokenCount")) for d in meta.get("promptTokensDetails") or ()
                if isinstance(d, dict) and d.get("modality") == "AUDIO")
    if audio:
        prompt_details["audio_tokens"] = audio
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": total,
        "prompt_tokens_details": prompt_details,
        "completion_tokens_details": {"reasoning_tokens": thoughts},
    }


def usage_to_gemini(usage: Any) -> dict | None:
    """OpenAI usage -> usageMetadata (candidatesTokenCount excludes the reasoning tokens, as Gemini counts)."""
    if not isinstance(usage, dict):
        return None
    prompt = _int(usage.get("prompt_tokens"))
    completion = _int(usage.get("completion_tokens"))
    reasoning = _int((usage.get("completion_tokens_details") or {}).get("reasoning_tokens"))
    cached = _int((usage.get("prompt_tokens_details") or {}).get("cached_tokens"))
    meta = {
        "promptTokenCount": prompt,
        "candidatesTokenCount": max(completion - reasoning, 0),
        "totalTokenCount": _int(usage.get("total_tokens")) or prompt + completion,
    }
    if cached:
        meta["cachedContentTokenCount"] = cached
    if reasoning:
        meta["thoughtsTokenCount"] = reasoning
    return meta


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


# -------------------------------------------------------------------------------- ids and signatures


def new_id(prefix: str) -> str:
    return prefix + secrets.token_hex(12)


def created_of(resp: dict) -> int:
    """createTime (RFC 3339, Vertex only) as a Unix time, else now."""
    stamp = resp.get("createTime")
    if isinstance(stamp, str) and stamp:
        try:
            return int(datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp())
        except ValueError:
            pass
    return int(time.time())


def join_call_id(call_id: str, signature: Any) -> str:
    """Embed a thoughtSignature (standard base64, as on the wire) in an OpenAI tool call id."""
    if not isinstance(signature, str) or not signature or SIGNATURE_SEPARATOR in call_id:
        return call_id
    try:
        raw = base64.b64decode(signature.replace("-", "+").replace("_", "/") + "=" * (-len(signature) % 4))
    except (binascii.Error, ValueError):
        return call_id
    return call_id + SIGNATURE_SEPARATOR + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def split_call_id(call_id: str) -> tuple[str, str | None]:
    """An OpenAI tool call id -> (the id without signature, the thoughtSignature in standard base64 or None)."""
    base, sep, encoded = call_id.partition(SIGNATURE_SEPARATOR)
    if not sep or not encoded:
        return call_id, None
    try:
        raw = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    except (binascii.Error, ValueError):
        return call_id, None
    return base, base64.b64encode(raw).decode()


# ------------------------------------------------------------------------------------------- media


def split_data_url(url: str) -> tuple[str, str] | None:
    """"data:<mime>[;base64],<data>" -> (mime, standard base64 data), or None for any other URL."""
    if not url.startswith("data:"):
        return None
    header, sep, data = url[5:].partition(",")
    if not sep:
        raise ValueError("malformed data URL: no comma")
    fields = header.split(";")
    mime = fields[0].strip() or "application/octet-stream"
    if "base64" in (f.strip().lower() for f in fields[1:]):
        return mime, "".join(data.split())
    return mime, base64.b64encode(urllib.parse.unquote_to_bytes(data)).decode()


def mime_from_uri(uri: str, default: str = "") -> str:
    """The MIME type a URI's file extension states (query and fragment ignored), else `default`."""
    path = uri.split("?", 1)[0].split("#", 1)[0].rsplit("/", 1)[-1]
    dot = path.rfind(".")
    return _EXT_MIME.get(path[dot:].lower(), default) if dot >= 0 else default


# -------------------------------------------------------------------------------------------- JSON


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def parse_json(text: Any) -> Any:
    """Parse JSON text; returns the sentinel `NOT_JSON` for anything that is not valid JSON."""
    if not isinstance(text, str):
        return NOT_JSON
    try:
        return json.loads(text)
    except ValueError:
        return NOT_JSON


NOT_JSON = object()


def content_text(content: Any, sep: str = "") -> str:
    """The text of an OpenAI message `content` (a string or a list of parts)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return sep.join(p.get("text") or "" for p in content
                        if isinstance(p, dict) and p.get("type") in ("text", "input_text", "output_text"))
    return ""


def reasoning_text(msg: dict) -> str:
    for key in ("reasoning_content", "reasoning"):
        value = msg.get(key)
        if isinstance(value, str) and value:
            return value
    return ""


def logprobs_to_openai(result: Any) -> dict | None:
    """candidate.logprobsResult -> OpenAI choice.logprobs (Bifrost's ConvertGeminiLogprobsResultToBifrost)."""
    if not isinstance(result, dict) or not result.get("chosenCandidates"):
        return None
    tops = result.get("topCandidates") or []
    content = []
    for i, chosen in enumerate(result["chosenCandidates"]):
        token = chosen.get("token") or ""
        entry = {"token": token, "logprob": chosen.get("logProbability") or 0.0,
                 "bytes": list(token.encode()), "top_logprobs": []}
        if i < len(tops) and isinstance(tops[i], dict):
            for cand in tops[i].get("candidates") or ():
                tok = cand.get("token") or ""
                entry["top_logprobs"].append({"token": tok, "logprob": cand.get("logProbability") or 0.0,
                                              "bytes": list(tok.encode())})
        content.append(entry)
    return {"content": content, "refusal": None}
