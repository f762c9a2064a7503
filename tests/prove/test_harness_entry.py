"""The harness hands the port the route's registry entry as the gateway does
(`scope["state"]["routeshift_route"]`), so a contract sees the error format the gateway
would serve: `error_format: legacy` renders the port's 404 as legacy's page, `fastapi`
keeps FastAPI's JSON (a difference the contract shows until it is accepted).

No `from __future__ import annotations`: the port's dependencies are read by FastAPI.
"""

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import write_registry
from fastapi import FastAPI, HTTPException
from flask import Flask, abort

from routeshift.apps.pair import load_apps
from routeshift.compat import Legacy
from routeshift.errors import CaseFileError
from routeshift.prove.cases import case
from routeshift.prove.harness import Harness
from routeshift.registry.load import load_registry


def legacy_app() -> Flask:
    app = Flask(__name__)

    @app.get("/things/<int:thing_id>")
    def thing(thing_id: int) -> Any:
        abort(404, description=f"no thing {thing_id}")

    return app


def modern_app(flask_app: Flask) -> FastAPI:
    app = FastAPI()
    Legacy(flask_app).install(app)

    @app.get("/things/{thing_id}")
    def thing(thing_id: int) -> Any:
        raise HTTPException(404, detail=f"no thing {thing_id}")

    return app


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Callable[[str], Harness]]:
    made: list[Harness] = []

    def make(error_format: str) -> Harness:
        entry = {
            "endpoint": "thing",
            "rule": "/things/<int:thing_id>",
            "methods": ["GET"],
            "state": "legacy",
            "error_format": error_format,
        }
        path = write_registry(tmp_path, [entry], legacy_app="x:app", modern_app="x:app")
        flask_app = legacy_app()
        apps = load_apps(
            load_registry(path), legacy_app=flask_app, modern_app=modern_app(flask_app)
        )
        made.append(Harness(load_registry(path), apps))
        return made[-1]

    yield make
    for one in made:
        one.close()


def test_the_legacy_error_format_answers_as_the_legacy_view(
    harness: Callable[[str], Harness],
) -> None:
    result = harness("legacy").run(case("thing", "GET", "/things/3"))
    assert result.passed, result.report()
    assert b"no thing 3" in result.modern.body and b"<!doctype html>" in result.modern.body


def test_the_fastapi_error_format_keeps_fastapis_answer(
    harness: Callable[[str], Harness],
) -> None:
    result = harness("fastapi").run(case("thing", "GET", "/things/3"))
    assert not result.passed
    assert result.modern.body == b'{"detail":"no thing 3"}'


def boom_apps(modern_error: type[Exception]) -> tuple[Flask, FastAPI]:
    flask_app = Flask(__name__)

    @flask_app.get("/things/<int:thing_id>")
    def thing(thing_id: int) -> Any:
        return {"first": [][0]}  # the legacy view's bug: IndexError, Flask's 500

    app = FastAPI()
    Legacy(flask_app).install(app)

    @app.get("/things/{thing_id}")
    def port(thing_id: int) -> Any:
        raise modern_error("list index out of range")

    return flask_app, app


@pytest.mark.parametrize(("error", "passes"), [(IndexError, True), (KeyError, False)])
def test_a_port_kept_bug_for_bug_passes_only_with_the_same_exception(
    tmp_path: Path, error: type[Exception], passes: bool
) -> None:
    entry = {"endpoint": "thing", "rule": "/things/<int:thing_id>", "methods": ["GET"]}
    path = write_registry(
        tmp_path, [{**entry, "state": "legacy"}], legacy_app="x:app", modern_app="x:app"
    )
    flask_app, modern = boom_apps(error)
    apps = load_apps(load_registry(path), legacy_app=flask_app, modern_app=modern)
    harness = Harness(load_registry(path), apps)
    try:
        result = harness.run(case("thing", "GET", "/things/1"))
    finally:
        harness.close()
    assert result.legacy.status == result.modern.status == 500
    assert result.comparison.equal  # the legacy app's own 500 page on both sides
    assert result.passed is passes, result.report()


def test_a_case_of_a_retired_route_is_a_case_file_error_that_says_so(tmp_path: Path) -> None:
    entry = {"endpoint": "gone", "rule": "/gone", "methods": ["GET"], "state": "modern"}
    path = write_registry(
        tmp_path, [{**entry, "retired": True}], legacy_app="x:app", modern_app="x:app"
    )
    flask_app = legacy_app()  # has no view "gone": it was removed
    modern = modern_app(flask_app)

    @modern.get("/gone")
    def gone() -> Any:
        return {"ok": True}

    apps = load_apps(load_registry(path), legacy_app=flask_app, modern_app=modern)
    harness = Harness(load_registry(path), apps)
    try:
        with pytest.raises(CaseFileError) as raised:
            harness.run(case("gone", "GET", "/gone"))
    finally:
        harness.close()
    message = str(raised.value)
    assert "gone is retired (the legacy app no longer has its view)" in message
    assert "Delete the case" in message
