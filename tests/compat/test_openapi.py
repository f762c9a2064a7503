"""routeshift.compat.openapi: one document of both sides, over plain data. Path
parameters typed by their converters, tags, docstrings, `x-routeshift-state` on every
operation, and a promotion that changes its own operation only."""

from __future__ import annotations

import copy
import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi import FastAPI
from fixture_apps import converters
from flask import Blueprint, Flask
from flask.views import MethodView
from werkzeug.routing import BaseConverter, IntegerConverter, Map

from routeshift.compat.openapi import (
    LEGACY_RESPONSE,
    STATE_KEY,
    MergedDocument,
    legacy_operations,
    merge_openapi,
    parameter_schema,
    path_parameters,
)
from routeshift.registry.load import parse_registry
from routeshift.registry.model import Registry, Settings
from routeshift.routes import legacy_routes

# --- path parameters ---------------------------------------------------------------------


class ShadeConverter(BaseConverter):
    """A converter of the app's own: werkzeug knows nothing of its values."""


class EvenConverter(IntegerConverter):
    """A custom converter built on int: an integer still."""


CONVERTERS = {**Map.default_converters, "shade": ShadeConverter, "even": EvenConverter}


@pytest.mark.parametrize(
    ("rule", "schema"),
    [
        pytest.param("/<int:n>", {"type": "integer", "minimum": 0}, id="int-unsigned"),
        pytest.param("/<int(signed=True):n>", {"type": "integer"}, id="int-signed"),
        pytest.param(
            "/<int(min=1, max=9):n>",
            {"type": "integer", "minimum": 1, "maximum": 9},
            id="int-range",
        ),
        pytest.param(
            "/<int(signed=True, min=2):n>", {"type": "integer", "minimum": 2}, id="int-signed-min"
        ),
        pytest.param("/<float:n>", {"type": "number", "minimum": 0}, id="float"),
        pytest.param("/<float(signed=True):n>", {"type": "number"}, id="float-signed"),
        pytest.param("/<uuid:n>", {"type": "string", "format": "uuid"}, id="uuid"),
        pytest.param("/<path:n>", {"type": "string"}, id="path"),
        pytest.param(
            "/<any(about, help):n>", {"type": "string", "enum": ["about", "help"]}, id="any"
        ),
        pytest.param("/<n>", {"type": "string"}, id="default"),
        pytest.param("/<string:n>", {"type": "string"}, id="string"),
        pytest.param(
            "/<string(length=2):n>",
            {"type": "string", "minLength": 2, "maxLength": 2},
            id="string-length",
        ),
        pytest.param(
            "/<string(minlength=3, maxlength=8):n>",
            {"type": "string", "minLength": 3, "maxLength": 8},
            id="string-bounds",
        ),
        pytest.param("/<shade:n>", {"type": "string"}, id="custom"),
        pytest.param("/<even:n>", {"type": "integer", "minimum": 0}, id="custom-int"),
        pytest.param("/<nowhere:n>", {"type": "string"}, id="unknown-converter"),
    ],
)
def test_path_parameters_are_typed_by_their_converters(rule: str, schema: dict[str, Any]) -> None:
    (parameter,) = path_parameters(rule, CONVERTERS)
    assert parameter == {
        "name": "n",
        "in": "path",
        "required": True,
        "schema": {**schema, "title": "N"},
    }


def test_arguments_a_custom_converter_does_not_take_type_it_by_its_base() -> None:
    assert parameter_schema(EvenConverter, (), {"colour": "red"}) == {
        "type": "integer",
        "minimum": 0,
    }


def test_parameters_follow_the_documented_path() -> None:
    """A modern_path names the parameters: one the rule lacks is a string."""
    found = path_parameters("/a/<int:x>/<y>", CONVERTERS, ["x", "z"])
    assert [(p["name"], p["schema"]["type"]) for p in found] == [("x", "integer"), ("z", "string")]


# --- the legacy operations -------------------------------------------------------------


def create_legacy() -> Flask:
    app = Flask(__name__)
    users = Blueprint("users", __name__, url_prefix="/users")

    @users.route("/<int:user_id>", methods=["GET", "PUT"])
    def get_user(user_id: int) -> str:
        """Read one user.

        Answers 404 when there is none.
        \f
        Not for the docs: what follows a form feed stays in the code.
        """
        return ""

    @users.route("/<int:user_id>/avatar/<path:name>")
    def avatar(user_id: int, name: str) -> str:
        return ""

    @users.route("/by-key/<uuid:key>")
    def by_key(key: str) -> str:
        return ""

    app.register_blueprint(users)

    class Notes(MethodView):
        """Notes of the app."""

        def get(self) -> str:
            """List the notes."""
            return ""

        def post(self) -> str:
            return ""

    app.add_url_rule("/notes", view_func=Notes.as_view("notes"))

    @app.route("/slow")
    def slow() -> str:
        return ""

    app.add_url_rule("/named", endpoint="named")  # a name to build URLs of: no view
    return app


ROUTES = """\
- {endpoint: users.get_user, rule: '/users/<int:user_id>', methods: [GET], state: modern}
- {endpoint: users.get_user, rule: '/users/<int:user_id>', methods: [PUT], state: shadow,
   shadow_writes: true}
- {endpoint: notes, rule: /notes, methods: [GET], state: canary, percent: 10}
- {endpoint: notes, rule: /notes, methods: [POST], state: legacy}
- {endpoint: users.by_key, rule: '/users/by-key/<uuid:key>', methods: [GET], state: legacy}
- {endpoint: gone, rule: /gone, methods: [GET], state: modern, retired: true}
"""


def registry_of(routes: str = ROUTES, settings: str = "") -> Registry:
    text = (
        f"legacy_app: l:app\nmodern_app: m:app\n{settings}routes:\n{textwrap.indent(routes, '  ')}"
    )
    return parse_registry(text, Path("migration_status.yaml"))


def operations_of(app: Flask, registry: Registry) -> Any:
    return legacy_operations(
        legacy_routes(app), registry, app.url_map.converters, app.view_functions
    )


def create_modern() -> FastAPI:
    app = FastAPI(title="shop", version="2")

    @app.get("/users/{user_id}", tags=["accounts"])
    def get_user(user_id: int) -> dict[str, int]:
        return {"id": user_id}

    @app.put("/users/{user_id}", tags=["accounts"])
    def put_user(user_id: int) -> dict[str, int]:
        return {"id": user_id}

    @app.get("/notes")
    def notes() -> list[str]:
        return []

    @app.get("/slow")
    def slow() -> dict[str, str]:
        return {}

    @app.get("/health")
    def health() -> dict[str, str]:
        """Modern only."""
        return {}

    return app


@pytest.fixture
def merged() -> dict[str, Any]:
    app = create_legacy()
    return merge_openapi(create_modern().openapi(), operations_of(app, registry_of()))


def test_every_operation_says_its_state(merged: dict[str, Any]) -> None:
    states = {
        (path, method): operation[STATE_KEY]
        for path, item in merged["paths"].items()
        for method, operation in item.items()
    }
    assert states == {
        ("/users/{user_id}", "get"): "modern",
        ("/users/{user_id}", "put"): "shadow",
        ("/users/{user_id}/avatar/{name}", "get"): "legacy",  # not in the registry
        ("/users/by-key/{key}", "get"): "legacy",
        ("/notes", "get"): "canary",
        ("/notes", "post"): "legacy",
        ("/slow", "get"): "legacy",
        ("/health", "get"): "modern",  # modern-only
    }


def test_modern_and_canary_routes_keep_the_modern_operation(merged: dict[str, Any]) -> None:
    modern = create_modern().openapi()
    for path in ("/users/{user_id}", "/notes"):
        kept = dict(merged["paths"][path]["get"])
        assert kept.pop(STATE_KEY) in {"modern", "canary"}
        assert kept == modern["paths"][path]["get"]
    assert merged["paths"]["/health"]["get"]["description"] == "Modern only."


def test_a_legacy_operation_is_made_from_the_rule_and_the_view(merged: dict[str, Any]) -> None:
    put = merged["paths"]["/users/{user_id}"]["put"]  # shadow: legacy answers
    assert put == {
        "tags": ["users"],
        "summary": "Get User",
        "description": "Read one user.\n\nAnswers 404 when there is none.",
        "operationId": "legacy_users_get_user_put",
        "parameters": [
            {
                "name": "user_id",
                "in": "path",
                "required": True,
                "schema": {"type": "integer", "minimum": 0, "title": "User Id"},
            }
        ],
        "responses": {"default": dict(LEGACY_RESPONSE)},
        STATE_KEY: "shadow",
    }


def test_app_level_views_have_no_tags_and_class_views_their_methods_doc(
    merged: dict[str, Any],
) -> None:
    post = merged["paths"]["/notes"]["post"]
    assert "tags" not in post and post["summary"] == "Notes"
    assert post["description"] == "Notes of the app."  # post has no docstring: the class's
    slow = merged["paths"]["/slow"]["get"]
    assert "tags" not in slow and "description" not in slow
    assert slow["responses"] == {"default": {"description": "Served by the legacy Flask app"}}


def test_converters_reach_the_document(merged: dict[str, Any]) -> None:
    avatar = merged["paths"]["/users/{user_id}/avatar/{name}"]["get"]["parameters"]
    assert [(p["name"], p["schema"]["type"]) for p in avatar] == [
        ("user_id", "integer"),
        ("name", "string"),
    ]
    (key,) = merged["paths"]["/users/by-key/{key}"]["get"]["parameters"]
    assert key["schema"]["format"] == "uuid"  # at the rule's translation


def test_left_out_head_options_static_view_less_and_retired() -> None:
    operations = operations_of(create_legacy(), registry_of())
    assert {op.method for op in operations} == {"GET", "PUT", "POST"}
    endpoints = {op.endpoint for op in operations}
    assert endpoints == {"users.get_user", "users.avatar", "users.by_key", "notes", "slow"}


def test_every_converter_is_documented_at_its_translation() -> None:
    app = converters.create_legacy()
    routes = yaml.safe_dump(converters.registry_routes("legacy"))
    operations = {op.endpoint: op for op in operations_of(app, registry_of(routes))}
    assert {e: op.path for e, op in operations.items()} == {
        e: path.replace(":path", "") for e, (_, path) in converters.RULES.items()
    }
    assert operations["uuid"].parameters[0]["schema"]["format"] == "uuid"
    assert operations["any"].parameters[0]["schema"]["enum"] == ["a", "b"]


def test_a_ported_uuid_rule_is_the_modern_operation() -> None:
    modern = converters.create_modern().openapi()
    routes = [
        {**r, "state": "modern"} if r["endpoint"] == "uuid" else r
        for r in converters.registry_routes("legacy")
    ]
    ported = yaml.safe_dump(routes)
    merged = merge_openapi(modern, operations_of(converters.create_legacy(), registry_of(ported)))
    thing = merged["paths"]["/things/{key}"]["get"]
    assert thing == {**modern["paths"]["/things/{key}"]["get"], STATE_KEY: "modern"}
    assert merged["paths"]["/wide/{x}"]["get"][STATE_KEY] == "legacy"
    assert "/wide/{x:path}" not in merged["paths"]


def test_operation_ids_are_unique_in_the_document() -> None:
    app = Flask(__name__)

    def twice(n: int) -> str:
        return ""

    app.add_url_rule("/a/<int:n>", view_func=twice)
    app.add_url_rule("/b/<int:n>", view_func=twice)
    modern = {"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": {}}
    modern["paths"]["/c"] = {"get": {"operationId": "legacy_twice_get", "responses": {}}}
    merged = merge_openapi(modern, operations_of(app, registry_of("[]\n")))
    ids = [
        operation["operationId"] for item in merged["paths"].values() for operation in item.values()
    ]
    assert sorted(ids) == ["legacy_twice_get", "legacy_twice_get_2", "legacy_twice_get_3"]


def test_promoting_a_route_changes_its_own_operation_only() -> None:
    app, modern = create_legacy(), create_modern().openapi()
    before = merge_openapi(modern, operations_of(app, registry_of()))
    promoted = registry_of(
        ROUTES.replace("methods: [PUT], state: shadow", "methods: [PUT], state: modern")
    )
    after = merge_openapi(modern, operations_of(app, promoted))
    changed = [
        (path, method)
        for path in before["paths"].keys() | after["paths"].keys()
        for method in before["paths"].get(path, {}).keys() | after["paths"].get(path, {}).keys()
        if before["paths"].get(path, {}).get(method) != after["paths"].get(path, {}).get(method)
    ]
    assert changed == [("/users/{user_id}", "put")]
    assert after["paths"]["/users/{user_id}"]["put"] == {
        **modern["paths"]["/users/{user_id}"]["put"],
        STATE_KEY: "modern",
    }
    assert {k: v for k, v in after.items() if k != "paths"} == {
        k: v for k, v in before.items() if k != "paths"
    }


def test_a_modern_route_the_modern_document_lacks_is_documented_from_legacy() -> None:
    """include_in_schema=False on the port, say: the route is still in the document."""
    app = create_legacy()
    modern = create_modern().openapi()
    del modern["paths"]["/notes"]
    merged = merge_openapi(modern, operations_of(app, registry_of()))
    notes = merged["paths"]["/notes"]["get"]
    assert notes["operationId"] == "legacy_notes_get" and notes[STATE_KEY] == "canary"


def test_the_modern_document_is_left_as_it_was() -> None:
    modern = create_modern().openapi()
    kept = copy.deepcopy(modern)
    merge_openapi(modern, operations_of(create_legacy(), registry_of()))
    assert modern == kept


def test_merged_openapi_is_on_by_default_and_may_be_turned_off() -> None:
    assert Settings().merged_openapi is True
    registry = registry_of("[]\n", settings="settings: {merged_openapi: false}\n")
    assert registry.settings.merged_openapi is False


# --- MergedDocument: the bytes, kept per root_path ----------------------------------------


def test_the_document_is_merged_once_per_root_path_and_modern_answer() -> None:
    calls: list[int] = []
    app = create_legacy()

    def operations() -> Any:
        calls.append(1)
        return operations_of(app, registry_of())

    document = MergedDocument("/openapi.json", operations)
    assert calls == []  # nothing until it is asked for
    body = json.dumps(create_modern().openapi()).encode()
    first = document.render(body)
    assert first is not None and document.render(body) is first
    assert "/slow" in json.loads(first)["paths"]
    other = json.loads(body)
    other["servers"] = [{"url": "/api"}]
    under_api = document.render(json.dumps(other).encode(), "/api")
    assert under_api is not None and json.loads(under_api)["servers"] == [{"url": "/api"}]
    assert document.render(body) is first  # the root's is still kept
    changed = document.render(body.replace(b'"shop"', b'"shop!"'))
    assert changed is not None and changed is not first
    assert calls == [1]


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"<html>no</html>", id="not-json"),
        pytest.param(b"[1, 2]", id="not-an-object"),
        pytest.param(b'{"paths": []}', id="paths-not-a-mapping"),
    ],
)
def test_an_answer_that_is_no_document_is_not_merged(body: bytes) -> None:
    assert MergedDocument("/openapi.json", tuple).render(body) is None
