"""Bedrock InvokeModel text models as the mock plays them: Anthropic legacy text completions
(`anthropic.claude-*`: {"prompt": "\\n\\nHuman: ...\\n\\nAssistant:", "max_tokens_to_sample"} ->
{"completion", "stop_reason", "stop"}) and Mistral (`mistral.*`: {"prompt", "max_tokens"} ->
{"outputs": [{"text", "stop_reason"}]}), answered as JSON with the `x-amzn-bedrock-input-token-count`
/ `-output-token-count` headers, or (invoke-with-response-stream) as event-stream `chunk` frames whose
`bytes` are base64 JSON, the last one carrying `amazon-bedrock-invocationMetrics`, as AWS documents.
"""

from __future__ import annotations

import base64
from typing import Any

import msgspec

from .content import approx_tokens
from .wire import Answer, text_answer

_encode = msgspec.json.encode


def family(model: str) -> str | None:
    m = model.lower()
    if "anthropic." in m or "claude" in m:
        return "anthropic"
    if "mistral." in m:
        return "mistral"
    return None


def validate(fam: str, body: dict) -> str | None:
    """The ValidationException message Bedrock would give, or None."""
    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not prompt:
        return "Malformed input request: #: required key [prompt] not found"
    if fam == "anthropic":
        if not prompt.startswith("\n\nHuman:"):
            return 'prompt must start with "\n\nHuman:" turn after an optional system prompt'
        if not prompt.rstrip().endswith("Assistant:"):
            return 'prompt must end with "\n\nAssistant:" turn'
        if not isinstance(body.get("max_tokens_to_sample"), int):
            return "Malformed input request: #: required key [max_tokens_to_sample] not found"
    return None


def plan(fam: str, body: dict, chunks: int) -> Answer:
    return text_answer(chunks, body.get("max_tokens_to_sample" if fam == "anthropic" else "max_tokens"))


def _stop(fam: str, ans: Answer) -> dict:
    if fam == "anthropic":
        stopped = ans.finish_reason == "stop"
        return {"stop_reason": "stop_sequence" if stopped else "max_tokens", "stop": "\n\nHuman:" if stopped else None}
    return {"stop_reason": ans.finish_reason}


def tokens(body: dict, ans: Answer) -> tuple[int, int]:
    return max(1, approx_tokens(body.get("prompt"))), ans.completion_tokens


def response(fam: str, ans: Answer) -> dict:
    if fam == "anthropic":
        return {"type": "completion", "completion": " " + ans.text, **_stop(fam, ans)}
    return {"outputs": [{"text": " " + ans.text, **_stop(fam, ans)}]}


def _piece(fam: str, text: str, stop: dict | None) -> dict:
    if fam == "anthropic":
        return {"completion": text, **(stop or {"stop_reason": None, "stop": None})}
    return {"outputs": [{"text": text, **(stop or {"stop_reason": None})}]}


def stream_payloads(fam: str, body: dict, ans: Answer) -> list[dict[str, Any]]:
    """The `chunk` event payloads ({"bytes": base64 JSON}) of one streamed answer."""
    inp, out = tokens(body, ans)
    objs = [_piece(fam, (" " if i == 0 else "") + p, None) for i, p in enumerate(ans.pieces)]
    last = _piece(fam, "", _stop(fam, ans))
    last["amazon-bedrock-invocationMetrics"] = {"inputTokenCount": inp, "outputTokenCount": out,
                                                "invocationLatency": 5, "firstByteLatency": 1}
    objs.append(last)
    return [{"bytes": base64.b64encode(_encode(o)).decode()} for o in objs]
