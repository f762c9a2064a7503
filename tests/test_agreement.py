"""The contract harness, shadow and the gateway agree on every request of one corpus.

Each request of the corpus goes to the harness (legacy and modern sides), to the gateway
with every route legacy, to the gateway with every route modern, and to the gateway with
every route in shadow. The harness's legacy answer is the legacy gateway's, its modern
answer is the modern gateway's, and its verdict is the shadow copy's; a request the
harness refuses as a case of another endpoint is one the gateway never sends to that
endpoint's port.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import SHOP_ROUTES, write_registry

from routeshift.apps.pair import load_apps
from routeshift.compare import Reply
from routeshift.errors import CaseFileError
from routeshift.prove.cases import case
from routeshift.prove.harness import Harness
from routeshift.registry.load import load_registry
from routeshift.serve.assemble import build_gateway
from routeshift.serve.gateway import Gateway
from routeshift.store.records import Observation, ShadowResult

#: (endpoint, method, path): the shop's pitfalls, and requests that belong elsewhere
CORPUS = [
    ("items.item", "GET", "/items/1"),
    ("items.item", "GET", "/items/001"),
    ("items.item", "GET", "/items/%EF%BC%91"),  # a fullwidth 1: werkzeug's int takes it
    ("items.item", "HEAD", "/items/1"),
    ("items.item", "OPTIONS", "/items/1"),
    ("items.item", "POST", "/items/1"),
    ("items.item", "GET", "/items/abc"),  # no rule: legacy's 404
    ("items.listing", "GET", "/items/"),
    ("items.listing", "GET", "/items"),  # legacy's redirect to /items/
    ("price", "GET", "/prices/1.5"),
    ("price", "GET", "/prices/1"),  # werkzeug's float needs a dot: no rule
    ("file", "GET", "/files/a/b.txt"),
    ("page", "GET", "/pages/about"),
    ("page", "GET", "/pages/other"),  # not one of any(about, help)
    ("dirs", "GET", "/dirs/"),
    ("both", "GET", "/both"),
    ("both", "HEAD", "/both"),
    ("boom", "GET", "/boom"),  # both sides raise
]

NEVER_COMPARED = {"date", "server", "content-length", "x-served-by"}


def registry_in(folder: Path, state: str) -> Path:
    """The shop's registry with every route that has a port in `state`."""
    folder.mkdir()
    routes = []
    for route in SHOP_ROUTES:
        entry = dict(route)
        if (entry["endpoint"], entry["methods"]) != ("both", ["DELETE"]):  # no port
            entry["state"] = state
            if state == "shadow" and entry["methods"] != ["GET"]:
                entry["shadow_writes"] = True
        routes.append(entry)
    return write_registry(folder, routes)


@pytest.fixture(scope="module")
def sides(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from fixture_apps import fastapi_shop, flask_shop

    base = tmp_path_factory.mktemp("agreement")
    gateways: dict[str, Gateway] = {}
    for state in ("legacy", "modern", "shadow"):
        gateways[state] = build_gateway(
            registry_in(base / state, state),
            legacy_app=flask_shop.create_app(),
            modern_app=fastapi_shop.create_app(),
            force_legacy=False,
            watch_interval=0,
        )
    registry = load_registry(base / "legacy" / "migration_status.yaml")
    apps = load_apps(
        registry, legacy_app=flask_shop.create_app(), modern_app=fastapi_shop.create_app()
    )
    harness = Harness(registry, apps, find_noise=False)
    yield {"harness": harness, **gateways}
    harness.close()
    for gateway in gateways.values():
        gateway.close()


def through(gateway: Gateway, method: str, path: str) -> tuple[Reply, list[Observation]]:
    """The gateway's answer, and what its shadow runs observed meanwhile."""
    seen: list[Observation] = []
    gateway.shadow.record = seen.append

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=gateway, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as http:
            response = await http.request(method, path)
        await gateway.shadow.drain(5)
        return response

    response = asyncio.run(go())
    headers = tuple((k.lower(), v) for k, v in response.headers.multi_items())
    return Reply(response.status_code, headers, response.content), seen


def visible(reply: Reply) -> tuple[int, list[tuple[str, str]], bytes]:
    return reply.status, sorted(h for h in reply.headers if h[0] not in NEVER_COMPARED), reply.body


@pytest.mark.parametrize(
    ("endpoint", "method", "path"), CORPUS, ids=[f"{m} {p}" for _, m, p in CORPUS]
)
def test_contract_shadow_and_gateway_agree(
    sides: dict[str, Any], endpoint: str, method: str, path: str
) -> None:
    harness: Harness = sides["harness"]
    checked = case(endpoint, method, path)
    legacy_gateway, _ = through(sides["legacy"], method, path)
    modern_gateway, _ = through(sides["modern"], method, path)
    shadowed, observed = through(sides["shadow"], method, path)
    assert visible(shadowed) == visible(legacy_gateway)  # shadow never touches the answer
    try:
        result = harness.run(checked)
    except CaseFileError:
        # not a request of that endpoint: the gateway leaves it to legacy in every state,
        # and shadow copies nothing
        assert modern_gateway.headers == legacy_gateway.headers
        assert dict(modern_gateway.headers)["x-served-by"] == "legacy"
        assert visible(modern_gateway) == visible(legacy_gateway)
        assert observed == []
        return
    assert visible(result.legacy) == visible(legacy_gateway)
    assert visible(result.modern) == visible(modern_gateway)
    if method == "OPTIONS":  # legacy answers it in every state: nothing to copy
        assert observed == []
        return
    (observation,) = observed
    if result.modern_raised is not None:  # an error in both: with what the port raised
        assert observation.result is ShadowResult.ERROR and not result.passed
        assert observation.error is not None
        assert observation.error.splitlines()[0] == result.modern_raised.headline
        return
    assert observation.result in (ShadowResult.MATCH, ShadowResult.MISMATCH)
    assert (observation.result is ShadowResult.MATCH) == result.passed
    assert (observation.legacy_status, observation.modern_status) == (
        result.legacy.status,
        result.modern.status,
    )
    pointers = sorted(d.where for d in observation.differences)
    assert pointers == sorted(d.where for d in result.comparison.differences)
