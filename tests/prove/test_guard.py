"""A port that forgets the legacy view's guard fails its contract, whatever is accepted.

The legacy views here are guarded by functools.wraps decorators, as Flask-Login's and
Flask-HTTPAuth's `login_required` are: a token check that answers 401, a role check that
answers 403, a login check that redirects to the login page. Each port comes with its
guard, or without it (the slip "unguarded"), where it answers 200 to anyone.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import write_registry
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from flask import Flask, jsonify, redirect, request, url_for

from routeshift.apps.pair import load_apps
from routeshift.compare import GUARD, GuardBreach, Reply, compare, guard_breach
from routeshift.errors import RegistryError
from routeshift.prove.cases import Case, case
from routeshift.prove.harness import Harness
from routeshift.registry.load import load_registry, parse_registry

TOKEN = {"Authorization": "Bearer good"}
ADMIN = {"X-Role": "admin"}
LOGGED_IN = {"X-User": "ann"}


def token_required(view: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(view)
    def checked(*args: Any, **kwargs: Any) -> Any:
        if request.headers.get("Authorization") != TOKEN["Authorization"]:
            return jsonify(error="a token is required"), 401, {"WWW-Authenticate": "Bearer"}
        return view(*args, **kwargs)

    return checked


def admin_required(view: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(view)
    def checked(*args: Any, **kwargs: Any) -> Any:
        if request.headers.get("X-Role") != "admin":
            return jsonify(error="admins only"), 403
        return view(*args, **kwargs)

    return checked


def login_required(view: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(view)
    def checked(*args: Any, **kwargs: Any) -> Any:
        if "X-User" not in request.headers:
            return redirect(url_for("login", next=request.path))
        return view(*args, **kwargs)

    return checked


def legacy_app() -> Flask:
    app = Flask(__name__)

    @app.get("/secret")
    @token_required
    def secret() -> Any:
        return jsonify(secret=42)

    @app.get("/admin")
    @admin_required
    def admin() -> Any:
        return jsonify(users=1)

    @app.get("/profile")
    @login_required
    def profile() -> Any:
        return jsonify(name="Ann")

    @app.get("/login")
    def login() -> Any:
        return "log in"

    return app


def modern_app(*slips: str) -> FastAPI:
    app = FastAPI()
    guarded = "unguarded" not in slips

    @app.get("/secret")
    def secret(request: Request) -> Response:
        if guarded and request.headers.get("authorization") != TOKEN["Authorization"]:
            body = {"error": "a token is required"}
            return JSONResponse(body, 401, headers={"WWW-Authenticate": "Bearer"})
        return JSONResponse({"secret": 42})

    @app.get("/admin")
    def admin(request: Request) -> Response:
        if guarded and request.headers.get("x-role") != "admin":
            return JSONResponse({"error": "admins only"}, 403)
        return JSONResponse({"users": 1})

    @app.get("/profile")
    def profile(request: Request) -> Response:
        if guarded and "x-user" not in request.headers:
            return legacy_login_redirect()
        return JSONResponse({"name": "Ann"})

    return app


def legacy_login_redirect() -> Response:
    """Flask's own redirect page for /profile (its body and headers as Flask sends them)."""
    with legacy_app().test_request_context("/profile"):
        page = redirect(url_for("login", next="/profile"))
    return Response(page.get_data(), page.status_code, dict(page.headers))


def route(endpoint: str, rule: str, **extra: Any) -> dict[str, Any]:
    return {"endpoint": endpoint, "rule": rule, "methods": ["GET"], "state": "legacy", **extra}


ROUTES = [route("secret", "/secret"), route("admin", "/admin"), route("profile", "/profile")]

MakeHarness = Callable[..., Harness]


@pytest.fixture
def make_harness(tmp_path: Path) -> Iterator[MakeHarness]:
    made: list[Harness] = []

    def make(*slips: str, routes: list[dict[str, Any]] = ROUTES) -> Harness:
        folder = tmp_path / f"registry-{len(made)}"
        folder.mkdir()
        path = write_registry(
            folder, routes, legacy_app="given_not_imported:app", modern_app="given:app"
        )
        registry = load_registry(path)
        apps = load_apps(registry, legacy_app=legacy_app(), modern_app=modern_app(*slips))
        made.append(Harness(registry, apps))
        return made[-1]

    yield make
    for harness in made:
        harness.close()


REFUSED = [
    pytest.param(case("secret", "GET", "/secret", id="unauthenticated"), "401", id="401"),
    pytest.param(case("admin", "GET", "/admin", id="unauthenticated"), "403", id="403"),
    pytest.param(
        case("profile", "GET", "/profile", id="unauthenticated"),
        "302 to {location}",  # as the legacy app's url_for writes it
        id="redirect-to-login",
    ),
]
ALLOWED = [
    case("secret", "GET", "/secret", headers=TOKEN),
    case("admin", "GET", "/admin", headers=ADMIN),
    case("profile", "GET", "/profile", headers=LOGGED_IN),
]


def test_a_guarded_port_passes_with_and_without_credentials(make_harness: MakeHarness) -> None:
    harness = make_harness()
    refused = [p.values[0] for p in REFUSED]
    results = harness.run_all([*ALLOWED, *refused])
    assert [(r.legacy.status, r.modern.status) for r in results] == [
        (200, 200),
        (200, 200),
        (200, 200),
        (401, 401),
        (403, 403),
        (302, 302),
    ]
    assert all(r.passed and r.breach is None for r in results), [r.report() for r in results]


@pytest.mark.parametrize(("refused", "legacy"), REFUSED)
def test_a_port_without_the_guard_fails_loudly(
    make_harness: MakeHarness, refused: Case, legacy: str
) -> None:
    harness = make_harness("unguarded")
    assert all(r.passed for r in harness.run_all(ALLOWED))  # it answers the good requests
    result = harness.run(refused)
    location = ", ".join(result.legacy.header("location"))
    message = (
        "the port lets through a request the legacy view refused: "
        f"legacy {legacy.format(location=location)}, modern 200 -- the port lacks the view's guard"
    )
    assert not result.passed
    assert result.breach is not None
    first = result.comparison.differences[0]
    assert isinstance(first, GuardBreach) and first.where == GUARD
    assert str(first) == message
    assert result.outcome().differences[0] == message
    assert result.as_dict()["differences"][0]["text"] == message
    report = result.report()
    assert ", one a missing guard" in report.splitlines()[0]
    assert report.splitlines()[1] == f"  {message}"


def test_no_accept_or_ignore_waives_the_breach(make_harness: MakeHarness) -> None:
    """Every other difference declared or ignored: the breach alone still fails."""
    waive_all = {
        "accept": [
            {"what": "status", "legacy": "*", "modern": "*", "why": "anything"},
            {"what": "body", "legacy": "*", "modern": "*", "why": "anything"},
            {"what": "header:www-authenticate", "legacy": "*", "modern": "*", "why": "any"},
        ],
        "ignore": ["", "header:content-type"],
    }
    harness = make_harness("unguarded", routes=[route("secret", "/secret", **waive_all)])
    result = harness.run(case("secret", "GET", "/secret"))
    assert [type(d) for d in result.comparison.differences] == [GuardBreach]
    assert [d.where for d, _ in result.comparison.accepted] == ["status", "header:www-authenticate"]
    assert not result.passed


REGISTRY = (
    "legacy_app: a:app\nmodern_app: b:app\nroutes:\n  - endpoint: secret\n    rule: /secret\n"
    "    methods: [GET]\n    state: legacy\n    accept:\n"
    "      - {what: status, legacy: 401, modern: 200, why: the port is public}\n"
)


@pytest.mark.parametrize(("legacy", "modern"), [(401, 200), (403, 204), (401, 201)])
def test_the_registry_refuses_to_accept_a_refusal_becoming_success(
    legacy: int, modern: int
) -> None:
    text = REGISTRY.replace("legacy: 401, modern: 200", f"legacy: {legacy}, modern: {modern}")
    with pytest.raises(RegistryError) as caught:
        parse_registry(text, Path("migration_status.yaml"))
    (problem,) = caught.value.problems
    assert problem.line == 9
    assert f"status {legacy} may not become {modern}" in problem.message
    assert "lacks the view's guard" in problem.message
    assert "migration_status.yaml:9" in str(caught.value)


@pytest.mark.parametrize(
    ("legacy", "modern"),
    [(401, 403), (403, 404), (302, 200), (400, 200), ("*", 200), (401, "*")],
)
def test_other_status_changes_may_still_be_accepted(legacy: Any, modern: Any) -> None:
    given = f"legacy: {json.dumps(legacy)}, modern: {json.dumps(modern)}"
    text = REGISTRY.replace("legacy: 401, modern: 200", given)
    registry = parse_registry(text, Path("migration_status.yaml"))
    (accepted,) = registry.routes[0].accept
    assert (accepted.legacy, accepted.modern) == (legacy, modern)


def reply(status: int, location: str | None = None) -> Reply:
    headers = (("location", location),) if location is not None else ()
    return Reply(status, headers, b"")


@pytest.mark.parametrize(
    ("legacy", "modern", "path", "breach"),
    [
        pytest.param(reply(401), reply(200), None, True, id="401"),
        pytest.param(reply(403), reply(204), None, True, id="403-no-content"),
        pytest.param(reply(401), reply(403), None, False, id="another-refusal"),
        pytest.param(reply(401), reply(302, "/login"), "/x", False, id="modern-redirects"),
        pytest.param(reply(302, "/login?next=/x"), reply(200), "/x", True, id="to-login"),
        pytest.param(
            reply(303, "http://localhost/login"), reply(200), "/x?y=1", True, id="absolute"
        ),
        pytest.param(reply(302, "login"), reply(200), "/a/x", True, id="relative"),
        pytest.param(reply(302, "/x?page=2"), reply(200), "/x", False, id="same-path"),
        pytest.param(reply(302, "/login"), reply(200), None, False, id="no-path-given"),
        pytest.param(reply(304), reply(200), "/x", False, id="not-modified"),
        pytest.param(reply(404), reply(200), None, False, id="not-found"),
    ],
)
def test_guard_breach(legacy: Reply, modern: Reply, path: str | None, breach: bool) -> None:
    found = guard_breach(legacy, modern, path)
    assert (found is not None) is breach
    in_comparison = compare(legacy, modern, path=path).differences
    assert any(isinstance(d, GuardBreach) for d in in_comparison) is breach
