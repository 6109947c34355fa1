"""Embeddings (embedContent / batchEmbedContents), countTokens and error bodies, both directions. Pure."""

from __future__ import annotations

import array
import base64
import binascii
import sys
from typing import Any

_STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
           408: "DEADLINE_EXCEEDED", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 502: "UNAVAILABLE",
           503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}


# ------------------------------------------------------------------------------ provider direction


def embeddings_to_gemini(body: dict, model: str) -> tuple[str, dict]:
    """An OpenAI embeddings request -> (method, body): "embedContent" for a string input, else
    "batchEmbedContents" with one request per string. `dimensions` -> outputDimensionality; the Bifrost extras
    `task_type` and `title` -> taskType and title. Token-id inputs raise ValueError (Gemini embeds text only)."""
    if not isinstance(body, dict):
        raise ValueError("the request body must be a JSON object")
    name = model if model.startswith("models/") else "models/" + model
    inp = body.get("input")
    extra: dict[str, Any] = {}
    if body.get("dimensions") is not None:
        extra["outputDimensionality"] = body["dimensions"]
    if isinstance(body.get("task_type"), str):
        extra["taskType"] = body["task_type"]
    if isinstance(body.get("title"), str):
        extra["title"] = body["title"]
    if isinstance(inp, str):
        return "embedContent", {"model": name, "content": {"parts": [{"text": inp}]}, **extra}
    if isinstance(inp, list) and inp and all(isinstance(s, str) for s in inp):
        return "batchEmbedContents", {
            "requests": [{"model": name, "content": {"parts": [{"text": s}]}, **extra} for s in inp]
        }
    raise ValueError("`input` must be a string or a non-empty array of strings for Gemini embeddings")


def gemini_embeddings_to_openai(resp: dict, model: str, inputs: list[str] | None = None) -> dict:
    """An embedContent / batchEmbedContents response -> an OpenAI embedding list.

    Usage comes from usageMetadata.promptTokenCount, else the sum of embedding statistics.tokenCount (Vertex),
    else an estimate of one token per four characters of `inputs` (the request's texts), else 0.
    """
    if not isinstance(resp, dict):
        raise ValueError("the Gemini response must be a JSON object")
    embeddings = resp.get("embeddings")
    if not isinstance(embeddings, list):
        embeddings = [resp["embedding"]] if isinstance(resp.get("embedding"), dict) else []
    data = [{"object": "embedding", "index": i, "embedding": list(e.get("values") or [])}
            for i, e in enumerate(embeddings) if isinstance(e, dict)]
    meta = resp.get("usageMetadata") if isinstance(resp.get("usageMetadata"), dict) else {}
    tokens = meta.get("promptTokenCount") or sum(
        int((e.get("statistics") or {}).get("tokenCount") or 0) for e in embeddings if isinstance(e, dict))
    if not tokens and inputs:
        tokens = sum((len(s) + 3) // 4 for s in inputs)
    return {"object": "list", "data": data, "model": model,
            "usage": {"prompt_tokens": int(tokens), "total_tokens": int(tokens)}}


def error_message(status: int, body: Any) -> tuple[str, str | None]:
    """A Google error body {"error": {"code", "message", "status"}} (or a list holding one) -> (message, status)."""
    if isinstance(body, list) and body:
        body = body[0]
    err = body.get("error") if isinstance(body, dict) else None
    if isinstance(err, dict):
        message = err.get("message")
        state = err.get("status")
        return (str(message) if message else f"Gemini returned HTTP {status}",
                state if isinstance(state, str) and state else None)
    if isinstance(err, str) and err:
        return err, None
    return f"Gemini returned HTTP {status}", None


# ------------------------------------------------------------------------------- inbound direction


def count_tokens_response(n: int) -> dict:
    return {"totalTokens": int(n)}


def embed_to_openai(body: dict, batch: bool) -> dict:
    """An embedContent (batch=False) or batchEmbedContents (batch=True) body -> an OpenAI embeddings request.

    Each request's text parts are joined with a space (Gemini embeds all parts of a content as one).
    outputDimensionality -> dimensions (it must be the same for every request of a batch); taskType and
    title are dropped; non-text parts raise ValueError.
    """
    if not isinstance(body, dict):
        raise ValueError("the request body must be a JSON object")
    requests = body.get("requests") if batch else [body]
    if not isinstance(requests, list) or not requests:
        raise ValueError("`requests` must be a non-empty array")
    texts = []
    dims = set()
    for i, req in enumerate(requests):
        content = req.get("content") if isinstance(req, dict) else None
        parts = content.get("parts") if isinstance(content, dict) else None
        if not isinstance(parts, list) or not parts:
            raise ValueError(f"requests[{i}].content.parts must be a non-empty array")
        if not all(isinstance(p, dict) and isinstance(p.get("text"), str) for p in parts):
            raise ValueError(f"requests[{i}]: only text parts can be embedded through this gateway")
        texts.append(" ".join(p["text"] for p in parts))
        dim = req.get("outputDimensionality", req.get("output_dimensionality"))
        dims.add(dim)
    if len(dims) > 1:
        raise ValueError("every request of a batch must ask for the same outputDimensionality")
    out: dict[str, Any] = {"input": texts if batch else texts[0]}
    dim = dims.pop()
    if dim is not None:
        out["dimensions"] = dim
    return out


def openai_embeddings_to_gemini(resp: dict, batch: bool) -> dict:
    """An OpenAI embedding list -> {"embeddings": [...]} (batch) or {"embedding": {...}}, with usageMetadata."""
    if not isinstance(resp, dict):
        raise ValueError("the embeddings response must be a JSON object")
    items = sorted((d for d in resp.get("data") or () if isinstance(d, dict)), key=lambda d: d.get("index") or 0)
    embeddings = [{"values": _floats(d.get("embedding"))} for d in items]
    out: dict[str, Any] = {"embeddings": embeddings} if batch else {
        "embedding": embeddings[0] if embeddings else {"values": []}}
    usage = resp.get("usage")
    if isinstance(usage, dict) and usage.get("prompt_tokens") is not None:
        out["usageMetadata"] = {"promptTokenCount": usage["prompt_tokens"],
                                "totalTokenCount": usage.get("total_tokens") or usage["prompt_tokens"]}
    return out


def _floats(value: Any) -> list[float]:
    if isinstance(value, list):
        return value
    if isinstance(value, str):  # encoding_format "base64": little-endian float32
        try:
            raw = base64.b64decode(value)
        except (binascii.Error, ValueError):
            return []
        values = array.array("f")
        values.frombytes(raw[: len(raw) - len(raw) % 4])
        if sys.byteorder == "big":
            values.byteswap()
        return values.tolist()
    return []


def error_body(status: int, message: str) -> dict:
    """Google's error JSON for an HTTP status, as google-genai's APIError parses it."""
    state = _STATUS.get(status) or ("INTERNAL" if status >= 500 else "INVALID_ARGUMENT")
    return {"error": {"code": status, "message": message, "status": state}}
