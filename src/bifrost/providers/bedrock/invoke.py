"""InvokeModel bodies of the non-Messages model families <-> neutral (OpenAI) requests and answers, for
the /bedrock drop-in's /invoke and /invoke-with-response-stream. Pure: dicts in, dicts out.

The family is told from the body first, then from the model id, as Bifrost's DetectInvokeRequestType
(core/providers/bedrock/invoke.go) does:

    family          body                                              becomes
    messages        {"messages": [...]} (Anthropic Messages)          chat (the integration's own path)
    titan_embed     {"inputText"} and "embed" in the model id         embeddings
    cohere_embed    {"texts": [...]}                                  embeddings
    anthropic_text  {"prompt", "max_tokens_to_sample"} (or a claude   text completion
                    / anthropic. model id)
    llama           {"prompt", "max_gen_len"} (or a llama model id)    text completion
    titan_text      {"inputText", "textGenerationConfig"?}            text completion
    mistral         any other {"prompt"}                               text completion

Answers are in the family's own response shape (AWS's model-parameter reference; fixtures in
tests/fixtures/bedrock/invoke_text.json):

    anthropic_text  {completion, stop_reason: stop_sequence|max_tokens, stop}
    mistral         {outputs: [{text, stop_reason: stop|length}]}
    llama           {generation, prompt_token_count, generation_token_count, stop_reason: stop|length}
    titan_text      {inputTextTokenCount, results: [{tokenCount, outputText, completionReason: FINISH|LENGTH|
                     CONTENT_FILTERED}]}
    titan_embed     {embedding, inputTextTokenCount}
    cohere_embed    {id, embeddings, texts, response_type: embeddings_floats}

Streams: one object per text piece in the family's chunk shape, then a last one with the stop reason
and `amazon-bedrock-invocationMetrics` {inputTokenCount, outputTokenCount, invocationLatency,
firstByteLatency}; the integration wraps each in a `chunk` frame {"bytes": base64(JSON)}.
"""

from __future__ import annotations

import uuid
from typing import Any

TEXT_FAMILIES = frozenset({"anthropic_text", "mistral", "llama", "titan_text"})
EMBED_FAMILIES = frozenset({"titan_embed", "cohere_embed"})
ACCEPTED = ('accepted InvokeModel bodies: Anthropic Messages {"anthropic_version", "messages", "max_tokens"}, '
            'Anthropic text {"prompt", "max_tokens_to_sample"}, Mistral {"prompt", "max_tokens"}, '
            'Llama {"prompt", "max_gen_len"}, Titan text {"inputText", "textGenerationConfig"}, '
            'Titan embeddings {"inputText"} (a model id containing "embed") and Cohere embeddings '
            '{"texts", "input_type"}')
_STOP = {
    "anthropic_text": {"stop": "stop_sequence", "length": "max_tokens"},
    "mistral": {"stop": "stop", "length": "length"},
    "llama": {"stop": "stop", "length": "length"},
    "titan_text": {"stop": "FINISH", "length": "LENGTH", "content_filter": "CONTENT_FILTERED"},
}
METRICS = "amazon-bedrock-invocationMetrics"


def invoke_family(body: dict, model_id: str) -> str | None:
    """The body's family (see the table above), or None when it is none of them."""
    model = model_id.lower()
    msgs = body.get("messages")
    if isinstance(msgs, list) and msgs:
        return "messages"
    if isinstance(body.get("inputText"), str):
        return "titan_embed" if "embed" in model else "titan_text"
    if isinstance(body.get("texts"), list) and body["texts"]:
        return "cohere_embed"
    if not isinstance(body.get("prompt"), str):
        return None
    if "max_tokens_to_sample" in body or "anthropic." in model or "claude" in model:
        return "anthropic_text"
    if "max_gen_len" in body or "llama" in model:
        return "llama"
    return "mistral"


# ---------------------------------------------------------------- requests


def _copy(src: dict, out: dict, pairs: tuple[tuple[str, str], ...]) -> None:
    for a, b in pairs:
        if src.get(a) is not None:
            out[b] = src[a]


def _stops(v: Any) -> list[str] | None:
    if isinstance(v, str):
        return [v]
    if isinstance(v, list) and v:
        return [s for s in v if isinstance(s, str)]
    return None


def invoke_to_completion(body: dict, family: str, keep_top_k: bool = False) -> dict:
    """A text-family InvokeModel body -> an OpenAI text completion request (no model). `top_k` has no
    OpenAI equivalent: it is kept only for targets that take it (`keep_top_k`: anthropic, bedrock)."""
    if family == "titan_text":
        out: dict[str, Any] = {"prompt": body["inputText"]}
        cfg = body.get("textGenerationConfig")
        if isinstance(cfg, dict):
            _copy(cfg, out, (("maxTokenCount", "max_tokens"), ("temperature", "temperature"), ("topP", "top_p")))
            stops = _stops(cfg.get("stopSequences"))
            if stops:
                out["stop"] = stops
        return out
    out = {"prompt": body["prompt"]}
    max_key = {"anthropic_text": "max_tokens_to_sample", "llama": "max_gen_len"}.get(family, "max_tokens")
    _copy(body, out, ((max_key, "max_tokens"), ("temperature", "temperature"), ("top_p", "top_p")))
    if keep_top_k:
        _copy(body, out, (("top_k", "top_k"),))
    stops = _stops(body.get("stop_sequences") if family == "anthropic_text" else body.get("stop"))
    if stops:
        out["stop"] = stops
    return out


def invoke_to_embedding(body: dict, family: str, keep_native: bool) -> dict:
    """A Titan / Cohere embedding body -> an OpenAI embeddings request (no model). `keep_native` keeps
    the fields only Bedrock and Cohere targets understand (input_type, normalize, truncate)."""
    if family == "titan_embed":
        out: dict[str, Any] = {"input": body["inputText"]}
        _copy(body, out, (("dimensions", "dimensions"),))
        if keep_native:
            _copy(body, out, (("normalize", "normalize"),))
        return out
    texts = body["texts"]
    if not all(isinstance(t, str) for t in texts):
        raise ValueError("texts: an array of strings is required")
    types = body.get("embedding_types")
    if types is not None and types != ["float"]:
        raise ValueError('embedding_types: only ["float"] is supported through the gateway')
    out = {"input": texts}
    if keep_native:
        _copy(body, out, (("input_type", "input_type"), ("truncate", "truncate")))
    return out


# ---------------------------------------------------------------- answers


def _usage(resp: dict) -> tuple[int, int]:
    u = resp.get("usage") or {}
    return int(u.get("prompt_tokens") or 0), int(u.get("completion_tokens") or 0)


def native_stop(family: str, finish: Any) -> str:
    table = _STOP[family]
    return table.get(finish if isinstance(finish, str) else "", table["stop"])


def completion_to_invoke_response(resp: dict, family: str) -> dict:
    """An OpenAI text_completion -> the family's InvokeModel response."""
    choices = resp.get("choices") or [{}]
    first = choices[0]
    text, finish = str(first.get("text") or ""), first.get("finish_reason")
    inp, out = _usage(resp)
    if family == "anthropic_text":
        return {"completion": text, "stop_reason": native_stop(family, finish), "stop": None}
    if family == "llama":
        return {"generation": text, "prompt_token_count": inp, "generation_token_count": out,
                "stop_reason": native_stop(family, finish)}
    if family == "titan_text":
        return {"inputTextTokenCount": inp, "results": [
            {"tokenCount": out, "outputText": text, "completionReason": native_stop(family, finish)}]}
    return {"outputs": [{"text": str(c.get("text") or ""), "stop_reason": native_stop(family, c.get("finish_reason"))}
                        for c in choices]}


def embedding_to_invoke_response(resp: dict, family: str, texts: list[str] | None = None) -> dict:
    vectors = [d.get("embedding") for d in sorted(resp.get("data") or [], key=lambda d: d.get("index", 0))]
    if family == "titan_embed":
        tokens = int((resp.get("usage") or {}).get("prompt_tokens") or 0)
        return {"embedding": vectors[0] if vectors else [], "inputTextTokenCount": tokens}
    return {"id": str(uuid.uuid4()), "embeddings": vectors, "texts": texts or [],
            "response_type": "embeddings_floats"}


def usage_counts(resp: dict) -> tuple[int, int]:
    """(input, output) tokens of an OpenAI answer, for the x-amzn-bedrock-*-token-count headers."""
    return _usage(resp)


class CompletionStreamToInvoke:
    """OpenAI text_completion chunks -> the family's InvokeModelWithResponseStream chunk objects."""

    def __init__(self, family: str) -> None:
        self.family = family
        self._finish: Any = None
        self._usage: dict | None = None
        self._pieces = 0
        self._done = False

    def feed(self, chunk: dict) -> list[dict]:
        if isinstance(chunk.get("usage"), dict):
            self._usage = chunk["usage"]
        out = []
        for c in chunk.get("choices") or []:
            if c.get("index", 0) != 0:
                continue
            if c.get("finish_reason"):
                self._finish = c["finish_reason"]
            text = c.get("text")
            if isinstance(text, str) and text:
                self._pieces += 1
                out.append(self._piece(text, None))
        return out

    def finish(self, latency_ms: int = 0) -> list[dict]:
        if self._done:
            return []
        self._done = True
        last = self._piece("", native_stop(self.family, self._finish))
        inp, outp = _usage({"usage": self._usage or {}})
        if self.family == "llama":
            last.update(prompt_token_count=inp, generation_token_count=outp)
        elif self.family == "titan_text":
            last.update(totalOutputTextTokenCount=outp, inputTextTokenCount=inp)
        last[METRICS] = {"inputTokenCount": inp, "outputTokenCount": outp, "invocationLatency": latency_ms,
                         "firstByteLatency": latency_ms}
        return [last]

    def _piece(self, text: str, stop: str | None) -> dict:
        f = self.family
        if f == "anthropic_text":
            return {"completion": text, "stop_reason": stop, "stop": None}
        if f == "llama":
            return {"generation": text, "prompt_token_count": None, "generation_token_count": self._pieces,
                    "stop_reason": stop}
        if f == "titan_text":
            return {"outputText": text, "index": 0, "totalOutputTextTokenCount": None, "completionReason": stop,
                    "inputTextTokenCount": None}
        return {"outputs": [{"text": text, "stop_reason": stop}]}
