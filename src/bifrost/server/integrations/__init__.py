"""Drop-in routes: provider-native APIs (Anthropic, ...) served through the engine's neutral format."""
