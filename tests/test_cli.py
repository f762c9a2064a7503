"""routeshift.cli through click's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

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
