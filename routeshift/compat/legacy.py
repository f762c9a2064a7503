"""`Legacy`: the legacy Flask app as the modern app's ports see it, the one object a
port needs for the crossing.

    legacy = Legacy("legacy_flask:app")      # or the Flask app, or None: the registry's
    app = FastAPI()
    legacy.install(app)                      # the middleware and the error envelope

    @app.get("/me", response_class=FlaskJSONResponse)
    def me(ctx: Annotated[LegacyContext, Depends(legacy.context)]) -> Any:
        with ctx:                            # Flask's request, session, g, current_user
            ...

The dependencies: `legacy.context` (a `LegacyContext`), `legacy.session` (the legacy
session, saved as Flask saves it), `legacy.guard(login_required, ...)` (the view's own
decorators enforced, giving the context). Everything runs on the legacy app's own
machinery (session_interface, error handlers, JSON provider, url_map).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask.ctx import RequestContext
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from werkzeug.exceptions import HTTPException as WerkzeugHTTPException
from werkzeug.routing import RequestRedirect

from routeshift.apps.importer import load_app
from routeshift.apps.pair import load_legacy_app
from routeshift.compat.context import Guard, LegacyContext
from routeshift.compat.crossing import (
    BODY_LIMIT,
    Crossing,
    CrossingMiddleware,
    crossing_of,
    is_cookie_session,
)
from routeshift.compat.envelope import Envelope, ErrorFormat
from routeshift.errors import CrossingError, RouteshiftError
from routeshift.registry.load import load_registry, registry_path
from routeshift.registry.model import Entry, Registry

__all__ = ["Legacy", "require_flask", "source_name"]

logger = logging.getLogger("routeshift.compat")

#: Flask 3.1 marks a session accessed when a view takes it (the request context's
#: `session` property); before, the session marked itself on each read of a key
_PROXY_MARKS_ACCESS = isinstance(getattr(RequestContext, "session", None), property)

AppSource = Any  # a Flask app, an import string, a callable giving the app, or None


class Legacy:
    """The legacy app and the crossing's dependencies (see the module docstring).

    `app`: the Flask app, an import string ("package.module:app"), a zero-argument
    callable returning the app, or None for the registry's `legacy_app`; resolved on
    first use. `registry`: the registry file read for `error_format` when the modern
    app runs without the gateway (default: MIGRATION_STATUS, else
    ./migration_status.yaml). `body_limit`: bytes of request body a legacy context keeps.
    """

    def __init__(
        self,
        app: AppSource = None,
        *,
        registry: str | os.PathLike[str] | None = None,
        body_limit: int = BODY_LIMIT,
    ) -> None:
        self._source = app
        self._app: Any = None
        self._registry_path = registry
        self._registry: tuple[float, Registry | None] | None = None
        self._lock = threading.Lock()
        self.body_limit = body_limit

    def __repr__(self) -> str:
        source = self._source if isinstance(self._source, str) else self._app or self._source
        return f"Legacy({source!r})"

    @property
    def app(self) -> Any:
        """The legacy Flask app (imported on first use)."""
        if self._app is None:
            with self._lock:
                if self._app is None:
                    self._app = self._resolve()
        return self._app

    def _resolve(self) -> Any:
        source = self._source
        if source is None:
            return load_legacy_app(load_registry(registry_path(self._registry_path)))
        if isinstance(source, str):
            return load_app(source, what="legacy app")
        if hasattr(source, "wsgi_app") and hasattr(source, "session_interface"):
            return source
        if callable(source):
            app = source()
            require_flask(app, f"Legacy's app callable {source_name(source)}")
            return app
        raise CrossingError(
            f"Legacy() takes the Flask app, its import string or a function returning it; "
            f"got {type(source).__name__}."
        )

    # --- installing ------------------------------------------------------------

    def install(self, modern_app: Any, *, errors: bool = True) -> None:
        """Add the crossing to a FastAPI (or Starlette) app: the middleware every
        dependency here needs, and (unless `errors=False`) the legacy error envelope's
        exception handlers (routeshift.compat.envelope)."""
        envelope = Envelope(self.error_format)
        modern_app.add_middleware(
            CrossingMiddleware,
            flask_app=lambda: self.app,
            body_limit=self.body_limit,
            save=_save_session,
            unhandled=envelope.unhandled if errors else None,
        )
        if errors:
            for kind, handler in envelope.handlers().items():
                modern_app.add_exception_handler(kind, handler)

    # --- the dependencies ------------------------------------------------------

    async def context(self, request: Request) -> LegacyContext:
        """Dependency: the request's `LegacyContext` (`with ctx:` in a sync handler,
        `await ctx.run(fn, ...)` in an async one)."""
        crossing = crossing_of(request.scope)
        return LegacyContext(crossing, await _body(crossing, request))

    async def session(self, request: Request) -> Any:
        """Dependency: the legacy app's session of this request (its own session
        interface: secret key and fallbacks, lifetime, cookie settings), saved with
        the exact Set-Cookie (and Vary: Cookie) Flask writes when it changed."""
        crossing = crossing_of(request.scope)
        if is_cookie_session(crossing.flask_app):
            opened = crossing.session()
        else:
            opened = await run_in_threadpool(crossing.session)
        if _PROXY_MARKS_ACCESS:
            opened.accessed = True  # as Flask's `session` proxy does: Vary: Cookie
        return opened

    def guard(self, *guards: Guard) -> Callable[[Request], Any]:
        """Dependency: the legacy view's own decorators (`login_required`, Flask-HTTPAuth's
        `auth.login_required`, the app's own) run in the legacy context before the
        handler, refusing as the view refused (its 401, 403 or redirect); gives the
        `LegacyContext`, whose `with ctx:` runs them again so `current_user` and `g` are
        set inside."""
        if not guards:
            raise CrossingError("legacy.guard() needs at least one view decorator.")

        async def guarded(request: Request) -> LegacyContext:
            crossing = crossing_of(request.scope)
            ctx = LegacyContext(crossing, await _body(crossing, request), guards)
            await run_in_threadpool(ctx.check)
            return ctx

        names = ", ".join(getattr(g, "__qualname__", repr(g)) for g in guards)
        guarded.__name__ = guarded.__qualname__ = f"legacy_guard({names})"
        return guarded

    # --- the error format ------------------------------------------------------

    def error_format(self, request: Request) -> ErrorFormat:
        """The request's error format: the gateway's entry, else the registry file's
        entry for the legacy rule the request matches, else legacy."""
        entry = (request.scope.get("state") or {}).get("routeshift_route")
        if entry is None:
            entry = self._entry_for(request)
        if isinstance(entry, Entry):
            return entry.error_format
        return "legacy"

    def _entry_for(self, request: Request) -> Entry | None:
        registry = self._loaded_registry()
        if registry is None:
            return None
        try:
            crossing = crossing_of(request.scope)
            adapter = crossing.flask_app.url_map.bind_to_environ(crossing.environ())
            rule, _ = adapter.match(return_rule=True)
        except (WerkzeugHTTPException, RequestRedirect, CrossingError):
            return None
        method = request.scope.get("method", "GET")
        for entry in registry.routes:
            if (
                entry.endpoint == rule.endpoint
                and entry.rule == rule.rule
                and method in entry.methods
            ):
                return entry
        return None

    def _loaded_registry(self) -> Registry | None:
        """The registry file, read again when it changes; None when there is none (or
        it is invalid: logged once per change, and the legacy format is used)."""
        path = registry_path(self._registry_path)
        try:
            stamp = path.stat().st_mtime
        except OSError:
            return None
        cached = self._registry
        if cached is not None and cached[0] == stamp:
            return cached[1]
        registry: Registry | None
        try:
            registry = load_registry(path)
        except RouteshiftError as exc:
            logger.warning("%s: error formats are legacy until it is fixed: %s", path, exc)
            registry = None
        self._registry = (stamp, registry)
        return registry

    @property
    def registry_file(self) -> Path:
        return registry_path(self._registry_path)


async def _body(crossing: Crossing, request: Request) -> bytes | None:
    """The request body for a legacy context: what the modern app read (teed), else read
    now (through the tee: the same body limit holds); None over the limit."""
    if not crossing.body_complete:
        await request.body()
    assert crossing.body_complete, "request.body() reads the request to its end"
    return crossing.body()


async def _save_session(crossing: Crossing) -> None:
    if is_cookie_session(crossing.flask_app):
        crossing.save_session()
    else:
        await run_in_threadpool(crossing.save_session)


def require_flask(app: object, what: str) -> None:
    """CrossingError when `app` (what `what` gave) is not a Flask app."""
    from flask import Flask

    if not isinstance(app, Flask):
        raise CrossingError(f"{what} gave {type(app).__name__}, not a Flask app.")


def source_name(source: object) -> str:
    """How a message names the callable or object an app came from."""
    return getattr(source, "__qualname__", None) or repr(source)
