"""routeshift.track.report: progress figures and their formats, from hand-built inputs."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

import pytest

from routeshift.registry.model import Entry, Registry, RegistryModel
from routeshift.routes import LegacyRoute, ModernRoute
from routeshift.store.records import ShadowResult, ShadowSummary, StoredMismatch, Verification
from routeshift.track.report.html import format_status_html
from routeshift.track.report.markdown import format_status_markdown
from routeshift.track.report.progress import (
    SCHEMA,
    Progress,
    RouteProgress,
    Tally,
    build_progress,
    percent,
    status_document,
)
from routeshift.track.report.table import format_status_table

NOW = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)


def entry(endpoint: str, rule: str, methods: list[str], state: str, **extra: Any) -> Entry:
    return Entry(endpoint=endpoint, rule=rule, methods=tuple(methods), state=state, **extra)


def legacy(endpoint: str, rule: str, *methods: str) -> LegacyRoute:
    return LegacyRoute(endpoint, rule, frozenset(methods or ("GET",)), ())


def progress(
    entries: list[Entry],
    routes: list[LegacyRoute],
    modern: list[ModernRoute] | None = None,
    *,
    verifications: Mapping[str, Verification] | None = None,
    cases: Collection[str] = (),
    shadow: Mapping[str, ShadowSummary] | None = None,
) -> Progress:
    model = RegistryModel(legacy_app="old:app", modern_app="new:app", routes=tuple(entries))
    return build_progress(
        Registry(Path("migration_status.yaml"), model),
        routes,
        modern or [],
        verifications=verifications or {},
        case_endpoints=cases,
        generated_at=NOW,
        shadow=shadow,
    )


def run(endpoint: str, passed: int, failed: int = 0) -> Verification:
    return Verification(endpoint, passed, failed, NOW - dt.timedelta(hours=1))


def route(result: Progress, endpoint: str, rule: str | None = None) -> RouteProgress:
    (found,) = [
        r for r in result.routes if r.endpoint == endpoint and (rule is None or r.rule == rule)
    ]
    return found


# --- figures ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("part", "whole", "expected"),
    [
        pytest.param(1, 3, 33.3, id="one-decimal"),
        pytest.param(5, 5, 100.0, id="all"),
        pytest.param(0, 5, 0.0, id="none"),
        pytest.param(4999, 5000, 99.9, id="never-100-before-the-end"),
        pytest.param(1, 5000, 0.1, id="never-0-once-started"),
        pytest.param(0, 0, None, id="nothing-to-count"),
    ],
)
def test_percent(part: int, whole: int, expected: float | None) -> None:
    assert percent(part, whole) == expected


def test_unregistered_routes_count_in_the_denominator() -> None:
    result = progress(
        [entry("a.x", "/x", ["GET"], "modern"), entry("a.y", "/y", ["GET"], "modern")],
        [legacy("a.x", "/x"), legacy("a.y", "/y"), legacy("b.z", "/z")],
    )
    assert result.by_method == Tally(modern=2, unregistered=1)
    assert result.by_method.total == 3
    # every registered route is modern, and still not 100 %: one is missing
    assert result.by_method.modern_percent == 66.7
    assert result.by_route.modern_percent == 66.7
    assert route(result, "b.z").state == "unregistered"


def test_head_options_and_static_are_not_counted() -> None:
    result = progress(
        [entry("pages.show", "/p", ["GET", "HEAD"], "modern")],
        [
            legacy("pages.show", "/p", "GET", "HEAD", "OPTIONS"),
            legacy("static", "/static/<path:filename>", "GET"),
            legacy("pages.static", "/pages/static/<path:filename>", "GET"),
            legacy("probe", "/probe", "OPTIONS"),
        ],
    )
    assert [(r.endpoint, [m.method for m in r.methods]) for r in result.routes] == [
        ("pages.show", ["GET"])
    ]
    assert result.by_method == Tally(modern=1)
    assert result.by_method.modern_percent == 100.0


def test_an_endpoint_with_two_rules_is_two_routes() -> None:
    result = progress(
        [entry("pages.show", "/p/<int:id>", ["GET"], "modern")],
        [legacy("pages.show", "/p/<int:id>"), legacy("pages.show", "/p/<slug>")],
    )
    assert route(result, "pages.show", "/p/<int:id>").state == "modern"
    assert route(result, "pages.show", "/p/<slug>").state == "unregistered"
    assert result.by_route == Tally(modern=1, unregistered=1)
    (blueprint,) = result.blueprints
    assert blueprint.name == "pages" and len(blueprint.routes) == 2


def test_a_route_partly_modern_counts_its_modern_methods_only() -> None:
    result = progress(
        [
            entry("items.item", "/items/<int:id>", ["GET"], "modern"),
            entry("items.item", "/items/<int:id>", ["POST", "DELETE"], "legacy"),
        ],
        [legacy("items.item", "/items/<int:id>", "GET", "POST", "DELETE")],
    )
    item = route(result, "items.item")
    assert [(m.method, m.state) for m in item.methods] == [
        ("DELETE", "legacy"),
        ("GET", "modern"),
        ("POST", "legacy"),
    ]
    # a route is as far as its slowest method
    assert item.mixed and not item.modern and item.state == "legacy"
    assert result.by_method.modern_percent == 33.3
    assert result.by_route == Tally(legacy=1)


def test_a_route_with_an_unregistered_method_is_unregistered() -> None:
    result = progress(
        [entry("both", "/both", ["GET"], "modern")],
        [legacy("both", "/both", "GET", "DELETE")],
    )
    assert route(result, "both").state == "unregistered"
    assert result.by_method == Tally(modern=1, unregistered=1)


def test_shadow_and_canary_are_counted_apart() -> None:
    result = progress(
        [
            entry("a", "/a", ["GET"], "shadow"),
            entry("b", "/b", ["GET"], "canary", percent=5),
            entry("c", "/c", ["GET"], "legacy"),
        ],
        [legacy("a", "/a"), legacy("b", "/b"), legacy("c", "/c")],
    )
    assert result.by_method == Tally(legacy=1, shadow=1, canary=1)
    assert result.by_method.modern_percent == 0.0
    assert result.by_method.verified_percent is None


def test_verified_means_modern_with_a_passing_latest_run() -> None:
    names = ["ok", "failing", "never", "empty", "legacy_ok"]
    result = progress(
        [
            *(entry(name, f"/{name}", ["GET"], "modern") for name in names[:4]),
            entry("legacy_ok", "/legacy_ok", ["GET"], "legacy"),
        ],
        [legacy(name, f"/{name}") for name in names],
        verifications={
            "ok": run("ok", 3),
            "failing": run("failing", 2, 1),
            "empty": run("empty", 0),
            "legacy_ok": run("legacy_ok", 4),
        },
    )
    assert {r.endpoint for r in result.routes if r.verified} == {"ok"}
    assert result.by_method.verified == 1
    assert result.by_method.verified_percent == 25.0  # of the 4 modern
    assert route(result, "failing").verification == run("failing", 2, 1)
    assert route(result, "never").verification is None


def test_ready_to_promote_is_the_readiness_rule() -> None:
    """Handler, cases and a passing latest run: the rule `check` and `promote` use."""
    names = ["ready", "no_cases", "failing", "no_handler", "shadowed", "done", "half"]
    result = progress(
        [
            *(entry(name, f"/{name}", ["GET"], "legacy") for name in names[:4]),
            entry("shadowed", "/shadowed", ["GET"], "shadow"),
            entry("done", "/done", ["GET"], "modern"),
            entry("half", "/half", ["GET"], "legacy"),  # POST is unregistered
        ],
        [*(legacy(name, f"/{name}") for name in names[:6]), legacy("half", "/half", "GET", "POST")],
        [ModernRoute(f"/{n}", frozenset({"GET", "POST"}), n) for n in names if n != "no_handler"],
        verifications={name: run(name, 2) for name in names} | {"failing": run("failing", 1, 1)},
        cases=set(names) - {"no_cases"},
    )
    assert {r.endpoint for r in result.routes if r.ready} == {"ready", "shadowed"}
    page = format_status_html(result)
    assert page.count("ready to promote") == 2
    assert "routeshift promote ready --to modern" in page


def test_a_passing_run_verifies_only_the_modern_methods_of_a_route() -> None:
    result = progress(
        [
            entry("item", "/item", ["GET"], "modern"),
            entry("item", "/item", ["POST"], "legacy"),
        ],
        [legacy("item", "/item", "GET", "POST")],
        verifications={"item": run("item", 5)},
    )
    item = route(result, "item")
    assert [(m.method, m.verified) for m in item.methods] == [("GET", True), ("POST", False)]
    assert not item.verified
    assert (result.by_method.verified, result.by_route.verified) == (1, 0)


def test_handlers_cases_and_owners() -> None:
    result = progress(
        [
            entry("item", "/items/<int:id>", ["GET"], "modern", owner="team-b"),
            entry("item", "/items/<int:id>", ["POST"], "legacy", owner="team-a"),
            entry("page", "/pages/<any(a, b):name>", ["GET"], "modern", modern_path="/p/{name}"),
        ],
        [
            legacy("item", "/items/<int:id>", "GET", "POST"),
            legacy("page", "/pages/<any(a, b):name>"),
        ],
        [
            ModernRoute("/items/{id}", frozenset({"GET"}), "item"),
            ModernRoute("/p/{name}", frozenset({"GET"}), "page"),
        ],
        cases={"item"},
    )
    item, page = route(result, "item"), route(result, "page")
    assert [(m.method, m.modern_handler) for m in item.methods] == [("GET", True), ("POST", False)]
    assert not item.modern_handler
    assert item.owner == "team-a, team-b"
    assert item.has_cases and not page.has_cases
    assert page.modern_handler and page.fastapi_path == "/p/{name}"
    assert page.owner is None


def test_routes_are_grouped_by_blueprint() -> None:
    result = progress(
        [entry("users.get", "/u/<int:id>", ["GET"], "modern")],
        [
            legacy("users.get", "/u/<int:id>"),
            legacy("index", "/"),
            legacy("admin.users.ban", "/admin/ban", "POST"),
            legacy("users.create", "/u", "POST"),
        ],
    )
    assert [(b.name, b.label) for b in result.blueprints] == [
        ("", "(app)"),
        ("admin.users", "admin.users"),
        ("users", "users"),
    ]
    users = result.blueprints[2]
    assert [r.endpoint for r in users.routes] == ["users.get", "users.create"]
    assert users.by_method == Tally(modern=1, unregistered=1)
    assert sum(b.by_method.total for b in result.blueprints) == result.by_method.total == 4


def test_readable_reprs() -> None:
    result = progress([entry("a", "/a", ["GET"], "modern")], [legacy("a", "/a", "GET", "POST")])
    assert repr(route(result, "a")) == "RouteProgress('a', '/a', [GET modern, POST unregistered])"
    assert repr(result.by_method) == "Tally(unregistered=1, modern=1, verified=0)"


# --- the JSON document ----------------------------------------------------------------


def test_status_document_schema() -> None:
    result = progress(
        [entry("users.get", "/u/<int:id>", ["GET"], "modern", owner="team")],
        [legacy("users.get", "/u/<int:id>"), legacy("index", "/")],
        verifications={"users.get": run("users.get", 2)},
        cases={"users.get"},
    )
    document = json.loads(json.dumps(status_document(result)))
    assert document["schema"] == SCHEMA == "routeshift.status/1"
    assert set(document) == {
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
    assert dt.datetime.fromisoformat(document["generated_at"]) == NOW
    assert document["totals"]["by_method"] == {
        "total": 2,
        "unregistered": 1,
        "legacy": 0,
        "shadow": 0,
        "canary": 0,
        "modern": 1,
        "verified": 1,
        "modern_percent": 50.0,
        "verified_percent": 100.0,
    }
    assert [b["name"] for b in document["blueprints"]] == ["", "users"]
    assert set(document["blueprints"][1]) == {"name", "by_method", "by_route"}
    users_get = document["routes"][1]
    assert users_get == {
        "endpoint": "users.get",
        "rule": "/u/<int:id>",
        "blueprint": "users",
        "fastapi_path": "/u/{id}",
        "state": "modern",
        "owner": "team",
        "modern_handler": False,
        "has_cases": True,
        "verified": True,
        "verification": {
            "passed": 2,
            "failed": 0,
            "ok": True,
            "run_at": "2024-05-01T11:00:00+00:00",
        },
        "methods": [
            {"method": "GET", "state": "modern", "modern_handler": False, "verified": True}
        ],
        "percent": None,
        "sample": None,
        "shadow": None,
        "traffic": None,
        "ready": False,
    }


def test_nothing_to_count() -> None:
    result = progress([], [])
    assert result.blueprints == ()
    assert status_document(result)["totals"]["by_method"]["modern_percent"] is None
    assert "n/a" in format_status_table(result)
    assert "n/a" in format_status_markdown(result)
    assert "n/a" in format_status_html(result)


# --- formats --------------------------------------------------------------------------

HOSTILE = '<script>alert("owned")</script> | *bold* & co'


@pytest.fixture
def shop() -> Progress:
    return progress(
        [
            entry("items.item", "/items/<int:id>", ["GET"], "modern", owner=HOSTILE),
            entry("items.item", "/items/<int:id>", ["POST"], "legacy"),
            entry("items.listing", "/items/", ["GET"], "modern", owner="team-catalog"),
            entry("index", "/", ["GET"], "legacy"),
        ],
        [
            legacy("items.item", "/items/<int:id>", "GET", "POST"),
            legacy("items.listing", "/items/"),
            legacy("index", "/"),
            legacy("about", "/about"),
        ],
        [ModernRoute("/items/", frozenset({"GET"}), "listing")],
        verifications={
            "items.listing": run("items.listing", 3),
            "items.item": run("items.item", 0, 1),
        },
        cases={"items.listing", "items.item"},
    )


def test_table(shop: Progress) -> None:
    text = format_status_table(shop)
    assert "\x1b[" not in text
    assert "2 of 5 route methods modern (40%); 1 of 4 routes modern (25%); " in text
    assert "1 of 2 modern methods verified (50%); 1 unregistered." in text
    assert re.search(
        r"items\.listing +/items/ +modern +team-catalog +yes +yes +yes +3/3 passed", text
    )
    assert re.search(r"about +/about +unregistered", text)
    assert "failed" in text  # items.item: GET modern, its latest run failed
    assert all(line == line.rstrip() for line in text.splitlines())


def test_table_in_colour_on_a_terminal(shop: Progress) -> None:
    text = format_status_table(shop, color=True, width=100)
    assert "\x1b[" in text


def test_html_is_one_self_contained_page(shop: Progress) -> None:
    page = format_status_html(shop)
    assert page.startswith("<!doctype html>") and page.rstrip().endswith("</html>")
    assert "<style>" in page
    for external in ("http://", "https://", "<script", "<link", "src=", "@import", "url("):
        assert external not in page
    assert "<title>routeshift status: 40% modern</title>" in page


def test_html_escapes_what_the_registry_says(shop: Progress) -> None:
    page = format_status_html(shop)
    assert "&lt;script&gt;alert(&quot;owned&quot;)&lt;/script&gt; | *bold* &amp; co" in page
    assert "<code>/items/&lt;int:id&gt;</code>" in page


def test_html_progress_bars(shop: Progress) -> None:
    page = format_status_html(shop)
    bars = re.findall(r'<div class="bar"[^>]*>(.*?)</div>', page)
    assert len(bars) == 1 + len(shop.blueprints)
    segments = re.findall(r'<i class="(\w+)" style="width:([\d.]+)%"', bars[0])
    # 5 route methods: 1 modern verified, 1 modern not, 2 legacy, 1 unregistered
    assert segments == [
        ("verified", "20.000"),
        ("modern", "20.000"),
        ("legacy", "40.000"),
        ("unregistered", "20.000"),
    ]


def cells(row: str) -> list[str]:
    """The cells of a markdown table row, `\\|` kept inside its cell."""
    return [cell.strip() for cell in re.split(r"(?<!\\)\|", row.strip())[1:-1]]


def test_markdown_for_a_pull_request_comment(shop: Progress) -> None:
    text = format_status_markdown(shop)
    lines = text.splitlines()
    assert lines[0] == "### routeshift status: 40% modern"
    assert lines[2].startswith("**2 of 5 route methods modern (40%)** · 1 of 4 routes modern")
    assert "`old:app` → `new:app`, 2024-05-01 12:00 UTC" in lines
    summary = lines.index(
        "| blueprint | methods modern | routes modern | verified | unregistered |"
    )
    assert cells(lines[summary + 2]) == ["(app)", "0/2 (0%)", "0/2 (0%)", "–", "1"]
    assert cells(lines[summary + 3]) == ["items", "2/3 (66.7%)", "1/2 (50%)", "1/2 (50%)", "0"]
    # one collapsible table per blueprint, eight cells in every row
    assert text.count("<details><summary>") == text.count("</details>") == 2
    rows = [line for line in lines if line.startswith("| `")]
    assert len(rows) == 4 and all(len(cells(row)) == 8 for row in rows)
    item = next(row for row in rows if row.startswith("| `items.item`"))
    assert cells(item)[2:4] == [
        "GET modern, POST legacy",
        '\\<script\\>alert("owned")\\</script\\> \\| \\*bold\\* \\& co',
    ]
    assert cells(item)[6] == "❌"
    listing = next(row for row in rows if row.startswith("| `items.listing`"))
    assert cells(listing)[6:] == ["✅", "3/3 passed 2024-05-01 11:00"]


def test_a_large_route_table_is_plain_columns(
    shop: Progress, monkeypatch: pytest.MonkeyPatch
) -> None:
    import routeshift.track.report.table as table

    rich_text = format_status_table(shop)
    monkeypatch.setattr(table, "RICH_ROUTE_LIMIT", 1)
    plain_text = format_status_table(shop)
    assert plain_text != rich_text
    lines = plain_text.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("ROUTE "))
    assert lines[header].split() == [
        "ROUTE",
        "RULE",
        "STATE",
        "OWNER",
        "HANDLER",
        "CASES",
        "VERIFIED",
        "LAST",
        "RUN",
    ]
    assert {line.split()[0] for line in lines[header + 1 :]} == {r.endpoint for r in shop.routes}


# --- shadow and canary --------------------------------------------------------------------


@pytest.fixture
def moving() -> Progress:
    return progress(
        [
            entry("sampled", "/sampled", ["GET"], "shadow", sample=0.1),
            entry("shadowed", "/shadowed", ["GET"], "shadow"),
            entry("canaried", "/canaried", ["GET"], "canary", percent=5),
            entry("mixed", "/mixed", ["GET"], "canary", percent=12.5),
            entry("mixed", "/mixed", ["POST"], "legacy"),
        ],
        [
            legacy("sampled", "/sampled"),
            legacy("shadowed", "/shadowed"),
            legacy("canaried", "/canaried"),
            legacy("mixed", "/mixed", "GET", "POST"),
        ],
    )


def test_states_carry_their_figures_in_the_table(moving: Progress) -> None:
    text = format_status_table(moving)
    assert "2 route methods in shadow, 2 in canary." in text
    assert re.search(r"sampled +/sampled +shadow \(sample 10%\) ", text)
    assert re.search(r"shadowed +/shadowed +shadow +", text)
    assert re.search(r"canaried +/canaried +canary 5% ", text)
    assert "GET canary 12.5%" in text and "POST legacy" in text
    assert "SHADOW MATCH" not in text  # no shadow runs in the store: no such columns


def test_states_carry_their_figures_in_markdown(moving: Progress) -> None:
    lines = format_status_markdown(moving).splitlines()
    assert "2 route methods in shadow, 2 in canary." in lines
    rows = {cells(line)[0]: cells(line) for line in lines if line.startswith("| `")}
    assert rows["`sampled`"][2] == "shadow (sample 10%)"
    assert rows["`canaried`"][2] == "canary 5%"
    assert rows["`mixed`"][2] == "GET canary 12.5%, POST legacy"
    assert all(len(row) == 8 for row in rows.values())


def test_nothing_in_flight_says_nothing(shop: Progress) -> None:
    assert " in shadow" not in format_status_table(shop)
    assert " in canary" not in format_status_markdown(shop)


def summary(endpoint: str, match: int, mismatch: int, *where: str) -> ShadowSummary:
    latest = StoredMismatch(
        id=42,
        at=NOW,
        endpoint=endpoint,
        method="GET",
        rule="/x",
        path="/x",
        legacy_status=200,
        modern_status=200,
        differences=tuple({"where": w, "legacy": 1, "modern": 2} for w in where),
        worker=1,
        result=ShadowResult.MISMATCH,
    )
    return ShadowSummary(
        endpoint=endpoint,
        runs=match + mismatch,
        match=match,
        mismatch=mismatch,
        error=0,
        timeout=0,
        legacy_ms_p50=3.0,
        modern_ms_p50=2.0,
        latest_mismatch=latest if where else None,
    )


@pytest.fixture
def shadowed() -> Progress:
    return progress(
        [
            entry("a", "/a", ["GET"], "shadow"),
            entry("b", "/b", ["GET"], "shadow"),
            entry("c", "/c", ["GET"], "legacy"),
        ],
        [legacy("a", "/a"), legacy("b", "/b"), legacy("c", "/c")],
        shadow={
            "a": summary("a", 39, 1, "/created_at", "status"),
            "b": summary("b", 10, 0),
        },
    )


def test_shadow_runs_in_the_table(shadowed: Progress) -> None:
    text = format_status_table(shadowed)
    assert re.search(r"SHADOW MATCH +LATEST MISMATCH", text)
    assert re.search(r"a +/a +shadow .* 97\.5% of 40 +#42 /created_at \+1$", text, re.M)
    assert re.search(r"b +/b +shadow .* 100% of 10 +-$", text, re.M)
    assert re.search(r"c +/c +legacy .* - +-$", text, re.M)


def test_shadow_runs_in_the_plain_table(
    shadowed: Progress, monkeypatch: pytest.MonkeyPatch
) -> None:
    import routeshift.track.report.table as table

    monkeypatch.setattr(table, "RICH_ROUTE_LIMIT", 1)
    lines = format_status_table(shadowed).splitlines()
    header = next(line for line in lines if line.startswith("ROUTE "))
    assert header.endswith("LAST RUN  SHADOW MATCH  LATEST MISMATCH")
    (row,) = [line for line in lines if line.startswith("a ")]
    assert row.endswith("97.5% of 40   #42 /created_at +1")


def test_shadow_runs_in_markdown(shadowed: Progress) -> None:
    lines = format_status_markdown(shadowed).splitlines()
    assert (
        "| route | rule | state | owner | handler | cases | verified | last run (UTC) |"
        " shadow match | latest mismatch |"
    ) in lines
    rows = {cells(line)[0]: cells(line) for line in lines if line.startswith("| `")}
    assert rows["`a`"][8:] == ["97.5% of 40", "`#42 /created_at +1`"]
    assert rows["`b`"][8:] == ["100% of 10", "–"]
    assert rows["`c`"][8:] == ["–", "–"]


def test_shadow_runs_in_the_status_document(shadowed: Progress) -> None:
    routes = {r["endpoint"]: r for r in status_document(shadowed)["routes"]}
    assert routes["a"]["shadow"]["match_rate"] == 97.5
    assert routes["a"]["shadow"]["latest_mismatch"]["id"] == 42
    assert routes["c"]["shadow"] is None
    json.dumps(status_document(shadowed))


def test_retired_entries_are_said_apart_and_not_counted() -> None:
    result = progress(
        [
            entry("a", "/a", ["GET"], "modern"),
            entry("gone", "/gone", ["POST", "PUT"], "modern", retired=True),
        ],
        [legacy("a", "/a")],  # the legacy app no longer has "gone"
    )
    assert result.by_method == Tally(modern=1)
    said = "2 route methods retired (the view removed; not counted): gone POST, PUT /gone."
    assert said in format_status_table(result).splitlines()
    assert said in format_status_markdown(result).splitlines()
    assert f'<p class="retired">{said}</p>' in format_status_html(result)
    assert status_document(result)["retired"] == [
        {"endpoint": "gone", "rule": "/gone", "methods": ["POST", "PUT"], "state": "modern"}
    ]


def test_no_retired_entry_says_nothing(shop: Progress) -> None:
    assert "retired" not in format_status_table(shop)
    assert status_document(shop)["retired"] == []
