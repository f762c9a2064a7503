"""The gateway with a port of every converter at the rule's translation, no modern_path:
it starts (the registry check finds each handler), the legacy Map picks the route, and
modern answers at `{x}` (`/things/{key}` for `<uuid:key>`) or `{x:path}`; the merged
OpenAPI document lists each route once."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import write_registry
from fixture_apps import converters

from routeshift.compat.openapi import STATE_KEY
from routeshift.serve.assemble import build_gateway
from routeshift.serve.gateway import Gateway

KEY = uuid.UUID("6f1c1a52-8c3e-4a8e-9f3b-2d2a1f0c9b7e")


def get(app: Any, url: str) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://shop.test") as client:
            return await client.get(url)

    return asyncio.run(go())


@pytest.fixture
def gateway(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Gateway]:
    monkeypatch.setenv("ROUTESHIFT_STORE_URL", f"sqlite:///{tmp_path / 'routeshift.db'}")
    routes = [
        {**route, "state": "legacy"} if route["endpoint"] == "narrow" else route
        for route in converters.registry_routes("modern")
    ]
    built = build_gateway(
        write_registry(tmp_path, routes),
        legacy_app=converters.create_legacy(),
        modern_app=converters.create_modern(),
        force_legacy=False,
        watch_interval=0,
    )
    yield built
    built.close()


@pytest.mark.parametrize(
    ("url", "side", "text"),
    [
        pytest.param(f"/things/{KEY}", "modern", f"uuid {KEY}", id="uuid"),
        pytest.param("/any/b", "modern", "any b", id="any"),
        pytest.param("/string/ab", "modern", "string ab", id="string-length"),
        pytest.param("/int/-3", "modern", "int -3", id="int-signed"),
        pytest.param("/float/1.5", "modern", "float 1.5", id="float"),
        pytest.param("/plain/p", "modern", "plain p", id="plain"),
        pytest.param("/default/d", "modern", "default d", id="default"),
        pytest.param("/path/a/b/raw", "modern", "path a/b", id="path"),
        pytest.param("/wide/a/b/c", "modern", "wide a/b/c", id="custom-part-isolating-false"),
        pytest.param("/narrow/abc", "legacy", "narrow abc", id="custom-kept-legacy"),
    ],
)
def test_each_converter_is_served_by_its_side(
    gateway: Gateway, url: str, side: str, text: str
) -> None:
    response = get(gateway, url)
    assert response.status_code == 200, response.text
    assert response.headers["x-served-by"] == side
    assert response.text.strip('"') == text


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("/things/not-a-uuid", id="uuid"),
        pytest.param("/any/c", id="any-other-choice"),
        pytest.param("/string/abc", id="string-wrong-length"),
    ],
)
def test_what_the_legacy_map_refuses_stays_legacy(gateway: Gateway, url: str) -> None:
    response = get(gateway, url)
    assert (response.status_code, response.headers["x-served-by"]) == (404, "legacy")


def test_the_merged_document_lists_each_rule_once(gateway: Gateway) -> None:
    document = get(gateway, "/openapi.json").json()
    thing = document["paths"]["/things/{key}"]["get"]
    assert thing[STATE_KEY] == "modern"
    assert thing["operationId"] == "thing_things__key__get"  # FastAPI's own operation
    assert document["paths"]["/narrow/{x}"]["get"][STATE_KEY] == "legacy"
    assert set(document["paths"]) == {p.replace(":path", "") for _, p in converters.RULES.values()}
    assert all(item["get"][STATE_KEY] for item in document["paths"].values())
    assert document["paths"]["/wide/{x}"]["get"][STATE_KEY] == "modern"  # as FastAPI writes it
