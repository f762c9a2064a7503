"""The gateway hands the modern app the route's registry entry in
`scope["state"]["routeshift_route"]`: for the requests the modern side serves (modern,
canary's modern cohorts, a HEAD served as GET) and for shadow copies; modern-only
routes get none. Through the real gateway of build_gateway(...)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import http_scope, write_registry
from fastapi import FastAPI, Request
from flask import Blueprint, Flask, jsonify

from routeshift.cohort import goes_modern
from routeshift.serve.assemble import build_gateway
from routeshift.serve.gateway import Gateway

Message = dict[str, Any]

ROUTES: list[dict[str, Any]] = [
    {
        "endpoint": "things.get",
        "rule": "/things/<int:thing_id>",
        "methods": ["GET"],
        "state": "modern",
        "error_format": "fastapi",
    },
    {
        "endpoint": "split",
        "rule": "/split",
        "methods": ["GET"],
        "state": "canary",
        "percent": 50,
        "cohort": "header:X-User",
    },
    {"endpoint": "copied", "rule": "/copied", "methods": ["GET"], "state": "shadow"},
    {"endpoint": "kept", "rule": "/kept", "methods": ["GET"], "state": "legacy"},
]


def create_legacy() -> Flask:
    app = Flask(__name__)
    things = Blueprint("things", __name__)

    @things.route("/things/<int:thing_id>")
    def get(thing_id: int) -> Any:
        return jsonify(side="legacy")

    app.register_blueprint(things)

    for endpoint in ("split", "copied", "kept"):
        app.add_url_rule(f"/{endpoint}", endpoint, lambda: jsonify(side="legacy"))
    return app


def create_modern(seen: list[dict[str, Any]]) -> FastAPI:
    app = FastAPI()

    def echo(request: Request) -> dict[str, Any]:
        state = request.scope.get("state") or {}
        entry = state.get("routeshift_route")
        answer = {
            "path": request.url.path,
            "endpoint": None if entry is None else entry.endpoint,
            "error_format": None if entry is None else entry.error_format,
            "shadow": bool(state.get("routeshift_shadow")),
            "user": state.get("user"),
        }
        seen.append(answer)
        return answer

    for path in ("/things/{thing_id}", "/split", "/copied", "/kept", "/extra"):
        app.add_api_route(path, echo, methods=["GET"])
    return app


@pytest.fixture
def seen() -> list[dict[str, Any]]:
    return []


@pytest.fixture
def gateway(tmp_path: Path, seen: list[dict[str, Any]]) -> Iterator[Gateway]:
    path = write_registry(tmp_path, ROUTES)
    built = build_gateway(
        path,
        legacy_app=create_legacy(),
        modern_app=create_modern(seen),
        force_legacy=False,
        watch_interval=0,
    )
    yield built
    built.close()


def request(gateway: Gateway, method: str, url: str, **kwargs: Any) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=gateway)
        async with httpx.AsyncClient(transport=transport, base_url="http://shop.test") as client:
            response = await client.request(method, url, **kwargs)
        await gateway.shadow.drain(10)  # a shadow copy runs in this loop, after the answer
        return response

    return asyncio.run(go())


def test_a_modern_route_gets_its_entry(gateway: Gateway) -> None:
    response = request(gateway, "GET", "/things/7")
    assert response.headers["x-served-by"] == "modern"
    assert response.json()["endpoint"] == "things.get"
    assert response.json()["error_format"] == "fastapi"


def test_a_head_served_as_get_gets_its_entry(gateway: Gateway, seen: list[Any]) -> None:
    response = request(gateway, "HEAD", "/things/7")
    assert (response.headers["x-served-by"], response.content) == ("modern", b"")
    assert [(s["endpoint"], s["error_format"]) for s in seen] == [("things.get", "fastapi")]


def test_the_modern_cohorts_of_a_canary_get_the_entry(gateway: Gateway, seen: list[Any]) -> None:
    modern_user = next(f"u{n}" for n in range(1000) if goes_modern("split", f"u{n}", 50))
    legacy_user = next(f"u{n}" for n in range(1000) if not goes_modern("split", f"u{n}", 50))
    response = request(gateway, "GET", "/split", headers={"X-User": modern_user})
    assert response.headers["x-served-by"] == "modern"
    assert (response.json()["endpoint"], response.json()["error_format"]) == ("split", "legacy")
    response = request(gateway, "GET", "/split", headers={"X-User": legacy_user})
    assert response.json() == {"side": "legacy"} and len(seen) == 1


def test_a_shadow_copy_gets_the_entry_beside_the_shadow_flag(
    gateway: Gateway, seen: list[Any]
) -> None:
    response = request(gateway, "GET", "/copied")
    assert response.json() == {"side": "legacy"}  # legacy answers the client
    assert [(s["endpoint"], s["shadow"]) for s in seen] == [("copied", True)]


def test_a_modern_only_route_gets_no_entry(gateway: Gateway) -> None:
    response = request(gateway, "GET", "/extra")
    assert response.headers["x-served-by"] == "modern"
    assert response.json()["endpoint"] is None


def test_a_legacy_route_reaches_modern_not_at_all(gateway: Gateway, seen: list[Any]) -> None:
    assert request(gateway, "GET", "/kept").json() == {"side": "legacy"}
    assert seen == []


def test_the_state_of_the_server_is_kept_and_left_as_it_was(
    gateway: Gateway, seen: list[Any]
) -> None:
    """uvicorn gives each request a state dict (its lifespan's, copied): the modern app
    sees its keys and the entry; the server's dict is not written to."""
    server_state = {"user": "alice"}
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    async def go() -> None:
        for path in ("/things/7", "/copied"):
            scope = http_scope("GET", path, host="shop.test")
            scope["state"] = server_state
            await gateway(scope, receive, send)
        await gateway.shadow.drain(10)

    asyncio.run(go())
    assert [(s["endpoint"], s["user"], s["shadow"]) for s in seen] == [
        ("things.get", "alice", False),
        ("copied", "alice", True),
    ]
    assert server_state == {"user": "alice"}
