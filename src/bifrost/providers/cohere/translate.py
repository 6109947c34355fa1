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

from bifrost.providers.cohere._common import (
    StreamError,
    finish_reason,
)
from bifrost.providers.cohere.embed import (
    cohere_embed_to_embedding,
    embed_to_embedding,
    embedding_response_to_cohere,
    embedding_to_cohere,
)
from bifrost.providers.cohere.inbound import (
    ChatStreamToCohere,
    chat_response_to_cohere,
    cohere_to_chat,
    error_body,
    error_message,
)
from bifrost.providers.cohere.provider import (
    CohereStreamToChat,
    chat_to_cohere,
    cohere_response_to_chat,
)
from bifrost.providers.cohere.rerank import (
    cohere_rerank_request,
    cohere_rerank_to_rerank,
    rerank_documents,
    rerank_response_to_cohere,
    rerank_to_cohere,
)

__all__ = [
    "ChatStreamToCohere",
    "CohereStreamToChat",
    "StreamError",
    "chat_response_to_cohere",
    "chat_to_cohere",
    "cohere_embed_to_embedding",
    "cohere_rerank_request",
    "cohere_rerank_to_rerank",
    "cohere_response_to_chat",
    "cohere_to_chat",
    "embed_to_embedding",
    "embedding_response_to_cohere",
    "embedding_to_cohere",
    "error_body",
    "error_message",
    "finish_reason",
    "rerank_documents",
    "rerank_response_to_cohere",
    "rerank_to_cohere",
]
