"""The gateway: one ASGI app that serves each legacy route from legacy or modern.

`build_gateway()` loads the registry, imports both apps, checks the registry against
them and returns a `Gateway`. Every request is classified (routeshift.classify) and
passed to the legacy bridge or the modern app; the response carries
`X-Served-By: legacy|modern`. A canary route picks the side by the request's cohort
(routeshift.cohort); a shadow route is served by legacy and copied to modern
(routeshift.shadow), the observations going to the store in a thread of their own.
The gateway's own paths come first: the admin pages and /metrics (routeshift.dashboard).

The registry file is watched: an edit takes effect within `watch_interval` seconds; an
edit that does not load is logged and the last good registry keeps serving.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable, Collection, Mapping
from functools import partial
from pathlib import Path
from typing import Any, TypeVar, cast

from routeshift.apps import Apps, check_apps, load_apps
from routeshift.bridge import LegacyBridge
from routeshift.cases import case_endpoints
from routeshift.classify import (
    Classifier,
    Decision,
    Side,
    build_table,
    local_path,
    ported_paths,
)
from routeshift.cohort import goes_modern
from routeshift.dashboard import Admin, AdminPaths, admin_token_from_env
from routeshift.discovery import flat_routes
from routeshift.errors import RegistryError, RouteshiftError
from routeshift.lifespan import ChildLifespan, LifespanError
from routeshift.metrics import Metrics
from routeshift.redact import Redactor
from routeshift.registry import Registry, Settings, load_registry, registry_path
from routeshift.shadow import ShadowRunner
from routeshift.store import (
    ShadowSummary,
    Store,
    StoreError,
    Verification,
    hide_password,
)
from routeshift.writer import ObservationWriter

logger = logging.getLogger("routeshift.gateway")

T = TypeVar("T")

ENV_FORCE_LEGACY = "ROUTESHIFT_FORCE_LEGACY"
#: seconds the admin pages may show store figures that old (a page load, not a query each)
STORE_CACHE_SECONDS = 2.0
#: seconds a shutdown waits for shadow runs under way, then for their observations
DRAIN_SECONDS = 5.0

Message = dict[str, Any]
Receive = Callable[[], Any]
Send = Callable[[Message], Any]

_SERVED_BY_MODERN = (b"x-served-by", b"modern")


def force_legacy_from_env() -> bool:
    return os.environ.get(ENV_FORCE_LEGACY, "").strip().lower() in {"1", "true", "yes", "on"}


class Gateway:
    """The ASGI app: classify, then serve from the legacy bridge or the modern app."""

    def __init__(
        self,
        registry: Registry,
        apps: Apps,
        *,
        force_legacy: bool = False,
        watch_interval: float = 0.5,
        signature: tuple[int, int, int] | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        """`signature`: the registry file's, taken before it was read (default: now), so
        that an edit saved while the apps were importing is loaded by the watcher."""
        self.apps = apps
        self.modern = apps.modern
        self.metrics = metrics if metrics is not None else Metrics.for_process()
        settings = registry.settings
        self.bridge = LegacyBridge(
            apps.legacy, threads=settings.bridge_threads, on_busy=self.metrics.thread_busy
        )
        self.metrics.bridge_threads(self.bridge.threads)
        self.env_force_legacy = force_legacy
        self.watch_interval = watch_interval
        self.registry = registry
        self.classifier = self._classifier(registry)
        self._own_paths = AdminPaths.of(settings)
        self.store = Store.for_registry(registry)
        self.writer = ObservationWriter(
            self.store,
            Redactor(settings.redact),
            retention_rows=settings.retention_rows,
            retention_days=settings.retention_days,
        )
        self.shadow = ShadowRunner(
            self.modern,
            settings=lambda: self.registry.settings,
            record=self.writer.submit,
            count=self.metrics.shadow,
            redact=lambda text: self.writer.redactor.error(text),
        )
        self.admin = Admin(self, token=admin_token_from_env())
        self._signature = signature if signature is not None else _signature(registry.path)
        self._watcher: asyncio.Task[None] | None = None
        self._cache: dict[str, tuple[float, Any]] = {}

    # --- the registry -------------------------------------------------------------

    def _classifier(self, registry: Registry) -> Classifier:
        modern = self.apps.modern
        docs = {
            getattr(modern, name, None)
            for name in ("openapi_url", "docs_url", "redoc_url", "swagger_ui_oauth2_redirect_url")
        }
        table = build_table(
            registry,
            self.apps.legacy_routes,
            self.apps.handlers,
            force_legacy=self.env_force_legacy or registry.settings.force_legacy,
        )
        return Classifier(
            self.apps.legacy.url_map,
            table,
            flat_routes(modern),
            ported_paths(registry, self.apps.legacy_routes),
            frozenset(p for p in docs if isinstance(p, str)),
        )

    def reload(self) -> bool:
        """Load the registry file again; keep the last good one when it is invalid.

        Returns True when the new registry took effect.
        """
        path = self.registry.path
        try:
            registry = load_registry(path)
            for key in ("legacy_app", "modern_app"):
                old, new = getattr(self.registry.model, key), getattr(registry.model, key)
                if old != new:
                    raise RegistryError(
                        [
                            registry.problem(
                                (key,),
                                f"{key} changed from {old!r} to {new!r}; "
                                "a change of app needs a restart of the gateway.",
                            )
                        ]
                    )
            check_apps(registry, self.apps)
            classifier = self._classifier(registry)
            _restart_needed(self.registry.settings, registry.settings)
        except RouteshiftError as exc:
            logger.error("%s\nstill serving the last good registry.", exc)
            return False
        self.registry, self.classifier = registry, classifier
        self._own_paths = AdminPaths.of(registry.settings)
        self.writer.redactor = Redactor(registry.settings.redact)
        self.writer.retention_rows = registry.settings.retention_rows
        self.writer.retention_days = registry.settings.retention_days
        self._cache.clear()
        logger.info("registry reloaded from %s", path)
        return True

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self.watch_interval)
            signature = _signature(self.registry.path)
            if signature == self._signature:
                continue
            self._signature = signature
            try:
                await asyncio.to_thread(self.reload)
            except Exception:  # the watcher must outlive any one bad edit
                logger.exception(
                    "reloading %s failed; still serving the last good registry.", self.registry.path
                )

    # --- ASGI ----------------------------------------------------------------------

    async def __call__(self, scope: Message, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            if self._own_paths.matches(local_path(scope)):
                await self.admin(scope, receive, send)
                return
            await self._serve(scope, receive, send, self.classifier.classify(scope))
        elif kind == "websocket":
            await self.modern(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(scope, receive, send)

    async def _serve(
        self, scope: Message, receive: Receive, send: Send, decision: Decision
    ) -> None:
        side = decision.side
        canary = decision.canary
        if canary is not None and goes_modern(
            decision.endpoint, canary.cohort.value(scope), canary.percent
        ):
            side = Side.MODERN
        status = 0

        async def send_counted(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        started = time.perf_counter()
        try:
            if side is Side.MODERN:
                await self._serve_modern(scope, receive, send_counted, decision)
            elif decision.shadow is not None:
                legacy = partial(self.bridge.serve, extra_allow=decision.extra_allow)
                await self.shadow.serve(scope, receive, send_counted, decision, legacy)
            else:
                await self.bridge.serve(scope, receive, send_counted, decision.extra_allow)
        finally:
            self.metrics.request(
                decision.endpoint,
                scope["method"],
                side.value,
                status,
                time.perf_counter() - started,
            )

    async def _serve_modern(
        self, scope: Message, receive: Receive, send: Send, decision: Decision
    ) -> None:
        head = decision.as_get(scope["method"])
        if head:
            scope = dict(scope, method="GET")

        async def send_modern(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), _SERVED_BY_MODERN]
            elif head and message["type"] == "http.response.body":
                message = dict(message, body=b"")
            await send(message)

        await self.modern(scope, receive, send_modern)

    async def _lifespan(self, scope: Message, receive: Receive, send: Send) -> None:
        child = ChildLifespan(self.modern, scope)
        await receive()  # lifespan.startup
        try:
            await child.startup()
        except LifespanError as exc:
            await asyncio.to_thread(self.bridge.close)
            await send({"type": "lifespan.startup.failed", "message": str(exc)})
            return
        if self.watch_interval > 0:
            self._watcher = asyncio.create_task(self._watch())
        await send({"type": "lifespan.startup.complete"})
        await receive()  # lifespan.shutdown
        try:
            if self._watcher is not None:
                self._watcher.cancel()
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

    # --- what the admin pages read (routeshift.dashboard.AdminSource) ---------------------

    def shadow_summaries(self) -> Mapping[str, ShadowSummary]:
        return self._cached("shadow", self.store.shadow_summaries, {})

    def verifications(self) -> Mapping[str, Verification]:
        return self._cached("verifications", self.store.verifications, {})

    def case_endpoints(self) -> Collection[str]:
        return self._cached("cases", lambda: case_endpoints(self.registry.contracts_dir), set())

    def _cached(self, key: str, load: Callable[[], T], empty: T) -> T:
        """`load()`, at most every STORE_CACHE_SECONDS; `empty` when the store fails."""
        now = time.monotonic()
        hit = self._cache.get(key)
        if hit is not None and now - hit[0] < STORE_CACHE_SECONDS:
            return cast(T, hit[1])
        try:
            value = load()
        except StoreError as exc:
            logger.warning("the admin pages cannot read the store: %s", exc)
            value = empty
        self._cache[key] = (now, value)
        return value


def _restart_needed(old: Settings, new: Settings) -> None:
    """Log the settings an edit changed that only a restart applies."""
    for key in ("bridge_threads", "store_url"):
        before, after = getattr(old, key), getattr(new, key)
        if before != after:
            if key == "store_url":  # never a password in the log
                before, after = (hide_password(url) if url else url for url in (before, after))
            logger.warning(
                "settings.%s changed to %r; the gateway keeps %r until it restarts.",
                key,
                after,
                before,
            )


def _signature(path: Path) -> tuple[int, int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return (stat.st_mtime_ns, stat.st_size, stat.st_ino)


def build_gateway(
    registry: str | os.PathLike[str] | None = None,
    *,
    legacy_app: Any = None,
    modern_app: Any = None,
    force_legacy: bool | None = None,
    watch_interval: float = 0.5,
) -> Gateway:
    """Load the registry (path, else MIGRATION_STATUS, else ./migration_status.yaml) and
    the apps it names, check them, and return the gateway. Raises RouteshiftError."""
    path = registry_path(registry)
    signature = _signature(path)  # before reading: an edit from now on is reloaded
    loaded = load_registry(path)
    apps = load_apps(loaded, legacy_app, modern_app)
    check_apps(loaded, apps)
    return Gateway(
        loaded,
        apps,
        force_legacy=force_legacy_from_env() if force_legacy is None else force_legacy,
        watch_interval=watch_interval,
        signature=signature,
    )


def app_from_environment() -> Gateway:
    """The gateway for `uvicorn gateway:app`: on a bad registry or app, log the message
    and exit with status 2 instead of a traceback."""
    _log_to_stderr()
    try:
        return build_gateway()
    except RouteshiftError as exc:
        logger.critical("routeshift cannot start: %s", exc)
        raise SystemExit(2) from None


def _log_to_stderr() -> None:
    """Show routeshift's own messages (reloads, bad edits) beside uvicorn's, unless the
    application configured logging for the "routeshift" logger itself."""
    package_logger = logging.getLogger("routeshift")
    if package_logger.handlers:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s:     [routeshift] %(message)s"))
    package_logger.addHandler(handler)
    package_logger.setLevel(logging.INFO)


__all__ = ["Apps", "Gateway", "app_from_environment", "build_gateway", "load_apps"]
