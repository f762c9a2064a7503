"""The example behind its gateway: a login made on legacy's POST /login is the modern
side's too, and what a modern route does to the session is Flask's.

Through the real gateway (routeshift.serve.assemble.build_gateway) over the shipped
migration_status.yaml, or a copy of it with some routes rolled back to legacy, and one
client keeping its cookies as a browser does.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from fastapi import FastAPI

import legacy_flask
from legacy_flask.database import dispose_engines
from modern_api import create_app
from modern_api.deps import FlaskSession
from routeshift.compat import FlaskJSONResponse
from routeshift.serve.assemble import build_gateway
from routeshift.serve.gateway import Gateway

ROOT = Path(__file__).resolve().parents[2]
REGISTRY = ROOT / "migration_status.yaml"

BOB = {
    "id": 2,
    "name": "Bob",
    "email": "bob@example.com",
    "age": 25,
    "role": "user",
    "created_at": "Sat, 03 Feb 2024 04:05:06 GMT",
}
NOT_LOGGED_IN = (
    b"<!doctype html>\n<html lang=en>\n<title>401 Unauthorized</title>\n"
    b"<h1>Unauthorized</h1>\n<p>Not logged in</p>\n"
)

Browse = Callable[[httpx.AsyncClient], Coroutine[Any, Any, None]]


@pytest.fixture(autouse=True)
def databases(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The example's database and the gateway's store, both in tmp_path."""
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'example.db'}")
    monkeypatch.setenv("ROUTESHIFT_STORE_URL", f"sqlite:///{tmp_path / 'routeshift.db'}")
    yield
    dispose_engines()


def registry_with(tmp_path: Path, **states: str) -> Path:
    """The shipped registry, or a copy in tmp_path with these endpoints' states."""
    if not states:
        return REGISTRY
    document = yaml.safe_load(REGISTRY.read_text(encoding="utf-8"))
    for entry in document["routes"]:
        entry["state"] = states.pop(entry["endpoint"].replace(".", "_"), entry["state"])
    assert not states, f"not in the registry: {states}"
    path = tmp_path / "migration_status.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


@asynccontextmanager
async def browser(gateway: Gateway) -> AsyncIterator[httpx.AsyncClient]:
    """One client with a cookie jar, through the gateway."""
    transport = httpx.ASGITransport(app=gateway)
    async with httpx.AsyncClient(transport=transport, base_url="http://example.test") as client:
        yield client


def browse(registry: Path, steps: Browse, modern_app: FastAPI | None = None) -> None:
    """Build the gateway over the example's apps and run `steps` with one browser."""
    gateway = build_gateway(
        registry,
        legacy_app=legacy_flask.app,
        modern_app=modern_app or create_app(),
        force_legacy=False,
        watch_interval=0,
    )

    async def run() -> None:
        async with browser(gateway) as client:
            await steps(client)

    try:
        asyncio.run(run())
    finally:
        gateway.close()


async def log_in(client: httpx.AsyncClient, email: str = "bob@example.com") -> httpx.Response:
    login = await client.post("/login", json={"email": email})
    assert (login.status_code, login.headers["x-served-by"]) == (200, "legacy")
    assert "session" in client.cookies
    return login


def test_a_login_on_legacy_is_honoured_by_the_modern_me(tmp_path: Path) -> None:
    async def steps(client: httpx.AsyncClient) -> None:
        login = await log_in(client)
        me = await client.get("/me")
        assert (me.status_code, me.headers["x-served-by"]) == (200, "modern")
        assert me.json() == BOB
        assert me.content == login.content  # jsonify(user.to_dict()), byte for byte
        assert me.headers["vary"] == "Cookie"  # as Flask's session writes it

    browse(registry_with(tmp_path), steps)


def test_the_modern_me_without_a_login_is_legacys_401_page(tmp_path: Path) -> None:
    async def steps(client: httpx.AsyncClient) -> None:
        me = await client.get("/me")
        assert (me.status_code, me.headers["x-served-by"]) == (401, "modern")
        assert me.headers["content-type"] == "text/html; charset=utf-8"
        assert me.content == NOT_LOGGED_IN

    browse(registry_with(tmp_path), steps)


@pytest.mark.parametrize(
    "states",
    [
        pytest.param({}, id="shipped-both-modern"),
        pytest.param({"auth_me": "legacy"}, id="logout-modern-me-legacy"),
    ],
)
def test_a_logout_on_one_side_is_seen_by_the_other(tmp_path: Path, states: dict[str, str]) -> None:
    """The logout's view is retired: the port serves it whatever the entry's state."""
    me_side = states.get("auth_me", "modern")
    logout_side = "modern"

    async def steps(client: httpx.AsyncClient) -> None:
        await log_in(client)
        me = await client.get("/me")
        assert (me.status_code, me.headers["x-served-by"]) == (200, me_side)
        logout = await client.post("/logout")
        assert (logout.status_code, logout.headers["x-served-by"]) == (200, logout_side)
        assert logout.content == b'{"ok":true}\n'
        assert "session" not in client.cookies  # Flask's deletion of the cookie
        me = await client.get("/me")
        assert (me.status_code, me.headers["x-served-by"]) == (401, me_side)
        assert me.content == NOT_LOGGED_IN

    browse(registry_with(tmp_path, **states), steps)


def test_legacy_pages_still_build_the_url_of_the_retired_view(tmp_path: Path) -> None:
    """auth.logout's view is gone from the legacy app; its home page (legacy) still calls
    url_for("auth.logout") for a logged-in user, and gets /logout, which the port serves."""

    async def steps(client: httpx.AsyncClient) -> None:
        anonymous = await client.get("/")
        assert (anonymous.status_code, anonymous.headers["x-served-by"]) == (200, "legacy")
        assert b'class="logout"' not in anonymous.content
        await log_in(client)
        home = await client.get("/")
        assert (home.status_code, home.headers["x-served-by"]) == (200, "legacy")
        assert b'<form class="logout" method="post" action="/logout">' in home.content
        logout = await client.post("/logout")
        assert (logout.status_code, logout.headers["x-served-by"]) == (200, "modern")
        after = await client.get("/")
        assert b'class="logout"' not in after.content

    browse(registry_with(tmp_path), steps)


def remembering(modern_app: FastAPI) -> FastAPI:
    """The example's port with one more (modern-only) route that writes the session."""

    @modern_app.post("/remember/{user_id}")
    async def remember(user_id: int, login: FlaskSession) -> FlaskJSONResponse:
        login["user_id"] = user_id
        return FlaskJSONResponse({"remembered": user_id})

    return modern_app


def test_a_session_value_set_on_a_modern_route_is_seen_by_a_legacy_view(tmp_path: Path) -> None:
    async def steps(client: httpx.AsyncClient) -> None:
        assert (await client.get("/me")).status_code == 401
        remembered = await client.post("/remember/2")
        assert (remembered.status_code, remembered.headers["x-served-by"]) == (200, "modern")
        me = await client.get("/me")
        assert (me.status_code, me.headers["x-served-by"]) == (200, "legacy")
        assert me.json() == BOB

    browse(registry_with(tmp_path, auth_me="legacy"), steps, remembering(create_app()))


def test_a_modern_route_changes_the_login_legacy_made(tmp_path: Path) -> None:

    async def steps(client: httpx.AsyncClient) -> None:
        await log_in(client, "alice@example.com")
        await client.post("/remember/2")
        me = await client.get("/me")
        assert (me.status_code, me.headers["x-served-by"]) == (200, "modern")
        assert me.json() == BOB

    browse(registry_with(tmp_path), steps, remembering(create_app()))


@pytest.mark.parametrize("direct", [True, False], ids=["direct-dispatch", "modern-router"])
def test_a_user_id_legacy_reads_is_the_ports_too(tmp_path: Path, direct: bool) -> None:
    """GET /users/%EF%BC%91 (a fullwidth 1): werkzeug's int converter reads 1 and Flask
    answers its user 1; the port gets the value legacy parsed, "1", and answers the same.
    With direct dispatch off the modern router parses the path itself and refuses it
    (FastAPI's 422, which the example's legacy error format turns into Flask's 404)."""
    document = yaml.safe_load(registry_with(tmp_path, users_get_user="modern").read_text())
    document.setdefault("settings", {})["direct_dispatch"] = direct
    registry = tmp_path / "migration_status.yaml"
    registry.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")

    async def steps(client: httpx.AsyncClient) -> None:
        wide = await client.get("/users/%EF%BC%91")
        assert wide.headers["x-served-by"] == "modern"
        if not direct:
            assert wide.status_code == 404
            return
        plain = await client.get("/users/1")
        assert (wide.status_code, wide.content) == (200, plain.content)
        legacy = legacy_flask.app.test_client().get("/users/%EF%BC%91")
        assert (legacy.status_code, legacy.data) == (200, wide.content)

    browse(registry, steps)
