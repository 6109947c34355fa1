"""OpenAI text completions (POST /v1/completions) <-> Bedrock InvokeModel text bodies. Pure: no I/O.

As Bifrost's bedrock provider (core/providers/bedrock/text.go) does, two model families are served:

    anthropic  (model id contains "anthropic." or "claude")
        request  {prompt: "\n\nHuman: {p}\n\nAssistant:", max_tokens_to_sample, stop_sequences,
                  temperature, top_p, top_k}
        response {completion, stop_reason, stop}
    mistral    (model id contains "mistral.")
        request  {prompt, max_tokens, stop, temperature, top_p, top_k}
        response {outputs: [{text, stop_reason}]}

Other models answer 400 (use /v1/chat/completions, which goes over Converse).

completion_to_invoke(body, model)
    prompt: a string, or an array of strings joined with "\\n\\n" (Bifrost's rule); token arrays -> ValueError
    anthropic: the prompt is wrapped in Human/Assistant turns unless it already is one (a prompt that
               starts with "\\n\\nHuman:" and ends with "Assistant:" goes as sent, so it is never wrapped
               twice); max_tokens_to_sample = max_tokens, else 4096 (Bifrost's AnthropicDefaultMaxTokens)
    stop (string or array) -> stop_sequences (anthropic) / stop (mistral); n > 1 -> ValueError
invoke_text_to_completion(resp, model, input_tokens, output_tokens)
    completion / outputs[i].text -> choices[i].text; stop_reason -> finish_reason (FINISH_REASONS);
    usage from the `x-amzn-bedrock-input-token-count` / `-output-token-count` response headers
InvokeTextStreamToCompletion(model).feed(chunk) -> [text_completion chunk]
    each decoded `chunk.bytes` object (same fields as the response) -> a chunk with its text; the
    `amazon-bedrock-invocationMetrics` of the last one (inputTokenCount, outputTokenCount) -> a final
    usage chunk with empty choices, as OpenAI sends with stream_options.include_usage
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from bifrost.providers.anthropic.translate_text import (
    ANTHROPIC_DEFAULT_MAX_TOKENS,
    anthropic_prompt,
    prompt_text,
)
from bifrost.providers.anthropic.translate_text import stop_list as _stops

# Anthropic legacy stop_reason and Mistral stop_reason -> OpenAI finish_reason
FINISH_REASONS = {"stop_sequence": "stop", "end_turn": "stop", "stop": "stop", "max_tokens": "length",
                  "length": "length", "model_length": "length", "content_filtered": "content_filter"}
METRICS = "amazon-bedrock-invocationMetrics"


def text_family(model: str) -> str | None:
    """"anthropic" or "mistral" for the model families Bedrock text completion serves, else None."""
    m = model.lower()
    if "anthropic." in m or "claude" in m:
        return "anthropic"
    if "mistral." in m:
        return "mistral"
    return None


def completion_to_invoke(body: dict, model: str) -> dict:
    """An OpenAI text completion request (without `model`) -> an InvokeModel body for `model`."""
    family = text_family(model)
    if family is None:
        raise ValueError(f"text completions on Bedrock are served for Anthropic (anthropic.claude-*) and Mistral "
                         f"(mistral.*) models, not {model}; use /v1/chat/completions (the Converse API) instead")
    if (body.get("n") or 1) > 1:
        raise ValueError("n > 1 is not supported for text completions on Bedrock")
    prompt = prompt_text(body.get("prompt"))
    out: dict[str, Any] = {}
    stops = _stops(body.get("stop"))
    if family == "anthropic":
        out["prompt"] = anthropic_prompt(prompt)
        out["max_tokens_to_sample"] = body.get("max_tokens") or ANTHROPIC_DEFAULT_MAX_TOKENS
        if stops:
            out["stop_sequences"] = stops
    else:
        out["prompt"] = prompt
        if body.get("max_tokens") is not None:
            out["max_tokens"] = body["max_tokens"]
        if stops:
            out["stop"] = stops
    for src, dst in (("temperature", "temperature"), ("top_p", "top_p"), ("top_k", "top_k")):
        if body.get(src) is not None:
            out[dst] = body[src]
    return out


def finish_reason(stop: Any) -> str:
    return FINISH_REASONS.get(stop if isinstance(stop, str) else "", "stop")


def _choices(resp: dict) -> list[tuple[str, Any]]:
    """(text, stop_reason) per choice, from either family's response or stream chunk."""
    if isinstance(resp.get("outputs"), list):
        return [(str(o.get("text") or ""), o.get("stop_reason")) for o in resp["outputs"] if isinstance(o, dict)]
    return [(str(resp.get("completion") or ""), resp.get("stop_reason"))]


def _usage(inp: int, out: int) -> dict:
    return {"prompt_tokens": inp, "completion_tokens": out, "total_tokens": inp + out}


def invoke_text_to_completion(resp: dict, model: str, input_tokens: int | None, output_tokens: int | None,
                              created: int | None = None) -> dict:
    choices = [{"text": text, "index": i, "logprobs": None, "finish_reason": finish_reason(stop)}
               for i, (text, stop) in enumerate(_choices(resp))]
    out: dict[str, Any] = {"id": "cmpl-" + uuid.uuid4().hex[:24], "object": "text_completion",
                           "created": int(time.time()) if created is None else created, "model": model,
                           "choices": choices}
    if input_tokens is not None or output_tokens is not None:
        out["usage"] = _usage(input_tokens or 0, output_tokens or 0)
    return out


class InvokeTextStreamToCompletion:
    """Decoded InvokeModelWithResponseStream chunks of a text model -> OpenAI text_completion chunks."""

    def __init__(self, model: str, created: int | None = None) -> None:
        self.model = model
        self.created = int(time.time()) if created is None else created
        self.id = "cmpl-" + uuid.uuid4().hex[:24]

    def feed(self, data: dict) -> list[dict]:
        out = []
        for i, (text, stop) in enumerate(_choices(data)):
            if text or stop:
                out.append(self._chunk([{"text": text, "index": i, "logprobs": None,
                                         "finish_reason": finish_reason(stop) if stop else None}]))
        metrics = data.get(METRICS)
        if isinstance(metrics, dict):
            chunk = self._chunk([])
            chunk["usage"] = _usage(int(metrics.get("inputTokenCount") or 0),
                                    int(metrics.get("outputTokenCount") or 0))
            out.append(chunk)
        return out

    def _chunk(self, choices: list[dict]) -> dict:
        return {"id": self.id, "object": "text_completion", "created": self.created, "model": self.model,
                "choices": choices}
