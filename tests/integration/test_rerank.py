"""Rerank end to end: `POST /v1/rerank` (Bifrost's neutral shape) and the Cohere SDK through
`/cohere/v2/rerank`, both served by the Cohere provider against the mock's /v2/rerank."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import cohere
import pytest

from conftest import Gateway, Mock, http

DOCS = ["Paris is the capital of France", "Bananas are yellow", "The capital of Italy is Rome"]


@pytest.fixture(scope="module")
def gw(tmp_module: Path, mock: Mock) -> Iterator[Gateway]:
    cfg = {"providers": {
        "cohere": {"keys": [{"name": "c", "value": "co-upstream", "models": [], "weight": 1}],
                   "network_config": {"base_url": mock.url}},
        "openai": {"keys": [{"name": "o", "value": "sk-openai-upstream", "models": [], "weight": 1}],
                   "network_config": {"base_url": mock.url}},
    }}
    g = Gateway(tmp_module, cfg)
    yield g
    g.stop()


@pytest.mark.conformance("cohere", "cohere", "rerank")
def test_cohere_sdk_rerank_through_the_gateway(gw: Gateway, mock: Mock) -> None:
    mock.reset()
    client = cohere.ClientV2(api_key="co-client-to-gateway", base_url=gw.url + "/cohere")
    r = client.rerank(model="cohere/rerank-v3.5", query="capital of France", documents=DOCS, top_n=2)
    sent = mock.requests("/v2/rerank")[-1]
    assert sent["headers"]["authorization"] == "Bearer co-upstream"
    assert sent["body"] == {"model": "rerank-v3.5", "query": "capital of France", "documents": DOCS, "top_n": 2}
    direct = cohere.ClientV2(api_key="k", base_url=mock.url).rerank(
        model="rerank-v3.5", query="capital of France", documents=DOCS, top_n=2)
    assert [x.index for x in r.results] == [x.index for x in direct.results]
    assert [x.relevance_score for x in r.results] == pytest.approx([x.relevance_score for x in direct.results])
    assert r.results[0].index == 0 and len(r.results) == 2
    scores = [x.relevance_score for x in r.results]
    assert scores == sorted(scores, reverse=True)
    assert r.meta is not None and r.meta.billed_units is not None and r.meta.billed_units.search_units == 1


@pytest.mark.conformance("openai", "cohere", "rerank")
def test_unified_rerank_to_the_cohere_provider(gw: Gateway, mock: Mock) -> None:
    mock.reset()
    status, _, raw = http("POST", gw.url + "/v1/rerank", {
        "model": "cohere/rerank-v3.5", "query": "capital of Italy",
        "documents": [DOCS[0], {"text": DOCS[1]}, {"text": DOCS[2]}], "top_n": 3, "return_documents": True})
    assert status == 200, raw
    body = json.loads(raw)
    assert mock.requests("/v2/rerank")[-1]["body"] == {
        "model": "rerank-v3.5", "query": "capital of Italy", "documents": DOCS, "top_n": 3}
    assert [r["index"] for r in body["results"]][0] == 2
    assert body["results"][0]["document"] == {"text": DOCS[2]}
    assert body["model"] == "rerank-v3.5"
    assert body["usage"]["search_units"] == 1
    assert body["extra_fields"]["request_type"] == "rerank"
    assert body["extra_fields"]["provider"] == "cohere"

    # options under `params`, as in Bifrost's BifrostRerankRequest; no documents returned by default
    status, _, raw = http("POST", gw.url + "/v1/rerank", {
        "model": "cohere/rerank-v3.5", "query": "bananas", "documents": DOCS, "params": {"top_n": 1}})
    assert status == 200, raw
    body = json.loads(raw)
    assert len(body["results"]) == 1 and body["results"][0]["index"] == 1
    assert "document" not in body["results"][0]
    assert mock.requests("/v2/rerank")[-1]["body"]["top_n"] == 1


@pytest.mark.parametrize(("payload", "field"), [
    ({"model": "cohere/rerank-v3.5", "documents": DOCS}, "query"),
    ({"model": "cohere/rerank-v3.5", "query": "q"}, "documents"),
    ({"model": "cohere/rerank-v3.5", "query": 3, "documents": DOCS}, "query"),
    ({"model": "cohere/rerank-v3.5", "query": "q", "documents": "x"}, "documents"),
])
def test_rerank_request_errors_name_the_field(gw: Gateway, payload: dict, field: str) -> None:
    status, _, raw = http("POST", gw.url + "/v1/rerank", payload)
    assert status == 400, raw
    err = json.loads(raw)["error"]
    assert field in err["message"]


def test_rerank_bad_document_is_a_400(gw: Gateway) -> None:
    status, _, raw = http("POST", gw.url + "/v1/rerank",
                          {"model": "cohere/rerank-v3.5", "query": "q", "documents": [{"nope": 1}]})
    assert status == 400, raw
    assert "documents[0]" in json.loads(raw)["error"]["message"]


def test_rerank_to_a_provider_without_rerank_is_unsupported(gw: Gateway) -> None:
    status, _, raw = http("POST", gw.url + "/v1/rerank",
                          {"model": "openai/gpt-4o-mini", "query": "q", "documents": DOCS})
    assert status == 400, raw
    doc = json.loads(raw)
    assert doc["error"]["type"] == "unsupported_operation"
    assert "rerank" in doc["error"]["message"]
    # and through the Cohere drop-in: Cohere's error shape
    with pytest.raises(cohere.core.api_error.ApiError) as e:
        cohere.ClientV2(api_key="k", base_url=gw.url + "/cohere").rerank(
            model="openai/gpt-4o-mini", query="q", documents=DOCS)
    assert e.value.status_code == 400


def test_rerank_does_not_stream(gw: Gateway) -> None:
    status, _, raw = http("POST", gw.url + "/v1/rerank",
                          {"model": "cohere/rerank-v3.5", "query": "q", "documents": DOCS, "stream": True})
    assert status == 400, raw
    assert "stream" in json.loads(raw)["error"]["message"]
