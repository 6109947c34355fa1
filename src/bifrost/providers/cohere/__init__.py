"""Cohere v2 API: the native provider (`client.py`) and the pure translators (`translate.py`)."""
