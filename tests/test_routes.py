"""routeshift.routes: the routes of both apps, and werkzeug rules in FastAPI's syntax."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import APIRouter, FastAPI, WebSocket
from fixture_apps import converters
from fixture_apps.converters import NarrowConverter, WideConverter
from flask import Blueprint, Flask
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route, WebSocketRoute
from werkzeug.routing import Map

from routeshift.routes import (
    LegacyRoute,
    ModernRoute,
    handler_index,
    legacy_routes,
    modern_routes,
    to_fastapi_path,
)

# --- to_fastapi_path -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "path"),
    [
        pytest.param("/users/<int:user_id>", "/users/{user_id}", id="int"),
        pytest.param("/prices/<float:amount>", "/prices/{amount}", id="float"),
        pytest.param("/tags/<string:tag>", "/tags/{tag}", id="string"),
        pytest.param("/tags/<default:tag>", "/tags/{tag}", id="default-by-name"),
        pytest.param("/tags/<tag>", "/tags/{tag}", id="no-converter"),
        pytest.param("/files/<path:name>", "/files/{name:path}", id="path"),
        pytest.param("/files/<path:name>/raw", "/files/{name:path}/raw", id="path-then-static"),
        pytest.param(
            "/users/<int:user_id>/posts/<slug>", "/users/{user_id}/posts/{slug}", id="two-params"
        ),
        pytest.param("/a/<int:x>-<int:y>", "/a/{x}-{y}", id="two-params-one-segment"),
        pytest.param("/health", "/health", id="no-params"),
        pytest.param("/", "/", id="root"),
        pytest.param("/items/", "/items/", id="trailing-slash-kept"),
        pytest.param("/n/<int(min=1):x>", "/n/{x}", id="int-with-arguments"),
        pytest.param("/c/<string(length=2):code>", "/c/{code}", id="string-with-arguments"),
        pytest.param(
            "/f/<float(signed=True):v>/<int(fixed_digits=4):year>",
            "/f/{v}/{year}",
            id="several-arguments",
        ),
        pytest.param("/pages/<any(about, help):name>", "/pages/{name}", id="any"),
        pytest.param("/tokens/<uuid:token>", "/tokens/{token}", id="uuid"),
        pytest.param("/n/<int(signed=True):x>", "/n/{x}", id="int-signed"),
        pytest.param("/colors/<color:c>", "/colors/{c}", id="custom-assumed-isolating"),
        pytest.param("/u/<int:id>/<uuid:token>", "/u/{id}/{token}", id="int-and-uuid"),
    ],
)
def test_to_fastapi_path(rule: str, path: str) -> None:
    assert to_fastapi_path(rule) == path


class Unmarked:
    """A converter class of a werkzeug before 2.2: no `part_isolating` at all."""


@pytest.mark.parametrize(
    ("rule", "classes", "path"),
    [
        pytest.param("/w/<wide:rest>", {"wide": WideConverter}, "/w/{rest:path}", id="wide"),
        pytest.param("/n/<narrow:x>", {"narrow": NarrowConverter}, "/n/{x}", id="narrow"),
        pytest.param("/u/<old:x>", {"old": Unmarked}, "/u/{x}", id="unmarked-isolating"),
        pytest.param("/p/<path:x>", {"path": Unmarked}, "/p/{x:path}", id="unmarked-path"),
        pytest.param("/p/<path:x>", {"path": NarrowConverter}, "/p/{x}", id="path-overridden"),
        pytest.param("/x/<x>", {"default": WideConverter}, "/x/{x:path}", id="default-wide"),
        pytest.param("/m/<missing:x>", {}, "/m/{x}", id="not-in-the-map"),
        pytest.param("/p/<path:x>", {}, "/p/{x:path}", id="path-not-in-the-map"),
    ],
)
def test_to_fastapi_path_asks_the_converter_classes(
    rule: str, classes: dict[str, type], path: str
) -> None:
    assert to_fastapi_path(rule, classes) == path


def test_werkzeugs_own_converters_agree_with_the_string_translation() -> None:
    classes = Map().converters
    rules = [f"/a/<{name}:x>" for name in classes]
    assert [to_fastapi_path(r, classes) for r in rules] == [to_fastapi_path(r) for r in rules]


# --- legacy_routes ---------------------------------------------------------------------


def make_flask() -> Flask:
    app = Flask(__name__)

    @app.get("/health")
    def health() -> str:
        return "ok"

    @app.route("/things/<int:a>/<b>", methods=["GET", "POST", "DELETE"])
    def thing(a: int, b: str) -> str:
        return "thing"

    api = Blueprint("api", __name__, url_prefix="/api")

    @api.get("/items/<int:item_id>")
    def get_item(item_id: int) -> str:
        return "item"

    app.register_blueprint(api)

    v1 = Blueprint("v1", __name__, url_prefix="/v1")
    users = Blueprint("users", __name__, url_prefix="/users")

    @users.put("/<name>")
    def rename(name: str) -> str:
        return name

    v1.register_blueprint(users)
    app.register_blueprint(v1)

    assets = Blueprint("assets", __name__, static_folder="assets", static_url_path="/a")
    app.register_blueprint(assets, url_prefix="/assets")
    return app


@pytest.fixture(scope="module")
def flask_routes() -> dict[str, LegacyRoute]:
    routes = legacy_routes(make_flask())
    by_endpoint = {route.endpoint: route for route in routes}
    assert len(by_endpoint) == len(routes)
    return by_endpoint


@pytest.mark.parametrize(
    ("endpoint", "rule", "methods", "arguments", "blueprint"),
    [
        pytest.param("health", "/health", {"GET"}, (), "", id="app-view"),
        pytest.param(
            "thing",
            "/things/<int:a>/<b>",
            {"GET", "POST", "DELETE"},
            ("a", "b"),
            "",
            id="several-methods",
        ),
        pytest.param(
            "api.get_item",
            "/api/items/<int:item_id>",
            {"GET"},
            ("item_id",),
            "api",
            id="blueprint-url-prefix",
        ),
        pytest.param(
            "v1.users.rename",
            "/v1/users/<name>",
            {"PUT"},
            ("name",),
            "v1.users",
            id="nested-blueprints",
        ),
        pytest.param("static", "/static/<path:filename>", {"GET"}, ("filename",), "", id="static"),
        pytest.param(
            "assets.static",
            "/assets/a/<path:filename>",
            {"GET"},
            ("filename",),
            "assets",
            id="blueprint-static",
        ),
    ],
)
def test_legacy_routes(
    flask_routes: dict[str, LegacyRoute],
    endpoint: str,
    rule: str,
    methods: set[str],
    arguments: tuple[str, ...],
    blueprint: str,
) -> None:
    route = flask_routes[endpoint]
    assert route.rule == rule
    assert route.methods == frozenset(methods)
    assert route.arguments == arguments
    assert route.blueprint == blueprint


def test_head_and_options_are_left_out(flask_routes: dict[str, LegacyRoute]) -> None:
    for route in flask_routes.values():
        assert not route.methods & {"HEAD", "OPTIONS"}, route


def test_explicit_head_and_options_are_left_out_too() -> None:
    app = Flask(__name__)

    @app.route("/x", methods=["GET", "HEAD", "OPTIONS", "PATCH"])
    def x() -> str:
        return "x"

    (route,) = [r for r in legacy_routes(app) if r.endpoint == "x"]
    assert route.methods == frozenset({"GET", "PATCH"})


def test_is_static(flask_routes: dict[str, LegacyRoute]) -> None:
    static = {endpoint for endpoint, route in flask_routes.items() if route.is_static}
    assert static == {"static", "assets.static"}


def test_legacy_routes_keep_the_url_map_order() -> None:
    app = Flask(__name__, static_folder=None)

    @app.get("/b")
    def b() -> str:
        return "b"

    @app.get("/a")
    def a() -> str:
        return "a"

    @app.get("/a/<int:n>")
    def a_n(n: int) -> str:
        return "a"

    assert [r.endpoint for r in legacy_routes(app)] == ["b", "a", "a_n"]


def test_an_endpoint_with_two_rules_gives_two_routes() -> None:
    app = Flask(__name__, static_folder=None)

    @app.get("/archive")
    @app.get("/archive/<int:year>")
    def archive(year: int = 0) -> str:
        return "archive"

    routes = legacy_routes(app)
    assert [(r.endpoint, r.rule) for r in routes] == [
        ("archive", "/archive/<int:year>"),
        ("archive", "/archive"),
    ]


def test_legacy_route_fastapi_path_and_repr(flask_routes: dict[str, LegacyRoute]) -> None:
    route = flask_routes["thing"]
    assert route.fastapi_path == "/things/{a}/{b}"
    assert repr(route) == "LegacyRoute('thing', '/things/<int:a>/<b>', [DELETE,GET,POST])"
    assert flask_routes["static"].fastapi_path == "/static/{filename:path}"


@pytest.mark.parametrize("endpoint", list(converters.RULES))
def test_legacy_routes_translate_every_converter(endpoint: str) -> None:
    routes = {route.endpoint: route for route in legacy_routes(converters.create_legacy())}
    assert routes[endpoint].fastapi_path == converters.RULES[endpoint][1]


def test_a_route_made_by_hand_translates_its_rule_by_name() -> None:
    route = LegacyRoute("w", "/w/<wide:x>/<path:p>", frozenset({"GET"}), ("p", "x"))
    assert route.fastapi_path == "/w/{x}/{p:path}"  # no url_map: `wide` assumed isolating
    given = LegacyRoute("w", "/w/<wide:x>", frozenset({"GET"}), ("x",), fastapi_path="/w/{x:path}")
    assert given.fastapi_path == "/w/{x:path}"


# --- modern_routes ---------------------------------------------------------------------


def make_fastapi() -> FastAPI:
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    @app.get("/items/{item_id}")
    def read_item(item_id: int) -> dict[str, int]:
        return {"item_id": item_id}

    @app.api_route("/items", methods=["POST", "put"])
    def write_items() -> None:
        return None

    router = APIRouter(prefix="/users")

    @router.delete("/{user_id}")
    def delete_user(user_id: int) -> None:
        return None

    app.include_router(router)

    @app.websocket("/ws")
    async def socket(websocket: WebSocket) -> None:
        await websocket.close()

    app.mount("/sub", Starlette(routes=[Route("/inner", PlainTextResponse)]))
    return app


def test_modern_routes_of_a_fastapi_app() -> None:
    routes = modern_routes(make_fastapi())
    assert [(r.path, r.methods, r.name) for r in routes] == [
        ("/items/{item_id}", frozenset({"GET"}), "read_item"),
        ("/items", frozenset({"POST", "PUT"}), "write_items"),
        ("/users/{user_id}", frozenset({"DELETE"}), "delete_user"),
    ]


def test_modern_routes_open_nested_routers_with_their_prefixes() -> None:
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    outer = APIRouter(prefix="/v1")
    inner = APIRouter(prefix="/users")

    @inner.get("/{user_id}")
    def get_user(user_id: int) -> None:
        return None

    @inner.websocket("/live")
    async def live(websocket: WebSocket) -> None:
        await websocket.close()

    outer.include_router(inner)
    app.include_router(outer, prefix="/api")

    @app.post("/after")
    def after() -> None:
        return None

    assert [(r.path, r.methods) for r in modern_routes(app)] == [
        ("/api/v1/users/{user_id}", frozenset({"GET"})),
        ("/after", frozenset({"POST"})),
    ]


def test_modern_routes_list_the_docs_routes_fastapi_adds() -> None:
    paths = {route.path for route in modern_routes(FastAPI())}
    assert {"/openapi.json", "/docs", "/redoc"} <= paths


def test_modern_routes_of_a_starlette_app() -> None:
    async def hello(request: Any) -> PlainTextResponse:
        return PlainTextResponse("hi")

    app = Starlette(
        routes=[
            Route("/hello", hello),
            Route("/form", hello, methods=["POST"]),
            WebSocketRoute("/ws", hello),
            Mount("/static", routes=[Route("/x", hello)]),
        ]
    )
    routes = modern_routes(app)
    assert [(r.path, r.methods) for r in routes] == [
        ("/hello", frozenset({"GET", "HEAD"})),  # Starlette adds HEAD to GET itself
        ("/form", frozenset({"POST"})),
    ]


@pytest.mark.parametrize(
    "app",
    [
        pytest.param(lambda scope, receive, send: None, id="bare-asgi-callable"),
        pytest.param(object(), id="no-routes-attribute"),
    ],
)
def test_modern_routes_of_an_app_without_routes(app: Any) -> None:
    assert modern_routes(app) == ()


def test_modern_route_repr() -> None:
    route = ModernRoute("/items/{item_id}", frozenset({"PUT", "GET"}), "read")
    assert repr(route) == "ModernRoute('/items/{item_id}', [GET,PUT])"


# --- handler_index ---------------------------------------------------------------------


def test_handler_index() -> None:
    routes = [
        ModernRoute("/items/{item_id}", frozenset({"GET", "PUT"}), "item"),
        ModernRoute("/items", frozenset({"POST"}), "create"),
        ModernRoute("/items", frozenset({"GET", "HEAD"}), "listing"),
    ]
    assert handler_index(routes) == frozenset(
        {
            ("/items/{item_id}", "GET"),
            ("/items/{item_id}", "PUT"),
            ("/items", "POST"),
            ("/items", "GET"),
            ("/items", "HEAD"),
        }
    )


def test_handler_index_has_head_only_where_the_app_serves_it() -> None:
    # FastAPI's APIRoute answers GET only; the gateway serves HEAD as GET for it, so the
    # index must not claim a HEAD handler that the modern app does not have.
    index = handler_index(modern_routes(make_fastapi()))
    assert ("/items/{item_id}", "GET") in index
    assert ("/items/{item_id}", "HEAD") not in index


def test_handler_index_of_nothing_is_empty() -> None:
    assert handler_index([]) == frozenset()
