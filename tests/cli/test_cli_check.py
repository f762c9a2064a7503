"""routeshift check through click's CliRunner: the shop apps on registries in tmp_path,
and the example registry of this repository."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from conftest import SHOP_ROUTES, write_registry

import routeshift.cli.check  # noqa: F401  (registers the command)
from routeshift.cli import main

REPO = Path(__file__).resolve().parents[2]
#: the shop routes the conftest registry leaves out
REST_OF_SHOP: list[dict[str, Any]] = [
    {"endpoint": "echo", "rule": "/echo", "methods": ["POST", "PUT"], "state": "legacy"},
    {"endpoint": "cookies", "rule": "/cookies", "methods": ["GET"], "state": "legacy"},
    {"endpoint": "stream", "rule": "/stream", "methods": ["GET"], "state": "legacy"},
    {"endpoint": "links", "rule": "/links", "methods": ["GET"], "state": "legacy"},
    {"endpoint": "wait", "rule": "/wait", "methods": ["GET"], "state": "legacy"},
]
#: the two ports whose contract passes once /side (legacy or modern) is ignored
PROVEN = {"items.listing", "items.item"}
CASES = {
    "items.listing": "cases:\n  - id: listing\n    path: /items/\n",
    "items.item": "cases:\n  - id: one\n    path: /items/1\n",
}
LINE = re.compile(r"^(?P<where>\S+): (?P<level>error|warning|info): .+\. (Fix|Next): .+\.$")


@pytest.fixture(autouse=True)
def _no_outside_store(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ROUTESHIFT_STORE_URL", raising=False)


def project(
    tmp_path: Path,
    changes: dict[str, dict[str, Any]] | None = None,
    *,
    cases: dict[str, str] = CASES,
) -> Path:
    """Every shop route; items.listing and items.item GET modern (ignoring /side), the rest
    legacy; case files in tmp_path/contracts. `changes` edits entries by endpoint."""
    routes = []
    for route in SHOP_ROUTES + REST_OF_SHOP:
        route = dict(route, state="legacy")
        route.pop("modern_path", None)
        if route["endpoint"] in PROVEN:
            route["ignore"] = ["/side"]
            if route["methods"] == ["GET"]:
                route["state"] = "modern"
        route.update((changes or {}).get(route["endpoint"], {}))
        routes.append(route)
    folder = tmp_path / "contracts"
    folder.mkdir(exist_ok=True)
    for endpoint, text in cases.items():
        (folder / f"{endpoint}.yaml").write_text(text, encoding="utf-8")
    return write_registry(tmp_path, routes, settings={"contracts_dir": "contracts"})


def run(registry: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["check", "--registry", str(registry), *args])


def record_contract_run(registry: Path) -> None:
    result = CliRunner().invoke(main, ["contract", "--registry", str(registry)])
    assert result.exit_code == 0, result.output


def finding_lines(result: Result) -> list[str]:
    return result.stdout.splitlines()[:-1]


# --- exit 0 ------------------------------------------------------------------------------


def test_a_proven_project_passes_strict_with_a_note(tmp_path: Path) -> None:
    registry = project(tmp_path)
    record_contract_run(registry)
    result = run(registry, "--strict")
    assert result.exit_code == 0, result.output
    (line,) = finding_lines(result)
    # items.item POST is legacy, the modern app has it, and items.item's cases pass
    assert LINE.match(line) and " info: ready to promote: items.item " in line
    assert "Next: `routeshift promote items.item --to modern`." in line
    assert result.stdout.splitlines()[-1] == "check passed: 0 errors, 0 warnings, 1 note."


def test_warnings_fail_only_with_strict(tmp_path: Path) -> None:
    registry = project(tmp_path)  # no contract run yet: both ports are unverified
    result = run(registry)
    assert result.exit_code == 0, result.output
    lines = finding_lines(result)
    assert len(lines) == 2 and all(LINE.match(line) and " warning: " in line for line in lines)
    assert "never been run" in result.stdout
    assert "(warnings fail only with --strict)" in result.stdout
    strict = run(registry, "--strict")
    assert strict.exit_code == 1
    assert strict.stdout.splitlines()[-1].startswith("check failed: 0 errors, 2 warnings")


def test_no_store_file_is_read_as_no_runs_and_not_created(tmp_path: Path) -> None:
    registry = project(tmp_path)
    assert run(registry).exit_code == 0
    assert not (tmp_path / "routeshift.db").exists()


def test_a_failing_contract_run_is_a_warning(tmp_path: Path) -> None:
    registry = project(tmp_path, {"items.item": {"ignore": []}})  # differs at /side
    assert CliRunner().invoke(main, ["contract", "--registry", str(registry)]).exit_code == 1
    result = run(registry)
    assert result.exit_code == 0
    assert "failed 1 of 1 cases" in result.stdout
    assert run(registry, "--strict").exit_code == 1


# --- exit 1: one line per error, each with its fix ---------------------------------------


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param(
            {"echo": {"methods": ["POST"]}},
            "echo: error: PUT /echo (echo) is a route of fixture_apps.flask_shop:app but not",
            id="unregistered",
        ),
        pytest.param(
            {"links": {"endpoint": "linkz"}},
            "endpoint 'linkz' is no longer a route of fixture_apps.flask_shop:app",
            id="vanished",
        ),
        pytest.param(
            {"cookies": {"state": "modern"}},
            "has no handler for GET /cookies",
            id="no-handler",
        ),
        pytest.param(
            {"boom": {"state": "modern"}},
            "there are no contract cases",
            id="no-cases",
        ),
        pytest.param(
            {"dirs": {"rule": "/dirs"}},
            "dirs has no rule '/dirs'",
            id="drifted-rule",
        ),
    ],
)
def test_each_error_fails_with_file_line_and_fix(
    tmp_path: Path, changes: dict[str, dict[str, Any]], expected: str
) -> None:
    registry = project(tmp_path, changes)
    record_contract_run(registry)
    result = run(registry)
    assert result.exit_code == 1, result.output
    errors = [line for line in finding_lines(result) if " error: " in line]
    assert errors and all(LINE.match(line) for line in errors), errors
    assert any(expected in line for line in errors), errors
    assert result.stdout.splitlines()[-1].startswith("check failed: ")


def test_an_entry_error_is_at_the_registrys_file_line(tmp_path: Path) -> None:
    registry = project(tmp_path, {"boom": {"state": "modern"}})
    result = run(registry)
    lines = registry.read_text().splitlines()
    boom = lines.index("- endpoint: boom")
    state = next(n for n, text in enumerate(lines, 1) if n > boom and text.startswith("  state"))
    assert f"{registry}:{state}: error: routes[" in result.stdout


def test_json_lists_the_findings(tmp_path: Path) -> None:
    registry = project(tmp_path, {"links": {"endpoint": "linkz"}})
    result = run(registry, "--format", "json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False and report["strict"] is False
    codes = {f["code"]: f for f in report["findings"]}
    assert {"vanished", "unregistered", "unverified"} <= set(codes)
    assert codes["unregistered"]["where"] == "links"
    assert codes["vanished"]["where"].startswith(f"{registry}:")
    assert "routeshift sync" in codes["vanished"]["fix"]
    assert report["counts"] == {"error": 2, "warning": 2, "info": 0}


# --- exit 2: bad input -------------------------------------------------------------------


def test_a_registry_that_does_not_load_exits_2_with_file_line(tmp_path: Path) -> None:
    registry = write_registry(tmp_path, [dict(SHOP_ROUTES[0], state="moden")])
    result = run(registry)
    assert result.exit_code == 2
    assert re.search(rf"{re.escape(str(registry))}:\d+: ", result.output)
    assert "Did you mean 'modern'?" in result.output


def test_a_missing_registry_exits_2(tmp_path: Path) -> None:
    result = run(tmp_path / "nowhere.yaml")
    assert result.exit_code == 2
    assert "no such file" in result.output


def test_an_app_that_fails_to_import_exits_2(tmp_path: Path) -> None:
    registry = write_registry(tmp_path, [], modern_app="no_such_module_here:app")
    result = run(registry)
    assert result.exit_code == 2
    assert "cannot import module 'no_such_module_here'" in result.output


def test_an_unusable_store_exits_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    registry = project(tmp_path)
    monkeypatch.setenv("ROUTESHIFT_STORE_URL", "nosuchdialect://x")
    result = run(registry)
    assert result.exit_code == 2
    assert "cannot open the store" in result.output


# --- the example registry ----------------------------------------------------------------


def test_the_example_today(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The example lists every legacy route, and each of its routes in modern or canary has
    a case file, so there is no error. With no contract run recorded (an empty store here),
    those routes are warned about as never run: 0 plain, 1 with --strict. The retired
    logout is a note."""
    monkeypatch.chdir(REPO)
    monkeypatch.setenv("ROUTESHIFT_STORE_URL", f"sqlite:///{tmp_path / 'none.db'}")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'example.db'}")
    registry = REPO / "migration_status.yaml"
    result = run(registry, "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["counts"] == {"error": 0, "warning": 6, "info": 1}
    assert {(f["code"], f["message"].split(" ")[1]) for f in report["findings"]} == {
        ("unverified", "(users.list_users):"),
        ("unverified", "(users.get_user):"),
        ("unverified", "(users.create_user):"),
        ("unverified", "(tasks.create_task):"),  # canary: a contract run is wanted too
        ("unverified", "(tasks.get_task):"),
        ("unverified", "(auth.me):"),
        ("retired", "(auth.logout)"),  # its view removed; the port serves it: a note
    }
    assert run(registry, "--strict").exit_code == 1


def test_shadow_runs_in_the_store_reach_the_gate(tmp_path: Path) -> None:
    from routeshift.compare import Difference
    from routeshift.store.records import Observation, ShadowResult
    from routeshift.store.redact import Redactor
    from routeshift.store.sql import Store

    registry = project(tmp_path, {"price": {"state": "shadow"}})
    store = Store(f"sqlite:///{tmp_path / 'routeshift.db'}")
    try:
        store.record_observations(
            [
                Observation(
                    "price",
                    "GET",
                    "/prices/<float:amount>",
                    "/prices/1.5",
                    ShadowResult.MATCH,
                    200,
                    200,
                    1.0,
                    2.0,
                ),
                Observation(
                    "price",
                    "GET",
                    "/prices/<float:amount>",
                    "/prices/2.5",
                    ShadowResult.MISMATCH,
                    200,
                    200,
                    1.0,
                    2.0,
                    differences=(Difference("/amount", 2.5, "2.5"),),
                ),
            ],
            Redactor(),
        )
    finally:
        store.close()
    result = run(registry, "--strict")
    assert result.exit_code == 1
    (line,) = [line for line in finding_lines(result) if "shadow runs" in line]
    assert "warning: routes[" in line and "of 2 shadow runs, 1 mismatched" in line
    assert LINE.match(line), line
