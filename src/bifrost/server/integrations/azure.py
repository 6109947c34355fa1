"""`/openai/deployments/{deployment}/...`: the Azure OpenAI API in front of any configured provider.

`openai.AzureOpenAI(azure_endpoint=<gateway>, api_key=..., api_version=...)` calls
`/openai/deployments/{deployment}/chat/completions|completions|embeddings?api-version=...`. The
deployment is the model: `provider/model` (the slash may be URL-encoded as %2F) or a bare model name,
resolved like any other model, so the request can go to any provider. Bodies and answers are OpenAI's;
errors are Bifrost's error JSON. `api-version` is accepted and ignored, and the client's `api-key`
(its credential to the gateway) is never sent upstream.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

import msgspec

from bifrost.schemas import inference as I
from bifrost.schemas.errors import RequestError
from bifrost.server.asgi import Receive, Scope, Send, read_body
from bifrost.server.inference import handle_inference

PREFIX = "/openai/deployments/"
_OPS = (("/chat/completions", I.CHAT), ("/completions", I.TEXT), ("/embeddings", I.EMBEDDING))


def _target(path: str) -> tuple[str, str]:
    """(deployment, request type) of a drop-in path; 404 RequestError if it names no operation."""
    rest = path[len(PREFIX):]
    for suffix, rtype in _OPS:
        if rest.endswith(suffix) and len(rest) > len(suffix):
            return unquote(rest[: -len(suffix)]), rtype
    raise RequestError(
        f"Route not found: {path}; Azure-style routes are {PREFIX}{{deployment}}/chat/completions, "
        "/completions and /embeddings", status=404, type="not_found")


async def deployments_route(state: Any, scope: Scope, receive: Receive, send: Send) -> int:
    raw_path = scope.get("raw_path")
    # The raw path keeps a %2F inside the deployment until `_target` decodes it.
    path = raw_path.decode("latin-1").split("?", 1)[0] if isinstance(raw_path, bytes) else scope["path"]
    at = path.find(PREFIX)  # after a /litellm, /langchain or /pydanticai mirror prefix
    deployment, rtype = _target(path[at:] if at >= 0 else scope["path"])
    if scope["method"] != "POST":
        raise RequestError(f"method not allowed on {scope['path']}; use POST", status=405)
    raw = await read_body(scope, receive, state.max_body)
    try:
        body = msgspec.json.decode(raw)
    except msgspec.DecodeError as exc:
        raise RequestError(f"invalid request format: {exc}; the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise RequestError("invalid request format: the body must be a JSON object")
    body["model"] = deployment
    return await handle_inference(state.engine, rtype, msgspec.json.encode(body), scope, receive, send)


PREFIXES = [(PREFIX, deployments_route)]
