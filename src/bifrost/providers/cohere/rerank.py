"""Cohere translators: rerank in both directions.

The mapping table is in translate.py."""

from __future__ import annotations

from typing import Any

# ---------------------------------------------------------------- rerank
# Bifrost's neutral rerank: request {query, documents: [string | {text, id?, meta?}], top_n?,
# return_documents?, max_tokens_per_doc?, priority?} (the options may also sit under `params`, as in
# BifrostRerankRequest); response {id?, results: [{index, relevance_score, document?}], model, usage?}.

RERANK_OPTIONS = ("top_n", "max_tokens_per_doc", "priority")


def rerank_documents(docs: Any) -> list[dict]:
    """Documents as `{"text": ...}` objects; a string is shorthand for `{"text": string}`."""
    if not isinstance(docs, list) or not docs:
        raise ValueError("documents must be a non-empty array of strings or {\"text\": ...} objects")
    out = []
    for i, d in enumerate(docs):
        if isinstance(d, str):
            out.append({"text": d})
        elif isinstance(d, dict) and isinstance(d.get("text"), str):
            out.append(d)
        else:
            raise ValueError(f"documents[{i}] must be a string or an object with a string \"text\"")
    return out


def rerank_params(body: dict) -> dict:
    """The rerank options, flat or under `params` (flat wins)."""
    params = body.get("params")
    out = dict(params) if isinstance(params, dict) else {}
    out.update({k: v for k, v in body.items() if k not in ("params", "query", "documents", "model")})
    return out


def rerank_to_cohere(body: dict, model: str) -> dict:
    """Neutral rerank request -> Cohere POST /v2/rerank (documents as strings)."""
    query = body.get("query")
    if not isinstance(query, str):
        raise ValueError("query must be a string")
    docs = rerank_documents(body.get("documents"))
    out: dict[str, Any] = {"model": model, "query": query, "documents": [d["text"] for d in docs]}
    params = rerank_params(body)
    for k in RERANK_OPTIONS:
        if params.get(k) is not None:
            out[k] = params[k]
    return out


def cohere_rerank_to_rerank(resp: dict, model: str, body: dict) -> dict:
    """Cohere's rerank response -> Bifrost's neutral rerank response.

    Results keep Cohere's order (most relevant first); with `return_documents` each result carries
    the request's document. Usage: `search_units` (and any token counts) from meta.billed_units.
    """
    docs = rerank_documents(body.get("documents"))
    want_docs = rerank_params(body).get("return_documents") is True
    results = []
    for r in resp.get("results") or []:
        if not isinstance(r, dict) or not isinstance(r.get("index"), int):
            continue
        item: dict[str, Any] = {"index": r["index"], "relevance_score": r.get("relevance_score", 0.0)}
        if want_docs and 0 <= r["index"] < len(docs):
            item["document"] = docs[r["index"]]
        results.append(item)
    out: dict[str, Any] = {}
    if resp.get("id"):
        out["id"] = resp["id"]
    out["results"] = results
    out["model"] = model
    meta = resp.get("meta")
    billed = meta.get("billed_units") if isinstance(meta, dict) else None
    if isinstance(billed, dict) and billed:
        inp = int(billed.get("input_tokens") or 0)
        outp = int(billed.get("output_tokens") or 0)
        usage: dict[str, Any] = {"prompt_tokens": inp, "completion_tokens": outp, "total_tokens": inp + outp}
        if billed.get("search_units") is not None:
            usage["search_units"] = billed["search_units"]
        out["usage"] = usage
    return out


def cohere_rerank_request(body: dict) -> dict:
    """The Cohere SDK's /v2/rerank body -> the neutral rerank body (without `model`)."""
    query = body.get("query")
    if not isinstance(query, str):
        raise ValueError("invalid request: query must be a string")
    out: dict[str, Any] = {"query": query, "documents": rerank_documents(body.get("documents"))}
    for k in (*RERANK_OPTIONS, "return_documents"):
        if body.get(k) is not None:
            out[k] = body[k]
    return out


def rerank_response_to_cohere(resp: dict) -> dict:
    """The neutral rerank response -> Cohere's v2 rerank response."""
    results = []
    for r in resp.get("results") or []:
        if isinstance(r, dict) and isinstance(r.get("index"), int):
            results.append({"index": r["index"], "relevance_score": r.get("relevance_score", 0.0)})
    billed: dict[str, Any] = {}
    usage = resp.get("usage")
    if isinstance(usage, dict):
        if usage.get("search_units") is not None:
            billed["search_units"] = usage["search_units"]
        if usage.get("prompt_tokens"):
            billed["input_tokens"] = usage["prompt_tokens"]
        if usage.get("completion_tokens"):
            billed["output_tokens"] = usage["completion_tokens"]
    meta: dict[str, Any] = {"api_version": {"version": "2"}}
    if billed:
        meta["billed_units"] = billed
    return {"id": resp.get("id") or "", "results": results, "meta": meta}
