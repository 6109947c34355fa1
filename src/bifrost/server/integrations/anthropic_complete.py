"""POST /anthropic/v1/complete: Anthropic's legacy Text Completions API (the anthropic SDK's
`client.completions.create`) in front of any configured provider, as Bifrost's anthropic integration
serves it (createAnthropicCompleteRouteConfig): the body becomes an OpenAI text completion, the answer
an Anthropic completion. Not streaming, as in Bifrost (it has no stream converter for this route):
`"stream": true` answers 400.

    request   model ("provider/model")            -> routing
              prompt                              -> prompt (as sent, Human/Assistant turns included)
              max_tokens_to_sample                -> max_tokens
              stop_sequences                      -> stop
              temperature, top_p                  -> same; top_k only for anthropic/bedrock targets
    response  {"type": "completion", "id", "model", "completion": choices[0].text,
               "stop_reason": stop -> "stop_sequence", length -> "max_tokens", "stop": null,
               "usage": {"input_tokens", "output_tokens"}}
"""

from __future__ import annotations

from typing import Any

import msgspec

from bifrost.engine.core import Engine
from bifrost.schemas import inference as I
from bifrost.schemas.errors import BifrostError, RequestError
from bifrost.schemas.inference import InferenceRequest, InferenceStream
from bifrost.server.asgi import JSON_HEADERS, Receive, Scope, Send, read_body, send_bytes
from bifrost.server.inference import new_context
from bifrost.server.integrations.anthropic import send_anthropic_error

_decode = msgspec.json.decode
_encode = msgspec.json.encode
_STOP = {"stop": "stop_sequence", "length": "max_tokens"}
_TOP_K = frozenset({"anthropic", "bedrock"})


def parse(engine: Engine, raw: bytes) -> InferenceRequest:
    try:
        body = _decode(raw)
    except msgspec.DecodeError as exc:
        raise RequestError(f"invalid request format: {exc}; the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise RequestError("invalid request format: the body must be a JSON object")
    if not isinstance(body.get("prompt"), str):
        raise RequestError('prompt: Field required (a string such as "\\n\\nHuman: Hello\\n\\nAssistant:")',
                           param="prompt")
    mts = body.get("max_tokens_to_sample")
    if not isinstance(mts, int) or isinstance(mts, bool):
        raise RequestError("max_tokens_to_sample: Field required (an integer)", param="max_tokens_to_sample")
    if body.get("stream"):
        raise RequestError("streaming is not supported on /v1/complete; send \"stream\": false, or use "
                           "/anthropic/v1/messages for streaming", param="stream")
    target = engine.resolve(body.get("model"))
    out: dict[str, Any] = {"prompt": body["prompt"], "max_tokens": mts}
    stops = body.get("stop_sequences")
    if isinstance(stops, list) and stops:
        out["stop"] = stops
    for k in ("temperature", "top_p"):
        if body.get(k) is not None:
            out[k] = body[k]
    rt = engine.runtimes.get(target.provider)
    if body.get("top_k") is not None and rt is not None and rt.config.base_type in _TOP_K:
        out["top_k"] = body["top_k"]
    return InferenceRequest(request_type=I.TEXT, target=target, body=out, model_requested=str(body["model"]),
                            client_wants_usage=True)


def to_completion(resp: dict, model: str) -> dict:
    choice = (resp.get("choices") or [{}])[0]
    usage = resp.get("usage") or {}
    return {"type": "completion", "id": resp.get("id") or "", "model": model,
            "completion": choice.get("text") or "",
            "stop_reason": _STOP.get(choice.get("finish_reason") or "", "stop_sequence"), "stop": None,
            "usage": {"input_tokens": int(usage.get("prompt_tokens") or 0),
                      "output_tokens": int(usage.get("completion_tokens") or 0)}}


async def complete_route(state: Any, scope: Scope, receive: Receive, send: Send) -> int:
    if scope["method"] != "POST":
        return await send_anthropic_error(send, RequestError(f"method not allowed on {scope['path']}; use POST",
                                                             status=405))
    try:
        req = parse(state.engine, await read_body(scope, receive, state.max_body))
        result = await state.engine.handle(req, new_context(scope))
        if isinstance(result, InferenceStream):  # not asked for; never expected
            raise BifrostError("the provider answered a stream to a non-streaming request", status=502)
        resp = _decode(result.body)
        if not isinstance(resp, dict):
            raise BifrostError("the provider's answer was not a JSON object", status=502)
    except msgspec.DecodeError:
        return await send_anthropic_error(send, BifrostError("the provider's answer was not JSON", status=502))
    except BifrostError as exc:
        return await send_anthropic_error(send, exc)
    await send_bytes(send, 200, _encode(to_completion(resp, req.model_requested)), JSON_HEADERS)
    return 200


ROUTES = {"/anthropic/v1/complete": complete_route}
