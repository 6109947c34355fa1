"""The engine: one request's journey, top to bottom, in `Engine.handle`.

    handle ─▶ for each target (primary, then fallbacks):
                 plugins.pre ─▶ provider queue ─▶ key ─▶ provider (with retries) ─▶ plugins.post
The server turns HTTP into an `InferenceRequest` and the result back into HTTP; nothing here
knows about HTTP, and nothing here knows a provider's wire format.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import msgspec

from bifrost.config.model import ClientConfig, GatewayConfig, ProviderConfig
from bifrost.engine.keys import KeySelector
from bifrost.engine.pipeline import Pipeline, Plugin, RequestContext
from bifrost.engine.queue import ProviderQueue
from bifrost.engine.retry import retry_delay
from bifrost.metrics import GatewayMetrics
from bifrost.providers import responses_adapter
from bifrost.providers.base import Provider
from bifrost.providers.openai_compat import usage_of_event
from bifrost.providers.registry import build_provider
from bifrost.schemas.errors import BifrostError, CancelledError, ConfigError, RequestError
from bifrost.schemas.inference import (
    CHAT,
    RESPONSES,
    InferenceRequest,
    InferenceResponse,
    InferenceStream,
    StreamEvent,
    Target,
    Usage,
)

log = logging.getLogger("bifrost.engine")
# ctx.values key: provider key names or ids a request is restricted to (a virtual key's key_ids).
INCLUDE_KEYS = "bf_include_keys"


class ProviderRuntime:
    """A configured provider with its client, queue and key selector.

    Runtimes are immutable once published: a config change builds a new one and swaps it in, so a
    request that already holds a runtime finishes on it (see `Engine.apply_provider`). `users`
    counts the requests and streams still using it, so a replaced client is closed only when idle.
    """

    __slots__ = ("config", "provider", "queue", "keys", "users")

    def __init__(self, config: ProviderConfig, *, provider: Provider | None = None,
                 queue: ProviderQueue | None = None) -> None:
        self.config = config
        self.provider: Provider | None = provider if provider is not None else build_provider(config)
        self.queue = queue or ProviderQueue(config.name, config.queue.concurrency, config.queue.buffer_size)
        self.keys = KeySelector(config)
        self.users = 0


class Engine:
    def __init__(self, config: GatewayConfig, metrics: GatewayMetrics, plugins: list[Plugin] | None = None) -> None:
        self.client: ClientConfig = config.client
        self.metrics = metrics
        self.pipeline = Pipeline(plugins or [])
        self.runtimes: dict[str, ProviderRuntime] = {n: ProviderRuntime(p) for n, p in config.providers.items()}
        # model -> providers offering it, from key model lists and each provider's model list.
        self.catalog: dict[str, set[str]] = {}
        for p in config.providers.values():
            self._catalog_keys(p)
        # Replaced provider clients waiting for their last request to finish before closing.
        self._retiring: set[asyncio.Task[None]] = set()
        self._closing: list[Provider] = []
        # Set by governance: (virtual key, bare model, configured providers) -> (target, fallbacks) or None.
        self.route_hook: Callable[[str, str, set[str]], tuple[Target, list[Target]] | None] | None = None

    # --- the journey -------------------------------------------------------------------------

    async def handle(self, req: InferenceRequest, ctx: RequestContext) -> InferenceResponse | InferenceStream:
        """Serve a request: the primary target, then each fallback in order until one succeeds."""
        try:
            return await self._attempt(req, ctx)
        except CancelledError:
            raise
        except BifrostError as primary:
            if not req.fallbacks:
                raise
            for i, target in enumerate(req.fallbacks, start=1):
                ctx.fallback_index = i
                log.debug("request %s: %s failed (%s); trying fallback %s", ctx.request_id,
                          req.target, primary.message, target)
                fb = InferenceRequest(
                    request_type=req.request_type, target=target, body=req.body, stream=req.stream,
                    extra_headers=req.extra_headers, model_requested=req.model_requested,
                    client_wants_usage=req.client_wants_usage,
                )
                try:
                    return await self._attempt(fb, ctx)
                except CancelledError:
                    raise
                except BifrostError:
                    continue
            raise primary from None

    async def _attempt(self, req: InferenceRequest, ctx: RequestContext) -> InferenceResponse | InferenceStream:
        """One target, wrapped by the plugin pipeline (each fallback is a fresh pass, as in Bifrost)."""
        if not self.pipeline:
            return await self._call(req, ctx)
        req, short, ran = await self.pipeline.run_pre(req, ctx)
        result: InferenceResponse | InferenceStream | BifrostError
        if short is not None:
            result = short.result
        else:
            try:
                result = await self._call(req, ctx)
            except BifrostError as exc:
                result = exc
        result = await self.pipeline.run_post(result, ctx, ran)
        if isinstance(result, BifrostError):
            raise result
        return result

    async def _call(self, req: InferenceRequest, ctx: RequestContext) -> InferenceResponse | InferenceStream:
        rt = self._runtime(req.target.provider)
        provider = rt.provider
        assert provider is not None
        if (req.request_type == RESPONSES and not provider.supports(RESPONSES, req.stream)
                and provider.supports(CHAT, req.stream)):
            # No Responses API upstream: serve it through chat, as Bifrost does.
            result = await self._call_provider(responses_adapter.as_chat(req), ctx, rt)
            model = req.target.model
            if isinstance(result, InferenceStream):
                result.events = responses_adapter.responses_events(result.events, model, req.body)
            else:
                result.body = responses_adapter.chat_body_to_responses(result.body, req.target.provider, model,
                                                                       req.body)
            return result
        return await self._call_provider(req, ctx, rt)

    async def _call_provider(self, req: InferenceRequest, ctx: RequestContext,
                             rt: ProviderRuntime) -> InferenceResponse | InferenceStream:
        target = req.target
        provider = rt.provider
        assert provider is not None
        if not provider.supports(req.request_type, req.stream):
            kind = req.request_type + (" streaming" if req.stream else "")
            raise RequestError(f"provider {target.provider!r} does not support {kind} requests",
                               provider=target.provider, model=target.model, type="unsupported_operation")
        only = ctx.values.get(INCLUDE_KEYS)
        key = rt.keys.select(target.model, only) if (rt.config.keys or not provider.keyless) else None
        await rt.queue.acquire(self.client.drop_excess_requests)
        m = self.metrics
        m.active(target.provider, 1)
        rt.users += 1
        stream_open = False
        try:
            attempt = 0
            while True:
                t0 = time.perf_counter()
                try:
                    if req.stream:
                        events = await provider.open_stream(req, key)
                        stream_open = True
                        out = InferenceStream(target=target, fallback_index=ctx.fallback_index, events=events)
                        out.events = self._stream(events, req, t0, rt, out)
                        return out
                    body, usage = await provider.send(req, key)
                except BifrostError as exc:
                    exc.provider = exc.provider or target.provider
                    exc.model = exc.model or target.model
                    m.upstream_done(target.provider, target.model, time.perf_counter() - t0, False,
                                    str(exc.status), 0, 0)
                    delay = retry_delay(attempt, rt.config.network, exc)
                    if delay is None:
                        raise
                    attempt += 1
                    ctx.retries += 1
                    m.retry(target.provider, target.model)
                    log.debug("retrying %s after %s (attempt %d, %.3fs)", target, exc.status, attempt, delay)
                    await asyncio.sleep(delay)
                    if rt.config.keys:
                        key = rt.keys.select(target.model, only)
                    continue
                elapsed = time.perf_counter() - t0
                m.upstream_done(target.provider, target.model, elapsed, True, "",
                                usage.input_tokens if usage else 0, usage.output_tokens if usage else 0)
                return InferenceResponse(status=200, body=body, target=target, usage=usage,
                                         fallback_index=ctx.fallback_index, latency_ms=elapsed * 1000)
        finally:
            rt.queue.release()
            if not stream_open:
                m.active(target.provider, -1)
                rt.users -= 1

    async def _stream(self, events: AsyncIterator[StreamEvent], req: InferenceRequest,
                      t0: float, rt: ProviderRuntime, out: InferenceStream) -> AsyncIterator[StreamEvent]:
        """Pass events through, recording first-token latency and usage; strip a usage chunk we asked for.

        The usage is also set on `out.usage`, so plugins see it even when its chunk was stripped."""
        target = req.target
        m = self.metrics
        first = True
        usage: Usage | None = None
        ok = False
        reason = "stream_error"
        strip_usage = not req.client_wants_usage and req.request_type in ("chat_completion", "text_completion")
        try:
            async for ev in events:
                if first:
                    first = False
                    m.first_token(target.provider, target.model, time.perf_counter() - t0)
                d = ev.data
                if b'"usage"' in d and b'"usage":null' not in d:
                    u = usage_of_event(ev)
                    if u is not None:
                        usage = out.usage = u
                        if strip_usage and _is_usage_only_chunk(d):
                            continue
                yield ev
            ok = True
        except asyncio.CancelledError:
            reason = "cancelled"
            raise
        except BifrostError as exc:
            reason = str(exc.status)
            exc.provider = exc.provider or target.provider
            exc.model = exc.model or target.model
            raise
        finally:
            rt.users -= 1
            m.active(target.provider, -1)
            m.upstream_done(target.provider, target.model, time.perf_counter() - t0, ok, "" if ok else reason,
                            usage.input_tokens if usage else 0, usage.output_tokens if usage else 0)
            aclose = getattr(events, "aclose", None)
            if aclose is not None:
                await aclose()

    # --- routing --------------------------------------------------------------------------------

    def _runtime(self, provider: str) -> ProviderRuntime:
        rt = self.runtimes.get(provider)
        if rt is None:
            configured = ", ".join(sorted(self.runtimes)) or "none"
            raise RequestError(
                f"provider {provider!r} is not configured (configured: {configured}); add it under "
                "\"providers\" in config.json, or use one of the configured providers",
                provider=provider, type="provider_not_configured",
            )
        if rt.config.unresolved:
            raise ConfigError(f"provider {provider!r} cannot be used: " + "; ".join(rt.config.unresolved)
                              + "; set the variable and restart the gateway", provider=provider)
        if rt.provider is None:
            raise RequestError(
                f"provider {provider!r} is not supported by this version of Bifrost for Python yet; "
                "use an OpenAI-compatible provider or a custom provider with base_provider_type \"openai\"",
                provider=provider, type="unsupported_provider",
            )
        return rt

    def resolve(self, model: Any, field: str = "model") -> Target:
        """`provider/model` split on the first `/`; a bare name resolves if exactly one provider offers it."""
        if not isinstance(model, str) or not model:
            raise RequestError(f"{field} is required and must be a string like \"openai/gpt-4o-mini\"",
                               param=field)
        provider, sep, name = model.partition("/")
        if sep and (not provider or not name):
            missing = "provider" if not provider else "model name"
            raise RequestError(f"{field} {model!r} has an empty {missing}; use \"provider/model\", "
                               f"e.g. \"openai/gpt-4o-mini\"", param=field, model=model)
        if sep and name and provider in self.runtimes:
            return Target(provider, name)
        # A bare name (which may itself contain "/", e.g. "meta-llama/Llama-3-8B") offered by providers.
        offering = self.catalog.get(model, set())
        if sep and name and not offering:
            return Target(provider, name)  # an unconfigured provider: _runtime() explains how to fix it
        if len(offering) == 1:
            return Target(next(iter(offering)), model)
        if len(self.runtimes) == 1 and not sep:
            return Target(next(iter(self.runtimes)), model)
        if offering:
            choices = ", ".join(f'"{p}/{model}"' for p in sorted(offering))
            raise RequestError(f"model {model!r} is offered by several providers; add a provider prefix: {choices}",
                               param=field, model=model)
        raise RequestError(
            f"could not resolve a provider for model {model!r}; add a provider prefix, e.g. "
            f"\"openai/{model}\" (configured providers: {', '.join(sorted(self.runtimes)) or 'none'})",
            param=field, model=model,
        )

    def provider_and_key(self, target: Target) -> tuple[Provider, Any]:
        """The provider client and a key for `target`, for native calls outside the queue (count_tokens)."""
        rt = self._runtime(target.provider)
        assert rt.provider is not None
        key = rt.keys.select(target.model) if (rt.config.keys or not rt.provider.keyless) else None
        return rt.provider, key

    def learn_models(self, provider: str, models: list[dict[str, Any]]) -> None:
        for m in models:
            mid = m.get("id")
            if isinstance(mid, str):
                self.catalog.setdefault(mid, set()).add(provider)

    async def list_models(self, provider: str) -> list[dict[str, Any]]:
        rt = self._runtime(provider)
        assert rt.provider is not None
        key = None
        if rt.config.keys:
            usable = [k for k in rt.config.keys if k.unresolved is None and k.has_credential]
            if not usable:
                rt.keys.select("*")  # raises the explanatory ConfigError
            key = usable[0] if usable else None
        models = await rt.provider.list_models(key)
        self.learn_models(provider, models)
        return models

    async def warm_catalog(self, timeout: float = 15.0) -> None:
        """List each provider's models once at start (as Bifrost does); failures only log."""
        async def one(name: str) -> None:
            try:
                await asyncio.wait_for(self.list_models(name), timeout)
            except (BifrostError, TimeoutError) as exc:
                msg = getattr(exc, "message", None) or f"no answer within {timeout:g}s"
                log.warning("failed to list models for provider %s: %s", name, msg)
        names = [n for n, rt in self.runtimes.items() if rt.provider is not None and
                 rt.provider.supports("list_models", False) and not rt.config.unresolved]
        await asyncio.gather(*(one(n) for n in names))

    # --- live configuration (management API) ----------------------------------------------------

    def update_client(self, client: ClientConfig) -> None:
        """New client settings; `drop_excess_requests` is read per request, so it applies at once."""
        self.client = client

    def apply_provider(self, config: ProviderConfig) -> None:
        """Add or replace a provider live, without dropping requests in flight.

        A new runtime is built and swapped in: requests and streams that already hold the old one
        finish on it, new requests use the new one. The queue is kept (resized) so concurrency is
        counted across the swap; the client is kept unless its network or custom settings changed,
        in which case the old client is closed once its last request is done.
        """
        old = self.runtimes.get(config.name)
        if old is None:
            self.runtimes[config.name] = ProviderRuntime(config)
        else:
            old.queue.resize(config.queue.concurrency, config.queue.buffer_size)
            same_client = (old.config.network == config.network and old.config.custom == config.custom
                           and not old.config.unresolved and not config.unresolved)
            new = ProviderRuntime(config, provider=old.provider if same_client else None, queue=old.queue)
            self.runtimes[config.name] = new
            if not same_client:
                self._retire(old)
        self._rebuild_catalog_for(config.name)

    def remove_provider(self, name: str) -> bool:
        """Stop routing new requests to `name`; requests in flight finish on it first."""
        old = self.runtimes.pop(name, None)
        if old is None:
            return False
        self._retire(old)
        self._rebuild_catalog_for(name)
        return True

    def _catalog_keys(self, p: ProviderConfig) -> None:
        for k in p.keys:
            for m in k.models:
                if m != "*":
                    self.catalog.setdefault(m, set()).add(p.name)

    def _rebuild_catalog_for(self, name: str) -> None:
        rt = self.runtimes.get(name)
        if rt is None:  # removed: bare model names stop resolving to it
            for offering in self.catalog.values():
                offering.discard(name)
            for model in [m for m, offering in self.catalog.items() if not offering]:
                del self.catalog[model]
            return
        # Added or changed: its key model lists at once, its upstream model list in the background.
        self._catalog_keys(rt.config)
        t = asyncio.ensure_future(self._relearn(name))
        self._retiring.add(t)
        t.add_done_callback(self._retiring.discard)

    async def _relearn(self, name: str) -> None:
        rt = self.runtimes.get(name)
        if rt is None or rt.provider is None or rt.config.unresolved or not rt.provider.supports("list_models", False):
            return
        try:
            await asyncio.wait_for(self.list_models(name), 15.0)
        except (BifrostError, TimeoutError) as exc:
            log.warning("failed to list models for provider %s after a config change: %s", name,
                        getattr(exc, "message", None) or "no answer within 15s")

    def _retire(self, old: ProviderRuntime, max_wait: float = 3600.0) -> None:
        provider = old.provider
        if provider is None or any(rt.provider is provider for rt in self.runtimes.values()):
            return

        self._closing.append(provider)

        async def close_when_idle() -> None:
            deadline = time.monotonic() + max_wait
            while old.users > 0 and time.monotonic() < deadline:
                await asyncio.sleep(0.2)
            self._closing.remove(provider)
            await provider.close()

        t = asyncio.ensure_future(close_when_idle())
        self._retiring.add(t)
        t.add_done_callback(self._retiring.discard)

    async def close(self) -> None:
        for t in list(self._retiring):
            t.cancel()
        for provider in self._closing:
            await provider.close()
        for rt in self.runtimes.values():
            if rt.provider is not None:
                await rt.provider.close()


class _Choices(msgspec.Struct):
    choices: list[Any] | None = None


_choices_decoder = msgspec.json.Decoder(_Choices)


def _is_usage_only_chunk(data: bytes) -> bool:
    try:
        return _choices_decoder.decode(data).choices == []
    except msgspec.DecodeError:
        return False
