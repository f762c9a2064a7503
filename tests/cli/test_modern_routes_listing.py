"""The commands list the modern app's routes without building every included route's
context (routeshift.routes.modern_routes, FastAPI >= 0.137): the same routes, in the same
order, as FastAPI's own `iter_route_contexts` gives."""

from __future__ import annotations

from typing import Any

import fastapi.routing
import pytest
from fastapi import APIRouter, FastAPI, WebSocket
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount

from routeshift import routes as discovery

if not hasattr(fastapi.routing, "iter_route_contexts"):
    pytest.skip("this FastAPI copies included routes into app.routes", allow_module_level=True)


async def plain(request: Request) -> Response:
    return PlainTextResponse("ok")


def _app() -> FastAPI:
    app = FastAPI()

    @app.get("/top/{item_id}")
    def top(item_id: int) -> dict[str, int]:
        return {"item_id": item_id}

    inner = APIRouter(prefix="/inner")

    @inner.api_route("/both", methods=["get", "post"], name="both_ways")
    def both() -> dict[str, str]:
        return {}

    @inner.websocket("/ws")
    async def socket(websocket: WebSocket) -> None:
        await websocket.close()

    inner.add_route("/starlette", plain, methods=["GET"])
    inner.add_route("/any", plain)
    inner.mount("/files", Mount("/", routes=[]))
    outer = APIRouter(dependencies=[])

    @outer.delete("/things/{key:path}")
    def remove(key: str) -> None:
        return None

    outer.include_router(inner, prefix="/v1")
    app.include_router(outer, prefix="/api")
    app.include_router(inner)  # the same router a second time, another prefix
    app.add_route("/health", plain, methods=["GET"])
    return app


def _listed_by_contexts(app: Any) -> tuple[discovery.ModernRoute, ...]:
    return discovery._http_routes(discovery.flat_routes(app))


def test_included_routes_are_listed_as_their_contexts_say() -> None:
    app = _app()
    listed = discovery._listed_without_contexts(app)
    assert listed is not None
    assert listed == _listed_by_contexts(app)
    assert discovery.modern_routes(app) == listed
    paths = [route.path for route in listed]
    assert "/api/v1/inner/both" in paths and "/api/v1/starlette" in paths


def test_an_unknown_route_in_an_included_router_takes_the_public_way() -> None:
    class Odd(BaseRoute):  # a BaseRoute that routeshift does not know
        path = "/odd"
        methods = {"GET"}

        def matches(self, scope: Any) -> Any:
            raise NotImplementedError

    router = APIRouter()
    router.routes.append(Odd())
    app = FastAPI()
    app.include_router(router, prefix="/p")
    assert discovery._listed_without_contexts(app) is None
