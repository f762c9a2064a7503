"""The gateway: one ASGI app that serves each legacy route from legacy or modern.

Every request is classified (routeshift.decide.classify) with the current routing of the
registry watcher (routeshift.serve.reload) and passed to the legacy bridge or the modern
app; `Stamp` (routeshift.decide.stamp) finishes the response as the decision says,
`X-Served-By: legacy|modern` included. A shadow route is served by legacy and copied to
modern (routeshift.serve.shadow). The gateway's own paths come first: the admin pages
and /metrics (routeshift.serve.admin). The modern app's openapi_url is answered with one
document of both sides (routeshift.compat.openapi): the modern app's own, fetched
through the app itself, merged with the routes legacy serves.

The parts are built by routeshift.serve.assemble and handed in; the gateway only routes
and runs the lifespan (the modern app's, the watcher, the drain of shadow copies).
"""

from __future__ import annotations

import asyncio
import time

from routeshift._asgi import ASGIApp, Headers, Message, Receive, Scope, Send, local_path
from routeshift.apps.lifespan import ChildLifespan
from routeshift.compat.openapi import MergedDocument
from routeshift.decide.decision import Side
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
#: the methods the merged document answers (others reach the modern app as they are)
_READS = frozenset({"GET", "HEAD"})


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
                document = routing.openapi
                if document is not None and path == document.path and scope["method"] in _READS:
                    await self._document(scope, stamp, document)
                else:
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

    async def _document(self, scope: Scope, send: Send, document: MergedDocument) -> None:
        """The merged OpenAPI document. The modern app's own comes from a GET of its
        openapi_url sent to the app itself (its middleware, the request's root_path in
        `servers`, an `app.openapi` of its own all apply; uncompressed); an answer that
        is not a document (a 401 of its middleware, say) is passed on as it is."""
        headers = [(k, v) for k, v in scope.get("headers", ()) if k != b"accept-encoding"]
        fetch = dict(scope, method="GET", query_string=b"", headers=headers)
        status, answer, body = await _collect(self.modern, fetch)
        if status == 200:
            root_path = scope.get("root_path", "")
            merged = await asyncio.to_thread(document.render, body, root_path)
            if merged is not None:
                body = merged
                answer = [(k, v) for k, v in answer if k.lower() != b"content-length"]
                answer.append((b"content-length", str(len(body)).encode("latin-1")))
        await send({"type": "http.response.start", "status": status, "headers": answer})
        head = scope["method"] == "HEAD"
        await send({"type": "http.response.body", "body": b"" if head else body})

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


async def _collect(app: ASGIApp, scope: Scope) -> tuple[int, Headers, bytes]:
    """Call `app` with a request of no body; its status, headers and whole body."""
    start: Message = {}
    chunks: list[bytes] = []
    done = asyncio.Event()
    asked = False

    async def receive() -> Message:
        nonlocal asked
        if not asked:
            asked = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await done.wait()  # the request is whole; the client stays until the end
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            start.update(message)
        elif message["type"] == "http.response.body":
            chunks.append(bytes(message.get("body", b"")))

    try:
        await app(scope, receive, send)
    finally:
        done.set()
    if not start:
        raise RuntimeError(f"the modern app did not answer GET {scope['path']}")
    return int(start["status"]), list(start.get("headers", ())), b"".join(chunks)
