"""The per-request decision: which side serves this request, finished here. Pure: no I/O.

The legacy app's own werkzeug Map says which route a request is, so that a route's
owner never changes because Starlette and werkzeug parse a path differently; the
registry then says who serves that route. Order (design, "Request path order"):

1. the modern app's docs paths (/docs, /redoc, /openapi.json as the app sets them);
2. the legacy Map: a match gives the entry, its state gives the side;
3. no legacy match: the modern app's own answer whenever its router has one other than
   its 404 (a modern-only route, its 405 with Allow, its redirect_slashes 307, a Mount or
   a catch-all), looked up in an index of the modern-only routes (routeshift.decide.modern_only);
4. else the legacy app (its 404, its 405, its redirects).

A HEAD is served as a GET without its body wherever the modern side serves the GET and
its route does not list HEAD (werkzeug does the same). A CORS preflight (OPTIONS with
Access-Control-Request-Method) goes to the side that serves the method it asks for, so
that side's CORS policy answers it; a canary route's goes to modern (it carries no
cohort).

The decision comes out whole: a canary route's side is picked by the request's cohort
(routeshift.cohort) here, a HEAD the modern side serves as a GET says so
(`head_as_get`), and the methods to merge into legacy's Allow are in `extra_allow`.
Decisions that do not depend on the host are kept in an LRU cache per (method, path).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, MapAdapter, RequestRedirect

from routeshift._asgi import HTTP_METHODS, header, local_path
from routeshift.apps.dispatch import Direct, Targets, installed
from routeshift.apps.pair import Apps, session_cookies
from routeshift.cohort import Cohort, goes_modern
from routeshift.compare import CookieDecoders
from routeshift.decide.decision import (
    LEGACY_UNMATCHED,
    MODERN_ONLY_DECISION,
    Canary,
    Decision,
    RouteKey,
    Shadow,
    Side,
)
from routeshift.decide.modern_only import ModernOnly
from routeshift.registry.fit import handler_path
from routeshift.registry.model import Entry, Registry, State
from routeshift.routes import LegacyRoute, flat_routes

__all__ = [
    "CACHE_SIZE",
    "Classifier",
    "build_table",
    "ported_paths",
]


#: Decisions remembered per (method, path); the least recently used goes when it is full.
CACHE_SIZE = 8192
#: the modern app's attributes that name its docs paths
_DOCS_ATTRIBUTES = ("openapi_url", "docs_url", "redoc_url", "swagger_ui_oauth2_redirect_url")


def build_table(
    registry: Registry,
    legacy: Sequence[LegacyRoute],
    modern_handlers: frozenset[tuple[str, str]],
    *,
    force_legacy: bool = False,
    cookies: CookieDecoders = (),
    targets: Targets | None = None,
) -> dict[RouteKey, Decision]:
    """One Decision per (endpoint, rule, method) of the legacy app.

    Routes the registry does not list are legacy. HEAD follows GET. Under
    `force_legacy` every route is plain legacy: no canary, no shadow copies. A canary
    at 0 % is legacy and at 100 % modern; a shadow with sample 0 is legacy. With
    `targets` (direct dispatch), a decision that reaches the modern side carries the
    modern route that serves it, found at the port's path (`handler_path`, the one the
    registry check holds the apps to).
    """
    entries: dict[RouteKey, Entry] = {}
    for listed in registry.routes:
        if not listed.retired:
            entries.update(((listed.endpoint, listed.rule, m), listed) for m in listed.methods)
    default_cohort = Cohort.parse(registry.settings.default_cohort)
    table: dict[RouteKey, Decision] = {}
    for route in legacy:
        legacy_decision = Decision(Side.LEGACY, route.endpoint, route.rule)
        for method in route.methods:
            key = (route.endpoint, route.rule, method)
            entry = entries.get(key)
            if entry is None or force_legacy:
                table.setdefault(key, legacy_decision)
                continue
            path = handler_path(entry, route)
            heads = [(method, False)]
            if method == "GET":
                heads.append(("HEAD", (path, "HEAD") not in modern_handlers))
            for served, head_as_get in heads:
                direct = None
                if targets is not None and entry.state is not State.LEGACY:
                    direct = targets.find(route.rule, path, "GET" if head_as_get else served)
                table[(route.endpoint, route.rule, served)] = _decision(
                    entry, route, served, head_as_get, default_cohort, cookies, direct
                )
    return table


def _decision(
    entry: Entry,
    route: LegacyRoute,
    method: str,
    head_as_get: bool,
    default_cohort: Cohort,
    cookies: CookieDecoders,
    direct: Direct | None = None,
) -> Decision:
    """The decision of one (entry, method); `direct` goes wherever it reaches the modern
    side: a modern decision, a canary's modern half, a shadow's copy."""
    state, endpoint, rule = entry.state, route.endpoint, route.rule
    if state is State.CANARY and entry.percent is not None and 0 < entry.percent < 100:
        cohort = Cohort.parse(entry.cohort) if entry.cohort else default_cohort
        modern = Decision(Side.MODERN, endpoint, rule, head_as_get, entry=entry, direct=direct)
        canary = Canary(entry.percent, cohort, modern)
        return Decision(Side.LEGACY, endpoint, rule, head_as_get, canary=canary, entry=entry)
    if state is State.MODERN or (state is State.CANARY and entry.percent == 100):
        return Decision(Side.MODERN, endpoint, rule, head_as_get, entry=entry, direct=direct)
    if state is State.SHADOW and entry.sample > 0:
        shadow = Shadow(entry.sample, entry.rules().with_cookies(cookies))
        return Decision(
            Side.LEGACY, endpoint, rule, head_as_get, shadow=shadow, entry=entry, direct=direct
        )
    return Decision(Side.LEGACY, endpoint, rule, entry=entry)


def _bound(decision: Decision, values: Mapping[str, Any], path: str) -> Decision:
    """`decision` with its Direct bound to the values the legacy Map gave `path`."""
    canary = decision.canary
    if canary is not None:
        direct = canary.modern.direct
        if direct is None:
            return decision
        modern = replace(canary.modern, direct=direct.bind(values, path))
        return replace(decision, canary=replace(canary, modern=modern))
    if decision.direct is None:
        return decision
    return replace(decision, direct=decision.direct.bind(values, path))


def ported_paths(registry: Registry, legacy: Iterable[LegacyRoute]) -> frozenset[tuple[str, str]]:
    """(FastAPI path, method) pairs that stand for a legacy rule, whatever their state.

    A rule without a view stands for none: it is a name to build URLs of (a build-only
    rule of a removed view, routeshift.compat.urls, among them), so a modern route at
    its path is modern-only."""
    pairs: set[tuple[str, str]] = set()
    for route in legacy:
        path = route.fastapi_path
        if route.has_view:
            pairs.update((path, method) for method in route.methods)
            if "GET" in route.methods:
                pairs.add((path, "HEAD"))
    for entry in registry.routes:
        if entry.modern_path:
            pairs.update((entry.modern_path, method) for method in entry.methods)
    return frozenset(pairs)


class Classifier:
    """Decides the side of each request from the legacy Map, the table and modern routes."""

    def __init__(
        self,
        url_map: Map,
        table: Mapping[RouteKey, Decision],
        modern_routes: Sequence[Any],
        ported: frozenset[tuple[str, str]],
        docs_paths: frozenset[str] = frozenset(),
        *,
        redirect_slashes: bool = False,
    ) -> None:
        self.url_map = url_map
        self.table = table
        self.modern_only = ModernOnly(modern_routes, ported, redirect_slashes=redirect_slashes)
        self.docs_paths = docs_paths
        per_host = url_map.host_matching or any(r.subdomain for r in url_map.iter_rules())
        self._adapter: MapAdapter | None = None if per_host else url_map.bind("localhost")
        # (method, path) -> Decision, least recently used first; only where the answer
        # does not depend on the host. A preflight's method is "OPTIONS <asked method>".
        self._cache: OrderedDict[tuple[str, str], Decision] = OrderedDict()

    @classmethod
    def for_apps(cls, registry: Registry, apps: Apps, *, force_legacy: bool = False) -> Classifier:
        """The classifier of `registry` over `apps`: the gateway's, and the contract
        harness's. `force_legacy` (or settings.force_legacy) sends every route to legacy.
        Its decisions carry direct dispatch's targets when settings.direct_dispatch is on
        and the seam is in the modern app (routeshift.apps.dispatch.install)."""
        modern = apps.modern
        docs = {getattr(modern, name, None) for name in _DOCS_ATTRIBUTES}
        forced = force_legacy or registry.settings.force_legacy
        direct = registry.settings.direct_dispatch and not forced and installed(modern)
        table = build_table(
            registry,
            apps.legacy_routes,
            apps.handlers,
            force_legacy=forced,
            cookies=session_cookies(apps.legacy),
            targets=Targets(modern) if direct else None,
        )
        return cls(
            apps.legacy.url_map,
            table,
            flat_routes(modern),
            ported_paths(registry, apps.legacy_routes),
            frozenset(p for p in docs if isinstance(p, str)),
            redirect_slashes=getattr(getattr(modern, "router", None), "redirect_slashes", False)
            is True,
        )

    def classify(self, scope: Mapping[str, Any], path: str | None = None) -> Decision:
        """The whole decision for this request; `path` is its local_path when the caller
        has it already."""
        if path is None:
            path = local_path(scope)
        decision = self._route(scope, scope["method"], path)
        canary = decision.canary
        if canary is not None and goes_modern(
            decision.endpoint, canary.cohort.value(scope), canary.percent
        ):
            return canary.modern
        return decision

    def _route(self, scope: Mapping[str, Any], method: str, path: str) -> Decision:
        asked = _preflight_method(scope) if method == "OPTIONS" else None
        if self._adapter is None:
            return self._answer(scope, method, asked, path, self._bind(scope))
        key = (method, path) if asked is None else (f"OPTIONS {asked}", path)
        cache = self._cache
        decision = cache.get(key)
        if decision is not None:
            cache.move_to_end(key)
            return decision
        decision = self._answer(scope, method, asked, path, self._adapter)
        cache[key] = decision
        if len(cache) > CACHE_SIZE:
            cache.popitem(last=False)
        return decision

    def _answer(
        self,
        scope: Mapping[str, Any],
        method: str,
        asked: str | None,
        path: str,
        adapter: MapAdapter,
    ) -> Decision:
        if asked is None:
            return self._decide(scope, method, path, adapter)
        return self._preflight(scope, asked, path, adapter)

    def _preflight(
        self, scope: Mapping[str, Any], asked: str, path: str, adapter: MapAdapter
    ) -> Decision:
        """A CORS preflight goes to the side that serves the method it asks for, so that
        side's CORS policy answers it; a canary route's to modern (no cohort to ask)."""
        serves = self._decide(scope, asked, path, adapter)
        if serves.canary is not None:
            serves = serves.canary.modern
        if serves.side is Side.MODERN:
            return Decision(Side.MODERN, serves.endpoint, serves.rule, entry=serves.entry)
        return self._decide(scope, "OPTIONS", path, adapter)

    def _decide(
        self, scope: Mapping[str, Any], method: str, path: str, adapter: MapAdapter
    ) -> Decision:
        if path in self.docs_paths:
            return MODERN_ONLY_DECISION
        try:
            rule, values = adapter.match(path, method, return_rule=True)
        except RequestRedirect:
            return LEGACY_UNMATCHED
        except MethodNotAllowed:
            served = self.modern_only.answer(scope, method, path, partial=False)
            return served or self._with_allow(scope, path)
        except NotFound:
            return self.modern_only.answer(scope, method, path) or LEGACY_UNMATCHED
        except HTTPException:  # any other routing answer (e.g. WebsocketMismatch): Flask's
            return LEGACY_UNMATCHED
        key = (rule.endpoint, rule.rule, method)
        decision = self.table.get(key)
        if decision is None:
            # OPTIONS, or a method the table was not built for: the legacy app answers it.
            decision = Decision(Side.LEGACY, rule.endpoint, rule.rule)
        if method == "OPTIONS" and decision.side is Side.LEGACY:
            return self._with_allow(scope, path, decision)
        return _bound(decision, values, path)

    def _bind(self, scope: Mapping[str, Any]) -> MapAdapter:
        host = header(scope, b"host", b"localhost")
        assert host is not None
        return self.url_map.bind(host.decode("latin-1"), url_scheme=scope.get("scheme", "http"))

    def _with_allow(
        self, scope: Mapping[str, Any], path: str, decision: Decision = LEGACY_UNMATCHED
    ) -> Decision:
        """Add the methods modern-only routes serve on this path to the legacy Allow."""
        extra = self.modern_only.allow(scope, path)
        if not extra:
            return decision
        return Decision(
            decision.side,
            decision.endpoint,
            decision.rule,
            extra_allow=extra,
            entry=decision.entry,
        )


def _preflight_method(scope: Mapping[str, Any]) -> str | None:
    """The method a CORS preflight (OPTIONS with Access-Control-Request-Method) asks
    for, or None for a plain OPTIONS (or one that asks for no HTTP method)."""
    value = header(scope, b"access-control-request-method")
    if value is None:
        return None
    asked = value.decode("latin-1").strip().upper()
    return asked if asked in HTTP_METHODS else None
