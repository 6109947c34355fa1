"""Fast OpenAI-compatible mock LLM provider (`bifrost mock`); see `bifrost.mock.server`."""

from .options import MockOptions
from .server import MockServer, MockThread, add_arguments, run, start_mock

__all__ = ["MockOptions", "MockServer", "MockThread", "add_arguments", "run", "start_mock"]
