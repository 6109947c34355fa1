"""Regression: Converse `cachePoint` blocks were dropped by the drop-in route, so prompt caching silently
stopped for boto3 clients going through the gateway to Bedrock (or Anthropic)."""

from __future__ import annotations

from bifrost.providers.bedrock.translate import chat_to_converse, converse_to_chat

CP = {"cachePoint": {"type": "default"}}
BODY = {"system": [{"text": "shared prefix"}, CP],
        "messages": [{"role": "user", "content": [{"text": "long document"}, CP, {"text": "themes?"}]}]}


def test_converse_cache_points_are_not_dropped_on_the_native_round_trip() -> None:
    chat = converse_to_chat(BODY, cache_points=True)
    assert chat["messages"][0] == {"role": "system", "content": [
        {"type": "text", "text": "shared prefix", "cache_control": {"type": "ephemeral"}}]}
    assert chat["messages"][1]["content"][0]["cache_control"] == {"type": "ephemeral"}
    back = chat_to_converse(chat)
    assert back["system"] == BODY["system"] and back["messages"] == BODY["messages"]


def test_cache_points_are_dropped_for_targets_without_prompt_caching() -> None:
    chat = converse_to_chat(BODY)
    assert chat["messages"] == [{"role": "system", "content": "shared prefix"}, {"role": "user", "content": [
        {"type": "text", "text": "long document"}, {"type": "text", "text": "themes?"}]}]


def test_converse_text_blocks_are_not_glued_together() -> None:
    chat = converse_to_chat({"messages": [{"role": "user", "content": [{"text": "first."}, {"text": "second."}]}]})
    assert chat["messages"][0]["content"] == [{"type": "text", "text": "first."}, {"type": "text", "text": "second."}]
    assert chat_to_converse(chat)["messages"][0]["content"] == [{"text": "first."}, {"text": "second."}]
