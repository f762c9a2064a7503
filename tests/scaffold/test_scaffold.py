"""routeshift.scaffold: rules as typed FastAPI paths, models inferred from JSON samples,
the rendered module (it compiles, it is ruff-clean, it serves), the case file, and where
the files go."""

from __future__ import annotations

import asyncio
import importlib.util
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from conftest import SHOP_ROUTES, write_registry
from fastapi import FastAPI
from fixture_apps import converters

from routeshift.apps.pair import load_apps
from routeshift.compare import Reply
from routeshift.errors import ScaffoldError, ScaffoldExists
from routeshift.prove.cases import case, load_cases
from routeshift.registry.load import load_registry
from routeshift.routes import LegacyRoute, legacy_routes, modern_routes
from routeshift.scaffold.plan import (
    Package,
    date_helper,
    default_module_path,
    find_route,
    modern_package,
    module_name_of,
    plan_scaffold,
    sample_case,
    select_methods,
    write_files,
)
from routeshift.scaffold.render import (
    HandlerSpec,
    ModuleSpec,
    Sample,
    render_case_file,
    render_module,
)
from routeshift.scaffold.rules import translate_rule
from routeshift.scaffold.shapes import Shape, field_name, infer_shape, plan_models

DATE = "Tue, 02 Jan 2024 03:04:05 GMT"

# --- rule translation ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "path", "annotations"),
    [
        pytest.param("/users/<int:user_id>", "/users/{user_id}", ["int"], id="int"),
        pytest.param("/p/<float:amount>", "/p/{amount}", ["float"], id="float"),
        pytest.param("/tags/<name>", "/tags/{name}", ["str"], id="default"),
        pytest.param("/c/<string(length=2):code>", "/c/{code}", ["str"], id="string"),
        pytest.param("/files/<path:name>", "/files/{name:path}", ["str"], id="path"),
        pytest.param("/t/<uuid:task_id>", "/t/{task_id}", ["uuid.UUID"], id="uuid"),
        pytest.param(
            "/pages/<any(about, help):name>",
            "/pages/{name}",
            ['Literal["about", "help"]'],
            id="any",
        ),
        pytest.param("/x/<custom(1):value>", "/x/{value}", ["str"], id="custom"),
        pytest.param(
            "/a/<int(min=1):a>/b/<b>/<path:rest>",
            "/a/{a}/b/{b}/{rest:path}",
            ["int", "str", "str"],
            id="several",
        ),
        pytest.param("/", "/", [], id="no-parameters"),
    ],
)
def test_translate_rule(rule: str, path: str, annotations: list[str]) -> None:
    translation = translate_rule(rule)
    assert translation.path == path
    assert [p.annotation for p in translation.parameters] == annotations


def test_translate_rule_takes_discoverys_path() -> None:
    """A custom converter across `/` is `{x:path}` only the url_map knows."""
    (route,) = [r for r in legacy_routes(converters.create_legacy()) if r.endpoint == "wide"]
    translation = translate_rule(route.rule, route.fastapi_path)
    assert translation.path == "/wide/{x:path}"
    assert [p.converter for p in translation.parameters] == ["wide"]
    assert translate_rule(route.rule).path == "/wide/{x}"  # by name: assumed one segment


def test_parameter_remembers_the_werkzeug_converter() -> None:
    (parameter,) = translate_rule("/a/<int(min=1):a>").parameters
    assert parameter.werkzeug == "int(min=1)"
    assert repr(parameter) == "PathParameter('a', int(min=1) -> int)"


def test_a_keyword_parameter_gets_a_python_name_and_an_alias() -> None:
    (parameter,) = translate_rule("/k/<int:class>").parameters
    assert parameter.python_name == "class_"
    module = load_module(render_module(spec("/k/<int:class>", [answer({"k": 1})])).text)
    with pytest.raises(NotImplementedError):
        get(app_with(module), "/k/7")


# --- shapes and models ----------------------------------------------------------------


def model_fields(samples: list[Any], **options: Any) -> tuple[str, dict[str, list[str]]]:
    """The annotation and, per model, its field lines ("name: type [= None]")."""
    annotation, models = plan_models(infer_shape(samples), "Root", **options)
    lines = {}
    for model in models:
        lines[model.name] = [
            f"{f.name}: {f.annotation}" + (" = None" if f.optional else "") for f in model.fields
        ]
    return annotation, lines


@pytest.mark.parametrize(
    ("samples", "expected"),
    [
        pytest.param([{"a": 1}], ["a: int"], id="int"),
        pytest.param([{"a": 1.5}], ["a: float"], id="float"),
        pytest.param([{"a": True}], ["a: bool"], id="bool-is-not-int"),
        pytest.param([{"a": "x"}], ["a: str"], id="str"),
        pytest.param([{"a": 1}, {"a": 2.5}], ["a: float"], id="mixed-int-float"),
        pytest.param([{"a": 1}, {"a": None}], ["a: int | None"], id="null-is-optional"),
        pytest.param([{"a": None}], ["a: Any"], id="only-null"),
        pytest.param([{"a": 1, "b": 2}, {"a": 3}], ["a: int", "b: int = None"], id="missing"),
        pytest.param([{"a": []}], ["a: list[Any]"], id="empty-list"),
        pytest.param([{"a": []}, {"a": [1, 2]}], ["a: list[int]"], id="empty-then-items"),
        pytest.param([{"a": [1, 2.5]}], ["a: list[float]"], id="list-of-mixed-numbers"),
        pytest.param([{"a": [1, None]}], ["a: list[int | None]"], id="list-with-null"),
        pytest.param([{"a": 1}, {"a": "x"}], ["a: int | str"], id="conflicting"),
        pytest.param([{"a": DATE}], ["a: str"], id="rfc822-date"),
        pytest.param([{"a": DATE}, {"a": "soon"}], ["a: str"], id="date-and-text"),
    ],
)
def test_field_types_from_samples(samples: list[Any], expected: list[str]) -> None:
    annotation, models = model_fields(samples)
    assert annotation == "Root"
    assert models == {"Root": expected}


def test_nested_objects_become_nested_models_children_first() -> None:
    samples = [
        {"user": {"id": 1, "address": {"city": "Paris"}}, "tags": [{"name": "a"}]},
        {"user": {"id": 2, "address": {"city": "Oslo", "zip": "0150"}}, "tags": []},
    ]
    annotation, models = model_fields(samples)
    assert annotation == "Root"
    assert list(models) == ["Address", "User", "Tag", "Root"]
    assert models["Root"] == ["user: User", "tags: list[Tag]"]
    assert models["User"] == ["id: int", "address: Address"]
    assert models["Address"] == ["city: str", "zip: str = None"]
    assert models["Tag"] == ["name: str"]


def test_list_items_are_merged_into_one_model() -> None:
    _, models = model_fields([{"items": [{"id": 1, "note": "x"}, {"id": 2}]}])
    assert models["Item"] == ["id: int", "note: str = None"]


def test_top_level_list_and_scalars() -> None:
    assert plan_models(infer_shape([[{"id": 1}]]), "ThingsResponse")[0] == "list[ThingsItem]"
    assert plan_models(infer_shape([[]]), "X")[0] == "list[Any]"
    assert plan_models(infer_shape(["a", "b"]), "X") == ("str", [])
    assert plan_models(infer_shape([]), "X") == ("Any", [])


def test_same_name_twice_gets_the_parents_name() -> None:
    _, models = model_fields([{"a": {"item": {"x": 1}}, "b": {"item": {"y": "z"}}}])
    assert models["A"] == ["item: Item"]
    assert models["B"] == ["item: BItem"]


def test_date_comment_names_the_helper_only_when_there_is_one() -> None:
    _, (model,) = plan_models(infer_shape([{"at": DATE}]), "R")
    assert "RFC 822" in " ".join(model.fields[0].comments)
    assert "http_date" not in " ".join(model.fields[0].comments)
    # without a helper of the project's, the toolkit's: Flask's own provider writes it
    assert "routeshift.compat.FlaskJSONResponse" in " ".join(model.fields[0].comments)
    _, (model,) = plan_models(infer_shape([{"at": DATE}]), "R", date_helper="pkg.compat.http_date")
    assert "(pkg.compat.http_date)" in " ".join(model.fields[0].comments)


@pytest.mark.parametrize(
    ("key", "name"),
    [
        pytest.param("first-name", "first_name", id="dash"),
        pytest.param("class", "class_", id="keyword"),
        pytest.param("json", "json_", id="basemodel-attribute"),
        pytest.param("_id", "field_id", id="underscore"),
        pytest.param("1st", "field_1st", id="digit"),
        pytest.param("int", "int_", id="type-name"),
        pytest.param("name", "name", id="plain"),
    ],
)
def test_field_names(key: str, name: str) -> None:
    assert field_name(key) == name


def test_keys_that_are_not_names_round_trip_through_aliases() -> None:
    body = {"first-name": "Ann", "class": 3, "json": True, "_id": 1, "1st": None}
    module = load_module(render_module(spec("/odd", [answer(body)])).text)
    model = module.OddResponse
    assert model.model_validate(body).model_dump(by_alias=True) == body
    assert model(first_name="Ann", class_=3, json_=True, field_id=1, field_1st=None)


def test_shape_repr_reads_well() -> None:
    shape = infer_shape([{"a": 1, "b": [DATE]}, {"a": None}])
    assert repr(shape) == "{a: int | None, b?: list[date]}"
    assert repr(Shape()) == "nothing"


# --- the rendered module ----------------------------------------------------------------


def answer(body: Any, status: int = 200, label: str = "found", method: str = "GET") -> Sample:
    import json

    content = json.dumps(body).encode() if not isinstance(body, bytes) else body
    kind = "application/json" if not isinstance(body, bytes) else "text/html; charset=utf-8"
    return Sample(label, method, "/x", Reply(status, (("content-type", kind),), content))


def spec(rule: str, samples: list[Sample], **options: Any) -> ModuleSpec:
    methods = sorted({s.method for s in samples}) or ["GET"]
    handlers = tuple(
        HandlerSpec(m, "odd" if len(methods) == 1 else f"odd_{m.lower()}", tuple(samples))
        for m in methods
    )
    return ModuleSpec(
        endpoint="odd",
        view="app.odd",
        translation=translate_rule(rule),
        handlers=handlers,
        source="Test.",
        **options,
    )


def load_module(text: str) -> ModuleType:
    """Compile and import `text` as a fresh module (registered, as an import would be)."""
    name = f"scaffolded_{uuid.uuid4().hex}"
    code = compile(text, f"<{name}>", "exec")
    module = ModuleType(name)
    sys.modules[name] = module
    try:
        exec(code, module.__dict__)
    finally:
        del sys.modules[name]
    return module


def get(app: FastAPI, path: str) -> httpx.Response:
    """GET `path` from `app` in-process (an exception in the handler is raised here)."""

    async def request() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.get(path)

    return asyncio.run(request())


def app_with(module: ModuleType) -> FastAPI:
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    app.include_router(module.router)
    return app


RUFF = importlib.util.find_spec("ruff") is not None


def ruff(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ruff", *args, "--isolated", "--line-length", "100"],
        capture_output=True,
        text=True,
        check=False,
    )


MODULES = {
    "json": spec("/users/<int:user_id>", [answer({"id": 1, "at": DATE})]),
    "html": spec("/", [answer(b"<html></html>")]),
    "created": spec("/things", [answer({"id": 1}, status=201, method="POST")]),
    "optional": spec("/o", [answer({"a": 1, "b": 2}), answer({"a": 2}, label="other")]),
    "no-sample": spec("/files/<path:name>", []),
    "only-errors": spec("/e/<uuid:id>", [answer(b"<p>no</p>", status=404)]),
    "literal": spec("/pages/<any(about, help):name>", [answer([1, 2])]),
    "redirect": spec("/r", [answer(b"", status=302)]),
    "aliases": spec("/k/<int:class>", [answer({"first-name": "x", "items": [{"n": 1}]})]),
    "long": spec(
        "/a/<int:first_long_parameter_name>/<int:second_long_parameter_name>/<third_one>",
        [answer({"x": 1}, status=202), answer({}, status=202, label="empty")],
        date_helper="pkg.compat.http_date",
    ),
}


@pytest.mark.parametrize("name", list(MODULES))
def test_rendered_module_compiles_and_imports(name: str) -> None:
    module = load_module(render_module(MODULES[name]).text)
    assert modern_routes(app_with(module))


@pytest.mark.skipif(not RUFF, reason="ruff is not installed")
def test_rendered_modules_are_ruff_clean(tmp_path: Path) -> None:
    for name, item in MODULES.items():
        (tmp_path / f"{name.replace('-', '_')}.py").write_text(render_module(item).text)
    checked = ruff("check", "--select", "E,W,F,I,B,UP,C4", str(tmp_path))
    assert checked.returncode == 0, checked.stdout
    formatted = ruff("format", "--check", "--diff", str(tmp_path))
    assert formatted.returncode == 0, formatted.stdout


def test_module_has_model_router_and_todo_handler() -> None:
    rendered = render_module(MODULES["json"])
    text = rendered.text
    assert "class UsersResponse" not in text  # named after the view, not the path
    assert "class OddResponse(BaseModel):" in text
    assert "router = APIRouter()" in text
    assert '@router.get("/users/{user_id}")' in text
    assert "async def odd(user_id: int) -> OddResponse:" in text
    assert "Port of the legacy view odd (app.odd)." in text
    assert "# TODO: port the view; return an OddResponse." in text
    assert 'raise NotImplementedError("TODO: port odd")' in text
    assert "RFC 822" in text
    assert rendered.signatures == (
        "GET /users/{user_id} -> async def odd(user_id: int) -> OddResponse",
    )


def test_decorator_follows_legacy_answers() -> None:
    assert "response_class=HTMLResponse" in render_module(MODULES["html"]).text
    assert "-> HTMLResponse:" in render_module(MODULES["html"]).text
    assert '@router.post("/things", status_code=201)' in render_module(MODULES["created"]).text
    assert "-> RedirectResponse:" in render_module(MODULES["redirect"]).text
    no_sample = render_module(MODULES["no-sample"]).text
    assert "async def odd(name: str) -> Any:" in no_sample
    assert "no sample was sent" in no_sample
    assert "404 text/html: found" in render_module(MODULES["only-errors"]).text


def test_optional_keys_stay_out_of_the_answer_as_legacy_leaves_them_out() -> None:
    text = render_module(MODULES["optional"]).text
    assert "response_model_exclude_unset=True" in text
    served = text.replace('raise NotImplementedError("TODO: port odd")', "return {'a': 5}")
    assert get(app_with(load_module(served)), "/o").json() == {"a": 5}


def test_every_method_gets_its_handler() -> None:
    item = spec("/x", [answer({"a": 1}), answer({"id": 2}, status=201, method="POST")])
    text = render_module(item).text
    assert "async def odd_get() -> OddGetResponse:" in text
    assert "async def odd_post() -> OddPostResponse:" in text
    assert '"TODO: port odd (POST)"' in text


# --- the case file ------------------------------------------------------------------------


def test_case_file_is_valid_and_has_one_case_per_sample(tmp_path: Path) -> None:
    cases = [
        case("odd", "GET", "/x", id="sample"),
        case("odd", "GET", "/a b/#c", id="odd-path", query={"q": "1", "n": ["a", "b"]}),
        case("odd", "POST", "/x", id="yes"),
    ]
    path = tmp_path / "odd.yaml"
    path.write_text(render_case_file("odd", "/x", cases))
    loaded = load_cases(path)
    assert [(c.id, c.method, c.path) for c in loaded] == [
        ("sample", "GET", "/x"),
        ("odd-path", "GET", "/a b/#c"),
        ("yes", "POST", "/x"),
    ]
    assert loaded[1].query == {"q": "1", "n": ["a", "b"]}


def test_sample_path_keeps_its_query() -> None:
    made = sample_case("odd", "GET", "/users?page=2&tag=a&tag=b")
    assert (made.path, dict(made.query)) == ("/users", {"page": "2", "tag": ["a", "b"]})
    with pytest.raises(ScaffoldError, match="give a path"):
        sample_case("odd", "GET", "http://example.com/users")


# --- the legacy route and where files go -------------------------------------------------

ROUTES = (
    LegacyRoute("items.item", "/items/<int:item_id>", frozenset({"GET", "POST"}), ("item_id",)),
    LegacyRoute("two", "/a", frozenset({"GET"}), ()),
    LegacyRoute("two", "/b/<x>", frozenset({"GET"}), ("x",)),
    LegacyRoute("static", "/static/<path:filename>", frozenset({"GET"}), ("filename",)),
)


def test_find_route_errors_say_what_to_do() -> None:
    with pytest.raises(ScaffoldError, match="Did you mean 'items.item'"):
        find_route(ROUTES, "items.itm", None)
    with pytest.raises(ScaffoldError, match="choose one with --rule"):
        find_route(ROUTES, "two", None)
    with pytest.raises(ScaffoldError, match="has no rule '/c'"):
        find_route(ROUTES, "two", "/c")
    with pytest.raises(ScaffoldError, match="not an endpoint"):
        find_route(ROUTES, "static", None)
    assert find_route(ROUTES, "two", "/b/<x>").rule == "/b/<x>"


def test_select_methods() -> None:
    route = ROUTES[0]
    assert select_methods(route, None) == ("GET", "POST")
    assert select_methods(route, "post") == ("POST",)
    with pytest.raises(ScaffoldError, match="does not serve DELETE"):
        select_methods(route, "delete")


def test_modern_package_is_found_by_importlib() -> None:
    import modern_api

    package = modern_package("modern_api:app")
    assert package.name == "modern_api"
    assert package.folder == Path(modern_api.__file__).parent
    assert package.routers
    assert modern_package("modern_api.deps:legacy").name == "modern_api"
    assert default_module_path(package, "users.get_user") == (
        package.folder / "routers" / "users_get_user.py"
    )
    assert date_helper(package) is None  # the example dates with Flask's own provider
    with pytest.raises(ScaffoldError, match="cannot find module"):
        modern_package("no_such_package_here:app")


def test_a_project_date_helper_is_found_in_its_compat_module(tmp_path: Path) -> None:
    (tmp_path / "compat.py").write_text("def http_date(value):\n    return value\n")
    (tmp_path / "__init__.py").write_text("")
    package = Package(name="shop", folder=tmp_path)
    assert date_helper(package) == "shop.compat.http_date"
    (tmp_path / "compat.py").write_text("def other():\n    pass\n")
    assert date_helper(package) is None


def test_module_name_follows_the_packages(tmp_path: Path) -> None:
    (tmp_path / "pkg" / "routers").mkdir(parents=True)
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "routers" / "__init__.py").write_text("")
    assert module_name_of(tmp_path / "pkg" / "routers" / "a_b.py") == "pkg.routers.a_b"
    assert module_name_of(tmp_path / "alone.py") == "alone"


def test_write_files_never_overwrites_without_force(tmp_path: Path) -> None:
    from routeshift.scaffold.plan import OutputFile

    target = OutputFile(tmp_path / "deep" / "m.py", "new\n", "router module")
    write_files([target])
    target.path.write_text("mine\n")
    with pytest.raises(ScaffoldExists, match="--force"):
        write_files([target])
    assert target.path.read_text() == "mine\n"
    write_files([target], force=True)
    assert target.path.read_text() == "new\n"


# --- the shop's legacy route, end to end ---------------------------------------------------


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[tuple[Any, Any]]:
    path = write_registry(
        tmp_path, [dict(r) for r in SHOP_ROUTES], settings={"contracts_dir": "contracts"}
    )
    registry = load_registry(path)
    yield registry, load_apps(registry)


def test_shop_route_scaffold_serves_its_path(shop: tuple[Any, Any], tmp_path: Path) -> None:
    registry, apps = shop
    planned = plan_scaffold(
        registry, apps, "items.item", method="GET", sample="/items/3", out=tmp_path / "m.py"
    )
    (sample,) = planned.samples
    legacy_json = sample.json
    assert legacy_json == {"item_id": 3, "method": "GET", "side": "legacy"}
    text = planned.module.text
    assert "class ItemResponse(BaseModel):" in text
    assert "    item_id: int\n    method: str\n    side: str\n" in text
    module = load_module(text)
    app = app_with(module)
    (route,) = modern_routes(app)
    assert (route.path, route.methods) == ("/items/{item_id}", frozenset({"GET"}))
    served = text.replace('raise NotImplementedError("TODO: port items.item")', "return sample")
    module = load_module(served)
    module.sample = legacy_json
    assert get(app_with(module), "/items/3").json() == legacy_json
    assert planned.case_file is not None
    assert planned.case_file.path == tmp_path / "contracts" / "items.item.yaml"


def test_shop_any_rule_note_and_literal(shop: tuple[Any, Any], tmp_path: Path) -> None:
    registry, apps = shop
    planned = plan_scaffold(registry, apps, "page", sample="/pages/help", out=tmp_path / "m.py")
    assert 'async def page(name: Literal["about", "help"]) -> PageResponse:' in planned.module.text
    assert not any("modern_path" in note for note in planned.notes)  # the entry has one
    assert get(app_with(load_module(planned.module.text)), "/pages/other").status_code == 422


@pytest.mark.parametrize(
    ("endpoint", "sample", "path"),
    [
        pytest.param("uuid", f"/things/{uuid.UUID(int=1)}", "/things/{key}", id="uuid"),
        pytest.param("wide", "/wide/a/b", "/wide/{x:path}", id="custom-part-isolating-false"),
    ],
)
def test_scaffold_writes_the_port_at_the_rules_translation(
    tmp_path: Path, endpoint: str, sample: str, path: str
) -> None:
    registry = load_registry(
        write_registry(
            tmp_path,
            converters.registry_routes("legacy"),
            legacy_app="fixture_apps.converters:create_legacy()",
            modern_app="fastapi:FastAPI()",
        )
    )
    planned = plan_scaffold(
        registry, load_apps(registry), endpoint, sample=sample, out=tmp_path / "m.py"
    )
    assert not any("modern_path" in note for note in planned.notes), planned.notes
    (route,) = modern_routes(app_with(load_module(planned.module.text)))
    assert route.path == path


def test_cases_of_another_rule_of_the_endpoint_are_left_out(tmp_path: Path) -> None:
    from flask import Flask

    legacy = Flask(__name__)

    @legacy.route("/a", endpoint="two")
    @legacy.route("/b/<int:x>", endpoint="two")
    def two(x: int = 0) -> dict[str, int]:
        return {"x": x} if x else {"a": 1}

    (tmp_path / "contracts").mkdir()
    (tmp_path / "contracts" / "two.yaml").write_text(
        "cases:\n  - id: a\n    path: /a\n  - id: b\n    path: /b/2\n"
        "  - id: nowhere\n    path: /c\n"
    )
    registry = load_registry(write_registry(tmp_path, [], settings={"contracts_dir": "contracts"}))
    apps = load_apps(registry, legacy_app=legacy, modern_app=FastAPI())
    planned = plan_scaffold(registry, apps, "two", rule="/b/<int:x>", out=tmp_path / "m.py")
    assert [s.label for s in planned.samples] == ["b", "nowhere"]
    assert "    x: int\n" in planned.module.text
    assert repr(planned) == f"Scaffold('two', '/b/<int:x>' -> {str(tmp_path / 'm.py')!r})"


def test_unsafe_cases_are_not_sent_to_legacy(tmp_path: Path) -> None:
    from flask import Flask, request

    legacy = Flask(__name__)
    calls: list[str] = []

    @legacy.route("/users", endpoint="users", methods=["GET", "POST", "DELETE"])
    def users() -> Any:
        calls.append(request.method)
        return ({"id": 7}, 201) if request.method == "POST" else {"users": []}

    (tmp_path / "contracts").mkdir()
    (tmp_path / "contracts" / "users.yaml").write_text(
        "cases:\n  - id: make\n    method: POST\n    path: /users\n    json: {name: Ann}\n"
        "  - id: gone\n    method: DELETE\n    path: /users\n"
    )
    registry = load_registry(write_registry(tmp_path, [], settings={"contracts_dir": "contracts"}))
    apps = load_apps(registry, legacy_app=legacy, modern_app=FastAPI())
    planned = plan_scaffold(registry, apps, "users", out=tmp_path / "m.py")
    # the case file has no safe case: the rule's own GET is the sample, and only it is sent
    assert calls == ["GET"]
    assert [(s.label, s.method) for s in planned.samples] == [("sample", "GET")]
    (note,) = [n for n in planned.notes if n.startswith("not sent to legacy")]
    assert "make (POST /users), gone (DELETE /users)" in note
    assert "real data" in note and "--sample PATH" in note and "contract run" in note

    calls.clear()
    planned = plan_scaffold(
        registry, apps, "users", method="POST", sample="/users", out=tmp_path / "m.py"
    )
    assert calls == [] and planned.samples == ()
    assert any("sample (POST /users)" in n for n in planned.notes)
    assert any(n.startswith("no sample was sent") for n in planned.notes)
