"""OpenAI-compatible providers described as data.

A provider that speaks the OpenAI wire format is one `CompatSpec` row: where it lives, how it
authenticates, which request types it offers, and which request fields it rejects or renames.
The rows themselves live in `compat_table.py`; the one client in `openai_compat.py` serves them all.
"""

from __future__ import annotations

import msgspec

# Request types, named as Bifrost names them in `custom_provider_config.allowed_requests`.
LIST_MODELS = "list_models"
TEXT_COMPLETION = "text_completion"
TEXT_COMPLETION_STREAM = "text_completion_stream"
CHAT_COMPLETION = "chat_completion"
CHAT_COMPLETION_STREAM = "chat_completion_stream"
RESPONSES = "responses"
RESPONSES_STREAM = "responses_stream"
EMBEDDING = "embedding"
# Bifrost's neutral rerank (POST /v1/rerank): native on Cohere; vLLM serves it in its own wire format.
RERANK = "rerank"

ALL_REQUEST_TYPES = frozenset(
    {
        LIST_MODELS,
        TEXT_COMPLETION,
        TEXT_COMPLETION_STREAM,
        CHAT_COMPLETION,
        CHAT_COMPLETION_STREAM,
        RESPONSES,
        RESPONSES_STREAM,
        EMBEDDING,
    }
)
CHAT_ONLY = frozenset({LIST_MODELS, CHAT_COMPLETION, CHAT_COMPLETION_STREAM, RESPONSES, RESPONSES_STREAM})


class CompatSpec(msgspec.Struct, frozen=True, kw_only=True):
    """One OpenAI-compatible provider.

    `base_url` has no trailing slash and no `/v1`: request paths are appended to it, so a
    `network_config.base_url` from Bifrost's config (which also omits `/v1`) replaces it as is.
    """

    name: str
    base_url: str
    # Environment variable that enables the provider when there is no config.json.
    env_key: str | None = None
    # "bearer" -> Authorization: Bearer <key>; "api-key" -> api-key: <key>; "none" -> no auth header.
    auth: str = "bearer"
    # Keyless providers (local servers) need no key; one may still be configured.
    keyless: bool = False
    # Request type -> path appended to base_url.
    paths: dict[str, str] = msgspec.field(
        default_factory=lambda: {
            CHAT_COMPLETION: "/v1/chat/completions",
            TEXT_COMPLETION: "/v1/completions",
            EMBEDDING: "/v1/embeddings",
            RESPONSES: "/v1/responses",
            LIST_MODELS: "/v1/models",
        }
    )
    supported: frozenset[str] = ALL_REQUEST_TYPES
    # Request fields the upstream rejects: removed before sending.
    drop_params: frozenset[str] = frozenset()
    # Request fields the upstream names differently: old name -> new name.
    rename_params: dict[str, str] = msgspec.field(default_factory=dict)
    # A `tool_choice` object ({"type": "function", ...}) the upstream rejects becomes this string (Mistral: "any").
    tool_choice_object: str | None = None
    # The reasoning_effort values the upstream accepts; any other value becomes `reasoning_effort_fallback`.
    reasoning_efforts: frozenset[str] = frozenset()
    reasoning_effort_fallback: str = ""
    # Embedding request fields the upstream names differently (Mistral: dimensions -> output_dimension).
    embedding_rename: dict[str, str] = msgspec.field(default_factory=dict)
    # Upstream finish_reason values that are not OpenAI's: upstream value -> OpenAI value.
    finish_reasons: dict[str, str] = msgspec.field(default_factory=dict)
    # Tool-call ids the upstream accepts, as a regular expression; other ids in a conversation are replaced
    # (consistently: each call keeps its pairing with its result) by ids derived from them.
    tool_call_id_pattern: str = ""
    tool_call_id_length: int = 0
    # Rerank paths, tried in order when the upstream answers 404/405/501 (vLLM: /v1/rerank, then /rerank).
    rerank_paths: tuple[str, ...] = ()
    # Human-readable note shown in docs/providers.md.
    note: str = ""

    def path_for(self, request_type: str) -> str:
        base = request_type.removesuffix("_stream")
        return self.paths.get(base) or self.paths.get(request_type) or ""
