"""Drop-in routes: provider-native APIs (Anthropic, ...) served through the engine's neutral format.

Each integration module exposes `ROUTES`: exact path -> handler, and may expose `PREFIXES`:
path prefix -> handler (for paths with parameters, e.g. `/genai/v1beta/models/{model}:{action}`).
A handler is `async (state, scope, receive, send) -> status` and answers everything itself,
errors included, in its API's native shape. Paths are matched after `normalize()`, so every
route also works under `/litellm`, `/langchain` and `/pydanticai`, as in Bifrost.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from bifrost.server.integrations import anthropic, anthropic_complete, azure, bedrock, cohere, genai

Handler = Callable[[Any, dict[str, Any], Any, Any], Awaitable[int]]

ROUTES: dict[str, Handler] = {**anthropic.ROUTES, **anthropic_complete.ROUTES, **cohere.ROUTES, **genai.ROUTES}
PREFIXES: list[tuple[str, Handler]] = [*azure.PREFIXES, *bedrock.PREFIXES, *genai.PREFIXES]
MIRRORS = ("/litellm/", "/langchain/", "/pydanticai/")


def normalize(path: str) -> str:
    """Strip a framework mirror prefix and the `/openai` drop-in prefix: `/litellm/openai/v1/x` -> `/v1/x`."""
    if path.startswith(MIRRORS):
        path = path[path.index("/", 1):]
    if path.startswith("/openai/v1/"):
        path = path[7:]
    return path


def find(path: str) -> tuple[str, Handler] | None:
    """(route label for metrics, handler): a prefix route is labelled by its prefix, so model names
    inside paths (`/genai/v1beta/models/{model}:...`) never become metric labels."""
    h = ROUTES.get(path)
    if h is not None:
        return path, h
    for prefix, handler in PREFIXES:
        if path.startswith(prefix):
            return prefix + "*", handler
    return None
