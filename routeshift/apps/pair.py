"""The two apps a registry names, imported, and what routeshift sees of them.

Kept apart from the gateway so that the commands that only read (and the emergency
rollback, which needs no app at all) do not import the serving machinery.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from routeshift.apps.importer import load_app
from routeshift.compare import CookieDecoders
from routeshift.errors import AppImportError, RegistryError, RouteshiftError
from routeshift.registry.fit import check_routes
from routeshift.registry.model import Registry
from routeshift.routes import LegacyRoute, ModernRoute, handler_index, legacy_routes, modern_routes

__all__ = [
    "Apps",
    "check_apps",
    "load_apps",
    "load_legacy_app",
    "search_dirs",
    "session_cookies",
    "signed_session",
]


@dataclass(frozen=True, slots=True)
class Apps:
    """The two apps and what routeshift sees of them; fixed for the gateway's life."""

    legacy: Any
    modern: Any
    legacy_routes: tuple[LegacyRoute, ...]
    modern_routes: tuple[ModernRoute, ...]
    handlers: frozenset[tuple[str, str]]


def load_legacy_app(registry: Registry) -> Any:
    """Import the Flask app the registry names; AppImportError when it is not one."""
    what = f"legacy_app in {registry.path}:{registry.line(('legacy_app',))}"
    app = load_app(registry.model.legacy_app, search_dirs=search_dirs(registry), what=what)
    _require_flask(app, what, registry.model.legacy_app)
    return app


def load_apps(registry: Registry, legacy_app: Any = None, modern_app: Any = None) -> Apps:
    """Import the apps the registry names (unless given) and discover their routes."""
    if legacy_app is None:
        legacy_app = load_legacy_app(registry)
    else:
        _require_flask(legacy_app, f"legacy_app in {registry.path}", registry.model.legacy_app)
    if modern_app is None:
        modern_app = load_app(
            registry.model.modern_app,
            search_dirs=search_dirs(registry),
            what=f"modern_app in {registry.path}:{registry.line(('modern_app',))}",
        )
    found = modern_routes(modern_app)
    return Apps(legacy_app, modern_app, legacy_routes(legacy_app), found, handler_index(found))


def check_apps(registry: Registry, apps: Apps) -> None:
    """Raise RegistryError when the registry does not fit the apps."""
    problems = check_routes(registry, apps.legacy_routes, apps.modern_routes)
    if problems:
        raise RegistryError(problems)


def session_cookies(flask_app: Any) -> CookieDecoders:
    """The legacy app's session cookie and Flask's own reading of it (its session
    interface's signing serializer), so that a Set-Cookie of the session is compared by
    what it holds (its signature carries a timestamp). None for a session interface that
    keeps the session elsewhere, or an app without a secret key."""
    interface = getattr(flask_app, "session_interface", None)
    serializer_of = getattr(interface, "get_signing_serializer", None)
    if interface is None or serializer_of is None:
        return ()
    name = interface.get_cookie_name(flask_app)

    def payload(value: str) -> Any:
        serializer = serializer_of(flask_app)  # read per cookie: a rotated key applies
        if serializer is None:
            raise ValueError("the app has no SECRET_KEY")
        return serializer.loads(value)

    return ((name, payload),)


def signed_session(flask_app: Any, data: Mapping[str, Any]) -> tuple[str, str]:
    """(cookie name, value) of a session holding `data`, signed now by the legacy app's
    own session interface, as its views would sign it. RouteshiftError for an app whose
    sessions are not Flask's signed cookies, or that has no SECRET_KEY."""
    interface = getattr(flask_app, "session_interface", None)
    serializer_of = getattr(interface, "get_signing_serializer", None)
    if interface is None or serializer_of is None:
        raise RouteshiftError(
            f"the legacy app's sessions ({type(interface).__name__}) are not Flask's signed "
            "cookies, so a case cannot carry `session:`; log the user in in the contract "
            "state hook (routeshift_state) instead."
        )
    serializer = serializer_of(flask_app)
    if serializer is None:
        raise RouteshiftError(
            "the legacy app has no SECRET_KEY, so a case's `session:` cannot be signed; "
            "set one in the app's config."
        )
    return interface.get_cookie_name(flask_app), serializer.dumps(dict(data))


def search_dirs(registry: Registry) -> tuple[Path, ...]:
    """Where the apps' modules are looked up: the registry's folder, then the working
    directory (the contract cases' conftest.py imports from there too)."""
    return (registry.folder, Path.cwd())


def _require_flask(app: Any, what: str, name: str) -> None:
    if not hasattr(app, "url_map"):
        raise AppImportError(
            f"{what}: {name!r} is a {type(app).__name__}, not a Flask app (it has no url_map)."
        )
