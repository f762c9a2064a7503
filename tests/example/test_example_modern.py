"""The FastAPI port (modern_api): its own behaviour, and parity with legacy_flask."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import Shadowed
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from starlette.types import ASGIApp

import modern_api
from legacy_flask import create_app as create_legacy_app
from legacy_flask.database import dispose_engines
from modern_api import create_app
from routeshift.routes import flat_routes

pytestmark = pytest.mark.anyio


@pytest.fixture
def db_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh SQLite file for this test, also set as DATABASE_URL."""
    url = f"sqlite:///{tmp_path / 'example.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    yield url
    dispose_engines()


@pytest.fixture
def modern_app(db_url: str) -> FastAPI:
    return create_app(db_url)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@asynccontextmanager
async def serving(app: ASGIApp, lifespan_of: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client calling `app` in process, inside `lifespan_of`'s lifespan."""
    transport = httpx.ASGITransport(app=app)
    async with lifespan_of.router.lifespan_context(lifespan_of):
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


@pytest.fixture
async def client(modern_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with serving(modern_app, modern_app) as client:
        yield client


@pytest.fixture
def legacy_client(db_url: str) -> Iterator[httpx.Client]:
    app = create_legacy_app({"DATABASE_URL": db_url, "TESTING": True})
    transport = httpx.WSGITransport(app=app)
    with httpx.Client(transport=transport, base_url="http://testserver") as client:
        yield client


# --- parity with legacy: the routes shipped as "modern" ------------------------------


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("/users/1", id="user"),
        pytest.param("/users/999", id="user-404"),
        pytest.param("/users?page=1&per_page=1", id="page"),
        pytest.param("/users?page=abc", id="page-invalid"),
        pytest.param("/users?page=2&page=1&per_page=1", id="page-first-value"),
        pytest.param("/users?per_page=1000", id="per-page-capped"),
        pytest.param("/users?page=0", id="page-400"),
        pytest.param("/slow", id="slow"),
        pytest.param("/no/such/path", id="unmatched-404"),
        pytest.param("/tasks/none%3Cb%3E", id="task-404"),
        pytest.param("/me", id="me-401"),
    ],
)
async def test_ported_routes_answer_byte_for_byte_like_legacy(
    client: httpx.AsyncClient, legacy_client: httpx.Client, path: str
) -> None:
    legacy = legacy_client.get(path)
    modern = await client.get(path)
    assert modern.status_code == legacy.status_code
    assert modern.headers["content-type"] == legacy.headers["content-type"]
    assert modern.content == legacy.content


async def test_created_user_reads_the_same_from_both_apps(
    client: httpx.AsyncClient, legacy_client: httpx.Client
) -> None:
    created = await client.post("/users", json={"name": "Dora", "email": "dora@example.com"})
    assert created.status_code == 201
    legacy = legacy_client.get("/users/3")
    assert legacy.content == created.content == (await client.get("/users/3")).content


async def test_created_task_reads_the_same_from_both_apps(
    client: httpx.AsyncClient, legacy_client: httpx.Client
) -> None:
    created = legacy_client.post("/tasks", json={"command": "rotate logs"})
    assert created.status_code == 201
    task_id = created.json()["id"]
    assert (await client.get(f"/tasks/{task_id}")).content == created.content


# --- users -----------------------------------------------------------------------


async def test_create_then_get_user(client: httpx.AsyncClient) -> None:
    created = await client.post(
        "/users", json={"name": " Carol ", "email": "Carol@Example.com", "age": 41, "extra": 1}
    )
    assert created.status_code == 201
    assert created.headers["content-type"] == "application/json"
    body = created.json()
    assert (body["id"], body["name"], body["email"], body["age"], body["role"]) == (
        3,
        "Carol",
        "carol@example.com",
        41,
        "user",
    )
    assert (await client.get("/users/3")).json() == body


async def test_duplicate_email_is_legacys_409(client: httpx.AsyncClient) -> None:
    response = await client.post("/users", json={"name": "Al", "email": "Alice@example.com"})
    assert response.status_code == 409
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert b"<p>A user with email alice@example.com already exists</p>" in response.content


@pytest.mark.parametrize(
    ("body", "description"),
    [
        pytest.param({"email": "x@y.z"}, "name must be a non-empty string", id="no-name"),
        pytest.param(
            {"name": " ", "email": "x@y.z"}, "name must be a non-empty string", id="blank-name"
        ),
        pytest.param({"name": "X"}, "email must be a non-empty string", id="no-email"),
        pytest.param({"name": "X", "email": 5}, "email must be a non-empty string", id="email-int"),
        *(
            pytest.param(
                {"name": "X", "email": "x@y.z", "age": age},
                "age must be an integer between 0 and 150",
                id=f"age-{age!r}",
            )
            for age in (-1, 151, "30", True, 30.5)
        ),
        pytest.param(
            {"name": "X", "email": "x@y.z", "role": "superuser"},
            "role must be one of user, admin, moderator",
            id="bad-role",
        ),
        pytest.param(
            {"name": "X", "email": "x@y.z", "role": None},
            "role must be one of user, admin, moderator",
            id="null-role",
        ),
        pytest.param([], "Request body must be a JSON object", id="list"),
        pytest.param({}, "Request body must be a JSON object", id="empty-object"),
    ],
)
async def test_create_user_validation_is_legacys_400(
    client: httpx.AsyncClient, legacy_client: httpx.Client, body: Any, description: str
) -> None:
    response = await client.post("/users", json=body)
    assert response.status_code == 400
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert f"<p>{description}</p>".encode() in response.content
    assert response.content == legacy_client.post("/users", json=body).content


@pytest.mark.parametrize(
    "request_options",
    [
        pytest.param(
            {"content": b'{"name": "X"', "headers": {"content-type": "application/json"}},
            id="malformed",
        ),
        pytest.param({"content": b'{"name": "X", "email": "x@y.z"}'}, id="no-content-type"),
        pytest.param({"data": {"name": "X", "email": "x@y.z"}}, id="form"),
    ],
)
async def test_create_user_body_that_is_not_json_is_legacys_400(
    client: httpx.AsyncClient, request_options: dict[str, Any]
) -> None:
    response = await client.post("/users", **request_options)
    assert response.status_code == 400
    assert b"<p>Request body must be a JSON object</p>" in response.content


async def test_user_id_must_be_an_integer(client: httpx.AsyncClient) -> None:
    # behind the gateway the legacy Map never sends /users/abc here; alone, a path
    # parameter FastAPI cannot convert is what werkzeug's converter makes of it: the
    # legacy app's 404, through the legacy error envelope
    response = await client.get("/users/abc")
    assert response.status_code == 404
    assert b"<title>404 Not Found</title>" in response.content


# --- auth: legacy's login, read alone too ----------------------------------------------


async def test_me_alone_honours_a_login_made_on_legacy(
    client: httpx.AsyncClient, legacy_client: httpx.Client
) -> None:
    login = legacy_client.post("/login", json={"email": "bob@example.com"})
    cookie = {"Cookie": f"session={login.cookies['session']}"}
    me = await client.get("/me", headers=cookie)
    assert me.status_code == 200
    assert me.content == login.content == legacy_client.get("/me", headers=cookie).content


async def test_logout_answers_and_deletes_the_cookie_as_flask_does(
    client: httpx.AsyncClient, legacy_client: httpx.Client
) -> None:
    """The legacy view is retired; its answer was `jsonify(ok=True)` after
    `session.clear()`, which makes Flask delete the cookie."""
    login = legacy_client.post("/login", json={"email": "bob@example.com"})
    cookie = {"Cookie": f"session={login.cookies['session']}"}
    modern = await client.post("/logout", headers=cookie)
    assert (modern.status_code, modern.content) == (200, b'{"ok":true}\n')
    deleted = modern.headers["set-cookie"]  # werkzeug's delete_cookie, as Flask calls it
    assert deleted.startswith("session=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0;")
    assert {"HttpOnly", "Path=/"} <= {part.strip() for part in deleted.split(";")}


# --- tasks -----------------------------------------------------------------------


async def test_create_then_get_task(client: httpx.AsyncClient) -> None:
    created = await client.post("/tasks", json={"command": "  backup  ", "priority": "low"})
    assert created.status_code == 201
    task = created.json()
    assert (task["command"], task["priority"], task["status"]) == ("backup", "low", "queued")
    assert task["created_at"].endswith(" GMT")
    assert (await client.get(f"/tasks/{task['id']}")).json() == task


@pytest.mark.parametrize(
    ("body", "description"),
    [
        pytest.param({}, "Request body must be JSON", id="empty-object"),
        pytest.param({"priority": "low"}, "Missing required field: command", id="no-command"),
        pytest.param({"command": "  "}, "command must be a non-empty string", id="blank"),
        pytest.param({"command": 3}, "command must be a non-empty string", id="int"),
        pytest.param(
            {"command": "ls", "priority": "urgent"},
            "priority must be low, normal, or high",
            id="bad-priority",
        ),
    ],
)
async def test_create_task_validation_is_legacys_400(
    client: httpx.AsyncClient, body: dict[str, Any], description: str
) -> None:
    response = await client.post("/tasks", json=body)
    assert response.status_code == 400
    assert f"<p>{description}</p>".encode() in response.content


# --- modern-only, lifespan, shadow ----------------------------------------------------


async def test_health_is_modern_only(
    client: httpx.AsyncClient, legacy_client: httpx.Client
) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert legacy_client.get("/health").status_code == 404


async def test_lifespan_initialises_the_database_and_marks_the_app(
    modern_app: FastAPI, tmp_path: Path
) -> None:
    assert modern_app.state.started is False
    async with modern_app.router.lifespan_context(modern_app):
        assert modern_app.state.started is True
        assert (tmp_path / "example.db").exists()
    assert modern_app.state.started is False
    assert modern_app.state.stopped is True


async def test_module_level_app_reads_the_environment(db_url: str) -> None:
    async with serving(modern_api.app, modern_api.app) as client:
        assert (await client.get("/users/2")).json()["name"] == "Bob"


async def test_shadow_writes_are_rolled_back(
    modern_app: FastAPI, client: httpx.AsyncClient
) -> None:
    async with serving(Shadowed(modern_app), modern_app) as shadow:
        created = await shadow.post("/users", json={"name": "Ghost", "email": "ghost@example.com"})
        assert created.status_code == 201
        assert created.json()["id"] == 3
        task = await shadow.post("/tasks", json={"command": "haunt"})
        assert task.status_code == 201
    assert (await client.get("/users/3")).status_code == 404
    assert (await client.get("/users")).json()["total"] == 2
    assert (await client.get(f"/tasks/{task.json()['id']}")).status_code == 404
    # the same email is still free for the real request
    assert (
        await client.post("/users", json={"name": "G", "email": "ghost@example.com"})
    ).status_code == 201


async def test_shadow_duplicate_is_still_409(modern_app: FastAPI) -> None:
    async with serving(Shadowed(modern_app), modern_app) as shadow:
        response = await shadow.post("/users", json={"name": "A", "email": "alice@example.com"})
    assert response.status_code == 409


async def test_openapi_documents_the_ported_routes(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert set(paths) == {
        "/users",
        "/users/{user_id}",
        "/tasks",
        "/tasks/{task_id}",
        "/slow",
        "/me",
        "/logout",
        "/health",
    }
    parameters = {p["name"] for p in paths["/users"]["get"]["parameters"]}
    assert parameters == {"page", "per_page"}


#: every handler of the example's ports, with its thread hops: one for the database work
#: (`Database`'s read or write, in the pool where its connection opens and closes), none
#: for a handler without it; an error the legacy app renders (its HTML 404 and 401
#: pages) takes one more
EVERY_PORT = [
    pytest.param("GET", "/users/1", None, False, 200, 1, id="users.get_user"),
    pytest.param("GET", "/users/999", None, False, 404, 2, id="users.get_user-404"),
    pytest.param("GET", "/users?page=2&per_page=1", None, False, 200, 1, id="users.list_users"),
    pytest.param(
        "POST",
        "/users",
        {"name": "Zoe", "email": "zoe@example.com", "age": 30},
        False,
        201,
        1,
        id="users.create_user",
    ),
    pytest.param("POST", "/tasks", {"command": "report"}, False, 201, 1, id="tasks.create_task"),
    pytest.param("GET", "/tasks/{task}", None, False, 200, 1, id="tasks.get_task"),
    pytest.param("GET", "/me", None, True, 200, 1, id="auth.me"),
    pytest.param("GET", "/me", None, False, 401, 1, id="auth.me-401"),
    pytest.param("POST", "/logout", None, True, 200, 0, id="auth.logout"),
    pytest.param("GET", "/slow", None, False, 200, 0, id="main.slow"),
]


@pytest.mark.parametrize(("method", "path", "body", "logged_in", "status", "expected"), EVERY_PORT)
async def test_each_port_takes_the_fewest_thread_hops(
    client: httpx.AsyncClient,
    thread_hops: list[str],
    port_request: Callable[..., Awaitable[httpx.Response]],
    method: str,
    path: str,
    body: Any,
    logged_in: bool,
    status: int,
    expected: int,
) -> None:
    """No sync dependency in front of a handler (FastAPI would run it in a worker thread
    of its own, and its exit in another), no sync handler (anyio's hop, which costs
    three of the database pool's), the database opened in the pool's thread only, and
    the legacy session opened and saved on the event loop (Flask's signed cookie:
    signing, no I/O). Counted: anyio's `run_sync` and the pool's `submit`."""
    response = await port_request(client, method, path, body, logged_in)
    assert response.status_code == status, response.text
    assert len(thread_hops) == expected, thread_hops


def test_every_port_is_in_the_hop_count() -> None:
    """A handler added to the example gets a case in EVERY_PORT."""
    app = create_app("sqlite://")
    counted = {p.id.partition("-")[0] for p in EVERY_PORT if p.id}
    ported = {
        f"{route.endpoint.__module__.rpartition('.')[2]}.{route.name}"
        for route in flat_routes(app)
        if hasattr(route, "dependant") and route.path != "/health"
    }
    assert ported == counted


def test_no_port_has_a_sync_dependency() -> None:
    """Every dependency of every route is async: a sync one takes a worker-thread hop
    before the handler (and one after, for a generator), which the hop count above
    shows only for the requests it sends."""

    def sync_calls(dependant: Dependant) -> Iterator[str]:
        for dependency in dependant.dependencies:
            call = dependency.call
            if call is not None and not (
                inspect.iscoroutinefunction(call)
                or inspect.iscoroutinefunction(getattr(call, "__call__", None))  # noqa: B004
            ):
                yield getattr(call, "__qualname__", repr(call))
            yield from sync_calls(dependency)

    app = create_app("sqlite://")
    found = {
        route.path: list(sync_calls(route.dependant))
        for route in flat_routes(app)
        if hasattr(route, "dependant")
    }
    assert {path: calls for path, calls in found.items() if calls} == {}
