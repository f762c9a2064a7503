"""routeshift.track.gate: the CI gate's findings, from a registry, the shop apps, the case
files and the latest contract runs (all given; nothing is read here but the registry)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from conftest import SHOP_ROUTES, write_registry

from routeshift.apps.pair import load_apps
from routeshift.registry.load import load_registry
from routeshift.store.records import ShadowSummary, StoredMismatch, Verification
from routeshift.track.gate import (
    Code,
    Finding,
    Level,
    check_migration,
    fails,
    findings_json,
    format_findings,
    summary,
)

#: The shop routes the conftest registry leaves out, so that a registry can be complete.
REST_OF_SHOP: list[dict[str, Any]] = [
    {"endpoint": "echo", "rule": "/echo", "methods": ["POST", "PUT"], "state": "legacy"},
    {"endpoint": "cookies", "rule": "/cookies", "methods": ["GET"], "state": "legacy"},
    {"endpoint": "stream", "rule": "/stream", "methods": ["GET"], "state": "legacy"},
    {"endpoint": "links", "rule": "/links", "methods": ["GET"], "state": "legacy"},
    {"endpoint": "wait", "rule": "/wait", "methods": ["GET"], "state": "legacy"},
]
#: Endpoints of the shop registry with an entry past legacy.
PORTED = {"items.item", "items.listing", "price", "file", "page", "dirs", "both"}
NOW = dt.datetime(2026, 1, 2, 3, 4, tzinfo=dt.UTC)


def complete() -> list[dict[str, Any]]:
    return [dict(route) for route in SHOP_ROUTES + REST_OF_SHOP]


def passed(*endpoints: str) -> dict[str, Verification]:
    return {endpoint: Verification(endpoint, 3, 0, NOW) for endpoint in endpoints}


Check = Callable[..., list[Finding]]


@pytest.fixture
def check(tmp_path: Path, shop_apps: tuple[Any, Any]) -> Check:
    """check(routes, cases=PORTED, verifications=all ported passed) -> findings."""

    def run(
        routes: list[dict[str, Any]],
        cases: set[str] = PORTED,
        verifications: Mapping[str, Verification] | None = None,
        shadow: Mapping[str, ShadowSummary] | None = None,
    ) -> list[Finding]:
        registry = load_registry(write_registry(tmp_path, routes))
        apps = load_apps(registry, *shop_apps)
        if verifications is None:
            verifications = passed(*PORTED)
        return check_migration(registry, apps, cases, verifications, shadow)

    return run


def only(findings: list[Finding], code: Code) -> Finding:
    matching = [f for f in findings if f.code is code]
    assert len(matching) == 1, findings
    return matching[0]


def line_of(tmp_path: Path, needle: str, after: str | None = None) -> int:
    """The first line with `needle` (after the first line with `after`, when given)."""
    lines = (tmp_path / "migration_status.yaml").read_text().splitlines()
    start = line_of(tmp_path, after) if after else 0
    return next(n for n, text in enumerate(lines, 1) if n > start and needle in text)


# --- a migration in order -------------------------------------------------------------


def test_a_complete_proven_registry_has_only_notes(check: Check) -> None:
    findings = check(complete())
    assert {f.level for f in findings} <= {Level.INFO}
    assert not fails(findings, strict=True)


def test_the_shop_registry_misses_the_rest_of_the_shop(check: Check) -> None:
    findings = check([dict(route) for route in SHOP_ROUTES])
    missing = {f.where for f in findings if f.code is Code.UNREGISTERED}
    assert missing == {"echo", "cookies", "stream", "links", "wait"}


# --- errors ----------------------------------------------------------------------------


def test_an_unregistered_route_names_sync(check: Check) -> None:
    routes = [r for r in complete() if r["endpoint"] != "links"]
    finding = only(check(routes), Code.UNREGISTERED)
    assert finding.level is Level.ERROR
    assert finding.where == "links"
    assert "GET /links (links) is a route of fixture_apps.flask_shop:app" in finding.message
    assert "`routeshift sync`" in finding.fix


def test_an_unregistered_method_of_a_listed_rule(check: Check) -> None:
    routes = [dict(r, methods=["POST"]) if r["endpoint"] == "echo" else r for r in complete()]
    finding = only(check(routes), Code.UNREGISTERED)
    assert finding.message.startswith("PUT /echo (echo)")


def test_a_vanished_route_is_one_error_at_its_endpoint(check: Check, tmp_path: Path) -> None:
    gone = {"endpoint": "items.old", "rule": "/old", "methods": ["GET"], "state": "legacy"}
    findings = check([*complete(), gone])
    finding = only(findings, Code.VANISHED)
    assert finding.level is Level.ERROR
    assert finding.where == f"{tmp_path / 'migration_status.yaml'}:{line_of(tmp_path, 'items.old')}"
    assert "`routeshift sync` marks the entry retired" in finding.fix
    # check_routes says the same; the gate says it once
    assert [f.code for f in findings if f.level is Level.ERROR] == [Code.VANISHED]


def test_a_vanished_route_that_is_retired_is_a_warning(check: Check) -> None:
    gone = {"endpoint": "old", "rule": "/old", "methods": ["GET"], "state": "legacy"}
    findings = check([*complete(), dict(gone, retired=True)])
    finding = only(findings, Code.RETIRED)
    assert finding.level is Level.WARNING
    assert "no longer has it" in finding.message and "delete the entry" in finding.fix
    assert not fails(findings) and fails(findings, strict=True)


def test_a_retired_route_that_its_port_serves_is_a_note(check: Check) -> None:
    """The end of a migration: the view removed, the port modern. The entry stays, for
    the build-only rule that keeps legacy's url_for of it working."""
    gone = {"endpoint": "old", "rule": "/old", "methods": ["GET"], "state": "modern"}
    findings = check([*complete(), dict(gone, retired=True)])
    finding = only(findings, Code.RETIRED)
    assert finding.level is Level.INFO
    assert "the port serves it" in finding.message and "url_for('old')" in finding.message
    assert not fails(findings, strict=True)


def test_a_retired_entry_whose_route_is_alive_is_a_warning(check: Check) -> None:
    routes = [dict(r, retired=True) if r["endpoint"] == "links" else r for r in complete()]
    finding = only(check(routes), Code.RETIRED)
    assert "still has endpoint 'links'" in finding.message


def test_a_ported_route_without_a_handler(check: Check, tmp_path: Path) -> None:
    routes = [dict(r, state="modern") if r["endpoint"] == "echo" else r for r in complete()]
    findings = check(routes, cases=PORTED | {"echo"}, verifications=passed(*PORTED, "echo"))
    finding = only(findings, Code.NO_HANDLER)
    assert "has no handler for POST, PUT /echo" in finding.message
    assert finding.where.endswith(f":{line_of(tmp_path, 'state:', after='echo')}")
    for command in ("routeshift scaffold echo", "routeshift rollback echo"):
        assert command in finding.fix
    assert [f.code for f in findings if f.level is Level.ERROR] == [Code.NO_HANDLER]


def test_a_ported_route_without_cases(check: Check) -> None:
    findings = check(complete(), cases=PORTED - {"price"})
    finding = only(findings, Code.NO_CASES)
    assert finding.level is Level.ERROR
    case_file = Path(finding.where.rpartition(":")[0]).parent / "tests/contracts/price.yaml"
    assert f"write {case_file}" in finding.fix
    assert "routeshift contract --route price" in finding.fix


@pytest.mark.parametrize(("state", "asked"), [("shadow", False), ("canary", True)])
def test_proof_is_asked_of_routes_that_serve_clients_from_modern(
    check: Check, state: str, asked: bool
) -> None:
    extra = {"percent": 5} if state == "canary" else {}
    routes = [dict(r, state=state, **extra) if r["endpoint"] == "price" else r for r in complete()]
    findings = check(routes, cases=PORTED - {"price"})
    assert any(f.code is Code.NO_CASES for f in findings) is asked


def test_no_cases_is_said_once_per_endpoint(check: Check) -> None:
    routes = [
        dict(r, state="modern") if r["endpoint"] == "items.item" else r for r in complete()
    ]  # items.item: two entries past legacy (GET and POST)
    finding = only(check(routes, cases=PORTED - {"items.item"}), Code.NO_CASES)
    assert "items.item" in finding.message


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        pytest.param(
            {"rule": "/items/<item_id>"}, "has no rule '/items/<item_id>'", id="drifted-rule"
        ),
        pytest.param({"methods": ["GET", "PUT"]}, "does not serve PUT", id="extra-method"),
    ],
)
def test_every_check_routes_problem_is_an_error(
    check: Check, change: dict[str, Any], expected: str
) -> None:
    routes = [dict(r, **change) if r["endpoint"] == "items.listing" else r for r in complete()]
    registry_findings = [f for f in check(routes) if f.code is Code.REGISTRY]
    assert any(expected in f.message for f in registry_findings), registry_findings
    assert all(f.level is Level.ERROR and "routeshift routes" in f.fix for f in registry_findings)


def test_an_any_rule_without_modern_path_is_found_at_its_translation(check: Check) -> None:
    routes = [
        {k: v for k, v in r.items() if k != "modern_path"} if r["endpoint"] == "page" else r
        for r in complete()
    ]
    assert [r for r in routes if r["endpoint"] == "page"] != [
        r for r in complete() if r["endpoint"] == "page"
    ]
    assert check(routes) == check(complete())


def test_a_listed_twice_entry_is_a_registry_error(check: Check) -> None:
    findings = check([*complete(), dict(SHOP_ROUTES[0])])
    assert "is listed twice" in only(findings, Code.REGISTRY).message


# --- warnings and notes -----------------------------------------------------------------


def test_a_ported_route_never_run(check: Check) -> None:
    findings = check(complete(), verifications=passed(*(PORTED - {"dirs"})))
    finding = only(findings, Code.UNVERIFIED)
    assert finding.level is Level.WARNING
    assert "dirs" in finding.message and finding.fix == "run `routeshift contract --route dirs`"
    assert not fails(findings) and fails(findings, strict=True)


def test_a_ported_route_whose_latest_run_failed(check: Check) -> None:
    verifications = {**passed(*PORTED), "file": Verification("file", 2, 1, NOW)}
    finding = only(check(complete(), verifications=verifications), Code.CONTRACT_FAILING)
    assert finding.level is Level.WARNING
    assert "(2026-01-02 03:04 UTC) failed 1 of 3 cases" in finding.message
    assert "routeshift rollback file" in finding.fix


def test_a_legacy_route_with_a_handler_and_passing_cases_is_ready(check: Check) -> None:
    findings = check(complete(), cases=PORTED | {"boom"}, verifications=passed(*PORTED, "boom"))
    ready = [f for f in findings if f.code is Code.READY]
    assert {f.level for f in ready} == {Level.INFO}
    assert all(f.message.startswith("ready to promote: ") for f in ready)
    assert " info: ready to promote: boom is ported" in format_findings(findings)
    assert ". Next: `routeshift promote boom --to modern`." in format_findings(findings)
    fixes = {f.fix for f in ready}
    assert "`routeshift promote boom --to modern`" in fixes
    # items.item POST is legacy, has a handler, and the endpoint's cases pass
    assert "`routeshift promote items.item --to modern`" in fixes
    assert not fails(findings, strict=True)


@pytest.mark.parametrize(
    ("cases", "verifications"),
    [
        pytest.param(PORTED, passed(*PORTED, "boom"), id="no-case-file"),
        pytest.param(PORTED | {"boom"}, passed(*PORTED), id="never-run"),
        pytest.param(
            PORTED | {"boom"},
            {**passed(*PORTED), "boom": Verification("boom", 1, 1, NOW)},
            id="failing",
        ),
    ],
)
def test_a_legacy_route_not_proven_is_not_ready(
    check: Check, cases: set[str], verifications: dict[str, Verification]
) -> None:
    findings = check(complete(), cases=cases, verifications=verifications)
    assert not any(f.code is Code.READY and "boom" in f.message for f in findings)


def test_a_legacy_route_without_a_handler_is_not_ready(check: Check) -> None:
    findings = check(complete(), cases=PORTED | {"echo"}, verifications=passed(*PORTED, "echo"))
    assert not any(f.code is Code.READY and "echo" in f.message for f in findings)


def test_ready_by_method_when_another_entry_of_the_endpoint_is_not(check: Check) -> None:
    routes = [dict(r, state="legacy") if r["endpoint"] == "both" else r for r in complete()]
    ready = [f for f in check(routes) if f.code is Code.READY and "both" in f.message]
    assert [f.fix for f in ready] == ["`routeshift promote both --method GET --to modern`"]


# --- order, verdict and formats ---------------------------------------------------------


def test_errors_come_first_then_warnings_then_notes(check: Check) -> None:
    routes = [r for r in complete() if r["endpoint"] != "links"]
    verifications = {k: v for k, v in passed(*PORTED, "boom").items() if k != "dirs"}
    findings = check(routes, cases=PORTED | {"boom"}, verifications=verifications)
    levels = [f.level for f in findings]
    assert levels == sorted(levels, key=[Level.ERROR, Level.WARNING, Level.INFO].index)
    assert {Level.ERROR, Level.WARNING, Level.INFO} <= set(levels)


def finding(level: Level) -> Finding:
    return Finding(level, Code.UNVERIFIED, "m.yaml:3", "a message", "do this")


@pytest.mark.parametrize(
    ("levels", "strict", "failing"),
    [
        pytest.param([], False, False, id="nothing"),
        pytest.param([Level.INFO], True, False, id="notes-never-fail"),
        pytest.param([Level.WARNING], False, False, id="warning"),
        pytest.param([Level.WARNING], True, True, id="warning-strict"),
        pytest.param([Level.ERROR], False, True, id="error"),
    ],
)
def test_fails(levels: list[Level], strict: bool, failing: bool) -> None:
    assert fails([finding(level) for level in levels], strict) is failing


def test_a_finding_is_one_line_that_says_the_fix() -> None:
    assert str(finding(Level.ERROR)) == "m.yaml:3: error: a message. Fix: do this."
    question = Finding(Level.ERROR, Code.REGISTRY, "m.yaml:3", "Did you mean 'x'?", "fix it.")
    assert str(question) == "m.yaml:3: error: Did you mean 'x'? Fix: fix it."
    assert repr(finding(Level.WARNING)) == "Finding(warning, unverified, 'm.yaml:3')"


def test_format_findings_ends_with_a_summary() -> None:
    findings = [finding(Level.ERROR), finding(Level.WARNING), finding(Level.WARNING)]
    lines = format_findings(findings).splitlines()
    assert lines[:3] == [str(f) for f in findings]
    assert lines[3] == (
        "check failed: 1 error, 2 warnings, 0 notes (warnings fail only with --strict)."
    )
    assert summary([]) == "check passed: 0 errors, 0 warnings, 0 notes."
    assert summary([finding(Level.WARNING)], strict=True).startswith("check failed")


def test_findings_json() -> None:
    report = findings_json([finding(Level.WARNING)], strict=False)
    assert report == {
        "ok": True,
        "strict": False,
        "counts": {"error": 0, "warning": 1, "info": 0},
        "findings": [
            {
                "level": "warning",
                "code": "unverified",
                "where": "m.yaml:3",
                "message": "a message",
                "fix": "do this",
            }
        ],
    }


def shadow_runs(match: int, mismatch: int = 0, timeout: int = 0) -> ShadowSummary:
    latest = None
    if mismatch:
        difference = {"where": "/amount", "legacy": 1.5, "modern": "1.5"}
        latest = StoredMismatch(
            7,
            NOW,
            "price",
            "GET",
            "/prices/<float:amount>",
            "/prices/1.5",
            200,
            200,
            (difference,),
            1,
        )
    runs = match + mismatch + timeout
    return ShadowSummary("price", runs, match, mismatch, 0, timeout, 1.0, 2.0, latest)


def in_shadow() -> list[dict[str, Any]]:
    return [dict(r, state="shadow") if r["endpoint"] == "price" else r for r in complete()]


def test_a_shadow_route_whose_runs_differed_is_a_warning(check: Check) -> None:
    findings = check(in_shadow(), shadow={"price": shadow_runs(38, mismatch=2, timeout=1)})
    finding = only(findings, Code.SHADOW_DIFFERS)
    assert finding.level is Level.WARNING
    assert "of 41 shadow runs, 2 mismatched, 1 timed out" in finding.message
    assert "latest GET /prices/1.5: /amount" in finding.message
    assert "routeshift diffs --route price" in finding.fix
    assert fails(findings, strict=True) and not fails(findings)


def test_a_shadow_route_whose_runs_all_matched_is_a_note(check: Check) -> None:
    findings = check(in_shadow(), shadow={"price": shadow_runs(40)})
    finding = only(findings, Code.SHADOW_MATCHES)
    assert finding.level is Level.INFO
    assert "all 40 shadow runs matched legacy" in finding.message
    assert "--to canary" in finding.fix
    assert not any(f.code is Code.SHADOW_DIFFERS for f in findings)


def test_a_shadow_route_without_runs_says_nothing_of_them(check: Check) -> None:
    findings = check(in_shadow())
    assert not {f.code for f in findings} & {Code.SHADOW_DIFFERS, Code.SHADOW_MATCHES}


@pytest.mark.parametrize(
    "states",
    [
        pytest.param(("modern", "modern"), id="both-modern"),
        pytest.param(("modern", "shadow"), id="modern-first"),
        pytest.param(("shadow", "modern"), id="shadow-first"),
    ],
)
def test_a_shadow_entry_does_not_hide_the_proof_of_its_modern_twin(
    check: Check, states: tuple[str, str]
) -> None:
    routes = [r for r in complete() if r["endpoint"] != "items.item"]
    item = {"endpoint": "items.item", "rule": "/items/<int:item_id>"}
    routes += [
        {**item, "methods": ["GET"], "state": states[0]},
        {**item, "methods": ["POST"], "state": states[1], "shadow_writes": True},
    ]
    finding = only(check(routes, cases=PORTED - {"items.item"}), Code.NO_CASES)
    assert "items.item" in finding.message
