"""routeshift.classify: the side of a request comes from the legacy Map, then the registry."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from routeshift.classify import MODERN_ONLY, UNMATCHED, Side
from routeshift.gateway import Gateway


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
    decision = shop_gateway.classifier.classify(scope(method, path))
    assert (decision.side, decision.endpoint) == (side, endpoint)


def test_head_is_served_as_get_only_when_modern_lacks_head(shop_gateway: Gateway) -> None:
    assert shop_gateway.classifier.classify(scope("HEAD", "/items/1")).head_as_get
    assert not shop_gateway.classifier.classify(scope("GET", "/items/1")).head_as_get


def test_options_and_405_carry_modern_only_methods(shop_gateway: Gateway) -> None:
    for method in ("OPTIONS", "DELETE"):
        decision = shop_gateway.classifier.classify(scope(method, "/items/1"))
        assert decision.extra_allow == {"PATCH"}
    assert shop_gateway.classifier.classify(scope("OPTIONS", "/boom")).extra_allow == set()


def test_root_path_is_stripped(shop_gateway: Gateway) -> None:
    decision = shop_gateway.classifier.classify(scope("GET", "/shop/items/1", root_path="/shop"))
    assert decision.side is Side.MODERN


def test_force_legacy_keeps_modern_only_routes(
    shop_registry: Path, shop_apps: tuple[Any, Any]
) -> None:
    from routeshift.gateway import build_gateway

    legacy, modern = shop_apps
    gateway = build_gateway(shop_registry, legacy_app=legacy, modern_app=modern, force_legacy=True)
    try:
        assert gateway.classifier.classify(scope("GET", "/items/1")).side is Side.LEGACY
        assert gateway.classifier.classify(scope("GET", "/new-feature")).side is Side.MODERN
    finally:
        gateway.bridge.close()


def test_host_matching_map_binds_per_request() -> None:
    from flask import Flask

    from routeshift.classify import Classifier

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

    from routeshift.classify import Classifier

    app = Flask(__name__)
    app.add_url_rule("/ws", "ws", lambda: "ws", websocket=True)
    classifier = Classifier(app.url_map, {}, (), frozenset())
    decision = classifier.classify({"type": "http", "method": "GET", "path": "/ws", "headers": []})
    assert (decision.side, decision.endpoint) == (Side.LEGACY, UNMATCHED)
