"""Google Vertex AI provider."""
