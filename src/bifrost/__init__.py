"""Bifrost for Python: an AI gateway compatible with maximhq/bifrost."""

__version__ = "0.1.0"
