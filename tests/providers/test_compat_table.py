"""Structural checks on the OpenAI-compatible provider table.

These catch the mistakes a data table invites: a base URL with a trailing slash or a doubled
`/v1`, a request type marked supported with no path to send it to, a keyless local server that
an environment variable would switch on, a rename that a drop silently cancels.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from bifrost.providers import compat_table
from bifrost.providers import spec as S
from bifrost.providers.compat_table import COMPAT_PROVIDERS, compat_spec

SPECS = list(COMPAT_PROVIDERS.values())
IDS = [s.name for s in SPECS]
STREAM_OF = {
    S.CHAT_COMPLETION_STREAM: S.CHAT_COMPLETION,
    S.TEXT_COMPLETION_STREAM: S.TEXT_COMPLETION,
    S.RESPONSES_STREAM: S.RESPONSES,
}


def full_url(name: str, request_type: str) -> str:
    """The URL the compat client builds: base (trailing slash stripped) + path for the type."""
    spec = COMPAT_PROVIDERS[name]
    return spec.base_url.rstrip("/") + spec.path_for(request_type)


def test_rows_are_unique_and_keyed_by_their_name():
    assert len(compat_table._ROWS) == len(COMPAT_PROVIDERS)
    for name, spec in COMPAT_PROVIDERS.items():
        assert name == spec.name


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_name_is_a_lower_case_config_key(spec):
    assert re.fullmatch(r"[a-z][a-z0-9-]*", spec.name), spec.name


def test_providers_bifrost_has_are_all_present():
    bifrost_compat = {
        "openai", "groq", "deepseek", "xai", "openrouter", "cerebras", "fireworks", "perplexity",
        "nebius", "parasail", "ollama", "vllm", "sgl", "huggingface", "mistral",
    }
    assert bifrost_compat <= COMPAT_PROVIDERS.keys()
    assert {"together", "lmstudio"} <= COMPAT_PROVIDERS.keys()
    assert not compat_table.NOT_TABULATED & COMPAT_PROVIDERS.keys()


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_base_url_has_scheme_host_and_no_trailing_slash(spec):
    parts = urlsplit(spec.base_url)
    assert parts.scheme in ("http", "https")
    assert parts.netloc
    assert not parts.query and not parts.fragment
    assert not spec.base_url.endswith("/")
    if spec.keyless:
        assert parts.hostname == "localhost"
    else:
        assert parts.scheme == "https", "a hosted API must not be reached over plain http"


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_supported_types_are_known_and_streams_have_their_base(spec):
    assert spec.supported <= S.ALL_REQUEST_TYPES
    assert spec.supported, "a row that supports nothing is a typo"
    for stream, base in STREAM_OF.items():
        if stream in spec.supported:
            assert base in spec.supported, f"{stream} without {base}"


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_every_supported_type_has_a_path_and_every_path_is_used(spec):
    for request_type in spec.supported:
        path = spec.path_for(request_type)
        assert path.startswith("/"), f"{request_type} has no path"
        assert "//" not in path and not path.endswith("/")
    for request_type in spec.paths:
        assert request_type in S.ALL_REQUEST_TYPES
        assert request_type in spec.supported, f"stale path for unsupported {request_type}"


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_urls_never_double_the_version_segment(spec):
    for request_type in spec.supported:
        url = full_url(spec.name, request_type)
        assert "/v1/v1" not in url and "/v3/v3" not in url
        assert "//" not in url.split("://", 1)[1]


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_providers_without_native_responses_have_no_responses_path(spec):
    # The engine serves the Responses API through chat for these (providers/responses_adapter.py).
    if S.RESPONSES not in spec.supported:
        assert S.RESPONSES_STREAM not in spec.supported
        assert S.RESPONSES not in spec.paths


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_auth_and_keyless_are_consistent(spec):
    assert spec.auth in ("bearer", "api-key", "none")
    if spec.keyless:
        # An environment variable must not switch on a local server, and any key a user does
        # configure is sent the usual way (Bifrost adds the bearer header only when non-empty).
        assert spec.env_key is None
        assert spec.auth in ("bearer", "none")
    if spec.auth == "none":
        assert spec.keyless


def test_env_keys_are_well_formed_and_distinct():
    keys = [s.env_key for s in SPECS if s.env_key is not None]
    assert len(keys) == len(set(keys)), "one variable would enable two providers"
    for key in keys:
        assert re.fullmatch(r"[A-Z][A-Z0-9_]*", key)


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_drops_and_renames_do_not_cancel_each_other(spec):
    for old, new in spec.rename_params.items():
        assert old != new
        assert old not in spec.drop_params, f"{old} is dropped before it can be renamed"
        assert new not in spec.drop_params, f"{old} is renamed into dropped {new}"
    for field in spec.drop_params | spec.rename_params.keys():
        assert field not in ("model", "messages", "input", "prompt", "stream")


@pytest.mark.parametrize(
    ("name", "request_type", "url"),
    [
        ("openai", S.CHAT_COMPLETION, "https://api.openai.com/v1/chat/completions"),
        ("openai", S.RESPONSES_STREAM, "https://api.openai.com/v1/responses"),
        ("openai", S.EMBEDDING, "https://api.openai.com/v1/embeddings"),
        ("groq", S.CHAT_COMPLETION, "https://api.groq.com/openai/v1/chat/completions"),
        ("groq", S.CHAT_COMPLETION_STREAM, "https://api.groq.com/openai/v1/chat/completions"),
        ("groq", S.LIST_MODELS, "https://api.groq.com/openai/v1/models"),
        ("openrouter", S.CHAT_COMPLETION, "https://openrouter.ai/api/v1/chat/completions"),
        ("openrouter", S.RESPONSES, "https://openrouter.ai/api/v1/responses"),
        ("perplexity", S.CHAT_COMPLETION, "https://api.perplexity.ai/chat/completions"),
        ("fireworks", S.CHAT_COMPLETION, "https://api.fireworks.ai/inference/v1/chat/completions"),
        ("deepseek", S.CHAT_COMPLETION, "https://api.deepseek.com/chat/completions"),
        ("deepseek", S.TEXT_COMPLETION, "https://api.deepseek.com/beta/completions"),
        ("xai", S.CHAT_COMPLETION, "https://api.x.ai/v1/chat/completions"),
        ("mistral", S.EMBEDDING, "https://api.mistral.ai/v1/embeddings"),
        ("huggingface", S.CHAT_COMPLETION, "https://router.huggingface.co/v1/chat/completions"),
        ("ollama", S.CHAT_COMPLETION, "http://localhost:11434/v1/chat/completions"),
    ],
)
def test_well_known_endpoints(name, request_type, url):
    assert full_url(name, request_type) == url


def test_provider_matrix_gaps():
    # Bifrost's support matrix: these return UnsupportedOperationError upstream.
    assert S.TEXT_COMPLETION not in compat_spec("groq").supported
    assert S.EMBEDDING not in compat_spec("groq").supported
    assert S.EMBEDDING not in compat_spec("cerebras").supported
    assert S.EMBEDDING not in compat_spec("xai").supported
    assert S.TEXT_COMPLETION not in compat_spec("mistral").supported
    assert compat_spec("perplexity").supported == {S.CHAT_COMPLETION, S.CHAT_COMPLETION_STREAM, S.LIST_MODELS}


def test_known_request_quirks():
    groq = compat_spec("groq")
    assert {"logprobs", "logit_bias", "top_logprobs"} <= groq.drop_params
    mistral = compat_spec("mistral")
    assert mistral.rename_params["max_completion_tokens"] == "max_tokens"
    perplexity = compat_spec("perplexity")
    assert {"tools", "tool_choice", "stop", "stream_options"} <= perplexity.drop_params
    assert perplexity.rename_params["max_completion_tokens"] == "max_tokens"
    assert compat_spec("ollama").rename_params["max_completion_tokens"] == "max_tokens"
    fireworks = compat_spec("fireworks")
    assert fireworks.rename_params == {"prompt_cache_key": "prompt_cache_isolation_key"}
    assert "prediction" not in fireworks.drop_params
    assert not compat_spec("openai").drop_params and not compat_spec("openai").rename_params


def test_local_servers_are_keyless():
    for name in ("ollama", "vllm", "sgl", "lmstudio"):
        spec = compat_spec(name)
        assert spec.keyless and spec.env_key is None


def test_compat_spec_lookup():
    assert compat_spec("groq") is COMPAT_PROVIDERS["groq"]
    assert compat_spec("anthropic") is None
    assert compat_spec("GROQ") is None


def test_chat_quirks_rewrite_a_copy_and_resolve_both_names_given():
    from bifrost.providers.compat_quirks import chat_body

    mistral = compat_spec("mistral")
    body = {"max_completion_tokens": 10, "max_tokens": 99, "seed": 1, "random_seed": 2,
            "tool_choice": {"type": "function", "function": {"name": "f"}}, "reasoning_effort": "medium",
            "store": True}
    out = chat_body(mistral, body)
    assert out == {"max_tokens": 10, "random_seed": 2, "tool_choice": "any", "reasoning_effort": "high"}
    assert body["max_completion_tokens"] == 10 and body["store"] is True  # the input is untouched
    fireworks = compat_spec("fireworks")
    out = chat_body(fireworks, {"prompt_cache_key": "a", "prompt_cache_isolation_key": "b"})
    assert out == {"prompt_cache_isolation_key": "b"}
