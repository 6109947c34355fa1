"""Which Vertex AI API serves a model, where it lives, and the OpenAI-shaped bodies of the partner APIs. Pure.

As Bifrost's core/providers/vertex/vertex.go (ChatCompletion / ChatCompletionStream) routes them:

* `claude-*` -> ANTHROPIC: `v1/projects/{project_id}/locations/{region}/publishers/anthropic/models/{m}:rawPredict`
  (`:streamRawPredict`), the Messages body.
* an all-digits model -> ENDPOINT, a fine-tuned / custom deployment: `v1beta1/projects/{project_number}/locations/
  {region}/endpoints/{id}:generateContent` (`:streamGenerateContent?alt=sse`), the Gemini body. Bifrost's
  getCompleteURLForGeminiEndpoint; the key's `vertex_key_config.project_number` is required.
* Mistral models (mistral-*, codestral-*, ...) -> MISTRAL: `v1/projects/{project_id}/locations/{region}/publishers/
  mistralai/models/{m}:rawPredict` (`:streamRawPredict`), an OpenAI chat body with the model in it and Mistral's
  quirks (Bifrost's ToOpenAIChatRequest Vertex case: applyMistralCompatibility).
* `publisher/model` ids other than Google's (meta/llama-3.3-70b-instruct-maas, qwen/..., deepseek-ai/...,
  openai/gpt-oss-...) -> OPENAPI, Vertex's OpenAI-compatible Model-as-a-Service endpoint:
  `v1beta1/projects/{project_id}/locations/{region}/endpoints/openapi/chat/completions`, an OpenAI chat body
  (filterOpenAISpecificParameters; reasoning_effort "none" dropped, which MaaS models reject). Bifrost sends
  every model its catalogue does not place elsewhere here; without that catalogue, a bare name without a
  publisher goes to Gemini.
* everything else -> GEMINI: `.../publishers/google/models/{m}:generateContent`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from bifrost.providers.compat_quirks import chat_body
from bifrost.providers.compat_table import OPENAI_ONLY, compat_spec
from bifrost.providers.spec import CompatSpec

GEMINI, ANTHROPIC, MISTRAL, OPENAPI, ENDPOINT = "gemini", "anthropic", "mistral", "openapi", "endpoint"
MISTRAL_PREFIXES = ("mistral", "codestral", "ministral", "pixtral", "magistral", "devstral", "mixtral")
# The Model-as-a-Service endpoint is OpenAI's wire without OpenAI-only fields (Bifrost's filter).
_OPENAPI = CompatSpec(name="vertex-openapi", base_url="", drop_params=OPENAI_ONLY)


def family(model: str) -> str:
    if model.isascii() and model.isdigit():
        return ENDPOINT
    if model.startswith("claude-") or model.startswith("anthropic/claude-"):
        return ANTHROPIC
    bare = model.removeprefix("mistralai/")
    if bare.startswith(MISTRAL_PREFIXES):
        return MISTRAL
    if "/" in model and not model.startswith(("google/", "models/")):
        return OPENAPI
    return GEMINI


def endpoint_for(region: str) -> str:
    return "https://aiplatform.googleapis.com" if region == "global" else f"https://{region}-aiplatform.googleapis.com"


def _q(s: str) -> str:
    return quote(s, safe="")


def location_url(base: str, version: str, project: str, region: str) -> str:
    return f"{base}/{version}/projects/{_q(project)}/locations/{_q(region)}"


def publisher_url(base: str, project: str, region: str, publisher: str, model: str, method: str) -> str:
    return (f"{location_url(base, 'v1', project, region)}/publishers/{publisher}/models/"
            f"{quote(model, safe='-._~@')}:{method}")


def endpoint_url(base: str, project_number: str, region: str, endpoint_id: str, method: str) -> str:
    return f"{location_url(base, 'v1beta1', project_number, region)}/endpoints/{_q(endpoint_id)}:{method}"


def openapi_url(base: str, project: str, region: str) -> str:
    return f"{location_url(base, 'v1beta1', project, region)}/endpoints/openapi/chat/completions"


def openai_chat_body(kind: str, body: dict[str, Any], model: str, stream: bool) -> dict[str, Any]:
    """The OpenAI chat body for a MISTRAL or OPENAPI model (the model stays in the body, as Bifrost sends it)."""
    if kind == MISTRAL:
        spec = compat_spec("mistral")
        assert spec is not None
        out = chat_body(spec, body)
        out["model"] = model.removeprefix("mistralai/")
    else:
        out = chat_body(_OPENAPI, body)
        if out.get("reasoning_effort") == "none":
            del out["reasoning_effort"]
        out["model"] = model
    if stream:
        out["stream"] = True
        out.setdefault("stream_options", {"include_usage": True})
    else:
        out.pop("stream", None)
        out.pop("stream_options", None)
    return out
