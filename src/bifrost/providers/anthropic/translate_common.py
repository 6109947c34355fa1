"""Model tables and small helpers shared by the Anthropic translators. Pure."""

from __future__ import annotations

import json
import re
from typing import Any

# Bifrost core/providers/utils `knownAnthropicMaxOutputTokens`: the max_tokens sent when the client
# sets none (Anthropic requires the field). Keys are base model names; see `default_max_tokens`.
MAX_OUTPUT_TOKENS: dict[str, int] = {
    "claude-opus-5": 128000, "claude-mythos": 128000, "claude-fable-5": 128000,
    "claude-opus-4-8": 128000, "claude-opus-4-7": 128000, "claude-opus-4-6": 128000,
    "claude-sonnet-5": 128000, "claude-sonnet-4-6": 128000,
    "claude-haiku-4-5": 64000, "claude-sonnet-4-5": 64000, "claude-opus-4-5": 64000,
    "claude-opus-4-1": 32000, "claude-sonnet-4": 64000, "claude-opus-4": 32000,
    "claude-sonnet-4-0": 64000, "claude-opus-4-0": 32000,
    "claude-3-5-sonnet": 8192, "claude-3-5-haiku": 8192, "claude-3-7-sonnet": 8192,
    "claude-3-opus": 4096, "claude-3-sonnet": 4096, "claude-3-haiku": 4096,
}
DEFAULT_MAX_TOKENS = 4096  # Bifrost AnthropicDefaultMaxTokens: any model not in the table
MIN_THINKING_BUDGET = 1024  # Bifrost MinimumReasoningMaxTokens; Anthropic's floor for budget_tokens

_BAD_ID_CHARS = re.compile(r"[^a-zA-Z0-9_-]")

# Bifrost providers/utils GetBudgetTokensFromReasoningEffort:
#   budget_tokens = 1024 + int(ratio * (max_tokens - 1024)); unknown efforts use "medium".
# "xhigh"/"max" (Anthropic effort levels with no OpenAI budget) are clamped to "high".
EFFORT_RATIO = {"minimal": 0.025, "low": 0.15, "medium": 0.425, "high": 0.80, "xhigh": 0.80, "max": 0.80}


# --------------------------------------------------------------------------- max_tokens, thinking


def default_max_tokens(model: str) -> int:
    """The max_tokens Bifrost sends for `model` when the client sets none.

    Provider prefixes ("anthropic/", "us.anthropic."), "@version", ":0", "-v1" and date or "-latest"
    suffixes are stripped first; an unknown Claude variant takes its longest known prefix.
    """
    base = _base_model(model)
    if base in MAX_OUTPUT_TOKENS:
        return MAX_OUTPUT_TOKENS[base]
    best = max((k for k in MAX_OUTPUT_TOKENS if base.startswith(k + "-")), key=len, default=None)
    return MAX_OUTPUT_TOKENS[best] if best else DEFAULT_MAX_TOKENS


def thinking_for(body: dict, model: str, max_tokens: int) -> tuple[dict | None, str | None]:
    """(thinking config, output_config.effort) for a chat request, following Bifrost's rules.

    An Anthropic `thinking` object in the body wins and is sent unchanged. Otherwise Bifrost's
    `reasoning: {max_tokens}` becomes `budget_tokens` (-1 means the 1024 minimum), and
    `reasoning_effort` (or `reasoning: {effort}`) becomes, by model family:
      Opus 4.6+/Sonnet 4.6+/Sonnet 5/Fable/Mythos  {"type": "adaptive"} + output_config.effort
      Opus 4.5                                      budget_tokens + output_config.effort
      every other model                             budget_tokens from EFFORT_RATIO
    effort "minimal" is sent to Anthropic as "low"; "none" disables thinking (omitted on
    Fable/Mythos, which always think).
    """
    if isinstance(body.get("thinking"), dict):
        return dict(body["thinking"]), None
    reasoning = body.get("reasoning") if isinstance(body.get("reasoning"), dict) else {}
    m = model.lower()
    if reasoning.get("max_tokens") is not None:
        if _adaptive_only(m):
            return {"type": "adaptive"}, None
        budget = int(reasoning["max_tokens"])
        budget = MIN_THINKING_BUDGET if budget == -1 else budget
        if budget < MIN_THINKING_BUDGET:
            raise ValueError(f"reasoning.max_tokens must be at least {MIN_THINKING_BUDGET} for Anthropic")
        return {"type": "enabled", "budget_tokens": budget}, None
    effort = body.get("reasoning_effort") or reasoning.get("effort")
    if not effort:
        return None, None
    if effort == "none":
        return (None if _fable(m) else {"type": "disabled"}), None
    anthropic_effort = "low" if effort == "minimal" else str(effort)
    if _supports_adaptive(m):
        return {"type": "adaptive"}, anthropic_effort
    if max_tokens <= MIN_THINKING_BUDGET:
        raise ValueError(f"max_tokens must be greater than {MIN_THINKING_BUDGET} to use reasoning_effort "
                         "with Anthropic (the thinking budget counts towards max_tokens)")
    budget = MIN_THINKING_BUDGET + int(EFFORT_RATIO.get(effort, 0.425) * (max_tokens - MIN_THINKING_BUDGET))
    native_effort = "opus" in m and _has(m, "4-5", "4.5", "4-6", "4.6")
    return {"type": "enabled", "budget_tokens": budget}, (anthropic_effort if native_effort else None)


def sampling(body: dict, model: str, thinking: dict | None, out: dict) -> None:
    # Opus 4.7+, Sonnet 5 and Fable/Mythos reject temperature, top_p and top_k (Bifrost drops them).
    if _adaptive_only(model.lower()):
        return
    temperature, top_p, top_k = body.get("temperature"), body.get("top_p"), body.get("top_k")
    if thinking is not None and thinking.get("type") in ("enabled", "adaptive"):
        # Anthropic: thinking is incompatible with temperature/top_k changes; top_p must be >= 0.95.
        temperature = temperature if temperature == 1 else None
        top_k = None
        top_p = top_p if top_p is not None and top_p >= 0.95 else None
    if temperature is not None:
        out["temperature"] = temperature
    elif top_p is not None:  # newer Claude models reject both; Bifrost keeps temperature
        out["top_p"] = top_p
    if top_k is not None:
        out["top_k"] = top_k


def _base_model(model: str) -> str:
    m = model.lower()
    at = m.find("claude")
    m = m[at:] if at > 0 else m.rsplit("/", 1)[-1]
    m = m.split("@", 1)[0].split(":", 1)[0]
    m = re.sub(r"-v\d+$", "", m)
    return re.sub(r"-(\d{8}|latest)$", "", m)


def _has(m: str, *parts: str) -> bool:
    return any(p in m for p in parts)


def _fable(m: str) -> bool:
    return _has(m, "fable", "mythos")


def _adaptive_only(m: str) -> bool:
    opus47 = "opus" in m and _has(m, "4-7", "4.7", "4-8", "4.8", "opus-5")
    return opus47 or "sonnet-5" in m or _fable(m)


def _supports_adaptive(m: str) -> bool:
    return _adaptive_only(m) or (_has(m, "opus", "sonnet") and _has(m, "4-6", "4.6"))


# -------------------------------------------------------------------------------------- tools


def tool_id(raw: Any, fallback: str) -> str:
    """A tool call id Anthropic accepts (^[a-zA-Z0-9_-]+$): other characters become "_"."""
    return _BAD_ID_CHARS.sub("_", raw) if isinstance(raw, str) and raw else fallback


def tool_input(arguments: Any) -> dict:
    """Tool call arguments (a JSON string) -> the `input` object; unparsable or non-object -> {}."""
    if isinstance(arguments, dict):
        return arguments
    if not isinstance(arguments, str) or not arguments.strip():
        return {}
    try:
        value = json.loads(arguments)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
