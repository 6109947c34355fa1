"""Run the gateway: uvicorn (httptools, uvloop) with graceful shutdown on SIGTERM/SIGINT.

On a signal: /health answers 503, the listener closes, in-flight requests and SSE streams get
`client.shutdown_grace_seconds` (default 55 s) to finish, then the process exits 0.
"""

from __future__ import annotations

import logging
import signal
from types import FrameType

import uvicorn

from bifrost.server.app import AppState, create_app

log = logging.getLogger("bifrost")


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, state: AppState) -> None:
        super().__init__(config)
        self.state = state

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if not self.state.draining:
            name = signal.Signals(sig).name if sig else "signal"
            log.info("received signal %s, initiating graceful shutdown (grace %.0fs)...",
                     name, self.config.timeout_graceful_shutdown or 0)
        self.state.draining = True
        super().handle_exit(sig, frame)
        # uvicorn re-raises captured signals once it has shut down, which would kill the process
        # by SIGTERM (exit -15) after a graceful shutdown; we exit 0 instead.
        captured = getattr(self, "_captured_signals", None)
        if captured is not None:
            captured.clear()

    async def startup(self, sockets: list | None = None) -> None:  # type: ignore[override]
        await super().startup(sockets)
        if self.started:
            cfg = self.config
            log.info("successfully started bifrost, serving on http://%s:%d", cfg.host, cfg.port)


def serve(state: AppState, host: str, port: int) -> int:
    try:
        import uvloop  # noqa: F401
        loop = "uvloop"
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux/macOS
        loop = "asyncio"
    config = uvicorn.Config(
        create_app(state), host=host, port=port, loop=loop, http="httptools", lifespan="on",
        access_log=False, log_config=None, server_header=False, date_header=False, proxy_headers=False,
        timeout_keep_alive=75, backlog=4096,
        timeout_graceful_shutdown=state.config.client.shutdown_grace_seconds,  # type: ignore[arg-type]
        h11_max_incomplete_event_size=None,
    )
    server = _Server(config, state)
    server.run()
    if not server.started:
        return 1
    log.info("server stopped")
    return 0
