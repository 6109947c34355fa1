"""`bifrost mock`: a fast OpenAI-compatible mock LLM provider.

Used by the integration tests, the benchmark and anyone trying the gateway without an API key.

    bifrost mock --port 18000 --latency-ms 50 --chunks 20 --chunk-interval-ms 5
    python -m bifrost.mock --port 0          # prints the port it picked

In-process (tests):

    mock, port = await start_mock(MockOptions(port=0))     # inside a running loop
    ...; await mock.close()

    with MockThread(MockOptions(port=0)) as mock:          # from sync code: own loop in a thread
        client = openai.OpenAI(base_url=mock.base_url, api_key="x")

Routes: POST /v1/chat/completions, /v1/completions, /v1/embeddings, /v1/responses (JSON and SSE),
GET /v1/models[/{id}], GET /health. Anthropic's Messages API too (`anthropic_wire.py`): POST
/v1/messages (JSON and SSE; `x-api-key` + `anthropic-version`), /v1/messages/count_tokens, and
GET /v1/models[/{id}] answer Anthropic-style when the request carries those headers.
Control API: POST|GET|DELETE /mock/script, GET|DELETE /mock/requests, GET|DELETE /mock/stats.
Model names containing `mock-fail-<status>` always fail with that status (in the route's error
shape); `mock-slow-<ms>` adds that much latency.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import socket
import sys
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from .app import MockApp
from .options import MockOptions, add_arguments, options_from_args
from .protocol import HttpProtocol
from .state import MockState

try:
    import uvloop
except ImportError:  # pragma: no cover - uvloop is a dependency everywhere but Windows
    uvloop = None  # type: ignore[assignment]

__all__ = [
    "MockOptions",
    "MockServer",
    "MockThread",
    "add_arguments",
    "options_from_args",
    "run",
    "start_mock",
]

T = TypeVar("T")


class MockServer:
    """A running mock on the current event loop."""

    def __init__(self, server: asyncio.base_events.Server, app: MockApp, host: str, port: int) -> None:
        self.server = server
        self.app = app
        self.host = host
        self.port = port

    @property
    def state(self) -> MockState:
        return self.app.state

    @property
    def url(self) -> str:
        host = self.host
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The OpenAI base URL (with /v1) to give a client or a gateway provider."""
        return self.url + "/v1"

    async def close(self) -> None:
        self.server.close()
        for conn in list(self.app.connections):
            conn.close()
        await self.server.wait_closed()

    async def __aenter__(self) -> MockServer:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


async def start_mock(opts: MockOptions | None = None) -> tuple[MockServer, int]:
    """Start a mock on the running loop; returns the server and the port it listens on."""
    opts = opts or MockOptions()
    loop = asyncio.get_running_loop()
    app = MockApp(opts)
    server = await loop.create_server(
        lambda: HttpProtocol(app), opts.host, opts.port, backlog=opts.backlog, reuse_address=True
    )
    port = opts.port
    for sock in server.sockets or ():
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            port = sock.getsockname()[1]
            break
    return MockServer(server, app, opts.host, port), port


def new_event_loop() -> asyncio.AbstractEventLoop:
    return uvloop.new_event_loop() if uvloop is not None else asyncio.new_event_loop()


class MockThread:
    """A mock running on its own event loop in a daemon thread, for synchronous tests and tools."""

    def __init__(self, opts: MockOptions | None = None) -> None:
        self.opts = opts or MockOptions(port=0)
        self.loop = new_event_loop()
        self.mock: MockServer | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="bifrost-mock", daemon=True)

    def start(self) -> MockThread:
        self._thread.start()
        self._ready.wait(10)
        if self._error is not None:
            raise self._error
        if self.mock is None:
            raise RuntimeError("mock did not start within 10 s")
        return self

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.mock, _ = self.loop.run_until_complete(start_mock(self.opts))
        except BaseException as e:  # surfaced by start()
            self._error = e
            self._ready.set()
            return
        self._ready.set()
        self.loop.run_forever()
        self.loop.run_until_complete(self.mock.close())
        pending = asyncio.all_tasks(self.loop)
        for task in pending:
            task.cancel()
        if pending:
            self.loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        self.loop.close()

    @property
    def port(self) -> int:
        assert self.mock is not None
        return self.mock.port

    @property
    def url(self) -> str:
        assert self.mock is not None
        return self.mock.url

    @property
    def base_url(self) -> str:
        assert self.mock is not None
        return self.mock.base_url

    @property
    def state(self) -> MockState:
        """Read it through `call` (or the HTTP control API): it belongs to the mock's thread."""
        assert self.mock is not None
        return self.mock.state

    def call(self, fn: Callable[[], T], timeout: float = 10.0) -> T:
        """Run fn() on the mock's loop and return its result (e.g. `lambda: m.state.recorded()`)."""

        async def _run() -> T:
            return fn()

        return asyncio.run_coroutine_threadsafe(_run(), self.loop).result(timeout)

    def stop(self) -> None:
        if self._thread.is_alive():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(10)

    def __enter__(self) -> MockThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


async def serve(opts: MockOptions, on_ready: Callable[[MockServer], Any] | None = None) -> None:
    """Serve until SIGTERM or SIGINT."""
    mock, port = await start_mock(opts)
    print(f"bifrost mock listening on {mock.url}", flush=True)
    if on_ready is not None:
        on_ready(mock)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # pragma: no cover - not the main thread / Windows
            pass
    try:
        await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.remove_signal_handler(sig)
            except (NotImplementedError, RuntimeError):  # pragma: no cover
                pass
        await mock.close()


def run(args: argparse.Namespace) -> int:
    """Entry point of `bifrost mock`: runs until SIGTERM/SIGINT, returns the exit code (0)."""
    opts = options_from_args(args)
    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        try:
            runner.run(serve(opts))
        except KeyboardInterrupt:  # SIGINT before our handler was installed
            pass
        except OSError as e:  # e.g. the port is taken
            print(f"bifrost mock: cannot listen on {opts.host}:{opts.port}: {e}", file=sys.stderr, flush=True)
            return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="bifrost mock", description="Fast OpenAI- and Anthropic-compatible mock LLM provider."
    )
    add_arguments(parser)
    return run(parser.parse_args(argv))
