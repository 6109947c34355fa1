"""The table of OpenAI-compatible providers: one `CompatSpec` row per provider.

Names are the keys Bifrost uses under `providers` in config.json (its `schemas.ModelProvider`
constants in core/schemas/bifrost.go); rows marked OURS are well-known OpenAI-compatible hosts
Bifrost has no built-in provider for.

Every row cites where its facts come from. "Bifrost" means the maximhq/bifrost repository:
`core/providers/<name>/<name>.go` for the default base URL (`NewXProvider`) and the path each
operation appends, `core/providers/openai/chat.go` (`ToOpenAIChatRequest`) for the per-provider
request rewriting, and `docs/providers/supported-providers/<name>.mdx` for the support matrix.
"LiteLLM" means BerriAI/litellm `litellm/llms/<provider>/chat/transformation.py`
(`get_supported_openai_params` / `map_openai_params`) and
`litellm/litellm_core_utils/get_llm_provider_logic.py` (default bases and key variables).

How to read a row:

- `base_url` is Bifrost's default with Bifrost's path layout kept: where Bifrost appends
  `/v1/chat/completions` the base has no `/v1`; where it appends `/chat/completions` (DeepSeek,
  Perplexity) the base is whatever sits in front of that. A `network_config.base_url` from a
  Bifrost config.json therefore replaces `base_url` as is.
- `supported` lists what the upstream serves at a path in `paths`, stream variants spelled out.
  Bifrost answers `responses` for many providers by converting to a chat completion; those rows
  leave `responses` out of `supported` and `paths`, and the engine converts (providers/responses_adapter.py).
- `drop_params` / `rename_params` are chat-completion request quirks. `OPENAI_ONLY` is what
  Bifrost's `filterOpenAISpecificParameters` strips for every built-in non-OpenAI provider
  (prediction, prompt_cache_key, prompt_cache_retention, verbosity, store, web_search_options);
  older Bifrost releases (and the provider doc pages) also list `service_tier`, which current
  Bifrost keeps unless its model catalog marks the tier unsupported, so it is only dropped where
  the upstream itself is known to reject it. Model-dependent quirks (xAI grok reasoning models,
  OpenAI reasoning models) cannot be expressed per provider and are described in `note`.
"""

from __future__ import annotations

from bifrost.providers.spec import (
    CHAT_COMPLETION,
    CHAT_COMPLETION_STREAM,
    EMBEDDING,
    LIST_MODELS,
    RESPONSES,
    RESPONSES_STREAM,
    TEXT_COMPLETION,
    TEXT_COMPLETION_STREAM,
    CompatSpec,
)

_V1 = {
    CHAT_COMPLETION: "/v1/chat/completions",
    TEXT_COMPLETION: "/v1/completions",
    EMBEDDING: "/v1/embeddings",
    RESPONSES: "/v1/responses",
    LIST_MODELS: "/v1/models",
}
_STREAMS = {
    CHAT_COMPLETION: CHAT_COMPLETION_STREAM,
    TEXT_COMPLETION: TEXT_COMPLETION_STREAM,
    RESPONSES: RESPONSES_STREAM,
}


def _v1(*types: str) -> dict[str, str]:
    """The standard `/v1/...` path for each of the given (non-stream) request types."""
    return {t: _V1[t] for t in types}


def _types(*types: str) -> frozenset[str]:
    """The given request types plus the stream variant of each one that streams."""
    return frozenset(types) | {_STREAMS[t] for t in types if t in _STREAMS}


# Stripped by Bifrost's filterOpenAISpecificParameters (core/providers/openai/chat.go) for every
# built-in provider except openai/azure (and custom providers): OpenAI-native fields that
# OpenAI-compatible upstreams reject.
OPENAI_ONLY = frozenset({
    "prediction", "prompt_cache_key", "prompt_cache_retention", "verbosity", "store", "web_search_options",
})

# Bifrost's applyMistralCompatibility / the Ollama and OpenCode cases in ToOpenAIChatRequest.
_MAX_TOKENS = {"max_completion_tokens": "max_tokens"}

_ROWS: tuple[CompatSpec, ...] = (
    # Bifrost core/providers/openai/openai.go (default https://api.openai.com, /v1/... paths);
    # docs/providers/supported-providers/openai.mdx. OpenAI gets no filtering in ToOpenAIChatRequest.
    CompatSpec(
        name="openai",
        base_url="https://api.openai.com",
        env_key="OPENAI_API_KEY",
        paths=_v1(CHAT_COMPLETION, TEXT_COMPLETION, EMBEDDING, RESPONSES, LIST_MODELS),
        supported=_types(CHAT_COMPLETION, TEXT_COMPLETION, EMBEDDING, RESPONSES, LIST_MODELS),
        note="Bifrost drops `temperature` for OpenAI reasoning models (o-series, gpt-5.x) and "
             "drops a `user` longer than 64 characters; both are model/value dependent.",
    ),
    # Bifrost core/providers/groq/groq.go: NormalizeBaseURL(.., "https://api.groq.com/openai"),
    # /v1/chat/completions + /v1/models; TextCompletion and Embedding unsupported; Responses via
    # ChatCompletion. docs/providers/supported-providers/groq.mdx. Rejected fields: Groq's own
    # OpenAI-compatibility page (console.groq.com/docs/openai) says logprobs, logit_bias and
    # top_logprobs "will result in a 400 error".
    CompatSpec(
        name="groq",
        base_url="https://api.groq.com/openai",
        env_key="GROQ_API_KEY",
        paths=_v1(CHAT_COMPLETION, LIST_MODELS),
        supported=_types(CHAT_COMPLETION, LIST_MODELS),
        drop_params=OPENAI_ONLY | {"logprobs", "logit_bias", "top_logprobs"},
        note="Groq also rejects messages[].name and n other than 1. Bifrost moves replayed "
             "assistant `reasoning_content` to `reasoning`. Text completions exist only through "
             "Bifrost's opt-in compat.convert_text_to_chat fallback.",
    ),
    # Bifrost core/providers/deepseek/deepseek.go: default https://api.deepseek.com, chat at
    # /chat/completions, text (FIM) at /beta/completions, models at /models, no embeddings,
    # Responses via ChatCompletion. docs/providers/supported-providers/deepseek.mdx.
    CompatSpec(
        name="deepseek",
        base_url="https://api.deepseek.com",
        env_key="DEEPSEEK_API_KEY",
        paths={
            CHAT_COMPLETION: "/chat/completions",
            TEXT_COMPLETION: "/beta/completions",
            LIST_MODELS: "/models",
        },
        supported=_types(CHAT_COMPLETION, TEXT_COMPLETION, LIST_MODELS),
        drop_params=OPENAI_ONLY,
        note="Thinking is on by default upstream; Bifrost sends thinking={type: disabled} when "
             "tool_choice forces a tool or a replayed tool-call turn lacks reasoning_content. "
             "Bifrost can instead route chat/responses to /anthropic/v1/messages "
             "(use_anthropic_endpoints).",
    ),
    # Bifrost core/providers/xai/xai.go: default https://api.x.ai, /v1/chat/completions,
    # /v1/completions, /v1/responses (native), /v1/models; no embeddings.
    # docs/providers/supported-providers/xai.mdx.
    CompatSpec(
        name="xai",
        base_url="https://api.x.ai",
        env_key="XAI_API_KEY",
        paths=_v1(CHAT_COMPLETION, TEXT_COMPLETION, RESPONSES, LIST_MODELS),
        supported=_types(CHAT_COMPLETION, TEXT_COMPLETION, RESPONSES, LIST_MODELS),
        drop_params=OPENAI_ONLY,
        note="Model dependent (Bifrost applyXAICompatibility, LiteLLM XAIChatConfig): grok reasoning "
             "models reject presence_penalty; grok-3-mini and grok-4 reject frequency_penalty and "
             "stop; reasoning_effort only on models that support it. LiteLLM also strips "
             "tools[].strict.",
    ),
    # Bifrost core/providers/openrouter/openrouter.go: default https://openrouter.ai/api,
    # /v1/completions, /v1/chat/completions, /v1/responses (native), /v1/embeddings, /v1/models.
    # docs/providers/supported-providers/openrouter.mdx (older copy lists no embeddings).
    CompatSpec(
        name="openrouter",
        base_url="https://openrouter.ai/api",
        env_key="OPENROUTER_API_KEY",
        paths=_v1(CHAT_COMPLETION, TEXT_COMPLETION, EMBEDDING, RESPONSES, LIST_MODELS),
        supported=_types(CHAT_COMPLETION, TEXT_COMPLETION, EMBEDDING, RESPONSES, LIST_MODELS),
        drop_params=OPENAI_ONLY,
        note="GET /v1/models needs no auth, so Bifrost validates keys against /v1/auth/key. "
             "Anthropic cache_control blocks are stripped from messages.",
    ),
    # Bifrost core/providers/cerebras/cerebras.go: default https://api.cerebras.ai,
    # /v1/completions, /v1/chat/completions, /v1/models; no embeddings; Responses via
    # ChatCompletion. docs/providers/supported-providers/cerebras.mdx. Rejected fields: LiteLLM
    # litellm/llms/cerebras/chat.py get_supported_openai_params leaves out frequency_penalty,
    # presence_penalty, logit_bias and parallel_tool_calls, which Cerebras' OpenAI-compatibility
    # notes list (with service_tier) as 400 errors.
    CompatSpec(
        name="cerebras",
        base_url="https://api.cerebras.ai",
        env_key="CEREBRAS_API_KEY",
        paths=_v1(CHAT_COMPLETION, TEXT_COMPLETION, LIST_MODELS),
        supported=_types(CHAT_COMPLETION, TEXT_COMPLETION, LIST_MODELS),
        drop_params=OPENAI_ONLY
        | {"frequency_penalty", "presence_penalty", "logit_bias", "parallel_tool_calls", "service_tier"},
        note="Bifrost moves replayed assistant `reasoning_content` to `reasoning`. Bifrost itself "
             "passes the penalty fields through; the drops come from LiteLLM and Cerebras' notes.",
    ),
    # Bifrost core/providers/fireworks/fireworks.go: default https://api.fireworks.ai/inference,
    # /v1/... paths. docs/providers/supported-providers/fireworks.mdx (current): native
    # /v1/responses, /v1/completions and /v1/embeddings (older fireworks.go served chat only).
    # Bifrost's ToOpenAIChatRequest Fireworks case keeps `prediction` and maps prompt_cache_key
    # to prompt_cache_isolation_key.
    CompatSpec(
        name="fireworks",
        base_url="https://api.fireworks.ai/inference",
        env_key="FIREWORKS_API_KEY",
        paths=_v1(CHAT_COMPLETION, TEXT_COMPLETION, EMBEDDING, RESPONSES, LIST_MODELS),
        supported=_types(CHAT_COMPLETION, TEXT_COMPLETION, EMBEDDING, RESPONSES, LIST_MODELS),
        drop_params=OPENAI_ONLY - {"prediction", "prompt_cache_key"},
        rename_params={"prompt_cache_key": "prompt_cache_isolation_key"},
        note="LiteLLM FireworksAIConfig maps tool_choice \"required\" to \"any\" and a json_schema "
             "response_format to {type: json_object, schema}. On /v1/responses Bifrost keeps "
             "store and previous_response_id.",
    ),
    # Bifrost core/providers/perplexity/perplexity.go: default https://api.perplexity.ai, chat at
    # /chat/completions (no /v1), models at /v1/models; no text or embeddings. The request is
    # rebuilt from a whitelist (core/providers/perplexity/chat.go ToPerplexityChatCompletionRequest
    # and types.go PerplexityChatRequest): max_completion_tokens becomes max_tokens and every
    # OpenAI field outside the whitelist is dropped. docs/providers/supported-providers/perplexity.mdx
    # lists tools, tool_choice, stop, logit_bias, logprobs, top_logprobs, seed,
    # parallel_tool_calls and service_tier as dropped. LiteLLM PerplexityChatConfig agrees (no tools).
    CompatSpec(
        name="perplexity",
        base_url="https://api.perplexity.ai",
        env_key="PERPLEXITY_API_KEY",
        paths={CHAT_COMPLETION: "/chat/completions", LIST_MODELS: "/v1/models"},
        supported=_types(CHAT_COMPLETION, LIST_MODELS),
        drop_params=OPENAI_ONLY - {"web_search_options"} | {
            "tools", "tool_choice", "parallel_tool_calls", "functions", "function_call", "stop",
            "logit_bias", "logprobs", "top_logprobs", "seed", "n", "user", "service_tier",
            "stream_options", "metadata", "modalities", "audio",
        },
        rename_params=_MAX_TOKENS,
        note="LiteLLM reads PERPLEXITYAI_API_KEY before PERPLEXITY_API_KEY; Bifrost's docs use "
             "PERPLEXITY_API_KEY. Bifrost maps reasoning effort \"minimal\" to \"low\". For non "
             "sonar-* models Bifrost sends responses natively to /v1/responses (the Agent API); "
             "sonar-* models go through chat.",
    ),
    # Bifrost core/providers/nebius/nebius.go: default https://api.tokenfactory.nebius.com,
    # /v1/completions, /v1/chat/completions, /v1/embeddings, /v1/models; Responses via
    # ChatCompletion. docs/providers/supported-providers/nebius.mdx.
    CompatSpec(
        name="nebius",
        base_url="https://api.tokenfactory.nebius.com",
        env_key="NEBIUS_API_KEY",
        paths=_v1(CHAT_COMPLETION, TEXT_COMPLETION, EMBEDDING, LIST_MODELS),
        supported=_types(CHAT_COMPLETION, TEXT_COMPLETION, EMBEDDING, LIST_MODELS),
        drop_params=OPENAI_ONLY,
        note="LiteLLM still defaults to the older host https://api.studio.nebius.ai/v1. Bifrost "
             "moves an `ai_project_id` extra param into the query string.",
    ),
    # Bifrost core/providers/parasail/parasail.go: NormalizeBaseURL(.., "https://api.parasail.io"),
    # /v1/chat/completions, /v1/embeddings, /v1/models; no text; Responses via ChatCompletion.
    # (docs/providers/supported-providers/parasail.mdx predates the embeddings support.)
    CompatSpec(
        name="parasail",
        base_url="https://api.parasail.io",
        env_key="PARASAIL_API_KEY",
        paths=_v1(CHAT_COMPLETION, EMBEDDING, LIST_MODELS),
        supported=_types(CHAT_COMPLETION, EMBEDDING, LIST_MODELS),
        drop_params=OPENAI_ONLY,
    ),
    # OURS. LiteLLM get_llm_provider_logic.py together_ai: base https://api.together.xyz/v1,
    # key TOGETHER_API_KEY, then TOGETHER_AI_API_KEY, TOGETHERAI_API_KEY, TOGETHER_AI_TOKEN.
    # Together serves the standard /v1 chat, completions, embeddings and models endpoints.
    CompatSpec(
        name="together",
        base_url="https://api.together.xyz",
        env_key="TOGETHER_API_KEY",
        paths=_v1(CHAT_COMPLETION, TEXT_COMPLETION, EMBEDDING, LIST_MODELS),
        supported=_types(CHAT_COMPLETION, TEXT_COMPLETION, EMBEDDING, LIST_MODELS),
        note="Not a Bifrost built-in. LiteLLM also reads TOGETHER_AI_API_KEY / TOGETHERAI_API_KEY, and "
             "drops tools/tool_choice for models without function calling (model dependent).",
    ),
    # Bifrost core/providers/ollama/ollama.go: no default base URL (older versions refuse to start
    # without network_config.base_url; newer ones also accept a per-key ollama_key_config.url);
    # /v1/completions, /v1/chat/completions, /v1/embeddings, /v1/models; Responses via
    # ChatCompletion; bearer header only when a key is set. ToOpenAIChatRequest's Ollama case moves
    # max_completion_tokens to max_tokens. localhost:11434 is Ollama's port (Bifrost's ollama.mdx,
    # LiteLLM OLLAMA_API_BASE default).
    CompatSpec(
        name="ollama",
        base_url="http://localhost:11434",
        auth="bearer",
        keyless=True,
        paths=_v1(CHAT_COMPLETION, TEXT_COMPLETION, EMBEDDING, LIST_MODELS),
        supported=_types(CHAT_COMPLETION, TEXT_COMPLETION, EMBEDDING, LIST_MODELS),
        drop_params=OPENAI_ONLY,
        rename_params=_MAX_TOKENS,
        note="Bifrost has no default here and requires base_url (or a per-key URL); the localhost "
             "default is ours. A key is optional (ollama.com cloud; LiteLLM reads OLLAMA_API_KEY).",
    ),
    # Bifrost core/providers/vllm/vllm.go + docs/providers/supported-providers/vllm.mdx: no default
    # base URL (per-key vllm_key_config.url), /v1/chat/completions, /v1/completions,
    # /v1/embeddings, native /v1/responses (no chat fallback), /v1/models; bearer only when a key
    # is set. localhost:8000 is vLLM's port and Bifrost's documented example. Rerank
    # (core/providers/vllm/rerank.go, vllm.go Rerank): POST /v1/rerank, retried at /rerank on 404/405/501.
    CompatSpec(
        name="vllm",
        base_url="http://localhost:8000",
        keyless=True,
        paths=_v1(CHAT_COMPLETION, TEXT_COMPLETION, EMBEDDING, RESPONSES, LIST_MODELS),
        supported=_types(CHAT_COMPLETION, TEXT_COMPLETION, EMBEDDING, RESPONSES, LIST_MODELS),
        rerank_paths=("/v1/rerank", "/rerank"),
        drop_params=OPENAI_ONLY,
        note="Bifrost has no default and requires the server URL; the localhost default is ours. "
             "Servers older than /v1/responses support fail responses requests (Bifrost does not "
             "retry through chat).",
    ),
    # Bifrost core/providers/sgl/sgl.go + docs/providers/supported-providers/sgl.mdx: no default
    # base URL (sgl_key_config.url or network_config.base_url), /v1/chat/completions,
    # /v1/completions, /v1/embeddings, /v1/models; Responses via ChatCompletion.
    CompatSpec(
        name="sgl",
        base_url="http://localhost:30000",
        keyless=True,
        paths=_v1(CHAT_COMPLETION, TEXT_COMPLETION, EMBEDDING, LIST_MODELS),
        supported=_types(CHAT_COMPLETION, TEXT_COMPLETION, EMBEDDING, LIST_MODELS),
        drop_params=OPENAI_ONLY,
        note="Bifrost has no default and requires the server URL; 30000 is SGLang's own default "
             "port (Bifrost's docs use http://localhost:8000 as the example).",
    ),
    # OURS. LM Studio's OpenAI-compatible server (default port 1234) serves /v1/models,
    # /v1/chat/completions, /v1/completions and /v1/embeddings. LiteLLM
    # litellm/llms/lm_studio/chat/transformation.py: LM_STUDIO_API_BASE, optional LM_STUDIO_API_KEY,
    # no key required.
    CompatSpec(
        name="lmstudio",
        base_url="http://localhost:1234",
        keyless=True,
        paths=_v1(CHAT_COMPLETION, TEXT_COMPLETION, EMBEDDING, LIST_MODELS),
        supported=_types(CHAT_COMPLETION, TEXT_COMPLETION, EMBEDDING, LIST_MODELS),
        note="Not a Bifrost built-in (use a custom provider with base_provider_type openai there).",
    ),
    # Bifrost core/providers/huggingface/huggingface.go + utils.go: default
    # https://router.huggingface.co (older versions: https://router.huggingface.co/v1 with the path
    # /chat/completions, the same URL), chat at /v1/chat/completions, Responses via ChatCompletion.
    # Bifrost's embeddings, speech and model listing go to per-inference-provider or Hub routes that
    # are not OpenAI-shaped, so they are not part of this row.
    CompatSpec(
        name="huggingface",
        base_url="https://router.huggingface.co",
        env_key="HF_TOKEN",
        paths=_v1(CHAT_COMPLETION),
        supported=_types(CHAT_COMPLETION),
        note="Bifrost model names are huggingface/<inference-provider>/<org>/<model> and are sent to "
             "the router as <org>/<model>:<inference-provider>. LiteLLM reads HUGGINGFACE_API_KEY.",
    ),
    # Bifrost core/providers/mistral/mistral.go: default https://api.mistral.ai,
    # /v1/chat/completions, /v1/embeddings, /v1/models; no text; Responses via ChatCompletion.
    # Bifrost core/providers/openai/chat.go applyMistralCompatibility: max_completion_tokens ->
    # max_tokens; a tool_choice object (Mistral takes only "auto" / "none" / "any" / "required")
    # becomes "any"; reasoning effort other than "none" / "high" becomes "high".
    # core/providers/mistral/errors.go ParseMistralError: Mistral's top-level {"object": "error",
    # "message", "type", "code"} (http.upstream_error reads it). Mistral's API reference names the seed
    # random_seed and the embedding size output_dimension (LiteLLM MistralConfig / MistralEmbeddingConfig
    # map seed and dimensions the same way); its finish reason "model_length" is OpenAI's "length".
    # docs/providers/supported-providers/mistral.mdx.
    CompatSpec(
        name="mistral",
        base_url="https://api.mistral.ai",
        env_key="MISTRAL_API_KEY",
        paths=_v1(CHAT_COMPLETION, EMBEDDING, LIST_MODELS),
        supported=_types(CHAT_COMPLETION, EMBEDDING, LIST_MODELS),
        drop_params=OPENAI_ONLY,
        rename_params={**_MAX_TOKENS, "seed": "random_seed"},
        tool_choice_object="any",
        reasoning_efforts=frozenset({"none", "high"}),
        reasoning_effort_fallback="high",
        embedding_rename={"dimensions": "output_dimension"},
        finish_reasons={"model_length": "length"},
        # OURS (Bifrost sends ids as they are): Mistral rejects any tool-call id that is not exactly 9
        # characters a-z, A-Z, 0-9 ("Tool call id was call_... but must be a-z, A-Z, 0-9, with a length of
        # 9", code 3280), so a conversation carrying another provider's ids (call_..., toolu_...) would fail.
        tool_call_id_pattern="[a-zA-Z0-9]{9}",
        tool_call_id_length=9,
        note="Bifrost turns a tool_choice object into \"any\" (Mistral takes only strings) and coerces "
             "reasoning effort to none/high. OCR and transcription (Bifrost's /v1/ocr, "
             "/v1/audio/transcriptions) are not offered here.",
    ),
    # Bifrost docs/providers/supported-providers/opencode.mdx and the OpencodeGo/OpencodeZen case in
    # core/providers/openai/chat.go (max_completion_tokens -> max_tokens): base
    # https://opencode.ai/zen, /v1/chat/completions, /v1/models, Responses converted through chat.
    CompatSpec(
        name="opencode-zen",
        base_url="https://opencode.ai/zen",
        env_key="OPENCODE_API_KEY",
        paths=_v1(CHAT_COMPLETION, LIST_MODELS),
        supported=_types(CHAT_COMPLETION, LIST_MODELS),
        drop_params=OPENAI_ONLY,
        rename_params=_MAX_TOKENS,
    ),
    # Same sources as opencode-zen; default base https://opencode.ai/zen/go. No env_key: Bifrost's
    # docs use OPENCODE_API_KEY for both gateways, and one variable must not enable both.
    CompatSpec(
        name="opencode-go",
        base_url="https://opencode.ai/zen/go",
        paths=_v1(CHAT_COMPLETION, LIST_MODELS),
        supported=_types(CHAT_COMPLETION, LIST_MODELS),
        drop_params=OPENAI_ONLY,
        rename_params=_MAX_TOKENS,
        note="OpenCode Go may reject requests without an x-opencode-session header; Bifrost sends "
             "one per conversation.",
    ),
    # OURS. LiteLLM get_llm_provider_logic.py sambanova: https://api.sambanova.ai/v1,
    # SAMBANOVA_API_KEY. Embeddings: SambaNova serves /v1/embeddings (Bifrost's Hugging Face
    # provider routes sambanova embeddings to it).
    CompatSpec(
        name="sambanova",
        base_url="https://api.sambanova.ai",
        env_key="SAMBANOVA_API_KEY",
        paths=_v1(CHAT_COMPLETION, EMBEDDING, LIST_MODELS),
        supported=_types(CHAT_COMPLETION, EMBEDDING, LIST_MODELS),
        note="Not a Bifrost built-in.",
    ),
    # OURS. LiteLLM get_llm_provider_logic.py novita: https://api.novita.ai/v3/openai (paths
    # appended without /v1), NOVITA_API_KEY.
    CompatSpec(
        name="novita",
        base_url="https://api.novita.ai/v3/openai",
        env_key="NOVITA_API_KEY",
        paths={CHAT_COMPLETION: "/chat/completions", TEXT_COMPLETION: "/completions", LIST_MODELS: "/models"},
        supported=_types(CHAT_COMPLETION, TEXT_COMPLETION, LIST_MODELS),
        note="Not a Bifrost built-in.",
    ),
    # OURS. LiteLLM openai_like JSON providers (hyperbolic): https://api.hyperbolic.xyz/v1,
    # HYPERBOLIC_API_KEY.
    CompatSpec(
        name="hyperbolic",
        base_url="https://api.hyperbolic.xyz",
        env_key="HYPERBOLIC_API_KEY",
        paths=_v1(CHAT_COMPLETION, LIST_MODELS),
        supported=_types(CHAT_COMPLETION, LIST_MODELS),
        note="Not a Bifrost built-in.",
    ),
    # OURS. LiteLLM DeepInfraConfig: https://api.deepinfra.com/v1/openai (paths appended without
    # /v1), DEEPINFRA_API_KEY.
    CompatSpec(
        name="deepinfra",
        base_url="https://api.deepinfra.com/v1/openai",
        env_key="DEEPINFRA_API_KEY",
        paths={
            CHAT_COMPLETION: "/chat/completions",
            TEXT_COMPLETION: "/completions",
            EMBEDDING: "/embeddings",
            LIST_MODELS: "/models",
        },
        supported=_types(CHAT_COMPLETION, TEXT_COMPLETION, EMBEDDING, LIST_MODELS),
        note="Not a Bifrost built-in.",
    ),
)

COMPAT_PROVIDERS: dict[str, CompatSpec] = {spec.name: spec for spec in _ROWS}

# Names Bifrost has that are OpenAI-compatible on the wire but cannot be one static row:
# github-copilot (token exchange, per-account host and editor-identity headers) and databricks
# (per-workspace host, no default). wafer is in Bifrost's provider list with no documentation
# to source a row from, and typesafe serves decisions, not chat.
NOT_TABULATED = frozenset({"github-copilot", "databricks", "wafer", "typesafe"})


def compat_spec(name: str) -> CompatSpec | None:
    """The row for an OpenAI-compatible provider, or None."""
    return COMPAT_PROVIDERS.get(name)
