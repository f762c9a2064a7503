"""The gateway: one ASGI app that serves each legacy route from legacy or modern.

`build_gateway()` loads the registry, imports both apps, checks the registry against
them and returns a `Gateway`. Every request is classified (routeshift.classify) and
passed to the legacy bridge or the modern app; the response carries
`X-Served-By: legacy|modern`. The registry file is watched: an edit takes effect within
`watch_interval` seconds; an edit that does not load is logged and the last good
registry keeps serving.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from routeshift.apps import Apps, check_apps, load_apps
from routeshift.bridge import LegacyBridge
from routeshift.classify import Classifier, Decision, Side, build_table, ported_paths
from routeshift.discovery import (
    flat_routes,
)
from routeshift.errors import RegistryError, RouteshiftError
from routeshift.lifespan import ChildLifespan, LifespanError
from routeshift.registry import Registry, load_registry, registry_path

logger = logging.getLogger("routeshift.gateway")

ENV_FORCE_LEGACY = "ROUTESHIFT_FORCE_LEGACY"

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
    ) -> None:
        """`signature`: the registry file's, taken before it was read (default: now), so
        that an edit saved while the apps were importing is loaded by the watcher."""
        self.apps = apps
        self.modern = apps.modern
        self.bridge = LegacyBridge(apps.legacy, threads=registry.settings.bridge_threads)
        self.env_force_legacy = force_legacy
        self.watch_interval = watch_interval
        self.registry = registry
        self.classifier = self._classifier(registry)
        self._signature = signature if signature is not None else _signature(registry.path)
        self._watcher: asyncio.Task[None] | None = None

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
            if registry.settings.bridge_threads != self.registry.settings.bridge_threads:
                logger.warning(
                    "settings.bridge_threads changed to %d; the bridge keeps %d threads "
                    "until the gateway restarts.",
                    registry.settings.bridge_threads,
                    self.bridge.threads,
                )
        except RouteshiftError as exc:
            logger.error("%s\nstill serving the last good registry.", exc)
            return False
        self.registry, self.classifier = registry, classifier
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
            decision = self.classifier.classify(scope)
            if decision.side is Side.LEGACY:
                await self.bridge.serve(scope, receive, send, decision.extra_allow)
            else:
                await self._serve_modern(scope, receive, send, decision)
        elif kind == "websocket":
            await self.modern(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(scope, receive, send)

    async def _serve_modern(
        self, scope: Message, receive: Receive, send: Send, decision: Decision
    ) -> None:
        head = decision.head_as_get and scope["method"] == "HEAD"
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
            await child.shutdown()
        except LifespanError as exc:
            await send({"type": "lifespan.shutdown.failed", "message": str(exc)})
            return
        finally:
            # off the event loop: a call still reading a large body needs the loop
            await asyncio.to_thread(self.bridge.close)
        await send({"type": "lifespan.shutdown.complete"})


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
