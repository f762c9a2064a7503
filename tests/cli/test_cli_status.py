"""routeshift status through click's CliRunner, on the shop apps and the example registry."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from conftest import SHOP_ROUTES, write_registry

import routeshift.cli.status  # noqa: F401  (registers the command on main)
from routeshift.apps.pair import load_apps
from routeshift.cli import main
from routeshift.compare import Difference
from routeshift.prove.cases import case
from routeshift.prove.harness import Harness
from routeshift.registry.load import load_registry
from routeshift.store.records import Observation, ShadowResult
from routeshift.store.redact import Redactor
from routeshift.store.sql import Store

EXAMPLE = Path(__file__).resolve().parents[2] / "migration_status.yaml"


@pytest.fixture(autouse=True)
def store_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test reads (and creates) its store in tmp_path, never beside a registry."""
    url = f"sqlite:///{tmp_path / 'store' / 'routeshift.db'}"
    monkeypatch.setenv("ROUTESHIFT_STORE_URL", url)
    return url


def status(registry: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["status", "--registry", str(registry), *args])


def document(registry: Path) -> dict[str, Any]:
    result = status(registry, "--format", "json")
    assert result.exit_code == 0, result.output
    parsed: dict[str, Any] = json.loads(result.stdout)
    return parsed


def test_json_on_the_shop(shop_registry: Path) -> None:
    report = document(shop_registry)
    assert set(report) == {
        "schema",
        "generated_at",
        "legacy_app",
        "modern_app",
        "totals",
        "blueprints",
        "routes",
        "history",
        "retired",
    }
    assert report["schema"] == "routeshift.status/1"
    assert dt.datetime.fromisoformat(report["generated_at"]).tzinfo is not None
    by_method = report["totals"]["by_method"]
    # 16 route methods: 7 modern, 3 legacy, 6 the registry does not list (echo has two)
    assert (by_method["total"], by_method["modern"], by_method["legacy"]) == (16, 7, 3)
    assert by_method["unregistered"] == 6
    assert by_method["modern_percent"] == 43.8
    assert by_method["verified"] == 0 and by_method["verified_percent"] == 0.0
    by_route = report["totals"]["by_route"]
    assert (by_route["modern"], by_route["total"]) == (5, 13)
    assert [b["name"] for b in report["blueprints"]] == ["", "items"]
    routes = {(r["endpoint"], r["rule"]): r for r in report["routes"]}
    assert not any(endpoint == "static" for endpoint, _ in routes)
    both = routes[("both", "/both")]
    assert both["state"] == "legacy"
    assert [(m["method"], m["state"], m["modern_handler"]) for m in both["methods"]] == [
        ("DELETE", "legacy", False),
        ("GET", "modern", True),
    ]
    assert routes[("page", "/pages/<any(about, help):name>")]["fastapi_path"] == "/pages/{name}"
    assert routes[("echo", "/echo")]["state"] == "unregistered"


def test_table_is_the_default(shop_registry: Path) -> None:
    result = status(shop_registry)
    assert result.exit_code == 0, result.output
    assert "7 of 16 route methods modern (43.8%)" in result.output
    assert "6 unregistered" in result.output
    assert "\x1b[" not in result.output


def test_markdown(shop_registry: Path) -> None:
    result = status(shop_registry, "--format", "markdown")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("### routeshift status: 43.8% modern\n")
    assert "<details><summary>items: 2 of 3 methods modern (66.7%)</summary>" in result.output
    assert "| `items.listing` | `/items/` | modern |" in result.output


def test_html_is_a_self_contained_page(shop_registry: Path) -> None:
    result = status(shop_registry, "--format", "html")
    assert result.exit_code == 0, result.output
    page = result.output
    assert page.startswith("<!doctype html>") and page.rstrip().endswith("</html>")
    assert "http://" not in page and "https://" not in page
    assert "<code>/items/&lt;int:item_id&gt;</code>" in page


def test_the_example_registry(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'example.db'}")
    report = document(EXAMPLE)
    by_method = report["totals"]["by_method"]
    assert (by_method["modern"], by_method["total"], by_method["unregistered"]) == (5, 10, 0)
    assert by_method["modern_percent"] == 50.0
    assert [b["name"] for b in report["blueprints"]] == ["auth", "main", "tasks", "users"]
    routes = {r["endpoint"]: r for r in report["routes"]}
    # case files in tests/contracts
    assert routes["users.get_user"]["has_cases"] and not routes["main.index"]["has_cases"]
    assert routes["users.get_user"]["owner"] == "team-accounts"
    markdown = status(EXAMPLE, "--format", "markdown")
    assert markdown.exit_code == 0, markdown.output
    assert "**5 of 10 route methods modern (50%)**" in markdown.output
    assert not (EXAMPLE.parent / "store").exists()


def test_bad_registry_exits_2_with_file_line(tmp_path: Path) -> None:
    path = write_registry(tmp_path, [dict(SHOP_ROUTES[0], state="moden")])
    result = status(path)
    assert result.exit_code == 2
    assert f"{path}:" in result.output and "Did you mean 'modern'?" in result.output


def test_app_that_fails_to_import_exits_2(tmp_path: Path) -> None:
    path = write_registry(tmp_path, [], legacy_app="no_such_module_here:app")
    result = status(path)
    assert result.exit_code == 2
    assert "cannot import module 'no_such_module_here'" in result.output


def test_store_that_cannot_be_opened_exits_2(
    shop_registry: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ROUTESHIFT_STORE_URL", "nosuchdialect://x")
    result = status(shop_registry, "--format", "json")
    assert result.exit_code == 2
    assert "cannot open the store 'nosuchdialect://x'" in result.output


def test_verified_after_a_recorded_contract_run(tmp_path: Path, store_url: str) -> None:
    routes = [
        dict(route, ignore=["/side"]) if route["endpoint"] == "items.listing" else route
        for route in SHOP_ROUTES
    ]
    path = write_registry(tmp_path, routes, settings={"contracts_dir": "contracts"})
    (tmp_path / "contracts").mkdir()
    for endpoint in ("items.listing", "items.item"):
        (tmp_path / "contracts" / f"{endpoint}.yaml").write_text("cases: []\n", encoding="utf-8")
    registry = load_registry(path)
    harness = Harness(registry, load_apps(registry))
    try:
        results = harness.run_all(
            [
                case("items.listing", "GET", "/items/"),  # differs only at /side, ignored
                case("items.item", "GET", "/items/1"),  # the port says side: modern
            ]
        )
    finally:
        harness.close()
    assert [r.passed for r in results] == [True, False]
    store = Store(store_url)
    store.record_contract_run([r.outcome() for r in results])
    store.close()

    report = document(path)
    by_method = report["totals"]["by_method"]
    assert (by_method["verified"], by_method["modern"], by_method["verified_percent"]) == (
        1,
        7,
        14.3,
    )
    routes = {r["endpoint"]: r for r in report["routes"]}
    listing, item = routes["items.listing"], routes["items.item"]
    assert listing["verified"] and listing["has_cases"]
    assert {k: listing["verification"][k] for k in ("passed", "failed", "ok")} == {
        "passed": 1,
        "failed": 0,
        "ok": True,
    }
    assert not item["verified"] and item["has_cases"]
    assert item["verification"]["failed"] == 1
    assert not routes["price"]["has_cases"] and routes["price"]["verification"] is None
    assert [b["by_method"]["verified"] for b in report["blueprints"]] == [0, 1]
    table = status(path)
    assert "1 of 7 modern methods verified (14.3%)" in table.output


def test_shadow_and_canary_routes_with_their_shadow_runs(tmp_path: Path, store_url: str) -> None:
    moved = {
        "items.listing": {"state": "shadow", "sample": 0.5},
        "price": {"state": "canary", "percent": 10},
    }
    routes = [dict(route, **moved.get(route["endpoint"], {})) for route in SHOP_ROUTES]
    path = write_registry(tmp_path, routes)

    def run(result: ShadowResult, *differences: Difference) -> Observation:
        return Observation(
            "items.listing", "GET", "/items/", "/items/", result, 200, 200, 4.0, 2.0, differences
        )

    store = Store(store_url)
    store.record_observations(
        [
            run(ShadowResult.MATCH),
            run(ShadowResult.MISMATCH, Difference("/side", "legacy", "modern")),
            run(ShadowResult.MATCH),
        ],
        Redactor(),
    )
    store.close()

    report = {r["endpoint"]: r for r in document(path)["routes"]}
    listing = report["items.listing"]
    assert (listing["state"], listing["sample"]) == ("shadow", 0.5)
    assert {k: listing["shadow"][k] for k in ("runs", "match", "mismatch", "match_rate")} == {
        "runs": 3,
        "match": 2,
        "mismatch": 1,
        "match_rate": 66.7,
    }
    assert listing["shadow"]["latest_mismatch"]["differences"][0]["where"] == "/side"
    assert (report["price"]["state"], report["price"]["percent"]) == ("canary", 10.0)
    assert report["price"]["shadow"] is None

    table = status(path)
    assert table.exit_code == 0, table.output
    assert "1 route method in shadow, 1 in canary." in table.output
    assert re.search(
        r"items\.listing +/items/ +shadow \(sample 50%\) .* 66\.7% of 3 +#2 /side", table.output
    )
    assert re.search(r"price +/prices/<float:amount> +canary 10% ", table.output)
    markdown = status(path, "--format", "markdown")
    assert "| 66.7% of 3 | `#2 /side` |" in markdown.output
