"""BedrockProvider I/O choices that the mock-backed integration tests cannot see (no base_url)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from bifrost.config.model import BedrockKeyConfig, Key, ProviderConfig
from bifrost.providers.bedrock.client import BedrockProvider, embedding_inputs

KEY = Key(name="k", value="", bedrock=BedrockKeyConfig(access_key="AKID", secret_key="s", region="ap-south-1"))


def test_list_models_uses_the_control_plane_host() -> None:
    p = BedrockProvider(ProviderConfig(name="bedrock", keys=(KEY,)))
    seen: list[tuple[str, str, dict[str, str]]] = []

    async def fake(method: str, url: str, headers: Any, body: bytes | None = None) -> bytes:
        seen.append((method, url, dict(headers)))
        return json.dumps({"modelSummaries": [{"modelId": "amazon.titan-embed-text-v2:0",
                                               "providerName": "Amazon"}]}).encode()

    p.http.request = fake  # type: ignore[method-assign]
    models = asyncio.run(p.list_models(KEY))
    assert models == [{"id": "amazon.titan-embed-text-v2:0", "object": "model", "owned_by": "Amazon"}]
    method, url, headers = seen[0]
    assert method == "GET" and url == "https://bedrock.ap-south-1.amazonaws.com/foundation-models"
    assert "/ap-south-1/bedrock/aws4_request" in headers["Authorization"]


def test_embedding_inputs() -> None:
    assert embedding_inputs("a") == ["a"] and embedding_inputs(["a", "b"]) == ["a", "b"]
    for bad in ([1, 2], [], None, [[1]]):
        try:
            embedding_inputs(bad)
        except ValueError:
            continue
        raise AssertionError(bad)
