"""routeshift.compat.database: a Flask-SQLAlchemy app's engine and models shared with its
FastAPI port (sync and async sessions, closed after each request, rolled back for a
shadow copy), and fresh_database, the contract state hook for such an app.

The legacy app is an application factory written here (`db.init_app(app)`, the URL from
the config it is given, a file SQLite database under tmp_path); the port is built on it.

No `from __future__ import annotations`: the port's dependencies are local names that
FastAPI must see as objects, not strings.
"""

import asyncio
import importlib.util
import inspect
import sys
import types
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from importlib.metadata import version
from pathlib import Path
from typing import Annotated, Any

import httpx
import pytest
from conftest import Shadowed, write_registry
from fastapi import Depends, FastAPI, HTTPException
from flask import Flask, jsonify, request
from flask_sqlalchemy import SQLAlchemy
from pydantic import BaseModel
from sqlalchemy import String, bindparam, func, insert, make_url, select
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, Session, mapped_column

from routeshift._asgi import ASGIApp, Receive, Scope, Send
from routeshift.apps.pair import load_apps
from routeshift.compat.database import LegacyDatabase, async_url_for
from routeshift.compat.queries import RequestQueries
from routeshift.compat.state import fresh_database
from routeshift.errors import CrossingError
from routeshift.prove.cases import case
from routeshift.prove.harness import Harness
from routeshift.registry.load import load_registry

db = SQLAlchemy()


class Note(db.Model):  # type: ignore[name-defined,misc]
    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(String(200))


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """The legacy app: its engine is bound here, from the config."""
    app = Flask(__name__)
    app.config.update(config or {})
    db.init_app(app)

    @app.get("/notes")
    def list_notes() -> Any:
        notes = db.session.scalars(db.select(Note).order_by(Note.id))
        return jsonify([{"id": note.id, "text": note.text} for note in notes])

    @app.post("/notes")
    def create_note() -> Any:
        note = Note(text=request.get_json()["text"])
        db.session.add(note)
        db.session.commit()
        return jsonify({"id": note.id, "text": note.text}), 201

    return app


#: the Core statements of the port's `database.queries` routes, built once
NOTES_IN_ORDER = select(Note.__table__).order_by(Note.__table__.c.id)
ADD_NOTE = insert(Note.__table__).values(text=bindparam("text")).returning(*Note.__table__.c)


class NoteIn(BaseModel):
    text: str


def out(note: Note) -> dict[str, Any]:
    return {"id": note.id, "text": note.text}


def create_port(database: LegacyDatabase) -> FastAPI:
    """The FastAPI port: the same two routes, sync and async, and a few that misbehave."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await database.dispose()

    api = FastAPI(lifespan=lifespan)
    SessionDep = Annotated[Session, Depends(database.session)]
    AsyncSessionDep = Annotated[AsyncSession, Depends(database.async_session)]

    @api.get("/notes")
    def list_notes(session: SessionDep) -> list[dict[str, Any]]:
        return [out(note) for note in session.scalars(select(Note).order_by(Note.id))]

    @api.post("/notes", status_code=201)
    def create_note(body: NoteIn, session: SessionDep) -> dict[str, Any]:
        note = Note(text=body.text)
        session.add(note)
        session.commit()
        return {**out(note), "seen": session.scalar(select(func.count()).select_from(Note))}

    @api.post("/notes/{how}")
    def misbehave(how: str, body: NoteIn, session: SessionDep) -> dict[str, Any]:
        session.add(Note(text=body.text))
        session.flush()
        if how == "conflict":
            raise HTTPException(409, "no")
        if how == "boom":
            raise RuntimeError("the handler failed")
        return {"flushed": True}  # "uncommitted": written, never committed

    @api.get("/pool")
    def pool(session: SessionDep) -> dict[str, int]:
        session.scalar(select(func.count()).select_from(Note))
        return {"checked_out": database.engine.pool.checkedout()}

    @api.get("/async/notes")
    async def async_list(session: AsyncSessionDep) -> list[dict[str, Any]]:
        notes = await session.scalars(select(Note).order_by(Note.id))
        return [out(note) for note in notes]

    @api.post("/async/notes", status_code=201)
    async def async_create(body: NoteIn, session: AsyncSessionDep) -> dict[str, Any]:
        note = Note(text=body.text)
        session.add(note)
        await session.commit()
        seen = await session.scalar(select(func.count()).select_from(Note))
        return {**out(note), "seen": seen}

    @api.post("/async/notes/{how}")
    async def async_misbehave(how: str, body: NoteIn, session: AsyncSessionDep) -> Any:
        session.add(Note(text=body.text))
        await session.flush()
        if how == "conflict":
            raise HTTPException(409, "no")
        if how == "boom":
            raise RuntimeError("the handler failed")
        return {"flushed": True}

    QueriesDep = Annotated[RequestQueries, Depends(database.queries)]

    @api.get("/queries/notes")
    async def queries_list(db: QueriesDep) -> list[dict[str, Any]]:
        return [dict(row) for row in await db.fetch_all(NOTES_IN_ORDER)]

    @api.post("/queries/notes", status_code=201)
    async def queries_create(body: NoteIn, db: QueriesDep) -> dict[str, Any]:
        return dict(await db.fetch_one(ADD_NOTE, text=body.text) or {})

    @api.get("/async/pool")
    async def async_pool(session: AsyncSessionDep) -> dict[str, int]:
        await session.scalar(select(func.count()).select_from(Note))
        return {"checked_out": database.async_engine.pool.checkedout()}  # type: ignore[attr-defined]

    return api


class Port:
    """The port in-process, through httpx's ASGI transport on one event loop (the async
    engine's connections belong to it), with its lifespan run around the requests."""

    def __init__(self, api: FastAPI, *, wrap: Callable[[ASGIApp], ASGIApp] | None = None) -> None:
        self._runner = asyncio.Runner()
        self._lifespan = api.router.lifespan_context(api)
        self._runner.run(self._lifespan.__aenter__())
        transport = httpx.ASGITransport(app=wrap(api) if wrap else api, raise_app_exceptions=False)
        self._client = httpx.AsyncClient(transport=transport, base_url="http://modern")

    def get(self, path: str) -> httpx.Response:
        return self._runner.run(self._client.get(path))

    def post(self, path: str, **options: Any) -> httpx.Response:
        return self._runner.run(self._client.post(path, **options))

    def close(self) -> None:
        self._runner.run(self._client.aclose())
        self._runner.run(self._lifespan.__aexit__(None, None, None))
        self._runner.close()


def dispose(app: Flask) -> None:
    with app.app_context():
        for engine in db.engines.values():
            engine.dispose()


def file_url(tmp_path: Path, name: str = "app.db") -> str:
    return f"sqlite:///{tmp_path / name}"


@pytest.fixture
def legacy(tmp_path: Path) -> Iterator[Flask]:
    app = create_app({"SQLALCHEMY_DATABASE_URI": file_url(tmp_path)})
    with app.app_context():
        db.create_all()
    yield app
    dispose(app)


@pytest.fixture
def database(legacy: Flask) -> LegacyDatabase:
    return LegacyDatabase(lambda: legacy, db)


@pytest.fixture
def port(database: LegacyDatabase) -> Iterator[Port]:
    client = Port(create_port(database))
    yield client
    client.close()


def texts(rows: list[dict[str, Any]]) -> list[str]:
    return [row["text"] for row in rows]


# --- the engine ----------------------------------------------------------------------


def test_the_engine_is_the_apps_own_read_on_first_use(legacy: Flask) -> None:
    calls: list[int] = []

    def the_app() -> Flask:
        calls.append(1)
        return legacy

    database = LegacyDatabase(the_app, db)
    assert calls == []  # the modern module can be imported before the app is built
    with legacy.app_context():
        assert database.engine is db.engine
    assert database.engine is database.engine and calls == [1]
    assert LegacyDatabase(legacy, db).engine is database.engine


def test_a_bind_is_its_engine_and_an_unknown_bind_is_named(tmp_path: Path) -> None:
    binds = SQLAlchemy()  # its own extension: a bind adds a metadata to the extension
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = file_url(tmp_path)
    app.config["SQLALCHEMY_BINDS"] = {"archive": file_url(tmp_path, "archive.db")}
    binds.init_app(app)
    with app.app_context():
        archive = binds.engines["archive"]
    try:
        assert LegacyDatabase(app, binds, bind_key="archive").engine is archive
        with pytest.raises(CrossingError, match=r"no SQLAlchemy bind 'archiv'.*'archive'"):
            LegacyDatabase(app, binds, bind_key="archiv").engine  # noqa: B018
    finally:
        with app.app_context():
            for engine in binds.engines.values():
                engine.dispose()


def test_an_app_without_the_extension_is_a_crossing_error() -> None:
    with pytest.raises(CrossingError, match=r"not registered.*db\.init_app\(app\)"):
        LegacyDatabase(Flask("bare"), db).engine  # noqa: B018
    with pytest.raises(CrossingError, match="gave str, not a Flask app"):
        LegacyDatabase(lambda: "legacy_flask:app", db).engine  # type: ignore[arg-type,return-value]  # noqa: B018


# --- both sides, one database -----------------------------------------------------------


@pytest.mark.parametrize("prefix", ["", "/async"], ids=["sync", "async"])
def test_the_port_reads_what_the_view_wrote_and_the_view_what_the_port_wrote(
    legacy: Flask, port: Port, prefix: str
) -> None:
    flask = legacy.test_client()
    assert flask.post("/notes", json={"text": "from flask"}).status_code == 201
    assert texts(port.get(f"{prefix}/notes").json()) == ["from flask"]

    created = port.post(f"{prefix}/notes", json={"text": "from fastapi"})
    assert created.status_code == 201
    assert created.json() == {"id": 2, "text": "from fastapi", "seen": 2}
    assert texts(flask.get("/notes").get_json()) == ["from flask", "from fastapi"]


def test_queries_on_the_apps_engine_see_the_views_rows_and_a_shadow_writes_nothing(
    legacy: Flask, database: LegacyDatabase
) -> None:
    """`database.queries`: Core statements on Flask-SQLAlchemy's own engine (one thread
    hop on SQLite), the shadow copy's INSERT rolled back; its lifespan closes them."""
    port, shadow = Port(create_port(database)), Port(create_port(database), wrap=Shadowed)
    try:
        flask = legacy.test_client()
        assert flask.post("/notes", json={"text": "from flask"}).status_code == 201
        created = port.post("/queries/notes", json={"text": "from the port"})
        assert created.json() == {"id": 2, "text": "from the port"}
        copy = shadow.post("/queries/notes", json={"text": "from the shadow"})
        assert copy.json()["text"] == "from the shadow"
        assert texts(port.get("/queries/notes").json()) == ["from flask", "from the port"]
        assert texts(flask.get("/notes").get_json()) == ["from flask", "from the port"]
        assert database.queries.engine is database.engine
    finally:
        port.close()
        shadow.close()


@pytest.mark.parametrize("prefix", ["", "/async"], ids=["sync", "async"])
def test_the_session_is_closed_after_each_request(
    port: Port, database: LegacyDatabase, prefix: str
) -> None:
    for _ in range(3):
        assert port.get(f"{prefix}/pool").json() == {"checked_out": 1}  # during the request
    engine = database.engine if prefix == "" else database.async_engine
    assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    port.post(f"{prefix}/notes/conflict", json={"text": "x"})
    port.post(f"{prefix}/notes/boom", json={"text": "x"})
    assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]


def test_a_session_kept_past_its_request_is_refused_not_leaked(database: LegacyDatabase) -> None:
    kept: list[Session] = []
    api = FastAPI()

    @api.get("/keep")
    def keep(session: Annotated[Session, Depends(database.session)]) -> None:
        kept.append(session)  # as a background task or a streamed body would

    port = Port(api)
    port.get("/keep")
    port.close()
    with pytest.raises(InvalidRequestError, match="permanently closed"):
        kept[0].scalar(select(func.count()).select_from(Note))
    assert database.engine.pool.checkedout() == 0


def connections_at_response_start(database: LegacyDatabase, depends: Any) -> int:
    """Connections the app's pool had out when the handler's response started."""
    api = FastAPI()
    seen: list[int] = []

    @api.get("/count")
    def count(session: Annotated[Session, depends]) -> int:
        return session.scalar(select(func.count()).select_from(Note)) or 0

    def watched(app: ASGIApp) -> ASGIApp:
        async def call(scope: Scope, receive: Receive, send: Send) -> None:
            async def watch(message: Any) -> None:
                if message["type"] == "http.response.start":
                    seen.append(database.engine.pool.checkedout())
                await send(message)

            await app(scope, receive, watch)

        return call

    port = Port(api, wrap=watched)
    assert port.get("/count").status_code == 200
    port.close()
    assert database.engine.pool.checkedout() == 0  # closed in the end, either way
    return seen[0]


def test_when_the_session_closes_follows_fastapis_yield_timing(database: LegacyDatabase) -> None:
    """As the module docstring says: the exit ran before the response was sent up to
    FastAPI 0.117, after it from 0.118 (unless scope="function", from 0.121)."""
    fastapi = tuple(int(part) for part in version("fastapi").split(".")[:2])
    expected = 1 if fastapi >= (0, 118) else 0
    assert connections_at_response_start(database, Depends(database.session)) == expected
    if "scope" in inspect.signature(Depends).parameters:
        function_scope = Depends(database.session, scope="function")  # type: ignore[call-arg]
        assert connections_at_response_start(database, function_scope) == 0


@pytest.mark.parametrize("prefix", ["", "/async"], ids=["sync", "async"])
@pytest.mark.parametrize(
    ("how", "status"),
    [
        pytest.param("conflict", 409, id="http-error"),
        pytest.param("boom", 500, id="exception"),
        pytest.param("uncommitted", 200, id="never-committed"),
    ],
)
def test_what_the_handler_did_not_commit_is_rolled_back(
    legacy: Flask, port: Port, prefix: str, how: str, status: int
) -> None:
    assert port.post(f"{prefix}/notes/{how}", json={"text": "lost"}).status_code == status
    assert legacy.test_client().get("/notes").get_json() == []
    assert port.post(f"{prefix}/notes", json={"text": "kept"}).status_code == 201  # no lock left


@pytest.mark.parametrize("prefix", ["", "/async"], ids=["sync", "async"])
def test_a_shadow_copys_committed_write_does_not_persist(
    legacy: Flask, database: LegacyDatabase, prefix: str
) -> None:
    flask = legacy.test_client()
    flask.post("/notes", json={"text": "real"})
    shadow = Port(create_port(database), wrap=Shadowed)
    try:
        created = shadow.post(f"{prefix}/notes", json={"text": "shadow"})
        assert created.status_code == 201
        # inside its transaction the handler saw its own committed row...
        assert created.json() == {"id": 2, "text": "shadow", "seen": 2}
        assert texts(shadow.get(f"{prefix}/notes").json()) == ["real"]
    finally:
        shadow.close()
    # ...and nothing of it landed; the database is not left locked
    assert texts(flask.get("/notes").get_json()) == ["real"]
    assert flask.post("/notes", json={"text": "after"}).get_json()["id"] == 2


def test_a_sync_port_shares_an_in_memory_database_with_the_served_app() -> None:
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    with app.app_context():
        db.create_all()
    database = LegacyDatabase(app, db)
    port = Port(create_port(database))
    app.test_client().post("/notes", json={"text": "in memory"})
    assert texts(port.get("/notes").json()) == ["in memory"]
    port.close()
    with pytest.raises(CrossingError, match=r"sqlite:// \(SQLite in memory\).*file database"):
        database.async_engine  # noqa: B018
    dispose(app)


# --- the async engine's URL -------------------------------------------------------------


@pytest.mark.parametrize(
    ("sync", "expected"),
    [
        pytest.param("sqlite:////srv/app.db", "sqlite+aiosqlite:////srv/app.db", id="sqlite"),
        pytest.param(
            "sqlite+pysqlite:///app.db?timeout=9",
            "sqlite+aiosqlite:///app.db?timeout=9",
            id="sqlite-query-kept",
        ),
        pytest.param(
            "postgresql+psycopg2://u:pw@h/d", "postgresql+asyncpg://u:pw@h/d", id="psycopg2"
        ),
        pytest.param(
            "postgresql+psycopg://u:pw@h/d",
            "postgresql+psycopg://u:pw@h/d",
            id="psycopg3-is-async-too",
        ),
        pytest.param("mysql+pymysql://u@h/d", "mysql+aiomysql://u@h/d", id="mysql"),
        pytest.param("mariadb://u@h/d", "mariadb+aiomysql://u@h/d", id="mariadb"),
    ],
)
def test_the_async_driver_of_each_dialect(sync: str, expected: str) -> None:
    url, _ = async_url_for(make_url(sync))
    assert url.render_as_string(hide_password=False) == expected


def test_a_dialect_without_a_known_async_driver_asks_for_async_url() -> None:
    with pytest.raises(CrossingError, match=r"no async driver is known for mssql.*async_url="):
        async_url_for(make_url("mssql+pyodbc://u:pw@dsn"))


def test_a_missing_async_driver_names_the_url_and_the_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real app on PostgreSQL (pg8000, a stand-in DBAPI module: nothing connects)
    without asyncpg: the error says so without showing the password."""
    pg8000 = types.ModuleType("pg8000")
    pg8000.paramstyle = "format"  # type: ignore[attr-defined]
    pg8000.__version__ = "1.31.2"  # type: ignore[attr-defined]
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": "postgresql+pg8000://shop:secret@db.example/shop",
            "SQLALCHEMY_ENGINE_OPTIONS": {"module": pg8000},
        }
    )
    monkeypatch.setitem(sys.modules, "asyncpg", None)  # `import asyncpg` fails, as uninstalled
    with pytest.raises(CrossingError) as raised:
        LegacyDatabase(app, db).async_engine  # noqa: B018
    message = str(raised.value)
    assert "postgresql+asyncpg://shop:***@db.example/shop" in message
    assert "pip install asyncpg" in message and "secret" not in message


def test_without_greenlet_the_error_names_sqlalchemys_asyncio_extra(
    database: LegacyDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name: None if name == "greenlet" else find_spec(name)
    )
    with pytest.raises(CrossingError, match=r"needs greenlet: pip install 'sqlalchemy\[asyncio\]'"):
        database.async_engine  # noqa: B018


# --- fresh_database -------------------------------------------------------------------


def seed(db: SQLAlchemy) -> None:
    db.session.add(Note(text="seeded"))
    db.session.commit()


def rows(app: Flask) -> list[str]:
    return texts(app.test_client().get("/notes").get_json())


def test_fresh_database_resets_and_seeds_before_each_side(tmp_path: Path) -> None:
    config = {"SQLALCHEMY_DATABASE_URI": file_url(tmp_path)}
    served = create_app(config)
    hook = fresh_database(create_app, db, seed=seed, config=config)
    try:
        for side in ("legacy", "modern", "legacy"):
            with hook(side):
                assert rows(served) == ["seeded"]
                served.test_client().post("/notes", json={"text": f"written by {side}"})
                assert rows(served) == ["seeded", f"written by {side}"]
    finally:
        dispose(served)
        dispose(hook.app)  # type: ignore[attr-defined]  # the hook's own app and engine


def test_fresh_database_on_the_served_app_itself_works_in_memory() -> None:
    served = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    hook = fresh_database(served, db, seed=seed)
    for side in ("legacy", "modern"):
        with hook(side) as app:
            assert app is served
            served.test_client().post("/notes", json={"text": side})
            assert rows(served) == ["seeded", side]
    dispose(served)


def test_fresh_database_refuses_an_in_memory_database_it_would_build_a_second_time() -> None:
    hook = fresh_database(create_app, db, config={"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    with (
        pytest.raises(CrossingError, match=r"sqlite:// \(SQLite in memory\).*a file"),
        hook("legacy"),
    ):
        pass  # pragma: no cover


def test_fresh_database_catches_a_served_app_on_another_database(tmp_path: Path) -> None:
    """The ordering trap: the harness's app read its URL earlier than the hook's did."""
    served = create_app({"SQLALCHEMY_DATABASE_URI": file_url(tmp_path, "served.db")})
    with served.app_context():
        db.create_all()
    hook = fresh_database(create_app, db, config={"SQLALCHEMY_DATABASE_URI": file_url(tmp_path)})
    try:
        with pytest.raises(CrossingError) as raised, hook("legacy"):
            served.test_client().get("/notes")
        message = str(raised.value)
        assert f"reset {file_url(tmp_path)}" in message
        assert f"uses {file_url(tmp_path, 'served.db')}" in message
        assert "routeshift_harness.apps.legacy" in message
    finally:
        dispose(served)
        dispose(hook.app)  # type: ignore[attr-defined]


# --- a contract through the harness -----------------------------------------------------


@pytest.mark.parametrize("built_on", ["served-app", "factory"])
def test_a_contract_on_a_shared_database_passes_with_fresh_database(
    tmp_path: Path, legacy: Flask, database: LegacyDatabase, built_on: str
) -> None:
    path = write_registry(
        tmp_path,
        [
            {"endpoint": "list_notes", "rule": "/notes", "methods": ["GET"], "state": "legacy"},
            {"endpoint": "create_note", "rule": "/notes", "methods": ["POST"], "state": "legacy"},
        ],
        legacy_app="given_not_imported:app",
        modern_app="given_not_imported:app",
    )
    registry = load_registry(path)
    modern = create_port(database)
    cases = [
        case("list_notes", "GET", "/notes"),
        case("create_note", "POST", "/notes", json={"text": "hi"}, ignore=["/seen"]),
    ]
    harness = Harness(registry, load_apps(registry, legacy_app=legacy, modern_app=modern))
    if built_on == "served-app":
        hook = fresh_database(legacy, db, seed=seed)
    else:  # a second app from the factory: its own engine on the same file
        config = {"SQLALCHEMY_DATABASE_URI": file_url(tmp_path)}
        hook = fresh_database(create_app, db, seed=seed, config=config)
    try:
        assert [result.passed for result in harness.run_all(cases, hook)] == [True, True]
        # without it the port's POST sees the legacy side's row: another id
        shared = harness.run(cases[1])
        assert not shared.passed
        assert [d.where for d in shared.comparison.differences] == ["/id"]
    finally:
        harness.close()
        if built_on == "factory":
            dispose(hook.app)  # type: ignore[attr-defined]


def test_the_ports_legacy_gives_its_app(tmp_path: Path) -> None:
    """LegacyDatabase(legacy, db): the app the ports' Legacy resolves, on first use."""
    from routeshift.compat import Legacy

    flask_app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'l.db'}"})
    database = LegacyDatabase(Legacy(flask_app), db)
    with flask_app.app_context():
        assert database.engine is db.engine
