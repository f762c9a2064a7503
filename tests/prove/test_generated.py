"""routeshift.prove.generated and routeshift.prove.strategies: requests drawn from the modern route,
sent to both sides."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Annotated, Any

import pytest
from conftest import write_registry
from fastapi import FastAPI, Request
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from flask import Flask, jsonify, request
from flask.typing import ResponseReturnValue
from hypothesis import find, given, settings
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from routeshift.apps.pair import load_apps
from routeshift.errors import GenerateError
from routeshift.prove.cases import Case
from routeshift.prove.generated import (
    DEFAULT_EXAMPLES,
    ENV_EXAMPLES,
    GeneratedMismatch,
    check_generated,
    generated_examples,
    generated_test,
    generation_settings,
)
from routeshift.prove.harness import Harness
from routeshift.prove.strategies import (
    body_strategy,
    edge_values,
    operation_of,
    path_strategy,
    strategy_for,
)
from routeshift.registry.load import load_registry
from routeshift.routes import flat_routes

ITEMS = {1: "apple", 2: "pear"}
ROUTES: list[dict[str, Any]] = [
    {"endpoint": "get_item", "rule": "/items/<int(signed=True):item_id>", "methods": ["GET"]},
    {"endpoint": "create_item", "rule": "/items", "methods": ["POST"]},
    {"endpoint": "tag", "rule": "/tags/<name>", "methods": ["GET"]},
    {"endpoint": "file", "rule": "/files/<path:name>", "methods": ["GET"]},
    {"endpoint": "search", "rule": "/search", "methods": ["GET"]},
    {"endpoint": "stock", "rule": "/stock/<int:item_id>", "methods": ["GET"]},
]


# --- the apps: a legacy shop that validates by hand, and its ports ---------------------


def legacy_shop() -> Flask:
    app = Flask("legacy_shop")

    @app.get("/items/<int(signed=True):item_id>")
    def get_item(item_id: int) -> ResponseReturnValue:
        if item_id not in ITEMS:
            return jsonify(error=f"item {item_id} not found"), 404
        return jsonify(id=item_id, name=ITEMS[item_id])

    @app.post("/items")
    def create_item() -> ResponseReturnValue:
        data = request.get_json(silent=True)
        if not isinstance(data, dict) or set(data) - {"name", "qty"}:
            return jsonify(error="invalid item"), 400
        name, qty = data.get("name"), data.get("qty", 1)
        if not isinstance(name, str) or not 1 <= len(name) <= 20:
            return jsonify(error="invalid item"), 400
        if not isinstance(qty, int) or isinstance(qty, bool) or not 1 <= qty <= 100:
            return jsonify(error="invalid item"), 400
        return jsonify(name=name, qty=qty), 201

    @app.get("/tags/<name>")
    def tag(name: str) -> ResponseReturnValue:
        return jsonify(tag=name)

    @app.get("/files/<path:name>")
    def file(name: str) -> ResponseReturnValue:
        return jsonify(file=name)

    @app.get("/search")
    def search() -> ResponseReturnValue:
        return jsonify(q=request.args.get("q", ""), limit=request.args.get("limit", 10, type=int))

    @app.get("/stock/<int:item_id>")  # unsigned: the map never routes /stock/-1 here
    def stock(item_id: int) -> ResponseReturnValue:
        return jsonify(stock=item_id)

    return app


class NewItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: StrictStr = Field(min_length=1, max_length=20)
    qty: StrictInt = Field(1, ge=1, le=100)


class LaxNewItem(BaseModel):
    """NewItem without extra="forbid": accepts keys that legacy refuses."""

    name: StrictStr = Field(min_length=1, max_length=20)
    qty: StrictInt = Field(1, ge=1, le=100)


def modern_shop(flaw: str = "") -> FastAPI:
    """The port; `flaw` names the one edge where it differs from legacy."""
    app = FastAPI()

    async def invalid(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"error": "invalid item"}, 400)

    app.add_exception_handler(RequestValidationError, invalid)

    def found(item_id: int) -> JSONResponse:
        if item_id not in ITEMS:
            return JSONResponse({"error": f"item {item_id} not found"}, 404)
        return JSONResponse({"id": item_id, "name": ITEMS[item_id]})

    if flaw == "negative-id":

        @app.get("/items/{item_id}")
        def get_item_unsigned(item_id: Annotated[int, PathParam(ge=0)]) -> JSONResponse:
            return found(item_id)

    elif flaw == "zero-id":

        @app.get("/items/{item_id}")
        def get_item_falsy(item_id: int) -> JSONResponse:
            if not item_id:
                return JSONResponse({"error": "item_id is required"}, 400)
            return found(item_id)

    elif flaw == "huge-id":

        @app.get("/items/{item_id}")
        def get_item_int64(item_id: int) -> JSONResponse:
            return found((item_id + 2**63) % 2**64 - 2**63)  # as a BIGINT column would

    else:

        @app.get("/items/{item_id}")
        def get_item(item_id: int) -> JSONResponse:
            return found(item_id)

    if flaw == "extra-key":

        @app.post("/items", status_code=201)
        def create_item_lax(item: LaxNewItem) -> dict[str, Any]:
            return item.model_dump()

    else:

        @app.post("/items", status_code=201)
        def create_item(item: NewItem) -> dict[str, Any]:
            return item.model_dump()

    @app.get("/tags/{name}")
    def tag(name: str) -> dict[str, str]:
        return {"tag": name}

    @app.get("/files/{name:path}")
    def file(name: str) -> dict[str, str]:
        return {"file": name}

    @app.get("/search")
    def search(request: Request, q: str = "", limit: str | None = None) -> dict[str, Any]:
        # werkzeug's args.get: the first value; limit=int or 10
        first = request.query_params.getlist("q")
        try:
            number = int(request.query_params.getlist("limit")[0])
        except (IndexError, ValueError):
            number = 10
        return {"q": first[0] if first else "", "limit": number}

    @app.get("/stock/{item_id}")
    def stock(item_id: int) -> dict[str, int]:
        return {"stock": item_id}

    return app


@pytest.fixture
def make_harness(tmp_path: Path) -> Iterator[Callable[..., Harness]]:
    harnesses: list[Harness] = []

    def make(flaw: str = "", legacy: Flask | None = None) -> Harness:
        routes = [dict(route, state="modern") for route in ROUTES]
        registry_file = write_registry(tmp_path, routes, legacy_app="x:app", modern_app="x:app")
        registry = load_registry(registry_file)
        apps = load_apps(registry, legacy_app=legacy or legacy_shop(), modern_app=modern_shop(flaw))
        harness = Harness(registry, apps)
        harnesses.append(harness)
        return harness

    yield make
    for harness in harnesses:
        harness.close()


# --- (a) a faithful port passes -----------------------------------------------------


@pytest.mark.parametrize(
    ("endpoint", "method"),
    [
        pytest.param("get_item", "GET", id="int-path"),
        pytest.param("create_item", "POST", id="json-body"),
        pytest.param("tag", "GET", id="str-path"),
        pytest.param("file", "GET", id="path-converter"),
        pytest.param("search", "GET", id="query"),
    ],
)
def test_faithful_port_passes(
    make_harness: Callable[..., Harness], endpoint: str, method: str
) -> None:
    results = check_generated(make_harness(), endpoint, method, max_examples=60)
    assert results and all(result.passed for result in results)
    assert all(result.case.method == method for result in results)


def test_json_body_cases_cover_every_kind(make_harness: Callable[..., Harness]) -> None:
    results = check_generated(make_harness(), "create_item", "POST", max_examples=100)
    kinds = {result.case.id for result in results}
    assert {
        "generated-valid",
        "generated-wrong-type",
        "generated-missing-key",
        "generated-bounds",
        "generated-extra-key",
        "generated-other-json",
        "generated-not-json",
        "generated-no-body",
    } <= kinds
    statuses = {result.legacy.status for result in results}
    assert statuses == {201, 400}


def test_int_path_reaches_edge_values(make_harness: Callable[..., Harness]) -> None:
    results = check_generated(make_harness(), "get_item", "GET", max_examples=100)
    paths = {result.case.path for result in results}
    assert {"/items/0", "/items/-1", f"/items/{2**63}"} <= paths


def test_unicode_segments_with_a_pep3333_legacy_side(
    make_harness: Callable[..., Harness],
) -> None:
    harness = make_harness()
    results = check_generated(harness, "tag", "GET", max_examples=60)
    assert all(result.passed for result in results)
    assert all(result.case.path.isascii() for result in results)
    assert any(re.search("%[89A-F][0-9A-F]", result.case.path) for result in results)


def test_only_requests_the_legacy_map_routes_to_the_entry_are_sent(
    make_harness: Callable[..., Harness],
) -> None:
    results = check_generated(make_harness(), "stock", "GET", max_examples=60)
    segments = [result.case.path.removeprefix("/stock/") for result in results]
    assert segments and all(segment.isdigit() for segment in segments)
    assert all(result.passed for result in results)


def test_paths_are_percent_encoded(make_harness: Callable[..., Harness]) -> None:
    results = check_generated(make_harness(), "tag", "GET", max_examples=100)
    for result in results:
        segment = result.case.path.removeprefix("/tags/")
        assert "/" not in segment and "?" not in segment and "#" not in segment
        assert segment not in ("", ".", "..")
    assert any("%25" in result.case.path for result in results)  # a literal "%"


# --- (b) a port that differs on one edge is caught, shrunk to that edge -------------


@pytest.mark.parametrize(
    ("flaw", "path", "difference"),
    [
        pytest.param("negative-id", "/items/-1", "status: legacy 404 != modern 400", id="negative"),
        pytest.param("zero-id", "/items/0", "status: legacy 404 != modern 400", id="zero"),
        pytest.param(
            "huge-id",
            f"/items/{2**63}",
            f'/error: legacy "item {2**63} not found" != modern "item {-(2**63)} not found"',
            id="huge",
        ),
    ],
)
def test_edge_difference_is_shrunk_to_the_edge(
    make_harness: Callable[..., Harness], flaw: str, path: str, difference: str
) -> None:
    with pytest.raises(GeneratedMismatch) as caught:
        check_generated(make_harness(flaw), "get_item", "GET", max_examples=100)
    assert caught.value.result.case.path == path
    assert str(caught.value).startswith(f"generated request: GET {path}\n")
    assert difference in str(caught.value)


def test_extra_key_that_legacy_refuses_is_caught(make_harness: Callable[..., Harness]) -> None:
    with pytest.raises(GeneratedMismatch) as caught:
        check_generated(make_harness("extra-key"), "create_item", "POST", max_examples=100)
    shrunk = caught.value.result.case
    assert isinstance(shrunk.json, dict)
    extra = set(shrunk.json) - {"name", "qty"}
    assert len(extra) == 1 and "qty" not in shrunk.json
    assert len(shrunk.json["name"]) == 1  # the shortest valid name
    line = f"generated request: POST /items json={json.dumps(shrunk.json, ensure_ascii=False)}"
    assert str(caught.value).startswith(line + "\n")
    assert "status: legacy 400 != modern 201" in str(caught.value)


# --- (c) bounded by the setting -----------------------------------------------------


def counting(counts: list[str]) -> Callable[[str], AbstractContextManager[object]]:
    def state(side: str) -> AbstractContextManager[object]:
        counts.append(side)
        return nullcontext()

    return state


def test_examples_bounded_by_environment(
    make_harness: Callable[..., Harness], monkeypatch: pytest.MonkeyPatch
) -> None:
    harness = make_harness()
    sent: dict[str, int] = {}
    for limit in ("4", "9"):
        monkeypatch.setenv(ENV_EXAMPLES, limit)
        sides: list[str] = []
        results = check_generated(harness, "create_item", "POST", counting(sides))
        sent[limit] = sides.count("modern")
        assert sent[limit] == len(results)
    assert 1 <= sent["4"] <= 4 < sent["9"] <= 9


def test_examples_argument_wins_over_environment(
    make_harness: Callable[..., Harness], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_EXAMPLES, "50")
    results = check_generated(make_harness(), "get_item", "GET", max_examples=3)
    assert 1 <= len(results) <= 3


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        pytest.param({}, DEFAULT_EXAMPLES, id="unset"),
        pytest.param({ENV_EXAMPLES: ""}, DEFAULT_EXAMPLES, id="empty"),
        pytest.param({ENV_EXAMPLES: " 7 "}, 7, id="set"),
    ],
)
def test_generated_examples(environ: dict[str, str], expected: int) -> None:
    assert generated_examples(environ) == expected


@pytest.mark.parametrize("value", ["0", "-3", "many", "2.5"])
def test_generated_examples_refuses_bad_values(value: str) -> None:
    with pytest.raises(GenerateError, match=f"{ENV_EXAMPLES}='{value}' is not a positive"):
        generated_examples({ENV_EXAMPLES: value})


def test_settings_are_bounded_deterministic_and_keep_no_database() -> None:
    chosen = generation_settings(5)
    assert chosen.max_examples == 5
    assert chosen.database is None and chosen.derandomize and chosen.deadline is None


# --- the pieces -------------------------------------------------------------------------


def modern_route(app: FastAPI, path: str, method: str) -> Any:
    return next(r for r in flat_routes(app) if r.path == path and method in r.methods)


def test_operation_reads_the_route() -> None:
    app = modern_shop()
    operation = operation_of(modern_route(app, "/items", "POST"), "POST")
    assert operation.body is not None and operation.body_required
    assert operation.body["additionalProperties"] is False
    assert operation.body["required"] == ["name"]
    files = operation_of(modern_route(app, "/files/{name:path}", "GET"), "GET")
    assert [(p.name, p.multi_segment) for p in files.path_params] == [("name", True)]
    search = operation_of(modern_route(app, "/search", "GET"), "GET")
    assert [p.name for p in search.query_params] == ["q", "limit"]
    assert repr(files) == "Operation(GET '/files/{name:path}': name)"


def test_route_outside_the_schema_is_refused() -> None:
    app = FastAPI()

    @app.get("/hidden", include_in_schema=False)
    def hidden() -> dict[str, str]:
        return {}

    with pytest.raises(GenerateError, match="include_in_schema=False"):
        operation_of(modern_route(app, "/hidden", "GET"), "GET")


def test_strategy_for_a_route_alone() -> None:
    route = modern_route(modern_shop(), "/items/{item_id}", "GET")
    drawn: list[Case] = []

    @settings(max_examples=20, database=None, derandomize=True)
    @given(strategy_for(route, "get_item", "GET"))
    def draw(generated: Case) -> None:
        drawn.append(generated)

    draw()
    assert drawn and all(c.path.startswith("/items/") and c.endpoint == "get_item" for c in drawn)


def test_path_converter_draws_several_segments() -> None:
    operation = operation_of(modern_route(modern_shop(), "/files/{name:path}", "GET"), "GET")
    paths: list[str] = []

    @settings(max_examples=60, database=None, derandomize=True)
    @given(path_strategy(operation))
    def draw(path: str) -> None:
        paths.append(path)

    draw()
    assert any(path.count("/") >= 3 for path in paths)


def test_edge_values_of_bounds() -> None:
    assert edge_values({"type": "integer", "minimum": 1.0, "maximum": 100.0}) == [1, 0, 100, 101]
    assert edge_values({"type": "string", "minLength": 1, "maxLength": 2}) == ["", "xx", "xxx"]
    assert edge_values({"anyOf": [{"type": "integer", "exclusiveMinimum": 0}, {"type": "null"}]})
    assert edge_values({"type": "string", "enum": ["red", "green"]}) == ["RED", "red ", ""]
    assert edge_values({"type": "string"}) == []


def test_body_strategy_without_a_body() -> None:
    assert find(body_strategy(None), lambda body: True) == ("request", {})


def test_unknown_endpoint_is_named_with_a_hint(make_harness: Callable[..., Harness]) -> None:
    with pytest.raises(GenerateError, match=r"no entry for get_iten GET\. Did you mean 'get_item'"):
        check_generated(make_harness(), "get_iten", "GET")


def test_method_the_entry_does_not_list(make_harness: Callable[..., Harness]) -> None:
    with pytest.raises(GenerateError, match="no entry for get_item DELETE"):
        check_generated(make_harness(), "get_item", "DELETE")


def test_missing_modern_route(tmp_path: Path) -> None:
    registry_file = write_registry(
        tmp_path,
        [{"endpoint": "tag", "rule": "/tags/<name>", "methods": ["GET"], "state": "legacy"}],
        legacy_app="x:app",
        modern_app="x:app",
    )
    registry = load_registry(registry_file)
    harness = Harness(registry, load_apps(registry, legacy_shop(), FastAPI()))
    try:
        with pytest.raises(GenerateError, match=r"no GET route at /tags/\{name\}"):
            check_generated(harness, "tag", "GET")
    finally:
        harness.close()


# --- for pytest users -------------------------------------------------------------------


@pytest.fixture
def routeshift_harness(make_harness: Callable[..., Harness]) -> Harness:
    """Overrides the plugin's session harness for this module: the shop apps."""
    return make_harness()


test_generated_get_item = generated_test("get_item", "GET", max_examples=10)
test_generated_create_item = generated_test("create_item", "POST", max_examples=10)


def test_generated_test_is_a_test_function() -> None:
    made = generated_test("users.get_user")
    assert made.__name__ == "test_generated_users_get_user_GET"
    assert "users.get_user GET" in (made.__doc__ or "")


# --- the example apps: the ports are checked on generated requests --------------------


@pytest.fixture
def example_harness(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    from legacy_flask.database import dispose_engines

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'example.db'}")
    harness = Harness.from_registry(Path(__file__).resolve().parents[2] / "migration_status.yaml")
    yield harness
    harness.close()
    dispose_engines()


@pytest.mark.parametrize("endpoint", ["main.slow", "users.list_users"], ids=["slow", "list-users"])
def test_example_port_passes(example_harness: Harness, endpoint: str) -> None:
    results = check_generated(example_harness, endpoint, "GET")
    assert results and all(result.passed for result in results)


def test_example_get_user(example_harness: Harness) -> None:
    """Ids from 2**63 up overflow SQLite on both sides: found by generation, the port
    now answers werkzeug's 500 page as legacy does (modern_api.compat)."""
    check_generated(example_harness, "users.get_user", "GET", max_examples=100)
