"""routeshift.registry.edit: registry edits that keep the user's file, compared as whole texts."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest
from flask import Blueprint, Flask

from routeshift.errors import EditError, RegistryError
from routeshift.registry.edit import (
    Action,
    Change,
    save_registry,
    set_state_text,
    sync_text,
    write_atomic,
)
from routeshift.registry.load import parse_registry
from routeshift.routes import LegacyRoute, legacy_routes

# The example's style: comments above, beside and between entries, blank lines, flow
# lists, quotes, an extra key order (owner before notes), settings after the routes.
TEXT = """\
# routeshift registry
#
# state: legacy | modern
legacy_app: shop:app        # "module:attribute"
modern_app: 'shop_api:app'

routes:
  # --- items ----------------------------------------------------------------
  - endpoint: items.item
    rule: /items/<int:item_id>
    methods: [GET, POST]   # one view, two methods
    state: legacy
    owner: team-items
    notes: "ported: the 404 envelope is legacy's"
    ignore: [/created_at]   # differs between any two runs

  # --- pages -------------------------------------------------------------------
  - endpoint: pages.show
    rule: /pages/<name>
    methods: [GET]
    state: "modern"
  - endpoint: pages.show
    rule: /p/<name>
    methods: [GET]
    state: modern   # the short alias

# gateway settings
settings:
  contracts_dir: contracts   # beside the registry
"""


def edited(text: str, *replacements: tuple[str, str]) -> str:
    """`text` with each (old, new) replaced exactly once."""
    for old, new in replacements:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return text


def route(endpoint: str, rule: str, *methods: str) -> LegacyRoute:
    return LegacyRoute(endpoint, rule, frozenset(methods), ())


def loads(text: str) -> None:
    parse_registry(text, Path("migration_status.yaml"))


# --- set_state_text ---------------------------------------------------------------------


def test_promote_changes_the_state_value_only() -> None:
    text, changes = set_state_text(TEXT, "items.item", "modern")
    assert text == edited(
        TEXT,
        (
            "    methods: [GET, POST]   # one view, two methods\n    state: legacy\n",
            "    methods: [GET, POST]   # one view, two methods\n    state: modern\n",
        ),
    )
    assert changes == (
        Change(
            Action.STATE, "items.item", "/items/<int:item_id>", ("GET", "POST"), "modern", "legacy"
        ),
    )
    loads(text)


def test_rollback_keeps_quotes_and_acts_on_every_rule_of_the_endpoint() -> None:
    text, changes = set_state_text(TEXT, "pages.show", "legacy")
    assert text == edited(
        TEXT,
        ('    state: "modern"\n', '    state: "legacy"\n'),
        ("    state: modern   # the short alias\n", "    state: legacy   # the short alias\n"),
    )
    assert [(c.rule, c.before, c.state) for c in changes] == [
        ("/pages/<name>", "modern", "legacy"),
        ("/p/<name>", "modern", "legacy"),
    ]


def test_rule_picks_one_entry_of_the_endpoint() -> None:
    text, changes = set_state_text(TEXT, "pages.show", "legacy", rule="/p/<name>")
    assert text == edited(
        TEXT, ("    state: modern   # the short alias\n", "    state: legacy   # the short alias\n")
    )
    assert [c.rule for c in changes] == ["/p/<name>"]


def test_a_state_already_set_changes_nothing() -> None:
    assert set_state_text(TEXT, "pages.show", "modern") == (TEXT, ())
    assert set_state_text(TEXT, "items.item", "legacy", method="GET") == (TEXT, ())


def test_method_splits_the_entry_and_both_keep_every_other_key() -> None:
    text, changes = set_state_text(TEXT, "items.item", "modern", method="get")
    assert text == edited(
        TEXT,
        (
            "    methods: [GET, POST]   # one view, two methods\n",
            "    methods: [POST]        # one view, two methods\n",
        ),
        (
            "    ignore: [/created_at]   # differs between any two runs\n",
            "    ignore: [/created_at]   # differs between any two runs\n"
            "  - endpoint: items.item\n"
            "    rule: /items/<int:item_id>\n"
            "    methods: [GET]         # one view, two methods\n"
            "    state: modern\n"
            "    owner: team-items\n"
            '    notes: "ported: the 404 envelope is legacy\'s"\n'
            "    ignore: [/created_at]   # differs between any two runs\n",
        ),
    )
    assert changes == (
        Change(
            Action.STATE, "items.item", "/items/<int:item_id>", ("GET",), "modern", "legacy", True
        ),
    )
    loads(text)
    # the split is stable: the same promotion again finds nothing to do
    assert set_state_text(text, "items.item", "modern", method="GET") == (text, ())


def test_split_of_a_block_list_in_the_safe_dump_style() -> None:
    text = (
        "legacy_app: a:app\nmodern_app: b:app\nroutes:\n"
        "- endpoint: both\n  rule: /both\n  methods:\n  - GET\n  - DELETE\n  state: legacy\n"
        "  owner: team\n"
        "# the end\n"
    )
    new, _ = set_state_text(text, "both", "modern", method="DELETE")
    assert new == (
        "legacy_app: a:app\nmodern_app: b:app\nroutes:\n"
        "- endpoint: both\n  rule: /both\n  methods:\n  - GET\n  state: legacy\n  owner: team\n"
        "- endpoint: both\n  rule: /both\n  methods:\n  - DELETE\n  state: modern\n  owner: team\n"
        "# the end\n"
    )


def test_percent_is_set_beside_the_state_with_canary_only() -> None:
    text, _ = set_state_text(TEXT, "pages.show", "canary", rule="/p/<name>", percent=5)
    assert text == edited(
        TEXT,
        (
            "    state: modern   # the short alias\n",
            "    state: canary   # the short alias\n    percent: 5\n",
        ),
    )
    with pytest.raises(EditError, match="canary only"):
        set_state_text(TEXT, "pages.show", "modern", percent=5)


def test_cohort_is_set_beside_the_percent_with_canary_only() -> None:
    text, changes = set_state_text(
        TEXT, "pages.show", "canary", rule="/p/<name>", percent=10, cohort="header:X-User-Id"
    )
    assert text == edited(
        TEXT,
        (
            "    state: modern   # the short alias\n",
            "    state: canary   # the short alias\n    percent: 10\n"
            "    cohort: header:X-User-Id\n",
        ),
    )
    assert [c.state for c in changes] == ["canary"]
    loads(text)
    with pytest.raises(EditError, match="a cohort goes with state canary only, not shadow"):
        set_state_text(TEXT, "pages.show", "shadow", cohort="client")


def test_cohort_of_a_canary_changes_that_line_only() -> None:
    canary, _ = set_state_text(
        TEXT, "pages.show", "canary", rule="/p/<name>", percent=10, cohort="cookie:uid"
    )
    text, changes = set_state_text(
        canary, "pages.show", "canary", rule="/p/<name>", cohort="client"
    )
    assert text == edited(canary, ("    cohort: cookie:uid\n", "    cohort: client\n"))
    assert [(c.before, c.state) for c in changes] == [("canary", "canary")]
    # the same cohort (a header name in another case) is nothing to do
    header, _ = set_state_text(canary, "pages.show", "canary", cohort="header:x-user-id")
    assert set_state_text(header, "pages.show", "canary", cohort="header:X-USER-ID") == (header, ())


def test_cohort_with_a_method_goes_to_the_split_entry_only() -> None:
    text, changes = set_state_text(
        TEXT, "items.item", "canary", method="POST", percent=5, cohort="header:X-User-Id"
    )
    assert [c.split for c in changes] == [True]
    entries = parse_registry(text, Path("migration_status.yaml")).routes
    by_methods = {e.methods: e for e in entries if e.endpoint == "items.item"}
    assert by_methods[("POST",)].cohort == "header:X-User-Id"
    assert by_methods[("POST",)].percent == 5
    assert by_methods[("GET",)].cohort is None and by_methods[("GET",)].state.value == "legacy"


@pytest.mark.parametrize(
    ("cohort", "message"),
    [
        pytest.param("header:", "names no header: write header:NAME", id="no-name"),
        pytest.param("header:X User", "is not a header name", id="space"),
        pytest.param("ip", "unknown cohort 'ip'", id="unknown"),
    ],
)
def test_a_bad_cohort_is_refused_with_the_reason(cohort: str, message: str) -> None:
    with pytest.raises(EditError, match=message):
        set_state_text(TEXT, "pages.show", "canary", percent=5, cohort=cohort)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        pytest.param(
            {"endpoint": "items.iten"},
            "no entry for endpoint 'items.iten'. Did you mean 'items.item'?",
            id="endpoint",
        ),
        pytest.param(
            {"endpoint": "pages.show", "rule": "/page/<name>"},
            "no entry with rule '/page/<name>'. Did you mean '/pages/<name>'?",
            id="rule",
        ),
        pytest.param(
            {"endpoint": "items.item", "method": "pots"},
            "no entry for method POTS. Did you mean 'POST'? Its methods: GET, POST.",
            id="method",
        ),
    ],
)
def test_unknown_routes_are_errors_that_name_the_nearest(
    arguments: dict[str, Any], message: str
) -> None:
    with pytest.raises(EditError) as info:
        set_state_text(TEXT, state="modern", **arguments)
    assert message in str(info.value)


def test_a_retired_entry_is_not_moved() -> None:
    text = TEXT.replace('    state: "modern"\n', '    state: "modern"\n    retired: true\n')
    new, changes = set_state_text(text, "pages.show", "legacy")
    assert [c.rule for c in changes] == ["/p/<name>"]
    with pytest.raises(EditError, match="retired"):
        set_state_text(text, "pages.show", "legacy", rule="/pages/<name>")


# --- sync_text ----------------------------------------------------------------------------


def shop_routes() -> tuple[LegacyRoute, ...]:
    """A Flask app with the registry's routes, a new view and a new method; static too."""
    app = Flask(__name__)
    items = Blueprint("items", __name__, url_prefix="/items")

    @items.route("/<int:item_id>", methods=["GET", "POST", "DELETE"])
    def item(item_id: int) -> str:
        return ""

    @items.route("/<int:item_id>/tags", methods=["PUT", "GET"])
    def tags(item_id: int) -> str:
        return ""

    pages = Blueprint("pages", __name__)

    @pages.route("/pages/<name>")
    @pages.route("/p/<name>")
    def show(name: str) -> str:
        return ""

    app.register_blueprint(items)
    app.register_blueprint(pages)

    @app.route("/on", methods=["OPTIONS"])  # only implicit methods: nothing to port
    def options_only() -> str:
        return ""

    return legacy_routes(app)


def test_sync_appends_new_routes_in_url_map_order_in_the_entries_style() -> None:
    text, changes = sync_text(TEXT, shop_routes())
    assert text == edited(
        TEXT,
        (
            "    state: modern   # the short alias\n",
            "    state: modern   # the short alias\n"
            "  - endpoint: items.item\n"
            "    rule: /items/<int:item_id>\n"
            "    methods: [DELETE]\n"
            "    state: legacy\n"
            "  - endpoint: items.tags\n"
            "    rule: /items/<int:item_id>/tags\n"
            "    methods: [GET, PUT]\n"
            "    state: legacy\n",
        ),
    )
    assert [(c.action, c.endpoint, c.methods) for c in changes] == [
        (Action.ADDED, "items.item", ("DELETE",)),
        (Action.ADDED, "items.tags", ("GET", "PUT")),
    ]
    loads(text)


def test_sync_twice_changes_nothing() -> None:
    once, _ = sync_text(TEXT, shop_routes())
    assert sync_text(once, shop_routes()) == (once, ())


def test_sync_retires_vanished_entries_and_restores_returning_ones() -> None:
    kept = [
        route("items.item", "/items/<int:item_id>", "GET", "POST"),
        route("pages.show", "/pages/<name>", "GET"),
    ]
    text, changes = sync_text(TEXT, kept)
    assert text == edited(
        TEXT,
        (
            "    state: modern   # the short alias\n",
            "    state: modern   # the short alias\n    retired: true\n",
        ),
    )
    assert changes == (Change(Action.RETIRED, "pages.show", "/p/<name>", ("GET",), "modern"),)
    assert sync_text(text, kept) == (text, ())
    back, changes = sync_text(text, [*kept, route("pages.show", "/p/<name>", "GET")])
    assert back == TEXT
    assert changes == (Change(Action.RESTORED, "pages.show", "/p/<name>", ("GET",), "modern"),)


def test_sync_retires_a_last_entry_without_moving_the_comments_after_it() -> None:
    text = (
        "legacy_app: a:app\nmodern_app: b:app\nroutes:\n"
        "  - endpoint: old\n    rule: /old\n    methods: [GET]\n    state: legacy\n"
        "\n# settings follow\nsettings:\n  contracts_dir: c\n"
    )
    new, _ = sync_text(text, [route("new", "/new", "GET")])
    assert new == (
        "legacy_app: a:app\nmodern_app: b:app\nroutes:\n"
        "  - endpoint: old\n    rule: /old\n    methods: [GET]\n    state: legacy\n"
        "    retired: true\n"
        "  - endpoint: new\n    rule: /new\n    methods: [GET]\n    state: legacy\n"
        "\n# settings follow\nsettings:\n  contracts_dir: c\n"
    )


@pytest.mark.parametrize(
    ("routes", "expected"),
    [
        pytest.param(
            "routes: []   # none yet\n",
            "routes:      # none yet\n"
            "  - endpoint: 'on'\n    rule: /on\n    methods: [GET]\n    state: legacy\n",
            id="empty-flow-list",
        ),
        pytest.param(
            "",
            "routes:\n  - endpoint: 'on'\n    rule: /on\n    methods: [GET]\n    state: legacy\n",
            id="no-routes-key",
        ),
    ],
)
def test_sync_starts_a_registry_without_routes(routes: str, expected: str) -> None:
    head = "legacy_app: a:app\nmodern_app: b:app\n"
    # `on` is a boolean to the registry's YAML 1.1 loader: the new entry quotes it
    text, _ = sync_text(head + routes + "# end\n", [route("on", "/on", "GET")])
    assert text == head + expected + "# end\n"
    loads(text)


def test_sync_follows_block_method_lists_and_windows_line_ends() -> None:
    text = (
        "legacy_app: a:app\r\nmodern_app: b:app\r\nroutes:\r\n"
        "- endpoint: a\r\n  rule: /a\r\n  methods:\r\n  - GET\r\n  state: legacy\r\n"
    )
    new, _ = sync_text(text, [route("a", "/a", "GET"), route("b", "/b", "POST")])
    assert (
        new == text + "- endpoint: b\r\n  rule: /b\r\n  methods:\r\n  - POST\r\n  state: legacy\r\n"
    )


def test_sync_with_nothing_to_do_returns_the_text_itself() -> None:
    routes = [
        route("items.item", "/items/<int:item_id>", "GET", "POST"),
        route("pages.show", "/pages/<name>", "GET"),
        route("pages.show", "/p/<name>", "GET"),
        route("static", "/static/<path:filename>", "GET"),
    ]
    assert sync_text(TEXT, routes) == (TEXT, ())


# --- what ruamel.yaml would tidy stays as the user wrote it ----------------------------


def test_lines_ruamel_would_reflow_are_kept() -> None:
    text = (
        "legacy_app: a:app\nmodern_app: b:app\nroutes:\n"
        "  - endpoint: a\n    rule: /a\n    methods: [GET,   POST]\n    state: legacy\n"
        "    notes: a note written\n      over two lines\n"
        "    ignore: [\n      /id,\n      /at,\n    ]\n"
    )
    new, _ = set_state_text(text, "a", "modern")
    assert new == text.replace("state: legacy", "state: modern")


# --- writing ------------------------------------------------------------------------------


def test_write_atomic_replaces_the_file_and_keeps_its_mode(tmp_path: Path) -> None:
    path = tmp_path / "migration_status.yaml"
    path.write_text("old\n", encoding="utf-8")
    path.chmod(0o640)
    write_atomic(path, "new\r\n")
    assert path.read_bytes() == b"new\r\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["migration_status.yaml"]


def test_write_atomic_replaces_the_file_a_symlink_points_to(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "migration_status.yaml"
    target.write_text("old\n", encoding="utf-8")
    link = tmp_path / "migration_status.yaml"
    link.symlink_to(target)
    write_atomic(link, "new\n")
    assert link.is_symlink() and target.read_text(encoding="utf-8") == "new\n"


def test_a_failed_write_leaves_the_file_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "migration_status.yaml"
    path.write_text("old\n", encoding="utf-8")

    def fail(source: Any, target: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        write_atomic(path, "new\n")
    assert path.read_text(encoding="utf-8") == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["migration_status.yaml"]


def test_save_registry_never_writes_an_invalid_registry(tmp_path: Path) -> None:
    path = tmp_path / "migration_status.yaml"
    path.write_text(TEXT, encoding="utf-8")
    with pytest.raises(RegistryError) as info:
        save_registry(path, TEXT.replace("state: legacy", "state: shadow"))
    assert f"{path}:12:" in str(info.value) and "`shadow_writes: true`" in str(info.value)
    assert path.read_text(encoding="utf-8") == TEXT
    new, _ = set_state_text(TEXT, "items.item", "modern")
    assert save_registry(path, new).routes[0].state.value == "modern"
    assert path.read_text(encoding="utf-8") == new


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        pytest.param("    state: modern\n", "    state: legacy\n", id="plain"),
        pytest.param(
            "    state: modern   # ported in May\n",
            "    state: legacy   # ported in May\n",
            id="comment-kept",
        ),
        pytest.param('    state: "modern"\n', '    state: "legacy"\n', id="quotes-kept"),
        pytest.param("    state: modern\r\n", "    state: legacy\r\n", id="crlf-kept"),
    ],
)
def test_a_state_change_touches_that_line_alone(line: str, expected: str) -> None:
    head = "legacy_app: a:app\nmodern_app: b:app\nroutes:\n"
    entry = "  - endpoint: e\n    rule: /e\n    methods: [GET]\n"
    other = "  - {endpoint: f, rule: /f, methods: [GET], state: modern}\n"
    text = head + entry + line + other
    new, changes = set_state_text(text, "e", "legacy")
    assert new == head + entry + expected + other
    assert [str(c) for c in changes] == ["e GET /e: modern -> legacy"]


def test_a_state_in_a_flow_mapping_still_changes() -> None:
    text = (
        "legacy_app: a:app\nmodern_app: b:app\nroutes:\n"
        "  - {endpoint: f, rule: /f, methods: [GET], state: modern}\n"
    )
    new, _ = set_state_text(text, "f", "legacy")
    assert "state: legacy" in new and "state: modern" not in new


def test_an_edit_over_a_file_that_changed_meanwhile_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "migration_status.yaml"
    read = "legacy_app: a:app\nmodern_app: b:app\nroutes: []\n"
    meanwhile = read + "# a rollback saved by hand meanwhile\n"
    path.write_text(meanwhile)
    with pytest.raises(EditError, match="changed while this command ran"):
        save_registry(path, read.replace("routes: []", "routes: []  # mine"), expected=read)
    assert path.read_text() == meanwhile
    save_registry(path, meanwhile + "# next\n", expected=meanwhile)
    assert path.read_text().endswith("# next\n")
