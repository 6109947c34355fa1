"""The Cohere provider's registration and request shaping (no network)."""

from __future__ import annotations

import msgspec
import pytest

from bifrost.config.model import Key, ProviderConfig
from bifrost.providers.cohere.client import CohereProvider
from bifrost.providers.registry import NOT_YET_IMPLEMENTED, build_provider, env_enabled_providers
from bifrost.schemas.errors import RequestError
from bifrost.schemas.inference import CHAT, EMBEDDING, InferenceRequest, Target


def test_cohere_is_a_native_provider_enabled_from_its_env_var() -> None:
    assert "cohere" not in NOT_YET_IMPLEMENTED
    assert ("cohere", "COHERE_API_KEY") in env_enabled_providers({"COHERE_API_KEY": "co-x"})
    p = build_provider(ProviderConfig(name="cohere", keys=(Key(name="k", value="co-x"),)))
    assert isinstance(p, CohereProvider)
    assert p._chat_url == "https://api.cohere.com/v2/chat" and p._embed_url == "https://api.cohere.com/v2/embed"
    assert p.supports("chat_completion", True) and p.supports("embedding", False)
    assert not p.supports("text_completion", False) and not p.supports("responses", False)
    assert p._headers(Key(name="k", value="co-x"), None)["Authorization"] == "Bearer co-x"


def test_request_bodies() -> None:
    p = CohereProvider(ProviderConfig(name="cohere"))
    target = Target(provider="cohere", model="command-r")
    chat = InferenceRequest(request_type=CHAT, target=target, stream=True,
                            body={"model": "x", "messages": [{"role": "user", "content": "hi"}]})
    assert msgspec.json.decode(p._body(chat)) == {"model": "command-r", "stream": True,
                                                  "messages": [{"role": "user", "content": "hi"}]}
    emb = InferenceRequest(request_type=EMBEDDING, target=Target(provider="cohere", model="embed-v4.0"),
                           body={"input": "hi"})
    assert msgspec.json.decode(p._body(emb))["input_type"] == "search_document"
    bad = InferenceRequest(request_type=CHAT, target=target, body={"messages": [], "n": 3})
    with pytest.raises(RequestError):
        p._body(bad)
