"""Which providers exist, which are enabled from the environment, and how to build a client.

Native providers (anthropic, gemini, bedrock, ...) register here as they are implemented; a
provider Bifrost has but this version does not yet implement is accepted in config.json and
answers a clear "not supported yet" error.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from bifrost.config.model import ProviderConfig
from bifrost.providers.base import Provider
from bifrost.providers.compat_table import COMPAT_PROVIDERS
from bifrost.providers.openai_compat import OpenAICompatProvider


def _anthropic(config: ProviderConfig) -> Provider:
    from bifrost.providers.anthropic.client import AnthropicProvider

    return AnthropicProvider(config)


def _gemini(config: ProviderConfig) -> Provider:
    from bifrost.providers.gemini.client import GeminiProvider

    return GeminiProvider(config)


def _azure(config: ProviderConfig) -> Provider:
    from bifrost.providers.azure.client import AzureProvider

    return AzureProvider(config)


def _bedrock(config: ProviderConfig) -> Provider:
    from bifrost.providers.bedrock.client import BedrockProvider

    return BedrockProvider(config)


def _vertex(config: ProviderConfig) -> Provider:
    from bifrost.providers.vertex.client import VertexProvider

    return VertexProvider(config)


def _cohere(config: ProviderConfig) -> Provider:
    from bifrost.providers.cohere.client import CohereProvider

    return CohereProvider(config)


# Native (non-OpenAI wire format) providers: name -> (builder, standard API-key variable).
NATIVE: dict[str, tuple[Callable[[ProviderConfig], Provider], str | None]] = {
    "anthropic": (_anthropic, "ANTHROPIC_API_KEY"),
    "cohere": (_cohere, "COHERE_API_KEY"),
    "gemini": (_gemini, "GEMINI_API_KEY"),
    "bedrock": (_bedrock, "AWS_BEARER_TOKEN_BEDROCK"),
    "azure": (_azure, None),
    "vertex": (_vertex, None),
}

# Providers in Bifrost's config schema that this version does not implement yet.
NOT_YET_IMPLEMENTED = frozenset({
    "bedrock_mantle", "replicate",
    "elevenlabs", "runway", "runware", "sarvam", "deepgram",
})


def is_known_provider(name: str) -> bool:
    return name in COMPAT_PROVIDERS or name in NATIVE or name in NOT_YET_IMPLEMENTED


def is_implemented(name: str) -> bool:
    return name in COMPAT_PROVIDERS or name in NATIVE


def supports_custom_base(base: str) -> bool:
    return is_implemented(base)


def env_enabled_providers(env: Mapping[str, str]) -> list[tuple[str, str]]:
    """(provider, variable) for each provider whose standard API-key variable is set and non-empty."""
    out = []
    for name, spec in COMPAT_PROVIDERS.items():
        if spec.env_key and env.get(spec.env_key):
            out.append((name, spec.env_key))
    for name, (_, var) in NATIVE.items():
        if var and env.get(var):
            out.append((name, var))
    return out


def build_provider(config: ProviderConfig) -> Provider | None:
    """A client for the configured provider, or None if this version can't serve it yet."""
    native = NATIVE.get(config.base_type)
    if native is not None:
        return native[0](config)
    spec = COMPAT_PROVIDERS.get(config.base_type)
    if spec is None:
        return None
    return OpenAICompatProvider(spec, config)
