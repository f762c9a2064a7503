"""Shared fixtures: registries written to tmp_path, the shop apps, a live uvicorn, a
PostgreSQL server."""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
import yaml
from postgres_server import REQUIRE_VARIABLE, PostgresUnavailable, TemporaryPostgres

SHOP_ROUTES: list[dict[str, Any]] = [
    {
        "endpoint": "items.item",
        "rule": "/items/<int:item_id>",
        "methods": ["GET"],
        "state": "modern",
    },
    {
        "endpoint": "items.item",
        "rule": "/items/<int:item_id>",
        "methods": ["POST"],
        "state": "legacy",
    },
    {"endpoint": "items.listing", "rule": "/items/", "methods": ["GET"], "state": "modern"},
    {"endpoint": "price", "rule": "/prices/<float:amount>", "methods": ["GET"], "state": "modern"},
    {"endpoint": "file", "rule": "/files/<path:name>", "methods": ["GET"], "state": "modern"},
    {
        "endpoint": "page",
        "rule": "/pages/<any(about, help):name>",
        "methods": ["GET"],
        "state": "modern",
        "modern_path": "/pages/{name}",
    },
    {"endpoint": "dirs", "rule": "/dirs/", "methods": ["GET"], "state": "modern"},
    {"endpoint": "both", "rule": "/both", "methods": ["GET"], "state": "modern"},
    {"endpoint": "both", "rule": "/both", "methods": ["DELETE"], "state": "legacy"},
    {"endpoint": "boom", "rule": "/boom", "methods": ["GET"], "state": "legacy"},
]


def http_scope(
    method: str = "GET",
    path: str = "/",
    *,
    host: str = "legacy.test",
    client: tuple[str, int] = ("203.0.113.7", 4321),
) -> dict[str, Any]:
    """An HTTP scope as uvicorn gives it, for calling an ASGI app by hand."""
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", host.encode())],
        "client": client,
        "server": (host, 80),
    }


def write_registry(
    folder: Path,
    routes: list[dict[str, Any]],
    *,
    legacy_app: str = "fixture_apps.flask_shop:app",
    modern_app: str = "fixture_apps.fastapi_shop:app",
    settings: dict[str, Any] | None = None,
    name: str = "migration_status.yaml",
) -> Path:
    document: dict[str, Any] = {
        "legacy_app": legacy_app,
        "modern_app": modern_app,
        "routes": routes,
    }
    if settings:
        document["settings"] = settings
    path = folder / name
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def shop_registry(tmp_path: Path) -> Path:
    return write_registry(tmp_path, [dict(r) for r in SHOP_ROUTES])


@pytest.fixture
def shop_apps() -> tuple[Any, Any]:
    from fixture_apps import fastapi_shop, flask_shop

    flask_shop.stream_gate.clear()
    flask_shop.wait_gate.clear()
    flask_shop.waiting.clear()
    fastapi_shop.events.clear()
    return flask_shop.create_app(), fastapi_shop.create_app()


@pytest.fixture
def shop_gateway(shop_registry: Path, shop_apps: tuple[Any, Any]) -> Any:
    from routeshift.serve.assemble import build_gateway

    legacy, modern = shop_apps
    gateway = build_gateway(shop_registry, legacy_app=legacy, modern_app=modern, force_legacy=False)
    yield gateway
    gateway.bridge.close()


class LiveServer:
    """uvicorn serving `app` on 127.0.0.1 in a thread of this process."""

    def __init__(self, app: Any, **config: Any) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port: int = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config.setdefault("log_level", "warning")
        self.server = uvicorn.Server(uvicorn.Config(app, lifespan="on", **config))
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()


@pytest.fixture
def live() -> Iterator[Callable[..., LiveServer]]:
    """live(app, **uvicorn_config) starts a real uvicorn; stopped after the test."""
    servers: list[LiveServer] = []

    def start(app: Any, **config: Any) -> LiveServer:
        server = LiveServer(app, **config)
        server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        with contextlib.suppress(Exception):
            server.stop()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[TemporaryPostgres]:
    """A PostgreSQL server of the test session's own (tests/postgres_server.py)."""
    try:
        server = TemporaryPostgres.start()
    except PostgresUnavailable as unavailable:
        if os.environ.get(REQUIRE_VARIABLE) == "1":
            pytest.fail(f"no PostgreSQL server ({REQUIRE_VARIABLE}=1): {unavailable}")
        pytest.skip(f"no PostgreSQL server: {unavailable}")
    yield server
    server.stop()


@pytest.fixture
def postgres_url(
    postgres_server: TemporaryPostgres, request: pytest.FixtureRequest
) -> Iterator[str]:
    """The URL of a new, empty database for this test on the session's server, dropped
    after it."""
    name = f"test_{hashlib.sha256(request.node.nodeid.encode()).hexdigest()[:16]}"
    yield postgres_server.new_database(name)
    postgres_server.drop_database(name)


class Shadowed:
    """What the gateway does to a shadow copy: scope["state"]["routeshift_shadow"] = True."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            scope = {**scope, "state": {**scope.get("state", {}), "routeshift_shadow": True}}
        await self.app(scope, receive, send)


@pytest.fixture
def thread_hops(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The thread hops the example's ports take from here on, one entry each: anyio's
    `to_thread.run_sync` (FastAPI's hop for sync code) and a `submit` to the database
    pool of the example's ports (`modern_api.deps.database_threads`)."""
    import anyio.to_thread

    from modern_api.deps import database_threads

    hops: list[str] = []
    run_sync, submit = anyio.to_thread.run_sync, database_threads.submit

    async def counted(func: Any, *args: Any, **kwargs: Any) -> Any:
        hops.append(repr(func))
        return await run_sync(func, *args, **kwargs)

    def submitted(func: Any, *args: Any) -> Any:
        hops.append(repr(func))
        return submit(func, *args)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counted)
    monkeypatch.setattr(database_threads, "submit", submitted)
    return hops


@pytest.fixture
def login_cookie() -> dict[str, str]:
    """The Cookie header of user 1's login, signed with the legacy app's session interface."""
    import legacy_flask
    from routeshift.apps.pair import signed_session

    name, value = signed_session(legacy_flask.app, {"user_id": 1})
    return {"Cookie": f"{name}={value}"}


@pytest.fixture
def port_request(
    thread_hops: list[str], login_cookie: dict[str, str]
) -> Callable[..., Awaitable[Any]]:
    """`await port_request(client, method, path, body, logged_in)`: one request of the
    example's hop counts, `thread_hops` then holding its hops only. A path with `{task}`
    gets a task made first; `logged_in` sends user 1's login."""

    async def send(client: Any, method: str, path: str, body: Any, logged_in: bool) -> Any:
        if "{task}" in path:
            created = await client.post("/tasks", json={"command": "report"})
            path = path.format(task=created.json()["id"])
        headers = login_cookie if logged_in else {}
        thread_hops.clear()
        return await client.request(method, path, json=body, headers=headers)

    return send


#: fixtures that start a real server or browser: a test using one is a `live` test
LIVE_FIXTURES = frozenset({"live", "browser", "postgres_server"})


@pytest.hookimpl(tryfirst=True)  # before `-m` selects by markers
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that runs a real server (`-m "not live"` leaves them out)."""
    for item in items:
        if LIVE_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.live)
