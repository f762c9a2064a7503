"""The example on a real PostgreSQL server: the ports async end to end on asyncpg (no
thread hop), the legacy views on psycopg, and every contract case of the example passing
with both sides on PostgreSQL, each from a copy of one seeded database."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import Shadowed
from contracts.conftest import seed
from postgres_server import TemporaryPostgres
from sqlalchemy import create_engine, select, text

import modern_api
from legacy_flask.database import dispose_engines, get_engine
from legacy_flask.models import Task, User
from modern_api import create_app
from routeshift import Harness, StateHook
from routeshift.prove.cases import load_cases

pytestmark = pytest.mark.anyio

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def pg_url(postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A new database on the session's PostgreSQL server, also set as DATABASE_URL."""
    monkeypatch.setenv("DATABASE_URL", postgres_url)
    yield postgres_url
    modern_api.app.state.queries.dispose()
    dispose_engines()


@pytest.fixture
async def client(pg_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """The modern app on `pg_url`, inside its lifespan (which closes the asyncpg pool)."""
    app = create_app(pg_url)
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


def test_a_postgresql_url_runs_the_ports_on_asyncpg(pg_url: str) -> None:
    assert create_app(pg_url).state.queries.uses_asyncpg()
    # SQLAlchemy's default driver: the legacy engine on psycopg, the ports on asyncpg
    assert create_app(pg_url.replace("+psycopg", "")).state.queries.uses_asyncpg()
    assert not create_app("sqlite://").state.queries.uses_asyncpg()


#: every port with database work: on PostgreSQL it takes no thread hop at all; an error
#: the legacy app renders (its HTML pages) takes one, as on SQLite
PORTS_ON_POSTGRES = [
    pytest.param("GET", "/users/1", None, False, 200, 0, id="users.get_user"),
    pytest.param("GET", "/users/999", None, False, 404, 1, id="users.get_user-404"),
    pytest.param("GET", "/users?page=2&per_page=1", None, False, 200, 0, id="users.list_users"),
    pytest.param("GET", "/users?page=9", None, False, 200, 0, id="users.list_users-past-end"),
    pytest.param(
        "POST",
        "/users",
        {"name": "Zoe", "email": "zoe@example.com", "age": 30},
        False,
        201,
        0,
        id="users.create_user",
    ),
    pytest.param(
        "POST",
        "/users",
        {"name": "Al", "email": "alice@example.com"},
        False,
        409,
        1,
        id="users.create_user-409",
    ),
    pytest.param("POST", "/tasks", {"command": "report"}, False, 201, 0, id="tasks.create_task"),
    pytest.param("GET", "/tasks/{task}", None, False, 200, 0, id="tasks.get_task"),
    pytest.param("GET", "/me", None, True, 200, 0, id="auth.me"),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "logged_in", "status", "expected"), PORTS_ON_POSTGRES
)
async def test_each_port_on_postgresql_is_async_end_to_end(
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
    """Counted as the SQLite hop test counts them: anyio's `run_sync` and the database
    pool's `submit`."""
    response = await port_request(client, method, path, body, logged_in)
    assert response.status_code == status, response.text
    assert len(thread_hops) == expected, thread_hops


async def test_the_ports_read_and_write_what_legacy_sees(
    client: httpx.AsyncClient, pg_url: str
) -> None:
    """A user and a task the ports create are in PostgreSQL, read by the legacy engine
    (psycopg), and the ports page through what legacy seeded."""
    created = await client.post("/users", json={"name": "Zoe", "email": "zoe@example.com"})
    task = await client.post("/tasks", json={"command": "report", "priority": "high"})
    assert (created.status_code, task.status_code) == (201, 201)
    with get_engine(pg_url).connect() as connection:
        user = connection.execute(select(User.__table__).filter_by(email="zoe@example.com"))
        assert user.one().id == created.json()["id"]
        row = connection.execute(select(Task.__table__).filter_by(id=task.json()["id"])).one()
        assert (row.command, row.priority, row.status) == ("report", "high", "queued")
    page = (await client.get("/users?per_page=2&page=2")).json()
    assert (page["total"], [item["name"] for item in page["items"]]) == (3, ["Zoe"])
    assert (await client.get(f"/tasks/{task.json()['id']}")).json() == task.json()


async def test_a_shadow_copy_of_post_users_on_postgresql_writes_nothing(
    pg_url: str, client: httpx.AsyncClient
) -> None:
    """The port's INSERT in a shadow copy (the gateway's flag) is rolled back: the user
    is in its answer, not in the database."""
    app = create_app(pg_url)
    async with app.router.lifespan_context(app):
        shadowed = httpx.ASGITransport(app=Shadowed(app))
        async with httpx.AsyncClient(transport=shadowed, base_url="http://t") as shadow:
            copy = await shadow.post("/users", json={"name": "Sam", "email": "sam@example.com"})
    assert copy.status_code == 201 and copy.json()["email"] == "sam@example.com"
    with get_engine(pg_url).connect() as connection:
        taken = connection.execute(select(User.__table__).filter_by(email="sam@example.com"))
        assert taken.first() is None
    real = await client.post("/users", json={"name": "Sam", "email": "sam@example.com"})
    assert real.status_code == 201


# --- every contract case of the example, both sides on PostgreSQL --------------------


@pytest.fixture
def postgres_state(postgres_server: TemporaryPostgres) -> Iterator[StateHook]:
    """The contract cases' state hook on PostgreSQL: each side of each request gets a
    copy (CREATE DATABASE ... TEMPLATE) of one seeded database, as the SQLite hook of
    tests/contracts/conftest.py gives each a copy of one seeded file."""
    seeded = postgres_server.new_database("contracts_seeded")
    engine = create_engine(seeded)
    try:
        seed(engine)
    finally:
        engine.dispose()
    numbers = itertools.count(1)
    admin = create_engine(postgres_server.url, isolation_level="AUTOCOMMIT")

    @contextmanager
    def fresh_copy(side: str) -> Iterator[str]:
        name = f"contracts_{next(numbers)}_{side}"
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE contracts_seeded'))
        copy = seeded.rpartition("/")[0] + f"/{name}"
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("DATABASE_URL", copy)
            try:
                yield copy
            finally:
                modern_api.app.state.queries.dispose()
                dispose_engines()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE "{name}"'))

    yield fresh_copy
    admin.dispose()


CASE_FILES = sorted((REPO / "tests" / "contracts").glob("*.yaml"))


@pytest.mark.parametrize("case_file", CASE_FILES, ids=[path.stem for path in CASE_FILES])
def test_every_contract_case_passes_on_postgresql(
    routeshift_harness: Harness, postgres_state: StateHook, case_file: Path
) -> None:
    cases = load_cases(case_file)
    assert cases, case_file
    failed = [
        result.report()
        for result in (routeshift_harness.run(case, postgres_state) for case in cases)
        if not result.passed
    ]
    assert failed == [], "\n\n".join(failed)
