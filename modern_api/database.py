"""The database of the ports, used from async handlers with the fewest hops there are.

A handler sends one SQLAlchemy Core statement (`fetch_one`, `fetch_all`) and gets plain
mappings back, to validate into its response model. Where the statement runs depends on
the database both apps share (`DATABASE_URL`):

- **PostgreSQL** (any `postgresql+<driver>://` URL the legacy app uses, with asyncpg
  installed: the `postgres` extra): async end to end. The statement, compiled once for
  asyncpg, runs on an asyncpg pool of the running event loop; no thread is involved.
- **Any other database** (SQLite by default): one hop to a worker thread of
  `database_threads`, where a connection of the legacy engine runs the statement.

An INSERT, UPDATE or DELETE is committed when it succeeds; a read commits nothing. In a
shadow copy of a request (`routeshift.compat.is_shadow`) a write runs in a transaction
that is always rolled back, so the modern side never writes what legacy has already
written. A constraint that fails raises `sqlalchemy.exc.IntegrityError` on both kinds of
database.

Work that needs the ORM or several statements in one transaction uses `read(work)` and
`write(work)`: sync SQLAlchemy in one worker-thread hop, on any database.

On asyncpg, values go to the server as they are and rows come back as asyncpg decodes
them: fine for the plain column types (integers, strings, timestamps) of the example's
tables; a column type with its own Python conversion (SQLAlchemy's JSON, Enum,
TypeDecorator) needs `read` / `write`.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import importlib.util
import logging
import threading
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar, cast

from sqlalchemy import Connection, Executable, make_url
from sqlalchemy.dialects.postgresql import asyncpg as asyncpg_dialect
from sqlalchemy.engine import URL
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

from legacy_flask.database import database_url, get_engine, open_session, rolled_back_session

if TYPE_CHECKING:
    import asyncpg  # type: ignore[import-untyped]

P = ParamSpec("P")
T = TypeVar("T")

Row = Mapping[str, Any]

logger = logging.getLogger(__name__)

#: worker threads of the ports' database work, one per query under way (the engine's
#: pool keeps 16 SQLite connections); threads start when first needed
DATABASE_THREADS = 16

#: connections of each event loop's asyncpg pool (a PostgreSQL DATABASE_URL)
ASYNCPG_POOL_SIZE = 16

#: statements whose asyncpg SQL is kept (the ports' are a few dozen)
COMPILED_CACHE_SIZE = 500

database_threads = ThreadPoolExecutor(DATABASE_THREADS, thread_name_prefix="modern_api-db")
"""The pool the ports' sync database work runs in."""


@dataclass(frozen=True, slots=True)
class RequestDatabase:
    """The database of one request: `url` (None: DATABASE_URL), and whether the request
    is a shadow copy, whose writes are rolled back."""

    url: str | None
    shadow: bool

    async def fetch_one(self, statement: Executable, /, **params: Any) -> Row | None:
        """The first row of `statement` run with `params` (its bound parameters by
        name), None when there is none."""
        rows = await _backend(self.url).fetch(statement, params, self.shadow, first=True)
        return rows[0] if rows else None

    async def fetch_all(self, statement: Executable, /, **params: Any) -> Sequence[Row]:
        """Every row of `statement` run with `params`."""
        return await _backend(self.url).fetch(statement, params, self.shadow, first=False)

    async def execute(self, statement: Executable, /, **params: Any) -> None:
        """Run `statement` with `params`, for a statement that returns no rows."""
        await _backend(self.url).fetch(statement, params, self.shadow, first=False)

    async def read(self, work: Callable[Concatenate[Connection, P], T], *args: P.args) -> T:
        """`work(connection, *args)` in one worker thread: sync SQLAlchemy Core on the
        engine both apps share, in a transaction rolled back when it returns (a read
        commits nothing)."""
        return await in_thread(self._read, work, *args)

    async def write(self, work: Callable[Concatenate[Session, P], T], *args: P.args) -> T:
        """`work(session, *args)` in one worker thread, in `request_session`: committed
        when it returns, rolled back when it raises, and never kept in a shadow copy."""
        return await in_thread(self._write, work, *args)

    def _read(self, work: Callable[..., T], *args: Any) -> T:
        with get_engine(self.url).connect() as connection:
            return work(connection, *args)

    def _write(self, work: Callable[..., T], *args: Any) -> T:
        with request_session(self.url, shadow=self.shadow) as session:
            return work(session, *args)


@contextmanager
def request_session(url: str | None, *, shadow: bool = False) -> Iterator[Session]:
    """A database session for one request: committed at the end, rolled back on error.

    A shadow request gets a session inside a transaction that is always rolled back,
    so the modern side can run a write that legacy has already made for real.
    """
    if shadow:
        with rolled_back_session(url) as rolled_back:
            yield rolled_back
        return
    session = open_session(url)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


async def in_thread(work: Callable[..., T], *args: object) -> T:
    """`work(*args)` in a worker thread of `database_threads`, with the request's
    context variables (the crossing that `legacy_url_for` finds).

    The hop is a `concurrent.futures` pool's (`loop.run_in_executor`): a third of what
    anyio's `to_thread.run_sync`, FastAPI's hop for a sync handler, costs a request.
    """
    call = functools.partial(contextvars.copy_context().run, work, *args)
    return await asyncio.get_running_loop().run_in_executor(database_threads, call)


class _ThreadedBackend:
    """A statement on a connection of the legacy engine, in one worker-thread hop."""

    def __init__(self, url: str) -> None:
        self.url = url

    async def fetch(
        self, statement: Executable, params: dict[str, Any], shadow: bool, *, first: bool
    ) -> list[Row]:
        return await in_thread(self._fetch, statement, params, shadow, first)

    def _fetch(
        self, statement: Executable, params: dict[str, Any], shadow: bool, first: bool
    ) -> list[Row]:
        with get_engine(self.url).connect() as connection:
            result = connection.execute(statement, params)
            rows: list[Row] = []  # a statement without rows: an INSERT, say
            if result.returns_rows:
                mappings = result.mappings()
                if not first:
                    rows = [dict(row) for row in mappings.all()]
                elif (row := mappings.first()) is not None:
                    rows = [dict(row)]
            if statement.is_dml and not shadow:
                connection.commit()
            # else the connection's close rolls back what is left: a read, a shadow write
            return rows


@dataclass(frozen=True, slots=True)
class _Compiled:
    """A statement compiled for asyncpg: its SQL, and the value of each `$n` from the
    parameters of a call."""

    sql: str
    names: tuple[str, ...]
    compiled: SQLCompiler

    def arguments(self, params: Mapping[str, Any]) -> list[Any]:
        arguments = []
        for name in self.names:
            if name in params:
                arguments.append(params[name])
                continue
            bind = self.compiled.binds[name]
            if bind.required:
                raise TypeError(
                    f"the statement needs a value of its parameter {name!r}: pass "
                    f"{name}=... in the call\n  {self.sql}"
                )
            arguments.append(bind.effective_value)
        return arguments


class _AsyncpgBackend:
    """A statement on PostgreSQL through an asyncpg pool of the running event loop."""

    dialect = asyncpg_dialect.dialect(paramstyle="numeric_dollar")  # type: ignore[no-untyped-call]

    def __init__(self, url: str) -> None:
        self.url = url
        self.dsn = make_url(url).set(drivername="postgresql").render_as_string(False)
        self._compiled: dict[int, tuple[Executable, _Compiled]] = {}
        self._pools: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, asyncio.Task[asyncpg.Pool]
        ] = weakref.WeakKeyDictionary()

    def compiled(self, statement: Executable) -> _Compiled:
        """`statement` compiled once: the ports' statements are module constants, with
        `bindparam` for what varies (a statement made per request is compiled each time,
        and COMPILED_CACHE_SIZE of them empty the cache)."""
        known = self._compiled.get(id(statement))
        if known is not None and known[0] is statement:
            return known[1]
        if len(self._compiled) >= COMPILED_CACHE_SIZE:
            self._compiled.clear()
        compiled = cast(ClauseElement, statement).compile(dialect=self.dialect)
        assert isinstance(compiled, SQLCompiler)
        result = _Compiled(str(compiled), tuple(compiled.positiontup or ()), compiled)
        self._compiled[id(statement)] = (statement, result)  # kept, so the id stays its
        return result

    async def pool(self) -> asyncpg.Pool:
        """The running loop's pool, made on first use (with the tables, as the legacy
        engine's first use makes them)."""
        loop = asyncio.get_running_loop()
        making = self._pools.get(loop)
        if making is None or (making.done() and not _made(making)):
            making = loop.create_task(self._make_pool())
            self._pools[loop] = making
        return await asyncio.shield(making)

    async def _make_pool(self) -> asyncpg.Pool:
        import asyncpg

        await asyncio.to_thread(get_engine, self.url)  # tables and seed, once
        return await asyncpg.create_pool(self.dsn, min_size=1, max_size=ASYNCPG_POOL_SIZE)

    async def close(self) -> None:
        """Close the running loop's pool (the app's shutdown)."""
        making = self._pools.pop(asyncio.get_running_loop(), None)
        if making is not None:
            await asyncio.wait([making])
            if _made(making):
                await making.result().close()

    def terminate(self) -> None:
        """Drop the connections of every loop's pool, without waiting (no loop needed)."""
        for making in list(self._pools.values()):
            if making.done() and _made(making):
                making.result().terminate()
        self._pools.clear()

    async def fetch(
        self, statement: Executable, params: dict[str, Any], shadow: bool, *, first: bool
    ) -> list[Row]:
        import asyncpg

        compiled = self.compiled(statement)
        arguments = compiled.arguments(params)
        pool = await self.pool()
        try:
            if shadow and statement.is_dml:
                async with pool.acquire() as connection:
                    transaction = connection.transaction()
                    await transaction.start()
                    try:
                        records = await connection.fetch(compiled.sql, *arguments)
                    finally:
                        await transaction.rollback()
            elif first:
                record = await pool.fetchrow(compiled.sql, *arguments)
                records = [] if record is None else [record]
            else:
                records = await pool.fetch(compiled.sql, *arguments)
        except asyncpg.IntegrityConstraintViolationError as error:
            raise IntegrityError(compiled.sql, arguments, error) from error
        return [dict(record) for record in records]


def _made(making: asyncio.Task[Any]) -> bool:
    """Whether a finished task made its pool (neither cancelled nor failed)."""
    return not making.cancelled() and making.exception() is None


_backends: dict[str, _ThreadedBackend | _AsyncpgBackend] = {}
_backends_lock = threading.Lock()


def uses_asyncpg(url: str | None = None) -> bool:
    """Whether the ports' statements on `url` (None: DATABASE_URL) run on asyncpg."""
    return isinstance(_backend(url), _AsyncpgBackend)


def _backend(url: str | None) -> _ThreadedBackend | _AsyncpgBackend:
    resolved = database_url(url)
    backend = _backends.get(resolved)
    if backend is None:
        with _backends_lock:
            backend = _backends.get(resolved)
            if backend is None:
                backend = _backends[resolved] = _make_backend(resolved)
    return backend


def _make_backend(url: str) -> _ThreadedBackend | _AsyncpgBackend:
    parsed: URL = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        return _ThreadedBackend(url)
    if importlib.util.find_spec("asyncpg") is None:
        logger.warning(
            "DATABASE_URL is PostgreSQL but asyncpg is not installed: the ports' queries "
            "take a worker thread each (pip install 'routeshift[postgres]' for asyncpg)"
        )
        return _ThreadedBackend(url)
    return _AsyncpgBackend(url)


async def close_databases() -> None:
    """Close the asyncpg pools of the running loop (the modern app's shutdown)."""
    for backend in list(_backends.values()):
        if isinstance(backend, _AsyncpgBackend):
            await backend.close()


def dispose_databases() -> None:
    """Drop every asyncpg pool and forget the backends, as `dispose_engines` does the
    legacy engines (tests that point DATABASE_URL at one database after another)."""
    with _backends_lock:
        backends = list(_backends.values())
        _backends.clear()
    for backend in backends:
        if isinstance(backend, _AsyncpgBackend):
            backend.terminate()
