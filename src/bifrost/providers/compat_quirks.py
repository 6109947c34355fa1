"""Pure request/response rewrites for OpenAI-compatible upstreams, driven by a `CompatSpec` row.

`chat_body` applies a row's chat quirks (dropped and renamed fields, string-only tool_choice, a
restricted set of reasoning efforts, tool-call ids in the form the upstream demands) to an OpenAI chat
body; `embedding_body` renames embedding fields; `map_finish_reasons` rewrites non-OpenAI finish reasons
in a response or stream chunk. The Vertex provider uses `chat_body` too, for Mistral models served
through Vertex (Bifrost applies the same applyMistralCompatibility there).
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

import msgspec

from bifrost.providers.spec import CompatSpec

_encode = msgspec.json.encode
_decode = msgspec.json.decode
_OPENAI_NAME_WINS = frozenset({"max_completion_tokens"})


_ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def has_chat_quirks(spec: CompatSpec) -> bool:
    return bool(spec.drop_params or spec.rename_params or spec.tool_choice_object or spec.reasoning_efforts
                or spec.tool_call_id_pattern)


def _derived_id(old: str, length: int, salt: int) -> str:
    n = int.from_bytes(hashlib.sha256(f"{salt}:{old}".encode()).digest()[:16], "big")
    out = []
    for _ in range(length):
        n, r = divmod(n, len(_ALNUM))
        out.append(_ALNUM[r])
    return "".join(out)


def tool_call_ids(spec: CompatSpec, messages: list[Any]) -> list[Any]:
    """Messages whose tool-call ids all match the row's pattern: an id that does not (one from another
    provider: `call_...`, `toolu_...`) is replaced, in the assistant's tool_calls and in the tool message
    that answers it alike, by one derived from it (stable across turns, distinct within the conversation)."""
    valid = re.compile(spec.tool_call_id_pattern)
    ids: list[str] = []
    for m in messages:
        if not isinstance(m, dict):
            continue
        for c in m.get("tool_calls") or [] if m.get("role") == "assistant" else []:
            if isinstance(c, dict) and isinstance(c.get("id"), str):
                ids.append(c["id"])
        if m.get("role") == "tool" and isinstance(m.get("tool_call_id"), str):
            ids.append(m["tool_call_id"])
    bad = [i for i in dict.fromkeys(ids) if not valid.fullmatch(i)]
    if not bad:
        return messages
    taken = set(ids) - set(bad)
    mapping: dict[str, str] = {}
    for old in bad:
        salt = 0
        new = _derived_id(old, spec.tool_call_id_length, salt)
        while new in taken:
            salt += 1
            new = _derived_id(old, spec.tool_call_id_length, salt)
        taken.add(new)
        mapping[old] = new
    out = []
    for m in messages:
        if isinstance(m, dict) and m.get("role") == "assistant" and m.get("tool_calls"):
            m = {**m, "tool_calls": [{**c, "id": mapping[c["id"]]} if isinstance(c, dict) and c.get("id") in mapping
                                     else c for c in m["tool_calls"]]}
        elif isinstance(m, dict) and m.get("role") == "tool" and m.get("tool_call_id") in mapping:
            m = {**m, "tool_call_id": mapping[m["tool_call_id"]]}
        out.append(m)
    return out


def chat_body(spec: CompatSpec, body: dict[str, Any]) -> dict[str, Any]:
    """A copy of an OpenAI chat/text body with the row's quirks applied (the input is not modified)."""
    out = {k: v for k, v in body.items() if k not in spec.drop_params}
    for old, new in spec.rename_params.items():
        if old not in out:
            continue
        value = out.pop(old)
        # Both given: max_completion_tokens wins (Bifrost's canonical max); otherwise the upstream's own
        # field does (Bifrost keeps a prompt_cache_isolation_key that is already set).
        if new not in out or old in _OPENAI_NAME_WINS:
            out[new] = value
    # Bifrost applyMistralCompatibility: only string tool choices are accepted; a forced function becomes "any".
    if spec.tool_choice_object and isinstance(out.get("tool_choice"), dict):
        out["tool_choice"] = spec.tool_choice_object
    if spec.tool_call_id_pattern and isinstance(out.get("messages"), list):
        out["messages"] = tool_call_ids(spec, out["messages"])
    effort = out.get("reasoning_effort")
    if spec.reasoning_efforts and isinstance(effort, str) and effort not in spec.reasoning_efforts:
        out["reasoning_effort"] = spec.reasoning_effort_fallback
    return out


def embedding_body(spec: CompatSpec, body: dict[str, Any]) -> dict[str, Any]:
    out = dict(body)
    for old, new in spec.embedding_rename.items():
        if old in out:
            out[new] = out.pop(old)
    return out


def needs_finish_mapping(spec: CompatSpec, data: bytes) -> bool:
    return bool(spec.finish_reasons) and any(k.encode() in data for k in spec.finish_reasons)


def map_finish_reasons(spec: CompatSpec, data: bytes) -> bytes:
    """A chat response or chunk with the row's finish reasons mapped to OpenAI's; other bytes untouched."""
    if not needs_finish_mapping(spec, data):
        return data
    try:
        doc = _decode(data)
    except msgspec.DecodeError:
        return data
    choices = doc.get("choices") if isinstance(doc, dict) else None
    if not isinstance(choices, list):
        return data
    changed = False
    for c in choices:
        if isinstance(c, dict) and c.get("finish_reason") in spec.finish_reasons:
            c["finish_reason"] = spec.finish_reasons[c["finish_reason"]]
            changed = True
    return _encode(doc) if changed else data
