"""The modern-only routes, indexed by path segment: the answer the modern app's own
router gives a path that no legacy rule matches, without trying its routes one by one.
Pure: Starlette's `matches(scope)` decides among the few candidates the index gives.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from starlette.routing import Match, Mount, Route

from routeshift.decide.decision import MODERN_ONLY_DECISION, MODERN_ONLY_HEAD, Decision

__all__ = ["ModernOnly"]


@dataclass(frozen=True, slots=True)
class _Claim:
    """A modern route as the index holds it: `order` is its place in the modern app's
    routes, `methods` the methods it serves that are no port of a legacy rule (empty
    for a port; None: a route of no methods, such as a Mount, that answers them all)."""

    order: int
    route: Any
    methods: frozenset[str] | None


class _Node:
    """One path segment of the index: literal children, the child of a segment with a
    parameter (`param`), the claims whose path ends here and those that take any rest."""

    __slots__ = ("children", "param", "end", "rest")

    def __init__(self) -> None:
        self.children: dict[str, _Node] = {}
        self.param: _Node | None = None
        self.end: list[_Claim] = []
        self.rest: list[_Claim] = []

    def child(self, segment: str) -> _Node:
        if "{" in segment:
            if self.param is None:
                self.param = _Node()
            return self.param
        return self.children.setdefault(segment, _Node())


class ModernOnly:
    """The modern-only routes, indexed by path segment, and the answer the modern app's
    own router gives a path that no legacy rule matches.

    Every route is in the index, with the methods that are no port of a legacy rule: a
    path whose first full match is a port's is the legacy rule's (legacy refused it: its
    404), whatever Starlette would make of it, and a port answers no 405 or redirect of
    its own. Each segment of a route's path is a literal or, when it holds
    a parameter, any one segment; a `{x:path}` parameter, a Mount's rest and a route with
    no path (a route group, a Host) take any rest. The index only narrows the routes to
    try: each candidate is asked with Starlette's own `matches(scope)`, in the app's
    order, so the cost of a path does not grow with the number of modern routes.
    """

    def __init__(
        self,
        routes: Sequence[Any],
        ported: frozenset[tuple[str, str]],
        *,
        redirect_slashes: bool = False,
    ) -> None:
        self.redirect_slashes = redirect_slashes
        self._root = _Node()
        self.size = 0
        for order, route in enumerate(routes):
            path = getattr(route, "path", None)
            methods = getattr(route, "methods", None)
            modern: frozenset[str] | None = None
            if methods:
                modern = frozenset(m for m in methods if (path, m) not in ported)
            kind = getattr(route, "original_route", route)  # FastAPI's RouteContext
            if not isinstance(kind, (Route, Mount)):
                path = None  # a route group, a Host, a route of its own kind: any path
            self._add(_Claim(order, route, modern), path, mount=isinstance(kind, Mount))
            self.size += 1

    def __repr__(self) -> str:
        return f"ModernOnly({self.size} routes, redirect_slashes={self.redirect_slashes})"

    def _add(self, claim: _Claim, path: Any, *, mount: bool) -> None:
        node = self._root
        if not isinstance(path, str) or not path.startswith("/"):
            node.rest.append(claim)  # no path to index by, or a Mount at the root
            return
        for segment in path.split("/")[1:]:
            if ":path}" in segment:
                node.rest.append(claim)
                return
            node = node.child(segment)
        # a Mount takes its own path and what lies below it
        (node.rest if mount else node.end).append(claim)

    def candidates(self, path: str) -> list[_Claim]:
        """The claims that may match `path`, in the modern app's order."""
        found: list[_Claim] = []
        segments = path.split("/")[1:] if path.startswith("/") else []
        pending = [(self._root, 0)]
        while pending:
            node, at = pending.pop()
            found.extend(node.rest)
            if at == len(segments):
                found.extend(node.end)
                continue
            literal = node.children.get(segments[at])
            if literal is not None:
                pending.append((literal, at + 1))
            if node.param is not None:
                pending.append((node.param, at + 1))
        found.sort(key=lambda claim: claim.order)
        return found

    def answer(
        self, scope: Mapping[str, Any], method: str, path: str, *, partial: bool = True
    ) -> Decision | None:
        """The modern decision for `method` on `path` when the modern router answers it
        other than with its 404, else None. A HEAD is asked as a GET: a route that serves
        the GET serves it (its body dropped unless the route lists HEAD). `partial`: a
        route of the path that serves other methods (the router's 405) or the path with
        or without its trailing slash (the router's redirect_slashes 307) answer too."""
        served = "GET" if method == "HEAD" else method
        probe = scope if scope.get("method") == served else dict(scope, method=served)
        other_methods = False
        for claim in self.candidates(path):
            match, _ = claim.route.matches(probe)
            if match is Match.FULL:
                if claim.methods is None:
                    return MODERN_ONLY_DECISION
                if served not in claim.methods:
                    return None  # a port's method on a path its legacy rule refused
                if method == "HEAD" and "HEAD" not in claim.route.methods:
                    return MODERN_ONLY_HEAD
                return MODERN_ONLY_DECISION
            if match is Match.PARTIAL and claim.methods != frozenset():
                other_methods = True
        if not partial:
            return None
        if other_methods:
            return MODERN_ONLY_DECISION
        if self.redirect_slashes and path != "/" and scope.get("type", "http") == "http":
            return self._redirect(probe, path)
        return None

    def _redirect(self, scope: Mapping[str, Any], path: str) -> Decision | None:
        """Starlette's redirect_slashes: the path with or without its trailing slash
        matches a route (partly, too)."""
        flipped = path[:-1] if path.endswith("/") else path + "/"
        full = scope["path"]
        other = dict(scope, path=full[:-1] if full.endswith("/") else full + "/")
        for claim in self.candidates(flipped):
            if claim.methods != frozenset() and claim.route.matches(other)[0] is not Match.NONE:
                return MODERN_ONLY_DECISION
        return None

    def allow(self, scope: Mapping[str, Any], path: str) -> frozenset[str]:
        """The modern-only methods of the routes that match `path` (for any method)."""
        extra: set[str] = set()
        for claim in self.candidates(path):
            if claim.methods is not None and claim.route.matches(scope)[0] is not Match.NONE:
                extra.update(claim.methods)
        return frozenset(extra)
