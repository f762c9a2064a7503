"""The registry as the gateway serves it, and the watcher that reloads it.

`Routing` is everything a request needs from the registry: the registry itself, the
classifier built from it, the gateway's own paths and the merged OpenAPI document
(routeshift.compat.openapi, made on first use and kept with the Routing). It is built
whole and swapped in at once, so a request sees either the old registry or the new one,
never a mix.

`RegistryWatcher` owns the current Routing. Its `watch()` (run in the server's lifespan)
looks at the file every `interval` seconds; `reload()` loads it off the event loop,
checks it against the apps and swaps it in, then tells the listeners (the writer takes
the new redaction and retention). While it runs, on a thread of its own behind the
requests, the GIL goes back to the event loop every RELOAD_SWITCH_INTERVAL and no cyclic
collection runs, so that requests do not queue behind it. An edit that does not load, or
one that names other apps, is logged and the last good registry keeps serving.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI

from routeshift.apps.pair import Apps, check_apps
from routeshift.compat.openapi import LegacyOperation, MergedDocument, legacy_operations
from routeshift.decide.classify import Classifier
from routeshift.errors import RegistryError, RouteshiftError
from routeshift.registry.load import load_registry
from routeshift.registry.model import Registry, Settings
from routeshift.serve.admin import AdminPaths
from routeshift.store.sql import hide_password

__all__ = [
    "RELOAD_NICE",
    "RELOAD_SWITCH_INTERVAL",
    "RegistryWatcher",
    "Routing",
    "file_signature",
]

logger = logging.getLogger("routeshift.serve.gateway")

#: seconds between the GIL's hand-overs while a reload runs (Python's default: 0.005)
RELOAD_SWITCH_INTERVAL = 0.0001
#: how much nicer than the server the reload thread runs (Linux)
RELOAD_NICE = 10
#: settings an edit changes only at the next start, with the reason logged
_RESTART_SETTINGS = ("bridge_threads", "store_url")

Signature = tuple[int, int, int] | None


@dataclass(frozen=True, slots=True)
class Routing:
    """What a request needs of the registry, built from one registry at once."""

    registry: Registry
    classifier: Classifier
    own_paths: AdminPaths
    #: the document the gateway answers the modern app's openapi_url with (None: the
    #: modern app answers it alone)
    openapi: MergedDocument | None = None

    @classmethod
    def build(cls, registry: Registry, apps: Apps, *, force_legacy: bool) -> Routing:
        """The routing of `registry` over `apps`; `force_legacy` is the environment's
        switch (the registry's own, settings.force_legacy, is read here too)."""
        classifier = Classifier.for_apps(registry, apps, force_legacy=force_legacy)
        own = AdminPaths.of(registry.settings)
        return cls(registry, classifier, own, _merged_openapi(registry, apps))

    def __repr__(self) -> str:
        return f"Routing({str(self.registry.path)!r}, {len(self.registry.routes)} entries)"


class RegistryWatcher:
    """Holds the current Routing; reloads the registry file when it changes."""

    def __init__(
        self,
        routing: Routing,
        apps: Apps,
        *,
        force_legacy: bool = False,
        interval: float = 0.5,
        signature: Signature | None = None,
        listeners: Sequence[Callable[[Settings], None]] = (),
    ) -> None:
        """`signature`: the registry file's, taken before it was read (default: now), so
        that an edit saved while the apps were importing is loaded by the watcher.
        `listeners(settings)` are told of every registry that took effect. `freeze`: the
        process froze what it built at start (`gc.freeze()`, as `gateway:app` does), so
        what a reload builds is frozen too (see `_quiet_reload`)."""
        self.current = routing
        self.freeze = False
        self.apps = apps
        self.force_legacy = force_legacy
        self.interval = interval
        self.listeners = tuple(listeners)
        self._signature = signature if signature is not None else file_signature(self.path)

    @property
    def path(self) -> Path:
        path: Path = self.current.registry.path
        return path

    @property
    def registry(self) -> Registry:
        return self.current.registry

    def reload(self) -> bool:
        """Load the registry file again; keep the last good one when it is invalid.

        Returns True when the new registry took effect.
        """
        old = self.current.registry
        try:
            registry = load_registry(old.path)
            _same_apps(old, registry)
            check_apps(registry, self.apps)
            routing = Routing.build(registry, self.apps, force_legacy=self.force_legacy)
        except RouteshiftError as exc:
            logger.error("%s\nstill serving the last good registry.", exc)
            return False
        _log_restart_needed(old.settings, registry.settings)
        self.current = routing
        for listener in self.listeners:
            listener(registry.settings)
        logger.info("registry reloaded from %s", old.path)
        return True

    async def watch(self) -> None:
        """Reload whenever the file changes, until cancelled (the server's lifespan).

        Each reload runs on a thread of its own, behind the requests (`_behind_requests`)."""
        loop = asyncio.get_running_loop()
        reloader = ThreadPoolExecutor(
            1, thread_name_prefix="routeshift-reload", initializer=_behind_requests
        )
        try:
            while True:
                await asyncio.sleep(self.interval)
                signature = file_signature(self.path)
                if signature == self._signature:
                    continue
                self._signature = signature
                try:
                    with _quiet_reload(freeze=self.freeze):
                        await loop.run_in_executor(reloader, self.reload)
                except Exception:  # the watcher must outlive any one bad edit
                    logger.exception(
                        "reloading %s failed; still serving the last good registry.", self.path
                    )
        finally:
            reloader.shutdown(wait=False)

    def __repr__(self) -> str:
        return f"RegistryWatcher({str(self.path)!r}, every {self.interval:g} s)"


def _behind_requests() -> None:
    """Lower the CPU priority of the reload thread (Linux: nice applies per thread) by
    RELOAD_NICE, so that on a busy core the scheduler runs the event loop as soon as a
    request wakes it instead of at the end of the reload's time slice; the reload still
    gets its share (about a tenth of a saturated core at +10). Elsewhere, as it is."""
    if not sys.platform.startswith("linux"):
        return  # setpriority(PRIO_PROCESS, id) there is the whole process's
    thread = threading.get_native_id()
    with contextlib.suppress(OSError):
        nice = os.getpriority(os.PRIO_PROCESS, thread)
        os.setpriority(os.PRIO_PROCESS, thread, min(nice + RELOAD_NICE, 19))


@contextlib.contextmanager
def _quiet_reload(*, freeze: bool = False) -> Iterator[None]:
    """What a reload on its thread does to the requests served meanwhile, made small:

    - the interpreter hands the GIL back to the event loop every RELOAD_SWITCH_INTERVAL
      (0.1 ms) instead of every 5 ms, so a request that arrives during the reload waits
      for it that long at each turn (at 5,000 routes, 0.5 ms took the event loop's lag
      from p50 5.3 ms to 0.7 ms; 0.1 ms took the p99 of requests during reloads from
      about 1.9 to 1.5 ms);
    - no cyclic garbage collection runs meanwhile: the reload makes a few hundred
      thousand objects, and a collection over them holds the GIL for 10-20 ms;
    - with `freeze` (the process froze what it built at start: `gateway:app` does), what
      is alive after the reload, the new routing among it, is frozen too, so that no
      later full collection walks it either; the routing it replaced goes by reference
      counting. (`gc.freeze()` is cheap; `gc.get_freeze_count()` walks every frozen
      object, 30 ms at 5,000 routes, so the caller says whether the process froze.)
    """
    before = sys.getswitchinterval()
    collecting = gc.isenabled()
    sys.setswitchinterval(min(before, RELOAD_SWITCH_INTERVAL))
    gc.disable()
    try:
        yield
    finally:
        if freeze:
            gc.freeze()
        if collecting:
            gc.enable()
        sys.setswitchinterval(before)


def _merged_openapi(registry: Registry, apps: Apps) -> MergedDocument | None:
    """The merged document, when settings.merged_openapi is on and the modern app is a
    FastAPI app that has an openapi_url."""
    modern, legacy = apps.modern, apps.legacy
    if not registry.settings.merged_openapi or not isinstance(modern, FastAPI):
        return None
    if not modern.openapi_url:
        return None

    def operations() -> Sequence[LegacyOperation]:
        views = getattr(legacy, "view_functions", {})
        return legacy_operations(apps.legacy_routes, registry, legacy.url_map.converters, views)

    return MergedDocument(modern.openapi_url, operations)


def file_signature(path: str | os.PathLike[str]) -> Signature:
    """What tells an edit of the file: its mtime, size and inode (None when missing)."""
    try:
        stat = Path(path).stat()
    except OSError:
        return None
    return (stat.st_mtime_ns, stat.st_size, stat.st_ino)


def _same_apps(old: Registry, new: Registry) -> None:
    for key in ("legacy_app", "modern_app"):
        before, after = getattr(old.model, key), getattr(new.model, key)
        if before != after:
            raise RegistryError(
                [
                    new.problem(
                        (key,),
                        f"{key} changed from {before!r} to {after!r}; "
                        "a change of app needs a restart of the gateway.",
                    )
                ]
            )


def _log_restart_needed(old: Settings, new: Settings) -> None:
    """Log the settings an edit changed that only a restart applies."""
    for key in _RESTART_SETTINGS:
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
