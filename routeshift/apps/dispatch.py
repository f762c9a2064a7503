"""Direct dispatch: a ported route goes straight to the FastAPI route that serves it.

The gateway knows a request's route before the modern app sees it: the legacy Map gave
its endpoint, and the registry says the modern side serves (endpoint, method). Starlette's
router would try each modern route in turn to find the same handler again (fastapi#16159:
at 1,254 routes the last one serves at a twelfth of the first one's rate). Direct
dispatch skips that scan and nothing else: the request still goes through the modern
app itself (its `__call__`, its middleware stack, its exception handlers) and through
its router (the router's own middleware, FastAPI's body limit among them); only the
router's search for the route is skipped.

The seam (`install`): the app's router sits at the bottom of the app's middleware stack
(`FastAPI.build_middleware_stack` starts from `app = self.router`), and its own stack
ends in its routing, `router.app`, which tries each route in turn. There, at the bottom
of the router's stack, goes a `DirectRouter`: it serves a request whose scope carries a
bound `Direct` (under `SCOPE_KEY`, put there by routeshift.decide.stamp.modern_scope)
and hands every other request (unknown paths, websockets, lifespan, a route without a
target) to `router.app`. The app's middleware stack is not touched (it may be built
before or after). Serving a target does what `router.app` does once it has found the
route, in its order: `scope["router"]`, the routers' form limits, FastAPI's per-route
context for an included router (`scope["fastapi"]`), `endpoint`, `path_params` and
`route` in the scope, then the route's own `handle` (which runs the included router's
per-route app, with its prefix, dependencies and response class).

Two shapes of FastAPI (tested on 0.115.0 and 0.165.0, the oldest and newest routeshift
supports, and on 0.150.0 in between; by hand on 0.128.0 and 0.137.2):

- before 0.137, `include_router` copies every route into `app.routes`: a target is an
  APIRoute (or Starlette Route) of the app's router;
- from 0.137, an included router stays one `_IncludedRouter` whose routes get their
  context (`_EffectiveRouteContext`) from the include; a target is the chain of
  included routers down to that context. This uses FastAPI's private names listed in
  `_IncludedSeam`; a FastAPI without one of them, or a router of another class, leaves
  direct dispatch off, with one warning, and every request goes through the app's own
  router.

Path values are the legacy Map's (design, "Rule translation"): the value werkzeug
converted, as `str(value)`, then through the FastAPI route's own convertor (so a
`{x:int}` gets an int, as its router would give it); a request legacy accepted is never
refused by a second parser. A custom converter's value that is not a str, int, float or
UUID is taken as the modern route's own regex reads the path instead.
"""

from __future__ import annotations

import logging
import re
import uuid
import weakref
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from routeshift._asgi import Receive, Scope, Send
from routeshift.routes import RULE_VARIABLE

__all__ = [
    "SCOPE_KEY",
    "Direct",
    "DirectRouter",
    "Target",
    "Targets",
    "install",
    "installed",
]

logger = logging.getLogger("routeshift.serve.gateway")

#: the scope key under which a request carries its bound Direct down to the seam
SCOPE_KEY = "routeshift.direct"
#: values that str() gives as the path had them (a custom converter's object does not)
_PLAIN_VALUES = (str, int, float, uuid.UUID)
#: a parameter of a Starlette path: {name} or {name:convertor}
_PARAM = re.compile(r"{([a-zA-Z_][a-zA-Z0-9_]*)(?::[a-zA-Z_][a-zA-Z0-9_]*)?}")

#: app -> its DirectRouter (None: direct dispatch is off for it, warned once)
_INSTALLED: weakref.WeakKeyDictionary[Any, DirectRouter | None] = weakref.WeakKeyDictionary()


class _IncludedSeam:
    """FastAPI's private names that an included router's dispatch needs (FastAPI >= 0.137;
    tested on 0.137.2, 0.150.0 and 0.165.0), or `missing` naming the first one absent.
    The routers' form limits (0.16x) and telemetry's route name are used where present."""

    def __init__(self) -> None:
        self.missing: str | None = None
        self.included_router: Any = None
        self.form_limits: Any = None
        self.fastapi_scope: Any = None
        self.router_key: str = ""
        self.context_key: str = ""
        self.route_selected: Any = None
        try:
            from fastapi import routing
        except ImportError:  # pragma: no cover - routeshift depends on FastAPI
            self.missing = "fastapi"
            return
        self.included_router = getattr(routing, "_IncludedRouter", None)
        if self.included_router is None:
            return  # FastAPI before 0.137: included routes are in app.routes
        required = (
            "_EffectiveRouteContext",  # what effective_candidates gives for a route
            "_get_fastapi_scope",
            "_FASTAPI_INCLUDED_ROUTER_KEY",
            "_FASTAPI_EFFECTIVE_ROUTE_CONTEXT_KEY",
        )
        absent = next((name for name in required if not hasattr(routing, name)), None)
        if absent is not None:
            self.missing = f"fastapi.routing.{absent}"
            return
        self.fastapi_scope = routing._get_fastapi_scope
        self.router_key = routing._FASTAPI_INCLUDED_ROUTER_KEY
        self.context_key = routing._FASTAPI_EFFECTIVE_ROUTE_CONTEXT_KEY
        # form limits per router came later (0.16x); before them there is nothing to apply
        self.form_limits = getattr(routing, "_apply_router_form_limits", None)
        if not hasattr(self.included_router, "effective_candidates"):
            self.missing = "fastapi.routing._IncludedRouter.effective_candidates"
            return
        try:  # telemetry's route name (FastAPI's own router calls it; absent before it)
            from fastapi.telemetry._api import _route_selected
        except ImportError:
            return
        self.route_selected = _route_selected

    @property
    def nested(self) -> bool:
        """Included routers stay nested (FastAPI >= 0.137)."""
        return self.included_router is not None


_SEAM: _IncludedSeam | None = None


def _seam() -> _IncludedSeam:
    """FastAPI's seam, looked up at the first install (not at import: the commands
    that only read the registry never import FastAPI's routing for it)."""
    global _SEAM
    if _SEAM is None:
        _SEAM = _IncludedSeam()
    return _SEAM


@dataclass(frozen=True, slots=True, eq=False)
class Target:
    """One modern route as the seam serves it: the route (an APIRoute, or a Starlette
    Route of the app's own router), the chain of included routers above it (outermost
    first; empty for a route of the app's router) and its context under the last one."""

    route: Any
    path: str
    levels: tuple[Any, ...] = ()
    context: Any = None
    #: the route's parameters in order, and their convertors
    names: tuple[str, ...] = ()
    convertors: Mapping[str, Any] = field(default_factory=dict)
    path_regex: Any = None
    path_format: str | None = None
    #: whether the scope gets "route" (APIRoute's matches sets it; a Starlette Route gets
    #: it where the router's routing sets it for every route, `_routing_sets_route`)
    sets_route: bool = True

    @property
    def _source(self) -> Any:
        """What FastAPI's own router reads the route's endpoint, name and methods from:
        the context under an included router, else the route."""
        return self.context if self.context is not None else self.route

    @property
    def endpoint(self) -> Any:
        return self._source.endpoint

    @property
    def name(self) -> str:
        return str(getattr(self._source, "name", ""))

    @property
    def methods(self) -> frozenset[str]:
        return frozenset(getattr(self._source, "methods", None) or ())

    async def serve(
        self, scope: Scope, receive: Receive, send: Send, params: Mapping[str, Any], router: Any
    ) -> None:
        """Do what `router` does once it found this route, then the route's `handle`."""
        seam = _SEAM
        assert seam is not None  # install() looked it up
        if "router" not in scope:
            scope["router"] = router
        if seam.nested:
            if scope["type"] == "http" and seam.form_limits is not None:
                limits = getattr(router, "form_limits", None)  # a Starlette app has none
                if limits:
                    seam.form_limits(scope, limits)
                for level in self.levels:
                    seam.form_limits(scope, level.include_context.form_limits)
            if self.levels:
                fastapi_scope = seam.fastapi_scope(scope)
                fastapi_scope[seam.router_key] = self.levels[-1]
        path_params = scope.get("path_params")
        scope["endpoint"] = self.endpoint
        scope["path_params"] = {**path_params, **params} if path_params else dict(params)
        if self.sets_route:
            scope["route"] = self.route
        if seam.nested:
            if seam.route_selected is not None and "fastapi.telemetry" in scope:
                seam.route_selected(scope=scope, path=self.path_format)
            if self.context is not None:
                seam.fastapi_scope(scope)[seam.context_key] = self.context
        await self.route.handle(scope, receive, send)

    def __repr__(self) -> str:
        return f"Target({self.path!r}, {self.name!r})"


@dataclass(frozen=True, slots=True)
class Direct:
    """A legacy rule's way to its modern route: the target and which legacy value each
    of the route's parameters takes (`names`: (legacy name, modern name)). `bind` gives
    the one of a request path, with its `params`."""

    target: Target
    names: tuple[tuple[str, str], ...]
    params: Mapping[str, Any] | None = None

    @classmethod
    def between(cls, rule: str, target: Target) -> Direct | None:
        """The Direct of werkzeug rule `rule` to `target`: parameters by name, else (a
        modern_path that renames them) by position; None when their numbers differ."""
        legacy = [m.group("name") for m in RULE_VARIABLE.finditer(rule)]
        modern = list(target.names)
        if sorted(legacy) == sorted(modern):
            return cls(target, tuple((name, name) for name in modern))
        if len(legacy) != len(modern):
            return None
        return cls(target, tuple(zip(legacy, modern, strict=True)))

    def bind(self, values: Mapping[str, Any], path: str) -> Direct:
        """This Direct with the params of one request: the legacy Map's `values`."""
        convertors = self.target.convertors
        params: dict[str, Any] = {}
        own: Mapping[str, str] | None = None
        for legacy_name, name in self.names:
            value = values.get(legacy_name)
            if isinstance(value, _PLAIN_VALUES):
                text = str(value)
            else:  # a custom converter's object: the text the modern route reads there
                if own is None:
                    own = _own_params(self.target, path)
                text = own.get(name, str(value))
            convertor = convertors.get(name)
            if convertor is not None:
                try:
                    params[name] = convertor.convert(text)
                    continue
                except (TypeError, ValueError):
                    pass
            params[name] = text
        return Direct(self.target, self.names, params)


def _own_params(target: Target, path: str) -> Mapping[str, str]:
    regex = target.path_regex
    match = regex.match(path) if regex is not None else None
    return match.groupdict() if match is not None else {}


class DirectRouter:
    """The seam: the bottom of the modern app's router, under the router's own
    middleware. A request that carries a bound Direct is served by its target; any
    other goes to the router's own routing (`router.app`, which tries each route)."""

    def __init__(self, router: Any) -> None:
        self.router = router
        self.routing = router.app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        direct = scope.pop(SCOPE_KEY, None)
        if direct is None:
            await self.routing(scope, receive, send)
            return
        await direct.target.serve(scope, receive, send, direct.params, self.router)

    def __repr__(self) -> str:
        return f"DirectRouter({self.router!r})"


def installed(app: Any) -> bool:
    """Whether the seam is in `app`'s router (`install` put it there)."""
    try:
        return _INSTALLED.get(app) is not None
    except TypeError:  # an app that cannot be weakly referenced never had it
        return False


def install(app: Any) -> bool:
    """Put the seam at the bottom of `app`'s router; True when it is there.

    Idempotent. Where the seam is absent (not a FastAPI/Starlette app, a router of
    another class, a FastAPI without the private names it needs, router middleware
    whose bottom cannot be found) direct dispatch stays off for the app, with one
    warning that says why."""
    try:
        if app in _INSTALLED:
            return _INSTALLED[app] is not None
    except TypeError:
        return False
    why = _absent(app)
    seam: DirectRouter | None = None
    if why is None:
        seam = DirectRouter(app.router)
        why = _place(app, seam)
        if why is not None:
            seam = None
    if why is not None:
        logger.warning(
            "direct dispatch is off: %s. Ported routes go through the modern app's own "
            "router (the same answers, found by trying its routes in turn).",
            why,
        )
    _INSTALLED[app] = seam
    return seam is not None


def _absent(app: Any) -> str | None:
    """Why the seam cannot go into `app` (None: it can)."""
    try:
        from starlette.routing import Router
    except ImportError:  # pragma: no cover - routeshift depends on Starlette
        return "Starlette is not installed"
    router = getattr(app, "router", None)
    if not hasattr(app, "build_middleware_stack") or not isinstance(router, Router):
        return f"the modern app ({type(app).__name__}) is not a Starlette or FastAPI app"
    seam = _seam()
    if seam.missing is not None:
        return f"this FastAPI has no {seam.missing} (direct dispatch is tested on 0.115 to 0.165)"
    kind = type(router)
    known_app: set[Any] = {Router.app}
    try:
        from fastapi.routing import APIRouter

        known_app.add(APIRouter.app)
    except ImportError:  # pragma: no cover
        pass
    if kind.__call__ is not Router.__call__ or kind.app not in known_app:
        return f"the modern app's router ({kind.__name__}) routes in its own way"
    return None


def _place(app: Any, seam: DirectRouter) -> str | None:
    """Put `seam` where the router's middleware stack calls its routing (`router.app`:
    the whole stack when the router has no middleware of its own, else the `.app` of its
    innermost middleware, such as FastAPI's body limit); why not, or None."""
    router = app.router
    routing = router.app
    stack = getattr(router, "middleware_stack", routing)
    if stack == routing:
        router.middleware_stack = seam
        return None
    layer = stack
    for _ in range(100):
        inner = getattr(layer, "app", None)
        if inner == routing:
            layer.app = seam
            return None
        if inner is None:
            break
        layer = inner
    return (
        "the modern app's router has middleware of its own whose innermost layer does not "
        "call the router's routing through an `.app` attribute"
    )


class Targets:
    """The modern app's routes by (path, method): the one its router would pick for a
    request of that path and method (the first in its order), built once per registry
    load. `duplicates` are the (path, method) pairs more than one route serves."""

    def __init__(self, app: Any) -> None:
        self._by_key: dict[tuple[str, str], Target] = {}
        self.duplicates: dict[tuple[str, str], int] = {}
        self._warned: set[tuple[str, str]] = set()
        self._directs: dict[tuple[str, Target], Direct | None] = {}  # GET and HEAD share one
        for target in _targets(app):
            for method in target.methods:
                key = (target.path, method)
                if key in self._by_key:
                    self.duplicates[key] = self.duplicates.get(key, 1) + 1
                else:
                    self._by_key[key] = target

    def find(self, rule: str, path: str, method: str) -> Direct | None:
        """The Direct for a request of legacy rule `rule` to FastAPI `path` and `method`;
        None when no route of the app's routers serves it as a target."""
        target = self._by_key.get((path, method))
        if target is None:
            return None
        if (path, method) in self.duplicates and (path, method) not in self._warned:
            self._warned.add((path, method))
            logger.warning(
                "%d modern handlers serve %s %s; the gateway sends the route to the first, "
                "as FastAPI's router picks it (%r).",
                self.duplicates[(path, method)],
                method,
                path,
                target.name,
            )
        key = (rule, target)
        if key not in self._directs:
            self._directs[key] = Direct.between(rule, target)
        return self._directs[key]

    def __len__(self) -> int:
        return len(self._by_key)


def _targets(app: Any) -> Iterator[Target]:
    """Every route the seam can serve directly, in the router's order."""
    from starlette.routing import Route

    seam = _seam()
    every_route = _routing_sets_route(app.router)
    for route in app.router.routes:
        if seam.nested and isinstance(route, seam.included_router):
            yield from _included(route, (route,))
        elif isinstance(route, Route) and route.methods:
            yield _target(route, route, sets_route=every_route)


def _routing_sets_route(router: Any) -> bool:
    """Whether the router's routing puts every route it picks in `scope["route"]`:
    Starlette's own `Router.app` does from 1.0 (FastAPI routers that keep it, 0.137 to
    0.15x, with it); FastAPI's `APIRouter.app` of 0.16x, and older Starlette, leave it
    to APIRoute's `matches`."""
    import inspect

    from starlette.routing import Router

    if type(router).app is not Router.app:
        return False
    try:
        return 'scope["route"] = route' in inspect.getsource(Router.app)
    except (OSError, TypeError):  # no source to read: as older Starlette
        return False


def _included(router: Any, levels: tuple[Any, ...]) -> Iterator[Target]:
    from fastapi.routing import APIRoute

    included = _seam().included_router
    for candidate in router.effective_candidates():
        if isinstance(candidate, included):
            yield from _included(candidate, (*levels, candidate))
        elif isinstance(getattr(candidate, "original_route", None), APIRoute):
            if candidate.starlette_route is None and candidate.methods:
                yield _target(candidate.original_route, candidate, levels, candidate)


def _target(
    route: Any,
    source: Any,
    levels: tuple[Any, ...] = (),
    context: Any = None,
    *,
    sets_route: bool = False,
) -> Target:
    from fastapi.routing import APIRoute

    path = source.path
    return Target(
        route=route,
        path=path,
        levels=levels,
        context=context,
        names=tuple(m.group(1) for m in _PARAM.finditer(path)),
        convertors=dict(source.param_convertors),
        path_regex=source.path_regex,
        path_format=source.path_format,
        sets_route=sets_route or isinstance(route, APIRoute),
    )
