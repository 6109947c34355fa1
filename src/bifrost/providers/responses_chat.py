"""Serve the OpenAI Responses API on providers that only speak Chat Completions.

Many OpenAI-compatible upstreams (groq, deepseek, mistral, ollama, ...) have no `/v1/responses`.
Bifrost answers a Responses request for them by converting it to a chat completion request
(`responses_to_chat`) and converting the answer back (`chat_to_responses`, or
`ChatToResponsesStream` for SSE; both live in `responses_chat_output.py` and are re-exported here).

Everything here is pure: plain dicts in, plain dicts out, no I/O, no logging, no module state.
A request that cannot be honoured without the Responses API's server-side state or hosted tools
raises `ValueError` with a message meant for the client; the caller turns it into a 400.

Request mapping (Responses -> Chat Completions):
  instructions                 -> leading {"role": "system"} message
  input (string)               -> one user message
  input items                  -> messages: role messages (developer -> system), function_call ->
                                  assistant tool_calls (consecutive calls, and calls right after an
                                  assistant message, share one assistant message), function_call_output
                                  -> tool message; reasoning and hosted-tool call records are dropped
  tools (type "function")      -> chat tools {"type": "function", "function": {...}}
  tools of other types         -> dropped (web_search, file_search, mcp, ...); see `unsupported_tools`
  tool_choice                  -> chat form; forcing a dropped hosted tool raises ValueError
  max_output_tokens            -> max_tokens
  text.format / text.verbosity -> response_format / verbosity
  reasoning.effort             -> reasoning_effort
  stream: true                 -> stream: true + stream_options {"include_usage": true}
  previous_response_id, conversation, prompt -> ValueError (need server-side state)
  store, include, truncation, background, prompt_cache_key, prompt_cache_retention, max_tool_calls,
  stream_options, top_logprobs, context_management -> dropped
  any other field (temperature, top_p, user, metadata, seed, stop, n, service_tier, safety_identifier,
  provider extras such as top_k, ...) passes through unchanged; fields set to null are left out.
"""

from __future__ import annotations

from typing import Any

from bifrost.providers.responses_chat_output import ChatToResponsesStream, chat_to_responses

__all__ = ["ChatToResponsesStream", "chat_to_responses", "responses_to_chat", "unsupported_tools"]

# Fields that need state the gateway does not keep: refused rather than silently ignored.
_STATEFUL = {
    "previous_response_id": "send the whole conversation in `input` instead",
    "conversation": "send the whole conversation in `input` instead",
    "prompt": "send the prompt text in `instructions` and `input` instead",
}
# Responses-only fields with no chat equivalent (dropped), and fields converted below.
_DROPPED = frozenset(
    {
        "store", "include", "truncation", "background", "prompt_cache_key", "prompt_cache_retention",
        "max_tool_calls", "stream_options", "top_logprobs", "context_management",
    }
)
_CONVERTED = frozenset(
    {"input", "instructions", "tools", "tool_choice", "text", "reasoning", "max_output_tokens", "stream"}
)
# Input items that record work done by hosted tools or hidden reasoning: nothing a chat model can use.
_SKIPPED_ITEMS = frozenset(
    {
        "reasoning", "web_search_call", "file_search_call", "image_generation_call",
        "code_interpreter_call", "mcp_list_tools", "mcp_call",
    }
)
_ROLES = {"user": "user", "assistant": "assistant", "system": "system", "developer": "system"}
_NO_STATE = "this provider has no Responses API and the gateway keeps no response state"


def responses_to_chat(body: dict) -> dict:
    """A Responses API request body -> a Chat Completions request body (both without "model").

    Raises ValueError for what cannot be honoured; see the module docstring for the mapping.
    """
    if not isinstance(body, dict):
        raise ValueError("the request body must be a JSON object")
    for field, hint in _STATEFUL.items():
        if body.get(field):
            raise ValueError(f"`{field}` is not supported: {_NO_STATE}; {hint}")
    out: dict[str, Any] = {
        k: v for k, v in body.items() if v is not None and k not in _DROPPED and k not in _CONVERTED
        and k not in _STATEFUL
    }
    out["messages"] = _messages(body.get("instructions"), body.get("input"))

    tools = [_chat_tool(t) for t in _tool_list(body) if t.get("type") == "function"]
    if tools:
        out["tools"] = tools
    else:
        out.pop("parallel_tool_calls", None)  # chat upstreams reject it without tools
    choice = body.get("tool_choice")
    if choice is not None:
        chat_choice = _chat_tool_choice(choice)
        if tools:
            out["tool_choice"] = chat_choice
        elif chat_choice not in ("auto", "none"):
            raise ValueError("`tool_choice` requires a tool call, but the request has no function tools "
                             "(hosted tools such as web_search are not available on this provider)")

    if body.get("max_output_tokens") is not None:
        out["max_tokens"] = body["max_output_tokens"]
    text = body.get("text")
    if isinstance(text, dict):
        fmt = _response_format(text.get("format"))
        if fmt is not None:
            out["response_format"] = fmt
        if text.get("verbosity") is not None:
            out["verbosity"] = text["verbosity"]
    reasoning = body.get("reasoning")
    if isinstance(reasoning, dict) and reasoning.get("effort") is not None:
        out["reasoning_effort"] = reasoning["effort"]
    if body.get("stream") is not None:
        out["stream"] = bool(body["stream"])
        if out["stream"]:
            out["stream_options"] = {"include_usage": True}
    return out


def unsupported_tools(body: dict) -> list[str]:
    """Types of the request's tools that `responses_to_chat` drops (every non-function tool), in order.

    The caller decides whether to reject the request or to serve it without them.
    """
    return [str(t.get("type")) for t in _tool_list(body) if t.get("type") != "function"]


# ----------------------------------------------------------------------------------------- messages


def _messages(instructions: Any, inp: Any) -> list[dict]:
    messages: list[dict] = []
    if isinstance(instructions, str):
        if instructions:
            messages.append({"role": "system", "content": instructions})
    elif isinstance(instructions, list):  # the form a Response object echoes back
        _append_items(messages, instructions)
    elif instructions is not None:
        raise ValueError("`instructions` must be a string")
    if isinstance(inp, str):
        messages.append({"role": "user", "content": inp})
    elif isinstance(inp, list):
        _append_items(messages, inp)
    elif inp is not None:
        raise ValueError("`input` must be a string or an array of input items")
    return messages


def _append_items(messages: list[dict], items: list) -> None:
    for n, item in enumerate(items):
        if not isinstance(item, dict):
            raise ValueError(f"input[{n}] must be an object")
        kind = item.get("type") or "message"  # "easy" input messages carry no type
        if kind == "message":
            messages.append(_message(item, n))
        elif kind == "function_call":
            call = {
                "id": _required(item, "call_id", n),
                "type": "function",
                "function": {"name": _required(item, "name", n), "arguments": item.get("arguments") or "{}"},
            }
            last = messages[-1] if messages else None
            if last is not None and last["role"] == "assistant":
                last.setdefault("tool_calls", []).append(call)
            else:
                messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
        elif kind == "function_call_output":
            messages.append(
                {"role": "tool", "tool_call_id": _required(item, "call_id", n), "content": _tool_output(item, n)}
            )
        elif kind == "item_reference":
            raise ValueError(f"input[{n}]: `item_reference` is not supported: {_NO_STATE}")
        elif kind not in _SKIPPED_ITEMS:
            raise ValueError(f"input[{n}]: items of type {kind!r} are not supported on this provider")


def _message(item: dict, n: int) -> dict:
    role = _ROLES.get(item.get("role"))
    if role is None:
        raise ValueError(f"input[{n}].role must be one of user, assistant, system, developer")
    content = item.get("content")
    if isinstance(content, str):
        return {"role": role, "content": content}
    if not isinstance(content, list):
        raise ValueError(f"input[{n}].content must be a string or an array of content parts")
    parts = [_part(p, n) for p in content]
    if all(p["type"] == "text" for p in parts) and (len(parts) <= 1 or role != "user"):
        # Plain strings are what every chat upstream accepts, for system and assistant messages too.
        return {"role": role, "content": "\n".join(p["text"] for p in parts)}
    return {"role": role, "content": parts}


def _part(part: Any, n: int) -> dict:
    kind = part.get("type") if isinstance(part, dict) else None
    if kind in ("input_text", "output_text", "text"):
        return {"type": "text", "text": part.get("text") or ""}
    if kind == "refusal":
        return {"type": "refusal", "refusal": part.get("refusal") or ""}
    if kind == "input_image":
        if not part.get("image_url"):
            raise ValueError(f"input[{n}]: `input_image` needs `image_url` (an https or data: URL); "
                             "`file_id` is not supported on this provider")
        image = {"url": part["image_url"]}
        if part.get("detail"):
            image["detail"] = part["detail"]
        return {"type": "image_url", "image_url": image}
    if kind == "input_file":
        if part.get("file_url"):
            raise ValueError(f"input[{n}]: `input_file` with `file_url` is not supported on this provider; "
                             "send `file_data` instead")
        return {"type": "file", "file": {k: part[k] for k in ("file_id", "file_data", "filename") if part.get(k)}}
    if kind == "input_audio":
        return {"type": "input_audio", "input_audio": part.get("input_audio")}
    raise ValueError(f"input[{n}]: content parts of type {kind!r} are not supported on this provider")


def _tool_output(item: dict, n: int) -> str:
    output = item.get("output")
    if output is None or isinstance(output, str):
        return output or ""
    if isinstance(output, list):
        parts = [_part(p, n) for p in output]
        if all(p["type"] == "text" for p in parts):
            return "".join(p["text"] for p in parts)
    raise ValueError(f"input[{n}]: a function_call_output on this provider must be text")


def _required(item: dict, key: str, n: int) -> str:
    value = item.get(key)
    if not isinstance(value, str) or not value:
        raise ValueError(f"input[{n}]: {item.get('type')} items need a string `{key}`")
    return value


# ------------------------------------------------------------------------------------ tools, format


def _tool_list(body: dict) -> list[dict]:
    tools = body.get("tools") or []
    if not isinstance(tools, list) or not all(isinstance(t, dict) for t in tools):
        raise ValueError("`tools` must be an array of tool objects")
    return tools


def _chat_tool(tool: dict) -> dict:
    if not isinstance(tool.get("name"), str) or not tool["name"]:
        raise ValueError("function tools need a `name`")
    fn = {"name": tool["name"]}
    for key in ("description", "parameters", "strict"):
        if tool.get(key) is not None:
            fn[key] = tool[key]
    return {"type": "function", "function": fn}


def _chat_tool_choice(choice: Any) -> Any:
    if isinstance(choice, str):
        return choice  # "auto" | "none" | "required" mean the same in both APIs
    kind = choice.get("type") if isinstance(choice, dict) else None
    if kind == "function" and isinstance(choice.get("name"), str):
        return {"type": "function", "function": {"name": choice["name"]}}
    if kind == "allowed_tools":
        allowed = [
            {"type": "function", "function": {"name": t["name"]}}
            for t in choice.get("tools") or ()
            if isinstance(t, dict) and t.get("type") == "function" and t.get("name")
        ]
        return {"type": "allowed_tools", "allowed_tools": {"mode": choice.get("mode") or "auto", "tools": allowed}}
    raise ValueError(f"`tool_choice` of type {kind!r} is not supported on this provider (only function tools are)")


def _response_format(fmt: Any) -> dict | None:
    if fmt is None:
        return None
    kind = fmt.get("type") if isinstance(fmt, dict) else None
    if kind == "text":
        return None
    if kind == "json_object":
        return {"type": "json_object"}
    if kind == "json_schema":
        schema = {"name": fmt.get("name") or "response", "schema": fmt.get("schema") or {}}
        for key in ("description", "strict"):
            if fmt.get(key) is not None:
                schema[key] = fmt[key]
        return {"type": "json_schema", "json_schema": schema}
    raise ValueError(f"`text.format` of type {kind!r} is not supported on this provider")
