"""routeshift sync, promote and rollback through click's CliRunner, on the shop apps."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from conftest import write_registry

import routeshift.cli.edit  # noqa: F401  (registers sync, promote, rollback)
import routeshift.registry.edit
from routeshift.apps.pair import load_apps
from routeshift.cli import main
from routeshift.errors import Problem, RegistryError
from routeshift.prove.cases import case
from routeshift.prove.harness import Harness
from routeshift.registry.fit import check_routes
from routeshift.registry.load import load_registry
from routeshift.store.sql import Store

ROUTES: list[dict[str, Any]] = [
    {
        "endpoint": "items.item",
        "rule": "/items/<int:item_id>",
        "methods": ["GET", "POST"],
        "state": "legacy",
        "owner": "team-items",
        "ignore": ["/side"],
    },
    {"endpoint": "items.listing", "rule": "/items/", "methods": ["GET"], "state": "legacy"},
    {"endpoint": "both", "rule": "/both", "methods": ["GET"], "state": "modern"},
    {"endpoint": "both", "rule": "/both", "methods": ["DELETE"], "state": "legacy"},
    {"endpoint": "boom", "rule": "/boom", "methods": ["GET"], "state": "legacy"},
]


@pytest.fixture(autouse=True)
def store_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    monkeypatch.setenv("ROUTESHIFT_STORE_URL", url)
    return url


@pytest.fixture
def registry(tmp_path: Path) -> Path:
    return write_registry(tmp_path, [dict(route) for route in ROUTES])


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def record_run(registry: Path, url: str, *cases: Any) -> None:
    """Write `cases` to their case files, run them through the contract harness and
    record the run in the store, as `routeshift contract` does."""
    loaded = load_registry(registry)
    for endpoint in {c.endpoint for c in cases}:
        listed = [
            {"id": c.id, "method": c.method, "path": c.path}
            for c in cases
            if c.endpoint == endpoint
        ]
        loaded.contracts_dir.mkdir(parents=True, exist_ok=True)
        (loaded.contracts_dir / f"{endpoint}.yaml").write_text(json.dumps({"cases": listed}))
    harness = Harness(loaded, load_apps(loaded))
    try:
        results = harness.run_all(cases)
    finally:
        harness.close()
    store = Store(url)
    try:
        store.record_contract_run([r.outcome() for r in results])
    finally:
        store.close()


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


# --- promote ------------------------------------------------------------------------------


def test_promote_is_refused_without_a_modern_handler(registry: Path) -> None:
    before = registry.read_bytes()
    result = run(
        "promote", "both", "--method", "DELETE", "--to", "modern", "--registry", str(registry)
    )
    assert result.exit_code == 1, result.output
    assert "fixture_apps.fastapi_shop:app has no handler for DELETE /both" in result.output
    assert "routeshift scaffold both --method DELETE" in result.output
    assert "--force" in result.output
    assert registry.read_bytes() == before


def test_promote_is_refused_without_a_contract_run(registry: Path) -> None:
    before = registry.read_bytes()
    result = run("promote", "boom", "--to", "modern", "--registry", str(registry))
    assert result.exit_code == 1, result.output
    assert "no contract run has checked boom" in result.output
    assert "routeshift contract --route boom" in result.output
    assert "has no handler" not in result.output  # GET /boom is ported
    assert registry.read_bytes() == before


def test_promote_is_refused_after_a_failing_contract_run(registry: Path, store_url: str) -> None:
    record_run(registry, store_url, case("items.listing", "GET", "/items/"))  # side differs
    before = registry.read_bytes()
    result = run("promote", "items.listing", "--to", "modern", "--registry", str(registry))
    assert result.exit_code == 1, result.output
    assert "the latest contract run of items.listing" in result.output
    assert "failed 1 of 1 cases" in result.output
    assert registry.read_bytes() == before


def test_promote_after_a_passing_run_splits_the_entry(registry: Path, store_url: str) -> None:
    record_run(registry, store_url, case("items.item", "GET", "/items/1"))
    before = registry.read_text(encoding="utf-8")
    result = run(
        "promote", "items.item", "--method", "get", "--to", "modern", "--registry", str(registry)
    )
    assert result.exit_code == 0, result.output
    assert "items.item GET /items/<int:item_id>: legacy -> modern (split off its entry)" in (
        result.output
    )
    head = "- endpoint: items.item\n  rule: /items/<int:item_id>\n  methods:\n"
    tail = "  owner: team-items\n  ignore:\n  - /side\n"
    assert registry.read_text(encoding="utf-8") == before.replace(
        head + "  - GET\n  - POST\n  state: legacy\n" + tail,
        head + "  - POST\n  state: legacy\n" + tail + head + "  - GET\n  state: modern\n" + tail,
    )
    entries = load_registry(registry).routes[:2]
    assert [(e.methods, e.state.value, e.ignore, e.owner) for e in entries] == [
        (("POST",), "legacy", ("/side",), "team-items"),
        (("GET",), "modern", ("/side",), "team-items"),
    ]
    assert leftovers(registry.parent) == []


def test_promote_with_force_skips_the_checks(registry: Path) -> None:
    result = run(
        "promote",
        "both",
        "--method",
        "DELETE",
        "--to",
        "modern",
        "--force",
        "--registry",
        str(registry),
    )
    assert result.exit_code == 0, result.output
    assert "--force: the handler and contract checks were skipped." in result.output
    assert [e.state.value for e in load_registry(registry).routes if e.endpoint == "both"] == [
        "modern",
        "modern",
    ]


def test_promote_with_an_unusable_store_exits_2(
    registry: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ROUTESHIFT_STORE_URL", "nosuchdialect://x")
    result = run("promote", "boom", "--to", "modern", "--registry", str(registry))
    assert result.exit_code == 2
    assert "cannot open the store" in result.output


@pytest.mark.parametrize(
    ("options", "lines"),
    [
        pytest.param(["--to", "shadow"], ["state: shadow"], id="shadow"),
        pytest.param(
            ["--to", "canary", "--percent", "10"], ["state: canary", "percent: 10"], id="canary"
        ),
    ],
)
def test_promote_to_shadow_and_canary(registry: Path, options: list[str], lines: list[str]) -> None:
    result = run("promote", "boom", *options, "--force", "--registry", str(registry))
    assert result.exit_code == 0, result.output
    entry = next(e for e in load_registry(registry).routes if e.endpoint == "boom")
    assert entry.state.value == options[1]
    text = registry.read_text()
    for line in lines:
        assert line in text


@pytest.mark.parametrize(
    ("endpoint", "options", "words"),
    [
        pytest.param("boom", ["--to", "canary"], "state canary needs percent", id="no-percent"),
        pytest.param(
            "items.item", ["--to", "shadow"], "`shadow_writes: true`", id="shadow-of-a-write"
        ),
    ],
)
def test_a_state_the_registry_refuses_is_not_written(
    registry: Path, endpoint: str, options: list[str], words: str
) -> None:
    before = registry.read_bytes()
    result = run("promote", endpoint, *options, "--force", "--registry", str(registry))
    assert result.exit_code == 1  # a refused promote, as the README says, not bad input
    assert f"refused: {registry}:" in result.output
    assert words in result.output
    assert "is unchanged" in result.output
    assert registry.read_bytes() == before


def test_percent_goes_with_canary_only(registry: Path) -> None:
    result = run(
        "promote", "boom", "--to", "modern", "--percent", "10", "--registry", str(registry)
    )
    assert result.exit_code == 2
    assert "--percent goes with --to canary only" in result.output


@pytest.mark.parametrize("cohort", ["header:X-User-Id", "cookie:uid", "client"])
def test_promote_to_canary_with_a_cohort(registry: Path, cohort: str) -> None:
    before = registry.read_text(encoding="utf-8")
    result = run(
        "promote", "boom", "--to", "canary", "--percent", "10", "--cohort", cohort, "--force",
        "--registry", str(registry),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    entry = next(e for e in load_registry(registry).routes if e.endpoint == "boom")
    assert (entry.state.value, entry.percent, entry.cohort) == ("canary", 10, cohort)
    # the entry's lines, and no other: the state changed, percent and cohort added below
    assert registry.read_text(encoding="utf-8") == before.replace(
        "- endpoint: boom\n  rule: /boom\n  methods:\n  - GET\n  state: legacy\n",
        "- endpoint: boom\n  rule: /boom\n  methods:\n  - GET\n  state: canary\n"
        f"  percent: 10\n  cohort: {cohort}\n",
    )


def test_cohort_with_a_method_splits_as_the_state_does(registry: Path, store_url: str) -> None:
    record_run(registry, store_url, case("items.item", "GET", "/items/1"))
    result = run(
        "promote", "items.item", "--method", "GET", "--to", "canary", "--percent", "5",
        "--cohort", "header:X-User-Id", "--registry", str(registry),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    entries = [e for e in load_registry(registry).routes if e.endpoint == "items.item"]
    assert [(e.methods, e.state.value, e.cohort) for e in entries] == [
        (("POST",), "legacy", None),
        (("GET",), "canary", "header:X-User-Id"),
    ]


@pytest.mark.parametrize(
    ("cohort", "reason"),
    [
        pytest.param(
            "header:", "cohort 'header:' names no header: write header:NAME", id="no-name"
        ),
        pytest.param("cookie:a;b", "'a;b' is not a cookie name", id="bad-name"),
        pytest.param("ip", "unknown cohort 'ip': use client, header:NAME", id="unknown"),
    ],
)
def test_a_bad_cohort_exits_2_with_the_reason(registry: Path, cohort: str, reason: str) -> None:
    before = registry.read_bytes()
    result = run(
        "promote", "boom", "--to", "canary", "--percent", "10", "--cohort", cohort, "--force",
        "--registry", str(registry),
    )  # fmt: skip
    assert result.exit_code == 2
    assert "--cohort" in result.output
    assert reason in result.output
    assert registry.read_bytes() == before


@pytest.mark.parametrize("to", ["modern", "shadow", "legacy"])
def test_cohort_goes_with_canary_only(registry: Path, to: str) -> None:
    before = registry.read_bytes()
    result = run(
        "promote", "boom", "--to", to, "--cohort", "client", "--force", "--registry", str(registry)
    )
    assert result.exit_code == 2
    assert "--cohort goes with --to canary only" in result.output
    assert registry.read_bytes() == before


def test_promote_to_the_state_it_has_does_nothing(registry: Path) -> None:
    before = registry.read_bytes()
    result = run(
        "promote", "both", "--method", "GET", "--to", "modern", "--registry", str(registry)
    )
    assert result.exit_code == 0, result.output
    assert "already modern" in result.output
    assert registry.read_bytes() == before


# --- rollback ---------------------------------------------------------------------------


def test_rollback_needs_neither_the_apps_nor_the_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ROUTESHIFT_STORE_URL", "nosuchdialect://x")
    path = write_registry(
        tmp_path, [dict(route) for route in ROUTES], legacy_app="no_such_module_here:app"
    )
    before = path.read_text(encoding="utf-8")
    result = run("rollback", "both", "--registry", str(path), "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["written"] is True
    assert [(c["methods"], c["before"], c["state"]) for c in report["changes"]] == [
        (["GET"], "modern", "legacy")
    ]
    assert path.read_text(encoding="utf-8") == before.replace(
        "  - GET\n  state: modern\n", "  - GET\n  state: legacy\n"
    )


@pytest.mark.parametrize("command", ["promote", "rollback"])
def test_an_unknown_endpoint_exits_2_with_did_you_mean(registry: Path, command: str) -> None:
    options = ["--to", "modern"] if command == "promote" else []
    result = run(command, "boon", *options, "--registry", str(registry))
    assert result.exit_code == 2
    assert "no entry for endpoint 'boon'. Did you mean 'boom'?" in result.output


def test_a_failed_validation_leaves_the_file_as_it_was(
    registry: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(text: str, path: Path) -> Any:
        raise RegistryError([Problem(str(path), 3, "simulated failure")])

    monkeypatch.setattr(routeshift.registry.edit, "parse_registry", broken)
    before = registry.read_bytes()
    result = run("rollback", "both", "--registry", str(registry))
    assert result.exit_code == 2
    assert "nothing was written" in result.output and f"{registry}:3: simulated" in result.output
    assert registry.read_bytes() == before
    assert leftovers(registry.parent) == []


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["sync"], id="sync"),
        pytest.param(["promote", "boom", "--to", "modern"], id="promote"),
        pytest.param(["rollback", "boom"], id="rollback"),
    ],
)
def test_a_bad_registry_exits_2_with_file_line(tmp_path: Path, args: list[str]) -> None:
    path = write_registry(tmp_path, [dict(ROUTES[4], state="moden")])
    before = path.read_bytes()
    result = run(*args, "--registry", str(path))
    assert result.exit_code == 2
    assert f"{path}:" in result.output and "Did you mean 'modern'?" in result.output
    assert path.read_bytes() == before


# --- sync -------------------------------------------------------------------------------


@pytest.fixture
def drifted(tmp_path: Path) -> Iterator[Path]:
    """A shop registry that lacks most routes and lists one the app no longer has."""
    routes = [dict(route) for route in ROUTES]
    routes.append({"endpoint": "gone", "rule": "/gone", "methods": ["GET"], "state": "modern"})
    yield write_registry(tmp_path, routes)


def test_sync_registers_and_retires_then_has_nothing_to_do(drifted: Path) -> None:
    before = drifted.read_text(encoding="utf-8")
    result = run("sync", "--registry", str(drifted))
    assert result.exit_code == 0, result.output
    assert "retired gone GET /gone (the legacy app no longer has it)" in result.output
    assert "added echo POST,PUT /echo as legacy" in result.output
    assert "added static" not in result.output
    after = drifted.read_text(encoding="utf-8")
    assert after.startswith(
        before.replace(
            "- endpoint: gone\n  rule: /gone\n  methods:\n  - GET\n  state: modern\n", ""
        )
    )
    assert "  - GET\n  state: modern\n  retired: true\n" in after
    assert (
        "- endpoint: echo\n  rule: /echo\n  methods:\n  - POST\n  - PUT\n  state: legacy\n" in after
    )
    registry = load_registry(drifted)
    apps = load_apps(registry)
    assert check_routes(registry, apps.legacy_routes, apps.modern_routes) == []
    listed = {(e.endpoint, e.rule, m) for e in registry.routes for m in e.methods}
    assert listed >= {
        (r.endpoint, r.rule, m) for r in apps.legacy_routes if not r.is_static for m in r.methods
    }

    again = run("sync", "--registry", str(drifted))
    assert again.exit_code == 0
    assert "nothing to do" in again.output
    assert drifted.read_text(encoding="utf-8") == after


def test_sync_dry_run_shows_the_edit_and_writes_nothing(drifted: Path) -> None:
    before = drifted.read_bytes()
    result = run("sync", "--dry-run", "--registry", str(drifted))
    assert result.exit_code == 0, result.output
    assert "nothing written" in result.output
    assert "+- endpoint: links\n" in result.output
    assert drifted.read_bytes() == before

    report = json.loads(
        run("sync", "--dry-run", "--format", "json", "--registry", str(drifted)).output
    )
    assert report["written"] is False and report["diff"].startswith("---")
    assert {"action": "retired", "endpoint": "gone"}.items() <= report["changes"][0].items()
    assert drifted.read_bytes() == before


def test_sync_json(drifted: Path) -> None:
    result = run("sync", "--format", "json", "--registry", str(drifted))
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["written"] is True and report["registry"] == str(drifted)
    added = [c["endpoint"] for c in report["changes"] if c["action"] == "added"]
    assert added[:3] == ["price", "file", "page"]  # the url_map's order


def test_sync_with_a_legacy_app_that_fails_to_import_exits_2(tmp_path: Path) -> None:
    path = write_registry(tmp_path, [], legacy_app="no_such_module_here:app")
    result = run("sync", "--registry", str(path))
    assert result.exit_code == 2
    assert "cannot import module 'no_such_module_here'" in result.output


def test_shadow_needs_a_handler_but_no_contract_run(registry: Path) -> None:
    # shadow serves no client from modern: it is how a port earns its proof
    result = run("promote", "items.listing", "--to", "shadow", "--registry", str(registry))
    assert result.exit_code == 0, result.output
    entry = next(e for e in load_registry(registry).routes if e.endpoint == "items.listing")
    assert entry.state.value == "shadow"
    refused = run(
        "promote", "items.listing", "--to", "canary", "--percent", "5", "--registry", str(registry)
    )
    assert refused.exit_code == 1
    assert "contract" in refused.output


def test_shadow_of_a_write_only_entry_names_no_split_it_cannot_make(registry: Path) -> None:
    """items.item's POST entry has no safe method: the refusal says shadow_writes only."""
    result = run("promote", "items.item", "--method", "POST", "--to", "shadow", "--force",
                 "--registry", str(registry))  # fmt: skip
    assert result.exit_code == 1
    assert "`shadow_writes: true` in its entry." in result.output
    assert "--method" not in result.output
