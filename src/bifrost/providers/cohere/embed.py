"""Cohere translators: embeddings in both directions.

The mapping table is in translate.py."""

from __future__ import annotations

import base64
import struct
from typing import Any

from bifrost.providers.cohere._common import DEFAULT_INPUT_TYPE

# ---------------------------------------------------------------- embeddings


def embedding_to_cohere(body: dict, model: str) -> dict:
    inp = body.get("input")
    if isinstance(inp, str):
        texts = [inp]
    elif isinstance(inp, list) and inp and all(isinstance(t, str) for t in inp):
        texts = list(inp)
    else:
        raise ValueError("input must be a string or an array of strings (Cohere does not embed token arrays)")
    fmt = body.get("encoding_format") or "float"
    if fmt not in ("float", "base64"):
        raise ValueError("encoding_format must be 'float' or 'base64'")
    req: dict[str, Any] = {"model": model, "texts": texts,
                           "input_type": body.get("input_type") or DEFAULT_INPUT_TYPE,
                           "embedding_types": [fmt]}
    if body.get("dimensions"):
        req["output_dimension"] = body["dimensions"]
    if body.get("truncate"):
        req["truncate"] = body["truncate"]
    return req


def cohere_embed_to_embedding(resp: dict, model: str, b64: bool = False) -> dict:
    emb = resp.get("embeddings")
    vectors: list = []
    if isinstance(emb, dict):
        vectors = emb.get("base64" if b64 else "float") or emb.get("float") or []
    elif isinstance(emb, list):  # embeddings_floats response
        vectors = emb
    meta = resp.get("meta") or {}
    billed = meta.get("billed_units") or {}
    tokens = int(billed.get("input_tokens") or (meta.get("tokens") or {}).get("input_tokens") or 0)
    return {"object": "list",
            "data": [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors)],
            "model": model, "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}


def embed_to_embedding(body: dict, native: bool = False) -> dict:
    texts = body.get("texts")
    if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
        raise ValueError("texts: an array of strings is required (images and `inputs` are not supported)")
    types = body.get("embedding_types") or ["float"]
    if not isinstance(types, list) or any(t not in ("float", "base64") for t in types):
        raise ValueError("embedding_types: only 'float' and 'base64' are supported")
    out: dict[str, Any] = {"input": texts, "encoding_format": "float"}
    if body.get("output_dimension"):
        out["dimensions"] = body["output_dimension"]
    if native:
        for k in ("input_type", "truncate"):
            if body.get(k):
                out[k] = body[k]
    return out


def _b64(vec: Any) -> Any:
    if isinstance(vec, str):
        return vec
    return base64.b64encode(struct.pack(f"<{len(vec)}f", *vec)).decode()


def embedding_response_to_cohere(resp: dict, texts: list[str], types: list[str] | None = None,
                                 rid: str | None = None) -> dict:
    types = types or ["float"]
    data = sorted((d for d in resp.get("data") or () if isinstance(d, dict)), key=lambda d: d.get("index", 0))
    vecs = [d.get("embedding") for d in data]
    floats = [_decode_b64(v) if isinstance(v, str) else v for v in vecs]
    embeddings: dict[str, Any] = {}
    if "float" in types:
        embeddings["float"] = floats
    if "base64" in types:
        embeddings["base64"] = [_b64(v) for v in vecs]
    tokens = int((resp.get("usage") or {}).get("prompt_tokens") or 0)
    return {"id": rid or resp.get("id") or "", "embeddings": embeddings, "texts": texts,
            "meta": {"api_version": {"version": "2"}, "billed_units": {"input_tokens": tokens}},
            "response_type": "embeddings_by_type"}


def _decode_b64(s: str) -> list[float]:
    raw = base64.b64decode(s)
    return list(struct.unpack(f"<{len(raw) // 4}f", raw))
