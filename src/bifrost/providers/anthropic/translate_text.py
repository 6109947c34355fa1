"""OpenAI text completions <-> Anthropic's legacy Text Completions API (POST /v1/complete). Pure.

As Bifrost (core/providers/anthropic/text.go): non-streaming only (Bifrost answers "unsupported
operation" for text completion streams on Anthropic).

    prompt (string, or strings joined with "\\n\\n")  -> prompt "\\n\\nHuman: {prompt}\\n\\nAssistant:"
                                                      (a prompt already in that form is sent as is)
    max_tokens                                      -> max_tokens_to_sample (default 4096, Bifrost's)
    stop (string or array)                          -> stop_sequences
    temperature, top_p, top_k                       -> same names
    response: completion -> choices[0].text; stop_reason stop_sequence -> "stop", max_tokens -> "length";
              usage {input_tokens, output_tokens} -> prompt/completion tokens when the answer has it
"""

from __future__ import annotations

import time
from typing import Any

ANTHROPIC_DEFAULT_MAX_TOKENS = 4096
_FINISH = {"stop_sequence": "stop", "end_turn": "stop", "max_tokens": "length"}


def prompt_text(prompt: Any) -> str:
    if isinstance(prompt, str):
        return prompt
    if isinstance(prompt, list) and all(isinstance(p, str) for p in prompt):
        return "\n\n".join(prompt)
    raise ValueError("prompt: a string or an array of strings is required (token arrays are not supported "
                     "by this provider)")


def anthropic_prompt(prompt: str) -> str:
    """The prompt in Human/Assistant turns, unless it already is (so it is never wrapped twice)."""
    if prompt.startswith("\n\nHuman:") and prompt.rstrip().endswith("Assistant:"):
        return prompt
    return f"\n\nHuman: {prompt}\n\nAssistant:"


def stop_list(stop: Any) -> list[str] | None:
    if not stop:
        return None
    return [stop] if isinstance(stop, str) else [s for s in stop if isinstance(s, str)]


def completion_to_complete(body: dict, model: str) -> dict:
    """An OpenAI text completion request (without `model`) -> a /v1/complete body."""
    if (body.get("n") or 1) > 1:
        raise ValueError("n > 1 is not supported for Anthropic text completions")
    out: dict[str, Any] = {"model": model, "prompt": anthropic_prompt(prompt_text(body.get("prompt"))),
                           "max_tokens_to_sample": body.get("max_tokens") or ANTHROPIC_DEFAULT_MAX_TOKENS}
    stops = stop_list(body.get("stop"))
    if stops:
        out["stop_sequences"] = stops
    for k in ("temperature", "top_p", "top_k"):
        if body.get(k) is not None:
            out[k] = body[k]
    return out


def finish_reason(stop: Any) -> str:
    return _FINISH.get(stop if isinstance(stop, str) else "", "stop")


def complete_to_completion(resp: dict, model: str, created: int | None = None) -> dict:
    out: dict[str, Any] = {
        "id": resp.get("id") or "", "object": "text_completion",
        "created": int(time.time()) if created is None else created, "model": resp.get("model") or model,
        "choices": [{"text": resp.get("completion") or "", "index": 0, "logprobs": None,
                     "finish_reason": finish_reason(resp.get("stop_reason"))}],
    }
    usage = resp.get("usage")
    if isinstance(usage, dict):
        inp, outp = int(usage.get("input_tokens") or 0), int(usage.get("output_tokens") or 0)
        out["usage"] = {"prompt_tokens": inp, "completion_tokens": outp, "total_tokens": inp + outp}
    return out
