"""Google Gemini API (generativelanguage v1beta) <-> OpenAI Chat Completions / Embeddings, both directions.

Pure functions on plain dicts: no I/O, no logging, no module state. Malformed or inexpressible input raises
ValueError with a message meant for the client (GeminiError, a ValueError, for an error inside a stream).

Provider direction (the gateway calls Gemini):
  chat_to_generate(body, model="")          chat request -> GenerateContentRequest
  generate_response_to_chat(resp, model)     GenerateContentResponse -> chat.completion
  GenerateStreamToChat(model).feed/finish    streamGenerateContent?alt=sse data objects -> chat.completion.chunk
  embeddings_to_gemini(body, model)          embeddings request -> ("embedContent" | "batchEmbedContents", body)
  gemini_embeddings_to_openai(resp, model)   embedding response(s) -> OpenAI embedding list
  error_message(status, body)                Google error JSON -> (message, status string)
Inbound direction (google-genai clients call the gateway's /genai/v1beta/models/{model}:...):
  generate_to_chat(body) / count_tokens_to_chat(body)   GenerateContentRequest / countTokens -> chat request
  chat_response_to_generate(resp, model)     chat.completion -> GenerateContentResponse
  ChatStreamToGenerate(model).feed/finish    chat.completion.chunk -> SSE data objects (GenerateContentResponse)
  count_tokens_response(n), embed_to_openai(body, batch), openai_embeddings_to_gemini(resp, batch),
  error_body(status, message)

Request mapping, chat -> Gemini (generate_to_chat applies the inverse):
  system / developer messages     -> systemInstruction.parts[].text (a lone system message -> a user turn)
  user                            -> role "user": text -> {text}; image_url data: URL -> inlineData {mimeType, data};
                                     http(s)/gs URL -> fileData {mimeType from the extension (default image/jpeg),
                                     fileUri}; input_audio -> inlineData audio/<format>; file (file_data) -> inlineData
  assistant                       -> role "model": text parts, tool_calls -> functionCall {id, name, args} parts with
                                     thoughtSignature (from the id, see below; else Google's documented
                                     "skip_thought_signature_validator" placeholder); a trailing plain-text assistant
                                     turn (prefill) is dropped: Gemini rejects contents ending on a model turn
  tool / function messages        -> one role "user" turn per run of consecutive tool messages, functionResponse
                                     {id, name (looked up from the matching tool_call id), response}; response is the
                                     content parsed when it is a JSON object without "$ref", else {"content": text}
  tools (type function), functions -> tools[{functionDeclarations: [{name, description, parameters}]}];
                                     parameters cleaned by schema.to_gemini_schema; an object schema without
                                     properties is left out (Gemini rejects it); other tool types are dropped
  tool_choice / function_call     -> toolConfig.functionCallingConfig: auto AUTO, none NONE, required ANY,
                                     {function: {name}} ANY + allowedFunctionNames [name], allowed_tools ANY
                                     (mode required) or VALIDATED + allowedFunctionNames; only sent with declarations
  temperature, top_p, top_k, n, seed, presence_penalty, frequency_penalty
                                  -> generationConfig temperature, topP, topK, candidateCount, seed, presencePenalty,
                                     frequencyPenalty
  max_completion_tokens / max_tokens -> maxOutputTokens;  stop -> stopSequences
  logprobs / top_logprobs         -> responseLogprobs / logprobs (at most 20)
  response_format json_object     -> responseMimeType application/json; json_schema -> also responseSchema (cleaned,
                                     with propertyOrdering); with tools on a known pre-3.0 model the JSON hint is
                                     dropped (Gemini 2.x rejects JSON mode with function calling)
  reasoning_effort (or reasoning.effort / reasoning.max_tokens)
                                  -> thinkingConfig, model-aware (as Bifrost), includeThoughts true:
       Gemini 3+: thinkingLevel = the effort clamped to the levels the model has (ties go up); "none" -> the lowest
                  level (Gemini 3 cannot switch thinking off)
       Gemini 2.5 / "-latest" / unknown model: thinkingBudget = lo + r * (hi - lo), r = minimal .025, low .15,
                  medium .425, high .8, xhigh .95; [lo, hi] = the model's budget range (flash-lite 512..24576,
                  pro 128..32768, flash 0..24576), hi capped by max_tokens; at least 128; "none" -> 0
                  (left out for 2.5 Pro, which cannot disable thinking); reasoning.max_tokens -> that budget
       other models (2.0, gemma, ...): no thinkingConfig
  safety_settings, cached_content (Bifrost extras) -> safetySettings, cachedContent
  dropped (the body is rebuilt, so any field not listed above): stream, stream_options, user, metadata, store,
           service_tier, parallel_tool_calls, logit_bias, modalities, audio, prediction, verbosity,
           web_search_options, tools[].function.strict, image_url.detail, message name, assistant reasoning_content
Inbound only: generationConfig.responseJsonSchema passes through as json_schema; thinkingLevel -> the same effort;
  thinkingBudget 0 -> none, -1 -> medium, else low/medium/high by share of 24576 (<= .25, <= .6); functionCall
  parts without id get "call_<n>"; functionResponse parts match by id, else by name in call order; a response
  {"content"|"output"|"result": "<text>"} becomes that text, anything else JSON text; thought parts are dropped;
  fileData that is not an image, safetySettings, cachedContent, hosted tools (googleSearch, codeExecution, ...),
  responseModalities, speechConfig, mediaResolution are dropped or refused (fileData -> ValueError).

Response mapping, Gemini -> chat (chat_response_to_generate applies the inverse):
  candidates[i]                   -> choices[index]: text parts joined; thought parts -> reasoning_content;
                                     functionCall -> tool_calls {id: Gemini's id or "call_<hex>", arguments: JSON};
                                     executableCode / codeExecutionResult / inlineData -> text (as Bifrost)
  finishReason                    -> STOP stop (tool_calls when the candidate called functions), MAX_TOKENS length,
                                     SAFETY RECITATION LANGUAGE BLOCKLIST PROHIBITED_CONTENT SPII IMAGE_SAFETY
                                     IMAGE_PROHIBITED_CONTENT IMAGE_RECITATION MODEL_ARMOR content_filter, else stop;
                                     inverse: length MAX_TOKENS, content_filter SAFETY, else STOP
  promptFeedback.blockReason, no candidates -> one empty choice, finish_reason content_filter
  usageMetadata                   -> usage: prompt_tokens promptTokenCount (+ toolUsePromptTokenCount),
                                     completion_tokens candidatesTokenCount + thoughtsTokenCount, total_tokens
                                     totalTokenCount, prompt_tokens_details.cached_tokens cachedContentTokenCount
                                     (+ audio_tokens), completion_tokens_details.reasoning_tokens thoughtsTokenCount
  logprobsResult                  -> choice.logprobs
  responseId                      -> id "chatcmpl-<responseId>"; createTime -> created (else now)
  dropped: safetyRatings, citationMetadata, groundingMetadata, urlContextMetadata, avgLogprobs, modelVersion,
           thoughtSignature of text parts
Thought signatures: a functionCall's thoughtSignature rides in the tool call id as "<id>_ts_<base64url>"
  (Bifrost's scheme), so clients that only echo ids return it; chat_to_generate and chat_response_to_generate
  split it back out.
"""

from __future__ import annotations

from bifrost.providers.gemini.chat_request import chat_to_generate
from bifrost.providers.gemini.chat_response import GeminiError, GenerateStreamToChat, generate_response_to_chat
from bifrost.providers.gemini.embeddings import (
    count_tokens_response,
    embed_to_openai,
    embeddings_to_gemini,
    error_body,
    error_message,
    gemini_embeddings_to_openai,
    openai_embeddings_to_gemini,
)
from bifrost.providers.gemini.genai_request import count_tokens_to_chat, generate_to_chat
from bifrost.providers.gemini.genai_response import ChatStreamToGenerate, chat_response_to_generate
from bifrost.providers.gemini.schema import to_gemini_schema, to_json_schema

__all__ = [
    "ChatStreamToGenerate",
    "GeminiError",
    "GenerateStreamToChat",
    "chat_response_to_generate",
    "chat_to_generate",
    "count_tokens_response",
    "count_tokens_to_chat",
    "embed_to_openai",
    "embeddings_to_gemini",
    "error_body",
    "error_message",
    "gemini_embeddings_to_openai",
    "generate_response_to_chat",
    "generate_to_chat",
    "openai_embeddings_to_gemini",
    "to_gemini_schema",
    "to_json_schema",
]
