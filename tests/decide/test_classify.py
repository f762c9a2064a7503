"""routeshift.decide.classify: a request's side comes from the legacy Map, then the registry."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from routeshift.decide.decision import MODERN_ONLY, UNMATCHED, Side
from routeshift.serve.gateway import Gateway


def scope(method: str, path: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "http",
        "method": method,
        "path": path,
        "root_path": "",
        "headers": [(b"host", b"shop.test")],
        **extra,
    }


@pytest.mark.parametrize(
    ("method", "path", "side", "endpoint"),
    [
        pytest.param("GET", "/items/1", Side.MODERN, "items.item", id="ported-get"),
        pytest.param("POST", "/items/1", Side.LEGACY, "items.item", id="post-same-rule-legacy"),
        pytest.param("HEAD", "/items/1", Side.MODERN, "items.item", id="head-follows-get"),
        pytest.param("OPTIONS", "/items/1", Side.LEGACY, "items.item", id="options-legacy"),
        pytest.param("PATCH", "/items/1", Side.MODERN, MODERN_ONLY, id="modern-only-method"),
        pytest.param("DELETE", "/items/1", Side.LEGACY, UNMATCHED, id="405-is-legacy"),
        pytest.param(
            "GET", "/items/007", Side.MODERN, "items.item", id="leading-zeros-as-werkzeug"
        ),
        pytest.param("GET", "/items/abc", Side.LEGACY, UNMATCHED, id="int-converter-rejects"),
        pytest.param("GET", "/prices/1", Side.LEGACY, UNMATCHED, id="float-needs-dot"),
        pytest.param("GET", "/prices/1.5", Side.MODERN, "price", id="float"),
        pytest.param("GET", "/files/", Side.LEGACY, UNMATCHED, id="path-empty"),
        pytest.param("GET", "/files/a/b.txt", Side.MODERN, "file", id="path"),
        pytest.param("GET", "/pages/about", Side.MODERN, "page", id="any-with-modern-path"),
        pytest.param("GET", "/pages/other", Side.LEGACY, UNMATCHED, id="any-rejects"),
        pytest.param("GET", "/items", Side.LEGACY, UNMATCHED, id="trailing-slash-redirect"),
        pytest.param("GET", "/items//1", Side.LEGACY, UNMATCHED, id="double-slash-redirect"),
        pytest.param("GET", "/dirs", Side.LEGACY, UNMATCHED, id="strict-slash-redirect"),
        pytest.param("GET", "/new-feature", Side.MODERN, MODERN_ONLY, id="modern-only-path"),
        pytest.param("GET", "/docs", Side.MODERN, MODERN_ONLY, id="docs"),
        pytest.param("GET", "/openapi.json", Side.MODERN, MODERN_ONLY, id="openapi"),
        pytest.param("GET", "/nowhere", Side.LEGACY, UNMATCHED, id="unknown-path"),
        pytest.param("GET", "/boom", Side.LEGACY, "boom", id="registered-legacy"),
        pytest.param("GET", "/links", Side.LEGACY, "links", id="unregistered-is-legacy"),
    ],
)
def test_classify(shop_gateway: Gateway, method: str, path: str, side: Side, endpoint: str) -> None:
    decision = shop_gateway.routing.classifier.classify(scope(method, path))
    assert (decision.side, decision.endpoint) == (side, endpoint)


def test_head_is_served_as_get_only_when_modern_lacks_head(shop_gateway: Gateway) -> None:
    assert shop_gateway.routing.classifier.classify(scope("HEAD", "/items/1")).head_as_get
    assert not shop_gateway.routing.classifier.classify(scope("GET", "/items/1")).head_as_get


def test_options_and_405_carry_modern_only_methods(shop_gateway: Gateway) -> None:
    for method in ("OPTIONS", "DELETE"):
        decision = shop_gateway.routing.classifier.classify(scope(method, "/items/1"))
        assert decision.extra_allow == {"PATCH"}
    assert shop_gateway.routing.classifier.classify(scope("OPTIONS", "/boom")).extra_allow == set()


def test_root_path_is_stripped(shop_gateway: Gateway) -> None:
    decision = shop_gateway.routing.classifier.classify(
        scope("GET", "/shop/items/1", root_path="/shop")
    )
    assert decision.side is Side.MODERN


def test_force_legacy_keeps_modern_only_routes(
    shop_registry: Path, shop_apps: tuple[Any, Any]
) -> None:
    from routeshift.serve.assemble import build_gateway

    legacy, modern = shop_apps
    gateway = build_gateway(shop_registry, legacy_app=legacy, modern_app=modern, force_legacy=True)
    try:
        assert gateway.routing.classifier.classify(scope("GET", "/items/1")).side is Side.LEGACY
        assert gateway.routing.classifier.classify(scope("GET", "/new-feature")).side is Side.MODERN
    finally:
        gateway.bridge.close()


def test_host_matching_map_binds_per_request() -> None:
    from flask import Flask

    from routeshift.decide.classify import Classifier

    app = Flask(__name__, host_matching=True, static_host="static.test")

    @app.route("/", host="a.test")
    def a() -> str:
        return "a"

    @app.route("/", host="b.test")
    def b() -> str:
        return "b"

    classifier = Classifier(app.url_map, {}, (), frozenset())
    for host, endpoint in (("a.test", "a"), ("b.test", "b")):
        decision = classifier.classify(
            {"type": "http", "method": "GET", "path": "/", "headers": [(b"host", host.encode())]}
        )
        assert decision.endpoint == endpoint


def test_other_routing_answers_go_to_legacy() -> None:
    """werkzeug raises WebsocketMismatch for an HTTP request to a websocket rule: Flask
    answers it (400), the classifier does not raise."""
    from flask import Flask

    from routeshift.decide.classify import Classifier

    app = Flask(__name__)
    app.add_url_rule("/ws", "ws", lambda: "ws", websocket=True)
    classifier = Classifier(app.url_map, {}, (), frozenset())
    decision = classifier.classify({"type": "http", "method": "GET", "path": "/ws", "headers": []})
    assert (decision.side, decision.endpoint) == (Side.LEGACY, UNMATCHED)


# --- canary and shadow in the table ------------------------------------------------------


def table_for(entries: str, settings: str = "", **options: Any) -> dict[Any, Any]:
    from routeshift.decide.classify import build_table
    from routeshift.registry.load import parse_registry
    from routeshift.routes import LegacyRoute

    registry = parse_registry(
        f"legacy_app: l:app\nmodern_app: m:app\n{settings}routes:\n{entries}", Path("r.yaml")
    )
    legacy = [
        LegacyRoute("things.get", "/things/<int:id>", frozenset({"GET", "POST"}), ("id",)),
    ]
    return build_table(registry, legacy, frozenset({("/things/{id}", "GET")}), **options)


KEY_GET = ("things.get", "/things/<int:id>", "GET")
KEY_HEAD = ("things.get", "/things/<int:id>", "HEAD")
KEY_POST = ("things.get", "/things/<int:id>", "POST")


def test_canary_decision_carries_percent_and_cohort() -> None:
    table = table_for(
        "  - {endpoint: things.get, rule: '/things/<int:id>', methods: [GET, POST],"
        " state: canary, percent: 20, cohort: 'header:X-User'}\n"
    )
    for key in (KEY_GET, KEY_HEAD, KEY_POST):
        decision = table[key]
        assert decision.side is Side.LEGACY and decision.shadow is None
        assert decision.canary is not None
        assert (decision.canary.percent, str(decision.canary.cohort)) == (20, "header:x-user")
    assert table[KEY_HEAD].head_as_get  # the modern branch of a canary HEAD is a GET


def test_canary_takes_the_default_cohort() -> None:
    table = table_for(
        "  - {endpoint: things.get, rule: '/things/<int:id>', methods: [GET], state: canary,"
        " percent: 5}\n",
        settings="settings: {default_cohort: 'cookie:uid'}\n",
    )
    assert str(table[KEY_GET].canary.cohort) == "cookie:uid"


@pytest.mark.parametrize(("percent", "side"), [(0, Side.LEGACY), (100, Side.MODERN)])
def test_canary_at_the_ends_is_plain_legacy_or_modern(percent: int, side: Side) -> None:
    table = table_for(
        "  - {endpoint: things.get, rule: '/things/<int:id>', methods: [GET], state: canary,"
        f" percent: {percent}}}\n"
    )
    assert table[KEY_GET].side is side
    assert table[KEY_GET].canary is None and table[KEY_GET].shadow is None


def test_shadow_decision_carries_sample_and_the_routes_rules() -> None:
    table = table_for(
        "  - {endpoint: things.get, rule: '/things/<int:id>', methods: [GET, POST],"
        " state: shadow, sample: 0.5, shadow_writes: true, ignore: [/at]}\n"
    )
    get, post = table[KEY_GET], table[KEY_POST]
    assert get.side is Side.LEGACY and get.shadow is not None
    assert (get.shadow.sample, get.shadow.rules.ignore) == (0.5, ("/at",))
    assert post.shadow == get.shadow
    assert table[KEY_HEAD].shadow is not None


def test_shadow_with_sample_zero_is_plain_legacy() -> None:
    table = table_for(
        "  - {endpoint: things.get, rule: '/things/<int:id>', methods: [GET], state: shadow,"
        " sample: 0}\n"
    )
    assert table[KEY_GET].shadow is None and table[KEY_GET].side is Side.LEGACY


@pytest.mark.parametrize(
    "entry",
    [
        pytest.param("state: shadow", id="shadow"),
        pytest.param("state: canary, percent: 50", id="canary"),
        pytest.param("state: modern", id="modern"),
    ],
)
def test_force_legacy_turns_canary_and_shadow_off(entry: str) -> None:
    table = table_for(
        f"  - {{endpoint: things.get, rule: '/things/<int:id>', methods: [GET], {entry}}}\n",
        force_legacy=True,
    )
    decision = table[KEY_GET]
    assert (decision.side, decision.canary, decision.shadow) == (Side.LEGACY, None, None)


def test_the_decision_cache_drops_the_least_recently_used(
    shop_gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Full, the cache forgets one decision, the one used longest ago: the paths a
    gateway serves all the time stay cached (it dropped every entry at once before)."""
    import routeshift.decide.classify as classify

    monkeypatch.setattr(classify, "CACHE_SIZE", 3)
    classifier = shop_gateway.routing.classifier
    for item in (1, 2, 3):
        classifier.classify(scope("GET", f"/items/{item}"))
    classifier.classify(scope("GET", "/items/1"))  # used again: now the most recent
    classifier.classify(scope("GET", "/items/4"))  # one too many: /items/2 goes
    assert list(classifier._cache) == [
        ("GET", "/items/3"),
        ("GET", "/items/1"),
        ("GET", "/items/4"),
    ]


# --- the entry each decision carries (scope["state"]["routeshift_route"]) ---------------


@pytest.mark.parametrize(
    "entry",
    [
        pytest.param("state: modern", id="modern"),
        pytest.param("state: canary, percent: 100", id="canary-100"),
        pytest.param("state: shadow", id="shadow"),
        pytest.param("state: legacy", id="legacy"),
    ],
)
def test_a_listed_route_decision_carries_its_entry(entry: str) -> None:
    table = table_for(
        f"  - {{endpoint: things.get, rule: '/things/<int:id>', methods: [GET], {entry},"
        " error_format: fastapi}\n"
    )
    for key in (KEY_GET, KEY_HEAD):
        carried = table[key].entry
        assert carried is not None
        assert (carried.endpoint, carried.error_format) == ("things.get", "fastapi")
    assert table[KEY_POST].entry is None  # POST is not in the registry: plain legacy


def test_the_modern_branch_of_a_canary_carries_the_entry() -> None:
    table = table_for(
        "  - {endpoint: things.get, rule: '/things/<int:id>', methods: [GET], state: canary,"
        " percent: 30}\n"
    )
    decision = table[KEY_GET]
    assert decision.canary is not None
    assert decision.canary.modern.entry is decision.entry is not None


def test_decisions_compare_without_their_entry() -> None:
    """The entry rides along: a decision's identity is its side, route and mode."""
    table = table_for(
        "  - {endpoint: things.get, rule: '/things/<int:id>', methods: [GET], state: modern}\n"
    )
    from routeshift.decide.decision import Decision

    plain = Decision(Side.MODERN, "things.get", "/things/<int:id>")
    assert table[KEY_GET] == plain and hash(table[KEY_GET]) == hash(plain)


def test_modern_only_and_unmatched_decisions_carry_no_entry(shop_gateway: Gateway) -> None:
    classify = shop_gateway.routing.classifier.classify
    assert classify(scope("GET", "/new-feature")).entry is None
    assert classify(scope("GET", "/nowhere")).entry is None
    assert classify(scope("GET", "/links")).entry is None  # not in the registry
    ported = classify(scope("GET", "/items/1")).entry
    assert ported is not None and (ported.endpoint, ported.state.value) == ("items.item", "modern")


def test_a_rule_without_a_view_is_no_port() -> None:
    """A name to build URLs of (flaskr's view-less index, a build-only rule of a removed
    view) stands for no port: a modern route at its path stays modern-only."""
    from routeshift.decide.classify import ported_paths
    from routeshift.registry.load import parse_registry
    from routeshift.routes import LegacyRoute

    registry = parse_registry("legacy_app: l:app\nmodern_app: m:app\nroutes: []\n", Path("r.yaml"))
    legacy = [
        LegacyRoute("kept", "/kept", frozenset({"GET"}), ()),
        LegacyRoute("gone", "/gone/<int:n>", frozenset({"GET"}), ("n",), has_view=False),
    ]
    assert ported_paths(registry, legacy) == {("/kept", "GET"), ("/kept", "HEAD")}
