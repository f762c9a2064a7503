"""routeshift.serve.gateway: a path no legacy rule matches is answered as the modern app's
own router answers it (its 405 with Allow, its redirect_slashes 307, a Mount, a
catch-all), else by legacy's 404; HEAD as GET on every routed route; CORS preflights to
the side that serves the method they ask for. Each answer is compared with the answer
of the app that should give it, asked the same request alone."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import write_registry
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from flask import Flask
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from routeshift.serve.assemble import build_gateway
from routeshift.serve.gateway import Gateway

ORIGIN = "https://app.example"
#: the headers an answer is compared on
COMPARED = (
    "allow",
    "location",
    "access-control-allow-origin",
    "access-control-allow-methods",
    "access-control-allow-headers",
    "access-control-allow-credentials",
)

ROUTES: list[dict[str, Any]] = [
    {"endpoint": "user", "rule": "/users/<int:user_id>", "methods": ["GET"], "state": "modern"},
    {"endpoint": "user", "rule": "/users/<int:user_id>", "methods": ["POST"], "state": "legacy"},
    {"endpoint": "old", "rule": "/old", "methods": ["GET"], "state": "legacy"},
    {"endpoint": "half", "rule": "/half", "methods": ["GET"], "state": "canary", "percent": 50},
    {"endpoint": "none", "rule": "/none", "methods": ["GET"], "state": "canary", "percent": 0},
]


def legacy_app() -> Flask:
    """The legacy side: a ported rule, a legacy one, two canaries."""
    app = Flask("legacy_modern_only", static_folder=None)

    @app.route("/users/<int:user_id>", methods=["GET", "POST"])
    def user(user_id: int) -> dict[str, Any]:
        return {"side": "legacy", "user_id": user_id}

    @app.route("/old")
    def old() -> str:
        return "legacy old"

    @app.route("/half")
    def half() -> str:
        return "legacy half"

    @app.route("/none")
    def none() -> str:
        return "legacy none"

    return app


def modern_app(*, catch_all: bool = False) -> FastAPI:
    """The modern side: the ports, modern-only routes `/items/` and GET-only
    `/items/{item_id}`, a Mount, a catch-all below /spa (or at the root), and CORS."""
    app = FastAPI()
    app.add_middleware(
        CORSMiddleware,
        allow_origins=[ORIGIN],
        allow_methods=["GET", "POST"],
        allow_headers=["x-token"],
    )

    @app.get("/users/{user_id}")
    async def user(user_id: int) -> dict[str, Any]:
        return {"side": "modern", "user_id": user_id}

    @app.get("/half")
    async def half() -> dict[str, str]:
        return {"side": "modern"}

    @app.get("/none")
    async def none() -> dict[str, str]:
        return {"side": "modern"}

    @app.get("/items/")
    async def items() -> list[int]:
        return [1, 2]

    @app.get("/items/{item_id}")
    async def item(item_id: int) -> dict[str, int]:
        return {"item_id": item_id}

    @app.get("/spa/{rest:path}")
    async def spa(rest: str) -> dict[str, str]:
        return {"spa": rest}

    async def hello(request: Request) -> PlainTextResponse:
        return PlainTextResponse("hello from the mount")

    app.mount("/static", Starlette(routes=[Route("/hello", hello)]))
    if catch_all:

        @app.get("/{path:path}")
        async def everything(path: str) -> dict[str, str]:
            return {"caught": path}

    return app


class Sides:
    """The gateway and the two apps it fronts, each asked alone the same way."""

    def __init__(self, gateway: Gateway, legacy: Flask, modern: FastAPI) -> None:
        self.gateway, self.legacy, self.modern = gateway, legacy, modern

    def ask(self, app: Any, method: str, url: str, headers: dict[str, str]) -> httpx.Response:
        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url="http://t.test") as c:
                return await c.request(method, url, headers=headers)

        return asyncio.run(go())

    def via_gateway(self, method: str, url: str, **headers: str) -> httpx.Response:
        return self.ask(self.gateway, method, url, headers)

    def alone(self, side: str, method: str, url: str, **headers: str) -> httpx.Response:
        if side == "modern":
            return self.ask(self.modern, method, url, headers)
        transport = httpx.WSGITransport(app=self.legacy)
        with httpx.Client(transport=transport, base_url="http://t.test") as client:
            return client.request(method, url, headers=headers)


def build(tmp_path: Path, routes: list[dict[str, Any]], *, catch_all: bool = False) -> Sides:
    registry = write_registry(tmp_path, [dict(r) for r in routes])
    legacy, modern = legacy_app(), modern_app(catch_all=catch_all)
    gateway = build_gateway(registry, legacy_app=legacy, modern_app=modern, force_legacy=False)
    return Sides(gateway, legacy, modern)


@pytest.fixture
def sides(tmp_path: Path) -> Iterator[Sides]:
    built = build(tmp_path, ROUTES)
    yield built
    built.gateway.bridge.close()


@pytest.fixture
def caught(tmp_path: Path) -> Iterator[Sides]:
    built = build(tmp_path, ROUTES, catch_all=True)
    yield built
    built.gateway.bridge.close()


def assert_same(got: httpx.Response, expected: httpx.Response, side: str) -> None:
    assert got.headers["x-served-by"] == side
    assert got.status_code == expected.status_code
    for name in COMPARED:
        assert got.headers.get(name) == expected.headers.get(name), name
    assert got.content == expected.content


PREFLIGHT = {"origin": ORIGIN, "access-control-request-method": "GET"}


@pytest.mark.parametrize(
    ("method", "url", "headers", "status"),
    [
        pytest.param("GET", "/items/", {}, 200, id="route"),
        pytest.param("GET", "/items", {}, 307, id="redirect-slashes-add"),
        pytest.param("GET", "/items/5/", {}, 307, id="redirect-slashes-drop"),
        pytest.param("POST", "/items/5", {}, 405, id="405-with-allow"),
        pytest.param("DELETE", "/items/", {}, 405, id="405-slash-route"),
        pytest.param("GET", "/items/abc", {}, 422, id="modern-validation"),
        pytest.param("OPTIONS", "/items/5", {}, 405, id="plain-options"),
        pytest.param("GET", "/static/hello", {}, 200, id="mount"),
        pytest.param("GET", "/static/nope", {}, 404, id="mounts-own-404"),
        pytest.param("GET", "/static", {}, 307, id="mount-redirect-slashes"),
        pytest.param("GET", "/spa/a/b/c", {}, 200, id="catch-all-below-prefix"),
        pytest.param("GET", "/spa/", {}, 200, id="catch-all-empty-rest"),
        pytest.param("POST", "/spa/a", {}, 405, id="catch-all-405"),
        pytest.param("GET", "/items/5", {"origin": ORIGIN}, 200, id="cors-simple"),
        pytest.param("OPTIONS", "/items/5", PREFLIGHT, 200, id="preflight-modern-only"),
        pytest.param(
            "OPTIONS",
            "/items/5",
            {
                "origin": ORIGIN,
                "access-control-request-method": "GET",
                "access-control-request-headers": "x-bad",
            },
            400,
            id="preflight-refused-by-modern-policy",
        ),
    ],
)
def test_modern_only_paths_answer_as_the_modern_router(
    sides: Sides, method: str, url: str, headers: dict[str, str], status: int
) -> None:
    got = sides.via_gateway(method, url, **headers)
    assert got.status_code == status
    assert_same(got, sides.alone("modern", method, url, **headers), "modern")


@pytest.mark.parametrize(
    ("method", "url"),
    [
        pytest.param("GET", "/nowhere", id="unknown"),
        pytest.param("POST", "/nowhere/deeper", id="unknown-post"),
        pytest.param("GET", "/users/abc", id="port-refused-by-legacy-not-422"),
        pytest.param("POST", "/users/abc", id="port-refused-by-legacy-not-405"),
        pytest.param("GET", "/users/1/", id="port-path-no-modern-redirect"),
        pytest.param("GET", "/old", id="legacy-route"),
        pytest.param("OPTIONS", "/old", id="legacy-options"),
        pytest.param("POST", "/users/1", id="legacy-method-of-a-port"),
    ],
)
def test_what_modern_would_404_and_legacy_paths_stay_legacy(
    sides: Sides, method: str, url: str
) -> None:
    assert_same(sides.via_gateway(method, url), sides.alone("legacy", method, url), "legacy")


@pytest.mark.parametrize(
    ("method", "url", "side"),
    [
        pytest.param("GET", "/nowhere", "modern", id="unknown-path"),
        pytest.param("POST", "/nowhere/deeper", "modern", id="unknown-path-405"),
        pytest.param("GET", "/old", "legacy", id="legacy-route-first"),
        pytest.param("GET", "/users/abc", "legacy", id="port-declared-first-stays-legacy"),
    ],
)
def test_a_catch_all_claims_every_unknown_path(
    caught: Sides, method: str, url: str, side: str
) -> None:
    assert_same(caught.via_gateway(method, url), caught.alone(side, method, url), side)


# --- HEAD as GET -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("/items/5", id="modern-only"),
        pytest.param("/users/1", id="ported"),
        pytest.param("/static/hello", id="mount"),
        pytest.param("/spa/x", id="catch-all"),
    ],
)
def test_head_is_get_without_a_body_on_modern_routes(sides: Sides, url: str) -> None:
    get = sides.via_gateway("GET", url)
    head = sides.via_gateway("HEAD", url)
    assert get.status_code == head.status_code == 200
    assert head.headers["x-served-by"] == "modern"
    assert head.content == b""
    assert head.headers["content-length"] == get.headers["content-length"]
    assert head.headers["content-type"] == get.headers["content-type"]


def test_head_of_a_redirect_is_the_modern_redirect(sides: Sides) -> None:
    got = sides.via_gateway("HEAD", "/items")
    assert_same(got, sides.alone("modern", "HEAD", "/items"), "modern")
    assert got.status_code == 307


# --- CORS preflights ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "asked", "side"),
    [
        pytest.param("/users/1", "GET", "modern", id="ported-method"),
        pytest.param("/users/1", "POST", "legacy", id="legacy-method-of-a-port"),
        pytest.param("/old", "GET", "legacy", id="legacy-route"),
        pytest.param("/half", "GET", "modern", id="canary-above-zero"),
        pytest.param("/none", "GET", "legacy", id="canary-at-zero"),
        pytest.param("/items/5", "GET", "modern", id="modern-only"),
        pytest.param("/items/5", "POST", "modern", id="modern-only-other-method"),
        pytest.param("/nowhere", "GET", "legacy", id="unknown"),
    ],
)
def test_a_preflight_goes_to_the_side_of_the_method_it_asks_for(
    sides: Sides, url: str, asked: str, side: str
) -> None:
    headers = {"origin": ORIGIN, "access-control-request-method": asked}
    got = sides.via_gateway("OPTIONS", url, **headers)
    assert_same(got, sides.alone(side, "OPTIONS", url, **headers), side)
    if side == "modern":
        assert got.headers["access-control-allow-origin"] == ORIGIN


def test_a_preflight_and_a_plain_options_are_decided_apart(sides: Sides) -> None:
    """The decision cache keeps a preflight apart from a plain OPTIONS of the path."""
    preflight = sides.via_gateway("OPTIONS", "/users/1", **PREFLIGHT)
    plain = sides.via_gateway("OPTIONS", "/users/1")
    again = sides.via_gateway("OPTIONS", "/users/1", **PREFLIGHT)
    assert preflight.headers["x-served-by"] == again.headers["x-served-by"] == "modern"
    assert plain.headers["x-served-by"] == "legacy"
