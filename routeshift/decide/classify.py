"""The per-request decision: which side serves this request, finished here. Pure: no I/O.

The legacy app's own werkzeug Map says which route a request is, so that a route's
owner never changes because Starlette and werkzeug parse a path differently; the
registry then says who serves that route. Order (design, "Request path order"):

1. the modern app's docs paths (/docs, /redoc, /openapi.json as the app sets them);
2. the legacy Map: a match gives the entry, its state gives the side;
3. no legacy match: modern-only routes (routes that are not a port of a legacy rule);
4. else the legacy app (its 404, its 405, its redirects).

The decision comes out whole: a canary route's side is picked by the request's cohort
(routeshift.cohort) here, a HEAD the modern side serves as a GET says so
(`head_as_get`), and the methods to merge into legacy's Allow are in `extra_allow`.
Decisions that do not depend on the host are kept in an LRU cache per (method, path).
"""

from __future__ import annotations

import enum
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from starlette.routing import Match
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, MapAdapter, RequestRedirect

from routeshift._asgi import header, local_path
from routeshift.apps.pair import Apps, session_cookies
from routeshift.cohort import Cohort, goes_modern
from routeshift.compare import CookieDecoders, Rules
from routeshift.registry.model import Entry, Registry, State
from routeshift.routes import LegacyRoute, flat_routes

__all__ = [
    "CACHE_SIZE",
    "LEGACY_UNMATCHED",
    "MODERN_ONLY",
    "MODERN_ONLY_DECISION",
    "UNMATCHED",
    "Canary",
    "Classifier",
    "Decision",
    "RouteKey",
    "Shadow",
    "Side",
    "build_table",
    "ported_paths",
]

UNMATCHED = "unmatched"
MODERN_ONLY = "modern-only"


class Side(enum.StrEnum):
    LEGACY = "legacy"
    MODERN = "modern"


@dataclass(frozen=True, slots=True)
class Canary:
    """A canary route: `percent` of its cohorts (by `cohort`) are served by modern, as
    the decision `modern` says."""

    percent: float
    cohort: Cohort
    modern: Decision


@dataclass(frozen=True, slots=True)
class Shadow:
    """A shadow route: legacy answers; a `sample` share also runs on modern, compared."""

    sample: float
    rules: Rules


@dataclass(frozen=True, slots=True)
class Decision:
    """Who serves a request, and as which route.

    `endpoint` is the Flask endpoint, or `modern-only` / `unmatched`. `head_as_get`:
    the modern side serves this HEAD as a GET whose body is dropped (FastAPI routes
    answer HEAD with 405); only a decision for HEAD has it. `extra_allow`: methods the
    modern app serves on this path that the legacy app's Allow header does not know.
    A canary route's decision is legacy with `canary` set; `Classifier.classify` gives
    `canary.modern` instead for the cohorts the percent covers. A shadow route is
    served by legacy and copied to modern (`shadow`). `entry`: the route's registry
    entry, which the modern side gets in `scope["state"]["routeshift_route"]`
    (routeshift.decide.stamp.modern_scope); None for a route the registry does not list
    and for modern-only routes. Decisions compare (and hash) without it.
    """

    side: Side
    endpoint: str
    rule: str | None = None
    head_as_get: bool = False
    extra_allow: frozenset[str] = field(default=frozenset())
    canary: Canary | None = None
    shadow: Shadow | None = None
    entry: Entry | None = field(default=None, compare=False)

    def __repr__(self) -> str:
        mode = " canary" if self.canary else " shadow" if self.shadow else ""
        return f"Decision({self.side.value}{mode}, {self.endpoint!r})"


LEGACY_UNMATCHED = Decision(Side.LEGACY, UNMATCHED)
MODERN_ONLY_DECISION = Decision(Side.MODERN, MODERN_ONLY)

RouteKey = tuple[str, str, str]  # (endpoint, rule, method)

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
) -> dict[RouteKey, Decision]:
    """One Decision per (endpoint, rule, method) of the legacy app.

    Routes the registry does not list are legacy. HEAD follows GET. Under
    `force_legacy` every route is plain legacy: no canary, no shadow copies. A canary
    at 0 % is legacy and at 100 % modern; a shadow with sample 0 is legacy.
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
            path = entry.modern_path or route.fastapi_path
            heads = [(method, False)]
            if method == "GET":
                heads.append(("HEAD", (path, "HEAD") not in modern_handlers))
            for served, head_as_get in heads:
                decision = _decision(entry, route, served, head_as_get, default_cohort, cookies)
                table[(route.endpoint, route.rule, served)] = decision
    return table


def _decision(
    entry: Entry,
    route: LegacyRoute,
    method: str,
    head_as_get: bool,
    default_cohort: Cohort,
    cookies: CookieDecoders,
) -> Decision:
    state, endpoint, rule = entry.state, route.endpoint, route.rule
    if state is State.CANARY and entry.percent is not None and 0 < entry.percent < 100:
        cohort = Cohort.parse(entry.cohort) if entry.cohort else default_cohort
        modern = Decision(Side.MODERN, endpoint, rule, head_as_get, entry=entry)
        canary = Canary(entry.percent, cohort, modern)
        return Decision(Side.LEGACY, endpoint, rule, head_as_get, canary=canary, entry=entry)
    if state is State.MODERN or (state is State.CANARY and entry.percent == 100):
        return Decision(Side.MODERN, endpoint, rule, head_as_get, entry=entry)
    if state is State.SHADOW and entry.sample > 0:
        shadow = Shadow(entry.sample, entry.rules().with_cookies(cookies))
        return Decision(Side.LEGACY, endpoint, rule, head_as_get, shadow=shadow, entry=entry)
    return Decision(Side.LEGACY, endpoint, rule, entry=entry)


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
    ) -> None:
        self.url_map = url_map
        self.table = table
        self.modern_routes = tuple(modern_routes)
        self.ported = ported
        self.docs_paths = docs_paths
        per_host = url_map.host_matching or any(r.subdomain for r in url_map.iter_rules())
        self._adapter: MapAdapter | None = None if per_host else url_map.bind("localhost")
        # (method, path) -> Decision, least recently used first; only where the answer
        # does not depend on the host
        self._cache: OrderedDict[tuple[str, str], Decision] = OrderedDict()

    @classmethod
    def for_apps(cls, registry: Registry, apps: Apps, *, force_legacy: bool = False) -> Classifier:
        """The classifier of `registry` over `apps`: the gateway's, and the contract
        harness's. `force_legacy` (or settings.force_legacy) sends every route to legacy."""
        modern = apps.modern
        docs = {getattr(modern, name, None) for name in _DOCS_ATTRIBUTES}
        table = build_table(
            registry,
            apps.legacy_routes,
            apps.handlers,
            force_legacy=force_legacy or registry.settings.force_legacy,
            cookies=session_cookies(apps.legacy),
        )
        return cls(
            apps.legacy.url_map,
            table,
            flat_routes(modern),
            ported_paths(registry, apps.legacy_routes),
            frozenset(p for p in docs if isinstance(p, str)),
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
        if self._adapter is None:
            return self._decide(scope, method, path, self._bind(scope))
        key = (method, path)
        cache = self._cache
        decision = cache.get(key)
        if decision is not None:
            cache.move_to_end(key)
            return decision
        decision = self._decide(scope, method, path, self._adapter)
        cache[key] = decision
        if len(cache) > CACHE_SIZE:
            cache.popitem(last=False)
        return decision

    def _decide(
        self, scope: Mapping[str, Any], method: str, path: str, adapter: MapAdapter
    ) -> Decision:
        if path in self.docs_paths:
            return MODERN_ONLY_DECISION
        try:
            rule, _ = adapter.match(path, method, return_rule=True)
        except RequestRedirect:
            return LEGACY_UNMATCHED
        except MethodNotAllowed:
            return self._modern_only(scope, method) or self._with_allow(scope)
        except NotFound:
            return self._modern_only(scope, method) or LEGACY_UNMATCHED
        except HTTPException:  # any other routing answer (e.g. WebsocketMismatch): Flask's
            return LEGACY_UNMATCHED
        key = (rule.endpoint, rule.rule, method)
        decision = self.table.get(key)
        if decision is None:
            # OPTIONS, or a method the table was not built for: the legacy app answers it.
            decision = Decision(Side.LEGACY, rule.endpoint, rule.rule)
        if method == "OPTIONS" and decision.side is Side.LEGACY:
            return self._with_allow(scope, decision)
        return decision

    def _bind(self, scope: Mapping[str, Any]) -> MapAdapter:
        host = header(scope, b"host", b"localhost")
        assert host is not None
        return self.url_map.bind(host.decode("latin-1"), url_scheme=scope.get("scheme", "http"))

    def _modern_only(self, scope: Mapping[str, Any], method: str) -> Decision | None:
        """A modern route that matches and is not a port of a legacy rule."""
        for route in self.modern_routes:
            match, _ = route.matches(scope)
            if match is not Match.FULL:
                continue
            path = getattr(route, "path", None)
            if path is not None and (path, method) in self.ported:
                continue
            return MODERN_ONLY_DECISION
        return None

    def _with_allow(
        self, scope: Mapping[str, Any], decision: Decision = LEGACY_UNMATCHED
    ) -> Decision:
        """Add the methods modern-only routes serve on this path to the legacy Allow."""
        extra: set[str] = set()
        for route in self.modern_routes:
            methods = getattr(route, "methods", None)
            path = getattr(route, "path", None)
            if not methods or path is None:
                continue
            match, _ = route.matches(scope)
            if match is Match.NONE:
                continue
            extra.update(m for m in methods if (path, m) not in self.ported)
        if not extra:
            return decision
        return Decision(
            decision.side,
            decision.endpoint,
            decision.rule,
            extra_allow=frozenset(extra),
            entry=decision.entry,
        )
