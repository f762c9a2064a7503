"""The example legacy Flask app (legacy_flask) and the data layer both apps share."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from flask import Flask
from sqlalchemy import func, select

from legacy_flask import create_app
from legacy_flask.database import (
    DEFAULT_DATABASE_URL,
    database_url,
    dispose_engines,
    get_engine,
    init_db,
    make_engine,
    open_session,
)
from legacy_flask.models import User

ROOT = Path(__file__).resolve().parents[2]

ALICE = {
    "id": 1,
    "name": "Alice",
    "email": "alice@example.com",
    "age": 30,
    "role": "admin",
    "created_at": "Tue, 02 Jan 2024 03:04:05 GMT",
}
BOB = {
    "id": 2,
    "name": "Bob",
    "email": "bob@example.com",
    "age": 25,
    "role": "user",
    "created_at": "Sat, 03 Feb 2024 04:05:06 GMT",
}


@pytest.fixture
def db_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh SQLite file for this test, also set as DATABASE_URL."""
    url = f"sqlite:///{tmp_path / 'example.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    yield url
    dispose_engines()


@pytest.fixture
def legacy_app(db_url: str) -> Flask:
    return create_app({"DATABASE_URL": db_url, "TESTING": True, "SECRET_KEY": "test-secret"})


@pytest.fixture
def client(legacy_app: Flask) -> Iterator[httpx.Client]:
    transport = httpx.WSGITransport(app=legacy_app)
    with httpx.Client(transport=transport, base_url="http://testserver") as client:
        yield client


def werkzeug_page(code: int, name: str, description: str) -> bytes:
    return (
        f"<!doctype html>\n<html lang=en>\n<title>{code} {name}</title>\n"
        f"<h1>{name}</h1>\n<p>{description}</p>\n"
    ).encode()


# --- the app's shape -------------------------------------------------------------


def test_rules_are_the_ones_the_registry_names(legacy_app: Flask) -> None:
    rules = {
        (rule.endpoint, rule.rule, frozenset(rule.methods or ()) - {"HEAD", "OPTIONS"})
        for rule in legacy_app.url_map.iter_rules()
    }
    assert rules == {
        ("static", "/static/<path:filename>", frozenset({"GET"})),
        ("main.index", "/", frozenset({"GET"})),
        ("main.slow", "/slow", frozenset({"GET"})),
        ("auth.login", "/login", frozenset({"POST"})),
        ("auth.me", "/me", frozenset({"GET"})),
        ("users.list_users", "/users", frozenset({"GET"})),
        ("users.get_user", "/users/<int:user_id>", frozenset({"GET"})),
        ("users.create_user", "/users", frozenset({"POST"})),
        ("tasks.list_tasks", "/tasks", frozenset({"GET"})),
        ("tasks.create_task", "/tasks", frozenset({"POST"})),
        ("tasks.get_task", "/tasks/<task_id>", frozenset({"GET"})),
    }


def test_module_level_app_reads_the_environment_at_first_use(db_url: str, tmp_path: Path) -> None:
    from legacy_flask import app

    transport = httpx.WSGITransport(app=app)
    with httpx.Client(transport=transport, base_url="http://testserver") as client:
        assert client.get("/users/1").json() == ALICE
    assert (tmp_path / "example.db").exists()


# --- users -----------------------------------------------------------------------


def test_get_user_as_flask_jsonify_writes_it(client: httpx.Client) -> None:
    response = client.get("/users/1")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.content == (
        b'{"age":30,"created_at":"Tue, 02 Jan 2024 03:04:05 GMT","email":"alice@example.com",'
        b'"id":1,"name":"Alice","role":"admin"}\n'
    )


def test_unknown_user_is_werkzeugs_404_page(client: httpx.Client) -> None:
    response = client.get("/users/999")
    assert response.status_code == 404
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.content == werkzeug_page(404, "Not Found", "User 999 not found")


def test_non_integer_user_id_does_not_match_the_rule(client: httpx.Client) -> None:
    response = client.get("/users/abc")
    assert response.status_code == 404
    assert b"The requested URL was not found on the server." in response.content


@pytest.mark.parametrize(
    ("query", "page", "per_page", "ids"),
    [
        pytest.param("", 1, 20, [1, 2], id="defaults"),
        pytest.param("?page=1&per_page=1", 1, 1, [1], id="first-page"),
        pytest.param("?page=2&per_page=1", 2, 1, [2], id="second-page"),
        pytest.param("?page=3&per_page=1", 3, 1, [], id="past-the-end"),
        pytest.param("?per_page=500", 1, 100, [1, 2], id="per-page-capped"),
        pytest.param("?page=abc", 1, 20, [1, 2], id="invalid-page-is-default"),
        pytest.param("?per_page=2.5", 1, 20, [1, 2], id="invalid-per-page-is-default"),
        pytest.param("?page=", 1, 20, [1, 2], id="empty-page-is-default"),
        pytest.param("?page=2&page=1&per_page=1", 2, 1, [2], id="first-value-wins"),
    ],
)
def test_list_users_pagination(
    client: httpx.Client, query: str, page: int, per_page: int, ids: list[int]
) -> None:
    response = client.get(f"/users{query}")
    assert response.status_code == 200
    body = response.json()
    assert [item["id"] for item in body["items"]] == ids
    assert (body["page"], body["per_page"], body["total"]) == (page, per_page, 2)


def test_list_users_items_are_full_users(client: httpx.Client) -> None:
    assert client.get("/users").json()["items"] == [ALICE, BOB]


@pytest.mark.parametrize("query", ["?page=0", "?page=-1", "?per_page=0"])
def test_list_users_rejects_non_positive_numbers(client: httpx.Client, query: str) -> None:
    response = client.get(f"/users{query}")
    assert response.status_code == 400
    assert response.content == werkzeug_page(
        400, "Bad Request", "page and per_page must be positive integers"
    )


def test_create_then_get_user(client: httpx.Client) -> None:
    created = client.post(
        "/users", json={"name": "  Carol ", "email": " Carol@Example.com", "age": 41}
    )
    assert created.status_code == 201
    body = created.json()
    assert body["id"] == 3
    assert (body["name"], body["email"], body["age"], body["role"]) == (
        "Carol",
        "carol@example.com",
        41,
        "user",
    )
    assert body["created_at"].endswith(" GMT")
    assert client.get("/users/3").json() == body
    assert client.get("/users").json()["total"] == 3


def test_create_user_with_duplicate_email_is_409(client: httpx.Client) -> None:
    response = client.post("/users", json={"name": "Al", "email": "ALICE@example.com"})
    assert response.status_code == 409
    assert response.content == werkzeug_page(
        409, "Conflict", "A user with email alice@example.com already exists"
    )


@pytest.mark.parametrize(
    ("kwargs", "description"),
    [
        pytest.param({}, "Request body must be a JSON object", id="no-body"),
        pytest.param({"data": {"name": "X"}}, "Request body must be a JSON object", id="form"),
        pytest.param({"json": []}, "Request body must be a JSON object", id="list"),
        pytest.param({"json": {"email": "x@y.z"}}, "name must be a non-empty string", id="no-name"),
        pytest.param(
            {"json": {"name": "  ", "email": "x@y.z"}},
            "name must be a non-empty string",
            id="blank-name",
        ),
        pytest.param({"json": {"name": "X"}}, "email must be a non-empty string", id="no-email"),
        pytest.param(
            {"json": {"name": "X", "email": 5}}, "email must be a non-empty string", id="email-int"
        ),
        *(
            pytest.param(
                {"json": {"name": "X", "email": "x@y.z", "age": age}},
                "age must be an integer between 0 and 150",
                id=f"age-{age!r}",
            )
            for age in (-1, 151, "30", True, 30.5)
        ),
        pytest.param(
            {"json": {"name": "X", "email": "x@y.z", "role": "superuser"}},
            "role must be one of user, admin, moderator",
            id="bad-role",
        ),
    ],
)
def test_create_user_validation_is_400(
    client: httpx.Client, kwargs: dict[str, Any], description: str
) -> None:
    response = client.post("/users", **kwargs)
    assert response.status_code == 400
    assert response.content == werkzeug_page(400, "Bad Request", description)


@pytest.mark.parametrize("age", [0, 150, None])
def test_create_user_accepts_edge_ages(client: httpx.Client, age: int | None) -> None:
    body = {"name": "Edge", "email": f"edge{age}@example.com", "age": age, "role": "moderator"}
    response = client.post("/users", json=body)
    assert response.status_code == 201
    assert (response.json()["age"], response.json()["role"]) == (age, "moderator")


# --- tasks -----------------------------------------------------------------------


def test_create_then_get_task(client: httpx.Client) -> None:
    created = client.post("/tasks", json={"command": "  backup db  ", "priority": "high"})
    assert created.status_code == 201
    task = created.json()
    assert sorted(task) == ["command", "created_at", "id", "priority", "status"]
    assert (task["command"], task["priority"], task["status"]) == ("backup db", "high", "queued")
    assert len(task["id"]) == 36
    assert task["created_at"].endswith(" GMT")
    fetched = client.get(f"/tasks/{task['id']}")
    assert fetched.status_code == 200
    assert fetched.json() == task


def test_task_priority_defaults_to_normal(client: httpx.Client) -> None:
    assert client.post("/tasks", json={"command": "ls"}).json()["priority"] == "normal"


@pytest.mark.parametrize(
    ("kwargs", "description"),
    [
        pytest.param({}, "Request body must be JSON", id="no-body"),
        pytest.param({"json": {}}, "Request body must be JSON", id="empty-object"),
        pytest.param({"json": {"priority": "low"}}, "Missing required field: command", id="no-cmd"),
        pytest.param({"json": {"command": " "}}, "command must be a non-empty string", id="blank"),
        pytest.param({"json": {"command": 3}}, "command must be a non-empty string", id="int"),
        pytest.param(
            {"json": {"command": "ls", "priority": "urgent"}},
            "priority must be low, normal, or high",
            id="bad-priority",
        ),
    ],
)
def test_create_task_validation_is_400(
    client: httpx.Client, kwargs: dict[str, Any], description: str
) -> None:
    response = client.post("/tasks", **kwargs)
    assert response.status_code == 400
    assert response.content == werkzeug_page(400, "Bad Request", description)


def test_the_queue_lists_tasks_oldest_first_by_status(client: httpx.Client) -> None:
    assert client.get("/tasks").json() == {"items": [], "total": 0}
    first = client.post("/tasks", json={"command": "first"}).json()
    second = client.post("/tasks", json={"command": "second"}).json()
    listed = client.get("/tasks")
    assert listed.status_code == 200
    assert listed.json() == {"items": [first, second], "total": 2}
    assert client.get("/tasks?status=queued").json()["total"] == 2
    assert client.get("/tasks?status=done").json() == {"items": [], "total": 0}
    # request.args.get: the first of repeated values
    assert client.get("/tasks?status=done&status=paused").json()["total"] == 0


@pytest.mark.parametrize("query", ["?status=paused", "?status=", "?status=paused&status=done"])
def test_the_queue_rejects_an_unknown_status_with_400(client: httpx.Client, query: str) -> None:
    response = client.get(f"/tasks{query}")
    assert response.status_code == 400
    assert response.content == werkzeug_page(
        400, "Bad Request", "status must be queued, running, done, or failed"
    )


def test_unknown_task_is_404_with_the_id_escaped(client: httpx.Client) -> None:
    response = client.get("/tasks/no%3Cb%3E")
    assert response.status_code == 404
    assert response.content == werkzeug_page(404, "Not Found", "Task no&lt;b&gt; not found")


# --- pages -----------------------------------------------------------------------


def test_index_page_lists_the_users(client: httpx.Client) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    page = response.text
    assert '<link rel="stylesheet" href="/static/style.css">' in page
    assert '<a href="/users/1">Alice</a>' in page
    assert '<a href="/users/2">Bob</a>' in page
    assert "2024-01-02" in page


def test_index_page_escapes_names(client: httpx.Client) -> None:
    client.post("/users", json={"name": "<script>", "email": "x@example.com"})
    page = client.get("/").text
    assert "&lt;script&gt;" in page
    assert "<script>" not in page


def test_stylesheet_is_served(client: httpx.Client) -> None:
    response = client.get("/static/style.css")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")
    assert b"table.users" in response.content


def test_slow_report(client: httpx.Client) -> None:
    response = client.get("/slow")
    assert response.status_code == 200
    assert response.content == b'{"result":"done"}\n'
    assert response.elapsed.total_seconds() >= 0.05


# --- login -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"data": {"email": "bob@example.com"}}, id="form"),
        pytest.param({"json": {"email": "Bob@Example.com"}}, id="json"),
    ],
)
def test_login_then_me(client: httpx.Client, kwargs: dict[str, Any]) -> None:
    assert client.get("/me").status_code == 401
    response = client.post("/login", **kwargs)
    assert response.status_code == 200
    assert response.json() == BOB
    assert "session" in response.cookies
    me = client.get("/me")
    assert me.status_code == 200
    assert me.json() == BOB


def test_logout_is_retired_here(client: httpx.Client) -> None:
    """Its port serves it; the view is gone (the registry's entry is `retired`)."""
    client.post("/login", json={"email": "bob@example.com"})
    assert client.post("/logout").status_code == 404
    assert client.get("/me").status_code == 200


def test_login_with_unknown_email_is_401(client: httpx.Client) -> None:
    response = client.post("/login", json={"email": "mallory@example.com"})
    assert response.status_code == 401
    assert response.content == werkzeug_page(401, "Unauthorized", "Unknown email address")
    assert "session" not in response.cookies


def test_login_without_email_is_400(client: httpx.Client) -> None:
    assert client.post("/login", json={}).status_code == 400


def test_me_without_a_session_is_401(client: httpx.Client) -> None:
    response = client.get("/me")
    assert response.status_code == 401
    assert response.content == werkzeug_page(401, "Unauthorized", "Not logged in")


def test_a_forged_session_cookie_is_ignored(client: httpx.Client) -> None:
    client.cookies.set("session", "eyJ1c2VyX2lkIjoxfQ.forged.signature")
    assert client.get("/me").status_code == 401


# --- the data layer ----------------------------------------------------------------


def test_default_database_is_example_db_in_the_working_directory(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert DEFAULT_DATABASE_URL == "sqlite:///example.db"
    assert database_url() == DEFAULT_DATABASE_URL
    assert database_url("sqlite:///other.db") == "sqlite:///other.db"


def test_seeding_happens_once(db_url: str) -> None:
    engine = get_engine(db_url)
    init_db(engine)
    init_db(engine)
    with open_session(db_url) as session:
        assert session.scalar(select(func.count()).select_from(User)) == 2


def test_in_memory_database_is_shared_by_sessions() -> None:
    try:
        get_engine("sqlite://")
        with open_session("sqlite://") as session:
            assert session.scalar(select(func.count()).select_from(User)) == 2
    finally:
        dispose_engines()


def test_several_processes_can_initialise_at_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'race.db'}"
    script = (
        "import sys\n"
        "from legacy_flask.database import init_db, make_engine\n"
        "engine = make_engine(sys.argv[1])\n"
        "init_db(engine)\n"
        "engine.dispose()\n"
    )
    workers = [
        subprocess.Popen([sys.executable, "-c", script, url], cwd=ROOT, stderr=subprocess.PIPE)
        for _ in range(4)
    ]
    for worker in workers:
        _, stderr = worker.communicate(timeout=60)
        assert worker.returncode == 0, stderr.decode()
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            assert connection.scalar(select(func.count()).select_from(User)) == 2
    finally:
        engine.dispose()
