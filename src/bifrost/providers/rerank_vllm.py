"""vLLM's rerank wire format (Bifrost's core/providers/vllm/rerank.go), both directions. Pure.

Request: `{"model", "query", "documents": [string], "top_n"?, "max_tokens_per_doc"?, "priority"?}` plus
any other option the client sent (Bifrost's ExtraParams), POSTed to `/v1/rerank` (then `/rerank` on an
older server). Response: `{"id", "model", "usage": {"prompt_tokens" | "total_tokens"}, "results":
[{"index", "relevance_score" (or "score"), "document"?}]}` -> Bifrost's neutral rerank response, results
sorted by score (highest first, ties by index), each index checked against the request's documents.
"""

from __future__ import annotations

from typing import Any

from bifrost.providers.cohere.rerank import rerank_documents, rerank_params

# Neutral options that are Bifrost's own and not sent to vLLM as extra params.
_NOT_SENT = frozenset({"return_documents", "fallbacks", "stream"})


def rerank_to_vllm(body: dict[str, Any], model: str) -> dict[str, Any]:
    query = body.get("query")
    if not isinstance(query, str):
        raise ValueError("query must be a string")
    docs = rerank_documents(body.get("documents"))
    out: dict[str, Any] = {"model": model, "query": query, "documents": [d["text"] for d in docs]}
    for k, v in rerank_params(body).items():
        if v is not None and k not in _NOT_SENT:
            out[k] = v
    return out


def _number(v: Any) -> float | None:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


def _usage(raw: Any) -> dict[str, int] | None:
    if not isinstance(raw, dict):
        return None
    prompt = int(_number(raw.get("prompt_tokens")) or _number(raw.get("input_tokens")) or 0)
    completion = int(_number(raw.get("completion_tokens")) or _number(raw.get("output_tokens")) or 0)
    total = _number(raw.get("total_tokens"))
    tot = int(total) if total is not None else prompt + completion
    if not (prompt or completion or tot):
        return None
    # vLLM reports only total_tokens: all of it is input.
    return {"prompt_tokens": prompt or (tot - completion), "completion_tokens": completion, "total_tokens": tot}


def vllm_rerank_to_rerank(resp: dict[str, Any], model: str, body: dict[str, Any]) -> dict[str, Any]:
    docs = rerank_documents(body.get("documents"))
    want_docs = rerank_params(body).get("return_documents") is True
    raw = resp.get("results")
    if not isinstance(raw, list):
        raise ValueError("vLLM returned a rerank response without a results array")
    seen: set[int] = set()
    results: list[dict[str, Any]] = []
    for r in raw:
        if not isinstance(r, dict) or not isinstance(r.get("index"), int) or isinstance(r.get("index"), bool):
            raise ValueError("vLLM returned a rerank result without an integer index")
        i = r["index"]
        if not 0 <= i < len(docs) or i in seen:
            raise ValueError(f"vLLM returned a rerank result with index {i}, out of range or repeated "
                             f"for {len(docs)} documents")
        seen.add(i)
        score = _number(r.get("relevance_score"))
        if score is None:
            score = _number(r.get("score"))
        if score is None:
            raise ValueError(f"vLLM returned rerank result {i} without relevance_score")
        item: dict[str, Any] = {"index": i, "relevance_score": score}
        if want_docs:
            item["document"] = docs[i]
        results.append(item)
    results.sort(key=lambda x: (-x["relevance_score"], x["index"]))
    out: dict[str, Any] = {}
    if isinstance(resp.get("id"), str) and resp["id"]:
        out["id"] = resp["id"]
    out["results"] = results
    out["model"] = resp["model"] if isinstance(resp.get("model"), str) and resp["model"] else model
    usage = _usage(resp.get("usage"))
    if usage is not None:
        out["usage"] = usage
    return out
