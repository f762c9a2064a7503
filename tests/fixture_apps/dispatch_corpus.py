"""A corpus of FastAPI apps for direct dispatch (routeshift.apps.dispatch), each with the
Flask app whose rules it ports and the requests to send: the same routes declared on the
app, in an included router (prefix, an auth dependency, a response class), and in
routers nested two deep (a dependency at each level), each with no middleware, an
`@app.middleware("http")` one, or a pure ASGI one. Every handler answers with what the
router put in the scope (`route`, `endpoint`, `path_params`, `router`), so that the two
ways of dispatch can be compared on it.

A `Sentinel` route, first in the app's routes, counts how often the router tried it:
direct dispatch never does for a ported route.
"""

import itertools
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import (
    APIRouter,
    BackgroundTasks,
    Depends,
    FastAPI,
    Header,
    HTTPException,
    Request,
    WebSocket,
)
from fastapi.responses import JSONResponse, PlainTextResponse
from flask import Flask
from pydantic import BaseModel
from starlette.routing import BaseRoute, Match, Route

LAYOUTS = ("app", "included", "nested")
MIDDLEWARES = ("none", "http", "asgi")
TOKEN = "let-me-in"


class Sentinel(BaseRoute):
    """A route that never matches and counts the times the router asked it."""

    def __init__(self) -> None:
        self.asked = 0

    def matches(self, scope: Any) -> tuple[Match, dict[str, Any]]:
        self.asked += 1
        return Match.NONE, {}

    async def handle(self, scope: Any, receive: Any, send: Any) -> None:  # pragma: no cover
        raise AssertionError("the sentinel never matches")


class Teapot(Exception):
    """Raised by a handler; the app's own exception handler answers 418."""


class StampedJSON(JSONResponse):
    """An included router's response class: says so in a header."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.headers["x-response-class"] = "stamped"


class Item(BaseModel):
    name: str
    price: float


@dataclass
class Corpus:
    """One app of the corpus: the FastAPI app, its legacy twin, the registry's routes."""

    name: str
    modern: FastAPI
    legacy: Flask
    routes: list[dict[str, Any]]
    prefix: str
    sentinel: Sentinel
    done: list[str] = field(default_factory=list)  # background tasks that ran
    closed: list[str] = field(default_factory=list)  # yield dependencies that closed


def _describe(request: Request, **extra: Any) -> dict[str, Any]:
    scope = request.scope
    return {
        "route": getattr(scope.get("route"), "path", None),
        "endpoint": getattr(scope.get("endpoint"), "__name__", None),
        "params": dict(request.path_params),
        "router_is_app_router": scope.get("router") is request.app.router,
        "root_path": scope.get("root_path", ""),
        "url": str(request.url),
        "started": getattr(request.state, "started", None),
        **extra,
    }


async def require_token(x_token: Annotated[str | None, Header()] = None) -> None:
    if x_token != TOKEN:
        raise HTTPException(401, "no token", headers={"WWW-Authenticate": "Token"})


async def tag_level(request: Request) -> None:
    request.state.levels = [*getattr(request.state, "levels", []), "outer"]


def _declare(router: Any, done: list[str], closed: list[str]) -> None:
    """The corpus's routes, declared on `router` (the app itself, or an APIRouter)."""

    async def session() -> AsyncIterator[str]:
        try:
            yield "session"
        finally:
            closed.append("session")

    @router.get("/items/{item_id}")
    async def read_item(
        item_id: int, request: Request, held: Annotated[str, Depends(session)]
    ) -> dict[str, Any]:
        return _describe(request, item_id=item_id, held=held)

    @router.post("/items/{item_id}", status_code=201)
    async def write_item(
        item_id: int, item: Item, request: Request, tasks: BackgroundTasks
    ) -> dict[str, Any]:
        tasks.add_task(done.append, f"wrote {item_id}")
        return _describe(request, item_id=item_id, item=item.model_dump())

    @router.get("/files/{rest:path}")
    def read_file(rest: str, request: Request) -> dict[str, Any]:
        return _describe(request, rest=rest)

    @router.get("/boom")
    async def boom() -> None:
        raise Teapot()

    @router.get("/denied")
    async def denied() -> None:
        raise HTTPException(403, "denied", headers={"X-Why": "policy"})

    @router.get("/text/{word}", response_class=PlainTextResponse)
    async def text(word: str) -> str:
        return f"word {word}"

    @router.get("/counts/{n:int}")
    async def count(n: int, request: Request) -> dict[str, Any]:
        return _describe(request, type=type(request.path_params["n"]).__name__)

    @router.get("/levels")
    async def levels(request: Request) -> dict[str, Any]:
        return _describe(request, levels=getattr(request.state, "levels", []))


def build(layout: str, middleware: str) -> Corpus:
    """The app of one layout and middleware kind."""
    done: list[str] = []
    closed: list[str] = []

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        yield {"started": "yes"}

    app = FastAPI(lifespan=lifespan)
    sentinel = Sentinel()
    app.router.routes.insert(0, sentinel)

    prefix = ""
    if layout == "app":
        _declare(app, done, closed)
    elif layout == "included":
        prefix = "/api"
        router = APIRouter()
        _declare(router, done, closed)
        app.include_router(
            router,
            prefix=prefix,
            dependencies=[Depends(require_token)],
            default_response_class=StampedJSON,
        )
    else:
        prefix = "/api/v1"
        router = APIRouter()
        _declare(router, done, closed)
        outer = APIRouter(prefix="/api", dependencies=[Depends(tag_level)])
        outer.include_router(router, prefix="/v1", dependencies=[Depends(require_token)])
        app.include_router(outer, default_response_class=StampedJSON)

    async def plain(request: Any) -> PlainTextResponse:
        return PlainTextResponse(f"plain {request.path_params['name']}")

    app.router.routes.append(Route("/plain/{name}", plain, methods=["GET"]))

    @app.websocket("/ws")
    async def socket(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text(f"hello {websocket.scope.get('route').path}")
        await websocket.close()

    @app.exception_handler(Teapot)
    async def teapot(request: Request, exc: Teapot) -> JSONResponse:
        return JSONResponse({"teapot": request.url.path}, status_code=418)

    if middleware == "http":

        @app.middleware("http")
        async def stamp(request: Request, call_next: Any) -> Any:
            response = await call_next(request)
            route = request.scope.get("route")
            response.headers["x-route-after"] = getattr(route, "path", "none")
            return response

    elif middleware == "asgi":
        app.add_middleware(_ScopeEcho)

    legacy = Flask(f"legacy_{layout}_{middleware}")

    def view(**values: Any) -> str:
        return "legacy"

    rules = [
        ("read_item", f"{prefix}/items/<int:item_id>", ["GET", "POST"]),
        ("read_file", f"{prefix}/files/<path:rest>", ["GET"]),
        ("boom", f"{prefix}/boom", ["GET"]),
        ("denied", f"{prefix}/denied", ["GET"]),
        ("text", f"{prefix}/text/<word>", ["GET"]),
        ("levels", f"{prefix}/levels", ["GET"]),
        ("count", f"{prefix}/counts/<int:n>", ["GET"]),
        ("plain", "/plain/<name>", ["GET"]),
    ]
    registry_routes = []
    for endpoint, rule, methods in rules:
        legacy.add_url_rule(rule, endpoint, view, methods=methods)
        entry = {"endpoint": endpoint, "rule": rule, "methods": methods, "state": "modern"}
        if endpoint == "count":  # FastAPI's own int convertor: not the rule's translation
            entry["modern_path"] = f"{prefix}/counts/{{n:int}}"
        registry_routes.append(entry)
    return Corpus(
        f"{layout}-{middleware}", app, legacy, registry_routes, prefix, sentinel, done, closed
    )


class _ScopeEcho:
    """A pure ASGI middleware: adds the route the router left in the scope."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def stamped(message: Any) -> None:
            if message["type"] == "http.response.start":
                route = getattr(scope.get("route"), "path", "none")
                headers = [*message.get("headers", ()), (b"x-scope-route", route.encode())]
                message = dict(message, headers=headers)
            await send(message)

        await self.app(scope, receive, stamped)


@dataclass(frozen=True)
class Sent:
    """One request of the corpus."""

    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    json: Any = None
    root_path: str = ""

    def __str__(self) -> str:
        return f"{self.method} {self.root_path}{self.path}"


def requests(corpus: Corpus) -> Iterator[Sent]:
    """The requests sent to one app: every route and method, HEAD, the auth dependency
    both ways, wrong methods, bad bodies, unknown paths, a root_path."""
    p = corpus.prefix
    auth = {"x-token": TOKEN}
    paths = [
        f"{p}/items/7",
        f"{p}/items/0",
        f"{p}/files/a/b/c.txt",
        f"{p}/files/%C3%A9t%C3%A9",
        f"{p}/boom",
        f"{p}/denied",
        f"{p}/text/hello",
        f"{p}/levels",
        f"{p}/counts/12",
        "/plain/x",
        f"{p}/nothing",
        "/nowhere",
    ]
    for path, method, headers in itertools.product(paths, ("GET", "HEAD", "DELETE"), (auth, {})):
        yield Sent(method, path, dict(headers))
    body = {"name": "pen", "price": 1.5}
    for headers in (auth, {}):
        yield Sent("POST", f"{p}/items/3", dict(headers), json=body)
        yield Sent("POST", f"{p}/items/3", dict(headers), json={"name": "pen"})
    yield Sent("POST", f"{p}/items/4", dict(auth), json=body, root_path="/gw")
    yield Sent("GET", f"{p}/items/4", dict(auth), root_path="/gw")
    yield Sent("GET", "/plain/y", root_path="/gw")
