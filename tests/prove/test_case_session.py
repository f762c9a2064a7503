"""A case's `session:`: the legacy session the request carries, signed when the case
runs with the legacy app's own session interface, so a case file never holds a login
cookie that expires (PERMANENT_SESSION_LIFETIME) or dies with a rotated key.

No `from __future__ import annotations`: the port's dependencies are read by FastAPI.
"""

from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import pytest
from conftest import write_registry
from fastapi import Depends, FastAPI
from flask import Flask, abort, jsonify, session

from routeshift.apps.pair import load_apps, signed_session
from routeshift.compat import FlaskJSONResponse, Legacy
from routeshift.errors import RouteshiftError
from routeshift.prove.cases import case, load_cases
from routeshift.prove.harness import Harness
from routeshift.registry.load import load_registry

ME = {"endpoint": "me", "rule": "/me", "methods": ["GET"], "state": "legacy"}


def legacy_app(secret: str | None = "case-session-secret") -> Flask:
    app = Flask(__name__)
    app.config["SECRET_KEY"] = secret

    @app.get("/me")
    def me() -> Any:
        if "user_id" not in session:
            abort(401)
        return jsonify(user_id=session["user_id"], theme=session.get("theme"))

    return app


def modern_app(flask_app: Flask) -> FastAPI:
    legacy = Legacy(flask_app)
    app = FastAPI()
    legacy.install(app)

    @app.get("/me")
    def me(flask_session: Annotated[Any, Depends(legacy.session)]) -> Any:
        if "user_id" not in flask_session:
            from fastapi import HTTPException

            raise HTTPException(401)
        user_id = flask_session["user_id"]
        return FlaskJSONResponse({"user_id": user_id, "theme": flask_session.get("theme")})

    return app


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    path = write_registry(tmp_path, [ME], legacy_app="x:app", modern_app="x:app")
    flask_app = legacy_app()
    apps = load_apps(load_registry(path), legacy_app=flask_app, modern_app=modern_app(flask_app))
    made = Harness(load_registry(path), apps)
    yield made
    made.close()


def test_both_sides_get_the_session_the_case_names(harness: Harness) -> None:
    result = harness.run(case("me", "GET", "/me", session={"user_id": 7, "theme": "därk"}))
    assert result.passed, result.report()
    assert result.legacy.status == result.modern.status == 200
    assert b'"user_id":7' in result.legacy.body and b'"user_id":7' in result.modern.body


def test_without_a_session_both_refuse(harness: Harness) -> None:
    result = harness.run(case("me", "GET", "/me"))
    assert result.passed, result.report()
    assert result.legacy.status == 401


def test_the_session_cookie_joins_a_cookie_header_the_case_sends(harness: Harness) -> None:
    sent = case("me", "GET", "/me", headers={"Cookie": "other=1"}, session={"user_id": 3})
    result = harness.run(sent)
    assert result.passed, result.report()
    assert b'"user_id":3' in result.legacy.body


def test_the_cookie_is_signed_with_the_apps_key_now() -> None:
    flask_app = legacy_app()
    name, value = signed_session(flask_app, {"user_id": 1})
    assert name == "session"
    client = flask_app.test_client(use_cookies=False)  # the Cookie header as it is
    answer = client.get("/me", headers={"Cookie": f"{name}={value}"})
    assert answer.get_json() == {"user_id": 1, "theme": None}
    flask_app.config["SECRET_KEY"] = "rotated"
    assert client.get("/me", headers={"Cookie": f"{name}={value}"}).status_code == 401
    renewed = signed_session(flask_app, {"user_id": 1})[1]
    assert client.get("/me", headers={"Cookie": f"{name}={renewed}"}).status_code == 200


def test_an_app_without_a_secret_key_is_told_what_to_set() -> None:
    with pytest.raises(RouteshiftError, match="no SECRET_KEY"):
        signed_session(legacy_app(secret=None), {"user_id": 1})


def test_a_case_file_carries_a_session(tmp_path: Path) -> None:
    path = tmp_path / "me.yaml"
    path.write_text(
        "cases:\n  - id: logged-in\n    path: /me\n    session: {user_id: 1, roles: [admin]}\n",
        encoding="utf-8",
    )
    (loaded,) = load_cases(path)
    assert loaded.session == {"user_id": 1, "roles": ["admin"]}
