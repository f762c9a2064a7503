"""query_arg and query_list answer as a real Flask view's request.args does.

Every case sends the same raw query string to a Flask app that reads `request.args.get`
/ `getlist` and to a FastAPI app that reads the same through the dependencies; both echo
the raw query they received (so the transports sent the same bytes) and the `repr` of
what they read (so 1 and "1" differ).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Annotated, Any

import flask
import httpx
import pytest
from fastapi import Depends, FastAPI
from starlette.requests import Request

from routeshift.compat.query import query_arg, query_list

#: reader id -> (name, default, type) of `request.args.get`
ARGS: dict[str, tuple[str, Any, Callable[[str], Any] | None]] = {
    "page": ("page", 1, int),
    "q": ("q", None, None),
    "price": ("price", 0.5, float),
    "word": ("word", "none", str),
}
#: reader id -> (name, type) of `request.args.getlist`
LISTS: dict[str, tuple[str, Callable[[str], Any] | None]] = {
    "tags": ("tag", int),
    "words": ("tag", None),
}


def legacy_app() -> flask.Flask:
    app = flask.Flask(__name__)

    @app.get("/arg/<reader>")
    def arg(reader: str) -> dict[str, str]:
        name, default, type = ARGS[reader]
        value = flask.request.args.get(name, default, type=type)
        return {"value": repr(value), "raw": flask.request.query_string.decode("latin-1")}

    @app.get("/list/<reader>")
    def values(reader: str) -> dict[str, str]:
        name, type = LISTS[reader]
        value = flask.request.args.getlist(name, type=type)
        return {"value": repr(value), "raw": flask.request.query_string.decode("latin-1")}

    return app


def modern_app() -> FastAPI:
    app = FastAPI()
    for reader, (name, default, type) in ARGS.items():
        read = query_arg(name, default, type=type, description=f"The {name}.")
        app.add_api_route(f"/arg/{reader}", echo(read), methods=["GET"])
    for reader, (name, type) in LISTS.items():
        read = query_list(name, type=type, description=f"The {name}.")
        app.add_api_route(f"/list/{reader}", echo(read), methods=["GET"])
    return app


def echo(read: Callable[..., Any]) -> Callable[..., Any]:
    async def endpoint(request: Request, value: Any) -> dict[str, str]:
        return {"value": repr(value), "raw": request.scope["query_string"].decode("latin-1")}

    # an object, not the string `from __future__` makes: FastAPI cannot resolve a closure's name
    endpoint.__annotations__["value"] = Annotated[Any, Depends(read)]
    return endpoint


LEGACY = legacy_app().test_client()
MODERN = modern_app()


def modern_get(path: str, query: str) -> httpx.Response:
    async def request() -> httpx.Response:
        transport = httpx.ASGITransport(app=MODERN)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.get(httpx.URL(f"http://test{path}", query=query.encode("ascii")))

    return asyncio.run(request())


def both(path: str, query: str) -> tuple[dict[str, str], dict[str, str]]:
    legacy = LEGACY.get(path, query_string=query)
    modern = modern_get(path, query)
    assert legacy.status_code == 200, legacy.text
    assert modern.status_code == 200, modern.text  # never a 422
    answers = legacy.get_json(), modern.json()
    assert answers[0]["raw"] == answers[1]["raw"] == query  # the same bytes went to both
    return answers


QUERIES = [
    pytest.param("", id="missing"),
    pytest.param("other=1", id="other-key"),
    pytest.param("page=2&page=3&q=a&q=b&tag=4&tag=5", id="repeated-first-wins"),
    pytest.param("page=x&price=cheap", id="bad-number"),
    pytest.param("page=x&page=4", id="bad-first-of-repeated"),
    pytest.param("page=&q=&price=&word=&tag=", id="blank-values"),
    pytest.param("page&q&word&tag", id="no-equals"),
    pytest.param("q=a+b&word=a%20b&tag=1+2", id="plus-and-%20"),
    pytest.param("page=+7&price=%2B1.5", id="plus-sign-numbers"),
    pytest.param("page=1_000&price=1e3", id="python-number-syntax"),
    pytest.param("page=%D9%A3", id="unicode-digit"),
    pytest.param("q=caf%C3%A9&word=%C3%A9&tag=%C3%A9", id="unicode"),
    pytest.param("q=%FF&word=a%FFb&tag=%FF", id="bad-utf8"),
    pytest.param("q=%zz&word=100%&tag=%2", id="bad-escape"),
    pytest.param("q=a;b&word=x%26y%3Dz", id="semicolon-and-escaped-separators"),
    pytest.param("tag=1&tag=x&tag=3&tag=", id="list-skips-bad"),
]


@pytest.mark.parametrize("query", QUERIES)
@pytest.mark.parametrize("reader", list(ARGS))
def test_query_arg_answers_as_request_args_get(reader: str, query: str) -> None:
    legacy, modern = both(f"/arg/{reader}", query)
    assert modern["value"] == legacy["value"]


@pytest.mark.parametrize("query", QUERIES)
@pytest.mark.parametrize("reader", list(LISTS))
def test_query_list_answers_as_request_args_getlist(reader: str, query: str) -> None:
    legacy, modern = both(f"/list/{reader}", query)
    assert modern["value"] == legacy["value"]


def test_fastapi_own_query_parameter_would_refuse_what_legacy_defaults() -> None:
    """Why the dependency exists: `page: int = 1` answers 422 where the view gave 1."""
    app = FastAPI()

    @app.get("/plain")
    async def plain(page: int = 1) -> int:
        return page

    async def request() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.get("/plain?page=x")

    assert asyncio.run(request()).status_code == 422
    assert LEGACY.get("/arg/page", query_string="page=x").get_json()["value"] == "1"


def parameters(path: str) -> list[dict[str, Any]]:
    document = MODERN.openapi()
    found: list[dict[str, Any]] = document["paths"][path]["get"]["parameters"]
    return found


@pytest.mark.parametrize(
    ("path", "name", "schema"),
    [
        pytest.param("/arg/page", "page", {"type": "integer", "default": 1}, id="int"),
        pytest.param("/arg/price", "price", {"type": "number", "default": 0.5}, id="float"),
        pytest.param("/arg/q", "q", {"type": "string"}, id="no-type"),
        pytest.param("/arg/word", "word", {"type": "string", "default": "none"}, id="str"),
        pytest.param(
            "/list/tags", "tag", {"type": "array", "items": {"type": "integer"}}, id="list-int"
        ),
        pytest.param(
            "/list/words", "tag", {"type": "array", "items": {"type": "string"}}, id="list-str"
        ),
    ],
)
def test_the_parameter_is_documented(path: str, name: str, schema: dict[str, Any]) -> None:
    (parameter,) = parameters(path)
    assert parameter["name"] == name
    assert parameter["in"] == "query"
    assert parameter.get("required", False) is False
    assert parameter["description"] == f"The {name}."
    documented = {key: value for key, value in parameter["schema"].items() if key != "title"}
    assert documented == schema


def test_description_is_optional_and_a_handler_takes_several() -> None:
    app = FastAPI()

    @app.get("/search")
    async def search(
        page: Annotated[int, Depends(query_arg("page", 1, type=int))],
        size: Annotated[int, Depends(query_arg("size", 20, type=int))],
        tags: Annotated[list[str], Depends(query_list("tag"))],
    ) -> list[Any]:
        return [page, size, tags]

    async def request() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.get("/search?size=x&page=3&tag=a&tag=b")

    assert asyncio.run(request()).json() == [3, 20, ["a", "b"]]
    documented = app.openapi()["paths"]["/search"]["get"]["parameters"]
    assert [(p["name"], "description" in p) for p in documented] == [
        ("page", False),
        ("size", False),
        ("tag", False),
    ]


def test_repr_reads_as_the_call() -> None:
    assert repr(query_arg("page", 1, type=int)) == "query_arg('page', 1, type=int)"
    assert repr(query_list("tag")) == "query_list('tag', type=None)"
