"""routeshift.compat.queries: Core statements of a port on SQLite (one thread hop each)
and on a real PostgreSQL server (asyncpg, no thread), with the same answers."""

from __future__ import annotations

import asyncio
import contextvars
import gc
import importlib.util
import logging
import threading
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import Shadowed
from fastapi import Depends, FastAPI
from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    create_engine,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.exc import DataError, IntegrityError, StatementError
from sqlalchemy.orm import Session

from routeshift.compat import Queries, RequestQueries
from routeshift.compat import queries as queries_module
from routeshift.errors import ShadowCommitError

pytestmark = pytest.mark.anyio

METADATA = MetaData()
NOTES = Table(
    "notes",
    METADATA,
    Column("id", Integer, primary_key=True),
    Column("text", String(50), unique=True, nullable=False),
    Column("stars", Integer, nullable=True),
)
NOTE_BY_ID = select(NOTES).where(NOTES.c.id == bindparam("note_id"))
ALL_NOTES = select(NOTES).order_by(NOTES.c.id)
ADD_NOTE = (
    insert(NOTES)
    .values(text=bindparam("text"), stars=bindparam("stars", None, required=False))
    .returning(NOTES.c.id, NOTES.c.text)
)
STAR = update(NOTES).where(NOTES.c.id == bindparam("note_id")).values(stars=bindparam("stars"))


class CountingPool(ThreadPoolExecutor):
    """A thread pool that counts the work it is given: the thread hops."""

    def __init__(self) -> None:
        super().__init__(4, thread_name_prefix="counted-db")
        self.hops = 0

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
        self.hops += 1
        return super().submit(fn, *args, **kwargs)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """The notes table with two notes, on a SQLite file or on a new PostgreSQL database."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'notes.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    made = create_engine(url)
    METADATA.create_all(made)
    with made.begin() as connection:
        connection.execute(
            insert(NOTES), [{"text": "first", "stars": 1}, {"text": "second", "stars": None}]
        )
    yield made
    made.dispose()


@pytest.fixture
def pool() -> Iterator[CountingPool]:
    executor = CountingPool()
    yield executor
    executor.shutdown()


@pytest.fixture
async def queries(engine: Engine, pool: CountingPool) -> AsyncIterator[Queries]:
    made = Queries(engine, executor=pool)
    yield made
    await made.close()


def on_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


def texts(engine: Engine) -> list[str]:
    """What is committed, read on a connection of the engine's own."""
    with engine.connect() as connection:
        return list(connection.scalars(select(NOTES.c.text).order_by(NOTES.c.id)))


async def test_reads_give_dicts_and_take_one_hop_or_none(
    queries: Queries, engine: Engine, pool: CountingPool
) -> None:
    db = queries.bind()
    assert await db.fetch_one(NOTE_BY_ID, note_id=1) == {"id": 1, "text": "first", "stars": 1}
    assert await db.fetch_one(NOTE_BY_ID, note_id=99) is None
    rows = await db.fetch_all(ALL_NOTES)
    assert [row["text"] for row in rows] == ["first", "second"]
    assert rows[1]["stars"] is None
    # a literal of the statement is a parameter with its value
    assert await db.fetch_all(select(NOTES.c.id).filter_by(text="second")) == [{"id": 2}]
    assert queries.uses_asyncpg() is on_postgres(engine)
    assert pool.hops == (0 if on_postgres(engine) else 4)


async def test_writes_are_committed_and_a_read_commits_nothing(
    queries: Queries, engine: Engine
) -> None:
    db = queries.bind()
    added = await db.fetch_one(ADD_NOTE, text="third")
    assert added is not None and added["text"] == "third"
    await db.execute(STAR, note_id=added["id"], stars=5)
    assert texts(engine) == ["first", "second", "third"]
    assert (await db.fetch_one(NOTE_BY_ID, note_id=added["id"]) or {})["stars"] == 5
    # SQL that SQLAlchemy does not parse (text) is a write: committed
    dropped = await db.fetch_all(text("DELETE FROM notes WHERE id = 2 RETURNING id"))
    assert dropped == [{"id": 2}] and texts(engine) == ["first", "third"]


async def test_a_shadow_copys_writes_are_rolled_back(queries: Queries, engine: Engine) -> None:
    shadow = queries.bind(shadow=True)
    added = await shadow.fetch_one(ADD_NOTE, text="ghost")
    assert added is not None and added["text"] == "ghost"  # seen inside its write
    await shadow.execute(STAR, note_id=1, stars=9)
    await shadow.fetch_all(ADD_NOTE, text="ghost 2")
    assert await shadow.fetch_all(text("DELETE FROM notes RETURNING id")) != []
    assert texts(engine) == ["first", "second"]
    assert (await shadow.fetch_one(NOTE_BY_ID, note_id=1) or {})["stars"] == 1


async def test_a_broken_constraint_is_integrity_error_on_both(queries: Queries) -> None:
    db = queries.bind()
    with pytest.raises(IntegrityError):
        await db.fetch_one(ADD_NOTE, text="first")
    with pytest.raises(IntegrityError):
        await db.execute(insert(NOTES).values(text=None))
    assert await db.fetch_one(ADD_NOTE, text="fresh") is not None  # the pool is fine


async def test_a_missing_value_is_sqlalchemys_statement_error(queries: Queries) -> None:
    with pytest.raises(StatementError, match="A value is required for bind parameter 'note_id'"):
        await queries.bind().fetch_one(NOTE_BY_ID)


def _stamped(context: Any) -> str:
    return f"for {context.get_current_parameters()['name']}"


STAMPS = Table(
    "stamps",
    METADATA,
    Column("id", Integer, primary_key=True),
    Column("name", String(50)),
    Column("kind", String(10), default="plain"),
    Column("label", String(50), default=_stamped),
    Column("version", Integer, default=lambda: 1, onupdate=lambda: 2),
)


async def test_python_side_defaults_and_in_lists_as_sqlalchemy_runs_them(
    queries: Queries, engine: Engine
) -> None:
    """What SQLAlchemy's execution does beyond the SQL: a column's `default=` (a value, a
    callable, one that reads the row's parameters) and `onupdate=`, the columns of a
    bare `insert(table)` from the call's names, IN lists expanded; and an INSERT without
    RETURNING gives no row (PostgreSQL's implicit RETURNING of the key is not shown)."""
    db = queries.bind()
    bare = insert(STAMPS)
    assert await db.fetch_one(bare, name="a") is None
    await db.execute(bare, name="b", kind="rare")
    rows = await db.fetch_all(select(STAMPS).order_by(STAMPS.c.id))
    assert [(r["name"], r["kind"], r["label"], r["version"]) for r in rows] == [
        ("a", "plain", "for a", 1),
        ("b", "rare", "for b", 1),
    ]
    await db.execute(
        update(STAMPS).where(STAMPS.c.name == bindparam("who")).values(kind="x"), who="a"
    )
    versions = await db.fetch_all(select(STAMPS.c.version).order_by(STAMPS.c.id))
    assert [row["version"] for row in versions] == [2, 1]
    listed = select(NOTES.c.text).where(NOTES.c.id.in_([1, 2, 99])).order_by(NOTES.c.id)
    assert [row["text"] for row in await db.fetch_all(listed)] == ["first", "second"]
    expanding = select(NOTES.c.id).where(
        NOTES.c.text.in_(bindparam("texts", expanding=True)), NOTES.c.id > bindparam("above")
    )
    assert await db.fetch_all(expanding, texts=["first", "second"], above=1) == [{"id": 2}]
    assert await db.fetch_all(expanding, texts=[], above=0) == []


async def test_a_shadow_copys_ddl_and_cte_writes_are_rolled_back_too(
    queries: Queries, engine: Engine
) -> None:
    """sqlite3 sends no BEGIN before DDL or a WITH: the shadow's transaction is begun by
    hand, so they are rolled back as an INSERT is."""
    shadow = queries.bind(shadow=True)
    await shadow.execute(text("CREATE TABLE ghost (x INTEGER)"))
    copied = insert(NOTES).from_select(["text"], select(NOTES.c.text + " copy"))
    await shadow.execute(copied.add_cte(select(NOTES.c.id).cte("unused")))
    assert texts(engine) == ["first", "second"]
    with engine.connect() as connection:
        tables = connection.execute(
            text("SELECT 1 FROM information_schema.tables WHERE table_name = 'ghost'")
            if on_postgres(engine)
            else text("SELECT 1 FROM sqlite_master WHERE name = 'ghost'")
        )
        assert tables.first() is None


async def test_a_shadow_copys_work_may_not_commit_its_connection(
    queries: Queries, engine: Engine
) -> None:
    def commits(connection: Connection) -> None:
        connection.execute(insert(NOTES).values(text="kept?"))
        connection.commit()

    with pytest.raises(ShadowCommitError, match="join_transaction_mode='create_savepoint'"):
        await queries.bind(shadow=True).run(commits)
    assert texts(engine) == ["first", "second"]


async def test_errors_keep_the_engines_hide_parameters(engine: Engine, pool: CountingPool) -> None:
    hidden = create_engine(engine.url, hide_parameters=True)
    queries = Queries(hidden, executor=pool)
    try:
        with pytest.raises(IntegrityError) as raised:
            await queries.bind().fetch_one(ADD_NOTE, text="first")
        assert "[SQL parameters hidden due to hide_parameters=True]" in str(raised.value)
        assert "'first'" not in str(raised.value)
    finally:
        await queries.close()
        hidden.dispose()


async def test_a_value_beyond_the_columns_type_is_data_error(postgres_url: str) -> None:
    """PostgreSQL's INTEGER is 32 bits: asyncpg refuses the value, as psycopg's server
    does, and both are SQLAlchemy's DataError."""
    engine = create_engine(postgres_url)
    METADATA.create_all(engine)
    big = select(NOTES).where(NOTES.c.stars == bindparam("stars"))
    for queries in (Queries(engine), Queries(engine, asyncpg=False)):
        try:
            with pytest.raises(DataError):
                await queries.bind().fetch_all(big, stars=3_000_000_000)
        finally:
            await queries.close()
    engine.dispose()


async def test_run_gives_one_transaction_in_a_worker_thread(
    queries: Queries, engine: Engine, pool: CountingPool
) -> None:
    """`run`: sync work on a connection, with the caller's context variables; committed
    when it returns, rolled back when it raises, and in a shadow copy, where the ORM's
    commit only releases a savepoint."""
    marker: contextvars.ContextVar[str] = contextvars.ContextVar("marker")
    marker.set("the request's")
    seen: dict[str, str] = {}

    def rename(connection: Connection, name: str, *, fail: bool = False) -> int:
        seen["thread"], seen["marker"] = threading.current_thread().name, marker.get()
        connection.execute(STAR, {"note_id": 2, "stars": 3})
        connection.execute(text("UPDATE notes SET text = :t WHERE id = 1"), {"t": name})
        if fail:
            raise RuntimeError("after the update")
        return int(
            connection.scalar(text("SELECT count(*) FROM notes WHERE text = :t"), {"t": name}) or 0
        )

    db = queries.bind()
    with pytest.raises(RuntimeError, match="after the update"):
        await db.run(rename, "broken", fail=True)
    assert texts(engine) == ["first", "second"]
    assert await db.run(rename, "renamed") == 1
    assert texts(engine) == ["renamed", "second"]
    assert seen == {"thread": seen["thread"], "marker": "the request's"}
    assert seen["thread"].startswith("counted-db")

    def orm_add(connection: Connection) -> None:
        with Session(bind=connection, join_transaction_mode="create_savepoint") as session:
            session.execute(insert(NOTES).values(text="orm"))
            session.commit()

    await queries.bind(shadow=True).run(orm_add)
    assert texts(engine) == ["renamed", "second"]
    await db.run(orm_add)
    assert texts(engine) == ["renamed", "second", "orm"]
    assert pool.hops == 4  # one a call, on PostgreSQL too (run is sync work)


async def test_the_dependency_binds_the_requests_shadow_flag(
    queries: Queries, engine: Engine
) -> None:
    app = FastAPI()

    @app.post("/notes")
    async def add(note: dict[str, str], db: RequestQueries = Depends(queries)) -> dict[str, Any]:  # noqa: B008
        return dict(await db.fetch_one(ADD_NOTE, text=note["text"]) or {})

    for wrapped, name in ((Shadowed(app), "shadowed"), (app, "kept")):
        transport = httpx.ASGITransport(app=wrapped)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            answer = await client.post("/notes", json={"text": name})
        assert answer.json()["text"] == name, answer.text
    assert texts(engine) == ["first", "second", "kept"]


def test_each_event_loop_gets_its_pool(postgres_url: str) -> None:
    engine = create_engine(postgres_url)
    METADATA.create_all(engine)
    queries = Queries(engine)

    async def one_read() -> int:
        rows = await queries.bind().fetch_all(select(NOTES.c.id))
        await queries.close()
        return len(rows)

    async def unclosed_read() -> int:
        return len(await queries.bind().fetch_all(select(NOTES.c.id)))

    try:
        assert asyncio.run(one_read()) == 0
        assert asyncio.run(one_read()) == 0  # a new loop: a new pool, not the closed one
        # a loop that ends without `close`: its pool is dropped when the next loop makes
        # one, and Python says what was left open
        with pytest.warns(ResourceWarning, match="unclosed"):
            assert asyncio.run(unclosed_read()) == asyncio.run(unclosed_read()) == 0
            postgres = next(iter(queries._postgres.values()))
            assert len(postgres._pools) == 1  # the ended loop's pool swept, not kept
            queries.dispose()  # forgets the other: its loop is closed
            gc.collect()
    finally:
        queries.dispose()
        engine.dispose()


async def test_without_asyncpg_postgresql_takes_the_thread_hop(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A PostgreSQL engine with asyncpg missing still works, one hop a statement, and
    says so once; `asyncpg=False` chooses the hop on purpose, silently."""
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *args: None if name == "asyncpg" else find_spec(name, *args),
    )
    engine = create_engine(postgres_url)
    METADATA.create_all(engine)
    executor = CountingPool()
    try:
        missing = Queries(engine, executor=executor)
        with caplog.at_level(logging.WARNING, queries_module.__name__):
            assert await missing.bind().fetch_all(ALL_NOTES) == []
            assert await missing.bind().fetch_all(ALL_NOTES) == []
        assert caplog.text.count("asyncpg is not installed") == 1
        assert "pip install asyncpg" in caplog.text and executor.hops == 2
        monkeypatch.undo()
        chosen = Queries(engine, executor=executor, asyncpg=False)
        assert not chosen.uses_asyncpg()
        assert await chosen.bind().fetch_all(ALL_NOTES) == [] and executor.hops == 3
    finally:
        executor.shutdown()
        engine.dispose()


def test_a_statement_is_compiled_once_and_the_cache_is_bounded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No server needed: compiling for asyncpg is SQLAlchemy's dialect alone."""
    postgres = queries_module._Postgres("postgresql://u@127.0.0.1/db", {})
    compiled = postgres.compiled(ADD_NOTE, {"text": "x"})
    assert compiled is postgres.compiled(ADD_NOTE, {"text": "y"})
    assert compiled.sql.startswith("INSERT INTO notes (text, stars) VALUES ($1")
    assert compiled.arguments({"text": "x"})[1] == ["x", None]  # stars: not required
    monkeypatch.setattr(queries_module, "COMPILED_CACHE_SIZE", 2)
    for note_id in range(5):  # statements made per call: compiled each time, not kept
        postgres.compiled(select(NOTES).where(NOTES.c.id == note_id), {})
    assert len(postgres._compiled) <= 2
