"""What routes the apps have: the legacy app's url_map and the modern app's routes.

Uses only public APIs: `url_map.iter_rules()`, `Rule.rule`, `.endpoint`, `.methods`,
`.arguments` on the Flask side; `app.routes` with `.path` and `.methods` on the
Starlette/FastAPI side.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from routeshift._asgi import IMPLICIT_METHODS

__all__ = [
    "RULE_VARIABLE",
    "LegacyRoute",
    "ModernRoute",
    "flat_routes",
    "handler_index",
    "legacy_routes",
    "modern_routes",
    "to_fastapi_path",
]

#: Methods that every Flask rule answers on its own and that are never ported alone.

#: werkzeug's rule syntax, one variable: <converter(arguments):name> or <name>
RULE_VARIABLE = re.compile(
    r"<(?:(?P<converter>[a-zA-Z_][a-zA-Z0-9_]*)(?:\((?P<args>.*?)\))?:)?"
    r"(?P<name>[a-zA-Z_][a-zA-Z0-9_]*)>"
)
# converters whose FastAPI form is a plain {name}; `path` becomes {name:path}
_PLAIN_CONVERTERS = frozenset({"default", "string", "int", "float"})


@dataclass(frozen=True, slots=True)
class LegacyRoute:
    """One rule of the legacy app: an endpoint at a rule with its own methods."""

    endpoint: str
    rule: str
    methods: frozenset[str]
    arguments: tuple[str, ...]
    #: the app has a view for the endpoint (a rule added with only an endpoint, to build
    #: URLs of, has none: flaskr's `add_url_rule("/", endpoint="index")`)
    has_view: bool = True

    @property
    def blueprint(self) -> str:
        """The blueprint part of the endpoint ('' for the app's own views)."""
        return self.endpoint.rpartition(".")[0]

    @property
    def is_static(self) -> bool:
        return self.endpoint == "static" or self.endpoint.endswith(".static")

    @property
    def is_counted(self) -> bool:
        """A route of the migration: not the static files, and one with a view to port."""
        return self.has_view and not self.is_static

    @property
    def fastapi_path(self) -> str | None:
        """The rule in FastAPI's syntax, or None when a converter has no translation."""
        return to_fastapi_path(self.rule)

    def __repr__(self) -> str:
        methods = ",".join(sorted(self.methods))
        return f"LegacyRoute({self.endpoint!r}, {self.rule!r}, [{methods}])"


@dataclass(frozen=True, slots=True)
class ModernRoute:
    """One HTTP route of the modern app."""

    path: str
    methods: frozenset[str]
    name: str

    def __repr__(self) -> str:
        return f"ModernRoute({self.path!r}, [{','.join(sorted(self.methods))}])"


def to_fastapi_path(rule: str) -> str | None:
    """Translate a werkzeug rule to a FastAPI path.

    `<int:x>`, `<float:x>`, `<string:x>` and `<x>` become `{x}`; `<path:x>` becomes
    `{x:path}`. Any other converter (any, uuid, custom) returns None: such a route
    names its FastAPI path with `modern_path` in the registry.
    """
    untranslatable = False

    def replace(match: re.Match[str]) -> str:
        nonlocal untranslatable
        converter = match.group("converter") or "default"
        name = match.group("name")
        if converter == "path":
            return "{" + name + ":path}"
        if converter not in _PLAIN_CONVERTERS:
            untranslatable = True
        return "{" + name + "}"

    path = RULE_VARIABLE.sub(replace, rule)
    return None if untranslatable else path


def legacy_routes(flask_app: Any) -> tuple[LegacyRoute, ...]:
    """Every rule of a Flask app that can match a request, in the url_map's order, static
    and view-less included (`is_counted` tells the routes of the migration); build-only
    rules are left out."""
    routes = []
    views = getattr(flask_app, "view_functions", None)
    for rule in flask_app.url_map.iter_rules():
        if getattr(rule, "build_only", False):
            continue  # never matches a request: a name to build URLs of (compat.urls)
        methods = frozenset(rule.methods or ()) - IMPLICIT_METHODS
        routes.append(
            LegacyRoute(
                endpoint=rule.endpoint,
                rule=rule.rule,
                methods=methods,
                arguments=tuple(sorted(rule.arguments)),
                has_view=views is None or rule.endpoint in views,
            )
        )
    return tuple(routes)


def modern_routes(asgi_app: Any) -> tuple[ModernRoute, ...]:
    """The HTTP routes (path and methods) of a Starlette or FastAPI app, in order.

    Mounts and websocket routes have no methods and are left out: they are not ports
    of a Flask rule. An app with no `routes` attribute (a bare ASGI callable) has none
    that routeshift can see.
    """
    found = []
    for route in flat_routes(asgi_app):
        methods = getattr(route, "methods", None)
        path = getattr(route, "path", None)
        if not methods or not isinstance(path, str):
            continue
        found.append(
            ModernRoute(path=path, methods=frozenset(methods), name=getattr(route, "name", ""))
        )
    return tuple(found)


def flat_routes(asgi_app: Any) -> list[Any]:
    """The app's routes in matching order, included routers opened up (prefixes applied).

    Each has Starlette's `matches(scope)` and, for HTTP routes, `path` and `methods`.
    """
    routes = list(getattr(asgi_app, "routes", ()))
    try:  # FastAPI >= 0.137 keeps each include_router as one opaque route in app.routes
        from fastapi.routing import iter_route_contexts
    except ImportError:  # older FastAPI copies every included route into app.routes
        return routes
    return list(iter_route_contexts(routes))


def handler_index(routes: Iterable[ModernRoute]) -> frozenset[tuple[str, str]]:
    """(path, method) pairs the modern app answers; HEAD only where a route lists it
    (Starlette's Route adds HEAD to GET, FastAPI's APIRoute does not)."""
    pairs = set()
    for route in routes:
        for method in route.methods:
            pairs.add((route.path, method))
    return frozenset(pairs)
