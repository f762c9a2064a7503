"""routeshift.compat.urls: legacy `url_for` keeps building the URLs of views that were
removed while the registry still lists them (build-only rules added by build_gateway),
and nothing that routes or lists routes sees those rules."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from conftest import write_registry

import routeshift.cli.check
import routeshift.cli.routes
import routeshift.cli.status  # noqa: F401  (the commands register on main)
from routeshift.cli import main
from routeshift.compat.urls import add_build_only_rules
from routeshift.decide.decision import UNMATCHED, Side
from routeshift.registry.load import load_registry, parse_registry
from routeshift.routes import legacy_routes
from routeshift.serve.assemble import build_gateway
from routeshift.serve.gateway import Gateway

#: the apps, as a module of the registry's folder (the commands import them by name)
APPS = '''
from fastapi import FastAPI
from flask import Blueprint, Flask, jsonify, url_for

legacy = Flask(__name__)
reports = Blueprint("reports", __name__, url_prefix="/reports")


@reports.route("/current")
def current():
    """Links to a report whose view is gone and to a route whose port took over."""
    return jsonify(
        old=url_for("reports.old", year=2020),
        moved=url_for("archive", year=1999),
        moved_post=url_for("archive", year=1999, _method="POST"),
    )


legacy.register_blueprint(reports)

modern = FastAPI()


@modern.get("/archive/{year}")
def archive(year: int):
    return {"side": "modern", "year": year}


@modern.post("/archive/{year}")
def archive_post(year: int):
    return {"side": "modern", "year": year}
'''

ROUTES: list[dict[str, Any]] = [
    {"endpoint": "reports.current", "rule": "/reports/current", "methods": ["GET"]},
    # removed on purpose, never ported: its URL still appears in legacy pages
    {
        "endpoint": "reports.old",
        "rule": "/reports/<int:year>",
        "methods": ["GET"],
        "retired": True,
    },
    # ported, then the legacy view removed: modern serves it as a route of its own
    {
        "endpoint": "archive",
        "rule": "/archive/<int:year>",
        "methods": ["GET"],
        "state": "modern",
        "retired": True,
    },
    {
        "endpoint": "archive",
        "rule": "/archive/<int:year>",
        "methods": ["POST"],
        "state": "modern",
        "retired": True,
    },
]


@pytest.fixture
def registry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> Iterator[Path]:
    """The registry and its apps' module, named after the test (imported once each)."""
    module = "removed_views_" + request.node.name.replace("[", "_").replace("]", "")
    (tmp_path / f"{module}.py").write_text(textwrap.dedent(APPS), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("ROUTESHIFT_STORE_URL", f"sqlite:///{tmp_path / 'routeshift.db'}")
    routes = [{"state": "legacy", **route} for route in ROUTES]
    yield write_registry(
        tmp_path, routes, legacy_app=f"{module}:legacy", modern_app=f"{module}:modern"
    )
    sys.modules.pop(module, None)


@pytest.fixture
def gateway(registry: Path) -> Iterator[Gateway]:
    built = build_gateway(registry, force_legacy=False, watch_interval=0)
    yield built
    built.close()


def request(gateway: Gateway, method: str, url: str) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=gateway)
        async with httpx.AsyncClient(transport=transport, base_url="http://shop.test") as client:
            return await client.request(method, url)

    return asyncio.run(go())


def test_url_for_of_a_removed_view_fails_without_the_gateway(registry: Path) -> None:
    """What the rules are for: legacy alone cannot build the removed views' URLs."""
    legacy = load_legacy(registry)
    legacy.testing = False
    assert legacy.test_client().get("/reports/current").status_code == 500  # BuildError


def test_url_for_builds_removed_views_through_the_gateway(gateway: Gateway) -> None:
    response = request(gateway, "GET", "/reports/current")
    assert (response.status_code, response.headers["x-served-by"]) == (200, "legacy")
    assert response.json() == {
        "old": "/reports/2020",
        "moved": "/archive/1999",
        "moved_post": "/archive/1999",
    }


def test_a_removed_view_is_still_legacys_404(gateway: Gateway) -> None:
    response = request(gateway, "GET", "/reports/2020")
    assert (response.status_code, response.headers["x-served-by"]) == (404, "legacy")
    decision = gateway.routing.classifier.classify(
        {"type": "http", "method": "GET", "path": "/reports/2020", "headers": []}
    )
    assert (decision.side, decision.endpoint) == (Side.LEGACY, UNMATCHED)


def test_a_retired_port_is_modern_only_in_every_gateway_of_the_app(
    registry: Path, gateway: Gateway
) -> None:
    """A second gateway over the same app object (its url_map has the build-only rules
    by then) still sends the retired port's path to modern."""
    assert request(gateway, "GET", "/archive/1999").json() == {"side": "modern", "year": 1999}
    again = build_gateway(registry, force_legacy=False, watch_interval=0)
    try:
        response = request(again, "GET", "/archive/1999")
        assert (response.status_code, response.headers["x-served-by"]) == (200, "modern")
        assert request(again, "GET", "/reports/current").json()["old"] == "/reports/2020"
    finally:
        again.close()


def load_legacy(registry: Path) -> Any:
    from routeshift.apps.pair import load_legacy_app

    return load_legacy_app(load_registry(registry))


def command(*args: str) -> tuple[int, Any]:
    """The exit code and the JSON a command prints; `status`'s `generated_at` left out
    (the clock, which ticks between two runs), and its `history` (the gateway's start
    writes the day's snapshot to the store)."""
    result = CliRunner().invoke(main, list(args))
    out = result.stdout
    if not out.lstrip().startswith(("{", "[")):
        return result.exit_code, out
    document = json.loads(out)
    if isinstance(document, dict):
        document.pop("generated_at", None)
        document.pop("history", None)
    return result.exit_code, document


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("routes", id="routes"),
        pytest.param("status", id="status"),
        pytest.param("check", id="check"),
    ],
)
def test_the_commands_are_unchanged_by_the_rules(registry: Path, name: str) -> None:
    """The commands import the same app object the gateway changed (one process)."""
    legacy = load_legacy(registry)
    args = (name, "--registry", str(registry), "--format", "json")
    before = command(*args)
    counted = [route for route in legacy_routes(legacy) if route.is_counted]
    build_gateway(registry, force_legacy=False, watch_interval=0).close()
    assert {rule.endpoint for rule in legacy.url_map.iter_rules()} >= {"reports.old", "archive"}
    assert [route for route in legacy_routes(legacy) if route.is_counted] == counted
    assert command(*args) == before


def parsed(entries: str) -> Any:
    text = f"legacy_app: l:app\nmodern_app: m:app\nroutes:\n{textwrap.dedent(entries)}"
    return parse_registry(text, Path("r.yaml"))


def test_added_once_and_only_for_endpoints_the_map_lacks() -> None:
    from flask import Flask

    app = Flask(__name__)
    app.add_url_rule("/here", "here", lambda: "here")
    registry = parsed(
        """\
        - {endpoint: here, rule: /here, methods: [GET], state: legacy}
        - {endpoint: here, rule: /elsewhere, methods: [GET], state: legacy, retired: true}
        - {endpoint: gone, rule: '/gone/<int:n>', methods: [GET], state: modern, retired: true}
        - {endpoint: gone, rule: '/gone/<int:n>', methods: [PUT], state: legacy, retired: true}
        - {endpoint: gone, rule: '/gone/<int:n>/<slug>', methods: [GET], state: legacy,
           retired: true}
        """
    )
    assert add_build_only_rules(app, registry) == ("gone",)
    assert add_build_only_rules(app, registry) == ()
    rules = {(r.endpoint, r.rule): r for r in app.url_map.iter_rules()}
    assert ("here", "/elsewhere") not in rules  # an endpoint the map has is left alone
    gone = rules["gone", "/gone/<int:n>"]
    assert gone.build_only and {"GET", "PUT"} <= set(gone.methods or ())
    assert rules["gone", "/gone/<int:n>/<slug>"].build_only
    with app.test_request_context():
        from flask import url_for

        assert url_for("gone", n=3, _method="PUT") == "/gone/3"
        assert url_for("gone", n=3, slug="x") == "/gone/3/x"
    adapter = app.url_map.bind("localhost")
    with pytest.raises(Exception, match="404"):
        adapter.match("/gone/3")


def test_a_rule_the_map_cannot_take_is_skipped_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from flask import Flask

    app = Flask(__name__)
    registry = parsed(
        """\
        - {endpoint: odd, rule: '/odd/<shade:colour>', methods: [GET], state: legacy,
           retired: true}
        - {endpoint: fine, rule: /fine, methods: [GET], state: legacy, retired: true}
        """
    )
    with caplog.at_level(logging.WARNING, logger="routeshift.compat"):
        assert add_build_only_rules(app, registry) == ("fine",)
    assert "odd" in caplog.text and "shade" in caplog.text
    assert "odd" not in {rule.endpoint for rule in app.url_map.iter_rules()}
