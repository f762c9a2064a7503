"""Building the gateway: the composition root's one call, `app_from_environment()`.

`build_gateway()` loads the registry, imports both apps, checks the registry against
them, builds each part and hands them to `Gateway(...)`. Nothing here runs per request.
Once the registry fits, the legacy app's url_map gets build-only rules for the views
the registry lists and the app no longer has (routeshift.compat.urls), so that its
`url_for` keeps building them; the check saw them gone. The registry's daily snapshot
(its route methods by state, routeshift.track.history) goes to the store's writer thread
at the start and after each reload, never from a request.
"""

from __future__ import annotations

import datetime as dt
import gc
import logging
import os
from typing import Any

from routeshift.apps.dispatch import install as install_direct
from routeshift.apps.pair import check_apps, load_apps
from routeshift.compat.urls import add_build_only_rules
from routeshift.errors import RouteshiftError
from routeshift.registry.load import load_registry, registry_path
from routeshift.serve.admin import Admin, GatewayFigures, admin_token_from_env
from routeshift.serve.bridge import LegacyBridge
from routeshift.serve.gateway import Gateway
from routeshift.serve.metrics import Metrics
from routeshift.serve.reload import RegistryWatcher, Routing, file_signature
from routeshift.serve.shadow import ShadowRunner
from routeshift.store.records import Snapshot
from routeshift.store.sql import Store
from routeshift.store.writer import ObservationWriter
from routeshift.track.history import snapshot_counts

__all__ = ["ENV_FORCE_LEGACY", "app_from_environment", "build_gateway", "force_legacy_from_env"]

logger = logging.getLogger("routeshift.serve.gateway")

ENV_FORCE_LEGACY = "ROUTESHIFT_FORCE_LEGACY"


def force_legacy_from_env() -> bool:
    """ROUTESHIFT_FORCE_LEGACY=1 (or true, yes, on): every ported route to legacy."""
    return os.environ.get(ENV_FORCE_LEGACY, "").strip().lower() in {"1", "true", "yes", "on"}


def build_gateway(
    registry: str | os.PathLike[str] | None = None,
    *,
    legacy_app: Any = None,
    modern_app: Any = None,
    force_legacy: bool | None = None,
    watch_interval: float = 0.5,
    metrics: Metrics | None = None,
) -> Gateway:
    """Load the registry (path, else MIGRATION_STATUS, else ./migration_status.yaml) and
    the apps it names, check them, and return the gateway. Raises RouteshiftError."""
    path = registry_path(registry)
    signature = file_signature(path)  # before reading: an edit from now on is reloaded
    loaded = load_registry(path)
    apps = load_apps(loaded, legacy_app, modern_app)
    check_apps(loaded, apps)
    add_build_only_rules(apps.legacy, loaded)  # after the check: it saw the views gone
    install_direct(apps.modern)  # the seam of direct dispatch, at the bottom of its router
    settings = loaded.settings
    force = force_legacy_from_env() if force_legacy is None else force_legacy
    metrics = metrics if metrics is not None else Metrics.for_process()
    bridge = LegacyBridge(apps.legacy, threads=settings.bridge_threads, on_busy=metrics.thread_busy)
    metrics.bridge_threads(bridge.threads)
    store = Store.for_registry(loaded)
    writer = ObservationWriter.for_settings(store, settings)
    watcher = RegistryWatcher(
        Routing.build(loaded, apps, force_legacy=force),
        apps,
        force_legacy=force,
        interval=watch_interval,
        signature=signature,
        listeners=(writer.configure, lambda _: _snapshot(watcher, writer)),
    )
    _snapshot(watcher, writer)
    shadow = ShadowRunner(
        apps.modern, record=writer.submit, count=metrics.shadow, redact=writer.redact_error
    )
    figures = GatewayFigures(watcher, apps, metrics, store)
    return Gateway(
        modern=apps.modern,
        bridge=bridge,
        watcher=watcher,
        shadow=shadow,
        admin=Admin(figures, token=admin_token_from_env()),
        metrics=metrics,
        store=store,
        writer=writer,
    )


def _snapshot(watcher: RegistryWatcher, writer: ObservationWriter) -> None:
    """Queue today's snapshot of the registry the watcher serves (the last of a day wins);
    the writer logs a store that cannot keep it, and the gateway serves on."""
    now = dt.datetime.now(dt.UTC)
    counts = snapshot_counts(watcher.current.registry.model)
    writer.submit_snapshot(Snapshot(now.date(), now, counts))


def app_from_environment() -> Gateway:
    """The gateway for `uvicorn gateway:app`: on a bad registry or app, log the message
    and exit with status 2 instead of a traceback.

    Once built, everything alive (both apps, their routes, the first Routing) is frozen
    out of the cyclic garbage collector's reach (`gc.freeze()`, as pre-fork servers do):
    it lives as long as the worker, and a full collection would otherwise walk all of it
    (0.1-0.3 s at 5,000 routes, holding the event loop), e.g. while a reload builds its
    tables. What is made later, a reload's Routing included, is collected as usual."""
    _log_to_stderr()
    try:
        gateway = build_gateway()
    except RouteshiftError as exc:
        logger.critical("routeshift cannot start: %s", exc)
        raise SystemExit(2) from None
    gc.collect()
    gc.freeze()
    gateway.watcher.freeze = True  # and what each reload builds
    return gateway


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
