"""routeshift.registry.fit: every converter translates, so a port at the rule's
translation is found without a modern_path (design.md, "Rule translation")."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi import FastAPI
from fixture_apps import converters

from routeshift.errors import Problem
from routeshift.registry.fit import check_routes, handler_path
from routeshift.registry.load import parse_registry
from routeshift.routes import LegacyRoute, legacy_routes, modern_routes

LEGACY = legacy_routes(converters.create_legacy())
MODERN = modern_routes(converters.create_modern())


def check(routes: list[dict[str, Any]], modern: FastAPI | None = None) -> list[Problem]:
    document = {"legacy_app": "legacy:app", "modern_app": "modern:app", "routes": routes}
    registry = parse_registry(yaml.safe_dump(document), Path("migration_status.yaml"))
    found = MODERN if modern is None else modern_routes(modern)
    return check_routes(registry, LEGACY, found)


def route_of(endpoint: str) -> LegacyRoute:
    return next(route for route in LEGACY if route.endpoint == endpoint)


def test_every_converter_finds_its_handler_at_the_translation() -> None:
    assert check(converters.registry_routes("modern")) == []


@pytest.mark.parametrize("endpoint", list(converters.RULES))
def test_the_handler_path_is_the_rules_translation(endpoint: str) -> None:
    assert handler_path(None, route_of(endpoint)) == converters.RULES[endpoint][1]


@pytest.mark.parametrize("state", ["shadow", "modern"])
def test_a_uuid_rule_needs_no_modern_path(state: str) -> None:
    routes = [r for r in converters.registry_routes(state) if r["endpoint"] == "uuid"]
    assert check(routes) == []


def test_a_missing_port_is_named_at_the_translation() -> None:
    modern = FastAPI()

    @modern.get("/wide/{x}")  # one segment only: not the port of a converter across `/`
    def wide(x: str) -> str:
        return x

    routes = [r for r in converters.registry_routes() if r["endpoint"] in ("wide", "uuid")]
    problems = check(routes, modern)
    assert [p.message.split(": ", 1)[1].split(".")[0] for p in problems] == [
        "state is modern but modern:app has no handler for GET /things/{key}",
        "state is modern but modern:app has no handler for GET /wide/{x:path}",
    ]
    assert "Did you mean '/wide/{x}'?" in problems[1].message
    assert "no equivalent" not in " ".join(p.message for p in problems)


def test_a_modern_path_still_wins_where_the_handler_lives_elsewhere() -> None:
    modern = FastAPI()

    @modern.get("/keys/{key}")
    def by_key(key: str) -> str:
        return key

    entry = {"endpoint": "uuid", "rule": "/things/<uuid:key>", "methods": ["GET"]}
    assert check([{**entry, "state": "modern", "modern_path": "/keys/{key}"}], modern) == []
    (problem,) = check([{**entry, "state": "modern"}], modern)
    assert "no handler for GET /things/{key}" in problem.message
