"""routeshift.decide.modern_only.ModernOnly: the index of modern routes that answers a path no
legacy rule matches, without trying the modern routes one by one."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from flask import Flask
from starlette.routing import Match

from routeshift.decide.classify import Classifier
from routeshift.decide.decision import MODERN_ONLY_DECISION, MODERN_ONLY_HEAD
from routeshift.decide.modern_only import ModernOnly
from routeshift.routes import flat_routes


def scope(method: str, path: str, **headers: str) -> dict[str, Any]:
    return {
        "type": "http",
        "method": method,
        "path": path,
        "root_path": "",
        "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
    }


class Counted:
    """A route wrapper that counts how often it is asked to match (its kind is the
    route's, as FastAPI's RouteContext gives it)."""

    calls = 0

    def __init__(self, route: Any) -> None:
        self.route = route
        self.original_route = getattr(route, "original_route", route)
        self.path = route.path
        self.methods = route.methods

    def matches(self, scope: Any) -> tuple[Match, Any]:
        Counted.calls += 1
        return self.route.matches(scope)  # type: ignore[no-any-return]


def many_routes(count: int) -> list[Any]:
    app = FastAPI()
    for number in range(count):

        @app.get(f"/r{number}/{{key}}")
        async def handler(key: str) -> str:
            return key

    return [Counted(route) for route in flat_routes(app)]


@pytest.mark.parametrize("count", [10, 500])
def test_an_unknown_path_asks_no_route(count: int) -> None:
    index = ModernOnly(many_routes(count), frozenset(), redirect_slashes=True)
    Counted.calls = 0
    assert index.answer(scope("GET", "/nowhere/1"), "GET", "/nowhere/1") is None
    assert index.answer(scope("GET", "/r5/a/b"), "GET", "/r5/a/b") is None
    assert Counted.calls <= 2


def test_a_known_path_asks_only_its_own_routes() -> None:
    index = ModernOnly(many_routes(500), frozenset())
    Counted.calls = 0
    assert index.answer(scope("GET", "/r499/k"), "GET", "/r499/k") is MODERN_ONLY_DECISION
    assert index.answer(scope("POST", "/r7/k"), "POST", "/r7/k") is MODERN_ONLY_DECISION  # 405
    assert Counted.calls == 2


def test_head_of_a_get_route_is_served_as_get() -> None:
    index = ModernOnly(many_routes(3), frozenset())
    assert index.answer(scope("HEAD", "/r1/k"), "HEAD", "/r1/k") is MODERN_ONLY_HEAD


def test_a_port_matched_first_leaves_the_path_to_legacy() -> None:
    """Legacy refused the path of a port (its converter): not a modern-only route, and
    no 405 or redirect of the port's either."""
    routes = many_routes(2)
    ported = frozenset({("/r0/{key}", "GET")})
    index = ModernOnly(routes, ported, redirect_slashes=True)
    assert index.answer(scope("GET", "/r0/k"), "GET", "/r0/k") is None
    assert index.answer(scope("POST", "/r0/k"), "POST", "/r0/k") is None
    assert index.answer(scope("GET", "/r0/k/"), "GET", "/r0/k/") is None
    assert index.answer(scope("GET", "/r1/k/"), "GET", "/r1/k/") is MODERN_ONLY_DECISION


def test_redirect_slashes_follows_the_modern_router() -> None:
    routes = many_routes(1)
    assert (
        ModernOnly(routes, frozenset(), redirect_slashes=False).answer(
            scope("GET", "/r0/k/"), "GET", "/r0/k/"
        )
        is None
    )
    assert (
        ModernOnly(routes, frozenset(), redirect_slashes=True).answer(
            scope("GET", "/r0/k/"), "GET", "/r0/k/"
        )
        is MODERN_ONLY_DECISION
    )


def classifier(modern: FastAPI) -> Classifier:
    legacy = Flask(__name__, static_folder=None)
    legacy.add_url_rule("/old", "old", lambda: "old")
    return Classifier(
        legacy.url_map,
        {},
        flat_routes(modern),
        frozenset(),
        redirect_slashes=modern.router.redirect_slashes,
    )


def test_a_preflight_is_cached_apart_from_a_plain_options() -> None:
    modern = FastAPI()

    @modern.get("/new")
    async def new() -> str:
        return "new"

    decide = classifier(modern)
    preflight = scope("OPTIONS", "/old", **{"access-control-request-method": "GET"})
    assert decide.classify(scope("OPTIONS", "/new")) == MODERN_ONLY_DECISION  # its 405
    assert decide.classify(preflight).endpoint == "old"
    asked_new = scope("OPTIONS", "/new", **{"access-control-request-method": "get"})
    assert decide.classify(asked_new) == MODERN_ONLY_DECISION
    garbage = scope("OPTIONS", "/old", **{"access-control-request-method": "NOPE"})
    assert decide.classify(garbage).endpoint == "old"  # a plain OPTIONS


def test_the_modern_router_without_redirect_slashes_redirects_nothing() -> None:
    modern = FastAPI(redirect_slashes=False)

    @modern.get("/new/")
    async def new() -> str:
        return "new"

    assert classifier(modern).classify(scope("GET", "/new")).endpoint == "unmatched"
