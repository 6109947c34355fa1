"""The logging plugin: every request attempt becomes a row in the logs store (see plugin.py)."""

from bifrost.plugins.logging.plugin import LoggingPlugin

__all__ = ["LoggingPlugin"]
