"""vLLM rerank through the gateway: `POST /v1/rerank` (Bifrost's neutral shape) and the Cohere SDK's
`/cohere/v2/rerank`, served by the vllm provider against the mock's vLLM-shaped /v1/rerank and /rerank."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import cohere
import pytest

from bifrost.providers.rerank_vllm import vllm_rerank_to_rerank
from conftest import Gateway, Mock, http

DOCS = ["Paris is the capital of France", "Bananas are yellow", "The capital of Italy is Rome"]


@pytest.fixture(scope="module")
def gw(tmp_module: Path, mock: Mock) -> Iterator[Gateway]:
    cfg = {"providers": {"vllm": {"keys": [{"name": "v", "value": "vllm-token", "models": [], "weight": 1}],
                                  "network_config": {"base_url": mock.url}}}}
    g = Gateway(tmp_module, cfg)
    yield g
    g.stop()


def test_unified_rerank_to_vllm_sends_vllms_wire_format(gw: Gateway, mock: Mock) -> None:
    mock.reset()
    status, _, raw = http("POST", gw.url + "/v1/rerank", {
        "model": "vllm/BAAI/bge-reranker-v2-m3", "query": "capital of Italy",
        "documents": [DOCS[0], {"text": DOCS[1]}, {"text": DOCS[2]}], "top_n": 2, "return_documents": True,
        "params": {"max_tokens_per_doc": 128}})
    assert status == 200, raw
    sent = mock.requests("/v1/rerank")[-1]
    assert sent["headers"]["authorization"] == "Bearer vllm-token"
    assert sent["body"] == {"model": "BAAI/bge-reranker-v2-m3", "query": "capital of Italy", "documents": DOCS,
                            "top_n": 2, "max_tokens_per_doc": 128}
    body = json.loads(raw)
    assert [r["index"] for r in body["results"]] == [2, 0]
    scores = [r["relevance_score"] for r in body["results"]]
    assert scores == sorted(scores, reverse=True) and scores[0] > 0
    assert body["results"][0]["document"] == {"text": DOCS[2]}
    assert body["model"] == "BAAI/bge-reranker-v2-m3"
    assert body["usage"]["total_tokens"] > 0 and body["usage"]["prompt_tokens"] == body["usage"]["total_tokens"]
    assert not mock.requests("/rerank")


def test_older_vllm_without_v1_rerank_is_retried_at_rerank(gw: Gateway, mock: Mock) -> None:
    mock.reset()
    mock.script({"model": "old-reranker", "status": 404, "body": {"detail": "Not Found"}})
    status, _, raw = http("POST", gw.url + "/v1/rerank",
                          {"model": "vllm/old-reranker", "query": "bananas", "documents": DOCS})
    assert status == 200, raw
    assert len(mock.requests("/v1/rerank")) == 1 and len(mock.requests("/rerank")) == 1
    assert json.loads(raw)["results"][0]["index"] == 1
    mock.script({"model": "old-reranker", "status": 501, "body": {"detail": "Not Implemented"}})
    status, _, raw = http("POST", gw.url + "/v1/rerank",
                          {"model": "vllm/old-reranker", "query": "bananas", "documents": DOCS})
    assert status == 200 and len(mock.requests("/rerank")) == 2, raw


def test_vllm_rerank_error_keeps_status_and_message(gw: Gateway, mock: Mock) -> None:
    mock.script({"model": "bad-reranker", "status": 400,
                 "body": {"object": "error", "message": "The model does not support Rerank API", "type":
                          "BadRequestError", "code": 400}})
    status, _, raw = http("POST", gw.url + "/v1/rerank",
                          {"model": "vllm/bad-reranker", "query": "q", "documents": DOCS})
    assert status == 400
    assert json.loads(raw)["error"]["message"] == "The model does not support Rerank API"


def test_cohere_sdk_rerank_routed_to_vllm(gw: Gateway, mock: Mock) -> None:
    mock.reset()
    client = cohere.ClientV2(api_key="client-key", base_url=gw.url + "/cohere")
    r = client.rerank(model="vllm/BAAI/bge-reranker-v2-m3", query="capital of France", documents=DOCS, top_n=2)
    assert r.results[0].index == 0 and len(r.results) == 2
    sent = mock.requests("/v1/rerank")[-1]
    assert sent["body"]["documents"] == DOCS and sent["headers"]["authorization"] == "Bearer vllm-token"


def test_vllm_rerank_answers_are_checked_and_sorted() -> None:
    body = {"query": "q", "documents": ["a", "b", "c"]}
    out = vllm_rerank_to_rerank({"results": [{"index": 0, "score": 0.1}, {"index": 2, "relevance_score": 0.9},
                                             {"index": 1, "relevance_score": 0.1}]}, "m", body)
    assert [(r["index"], r["relevance_score"]) for r in out["results"]] == [(2, 0.9), (0, 0.1), (1, 0.1)]
    assert "usage" not in out and out["model"] == "m"
    for bad in ({"results": [{"index": 3, "relevance_score": 1}]}, {"results": [{"index": 0}]},
                {"results": [{"index": 0, "score": 1}, {"index": 0, "score": 2}]}, {}):
        with pytest.raises(ValueError):
            vllm_rerank_to_rerank(bad, "m", body)
