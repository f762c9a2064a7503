"""routeshift.prove.harness: the in-process differential harness catches a wrong port.

A small Flask app and its FastAPI port are built here, with `slips` that make the port
deliberately wrong one way at a time; the registry is written to tmp_path.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import write_registry
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from flask import Blueprint, Flask, abort, jsonify, request
from werkzeug.exceptions import BadRequest

from routeshift.apps.pair import load_apps
from routeshift.errors import CaseFileError, ContractMismatch
from routeshift.prove.cases import case
from routeshift.prove.harness import ContractClient, Harness
from routeshift.prove.results import CaseResult
from routeshift.registry.load import load_registry

CREATED_AT = datetime(2024, 1, 2, 3, 4, 5)
FLASK_DATE = "Tue, 02 Jan 2024 03:04:05 GMT"

#: Every "app" is sorted into one of these lists by the apps themselves, so a test can
#: see which side served a request and inside which state.
events: list[str] = []


def legacy_app() -> Flask:
    app = Flask(__name__)
    users = Blueprint("users", __name__, url_prefix="/users")

    @users.get("/<int:user_id>")
    def get_user(user_id: int) -> Any:
        events.append("legacy app")
        if user_id != 1:
            abort(404, description=f"User {user_id} not found")
        return jsonify(id=1, name="Ann", created_at=CREATED_AT)

    @users.post("")
    def create_user() -> Any:
        events.append("legacy app")
        data = request.get_json(silent=True)
        age = data.get("age") if isinstance(data, dict) else None
        if not isinstance(age, int) or age < 0:
            abort(400, description="age must be a positive integer")
        response = jsonify(id=7, name=data["name"], age=age)
        response.status_code = 201
        response.headers["Location"] = "/users/7"
        response.headers["Cache-Control"] = "no-store"
        return response

    app.register_blueprint(users)

    @app.get("/items")
    def items() -> Any:
        events.append("legacy app")
        return jsonify(items=[{"id": n, "token": secrets.token_hex(8)} for n in (1, 2)])

    return app


def modern_app(*slips: str) -> FastAPI:
    """The port; each slip makes it wrong in one way (or answer FastAPI's 422)."""
    app = FastAPI()

    @app.get("/users/{user_id}")
    def get_user(user_id: int) -> Response:
        events.append("modern app")
        name = "full_name" if "renamed-field" in slips else "name"
        created = CREATED_AT.isoformat() if "iso-date" in slips else FLASK_DATE
        return JSONResponse({"id": 1, name: "Ann", "created_at": created})

    @app.post("/users")
    async def create_user(request: Request) -> Response:
        events.append("modern app")
        data = await request.json()
        if not isinstance(data.get("age"), int) or data["age"] < 0:
            if "fastapi-errors" in slips:
                detail = [{"loc": ["body", "age"], "msg": "Input should be >= 0"}]
                return JSONResponse({"detail": detail}, status_code=422)
            if "conflict" in slips:
                return JSONResponse({"detail": "taken"}, status_code=409)
            page = BadRequest(description="age must be a positive integer")
            return Response(page.get_body(), 400, dict(page.get_headers()))
        headers = {"Location": "/users/7", "Cache-Control": "no-store"}
        if "no-location" in slips:
            del headers["Location"]
        if "no-cache-control" in slips:
            del headers["Cache-Control"]
        status = 200 if "status-200" in slips else 201
        body = {"id": 7, "name": data["name"], "age": data["age"]}
        return JSONResponse(body, status_code=status, headers=headers)

    @app.get("/items")
    def items() -> Response:
        events.append("modern app")
        return JSONResponse({"items": [{"id": 1, "token": "abc"}, {"id": 2, "token": "def"}]})

    return app


def route(endpoint: str, rule: str, method: str, **extra: Any) -> dict[str, Any]:
    return {"endpoint": endpoint, "rule": rule, "methods": [method], "state": "legacy", **extra}


GET_USER = route("users.get_user", "/users/<int:user_id>", "GET")
CREATE_USER = route("users.create_user", "/users", "POST")
ITEMS = route("items", "/items", "GET")

MakeHarness = Callable[..., Harness]


@pytest.fixture
def make_harness(tmp_path: Path) -> Iterator[MakeHarness]:
    """make_harness(*slips, routes=[...]): the harness over legacy_app() and the port."""
    made: list[Harness] = []
    events.clear()

    def make(
        *slips: str, routes: list[dict[str, Any]] | None = None, find_noise: bool = True
    ) -> Harness:
        folder = tmp_path / f"registry-{len(made)}"
        folder.mkdir()
        path = write_registry(
            folder,
            routes if routes is not None else [GET_USER, CREATE_USER, ITEMS],
            legacy_app="given_not_imported:app",
            modern_app="given_not_imported:app",
        )
        registry = load_registry(path)
        apps = load_apps(registry, legacy_app=legacy_app(), modern_app=modern_app(*slips))
        made.append(Harness(registry, apps, find_noise=find_noise))
        return made[-1]

    yield make
    for harness in made:
        harness.close()


def messages(result: CaseResult) -> list[str]:
    return [str(difference) for difference in result.comparison.differences]


GET_ANN = case("users.get_user", "GET", "/users/1")
CREATE_ANN = case("users.create_user", "POST", "/users", json={"name": "Ann", "age": 30})
BAD_AGE = case("users.create_user", "POST", "/users", json={"name": "Ann", "age": -1})


# --- a faithful port passes ------------------------------------------------------------


def test_faithful_port_passes_every_case(make_harness: MakeHarness) -> None:
    harness = make_harness()
    results = harness.run_all([GET_ANN, CREATE_ANN, BAD_AGE])
    assert [messages(r) for r in results] == [[], [], []]
    assert [(r.legacy.status, r.modern.status) for r in results] == [
        (200, 200),
        (201, 201),
        (400, 400),
    ]
    assert all(r.passed and not r.noise and not r.comparison.accepted for r in results)


# --- each slip is caught, with a message that says where and what -----------------------


@pytest.mark.parametrize(
    ("slip", "checked", "expected"),
    [
        pytest.param(
            "renamed-field",
            GET_ANN,
            [
                '/name: legacy "Ann" != modern (missing)',
                '/full_name: legacy (missing) != modern "Ann"',
            ],
            id="renamed-field",
        ),
        pytest.param("status-200", CREATE_ANN, ["status: legacy 201 != modern 200"], id="status"),
        pytest.param(
            "no-location",
            CREATE_ANN,
            ['header:location: legacy "/users/7" != modern (missing)'],
            id="missing-location",
        ),
        pytest.param(
            "no-cache-control",
            CREATE_ANN,
            ['header:cache-control: legacy "no-store" != modern (missing)'],
            id="missing-cache-control",
        ),
        pytest.param(
            "iso-date",
            GET_ANN,
            [f'/created_at: legacy "{FLASK_DATE}" != modern "2024-01-02T03:04:05"'],
            id="date-format",
        ),
    ],
)
def test_wrong_port_is_caught(
    make_harness: MakeHarness, slip: str, checked: Any, expected: list[str]
) -> None:
    result = make_harness(slip).run(checked)
    assert not result.passed
    assert messages(result) == expected
    for line in expected:
        assert line in result.report()


def test_date_in_another_format_passes_with_the_dates_normaliser(
    make_harness: MakeHarness,
) -> None:
    harness = make_harness("iso-date", routes=[dict(GET_USER, normalise=["dates"])])
    result = harness.run(GET_ANN)
    assert result.passed, result.report()


def test_dates_normaliser_still_catches_another_field(make_harness: MakeHarness) -> None:
    harness = make_harness(
        "iso-date", "renamed-field", routes=[dict(GET_USER, normalise=["dates"])]
    )
    assert messages(harness.run(GET_ANN)) == [
        '/name: legacy "Ann" != modern (missing)',
        '/full_name: legacy (missing) != modern "Ann"',
    ]


# --- noise: what differs between two legacy runs ---------------------------------------


def test_random_legacy_field_is_noise_not_a_mismatch(make_harness: MakeHarness) -> None:
    result = make_harness().run(case("items", "GET", "/items"))
    assert result.passed, result.report()
    assert [d.where for d in result.noise] == ["/items/0/token", "/items/1/token"]
    assert result.suggested_ignore == ("/items/*/token",)
    assert "ignore: [/items/*/token]" in result.report()
    assert result.comparison.differences == ()


def test_noise_already_ignored_is_not_reported_again(make_harness: MakeHarness) -> None:
    harness = make_harness(routes=[dict(ITEMS, ignore=["/items/*/token"])])
    result = harness.run(case("items", "GET", "/items"))
    assert result.passed
    assert result.noise == ()
    assert result.suggested_ignore == ()
    assert "noise" not in result.report()


def test_noise_is_only_looked_for_on_safe_methods(make_harness: MakeHarness) -> None:
    harness = make_harness()
    harness.run(CREATE_ANN)
    assert events == ["legacy app", "modern app"]


# --- declared changes --------------------------------------------------------------------

FASTAPI_ERRORS: list[dict[str, Any]] = [
    {
        "what": "status",
        "legacy": 400,
        "modern": 422,
        "why": "FastAPI validation errors",
    },
    {
        "what": "header:content-type",
        "legacy": "text/html; charset=utf-8",
        "modern": "application/json",
        "why": "JSON errors",
    },
    {"what": "body", "legacy": "*", "modern": "*", "why": "FastAPI's detail list"},
]


def test_declared_changes_pass_and_are_listed(make_harness: MakeHarness) -> None:
    routes = [dict(CREATE_USER, accept=FASTAPI_ERRORS, error_format="fastapi")]
    result = make_harness("fastapi-errors", routes=routes).run(BAD_AGE)
    assert result.passed, result.report()
    assert [(d.where, a.what) for d, a in result.comparison.accepted] == [
        ("status", "status"),
        ("header:content-type", "header:content-type"),
        ("body", "body"),
    ]
    report = result.report()
    assert "declared changes" in report
    assert "status: legacy 400 != modern 422 -- FastAPI validation errors" in report


def test_declared_change_does_not_cover_another_value(make_harness: MakeHarness) -> None:
    routes = [dict(CREATE_USER, accept=FASTAPI_ERRORS)]
    result = make_harness("conflict", routes=routes).run(BAD_AGE)
    assert messages(result) == ["status: legacy 400 != modern 409"]
    assert [d.where for d, _ in result.comparison.accepted] == ["header:content-type", "body"]


def test_only_the_declared_changes_pass(make_harness: MakeHarness) -> None:
    routes = [dict(CREATE_USER, accept=FASTAPI_ERRORS[:1])]
    result = make_harness("fastapi-errors", routes=routes).run(BAD_AGE)
    assert [d.where for d in result.comparison.differences] == ["header:content-type", "body"]
    assert [d.where for d, _ in result.comparison.accepted] == ["status"]


def test_declared_changes_belong_to_their_route(make_harness: MakeHarness) -> None:
    accept = [{"what": "status", "legacy": 201, "modern": 200, "why": "on another route"}]
    routes = [GET_USER, dict(ITEMS, accept=accept), CREATE_USER]
    result = make_harness("status-200", routes=routes).run(CREATE_ANN)
    assert messages(result) == ["status: legacy 201 != modern 200"]


def test_case_ignore_adds_to_the_routes(make_harness: MakeHarness) -> None:
    harness = make_harness("renamed-field")
    checked = case("users.get_user", "GET", "/users/1", ignore=["/name", "/full_name"])
    assert harness.run(checked).passed


def test_rules_come_from_the_entry_of_the_cases_rule(tmp_path: Path) -> None:
    legacy = Flask(__name__)

    @legacy.get("/pair", endpoint="pair")
    @legacy.get("/pair/<int:n>", endpoint="pair")
    def pair(n: int = 0) -> Any:
        return jsonify(n=n, first=1, second=2)

    modern = FastAPI()

    @modern.get("/pair")
    def pair_plain() -> Response:
        return JSONResponse({"n": 0, "first": "changed", "second": 2})

    @modern.get("/pair/{n}")
    def pair_n(n: int) -> Response:
        return JSONResponse({"n": n, "first": 1, "second": "changed"})

    routes = [
        route("pair", "/pair", "GET", ignore=["/first"]),
        route("pair", "/pair/<int:n>", "GET", ignore=["/second"]),
    ]
    registry = load_registry(
        write_registry(tmp_path, routes, legacy_app="given:app", modern_app="given:app")
    )
    harness = Harness(registry, load_apps(registry, legacy_app=legacy, modern_app=modern))
    try:
        second = case("pair", "GET", "/pair/3", query={"x": "1"})
        assert harness.entry_for(second) is registry.routes[1]
        assert harness.run(second).passed
        assert harness.entry_for(case("pair", "HEAD", "/pair/3")) is registry.routes[1]
        assert harness.entry_for(case("pair", "GET", "/pair")) is registry.routes[0]
        assert harness.run(case("pair", "GET", "/pair")).passed
        # a path legacy has no rule for: the endpoint's first entry, as before
        assert harness.entry_for(case("pair", "GET", "/nowhere")) is registry.routes[0]
    finally:
        harness.close()


# --- the state hook ----------------------------------------------------------------------


@contextmanager
def recorded(side: str) -> Iterator[None]:
    events.append(f"enter {side}")
    yield
    events.append(f"exit {side}")


def test_state_hook_wraps_each_request_of_each_side(make_harness: MakeHarness) -> None:
    make_harness().run(CREATE_ANN, recorded)
    assert events == [
        "enter legacy",
        "legacy app",
        "exit legacy",
        "enter modern",
        "modern app",
        "exit modern",
    ]


def test_state_hook_wraps_the_second_legacy_run_of_a_safe_request(
    make_harness: MakeHarness,
) -> None:
    make_harness().run(GET_ANN, recorded)
    sides = [event.split()[1] for event in events if event.startswith("enter")]
    assert sides == ["legacy", "legacy", "modern"]
    assert events.count("legacy app") == 2 and events.count("modern app") == 1


def test_state_hook_once_per_side_without_noise_detection(make_harness: MakeHarness) -> None:
    calls: list[str] = []

    @contextmanager
    def hook(side: str) -> Iterator[None]:
        calls.append(side)
        yield

    harness = make_harness(find_noise=False)
    harness.run(GET_ANN, hook)
    harness.run(CREATE_ANN, hook)
    assert calls == ["legacy", "modern", "legacy", "modern"]


# --- ContractClient ------------------------------------------------------------------------


def test_check_finds_the_endpoint_from_the_legacy_map(make_harness: MakeHarness) -> None:
    # the dates normaliser of users.get_user makes this port pass: only if the entry is found
    harness = make_harness("iso-date", routes=[dict(GET_USER, normalise=["dates"])])
    client = ContractClient(harness)
    result = client.check("GET", "/users/1")
    assert result.case.endpoint == "users.get_user"
    assert client.check("POST", "/users", json={"name": "Ann", "age": 3}).case.endpoint == (
        "users.create_user"
    )
    assert [r.case.endpoint for r in client.results] == ["users.get_user", "users.create_user"]


def test_check_raises_with_the_report(make_harness: MakeHarness) -> None:
    client = ContractClient(make_harness("iso-date"))
    with pytest.raises(ContractMismatch) as caught:
        client.check("GET", "/users/1")
    assert f'/created_at: legacy "{FLASK_DATE}" != modern "2024-01-02T03:04:05"' in str(
        caught.value
    )
    assert caught.value.result.case.endpoint == "users.get_user"


@pytest.mark.parametrize(
    ("method", "path", "endpoint"),
    [
        pytest.param("GET", "/users/1?verbose=1", "users.get_user", id="query-string"),
        pytest.param("HEAD", "/users/1", "users.get_user", id="head-is-get"),
        pytest.param("GET", "/users/abc", "unmatched", id="converter-refuses"),
        pytest.param("DELETE", "/users/1", "unmatched", id="method-not-allowed"),
        pytest.param("GET", "/nowhere", "unmatched", id="no-rule"),
    ],
)
def test_check_names_the_endpoint_legacy_routes_to(
    make_harness: MakeHarness, method: str, path: str, endpoint: str
) -> None:
    client = ContractClient(make_harness())
    try:
        result = client.check(method, path)
    except ContractMismatch as exc:  # FastAPI's JSON 404/405/422 against werkzeug's page
        result = exc.result
    assert result.case.endpoint == endpoint
    assert client.results == [result]


def test_replies_are_kept_for_the_report(make_harness: MakeHarness) -> None:
    result = make_harness().run(CREATE_ANN)
    assert result.legacy.header("location") == ["/users/7"] == result.modern.header("location")
    data = result.as_dict()
    assert data["id"] == "users.create_user::POST /users"
    assert data["passed"] is True
    assert data["status"] == {"legacy": 201, "modern": 201}


# --- answered as the gateway answers ----------------------------------------------------


def test_a_head_case_is_served_as_the_gateway_serves_it(make_harness: MakeHarness) -> None:
    """The port has no HEAD route: the gateway serves the HEAD as a GET without its body,
    so the contract does too (it answered 405 with `Allow: GET` before)."""
    result = make_harness().run(case("users.get_user", "HEAD", "/users/1"))
    assert (result.legacy.status, result.modern.status) == (200, 200)
    assert result.modern.body == b""
    assert messages(result) == []


def test_an_options_case_merges_both_sides_methods(make_harness: MakeHarness) -> None:
    result = make_harness().run(case("users.get_user", "OPTIONS", "/users/1"))
    assert messages(result) == []
    assert dict(result.modern.headers)["allow"] == dict(result.legacy.headers)["allow"]


@pytest.mark.parametrize(
    ("method", "path", "reaches"),
    [
        pytest.param("GET", "/users/abc", "no route (404)", id="converter-refuses"),
        pytest.param("GET", "/items", "endpoint 'items'", id="another-endpoint"),
        pytest.param("DELETE", "/users/1", "no route for DELETE (405", id="method-not-served"),
    ],
)
def test_a_case_the_gateway_would_not_send_to_its_endpoint_is_a_case_file_error(
    make_harness: MakeHarness, method: str, path: str, reaches: str
) -> None:
    harness = make_harness()
    misrouted = case("users.get_user", method, path, id="odd")
    misrouted = dataclasses.replace(misrouted, file="tests/contracts/users.get_user.yaml", line=7)
    with pytest.raises(CaseFileError) as raised:
        harness.run(misrouted)
    (problem,) = raised.value.problems
    assert (problem.file, problem.line) == ("tests/contracts/users.get_user.yaml", 7)
    assert f"{method} {path} is not a request of users.get_user" in problem.message
    assert reaches in problem.message
    assert events == []  # neither side was asked: nothing to compare
    # the client keeps it apart, and the other cases still run
    client = ContractClient(harness)
    with pytest.raises(CaseFileError):
        client.run(misrouted)
    assert client.run(GET_ANN).passed
    assert [m.case.id for m in client.misrouted] == ["odd"]
    assert client.misrouted[0].outcome().passed is False


# --- what a side raised is shown ----------------------------------------------------------


def raising_legacy() -> Flask:
    app = Flask(__name__)
    users = Blueprint("users", __name__, url_prefix="/users")

    @users.get("/<int:user_id>")
    def get_user(user_id: int) -> Any:
        raise LookupError(f"no shard for user {user_id}")

    app.register_blueprint(users)
    return app


def raising_modern() -> FastAPI:
    app = FastAPI()

    @app.get("/users/{user_id}")
    def get_user(user_id: int) -> Any:
        return undefined_name  # type: ignore[name-defined]  # noqa: F821  # the slip

    return app


@pytest.fixture
def raising(tmp_path: Path) -> Iterator[Callable[[Flask, FastAPI], Harness]]:
    made: list[Harness] = []

    def make(legacy: Flask, modern: FastAPI) -> Harness:
        path = write_registry(tmp_path, [GET_USER], legacy_app="x:app", modern_app="x:app")
        registry = load_registry(path)
        apps = load_apps(registry, legacy_app=legacy, modern_app=modern)
        made.append(Harness(registry, apps))
        return made[-1]

    yield make
    for harness in made:
        harness.close()


def test_a_port_that_raises_is_shown_with_its_exception_and_frames(
    raising: Callable[[Flask, FastAPI], Harness],
) -> None:
    result = raising(legacy_app(), raising_modern()).run(GET_ANN)
    assert not result.passed
    assert result.modern_raised is not None and result.legacy_raised is None
    assert result.modern_raised.type == "NameError"
    assert "undefined_name" in result.modern_raised.message
    assert result.modern_raised.frames[-1].startswith(f"{__file__}:")
    assert "return undefined_name" in result.modern_raised.frames[-1]
    report = result.report()
    assert "the modern app raised NameError: name 'undefined_name' is not defined" in report
    assert f"  at {__file__}:" in report
    assert result.as_dict()["raised"]["modern"]["type"] == "NameError"
    assert "the modern app raised NameError" in result.outcome().differences[-1]


def test_a_view_that_raises_is_shown_by_flasks_own_signal(
    raising: Callable[[Flask, FastAPI], Harness],
) -> None:
    result = raising(raising_legacy(), modern_app()).run(GET_ANN)
    assert result.legacy.status == 500
    assert result.legacy_raised is not None
    assert result.legacy_raised.headline == "LookupError: no shard for user 1"
    assert "the legacy app raised LookupError: no shard for user 1" in result.report()


def test_the_same_exception_on_both_sides_still_fails(
    raising: Callable[[Flask, FastAPI], Harness],
) -> None:
    """Equal 500 pages prove nothing: a port that raises is an error, as in shadow."""
    result = raising(raising_legacy(), raising_modern()).run(GET_ANN)
    assert (result.legacy.status, result.modern.status) == (500, 500)
    assert not result.passed


# --- headers a client acts on, and the session by what it holds --------------------------


def session_legacy() -> Flask:
    app = Flask(__name__)
    app.secret_key = "s3cret"
    users = Blueprint("users", __name__, url_prefix="/users")

    @users.get("/<int:user_id>")
    def get_user(user_id: int) -> Any:
        from flask import session

        session["seen"] = user_id  # touches the session: Flask adds Vary: Cookie
        response = jsonify(id=user_id)
        response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
        return response

    app.register_blueprint(users)
    return app


def session_modern(legacy: Flask, *slips: str) -> FastAPI:
    app = FastAPI()
    serializer = legacy.session_interface.get_signing_serializer(legacy)  # type: ignore[attr-defined]

    @app.get("/users/{user_id}")
    def get_user(user_id: int) -> Response:
        response = JSONResponse({"id": user_id})
        if "no-www-authenticate" not in slips:
            response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
        if "no-vary" not in slips:
            response.headers["Vary"] = "Cookie"
        seen = user_id + 1 if "other-payload" in slips else user_id
        cookie = serializer.dumps({"seen": seen})
        response.set_cookie("session", cookie, httponly=True, path="/", samesite=None)
        return response

    return app


@pytest.mark.parametrize(
    ("slip", "where"),
    [
        pytest.param(None, None, id="faithful"),
        pytest.param("no-www-authenticate", "header:www-authenticate", id="www-authenticate"),
        pytest.param("no-vary", "header:vary", id="vary-cookie"),
        pytest.param("other-payload", "header:set-cookie:session", id="session-payload"),
    ],
)
def test_headers_and_the_session_cookie_are_compared(
    raising: Callable[[Flask, FastAPI], Harness], slip: str | None, where: str | None
) -> None:
    legacy = session_legacy()
    modern = session_modern(legacy, *([slip] if slip else []))
    result = raising(legacy, modern).run(GET_ANN)
    assert [d.where for d in result.comparison.differences] == ([where] if where else [])
    assert result.noise == ()  # the session's timestamp is not noise: its payload is compared


def test_a_case_never_carries_the_cookies_of_the_case_before(
    raising: Callable[[Flask, FastAPI], Harness],
) -> None:
    """Each case sends its own headers only: a Set-Cookie answered to one case is not
    sent with the next (results never depend on the order of the cases)."""
    legacy = Flask(__name__)
    users = Blueprint("users", __name__, url_prefix="/users")

    @users.get("/<int:user_id>")
    def get_user(user_id: int) -> Any:
        response = jsonify(id=user_id, cookie=request.cookies.get("seen"))
        response.set_cookie("seen", str(user_id))
        return response

    legacy.register_blueprint(users)
    modern = FastAPI()

    @modern.get("/users/{user_id}")
    def modern_user(user_id: int, request: Request) -> Response:
        response = JSONResponse({"id": user_id, "cookie": request.cookies.get("seen")})
        response.set_cookie("seen", str(user_id), samesite=None)
        return response

    harness = raising(legacy, modern)
    first, second = harness.run_all([GET_ANN, case("users.get_user", "GET", "/users/2")])
    assert first.passed and second.passed
    assert b'"cookie":null' in second.legacy.body.replace(b" ", b"")
    assert b'"cookie":null' in second.modern.body.replace(b" ", b"")
