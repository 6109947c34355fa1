"""Anthropic Messages API support: pure translation to and from the gateway's OpenAI chat format."""
