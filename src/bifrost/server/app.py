"""The ASGI application: routing, errors, CORS, /health, /metrics and lifespan.

No framework: a dict lookup routes a request, so the per-request cost is what the handlers do.
All state lives in `AppState`, built by `create_app`; tests can build as many apps as they like.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any, Protocol

import msgspec

from bifrost import __version__
from bifrost.cluster import ClusterNode
from bifrost.cluster.usage import GossipUsage
from bifrost.config.model import ClientConfig, GatewayConfig
from bifrost.engine.core import Engine
from bifrost.engine.pipeline import Plugin
from bifrost.governance import service as governance
from bifrost.governance.plugin import GovernancePlugin, vk_from_headers
from bifrost.metrics import GatewayMetrics
from bifrost.plugins.logging import LoggingPlugin
from bifrost.pricing import Catalog
from bifrost.schemas import inference as I
from bifrost.schemas.errors import BifrostError, RequestError
from bifrost.server import api, integrations
from bifrost.server.asgi import (
    ClientGone,
    Receive,
    Scope,
    Send,
    header,
    read_body,
    send_bytes,
    send_error,
)
from bifrost.server.auth import AdminAuth
from bifrost.server.inference import handle_inference
from bifrost.server.models import list_models
from bifrost.server.pricing_setup import configure_pricing
from bifrost.stores.base import ConfigStore
from bifrost.stores.logs import LogsStore, LogWriter, open_logs_store
from bifrost.stores.logs.retention import retention_loop

log = logging.getLogger("bifrost.server")
_encode = msgspec.json.encode

INFERENCE_ROUTES = {
    "/v1/chat/completions": I.CHAT,
    "/v1/completions": I.TEXT,
    "/v1/embeddings": I.EMBEDDING,
    "/v1/responses": I.RESPONSES,
    "/v1/rerank": I.RERANK,
}
# How long shutdown waits for the logs writer to flush its buffer.
LOGS_FLUSH_TIMEOUT = 10.0


class Pingable(Protocol):
    """What /health needs of a store (ConfigStore and LogsStore both have it)."""

    async def ping(self) -> None: ...


HEALTH_PING_TIMEOUT = 10.0


async def ping_stores(state: AppState, timeout: float = HEALTH_PING_TIMEOUT) -> str | None:
    """Ping the configured stores concurrently; the first failure as "<store> not available: <reason>"."""
    stores = [(label, s) for label, s in (("config store", state.config_store), ("log store", state.logs_store))
              if s is not None]

    async def one(label: str, store: Pingable) -> str | None:
        try:
            await asyncio.wait_for(store.ping(), timeout)
        except TimeoutError:
            return f"{label} not available: no answer within {timeout:g}s"
        except Exception as exc:  # any failure of the store is the answer, never a crash of /health
            return f"{label} not available: {str(exc) or type(exc).__name__}"
        return None
    for err in await asyncio.gather(*(one(label, s) for label, s in stores)):
        if err:
            return err
    return None


class AppState:
    def __init__(self, config: GatewayConfig, plugins: list[Plugin] | None = None,
                 metrics: GatewayMetrics | None = None, app_dir: Path | None = None,
                 pricing: Catalog | None = None) -> None:
        self.config = config
        # Model prices (request logs' cost, budgets). `serve` loads it with the override file first.
        self.pricing = pricing if pricing is not None else Catalog.load()
        configure_pricing(self.pricing, config.providers.values())
        # The stores live in the app dir (SQLite) or a database; None (tests): no stores are opened.
        self.app_dir = app_dir
        self.metrics = metrics or GatewayMetrics()
        plugins = list(plugins or [])
        # Governance runs first (as Bifrost's): a refused request never reaches the other plugins.
        self.governance: GovernancePlugin = governance.build_plugin(
            config.raw, require_vk=config.client.enforce_auth_on_inference, version=config.version,
            costs=self.pricing)
        plugins.insert(0, self.governance)
        # The logs store opens at startup (app_dir given: a real server); until then the writer buffers.
        self.logs_store: LogsStore | None = None
        self.logs_writer: LogWriter | None = None
        if app_dir is not None and config.logs_store.enabled:
            self.logs_writer = LogWriter(on_drop=self.metrics.logs_dropped, max_pending=_logs_buffer())
            if config.client.enable_logging:
                plugins.append(LoggingPlugin(self.logs_writer, content=not config.client.disable_content_logging,
                                             catalog=self.pricing))
        self.engine = Engine(config, self.metrics, plugins)
        self.engine.route_hook = self.governance.route
        self.draining = False
        self.max_body = config.client.max_request_body_size_mb * 1024 * 1024
        self.started_at = time.time()
        self._background: set[asyncio.Task[Any]] = set()
        # Opened during startup (None: file-only mode gets an in-memory store from api.bootstrap);
        # /health pings whichever are set.
        self.config_store: ConfigStore | None = None
        self.auth = AdminAuth()
        self.api_lock = asyncio.Lock()  # management API writes are read-modify-write: one at a time
        self.api_router = api.build_router()
        # Cluster mode (cluster_config.enabled): started after the stores, left first at shutdown.
        self.cluster: ClusterNode | None = None
        # Budget/rate-limit counters shared through the cluster (governance's UsageBackend shape); None alone.
        self.cluster_usage: GossipUsage | None = None
        # kind -> reload(name), for config kinds owned outside the server core (see server/cluster_sync.py).
        self.config_reloaders: dict[str, Callable[[str], Awaitable[None]]] = {}
        for kind in governance.notice_kinds():  # virtual keys, budgets, ... written through a peer's API
            self.config_reloaders[kind] = partial(self._reload_governance, kind.removeprefix("governance."))

    def apply_client(self, client: ClientConfig) -> None:
        """New client settings, live (management API)."""
        self.config = msgspec.structs.replace(self.config, client=client)
        self.engine.update_client(client)
        self.governance.require_vk = (client.enforce_auth_on_inference
                                      or governance.vk_mandatory_plugin_setting(self.config.raw))
        self.max_body = client.max_request_body_size_mb * 1024 * 1024

    async def startup(self) -> None:
        if self.app_dir is not None:
            from bifrost.stores.config.reconcile import open_for_server

            # Already migrated, key-checked and reconciled by `serve` before the config was built.
            self.config_store = await open_for_server(self.config, self.app_dir)
        await api.bootstrap(self)
        if self.logs_writer is not None and self.app_dir is not None:
            self.logs_store = await open_logs_store(self.config, self.app_dir)
            log.info("logs store: %s", self.logs_store.where)
            self.logs_writer.start(self.logs_store)
            self._spawn(retention_loop(self.logs_store, self.config.client.log_retention_days))
        self._spawn(self.engine.warm_catalog())
        if self.config.cluster.enabled and self.app_dir is not None:
            await self._start_cluster()

    async def _start_cluster(self) -> None:
        from bifrost.server.cluster_sync import reload_entity

        if self.config.config_store.type != "postgres" or not self.config.config_store.enabled:
            log.warning("gossip: cluster mode with a %s config store: peers cannot read this node's changes; use "
                        "a PostgreSQL config store shared by every node (Helm: storage.mode=postgres)",
                        "SQLite" if self.config.config_store.enabled else "disabled (in-memory)")

        async def on_change(kind: str, name: str) -> None:
            await reload_entity(self, kind, name)
        node = ClusterNode(self.config.cluster, on_config_changed=on_change,
                           encryption_key=self.config.encryption_key)
        await node.start()
        self.cluster = node
        self.cluster_usage = GossipUsage(node)
        self.cluster_usage.start()
        from bifrost.governance.usage import LocalUsage

        if isinstance(self.governance.usage, LocalUsage):
            # No Redis usage store: budgets and rate limits are shared over gossip (bound in docs/cluster.md).
            self.governance.usage = self.cluster_usage
            log.info("gossip: governance budget and rate-limit usage is shared across the cluster")

    async def _reload_governance(self, kind: str, eid: str) -> None:
        if self.config_store is None:
            return
        if eid == "*":
            await governance.reload_all(self.governance, self.config_store)
        else:
            await governance.reload_entity(self.governance, self.config_store, kind, eid)

    def _spawn(self, coro: Any) -> None:
        t = asyncio.ensure_future(coro)
        self._background.add(t)
        t.add_done_callback(self._background.discard)

    async def shutdown(self) -> None:
        if self.cluster_usage is not None:
            await self.cluster_usage.close()
        if self.cluster is not None:  # leave first: peers see "left", not "dead"
            await self.cluster.stop()
        tasks = list(self._background)
        for t in tasks:
            t.cancel()
        if tasks:
            # Let them unwind while the stores are still open (a retention delete cancelled mid-query must
            # finish its rollback before its database is disposed), but never wait long.
            await asyncio.wait(tasks, timeout=5.0)
        await self.engine.close()
        close = getattr(self.governance.usage, "close", None)  # the protocol does not require it
        if close is not None:
            await close()
        if self.config_store is not None:
            await self.config_store.close()
        if self.logs_writer is not None:
            await self.logs_writer.close(min(LOGS_FLUSH_TIMEOUT, max(1.0, self.config.client.shutdown_grace_seconds)))
        if self.logs_store is not None:
            await self.logs_store.close()


def _logs_buffer() -> int:
    """BIFROST_LOGS_BUFFER: request logs kept in memory while the logs store is away (default 10000)."""
    raw = os.environ.get("BIFROST_LOGS_BUFFER", "")
    if raw.isdigit() and int(raw) > 0:
        return int(raw)
    if raw:
        log.warning("BIFROST_LOGS_BUFFER=%r is not a positive integer; using 10000", raw)
    return 10_000


def create_app(state: AppState) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    metrics = state.metrics
    origins = set(state.config.client.allowed_origins)
    any_origin = "*" in origins

    def cors(scope: Scope) -> list[tuple[bytes, bytes]]:
        origin = header(scope, b"origin")
        if origin is None or not (any_origin or origin.decode("latin-1") in origins):
            return []
        return [(b"access-control-allow-origin", b"*" if any_origin else origin), (b"vary", b"Origin")]

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await http(scope, receive, send)
        elif kind == "lifespan":
            await lifespan(receive, send)

    async def lifespan(receive: Receive, send: Send) -> None:
        while True:
            msg = await receive()
            if msg["type"] == "lifespan.startup":
                try:
                    await state.startup()
                except Exception as exc:  # a failed start must say why and stop the server
                    log.exception("startup failed")
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif msg["type"] == "lifespan.shutdown":
                await state.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def http(scope: Scope, receive: Receive, send: Send) -> None:
        t0 = time.perf_counter()
        path: str = integrations.normalize(scope["path"])
        method: str = scope["method"]
        route = path
        status = 500
        extra = cors(scope) if origins else []
        if extra:
            send = _with_headers(send, extra)
        try:
            if state.auth.protects(path, method) and not _inference_with_vk(path, scope):
                route = "unauthenticated"  # never label metrics with a path nobody was allowed to call
                await state.auth.authenticate(scope, state.config_store)
                route = path
            rtype = INFERENCE_ROUTES.get(path)
            if rtype is not None:
                if method != "POST":
                    status = await _method_not_allowed(send, path, "POST")
                else:
                    body = await read_body(scope, receive, state.max_body)
                    status = await handle_inference(state.engine, rtype, body, scope, receive, send)
            elif path == "/health":
                status = await health(send)
            elif path == "/metrics":
                await send_bytes(send, 200, metrics.render(), [(b"content-type", metrics.content_type.encode())])
                status = 200
            elif path.startswith("/api/"):
                route, status = await management(scope, receive, send, path, method)
            elif path == "/v1/models":
                status = await list_models(state.engine, scope, send)
            elif method == "OPTIONS":
                status = await preflight(scope, send)
            elif (native := integrations.find(path)) is not None:
                route, handler = native
                status = await handler(state, scope, receive, send)
            else:
                route = "unmatched"
                status = await send_error(send, RequestError(f"Route not found: {path}", status=404,
                                                             type="not_found"))
        except BifrostError as exc:
            status = await send_error(send, exc)
            if status >= 500:
                log.warning("%s %s -> %d: %s", method, path, status, exc.message)
        except ClientGone:
            status = 499
        except Exception:  # a bug must cost one request, never the process or a hung client
            log.exception("%s %s: unexpected error", method, path)
            status = 500
            err = BifrostError("internal gateway error; see the gateway log for details", status=500,
                               type="internal_error")
            try:
                await send_error(send, err)
            except Exception:  # the response had already started: nothing more to say
                pass
        metrics.http_done(route, method, status, time.perf_counter() - t0)

    async def management(scope: Scope, receive: Receive, send: Send, path: str, method: str) -> tuple[str, int]:
        template, handler, params, allowed = state.api_router.find(method, path)
        if handler is not None:
            scope["path_params"] = params
            try:
                return template, await handler(state, scope, receive, send)
            except (BifrostError, ClientGone):
                raise
            except Exception as exc:  # most likely the config store: say so, nothing was applied
                log.exception("%s %s failed", method, path)
                raise BifrostError(f"{method} {path} failed: {type(exc).__name__}: {exc}; the change was not applied. "
                                   "If the config store is unreachable, GET /health names it; see the gateway "
                                   "log for details", status=500, type="internal_error") from None
        if allowed and method != "OPTIONS":
            return template, await _method_not_allowed(send, path, ", ".join(allowed))
        if method == "OPTIONS":
            return template, await preflight(scope, send)
        err = RequestError(f"Route not found: {path}; see docs/api.md for the management API", status=404,
                           type="not_found")
        return "unmatched", await send_error(send, err)

    async def health(send: Send) -> int:
        if state.draining:
            err = BifrostError("server is shutting down", status=503, type="shutting_down")
            return await send_error(send, err)
        pings = "disabled" if state.config.client.disable_db_pings_in_health else "ok"
        if pings == "ok":
            failure = await ping_stores(state)
            if failure:
                log.warning("/health: %s", failure)
                err = BifrostError(failure, status=503, type="store_unavailable")
                err.is_bifrost_error = False  # as Bifrost: the gateway itself is fine, a dependency is not
                return await send_error(send, err)
        body = _encode({"status": "ok", "components": {"db_pings": pings}, "version": __version__})
        await send_bytes(send, 200, body)
        return 200

    async def preflight(scope: Scope, send: Send) -> int:
        hdrs = cors(scope) + [
            (b"access-control-allow-methods", b"GET, POST, PUT, PATCH, DELETE, OPTIONS"),
            (b"access-control-allow-headers", header(scope, b"access-control-request-headers") or b"*"),
            (b"access-control-max-age", b"86400"),
        ]
        await send({"type": "http.response.start", "status": 204, "headers": hdrs})
        await send({"type": "http.response.body", "body": b""})
        return 204

    return app


async def _method_not_allowed(send: Send, path: str, allowed: str) -> int:
    err = RequestError(f"method not allowed on {path}; use {allowed}", status=405, type="method_not_allowed")
    return await send_error(send, err, [(b"allow", allowed.encode())])


def _inference_with_vk(path: str, scope: Scope) -> bool:
    """A virtual key authenticates inference (the governance plugin checks it), not /api or /metrics."""
    return not (path.startswith("/api/") or path == "/metrics") and vk_from_headers(scope["headers"]) is not None


def _with_headers(send: Send, extra: list[tuple[bytes, bytes]]) -> Send:
    async def wrapped(msg: dict[str, Any]) -> None:
        if msg["type"] == "http.response.start":
            msg = {**msg, "headers": [*msg.get("headers", []), *extra]}
        await send(msg)
    return wrapped


__all__ = ["AppState", "create_app"]
