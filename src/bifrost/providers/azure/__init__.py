"""Azure OpenAI: OpenAI's wire format at per-deployment URLs, with api-key or Entra ID auth."""
