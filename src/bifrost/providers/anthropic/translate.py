"""Anthropic Messages API <-> OpenAI Chat Completions (the gateway's neutral format). Pure: dicts in,
dicts out; no I/O, no logging, no module state. Requests that cannot be served raise ValueError with a
message for the client (the caller answers 400).

Provider direction (gateway -> api.anthropic.com):
    chat_to_messages(body, model)          chat request            -> Messages request
    messages_response_to_chat(resp, model) Message                 -> chat.completion
    MessagesStreamToChat(model).feed(event, data) -> [chunk]       (StreamError on an `error` event)
    error_message(status, body)            Anthropic error body    -> (message, type)
Inbound direction (Anthropic SDK -> /anthropic/v1/messages -> any provider):
    messages_to_chat(body, native=False)   Messages request        -> chat request
    chat_response_to_messages(resp, model) chat.completion         -> Message
    ChatStreamToMessages(model).feed(chunk) / .finish() -> [(event, data)]
    error_body(status, message)            failure                 -> {"type": "error", "error": {...}}

chat_to_messages mapping
    system / developer messages (anywhere)  -> `system`: one string ("\\n"-joined), or text blocks when any
                                               part has cache_control; a system-only transcript -> one user turn
    user / assistant                        -> same roles; consecutive same-role turns merged; a lone plain
                                               text block is sent as a string
    text part (+cache_control)              -> text block (+cache_control); empty text dropped
    image_url data: URL / http(s) URL       -> image {source: base64 + media_type} / {source: url}
    file (PDF or text/* data: URL, file_id) -> document block (title = filename); file_id needs the files beta
    assistant reasoning_details (signed)    -> leading thinking / redacted_thinking blocks; unsigned dropped
    assistant tool_calls                    -> tool_use {id, name, input = JSON-decoded arguments; bad JSON -> {}}
    role "tool" (consecutive)               -> one user turn of tool_result {tool_use_id, content}
    tool ids                                -> characters outside [a-zA-Z0-9_-] replaced by "_"
    final assistant turn (prefill)          -> trailing whitespace trimmed (Anthropic rejects it)
    max_completion_tokens / max_tokens      -> max_tokens; else Bifrost's per-model table (default_max_tokens)
    temperature, top_p, top_k               -> same; top_p dropped when temperature is set (Bifrost); all three
                                               dropped on Opus 4.7+/Sonnet 5/Fable; with thinking on, temperature
                                               (unless 1), top_k and top_p < 0.95 are dropped (Anthropic rejects them)
    stop (string or list)                   -> stop_sequences
    tools (function)                        -> {name, description, input_schema = parameters, strict, cache_control}
    tools of an Anthropic type (web_search_20250305, bash_20250124...) -> passed as-is; other types -> ValueError
    tool_choice auto/none/required/function -> {type: auto}/{type: none}/{type: any}/{type: tool, name};
                                               allowed_tools -> any (mode required) or auto
    parallel_tool_calls: false              -> tool_choice.disable_parallel_tool_use: true
    reasoning_effort / reasoning.effort     -> thinking (see translate_common.thinking_for: budget_tokens =
                                               1024 + ratio*(max_tokens-1024), ratio minimal .025, low .15,
                                               medium .425, high .8; adaptive + output_config.effort on
                                               Opus/Sonnet 4.6+); "none" -> {type: disabled}
    reasoning.max_tokens                    -> thinking.budget_tokens
    thinking (Anthropic object)             -> passed as-is (wins over reasoning_effort)
    response_format json_schema             -> output_config.format {type: json_schema, schema}
    user (or safety_identifier)             -> metadata.user_id
    service_tier auto / default             -> auto / standard_only
    stream                                  -> stream
    container, mcp_servers, context_management, inference_geo, speed, cache_control, diagnostics,
    output_config                           -> passed as-is (Anthropic-native extras)
    n > 1                                   -> ValueError
    dropped: frequency_penalty, presence_penalty, logit_bias, logprobs, top_logprobs, seed, metadata (OpenAI's),
             stream_options, store, modalities, audio, prediction, verbosity, web_search_options,
             prompt_cache_key, prompt_cache_retention, functions/function_call (legacy), response_format
             json_object/text, message `name`, n = 1; input_audio parts and other part types -> ValueError

messages_response_to_chat / MessagesStreamToChat mapping
    text blocks                -> message.content (joined, no separator); null when only tool calls
    tool_use                   -> tool_calls [{id, type: function, function: {name, arguments: JSON string}}]
    thinking                   -> message.reasoning ("\\n"-joined) + reasoning_details [{index, type:
                                  "reasoning.text", text, signature}] (Bifrost's fields; DeepSeek's
                                  `reasoning_content` is read on input but not emitted)
    redacted_thinking          -> reasoning_details [{type: "reasoning.encrypted", data}]
    server_tool_use, *_tool_result blocks, citations -> dropped
    stop_reason                -> finish_reason: end_turn/stop_sequence/pause_turn -> stop, max_tokens/
                                  model_context_window_exceeded -> length, tool_use -> tool_calls,
                                  refusal -> content_filter; the matched stop_sequence -> choice.stop_reason
                                  (vLLM's field), which the other direction turns back into stop_sequence
    usage                      -> prompt_tokens = input + cache_read + cache_creation; completion_tokens =
                                  output; prompt_tokens_details {cached_tokens: cache_read, cache_write_tokens:
                                  cache_creation}; output_tokens_details.thinking_tokens -> reasoning_tokens
    stream usage               -> message_start usage, overridden by message_delta's cumulative usage; sent
                                  as a final chunk with empty choices at message_stop

messages_to_chat mapping (inverse of the above)
    system string / text blocks -> system message (string, or text parts when several)
    text / image (base64, url) / document (base64 PDF, text) -> text / image_url / file / text parts
    tool_result                 -> tool messages, in order, before the turn's other parts; tool_result images
                                   follow in a user message; is_error is dropped
    tool_use                    -> assistant tool_calls (input JSON-encoded)
    thinking / redacted_thinking -> dropped (native=True: reasoning_details, for replay to Anthropic)
    server-tool blocks          -> dropped
    tools                       -> function tools; server tools dropped (native=True: kept)
    tool_choice auto/any/tool/none -> auto/required/{function}/none; disable_parallel_tool_use ->
                                   parallel_tool_calls false
    stop_sequences -> stop; max_tokens -> max_tokens; metadata.user_id -> user; temperature/top_p/top_k pass
    thinking.enabled            -> reasoning_effort from budget_tokens/max_tokens (<=.25 low, <=.6 medium,
                                   else high; Bifrost GetReasoningEffortFromBudgetTokens); output_config.effort
                                   -> reasoning_effort (xhigh/max -> high)
    output_config.format        -> response_format json_schema (name "output", strict)
    service_tier auto/standard_only -> auto/default
    stream                      -> stream + stream_options {include_usage: true}
    native=True also keeps thinking, output_config, cache_control and the other Anthropic-only fields.

chat_response_to_messages / ChatStreamToMessages: id "msg_" + chat id; reasoning -> thinking blocks first
(signature "" when the provider gave none), then text, then tool_use; finish_reason stop/length/
tool_calls/content_filter -> end_turn/max_tokens/tool_use/refusal ("stop" with tool calls -> tool_use);
usage -> {input_tokens = prompt - cached - cache writes, output_tokens, cache_read_input_tokens,
cache_creation_input_tokens}.

error_body status -> type: 400 invalid_request_error, 401 authentication_error, 402 billing_error,
403 permission_error, 404 not_found_error, 413 request_too_large, 429 rate_limit_error, 500 api_error,
503/529 overloaded_error, 504 timeout_error; other 4xx invalid_request_error, other 5xx api_error.
"""

from __future__ import annotations

from bifrost.providers.anthropic.translate_common import (
    DEFAULT_MAX_TOKENS,
    MAX_OUTPUT_TOKENS,
    default_max_tokens,
    thinking_for,
)
from bifrost.providers.anthropic.translate_inbound import chat_response_to_messages, messages_to_chat
from bifrost.providers.anthropic.translate_request import chat_to_messages
from bifrost.providers.anthropic.translate_response import (
    StreamError,
    error_body,
    error_message,
    messages_response_to_chat,
)
from bifrost.providers.anthropic.translate_stream import ChatStreamToMessages, MessagesStreamToChat

__all__ = [
    "DEFAULT_MAX_TOKENS",
    "MAX_OUTPUT_TOKENS",
    "ChatStreamToMessages",
    "MessagesStreamToChat",
    "StreamError",
    "chat_response_to_messages",
    "chat_to_messages",
    "default_max_tokens",
    "error_body",
    "error_message",
    "messages_response_to_chat",
    "messages_to_chat",
    "thinking_for",
]
