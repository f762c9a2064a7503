"""The gateway: one ASGI app that serves each legacy route from legacy or modern.

Every request is classified (routeshift.decide.classify) with the current routing of the
registry watcher (routeshift.serve.reload) and passed to the legacy bridge or the modern
app; `Stamp` (routeshift.decide.stamp) finishes the response as the decision says,
`X-Served-By: legacy|modern` included. A shadow route is served by legacy and copied to
modern (routeshift.serve.shadow). The gateway's own paths come first: the admin pages
and /metrics (routeshift.serve.admin).

The parts are built by routeshift.serve.assemble and handed in; the gateway only routes
and runs the lifespan (the modern app's, the watcher, the drain of shadow copies).
"""

from __future__ import annotations

import asyncio
import time

from routeshift._asgi import ASGIApp, Receive, Scope, Send, local_path
from routeshift.apps.lifespan import ChildLifespan
from routeshift.decide.classify import Side
from routeshift.decide.stamp import Stamp, modern_scope
from routeshift.errors import LifespanError
from routeshift.serve.admin import Admin
from routeshift.serve.bridge import LegacyBridge
from routeshift.serve.metrics import Metrics
from routeshift.serve.reload import RegistryWatcher, Routing
from routeshift.serve.shadow import ShadowRunner
from routeshift.store.sql import Store
from routeshift.store.writer import ObservationWriter

__all__ = ["DRAIN_SECONDS", "Gateway"]

#: seconds a shutdown waits for shadow runs under way, then for their observations
DRAIN_SECONDS = 5.0


class Gateway:
    """The ASGI app: classify, then serve from the legacy bridge or the modern app."""

    def __init__(
        self,
        *,
        modern: ASGIApp,
        bridge: LegacyBridge,
        watcher: RegistryWatcher,
        shadow: ShadowRunner,
        admin: Admin,
        metrics: Metrics,
        store: Store,
        writer: ObservationWriter,
    ) -> None:
        self.modern = modern
        self.bridge = bridge
        self.watcher = watcher
        self.shadow = shadow
        self.admin = admin
        self.metrics = metrics
        self.store = store
        self.writer = writer
        self._watch: asyncio.Task[None] | None = None

    @property
    def routing(self) -> Routing:
        """The registry as it serves now (a reload swaps it whole)."""
        return self.watcher.current

    def __repr__(self) -> str:
        return f"Gateway({str(self.watcher.path)!r})"

    # --- ASGI ----------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            routing = self.watcher.current
            path = local_path(scope)
            if routing.own_paths.matches(path):
                await self.admin.serve(scope, send, path)
            else:
                await self._serve(scope, receive, send, routing, path)
        elif kind == "websocket":
            await self.modern(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(scope, receive, send)

    async def _serve(
        self, scope: Scope, receive: Receive, send: Send, routing: Routing, path: str
    ) -> None:
        decision = routing.classifier.classify(scope, path)
        stamp = Stamp(send, decision)
        started = time.perf_counter()
        try:
            if decision.side is Side.MODERN:
                await self.modern(modern_scope(scope, decision), receive, stamp)
            elif decision.shadow is not None:
                settings = routing.registry.settings
                await self.shadow.serve(scope, receive, stamp, decision, self.bridge, settings)
            else:
                await self.bridge(scope, receive, stamp)
        finally:
            self.metrics.request(
                decision.endpoint,
                scope["method"],
                decision.side.value,
                stamp.status,
                time.perf_counter() - started,
            )

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        child = ChildLifespan(self.modern, scope)
        await receive()  # lifespan.startup
        try:
            await child.startup()
        except LifespanError as exc:
            await asyncio.to_thread(self.bridge.close)
            await send({"type": "lifespan.startup.failed", "message": str(exc)})
            return
        if self.watcher.interval > 0:
            self._watch = asyncio.create_task(self.watcher.watch())
        await send({"type": "lifespan.startup.complete"})
        await receive()  # lifespan.shutdown
        try:
            if self._watch is not None:
                self._watch.cancel()
            await self.shadow.drain(DRAIN_SECONDS)
            await child.shutdown()
        except LifespanError as exc:
            await send({"type": "lifespan.shutdown.failed", "message": str(exc)})
            return
        finally:
            # off the event loop: a call still reading a large body needs the loop
            await asyncio.to_thread(self.close)
        await send({"type": "lifespan.shutdown.complete"})

    def close(self) -> None:
        """Stop the bridge's threads, write the observations still queued, let go of the
        store and of this worker's live metrics."""
        self.bridge.close()
        self.writer.close(DRAIN_SECONDS)
        self.store.close()
        self.metrics.close()
