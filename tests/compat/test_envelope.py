"""The legacy error envelope: a port's HTTP errors, validation errors and crashes answered
by the legacy app's own handlers, byte for byte what the legacy view answers to the same
request; `error_format: fastapi` (from the gateway's entry or the registry file) keeps
FastAPI's answers."""

import textwrap
from pathlib import Path
from typing import Annotated, Any

import pytest
from answers import Answer, FlaskClient
from answers import assert_same as same
from compat_client import PortClient
from fastapi import Depends, FastAPI, HTTPException
from fixture_apps.crossing_flask import create_app
from flask import Flask, abort, g, jsonify, render_template_string, request
from flask_login import current_user
from pydantic import BaseModel, Field, StrictInt, StrictStr
from starlette.exceptions import HTTPException as StarletteHTTPException

from routeshift.compat import FlaskJSONResponse, Legacy, LegacyBodyErrors, LegacyContext
from routeshift.compat import legacy_body_errors as body_errors
from routeshift.registry.model import Entry

NOT_JSON = "Send a JSON object with a name and an age."
PERSON_ERRORS = LegacyBodyErrors(
    not_json=NOT_JSON,
    fields={"name": "name must be text", "age": "age must be a whole number"},
    missing={"name": "name is required"},
)
CRASH_PAGE = "<h1>Sorry</h1><p>user={{ user }} locale={{ g.locale }}</p>"


def add_legacy_views(app: Flask) -> None:
    """The legacy views the ports below replace (crossing_flask has the rest)."""

    @app.get("/pages/<name>")
    def page(name: str) -> Any:
        if name != "about":
            abort(404)
        return "about us"

    def people() -> Any:
        data = request.get_json(silent=True)
        if not data or not isinstance(data, dict):
            abort(400, description=NOT_JSON)
        name = data.get("name")
        if not isinstance(name, str) or not name:
            abort(
                400, description="name is required" if "name" not in data else "name must be text"
            )
        age = data.get("age")
        if not isinstance(age, int) or isinstance(age, bool) or age < 0:
            abort(400, description="age must be a whole number")
        return jsonify(name=name, age=age), 201

    # in the api blueprint: its JSON error handler answers
    app.add_url_rule("/api/people", endpoint="api.people", view_func=people, methods=["POST"])
    app.add_url_rule("/people", endpoint="people", view_func=people, methods=["POST"])

    @app.post("/plain")
    def plain() -> Any:
        abort(400)

    @app.get("/conflict")
    def conflict() -> Any:
        abort(409, description="the legacy helper says no")

    @app.get("/unauthorized")
    def unauthorized() -> Any:
        abort(401)

    @app.get("/boom")
    def boom() -> Any:
        raise RuntimeError("the view broke")

    @app.errorhandler(500)
    def crashed(exc: Exception) -> Any:
        user = current_user.name if current_user.is_authenticated else "anonymous"
        return render_template_string(CRASH_PAGE, user=user), 500


class Person(BaseModel):
    name: StrictStr = Field(min_length=1)
    age: StrictInt = Field(ge=0)


def legacy_helper() -> None:
    """Legacy code a port calls: it aborts as the view did."""
    abort(409, description="the legacy helper says no")


def make_port(flask_app: Flask, *, registry: Path | str | None = None) -> FastAPI:
    legacy = Legacy(flask_app, registry=registry)
    app = FastAPI()
    legacy.install(app)
    Context = Annotated[LegacyContext, Depends(legacy.context)]

    @app.get("/pages/{name}")
    def page(name: str) -> Any:
        if name != "about":
            raise HTTPException(404)
        return "about us"

    @app.get("/api/items/{item_id}", response_class=FlaskJSONResponse)
    def item(item_id: int) -> Any:
        if item_id > 10:
            raise HTTPException(410, detail=f"item {item_id} is gone")
        return FlaskJSONResponse({"id": item_id})

    @app.post("/api/people", status_code=201)
    @body_errors(PERSON_ERRORS)
    def api_people(person: Person) -> Any:
        return FlaskJSONResponse(person, status_code=201)

    @app.post("/people", status_code=201)
    @body_errors(PERSON_ERRORS)
    def people(person: Person) -> Any:
        return FlaskJSONResponse(person, status_code=201)

    @app.post("/plain")
    def plain(person: Person) -> Any:
        return FlaskJSONResponse(person)

    @app.get("/conflict")
    def conflict(ctx: Context) -> Any:
        with ctx:
            legacy_helper()

    @app.get("/conflict-outside")
    def conflict_outside() -> Any:
        legacy_helper()

    @app.get("/unauthorized")
    def unauthorized() -> Any:
        raise StarletteHTTPException(
            401, headers={"WWW-Authenticate": 'Bearer realm="api"', "X-Reason": "no token"}
        )

    @app.get("/boom")
    def boom() -> Any:
        raise RuntimeError("the port broke")

    @app.get("/boom-inside")
    def boom_inside(ctx: Context) -> Any:
        with ctx:
            g.seen = True
            raise RuntimeError("the port broke inside")

    return app


@pytest.fixture
def flask_app() -> Flask:
    app = create_app()
    add_legacy_views(app)
    return app


@pytest.fixture
def legacy(flask_app: Flask) -> FlaskClient:
    return FlaskClient(flask_app)


@pytest.fixture
def port(flask_app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> PortClient:
    # no registry: ./migration_status.yaml of the working directory would be read
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MIGRATION_STATUS", raising=False)
    monkeypatch.delenv("ROUTESHIFT_REGISTRY", raising=False)
    return PortClient(make_port(flask_app), raise_app_exceptions=False)


def logged_in_with_a_flash(flask_app: Flask) -> dict[str, str]:
    """A session cookie of Ann, logged in on legacy, with 'welcome back' flashed."""
    answer = FlaskClient(flask_app).post("/login", data={"id": "1"})
    assert answer.status == 200
    return {"session": answer.cookies()["session"].value}


def test_a_404_is_the_app_wide_page_with_the_user_the_locale_and_the_flashes(
    flask_app: Flask, legacy: FlaskClient, port: PortClient
) -> None:
    cookies = logged_in_with_a_flash(flask_app)
    headers = {"X-Locale": "de"}
    expected = legacy.get("/pages/missing", cookies=cookies, headers=headers)
    answer = Answer.of(port.get("/pages/missing", cookies=cookies, headers=headers))
    assert b"user=Ann locale=de" in expected.body
    assert b"<p class=flash>welcome back</p>" in expected.body
    same(expected, answer)
    # the flash was consumed on the port as in Flask: the next page has none
    after = {"session": answer.cookies()["session"].value}
    again = Answer.of(port.get("/pages/missing", cookies=after))
    assert b"flash" not in again.body and b"user=Ann" in again.body


def test_an_unknown_path_is_the_legacy_404_too(legacy: FlaskClient, port: PortClient) -> None:
    same(legacy.get("/nowhere"), Answer.of(port.get("/nowhere")))


def test_a_410_under_api_is_the_blueprint_s_json(legacy: FlaskClient, port: PortClient) -> None:
    expected = legacy.get("/api/items/11")
    answer = Answer.of(port.get("/api/items/11"))
    assert expected.body == b'{"code":410,"error":"Gone","message":"item 11 is gone"}\n'
    same(expected, answer)


def test_the_headers_of_a_starlette_http_exception_are_kept(
    legacy: FlaskClient, port: PortClient
) -> None:
    expected = legacy.get("/unauthorized")
    answer = Answer.of(port.get("/unauthorized"))
    assert (answer.status, answer.body) == (expected.status, expected.body)
    assert answer.header("www-authenticate") == 'Bearer realm="api"'
    assert answer.header("x-reason") == "no token"
    assert answer.header("x-legacy-hook") == "ran"


@pytest.mark.parametrize("path", ["/conflict", "/conflict-outside"])
def test_a_werkzeug_abort_in_legacy_code_answers_as_legacy(
    legacy: FlaskClient, port: PortClient, path: str
) -> None:
    expected = legacy.get("/conflict")
    assert b"the legacy helper says no" in expected.body
    same(expected, Answer.of(port.get(path)))


BODIES = [
    pytest.param({"json": []}, id="a-list"),
    pytest.param({"json": {}}, id="empty-object"),
    pytest.param({"json": None}, id="null"),
    pytest.param({"json": "text"}, id="a-string"),
    pytest.param({"content": b"", "headers": {"Content-Type": "application/json"}}, id="empty"),
    pytest.param({"content": b"{", "headers": {"Content-Type": "application/json"}}, id="bad"),
    pytest.param({"data": {"name": "Ann", "age": "3"}}, id="a-form"),
    # a valid JSON body Flask does not read as JSON: no Content-Type, or another one
    pytest.param({"content": b'{"name": "Ann", "age": 3}'}, id="json-without-content-type"),
    pytest.param(
        {"content": b'{"name": "Ann", "age": 3}', "headers": {"Content-Type": "text/plain"}},
        id="json-as-text",
    ),
    pytest.param(
        {
            "content": b'{"name": "Ann", "age": 3}',
            "headers": {"Content-Type": "application/x+json"},
        },
        id="json-suffix",
    ),
    pytest.param({"json": {"age": 3}}, id="name-missing"),
    pytest.param({"json": {"name": 3, "age": 3}}, id="name-not-text"),
    pytest.param({"json": {"name": "", "age": 3}}, id="name-blank"),
    pytest.param({"json": {"name": 3, "age": -1}}, id="both-bad-name-first"),
    pytest.param({"json": {"name": "Ann"}}, id="age-missing"),
    pytest.param({"json": {"name": "Ann", "age": "3"}}, id="age-a-string"),
    pytest.param({"json": {"name": "Ann", "age": -1}}, id="age-negative"),
    pytest.param({"json": {"name": "Ann", "age": 3}}, id="valid"),
]


@pytest.mark.parametrize("path", ["/api/people", "/people"])
@pytest.mark.parametrize("request_kwargs", BODIES)
def test_validation_errors_answer_the_view_s_abort_400_texts(
    legacy: FlaskClient, port: PortClient, path: str, request_kwargs: dict[str, Any]
) -> None:
    kwargs = dict(request_kwargs)
    if "content" in kwargs:
        kwargs["data"] = kwargs.pop("content")  # werkzeug's name for raw bytes
    expected = legacy.post(path, **kwargs)
    answer = Answer.of(port.post(path, **request_kwargs))
    if expected.status == 201:  # valid: the port's own answer (no hooks ran)
        assert (answer.status, answer.body) == (201, expected.body)
    else:
        same(expected, answer)


def test_without_the_marker_a_validation_error_is_a_plain_bad_request(
    legacy: FlaskClient, port: PortClient
) -> None:
    expected = legacy.post("/plain", json={"name": 1})
    assert b"The browser (or proxy) sent a request" in expected.body
    same(expected, Answer.of(port.post("/plain", json={"name": 1})))


def with_entry(app: Any, entry: Entry) -> Any:
    """The modern app as the gateway calls it: the route's entry in the scope's state."""

    async def gateway(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            scope = {**scope, "state": {**scope.get("state", {}), "routeshift_route": entry}}
        await app(scope, receive, send)

    return gateway


def entry(endpoint: str, rule: str, method: str, error_format: str) -> Entry:
    return Entry.model_validate(
        {
            "endpoint": endpoint,
            "rule": rule,
            "methods": [method],
            "state": "modern",
            "error_format": error_format,
        }
    )


def test_error_format_fastapi_from_the_gateway_keeps_fastapi_s_answers(
    flask_app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    app = make_port(flask_app)
    fastapi = PortClient(with_entry(app, entry("page", "/pages/<name>", "GET", "fastapi")))
    answer = fastapi.get("/pages/missing")
    assert (answer.status_code, answer.json()) == (404, {"detail": "Not Found"})
    assert "x-legacy-hook" not in answer.headers
    people = PortClient(with_entry(app, entry("people", "/people", "POST", "fastapi")))
    invalid = people.post("/people", json={"name": "Ann"})
    assert invalid.status_code == 422
    assert invalid.json()["detail"][0]["loc"] == ["body", "age"]
    conflict = PortClient(with_entry(app, entry("conflict", "/conflict", "GET", "fastapi")))
    refused = conflict.get("/conflict")
    assert (refused.status_code, refused.json()) == (409, {"detail": "the legacy helper says no"})
    # the gateway's legacy entry is the envelope
    legacy_entry = entry("page", "/pages/<name>", "GET", "legacy")
    answer = PortClient(with_entry(app, legacy_entry)).get("/pages/missing")
    assert answer.status_code == 404 and b"<h1>Not here</h1>" in answer.content


def write_registry(folder: Path, routes: str) -> Path:
    path = folder / "migration_status.yaml"
    head = (
        "legacy_app: fixture_apps.crossing_flask:app\n"
        "modern_app: fixture_apps.crossing_fastapi:app\n"
        "routes:\n"
    )
    path.write_text(head + textwrap.indent(textwrap.dedent(routes), "  "))
    return path


FASTAPI_PAGE = """\
- endpoint: page
  rule: /pages/<name>
  methods: [GET]
  state: modern
  error_format: fastapi
- endpoint: people
  rule: /people
  methods: [POST]
  state: legacy
"""


def test_error_format_fastapi_from_the_registry_file_when_the_modern_app_runs_alone(
    flask_app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    registry = write_registry(tmp_path, FASTAPI_PAGE)
    port = PortClient(make_port(flask_app, registry=registry))
    answer = port.get("/pages/missing")
    assert (answer.status_code, answer.json()) == (404, {"detail": "Not Found"})
    # a route the registry lists as legacy (the default format) keeps the envelope
    answer = port.post("/people", json=[])
    assert answer.status_code == 400 and NOT_JSON.encode() in answer.content
    # MIGRATION_STATUS names the file when Legacy() is given none
    monkeypatch.setenv("MIGRATION_STATUS", str(registry))
    answer = PortClient(make_port(flask_app)).get("/pages/missing")
    assert (answer.status_code, answer.json()) == (404, {"detail": "Not Found"})


def test_an_endpoint_with_two_rules_takes_the_format_of_the_rule_that_matched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    flask_app = create_app()
    add_legacy_views(flask_app)
    flask_app.add_url_rule("/about/<name>", endpoint="page", methods=["GET"])
    registry = write_registry(
        tmp_path,
        """\
        - endpoint: page
          rule: /about/<name>
          methods: [GET]
          state: modern
        - endpoint: page
          rule: /pages/<name>
          methods: [GET]
          state: modern
          error_format: fastapi
        """,
    )
    app = make_port(flask_app, registry=registry)

    @app.get("/about/{name}")
    def about(name: str) -> Any:
        raise HTTPException(404)

    port = PortClient(app)
    assert port.get("/pages/x").json() == {"detail": "Not Found"}
    assert b"<h1>Not here</h1>" in port.get("/about/x").content


def test_an_invalid_registry_file_is_the_legacy_format_and_a_warning(
    flask_app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    monkeypatch.chdir(tmp_path)
    registry = tmp_path / "migration_status.yaml"
    registry.write_text("legacy_app: x:app\nroutes: [{endpoint: page}]\n")
    answer = PortClient(make_port(flask_app, registry=registry)).get("/pages/missing")
    assert answer.status_code == 404 and b"<h1>Not here</h1>" in answer.content
    assert "error formats are legacy until it is fixed" in caplog.text


def test_with_no_registry_at_all_the_format_is_legacy(
    legacy: FlaskClient, port: PortClient
) -> None:
    same(legacy.get("/pages/missing"), Answer.of(port.get("/pages/missing")))


@pytest.mark.parametrize("path", ["/boom", "/boom-inside"])
def test_an_unhandled_exception_is_the_legacy_app_s_500_page(
    flask_app: Flask, legacy: FlaskClient, port: PortClient, path: str
) -> None:
    """Starlette's ServerErrorMiddleware sends the handler's answer, then raises the
    exception again for the server to log (hence raise_app_exceptions=False)."""
    cookies = logged_in_with_a_flash(flask_app)
    headers = {"X-Locale": "fr"}
    expected = legacy.get("/boom", cookies=cookies, headers=headers)
    assert expected.status == 500 and b"user=Ann locale=fr" in expected.body
    same(expected, Answer.of(port.get(path, cookies=cookies, headers=headers)))


def test_the_exception_is_logged_by_the_legacy_app_as_flask_logs_a_view_s(
    flask_app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    """As a Flask server's request: the app's handle_exception logs it with its
    traceback and the server sees an answered request (the connection is kept)."""
    client = PortClient(make_port(flask_app), raise_app_exceptions=True)
    with caplog.at_level("ERROR"):
        assert client.get("/boom").status_code == 500
    (logged,) = [r for r in caplog.records if r.exc_info and r.exc_info[0] is RuntimeError]
    assert logged.getMessage() == "Exception on /boom [GET]"
    assert str(logged.exc_info[1]) == "the port broke"


def test_under_error_format_fastapi_the_exception_reaches_the_server(
    flask_app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    app = with_entry(make_port(flask_app), entry("boom", "/boom", "GET", "fastapi"))
    with pytest.raises(RuntimeError, match="the port broke"):
        PortClient(app, raise_app_exceptions=True).get("/boom")
    answer = PortClient(app, raise_app_exceptions=False).get("/boom")
    assert (answer.status_code, answer.text) == (500, "Internal Server Error")


def test_an_app_s_handler_for_the_exception_class_answers_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Flask gives an exception to the app's handler for its class before the 500 one."""
    monkeypatch.chdir(tmp_path)
    flask_app = create_app()
    add_legacy_views(flask_app)
    flask_app.register_error_handler(RuntimeError, lambda exc: (f"handled: {exc}", 503))
    expected = FlaskClient(flask_app).get("/boom")
    assert (expected.status, expected.body) == (503, b"handled: the view broke")
    answer = PortClient(make_port(flask_app), raise_app_exceptions=False).get("/boom")
    assert (answer.status_code, answer.text) == (503, "handled: the port broke")


@pytest.mark.parametrize("path", ["/api/items/abc", "/api/items/1.5", "/api/items/%C3%BC"])
def test_a_path_parameter_fastapi_cannot_convert_is_flask_s_404(
    legacy: FlaskClient, port: PortClient, path: str
) -> None:
    """werkzeug's converter does not match such a path: the legacy app answers 404 (its
    app-wide page: no rule, so no blueprint), not a 400."""
    expected = legacy.get(path)
    assert expected.status == 404 and b"<h1>Not here</h1>" in expected.body
    same(expected, Answer.of(port.get(path)))
