"""routeshift.cli through click's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import SHOP_ROUTES, write_registry

from routeshift.cli import main


def test_routes_json_lists_every_rule_method(shop_registry: Path) -> None:
    result = CliRunner().invoke(
        main, ["routes", "--registry", str(shop_registry), "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    rows = {(r["endpoint"], r["method"]): r for r in json.loads(result.output)}
    assert rows[("items.item", "GET")]["state"] == "modern"
    assert rows[("items.item", "GET")]["fastapi_path"] == "/items/{item_id}"
    assert rows[("items.item", "POST")]["state"] == "legacy"
    assert rows[("links", "GET")]["state"] == "unregistered"
    assert rows[("page", "GET")]["fastapi_path"] == "/pages/{name}"
    assert rows[("echo", "PUT")]["modern_handler"] is False
    assert not any(endpoint == "static" for endpoint, _ in rows)


def test_routes_table(shop_registry: Path) -> None:
    result = CliRunner().invoke(main, ["routes", "--registry", str(shop_registry)])
    assert result.exit_code == 0
    assert "items.item" in result.output
    assert "route methods served by modern" in result.output


def test_routes_bad_registry_exits_2_with_file_line(tmp_path: Path) -> None:
    path = write_registry(tmp_path, [dict(SHOP_ROUTES[0], state="moden")])
    result = CliRunner().invoke(main, ["routes", "--registry", str(path)])
    assert result.exit_code == 2
    assert f"{path}:" in result.output and "Did you mean 'modern'?" in result.output


def test_routes_app_that_fails_to_import_exits_2(tmp_path: Path) -> None:
    path = write_registry(tmp_path, [], legacy_app="no_such_module_here:app")
    result = CliRunner().invoke(main, ["routes", "--registry", str(path)])
    assert result.exit_code == 2
    assert "cannot import module 'no_such_module_here'" in result.output


def test_routes_with_a_drifted_entry_exits_1(tmp_path: Path) -> None:
    path = write_registry(tmp_path, [dict(SHOP_ROUTES[1], rule="/items/<item_id>")])
    result = CliRunner().invoke(main, ["routes", "--registry", str(path)])
    assert result.exit_code == 1
    assert "has no rule '/items/<item_id>'" in result.output


# --- routeshift contract ------------------------------------------------------------


def contract_project(tmp_path: Path, cases: dict[str, str]) -> Path:
    """A registry for the shop apps with case files in tmp_path/contracts."""
    folder = tmp_path / "contracts"
    folder.mkdir()
    for endpoint, text in cases.items():
        (folder / f"{endpoint}.yaml").write_text(text, encoding="utf-8")
    routes = [
        dict(route, ignore=["/side"]) if route["endpoint"] == "items.listing" else route
        for route in SHOP_ROUTES
    ]
    return write_registry(tmp_path, routes, settings={"contracts_dir": "contracts"})


PASSING = "cases:\n  - id: listing\n    path: /items/\n"  # differs only at /side, ignored
FAILING = "cases:\n  - id: one\n    path: /items/1\n"  # the shop's port says side: modern


def run_contract(registry: Path, *args: str) -> Any:
    return CliRunner().invoke(main, ["contract", "--registry", str(registry), *args])


def test_contract_passes_and_fails_with_pointers(tmp_path: Path) -> None:
    registry = contract_project(tmp_path, {"items.listing": PASSING, "items.item": FAILING})
    result = run_contract(registry)
    assert result.exit_code == 1, result.output
    assert "ok   items.listing::listing" in result.output
    assert "FAIL items.item::one" in result.output
    assert '/side: legacy "legacy" != modern "modern"' in result.output
    assert "1 passed, 1 failed" in result.output


def test_contract_route_filter_and_json(tmp_path: Path) -> None:
    registry = contract_project(tmp_path, {"items.listing": PASSING, "items.item": FAILING})
    result = run_contract(registry, "--route", "items.listing", "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["summary"] == {"cases": 1, "passed": 1, "failed": 0, "case_file_errors": 0}
    assert report["cases"][0]["id"] == "items.listing::listing"


def test_contract_json_lists_differences(tmp_path: Path) -> None:
    registry = contract_project(tmp_path, {"items.item": FAILING})
    result = run_contract(registry, "--format", "json")
    assert result.exit_code == 1
    (case,) = json.loads(result.output)["cases"]
    assert {"where": "/side", "legacy": "legacy", "modern": "modern"}.items() <= case[
        "differences"
    ][0].items()


def test_contract_junit(tmp_path: Path) -> None:
    registry = contract_project(tmp_path, {"items.item": FAILING})
    result = run_contract(registry, "--format", "junit")
    assert result.exit_code == 1
    assert result.output.lstrip().startswith("<?xml")
    assert 'failures="1"' in result.output


@pytest.mark.parametrize("fmt", ["table", "junit"])
def test_contract_closes_its_store_and_leaves_no_temporary_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    import tempfile

    from routeshift.store.sql import Store

    made: list[str] = []
    mkdtemp = tempfile.mkdtemp

    def recording_mkdtemp(*args: Any, **kwargs: Any) -> str:
        made.append(mkdtemp(*args, **kwargs))
        return made[-1]

    closed: list[str] = []
    close = Store.close

    def recording_close(self: Store) -> None:
        closed.append(self.url)
        close(self)

    monkeypatch.setattr(tempfile, "mkdtemp", recording_mkdtemp)
    monkeypatch.setattr(Store, "close", recording_close)
    registry = contract_project(tmp_path, {"items.item": FAILING})
    result = run_contract(registry, "--format", fmt)
    assert result.exit_code == 1, result.output
    assert len(closed) == 1
    assert [d for d in made if Path(d).exists()] == []
    assert bool(made) == (fmt == "junit")


def test_contract_bad_case_file_exits_2_with_file_line(tmp_path: Path) -> None:
    registry = contract_project(
        tmp_path, {"items.item": "cases:\n  - id: one\n    path: /items/1\n    jsn: {}\n"}
    )
    result = run_contract(registry)
    assert result.exit_code == 2
    assert "items.item.yaml:4" in result.output
    assert "Did you mean 'json'?" in result.output


def test_contract_a_case_the_gateway_never_sends_to_its_endpoint_exits_2(
    tmp_path: Path,
) -> None:
    """`/items/abc` matches no rule of items.item (its converter is int): legacy's 404
    answers it through the gateway, so comparing it with the port would prove nothing."""
    cases = "cases:\n  - id: one\n    path: /items/1\n  - id: abc\n    path: /items/abc\n"
    registry = contract_project(tmp_path, {"items.item": cases, "items.listing": PASSING})
    result = run_contract(registry)
    assert result.exit_code == 2, result.output
    assert "items.item.yaml:4: case 'abc': GET /items/abc is not a request of items.item" in (
        result.output
    )
    assert "no route (404)" in result.output
    # the other cases ran, and the endpoint is not verified while its case file is wrong
    assert "ok   items.listing::listing" in result.output
    assert "FAIL items.item::one" in result.output
    from routeshift.registry.load import load_registry
    from routeshift.store.sql import Store

    verifications = Store.for_registry(load_registry(registry)).verifications()
    assert (verifications["items.item"].passed, verifications["items.item"].failed) == (0, 2)
    assert verifications["items.listing"].ok


def test_contract_unknown_route_exits_2(tmp_path: Path) -> None:
    registry = contract_project(tmp_path, {"items.item": FAILING})
    result = run_contract(registry, "--route", "items.nope")
    assert result.exit_code == 2
    assert "no case file for items.nope" in result.output


def test_contract_bad_registry_exits_2(tmp_path: Path) -> None:
    path = write_registry(tmp_path, [dict(SHOP_ROUTES[0], state="moden")])
    result = run_contract(path)
    assert result.exit_code == 2
    assert "Did you mean 'modern'?" in result.output


def test_contract_empty_folder_exits_2(tmp_path: Path) -> None:
    registry = contract_project(tmp_path, {})
    result = run_contract(registry)
    assert result.exit_code == 2
    assert "no case files" in result.output


def test_contract_runs_are_recorded_in_the_store(tmp_path: Path) -> None:
    from routeshift.registry.load import load_registry
    from routeshift.store.sql import Store

    registry = contract_project(tmp_path, {"items.listing": PASSING, "items.item": FAILING})
    assert run_contract(registry).exit_code == 1
    verifications = Store.for_registry(load_registry(registry)).verifications()
    assert (tmp_path / "routeshift.db").is_file()
    assert verifications["items.listing"].ok
    assert not verifications["items.item"].ok
    assert (verifications["items.item"].passed, verifications["items.item"].failed) == (0, 1)


def test_contract_with_an_unusable_store_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = contract_project(tmp_path, {"items.listing": PASSING})
    monkeypatch.setenv("ROUTESHIFT_STORE_URL", "nosuchdialect://x")
    result = run_contract(registry)
    assert result.exit_code == 2
    assert "cannot open the store" in result.output


@pytest.mark.parametrize("command", ["routes", "status", "check"])
def test_a_read_only_command_runs_without_the_cyclic_collector_and_gives_it_back(
    shop_registry: Path, command: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Full collections walk every object of the imported apps (0.1-0.3 s each at 5,000
    routes); the short-lived commands hold them off, and a process that runs a command
    in-process (a test run) has its collector back after."""
    import gc

    from routeshift.cli import common

    seen: list[bool] = []
    real = common.load_registry

    def spy(*args: Any, **kwargs: Any) -> Any:
        seen.append(gc.isenabled())
        return real(*args, **kwargs)

    monkeypatch.setattr(common, "load_registry", spy)
    assert gc.isenabled()
    result = CliRunner().invoke(main, [command, "--registry", str(shop_registry)])
    assert result.exit_code in (0, 1), result.output
    assert seen == [False]
    assert gc.isenabled()
