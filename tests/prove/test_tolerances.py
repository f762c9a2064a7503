"""A tolerance in the registry, through the contract harness: a "now" that each side
writes for itself is compared within its margin, neither failed for the milliseconds
between the two answers nor set aside as noise (legacy answers a GET twice)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import write_registry
from fastapi import FastAPI
from flask import Flask, jsonify

from routeshift.apps.pair import load_apps
from routeshift.prove.cases import case
from routeshift.prove.harness import Harness
from routeshift.registry.load import load_registry

#: how far modern's "now" is from the real one (seconds); None: modern leaves it out
MODERN_OFFSET: dict[str, float | None] = {"seconds": 0.0}


def legacy_app() -> Flask:
    app = Flask("legacy_seen")

    @app.get("/me")
    def me() -> Any:  # a fresh "now" on every call, so two legacy answers differ
        return jsonify(name="ann", last_seen=dt.datetime.now(dt.UTC).isoformat())

    return app


def modern_app() -> FastAPI:
    app = FastAPI()

    @app.get("/me")
    def me() -> dict[str, Any]:
        offset = MODERN_OFFSET["seconds"]
        if offset is None:
            return {"name": "ann"}
        now = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=offset)
        return {"name": "ann", "last_seen": now.strftime("%a, %d %b %Y %H:%M:%S GMT")}

    return app


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    route = {"endpoint": "me", "rule": "/me", "methods": ["GET"], "state": "legacy"}
    route["normalise"] = [{"within": "2s", "at": "/last_seen"}]
    path = write_registry(tmp_path, [route], legacy_app="unused:app", modern_app="unused:app")
    registry = load_registry(path)
    made = Harness(registry, load_apps(registry, legacy_app=legacy_app(), modern_app=modern_app()))
    yield made
    made.close()
    MODERN_OFFSET["seconds"] = 0.0


@pytest.mark.parametrize(
    ("offset", "passed"),
    [
        pytest.param(0.0, True, id="same-moment"),
        pytest.param(-0.5, True, id="within"),
        pytest.param(3.5, False, id="3s-apart"),
        pytest.param(None, False, id="missing"),
    ],
)
def test_a_now_is_compared_within_its_margin(
    harness: Harness, offset: float | None, passed: bool
) -> None:
    MODERN_OFFSET["seconds"] = offset
    result = harness.run(case("me", "GET", "/me"))
    assert result.noise == ()  # the two legacy answers are within the margin too
    assert result.passed is passed, result.report()
    if not passed:
        assert [d.where for d in result.comparison.differences] == ["/last_seen"]
