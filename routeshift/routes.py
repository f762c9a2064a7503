"""What routes the apps have: the legacy app's url_map and the modern app's routes.

Uses only public APIs: `url_map.iter_rules()`, `Rule.rule`, `.endpoint`, `.methods`,
`.arguments` and `Map.converters` on the Flask side; `app.routes` with `.path` and
`.methods` on the Starlette/FastAPI side.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from routeshift._asgi import IMPLICIT_METHODS

__all__ = [
    "RULE_VARIABLE",
    "LegacyRoute",
    "ModernRoute",
    "flat_routes",
    "handler_index",
    "is_static_endpoint",
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
#: the converter a plain `<name>` uses
_DEFAULT_CONVERTER = "default"


def is_static_endpoint(endpoint: str) -> bool:
    """Flask's static files (the app's `static` or a blueprint's `<name>.static`): never
    a route of the migration."""
    return endpoint == "static" or endpoint.endswith(".static")


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
    #: the rule in FastAPI's syntax (see `to_fastapi_path`): `legacy_routes` gives the one
    #: its url_map's converters say; left empty, the rule's own, by converter name only
    fastapi_path: str = ""

    def __post_init__(self) -> None:
        if not self.fastapi_path:
            object.__setattr__(self, "fastapi_path", to_fastapi_path(self.rule))

    @property
    def blueprint(self) -> str:
        """The blueprint part of the endpoint ('' for the app's own views)."""
        return self.endpoint.rpartition(".")[0]

    @property
    def is_static(self) -> bool:
        return is_static_endpoint(self.endpoint)

    @property
    def is_counted(self) -> bool:
        """A route of the migration: not the static files, and one with a view to port."""
        return self.has_view and not self.is_static

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


def to_fastapi_path(rule: str, converters: Mapping[str, type] | None = None) -> str:
    """Translate a werkzeug rule to a FastAPI path (design.md, "Rule translation").

    Every variable becomes `{x}` (`int`, `float`, `uuid`, `any(...)`, `string(length=2)`,
    custom converters), except one whose converter matches across `/`, which becomes
    `{x:path}`: its class has `part_isolating = False` (werkzeug's `path`; werkzeug 2.3
    and later set it for a custom converter whose regex holds a `/`). `converters` is
    the url_map's (`Map.converters`, name -> class); a class without `part_isolating`
    (werkzeug before 2.2) counts as isolating unless it is named `path`.

    Without `converters` (a caller that has the rule and not the app) the translation
    assumes werkzeug's own: `path` is the only converter that matches across `/`, and
    every other name, a custom one included, becomes `{x}`. `legacy_routes` passes the
    app's, so `LegacyRoute.fastapi_path` is right for custom converters too.
    """

    def replace(match: re.Match[str]) -> str:
        name = match.group("name")
        return "{" + name + (":path" if _crosses_slash(match, converters) else "") + "}"

    return RULE_VARIABLE.sub(replace, rule)


def _crosses_slash(match: re.Match[str], converters: Mapping[str, type] | None) -> bool:
    """Whether the variable's converter matches across `/` (is not part-isolating)."""
    converter = match.group("converter") or _DEFAULT_CONVERTER
    found = converters.get(converter) if converters is not None else None
    if found is None:
        return converter == "path"
    return not getattr(found, "part_isolating", converter != "path")


def legacy_routes(flask_app: Any) -> tuple[LegacyRoute, ...]:
    """Every rule of a Flask app that can match a request, in the url_map's order, static
    and view-less included (`is_counted` tells the routes of the migration); build-only
    rules are left out."""
    routes = []
    views = getattr(flask_app, "view_functions", None)
    converters = getattr(flask_app.url_map, "converters", None)
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
                fastapi_path=to_fastapi_path(rule.rule, converters),
            )
        )
    return tuple(routes)


def modern_routes(asgi_app: Any) -> tuple[ModernRoute, ...]:
    """The HTTP routes (path and methods) of a Starlette or FastAPI app, in order.

    Mounts and websocket routes have no methods and are left out: they are not ports
    of a Flask rule. An app with no `routes` attribute (a bare ASGI callable) has none
    that routeshift can see.
    """
    listed = _listed_without_contexts(asgi_app)
    if listed is not None:
        return listed
    return _http_routes(flat_routes(asgi_app))


def _http_routes(routes: Iterable[Any]) -> tuple[ModernRoute, ...]:
    found = []
    for route in routes:
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


def _listed_without_contexts(asgi_app: Any) -> tuple[ModernRoute, ...] | None:
    """`modern_routes` of a FastAPI >= 0.137 app without building every included route's
    context (0.5-0.7 ms a route: its dependant and response fields), or None to list
    them through `iter_route_contexts`.

    The seam (FastAPI's private `_IncludedRouter`, tested on 0.165): an included router's
    route is at `include_context.prefix + route.path` (`_RouterIncludeContext.path_for`;
    nested prefixes add up, `combine`), with the route's own methods (upper case) and
    name, as `iter_route_contexts` gives them. Only APIRoute, Starlette's Route and
    routes without methods (websockets, mounts) are read so; anything else in an
    included router, or a FastAPI without the seam, takes the public way.
    """
    try:
        from fastapi.routing import APIRoute, _IncludedRouter
        from starlette.routing import Host, Mount, Route, WebSocketRoute
    except ImportError:
        return None
    plain = (APIRoute, Route)
    skipped = (WebSocketRoute, Mount, Host)  # no methods: never a port of a Flask rule
    found: list[ModernRoute] = []

    def walk(routes: Iterable[Any], prefix: str | None) -> bool:
        for route in routes:
            if isinstance(route, _IncludedRouter):
                context = getattr(route, "include_context", None)
                inner = getattr(getattr(route, "original_router", None), "routes", None)
                added = getattr(context, "prefix", None)
                if not isinstance(added, str) or inner is None:
                    return False
                if not walk(inner, (prefix or "") + added):
                    return False
            elif prefix is None:  # the app's own routes: as they are
                found.extend(_http_routes((route,)))
            elif isinstance(route, plain):
                methods = {str(method).upper() for method in route.methods or ()}
                if methods:
                    found.append(ModernRoute(prefix + route.path, frozenset(methods), route.name))
            elif not isinstance(route, skipped):
                return False
        return True

    if not walk(getattr(asgi_app, "routes", ()), None):
        return None
    return tuple(found)


def handler_index(routes: Iterable[ModernRoute]) -> frozenset[tuple[str, str]]:
    """(path, method) pairs the modern app answers; HEAD only where a route lists it
    (Starlette's Route adds HEAD to GET, FastAPI's APIRoute does not)."""
    pairs = set()
    for route in routes:
        for method in route.methods:
            pairs.add((route.path, method))
    return frozenset(pairs)
