"""Cohere v2 API <-> OpenAI Chat Completions / Embeddings (the gateway's neutral format). Pure: dicts in,
dicts out; no I/O, no logging, no module state. Requests that cannot be served raise ValueError with a
message for the client (the caller answers 400).

Provider direction (gateway -> api.cohere.com):
    chat_to_cohere(body, model)              chat request         -> POST /v2/chat request
    cohere_response_to_chat(resp, model)     /v2/chat response    -> chat.completion
    CohereStreamToChat(model).feed(data)     v2 stream event      -> [chunk] (StreamError on finish_reason ERROR)
    embedding_to_cohere(body, model)         embeddings request   -> POST /v2/embed request
    cohere_embed_to_embedding(resp, model, base64=False) embed response -> embeddings list
    error_message(body)                      Cohere error body    -> message
Inbound direction (Cohere SDK -> /cohere/v2/... -> any provider):
    cohere_to_chat(body, native=False)       /v2/chat request     -> chat request
    chat_response_to_cohere(resp)            chat.completion      -> /v2/chat response
    ChatStreamToCohere(tools).feed(chunk) / .finish() -> [event]  (each event's `type` is its SSE event name)
    embed_to_embedding(body, native=False)   /v2/embed request    -> embeddings request
    embedding_response_to_cohere(resp, texts, types) embeddings   -> /v2/embed response (embeddings_by_type)
    error_body(status, message)              failure              -> {"message": ...}

chat_to_cohere mapping
    system / developer messages      -> role "system" (text parts joined with "\\n")
    user text / image_url parts      -> content string (one text part) or [{type: text}, {type: image_url}]
    assistant content / tool_calls   -> content + tool_calls [{id, type: function, function: {name, arguments}}];
                                        assistant `reasoning` with tool calls -> tool_plan
    role "tool"                      -> {role: tool, tool_call_id, content}
    tools (function)                 -> same shape {type: function, function: {name, description, parameters}};
                                        any `strict` function -> strict_tools: true; other tool types -> ValueError
    tool_choice required / none      -> REQUIRED / NONE; a named function -> REQUIRED with only that tool;
                                        auto -> omitted
    response_format json_object      -> {type: json_object}; json_schema -> {type: json_object, json_schema}
    max_completion_tokens/max_tokens -> max_tokens; stop -> stop_sequences; top_p -> p; top_k -> k;
    temperature, seed, frequency_penalty, presence_penalty, logprobs -> same
    reasoning_effort none / other    -> thinking {type: disabled} / {type: enabled}
    documents, citation_options, safety_mode, thinking, priority, strict_tools -> passed as-is (Cohere extras)
    n > 1                            -> ValueError; other OpenAI-only fields dropped

cohere_response_to_chat / CohereStreamToChat mapping
    text content (joined)            -> message.content (null when only tool calls)
    thinking content, tool_plan      -> message.reasoning
    tool_calls                       -> tool_calls (same shape)
    finish_reason                    -> COMPLETE/STOP_SEQUENCE -> stop, MAX_TOKENS -> length, TOOL_CALL ->
                                        tool_calls, ERROR/TIMEOUT -> error
    usage                            -> prompt_tokens / completion_tokens from `tokens` (else `billed_units`);
                                        cached_tokens -> prompt_tokens_details.cached_tokens
    stream                           -> message-start: role chunk; content-delta / tool-plan-delta: content /
                                        reasoning chunks; tool-call-start/-delta: tool_calls chunks (index =
                                        the event's index); message-end: finish chunk + usage chunk (empty choices)

embedding_to_cohere: input (string or strings) -> texts; input_type (Bifrost extra) default "search_document";
encoding_format float/base64 -> embedding_types [float]/[base64]; dimensions -> output_dimension; truncate kept.
Token-array input -> ValueError. Usage: meta.billed_units.input_tokens -> prompt_tokens = total_tokens.

Inverse (cohere_to_chat, chat_response_to_cohere, ChatStreamToCohere): the same tables read backwards;
stop -> COMPLETE, length -> MAX_TOKENS, tool_calls -> TOOL_CALL, content_filter -> ERROR; reasoning ->
tool_plan when the answer calls tools, else thinking content; stream -> stream + stream_options.include_usage.
embedding_response_to_cohere answers the requested embedding_types float and base64 (float32 little-endian);
other types (int8, uint8, binary, ubinary) -> ValueError. Errors are {"message": ...} as Cohere sends them.
"""

from __future__ import annotations

import base64
import struct
import time
from typing import Any

import msgspec

_encode = msgspec.json.encode
_decode = msgspec.json.decode

DEFAULT_INPUT_TYPE = "search_document"
_FINISH = {"COMPLETE": "stop", "STOP_SEQUENCE": "stop", "MAX_TOKENS": "length", "TOOL_CALL": "tool_calls",
           "ERROR": "error", "TIMEOUT": "error"}
_COHERE_FINISH = {"stop": "COMPLETE", "length": "MAX_TOKENS", "tool_calls": "TOOL_CALL", "function_call": "TOOL_CALL",
                  "content_filter": "ERROR", "error": "ERROR"}
# Cohere-only request fields passed through unchanged.
NATIVE_FIELDS = ("documents", "citation_options", "safety_mode", "thinking", "priority", "strict_tools")


class StreamError(Exception):
    """A stream that ended with finish_reason ERROR (message-end delta.error)."""

    def __init__(self, message: str, status: int = 500, type: str | None = "api_error") -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.type = type


def finish_reason(reason: str | None) -> str | None:
    if reason is None:
        return None
    return _FINISH.get(reason, reason.lower())


def cohere_finish(reason: str | None, has_tool_calls: bool = False) -> str:
    if has_tool_calls and reason in (None, "stop", "tool_calls"):
        return "TOOL_CALL"
    return _COHERE_FINISH.get(reason or "stop", "COMPLETE")


# ---------------------------------------------------------------- helpers


def _text_of(content: Any, what: str) -> str:
    """The text of a string or a list of text parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        out = []
        for p in content:
            if isinstance(p, dict) and p.get("type") == "text":
                out.append(str(p.get("text") or ""))
            elif isinstance(p, str):
                out.append(p)
            else:
                kind = p.get("type") if isinstance(p, dict) else type(p).__name__
                raise ValueError(f"{what}: content part of type {kind!r} is not supported")
        return "\n".join(out) if what == "system" else "".join(out)
    raise ValueError(f"{what}: content must be a string or an array of parts")


def _user_content(content: Any) -> Any:
    if content is None or isinstance(content, str):
        return content or ""
    if not isinstance(content, list):
        raise ValueError("user message content must be a string or an array of parts")
    parts: list[dict] = []
    for p in content:
        if not isinstance(p, dict):
            raise ValueError("user message content parts must be objects")
        kind = p.get("type")
        if kind == "text":
            parts.append({"type": "text", "text": str(p.get("text") or "")})
        elif kind == "image_url":
            img = p.get("image_url")
            url = img.get("url") if isinstance(img, dict) else img
            if not isinstance(url, str):
                raise ValueError("image_url part needs image_url.url")
            out: dict = {"type": "image_url", "image_url": {"url": url}}
            if isinstance(img, dict) and img.get("detail"):
                out["image_url"]["detail"] = img["detail"]
            parts.append(out)
        else:
            raise ValueError(f"user message content part of type {kind!r} is not supported by Cohere")
    if len(parts) == 1 and parts[0]["type"] == "text":
        return parts[0]["text"]
    return parts


def _tool_calls(calls: Any) -> list[dict]:
    out = []
    for c in calls or ():
        if not isinstance(c, dict):
            continue
        f = c.get("function") or {}
        args = f.get("arguments")
        out.append({"id": c.get("id"), "type": "function",
                    "function": {"name": f.get("name"), "arguments": args if isinstance(args, str) else
                                 _encode(args if args is not None else {}).decode()}})
    return out


def _tools(tools: Any) -> tuple[list[dict], bool]:
    out, strict = [], False
    for t in tools:
        fdef = t.get("function") if isinstance(t, dict) else None
        if not isinstance(fdef, dict) or t.get("type", "function") != "function":
            kind = t.get("type") if isinstance(t, dict) else None
            raise ValueError(f"tools: tool type {kind!r} is not supported by Cohere (function tools only)")
        f = t["function"]
        fn: dict = {"name": f.get("name")}
        if f.get("description") is not None:
            fn["description"] = f["description"]
        fn["parameters"] = f.get("parameters") or {"type": "object", "properties": {}}
        strict = strict or f.get("strict") is True
        out.append({"type": "function", "function": fn})
    return out, strict


# ---------------------------------------------------------------- provider direction: request


def chat_to_cohere(body: dict, model: str) -> dict:
    n = body.get("n")
    if isinstance(n, int) and n > 1:
        raise ValueError("n > 1 is not supported by Cohere")
    messages = body.get("messages")
    if not isinstance(messages, list):
        raise ValueError("messages must be an array")
    out_msgs: list[dict] = []
    for m in messages:
        if not isinstance(m, dict):
            raise ValueError("each message must be an object")
        role = m.get("role")
        if role in ("system", "developer"):
            out_msgs.append({"role": "system", "content": _text_of(m.get("content"), "system")})
        elif role == "user":
            out_msgs.append({"role": "user", "content": _user_content(m.get("content"))})
        elif role == "assistant":
            msg: dict = {"role": "assistant"}
            text = _text_of(m.get("content"), "assistant")
            calls = _tool_calls(m.get("tool_calls"))
            if text:
                msg["content"] = text
            if calls:
                msg["tool_calls"] = calls
                plan = m.get("reasoning") or m.get("reasoning_content")
                if isinstance(plan, str) and plan:
                    msg["tool_plan"] = plan
            if "content" not in msg and not calls:
                msg["content"] = ""
            out_msgs.append(msg)
        elif role == "tool":
            out_msgs.append({"role": "tool", "tool_call_id": m.get("tool_call_id"),
                             "content": _text_of(m.get("content"), "tool")})
        else:
            raise ValueError(f"message role {role!r} is not supported by Cohere")
    req: dict[str, Any] = {"model": model, "messages": out_msgs}
    tools = body.get("tools")
    if tools:
        if not isinstance(tools, list):
            raise ValueError("tools must be an array")
        req["tools"], strict = _tools(tools)
        if strict:
            req["strict_tools"] = True
    choice = body.get("tool_choice")
    if choice == "required":
        req["tool_choice"] = "REQUIRED"
    elif choice == "none":
        req["tool_choice"] = "NONE"
    elif isinstance(choice, dict):
        name = (choice.get("function") or {}).get("name") if choice.get("type") == "function" else None
        if name and "tools" in req:
            req["tools"] = [t for t in req["tools"] if t["function"]["name"] == name] or req["tools"]
            req["tool_choice"] = "REQUIRED"
        elif choice.get("type") == "allowed_tools" and choice.get("mode") == "required":
            req["tool_choice"] = "REQUIRED"
    rf = body.get("response_format")
    if isinstance(rf, dict):
        if rf.get("type") == "json_object":
            req["response_format"] = {"type": "json_object"}
        elif rf.get("type") == "json_schema":
            js = rf.get("json_schema") or {}
            req["response_format"] = {"type": "json_object", "json_schema": js.get("schema") or {}}
    mt = body.get("max_completion_tokens") or body.get("max_tokens")
    if mt is not None:
        req["max_tokens"] = mt
    stop = body.get("stop")
    if stop:
        req["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
    for src, dst in (("temperature", "temperature"), ("top_p", "p"), ("top_k", "k"), ("seed", "seed"),
                     ("frequency_penalty", "frequency_penalty"), ("presence_penalty", "presence_penalty")):
        if body.get(src) is not None:
            req[dst] = body[src]
    if body.get("logprobs") is True:
        req["logprobs"] = True
    effort = body.get("reasoning_effort")
    if effort is None and isinstance(body.get("reasoning"), dict):
        effort = body["reasoning"].get("effort")
    if isinstance(effort, str):
        req["thinking"] = {"type": "disabled" if effort == "none" else "enabled"}
    for k in NATIVE_FIELDS:
        if k in body:
            req[k] = body[k]
    if body.get("stream"):
        req["stream"] = True
    return req


# ---------------------------------------------------------------- provider direction: response


def chat_usage(usage: dict | None) -> dict:
    usage = usage or {}
    tokens = usage.get("tokens") or {}
    billed = usage.get("billed_units") or {}
    inp = tokens.get("input_tokens")
    out = tokens.get("output_tokens")
    inp = int(inp if inp is not None else billed.get("input_tokens") or 0)
    out = int(out if out is not None else billed.get("output_tokens") or 0)
    res: dict = {"prompt_tokens": inp, "completion_tokens": out, "total_tokens": inp + out}
    if usage.get("cached_tokens"):
        res["prompt_tokens_details"] = {"cached_tokens": int(usage["cached_tokens"])}
    return res


def cohere_usage(usage: dict | None) -> dict:
    usage = usage or {}
    inp, out = int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)
    res: dict = {"billed_units": {"input_tokens": inp, "output_tokens": out},
                 "tokens": {"input_tokens": inp, "output_tokens": out}}
    cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens")
    if cached:
        res["cached_tokens"] = cached
    return res


def cohere_response_to_chat(resp: dict, model: str, created: int | None = None) -> dict:
    msg = resp.get("message") or {}
    texts, thinking = [], []
    content = msg.get("content")
    if isinstance(content, str):
        texts.append(content)
    for block in content if isinstance(content, list) else ():
        if isinstance(block, dict):
            if block.get("type") == "text":
                texts.append(block.get("text") or "")
            elif block.get("type") == "thinking":
                thinking.append(block.get("thinking") or "")
    if msg.get("tool_plan"):
        thinking.append(msg["tool_plan"])
    calls = _tool_calls(msg.get("tool_calls"))
    message: dict = {"role": "assistant", "content": "".join(texts) if texts or not calls else None}
    if calls:
        message["tool_calls"] = calls
    if thinking:
        message["reasoning"] = "\n".join(thinking)
    return {
        "id": resp.get("id") or "",
        "object": "chat.completion",
        "created": int(time.time()) if created is None else created,
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason(resp.get("finish_reason")),
                     "logprobs": None}],
        "usage": chat_usage(resp.get("usage")),
    }


class CohereStreamToChat:
    """Cohere v2 stream events (decoded `data:` payloads) in, chat.completion.chunk dicts out."""

    def __init__(self, model: str, created: int | None = None) -> None:
        self.model = model
        self.created = int(time.time()) if created is None else created
        self.id = ""
        self.finish: str | None = None

    def _chunk(self, delta: dict | None, finish: str | None = None) -> dict:
        return {"id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model,
                "choices": [{"index": 0, "delta": delta or {}, "finish_reason": finish, "logprobs": None}]}

    def feed(self, data: dict) -> list[dict]:
        kind = data.get("type")
        delta: dict = data["delta"] if isinstance(data.get("delta"), dict) else {}
        msg: dict = delta["message"] if isinstance(delta.get("message"), dict) else {}
        if kind == "message-start":
            self.id = data.get("id") or self.id
            return [self._chunk({"role": "assistant", "content": ""})]
        if kind in ("content-start", "content-delta"):
            c: dict = msg["content"] if isinstance(msg.get("content"), dict) else {}
            if c.get("thinking"):
                return [self._chunk({"reasoning": c["thinking"]})]
            if c.get("text"):
                return [self._chunk({"content": c["text"]})]
            return []
        if kind == "tool-plan-delta":
            plan = msg.get("tool_plan")
            return [self._chunk({"reasoning": plan})] if plan else []
        if kind in ("tool-call-start", "tool-call-delta"):
            tc: dict = msg["tool_calls"] if isinstance(msg.get("tool_calls"), dict) else {}
            f: dict = tc["function"] if isinstance(tc.get("function"), dict) else {}
            call: dict = {"index": data.get("index") or 0}
            if kind == "tool-call-start":
                call.update({"id": tc.get("id"), "type": "function",
                             "function": {"name": f.get("name"), "arguments": f.get("arguments") or ""}})
            else:
                call["function"] = {"arguments": f.get("arguments") or ""}
            return [self._chunk({"tool_calls": [call]})]
        if kind == "message-end":
            if delta.get("finish_reason") == "ERROR" or delta.get("error"):
                raise StreamError(str(delta.get("error") or "the model stopped with an error"))
            fin = finish_reason(delta.get("finish_reason")) or "stop"
            out = [self._chunk({}, fin)]
            usage = chat_usage(delta.get("usage"))
            out.append({"id": self.id, "object": "chat.completion.chunk", "created": self.created,
                        "model": self.model, "choices": [], "usage": usage})
            return out
        return []  # content-end, tool-call-end, citation-*, debug


# ---------------------------------------------------------------- embeddings


def embedding_to_cohere(body: dict, model: str) -> dict:
    inp = body.get("input")
    if isinstance(inp, str):
        texts = [inp]
    elif isinstance(inp, list) and inp and all(isinstance(t, str) for t in inp):
        texts = list(inp)
    else:
        raise ValueError("input must be a string or an array of strings (Cohere does not embed token arrays)")
    fmt = body.get("encoding_format") or "float"
    if fmt not in ("float", "base64"):
        raise ValueError("encoding_format must be 'float' or 'base64'")
    req: dict[str, Any] = {"model": model, "texts": texts,
                           "input_type": body.get("input_type") or DEFAULT_INPUT_TYPE,
                           "embedding_types": [fmt]}
    if body.get("dimensions"):
        req["output_dimension"] = body["dimensions"]
    if body.get("truncate"):
        req["truncate"] = body["truncate"]
    return req


def cohere_embed_to_embedding(resp: dict, model: str, b64: bool = False) -> dict:
    emb = resp.get("embeddings")
    vectors: list = []
    if isinstance(emb, dict):
        vectors = emb.get("base64" if b64 else "float") or emb.get("float") or []
    elif isinstance(emb, list):  # embeddings_floats response
        vectors = emb
    meta = resp.get("meta") or {}
    billed = meta.get("billed_units") or {}
    tokens = int(billed.get("input_tokens") or (meta.get("tokens") or {}).get("input_tokens") or 0)
    return {"object": "list",
            "data": [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors)],
            "model": model, "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}


def embed_to_embedding(body: dict, native: bool = False) -> dict:
    texts = body.get("texts")
    if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
        raise ValueError("texts: an array of strings is required (images and `inputs` are not supported)")
    types = body.get("embedding_types") or ["float"]
    if not isinstance(types, list) or any(t not in ("float", "base64") for t in types):
        raise ValueError("embedding_types: only 'float' and 'base64' are supported")
    out: dict[str, Any] = {"input": texts, "encoding_format": "float"}
    if body.get("output_dimension"):
        out["dimensions"] = body["output_dimension"]
    if native:
        for k in ("input_type", "truncate"):
            if body.get(k):
                out[k] = body[k]
    return out


def _b64(vec: Any) -> Any:
    if isinstance(vec, str):
        return vec
    return base64.b64encode(struct.pack(f"<{len(vec)}f", *vec)).decode()


def embedding_response_to_cohere(resp: dict, texts: list[str], types: list[str] | None = None,
                                 rid: str | None = None) -> dict:
    types = types or ["float"]
    data = sorted((d for d in resp.get("data") or () if isinstance(d, dict)), key=lambda d: d.get("index", 0))
    vecs = [d.get("embedding") for d in data]
    floats = [_decode_b64(v) if isinstance(v, str) else v for v in vecs]
    embeddings: dict[str, Any] = {}
    if "float" in types:
        embeddings["float"] = floats
    if "base64" in types:
        embeddings["base64"] = [_b64(v) for v in vecs]
    tokens = int((resp.get("usage") or {}).get("prompt_tokens") or 0)
    return {"id": rid or resp.get("id") or "", "embeddings": embeddings, "texts": texts,
            "meta": {"api_version": {"version": "2"}, "billed_units": {"input_tokens": tokens}},
            "response_type": "embeddings_by_type"}


def _decode_b64(s: str) -> list[float]:
    raw = base64.b64decode(s)
    return list(struct.unpack(f"<{len(raw) // 4}f", raw))


# ---------------------------------------------------------------- inbound direction


def _cohere_content(content: Any, role: str) -> tuple[Any, str]:
    """(OpenAI content, thinking text) of a Cohere message's content."""
    if content is None or isinstance(content, str):
        return content or "", ""
    if not isinstance(content, list):
        raise ValueError(f"{role} message content must be a string or an array")
    parts: list[dict] = []
    thinking = []
    for p in content:
        if not isinstance(p, dict):
            raise ValueError(f"{role} message content items must be objects")
        kind = p.get("type")
        if kind == "text":
            parts.append({"type": "text", "text": p.get("text") or ""})
        elif kind == "image_url" and role == "user":
            img = p.get("image_url")
            url = img.get("url") if isinstance(img, dict) else img
            parts.append({"type": "image_url", "image_url": {"url": url}})
        elif kind == "thinking":
            thinking.append(p.get("thinking") or "")
        elif kind == "document":
            doc = p.get("document") or {}
            data = doc.get("data") if isinstance(doc, dict) else doc
            parts.append({"type": "text", "text": data if isinstance(data, str) else _encode(data).decode()})
        else:
            raise ValueError(f"{role} message content of type {kind!r} is not supported")
    if role != "user" or all(p["type"] == "text" for p in parts):
        return "".join(p["text"] for p in parts) if role != "user" or len(parts) <= 1 else parts, "\n".join(thinking)
    return parts, "\n".join(thinking)


def cohere_to_chat(body: dict, native: bool = False) -> dict:
    messages = body.get("messages")
    if not isinstance(messages, list):
        raise ValueError("messages: an array of messages is required")
    if body.get("documents") and not native:
        raise ValueError("documents (RAG) are only supported when the model is served by Cohere")
    out_msgs: list[dict] = []
    for m in messages:
        if not isinstance(m, dict):
            raise ValueError("each message must be an object")
        role = m.get("role")
        if role == "system":
            text, _ = _cohere_content(m.get("content"), "system")
            out_msgs.append({"role": "system", "content": text})
        elif role == "user":
            content, _ = _cohere_content(m.get("content"), "user")
            if isinstance(content, list) and len(content) == 1 and content[0]["type"] == "text":
                content = content[0]["text"]
            out_msgs.append({"role": "user", "content": content})
        elif role == "assistant":
            text, thinking = _cohere_content(m.get("content"), "assistant")
            msg: dict = {"role": "assistant", "content": text or None}
            calls = _tool_calls(m.get("tool_calls"))
            if calls:
                msg["tool_calls"] = calls
            elif msg["content"] is None:
                msg["content"] = ""
            if native and (m.get("tool_plan") or thinking):
                msg["reasoning"] = m.get("tool_plan") or thinking
            out_msgs.append(msg)
        elif role == "tool":
            text, _ = _cohere_content(m.get("content"), "tool")
            out_msgs.append({"role": "tool", "tool_call_id": m.get("tool_call_id"), "content": text})
        else:
            raise ValueError(f"message role {role!r} is not supported")
    chat: dict[str, Any] = {"model": body.get("model"), "messages": out_msgs}
    if body.get("tools"):
        chat["tools"], _ = _tools(body["tools"])
        if body.get("strict_tools"):
            for t in chat["tools"]:
                t["function"]["strict"] = True
    tc = body.get("tool_choice")
    if tc == "REQUIRED":
        chat["tool_choice"] = "required"
    elif tc == "NONE":
        chat["tool_choice"] = "none"
    rf = body.get("response_format")
    if isinstance(rf, dict) and rf.get("type") == "json_object":
        schema = rf.get("json_schema") or rf.get("schema")
        chat["response_format"] = ({"type": "json_schema", "json_schema": {"name": "output", "schema": schema}}
                                   if schema else {"type": "json_object"})
    if body.get("max_tokens") is not None:
        chat["max_tokens"] = body["max_tokens"]
    if body.get("stop_sequences"):
        chat["stop"] = body["stop_sequences"]
    for src, dst in (("temperature", "temperature"), ("p", "top_p"), ("k", "top_k"), ("seed", "seed"),
                     ("frequency_penalty", "frequency_penalty"), ("presence_penalty", "presence_penalty")):
        if body.get(src) is not None:
            chat[dst] = body[src]
    if body.get("logprobs") is True:
        chat["logprobs"] = True
    think_cfg = body.get("thinking")
    if native:
        for k in NATIVE_FIELDS:
            if k in body:
                chat[k] = body[k]
    elif isinstance(think_cfg, dict) and think_cfg.get("type") == "enabled":
        chat["reasoning_effort"] = "medium"
    if body.get("stream"):
        chat["stream"] = True
        chat["stream_options"] = {"include_usage": True}
    return chat


def chat_response_to_cohere(resp: dict) -> dict:
    choice = (resp.get("choices") or [{}])[0]
    msg = choice.get("message") or {}
    calls = _tool_calls(msg.get("tool_calls"))
    out: dict = {"role": "assistant"}
    reasoning = msg.get("reasoning") or msg.get("reasoning_content")
    content: list[dict] = []
    if reasoning and not calls:
        content.append({"type": "thinking", "thinking": reasoning})
    text = msg.get("content")
    if isinstance(text, list):
        text = "".join(p.get("text") or "" for p in text if isinstance(p, dict))
    if text:
        content.append({"type": "text", "text": text})
    if content:
        out["content"] = content
    if calls:
        out["tool_calls"] = calls
        if reasoning:
            out["tool_plan"] = reasoning
    return {"id": resp.get("id") or "", "finish_reason": cohere_finish(choice.get("finish_reason"), bool(calls)),
            "message": out, "usage": cohere_usage(resp.get("usage"))}


class ChatStreamToCohere:
    """chat.completion.chunk dicts in, Cohere v2 stream events out (each a dict whose `type` names it).

    tools: the request offered tools, so reasoning is streamed as tool-plan-delta (Cohere's tool plan);
    otherwise as thinking content."""

    def __init__(self, tools: bool = False) -> None:
        self.tools = tools
        self.started = False
        self.id = ""
        self.block: str | None = None  # open content block kind: "text" / "thinking"
        self.content_index = -1
        self.tool: int | None = None  # open tool-call index (Cohere's numbering)
        self.tool_count = 0
        self.tool_map: dict[int, int] = {}
        self.reason: str | None = None
        self.usage: dict | None = None

    def _start(self, chunk: dict, out: list) -> None:
        if not self.started:
            self.started = True
            self.id = chunk.get("id") or ""
            out.append({"id": self.id, "type": "message-start",
                        "delta": {"message": {"role": "assistant", "content": [], "tool_plan": "",
                                              "tool_calls": [], "citations": []}}})

    def _close_content(self, out: list) -> None:
        if self.block is not None:
            out.append({"type": "content-end", "index": self.content_index})
            self.block = None

    def _close_tool(self, out: list) -> None:
        if self.tool is not None:
            out.append({"type": "tool-call-end", "index": self.tool})
            self.tool = None

    def _content(self, kind: str, text: str, out: list) -> None:
        if self.block != kind:
            self._close_content(out)
            self._close_tool(out)
            self.content_index += 1
            self.block = kind
            out.append({"type": "content-start", "index": self.content_index,
                        "delta": {"message": {"content": {"type": kind, kind: ""}}}})
        out.append({"type": "content-delta", "index": self.content_index,
                    "delta": {"message": {"content": {kind: text}}}})

    def feed(self, chunk: dict) -> list[dict]:
        out: list[dict] = []
        self._start(chunk, out)
        if isinstance(chunk.get("usage"), dict):
            self.usage = chunk["usage"]
        for choice in chunk.get("choices") or ():
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            reasoning = delta.get("reasoning") or delta.get("reasoning_content")
            if reasoning:
                if self.tools or self.tool_count or delta.get("tool_calls"):
                    out.append({"type": "tool-plan-delta", "delta": {"message": {"tool_plan": reasoning}}})
                else:
                    self._content("thinking", reasoning, out)
            if delta.get("content"):
                self._content("text", delta["content"], out)
            for call in delta.get("tool_calls") or ():
                self._tool_delta(call, out)
            if choice.get("finish_reason"):
                self.reason = choice["finish_reason"]
        return out

    def _tool_delta(self, call: dict, out: list) -> None:
        idx = call.get("index", 0)
        f = call.get("function") or {}
        if idx not in self.tool_map:
            self._close_content(out)
            self._close_tool(out)
            self.tool_map[idx] = self.tool = self.tool_count
            self.tool_count += 1
            out.append({"type": "tool-call-start", "index": self.tool,
                        "delta": {"message": {"tool_calls": {"id": call.get("id") or f"call_{self.tool}",
                                                             "type": "function",
                                                             "function": {"name": f.get("name") or "",
                                                                          "arguments": f.get("arguments") or ""}}}}})
        elif f.get("arguments"):
            out.append({"type": "tool-call-delta", "index": self.tool_map[idx],
                        "delta": {"message": {"tool_calls": {"function": {"arguments": f["arguments"]}}}}})

    def finish(self) -> list[dict]:
        out: list[dict] = []
        self._start({}, out)
        self._close_content(out)
        self._close_tool(out)
        out.append({"type": "message-end",
                    "delta": {"finish_reason": cohere_finish(self.reason, self.tool_count > 0),
                              "usage": cohere_usage(self.usage)}})
        return out


# ---------------------------------------------------------------- errors


def error_body(status: int, message: str) -> dict:
    return {"message": message}


def error_message(raw: dict | bytes) -> str:
    body: Any = raw
    if isinstance(raw, bytes):
        try:
            body = _decode(raw)
        except msgspec.DecodeError:
            return raw.decode("utf-8", "replace")
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return body["message"]
    return str(body)


# ---------------------------------------------------------------- rerank
# Bifrost's neutral rerank: request {query, documents: [string | {text, id?, meta?}], top_n?,
# return_documents?, max_tokens_per_doc?, priority?} (the options may also sit under `params`, as in
# BifrostRerankRequest); response {id?, results: [{index, relevance_score, document?}], model, usage?}.

RERANK_OPTIONS = ("top_n", "max_tokens_per_doc", "priority")


def rerank_documents(docs: Any) -> list[dict]:
    """Documents as `{"text": ...}` objects; a string is shorthand for `{"text": string}`."""
    if not isinstance(docs, list) or not docs:
        raise ValueError("documents must be a non-empty array of strings or {\"text\": ...} objects")
    out = []
    for i, d in enumerate(docs):
        if isinstance(d, str):
            out.append({"text": d})
        elif isinstance(d, dict) and isinstance(d.get("text"), str):
            out.append(d)
        else:
            raise ValueError(f"documents[{i}] must be a string or an object with a string \"text\"")
    return out


def rerank_params(body: dict) -> dict:
    """The rerank options, flat or under `params` (flat wins)."""
    params = body.get("params")
    out = dict(params) if isinstance(params, dict) else {}
    out.update({k: v for k, v in body.items() if k not in ("params", "query", "documents", "model")})
    return out


def rerank_to_cohere(body: dict, model: str) -> dict:
    """Neutral rerank request -> Cohere POST /v2/rerank (documents as strings)."""
    query = body.get("query")
    if not isinstance(query, str):
        raise ValueError("query must be a string")
    docs = rerank_documents(body.get("documents"))
    out: dict[str, Any] = {"model": model, "query": query, "documents": [d["text"] for d in docs]}
    params = rerank_params(body)
    for k in RERANK_OPTIONS:
        if params.get(k) is not None:
            out[k] = params[k]
    return out


def cohere_rerank_to_rerank(resp: dict, model: str, body: dict) -> dict:
    """Cohere's rerank response -> Bifrost's neutral rerank response.

    Results keep Cohere's order (most relevant first); with `return_documents` each result carries
    the request's document. Usage: `search_units` (and any token counts) from meta.billed_units.
    """
    docs = rerank_documents(body.get("documents"))
    want_docs = rerank_params(body).get("return_documents") is True
    results = []
    for r in resp.get("results") or []:
        if not isinstance(r, dict) or not isinstance(r.get("index"), int):
            continue
        item: dict[str, Any] = {"index": r["index"], "relevance_score": r.get("relevance_score", 0.0)}
        if want_docs and 0 <= r["index"] < len(docs):
            item["document"] = docs[r["index"]]
        results.append(item)
    out: dict[str, Any] = {}
    if resp.get("id"):
        out["id"] = resp["id"]
    out["results"] = results
    out["model"] = model
    meta = resp.get("meta")
    billed = meta.get("billed_units") if isinstance(meta, dict) else None
    if isinstance(billed, dict) and billed:
        inp = int(billed.get("input_tokens") or 0)
        outp = int(billed.get("output_tokens") or 0)
        usage: dict[str, Any] = {"prompt_tokens": inp, "completion_tokens": outp, "total_tokens": inp + outp}
        if billed.get("search_units") is not None:
            usage["search_units"] = billed["search_units"]
        out["usage"] = usage
    return out


def cohere_rerank_request(body: dict) -> dict:
    """The Cohere SDK's /v2/rerank body -> the neutral rerank body (without `model`)."""
    query = body.get("query")
    if not isinstance(query, str):
        raise ValueError("invalid request: query must be a string")
    out: dict[str, Any] = {"query": query, "documents": rerank_documents(body.get("documents"))}
    for k in (*RERANK_OPTIONS, "return_documents"):
        if body.get(k) is not None:
            out[k] = body[k]
    return out


def rerank_response_to_cohere(resp: dict) -> dict:
    """The neutral rerank response -> Cohere's v2 rerank response."""
    results = []
    for r in resp.get("results") or []:
        if isinstance(r, dict) and isinstance(r.get("index"), int):
            results.append({"index": r["index"], "relevance_score": r.get("relevance_score", 0.0)})
    billed: dict[str, Any] = {}
    usage = resp.get("usage")
    if isinstance(usage, dict):
        if usage.get("search_units") is not None:
            billed["search_units"] = usage["search_units"]
        if usage.get("prompt_tokens"):
            billed["input_tokens"] = usage["prompt_tokens"]
        if usage.get("completion_tokens"):
            billed["output_tokens"] = usage["completion_tokens"]
    meta: dict[str, Any] = {"api_version": {"version": "2"}}
    if billed:
        meta["billed_units"] = billed
    return {"id": resp.get("id") or "", "results": results, "meta": meta}
