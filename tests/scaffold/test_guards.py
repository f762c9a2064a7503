"""routeshift.scaffold.guards: a decorated legacy view gets an `unauthenticated` case, and
the port that forgets the decorator's check fails it."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import write_registry
from fastapi import FastAPI
from fastapi import Request as ModernRequest
from fastapi.responses import JSONResponse, Response
from flask import Flask, jsonify, request

from routeshift.apps.pair import load_apps
from routeshift.prove.cases import case, load_cases
from routeshift.prove.harness import Harness
from routeshift.registry.load import load_registry
from routeshift.scaffold.guards import (
    decorator_name,
    guard_comment,
    is_guard,
    unauthenticated_case,
    view_guards,
)
from routeshift.scaffold.plan import plan_scaffold, write_files

TOKEN = "Bearer good"


def login_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """flaskr's own decorator, in its shape."""

    @functools.wraps(view)
    def wrapped_view(*args: Any, **kwargs: Any) -> Any:
        if request.headers.get("Authorization") != TOKEN:
            return jsonify(error="log in first"), 401
        return view(*args, **kwargs)

    return wrapped_view


def logged(view: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(view)
    def inner(*args: Any, **kwargs: Any) -> Any:
        return view(*args, **kwargs)

    return inner


class Counted:
    """A decorator object, as functools.update_wrapper makes one."""

    def __init__(self, view: Callable[..., Any]) -> None:
        functools.update_wrapper(self, view)
        self.view = view

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.view(*args, **kwargs)


def view() -> str:
    return "the view"


# --- which decorators guard a view -----------------------------------------------------


def test_an_undecorated_view_has_no_guards() -> None:
    assert view_guards(view) == ()
    assert view_guards(None) == ()


def test_the_guards_are_named_outermost_first() -> None:
    assert view_guards(login_required(view)) == ("login_required",)
    assert decorator_name(logged(view)) == "logged"
    assert decorator_name(Counted(view)) == "Counted"
    assert decorator_name(login_required(view)) == "login_required"


def test_a_decorator_that_checks_no_one_is_no_guard() -> None:
    """APIFlask's @app.output, a logging or counting wrapper: decorated, not guarded."""
    assert view_guards(logged(login_required(view))) == ("login_required",)
    assert view_guards(Counted(view)) == ()
    assert view_guards(logged(view)) == ()
    assert [is_guard(n) for n in ("output", "_ensure_sync", "cached", "roles_accepted")] == [
        False,
        False,
        False,
        True,
    ]


def test_flask_login_and_flask_httpauth_are_named_login_required() -> None:
    flask_login = pytest.importorskip("flask_login")
    flask_httpauth = pytest.importorskip("flask_httpauth")
    auth = flask_httpauth.HTTPTokenAuth(scheme="Bearer")
    assert view_guards(flask_login.login_required(view)) == ("login_required",)
    assert view_guards(auth.login_required(view)) == ("login_required",)
    assert view_guards(auth.login_required(role="admin")(view)) == ("login_required",)


def test_the_unauthenticated_case_drops_the_credentials_and_cookies() -> None:
    first = case(
        "secret",
        "GET",
        "/secret",
        id="sample",
        query={"page": "2"},
        headers={"Authorization": TOKEN, "Cookie": "session=abc", "Accept": "text/html"},
    )
    made = unauthenticated_case(first, {"authorization": TOKEN})
    assert (made.id, made.method, made.path, dict(made.query)) == (
        "unauthenticated",
        "GET",
        "/secret",
        {"page": "2"},
    )
    assert dict(made.headers) == {"Accept": "text/html"}


# --- scaffold writes the case ----------------------------------------------------------

calls: list[dict[str, str]] = []


def legacy_app() -> Flask:
    app = Flask(__name__)

    @app.get("/secret")
    @login_required
    def secret() -> Any:
        calls.append(dict(request.headers))
        return jsonify(secret=42)

    @app.get("/open")
    def public() -> Any:
        return jsonify(open=True)

    return app


def modern_app(guarded: bool) -> FastAPI:
    app = FastAPI()

    @app.get("/secret")
    def secret(request: ModernRequest) -> Response:
        if guarded and request.headers.get("authorization") != TOKEN:
            return JSONResponse({"error": "log in first"}, 401)
        return JSONResponse({"secret": 42})

    return app


def project(tmp_path: Path, guarded: bool = True) -> tuple[Any, Any]:
    routes = [
        {"endpoint": e, "rule": f"/{r}", "methods": ["GET"], "state": "legacy"}
        for e, r in (("secret", "secret"), ("public", "open"))
    ]
    path = write_registry(tmp_path, routes, settings={"contracts_dir": "contracts"})
    registry = load_registry(path)
    return registry, load_apps(registry, legacy_app=legacy_app(), modern_app=modern_app(guarded))


def test_a_guarded_view_gets_an_unauthenticated_case(tmp_path: Path) -> None:
    registry, apps = project(tmp_path)
    calls.clear()
    planned = plan_scaffold(
        registry, apps, "secret", headers={"Authorization": TOKEN}, out=tmp_path / "m.py"
    )
    assert [c["Authorization"] for c in calls] == [TOKEN]  # the unauthenticated one: not sent
    assert [s.label for s in planned.samples] == ["sample"]
    assert planned.case_file is not None and planned.cases_written == 2
    text = planned.case_file.text
    comment = (
        "  # the view is decorated (login_required): the port must refuse this request "
        "as legacy does\n  - id: unauthenticated\n"
    )
    assert comment in text
    assert guard_comment(("login_required",)) in text
    cases = yaml.safe_load(text)["cases"]
    assert cases == [
        {"id": "sample", "method": "GET", "path": "/secret", "headers": {"Authorization": TOKEN}},
        {"id": "unauthenticated", "method": "GET", "path": "/secret"},
    ]
    (note,) = [n for n in planned.notes if "decorated" in n]
    assert "the case 'unauthenticated' sends a request without credentials" in note


def test_an_undecorated_view_gets_no_unauthenticated_case(tmp_path: Path) -> None:
    registry, apps = project(tmp_path)
    planned = plan_scaffold(registry, apps, "public", out=tmp_path / "m.py")
    assert planned.case_file is not None and planned.cases_written == 1
    assert "unauthenticated" not in planned.case_file.text
    assert not any("decorated" in n for n in planned.notes)


def test_a_case_file_without_the_case_gets_a_note(tmp_path: Path) -> None:
    registry, apps = project(tmp_path)
    (tmp_path / "contracts").mkdir()
    (tmp_path / "contracts" / "secret.yaml").write_text(
        f"cases:\n  - id: in\n    path: /secret\n    headers: {{Authorization: {TOKEN}}}\n"
    )
    planned = plan_scaffold(registry, apps, "secret", out=tmp_path / "m.py")
    assert planned.case_file is None
    (note,) = [n for n in planned.notes if "decorated" in n]
    assert "add a case 'unauthenticated' to " in note and "secret.yaml: a request" in note


@pytest.mark.parametrize("guarded", [True, False], ids=["port-guarded", "port-unguarded"])
def test_the_written_case_catches_a_port_without_the_guard(tmp_path: Path, guarded: bool) -> None:
    registry, apps = project(tmp_path, guarded=guarded)
    planned = plan_scaffold(
        registry, apps, "secret", headers={"Authorization": TOKEN}, out=tmp_path / "m.py"
    )
    assert planned.case_file is not None
    write_files([planned.case_file])
    harness = Harness(registry, apps)
    try:
        results = harness.run_all(load_cases(planned.case_file.path))
    finally:
        harness.close()
    assert [(r.case.id, r.legacy.status, r.modern.status) for r in results] == [
        ("sample", 200, 200),
        ("unauthenticated", 401, 401 if guarded else 200),
    ]
    assert [r.passed for r in results] == [True, guarded]
    if not guarded:
        assert str(results[1].comparison.differences[0]) == (
            "the port lets through a request the legacy view refused: legacy 401, modern 200 "
            "-- the port lacks the view's guard"
        )


def test_the_unauthenticated_case_drops_a_case_session_too() -> None:
    first = case("me", "GET", "/me", id="sample", session={"user_id": 1})
    assert unauthenticated_case(first, {}).session is None
