"""Pure request/response rewrites for OpenAI-compatible upstreams, driven by a `CompatSpec` row.

`chat_body` applies a row's chat quirks (dropped and renamed fields, string-only tool_choice, a
restricted set of reasoning efforts) to an OpenAI chat body; `embedding_body` renames embedding fields;
`map_finish_reasons` rewrites non-OpenAI finish reasons in a response or stream chunk. The Vertex
provider uses `chat_body` too, for Mistral models served through Vertex (Bifrost applies the same
applyMistralCompatibility there).
"""

from __future__ import annotations

from typing import Any

import msgspec

from bifrost.providers.spec import CompatSpec

_encode = msgspec.json.encode
_decode = msgspec.json.decode
_OPENAI_NAME_WINS = frozenset({"max_completion_tokens"})


def has_chat_quirks(spec: CompatSpec) -> bool:
    return bool(spec.drop_params or spec.rename_params or spec.tool_choice_object or spec.reasoning_efforts)


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
