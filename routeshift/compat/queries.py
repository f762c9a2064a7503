"""The queries of ported handlers on the legacy app's engine, with the fewest hops there
are: one SQLAlchemy Core statement per call, from an async handler.

    from routeshift.compat import Queries, RequestQueries

    queries = Queries(engine)          # the app's Engine, or a callable that returns it
    Db = Annotated[RequestQueries, Depends(queries)]

    USER_BY_ID = select(users).where(users.c.id == bindparam("user_id"))  # built once

    @app.get("/users/{user_id}")
    async def get_user(user_id: int, db: Db) -> UserOut:
        row = await db.fetch_one(USER_BY_ID, user_id=user_id)
        ...

`fetch_one` gives the first row as a dict (None when there is none), `fetch_all` every
row, `execute` runs a statement for its effect. Where a statement runs depends on the
engine's database:

- **PostgreSQL** (the engine on any driver: psycopg, psycopg2, pg8000), with asyncpg
  installed: async end to end. The statement is compiled once for asyncpg (`$n`
  parameters) and sent on an asyncpg pool of the running event loop, one pool per
  database and loop, made on first use from the engine's URL: no thread, no greenlet.
  SQLAlchemy's asyncio extension on asyncpg measured slower here than a thread hop to a
  sync driver (`bench/README.md`); asyncpg alone, three times faster than that hop.
- **Any other database** (SQLite, MySQL, ...), or `asyncpg=False`: one hop to a worker
  thread (a `concurrent.futures` pool: `loop.run_in_executor`, a third of what anyio's
  `to_thread.run_sync` costs), where a connection of the engine runs the statement and is
  closed. The request's context variables go with it.

A write (an INSERT, UPDATE or DELETE, a `text()` statement: anything but a SELECT, and
any statement given to `execute`) is committed when it succeeds; a SELECT commits
nothing. In a shadow copy of a request (`is_shadow`: the gateway sets it) a write runs in
a transaction that is always rolled back, so the port never writes what legacy already
wrote. A broken constraint is `sqlalchemy.exc.IntegrityError`
on both kinds of database, so a handler catches one exception.

Work that needs the ORM or several statements in one transaction: `await
db.run(work, *args)` calls `work(connection, *args)` in one worker-thread hop on a
connection of the engine, in a transaction committed when `work` returns, rolled back
when it raises, and always rolled back in a shadow copy; `Session(bind=connection,
join_transaction_mode="create_savepoint")` is the ORM on it.

Limits on asyncpg: values go to the server as they are and rows come back as asyncpg
decodes them, which suits the plain column types (integers, strings, floats, booleans,
timestamps, UUIDs); a column type with its own Python conversion (SQLAlchemy's JSON,
Enum, a TypeDecorator) needs `run`, or `asyncpg=False`. The pool connects with the
engine's URL (its query as asyncpg's DSN options); `connect_args` and a `creator` of the
engine are not seen: pass `asyncpg_options=` (keyword arguments of
`asyncpg.create_pool`). Statements should be built once, with `bindparam` for what
varies: each new statement object is compiled again. Close the pools in the app's
lifespan shutdown (`await queries.close()`).
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import importlib.util
import logging
import threading
import weakref
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar, cast

from sqlalchemy import Connection, Engine, Executable
from sqlalchemy.dialects.postgresql import asyncpg as asyncpg_dialect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler
from starlette.requests import Request

from routeshift.compat.crossing import is_shadow

if TYPE_CHECKING:
    import asyncpg

__all__ = ["Queries", "RequestQueries", "begin_sqlite"]

P = ParamSpec("P")
T = TypeVar("T")

Row = dict[str, Any]
EngineSource = Engine | Callable[[], Engine]

logger = logging.getLogger(__name__)

#: worker threads of a Queries' own pool (one per statement under way)
THREADS = 16
#: connections of each asyncpg pool (one pool per database and event loop)
POOL_SIZE = 16
#: statements whose asyncpg form is kept per database (an app's are a few dozen)
COMPILED_CACHE_SIZE = 500


class Queries:
    """Statements on `engine` (an Engine, or a callable called for each statement that
    returns the engine of the moment, which must not block: a made engine); see the
    module docstring.

    `executor`: the thread pool of the sync hops (default: one of THREADS threads of its
    own, made on first use). `asyncpg`: False keeps a PostgreSQL engine on the thread
    hop. `pool_size`, `asyncpg_options`: of the asyncpg pools.

    As a FastAPI dependency (`Depends(queries)`) it gives the request's `RequestQueries`,
    which knows whether the request is a shadow copy.
    """

    def __init__(
        self,
        engine: EngineSource,
        *,
        executor: ThreadPoolExecutor | None = None,
        asyncpg: bool = True,
        pool_size: int = POOL_SIZE,
        asyncpg_options: Mapping[str, Any] | None = None,
    ) -> None:
        self._engine_source = engine
        self._executor = executor
        self.use_asyncpg = asyncpg
        self.pool_size = pool_size
        self.asyncpg_options = dict(asyncpg_options or {})
        self._lock = threading.Lock()
        self._postgres: dict[str, _Postgres] = {}  # by URL: engines of one URL share it
        self._seen: weakref.WeakKeyDictionary[Engine, _Postgres | None] = (
            weakref.WeakKeyDictionary()
        )
        self._warned = False

    def __repr__(self) -> str:
        return f"Queries({self._engine_source!r})"

    async def __call__(self, request: Request) -> RequestQueries:
        """The dependency: the request's queries (async, no I/O: no thread hop)."""
        return RequestQueries(self, is_shadow(request.scope))

    def bind(self, *, shadow: bool = False) -> RequestQueries:
        """Queries as a request would make them, outside a request (tests, scripts)."""
        return RequestQueries(self, shadow)

    @property
    def engine(self) -> Engine:
        """The engine of the moment."""
        source = self._engine_source
        return source if isinstance(source, Engine) else source()

    @property
    def executor(self) -> ThreadPoolExecutor:
        if self._executor is None:
            with self._lock:
                if self._executor is None:
                    self._executor = ThreadPoolExecutor(THREADS, thread_name_prefix="routeshift-db")
        return self._executor

    def uses_asyncpg(self) -> bool:
        """Whether statements run on asyncpg (for the engine of the moment)."""
        return self._postgres_of(self.engine) is not None

    async def close(self) -> None:
        """Close the asyncpg pools of the running event loop (the app's shutdown)."""
        for postgres in list(self._postgres.values()):
            await postgres.close()

    def dispose(self) -> None:
        """Drop every asyncpg pool at once, without awaiting (a test that moves on to
        another database); made again on the next statement. A pool whose loop is
        closed already is only forgotten: close pools in their loop (`close`)."""
        with self._lock:
            found, self._postgres = list(self._postgres.values()), {}
            self._seen = weakref.WeakKeyDictionary()
        for postgres in found:
            postgres.terminate()

    # --- running ------------------------------------------------------------------------

    async def _fetch(
        self,
        statement: Executable,
        params: dict[str, Any],
        *,
        shadow: bool,
        write: bool,
        first: bool = False,
    ) -> list[Row]:
        engine = self.engine
        postgres = self._postgres_of(engine)
        if postgres is not None:
            return await postgres.fetch(statement, params, shadow, write, first)
        return await self._in_thread(_fetch_on, engine, statement, params, shadow, write, first)

    async def _in_thread(self, work: Callable[..., T], *args: Any) -> T:
        call = functools.partial(contextvars.copy_context().run, work, *args)
        return await asyncio.get_running_loop().run_in_executor(self.executor, call)

    def _postgres_of(self, engine: Engine) -> _Postgres | None:
        """The asyncpg side of `engine`'s database, None for the thread hop; looked up
        once per engine (the URL's rendering costs more than the lookup)."""
        try:
            return self._seen[engine]
        except KeyError:
            found = self._seen[engine] = self._postgres_for(engine)
            return found

    def _postgres_for(self, engine: Engine) -> _Postgres | None:
        if not self.use_asyncpg or engine.dialect.name != "postgresql":
            return None
        key = engine.url.render_as_string(hide_password=False)
        found = self._postgres.get(key)
        if found is not None:
            return found
        if importlib.util.find_spec("asyncpg") is None:
            if not self._warned:
                self._warned = True
                logger.warning(
                    "%s is PostgreSQL but asyncpg is not installed: each statement takes a "
                    "worker thread (pip install asyncpg for async end to end)",
                    engine.url,
                )
            return None
        with self._lock:
            found = self._postgres.get(key)
            if found is None:
                found = self._postgres[key] = _Postgres(
                    key, {"max_size": self.pool_size, **self.asyncpg_options}
                )
        return found


@dataclass(frozen=True, slots=True)
class RequestQueries:
    """The queries of one request: a shadow copy's writes are rolled back."""

    queries: Queries
    shadow: bool

    async def fetch_one(self, statement: Executable, /, **params: Any) -> Row | None:
        """The first row of `statement` run with `params` (its bound parameters by
        name), None when there is none."""
        rows = await self.queries._fetch(
            statement, params, shadow=self.shadow, write=_writes(statement), first=True
        )
        return rows[0] if rows else None

    async def fetch_all(self, statement: Executable, /, **params: Any) -> Sequence[Row]:
        """Every row of `statement` run with `params`."""
        return await self.queries._fetch(
            statement, params, shadow=self.shadow, write=_writes(statement)
        )

    async def execute(self, statement: Executable, /, **params: Any) -> None:
        """Run `statement` with `params` for its effect: committed, or rolled back in a
        shadow copy."""
        await self.queries._fetch(statement, params, shadow=self.shadow, write=True)

    async def run(
        self, work: Callable[Concatenate[Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """`work(connection, *args, **kwargs)` in one worker-thread hop, in a transaction
        committed when it returns, rolled back when it raises, always rolled back in a
        shadow copy."""

        def call(connection: Connection) -> T:
            return work(connection, *args, **kwargs)

        return await self.queries._in_thread(_run_on, self.queries.engine, self.shadow, call)


def _writes(statement: Executable) -> bool:
    """Whether `statement` is run as a write: anything but a SELECT (an INSERT, UPDATE or
    DELETE, and a `text()` whose SQL SQLAlchemy does not know)."""
    return not getattr(statement, "is_select", False)


# --- the thread hop ----------------------------------------------------------------------


def _fetch_on(
    engine: Engine,
    statement: Executable,
    params: dict[str, Any],
    shadow: bool,
    write: bool,
    first: bool,
) -> list[Row]:
    with engine.connect() as connection:
        result = connection.execute(statement, params)
        rows: list[Row] = []  # a statement without rows: an INSERT, say
        if result.returns_rows:
            mappings = result.mappings()
            if not first:
                rows = [dict(row) for row in mappings]
            elif (row := mappings.first()) is not None:
                rows = [dict(row)]
        if write and not shadow:
            connection.commit()
        # else the connection's close rolls back what is left: a read, a shadow write
        return rows


def _run_on(engine: Engine, shadow: bool, work: Callable[[Connection], T]) -> T:
    with engine.connect() as connection:
        transaction = connection.begin()
        begin_sqlite(connection)
        try:
            result = work(connection)
        except BaseException:
            transaction.rollback()
            raise
        if shadow:
            transaction.rollback()
        else:
            transaction.commit()
        return result


def begin_sqlite(connection: Connection) -> None:
    """Open the outer transaction by hand on SQLite where the driver has not: sqlite3's
    legacy transaction control sends no BEGIN before a SAVEPOINT, so a released
    savepoint would commit. Other dialects began it already."""
    if connection.dialect.name != "sqlite":
        return
    if not getattr(connection.connection.driver_connection, "in_transaction", False):
        connection.exec_driver_sql("BEGIN")


# --- asyncpg -----------------------------------------------------------------------------


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


_DIALECT = asyncpg_dialect.dialect(paramstyle="numeric_dollar")  # type: ignore[no-untyped-call]


class _Postgres:
    """One PostgreSQL database through asyncpg: a pool per event loop, the statements
    compiled once."""

    def __init__(self, url: str, options: dict[str, Any]) -> None:
        from sqlalchemy import make_url

        self.dsn = make_url(url).set(drivername="postgresql").render_as_string(False)
        self.options = options
        self._compiled: dict[int, tuple[Executable, _Compiled]] = {}
        self._pools: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, asyncio.Task[asyncpg.Pool]
        ] = weakref.WeakKeyDictionary()

    def compiled(self, statement: Executable) -> _Compiled:
        known = self._compiled.get(id(statement))
        if known is not None and known[0] is statement:
            return known[1]
        if len(self._compiled) >= COMPILED_CACHE_SIZE:
            self._compiled.clear()
        compiled = cast(ClauseElement, statement).compile(dialect=_DIALECT)
        assert isinstance(compiled, SQLCompiler)
        result = _Compiled(str(compiled), tuple(compiled.positiontup or ()), compiled)
        self._compiled[id(statement)] = (statement, result)  # kept, so its id stays its
        return result

    async def pool(self) -> asyncpg.Pool:
        loop = asyncio.get_running_loop()
        making = self._pools.get(loop)
        if making is None or (making.done() and not _made(making)):
            making = loop.create_task(self._make_pool())
            self._pools[loop] = making
        return await asyncio.shield(making)

    async def _make_pool(self) -> asyncpg.Pool:
        import asyncpg

        return await asyncpg.create_pool(self.dsn, **{"min_size": 1, **self.options})

    async def close(self) -> None:
        making = self._pools.pop(asyncio.get_running_loop(), None)
        if making is not None:
            await asyncio.wait([making])
            if _made(making):
                await making.result().close()

    def terminate(self) -> None:
        for loop, making in list(self._pools.items()):
            if making.done() and _made(making) and not loop.is_closed():
                making.result().terminate()
        self._pools.clear()

    async def fetch(
        self,
        statement: Executable,
        params: dict[str, Any],
        shadow: bool,
        write: bool,
        first: bool,
    ) -> list[Row]:
        import asyncpg

        compiled = self.compiled(statement)
        arguments = compiled.arguments(params)
        pool = await self.pool()
        try:
            if shadow and write:
                async with pool.acquire() as connection:
                    transaction = connection.transaction()
                    await transaction.start()
                    try:
                        records = await connection.fetch(compiled.sql, *arguments)
                        records = records[:1] if first else records
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
