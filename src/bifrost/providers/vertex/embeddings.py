"""Vertex AI text embeddings (`:predict`), both directions, as Bifrost's ToVertexEmbeddingRequest. Pure."""

from __future__ import annotations

from typing import Any


def embeddings_to_predict(body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """OpenAI embeddings request -> Vertex `:predict` body (Bifrost's ToVertexEmbeddingRequest), input count."""
    inp = body.get("input")
    texts = [inp] if isinstance(inp, str) else inp if isinstance(inp, list) else None
    if not texts or not all(isinstance(t, str) for t in texts):
        raise ValueError("input must be a string or a non-empty array of strings for Vertex AI embeddings")
    instances: list[dict[str, Any]] = []
    for t in texts:
        inst: dict[str, Any] = {"content": t}
        for extra in ("task_type", "title"):
            if isinstance(body.get(extra), str):
                inst[extra] = body[extra]
        instances.append(inst)
    auto = body.get("autoTruncate")
    params: dict[str, Any] = {"autoTruncate": auto if isinstance(auto, bool) else True}
    dims = body.get("dimensions")
    if isinstance(dims, int) and not isinstance(dims, bool):
        params["outputDimensionality"] = dims
    return {"instances": instances, "parameters": params}, len(texts)


def predict_to_embeddings(resp: Any, model: str, n: int) -> dict[str, Any]:
    """Vertex `{"predictions": [{"embeddings": {"values", "statistics": {"token_count"}}}]}` -> OpenAI list."""
    preds = resp.get("predictions") if isinstance(resp, dict) else None
    if not isinstance(preds, list):
        raise ValueError("Vertex AI returned an embedding response without predictions")
    data, tokens = [], 0
    for i, p in enumerate(preds):
        emb = p.get("embeddings") if isinstance(p, dict) else None
        if not isinstance(emb, dict):
            continue
        values = emb.get("values")
        if not isinstance(values, list) or not values:
            continue
        stats = emb.get("statistics")
        if isinstance(stats, dict) and isinstance(stats.get("token_count"), int | float):
            tokens += int(stats["token_count"])
        data.append({"object": "embedding", "index": i, "embedding": values})
    return {"object": "list", "data": data, "model": model,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}
