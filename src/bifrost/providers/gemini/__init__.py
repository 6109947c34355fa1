"""Google Gemini API (AI Studio, generativelanguage v1beta): pure translation to and from OpenAI's wire format.

`bifrost.providers.gemini.translate` is the public surface; the other modules hold its parts.
"""
