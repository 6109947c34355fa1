"""Rerank translation: Bifrost's neutral rerank <-> Cohere's /v2/rerank."""

from __future__ import annotations

import pytest

from bifrost.providers.cohere.translate import (
    cohere_rerank_request,
    cohere_rerank_to_rerank,
    rerank_documents,
    rerank_response_to_cohere,
    rerank_to_cohere,
)

COHERE_RESP = {"id": "r1", "results": [{"index": 2, "relevance_score": 0.9}, {"index": 0, "relevance_score": 0.1}],
               "meta": {"api_version": {"version": "2"}, "billed_units": {"search_units": 1}}}


def test_documents_accept_strings_and_text_objects() -> None:
    assert rerank_documents(["a", {"text": "b", "id": "x"}]) == [{"text": "a"}, {"text": "b", "id": "x"}]
    for bad in ([], "a", [{"nope": 1}], [3]):
        with pytest.raises(ValueError):
            rerank_documents(bad)


def test_rerank_to_cohere_flat_and_params() -> None:
    body = {"query": "q", "documents": ["a", {"text": "b"}], "top_n": 1, "return_documents": True,
            "max_tokens_per_doc": 100}
    assert rerank_to_cohere(body, "rerank-v3.5") == {
        "model": "rerank-v3.5", "query": "q", "documents": ["a", "b"], "top_n": 1, "max_tokens_per_doc": 100}
    nested = {"query": "q", "documents": ["a"], "params": {"top_n": 5, "priority": 1}}
    assert rerank_to_cohere(nested, "m") == {"model": "m", "query": "q", "documents": ["a"], "top_n": 5,
                                             "priority": 1}
    with pytest.raises(ValueError):
        rerank_to_cohere({"documents": ["a"]}, "m")


def test_cohere_rerank_to_neutral_keeps_order_usage_and_documents() -> None:
    body = {"query": "q", "documents": ["a", "b", {"text": "c", "id": "3"}]}
    out = cohere_rerank_to_rerank(COHERE_RESP, "rerank-v3.5", body)
    assert out == {"id": "r1", "model": "rerank-v3.5",
                   "results": [{"index": 2, "relevance_score": 0.9}, {"index": 0, "relevance_score": 0.1}],
                   "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0, "search_units": 1}}
    with_docs = cohere_rerank_to_rerank(COHERE_RESP, "m", {**body, "params": {"return_documents": True}})
    assert [r["document"] for r in with_docs["results"]] == [{"text": "c", "id": "3"}, {"text": "a"}]
    assert "usage" not in cohere_rerank_to_rerank({"results": []}, "m", body)


def test_cohere_sdk_request_and_response_round_trip() -> None:
    req = cohere_rerank_request({"model": "cohere/rerank-v3.5", "query": "q", "documents": ["a", "b"],
                                 "top_n": 1, "max_tokens_per_doc": 10})
    assert req == {"query": "q", "documents": [{"text": "a"}, {"text": "b"}], "top_n": 1, "max_tokens_per_doc": 10}
    with pytest.raises(ValueError, match="query"):
        cohere_rerank_request({"documents": ["a"]})
    neutral = cohere_rerank_to_rerank(COHERE_RESP, "m", {"query": "q", "documents": ["a", "b", "c"],
                                                         "return_documents": True})
    back = rerank_response_to_cohere(neutral)
    assert back == {"id": "r1", "results": [{"index": 2, "relevance_score": 0.9}, {"index": 0, "relevance_score": 0.1}],
                    "meta": {"api_version": {"version": "2"}, "billed_units": {"search_units": 1}}}
