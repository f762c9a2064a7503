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

Each statement is its own transaction: committed when it succeeds (a SELECT has nothing
to commit). In a shadow copy of a request (`is_shadow`: the gateway sets it) every
statement, a SELECT too (a function or a CTE can write), runs in a transaction that is
always rolled back, so the port never writes what legacy already wrote. Errors are
SQLAlchemy's on both kinds of database (`sqlalchemy.exc.IntegrityError` for a broken
constraint, `DataError` for a value the column's type cannot hold, `StatementError` for a
parameter without a value), so a handler catches one exception. As SQLAlchemy does, an
INSERT or UPDATE gets the Python-side defaults of its columns (`default=`, `onupdate=`),
and an IN list (`column.in_([...])`, `bindparam(..., expanding=True)`) is expanded.

Work that needs the ORM or several statements in one transaction: `await
db.run(work, *args)` calls `work(connection, *args)` in one worker-thread hop on a
connection of the engine, in a transaction committed when `work` returns, rolled back
when it raises, and always rolled back in a shadow copy; `Session(bind=connection,
join_transaction_mode="create_savepoint")` is the ORM on it (its commit releases a
savepoint); in a shadow copy a commit of the connection itself is refused
(`ShadowCommitError`), as it would keep what the work wrote.

Limits on asyncpg: values go to the server as they are and rows come back as asyncpg
decodes them, which suits the plain column types (integers, strings, floats, booleans,
timestamps, UUIDs); a column type with its own Python conversion (SQLAlchemy's JSON,
Enum, a TypeDecorator) needs `run`, or `asyncpg=False`. The pool connects with the
engine's URL (its query as asyncpg's DSN options); `connect_args` and a `creator` of the
engine are not seen: pass `asyncpg_options=` (keyword arguments of
`asyncpg.create_pool`). Statements should be built once, with `bindparam` for what
varies: each new statement object is compiled again. Close the pools in the app's
lifespan shutdown (`await queries.close()`): a pool lives as long as its event loop's
`Queries`, and one of a loop that ended without `close` keeps its connections until
`dispose()`.
"""

# no `from __future__ import annotations`: FastAPI 0.115 (the oldest supported) reads the
# annotations of a callable instance's __call__ (`Depends(queries)`) as they are, without
# the module's globals, and would take the string "Request" for a query parameter
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

from sqlalchemy import Connection, Engine, Executable, Insert, Update, event
from sqlalchemy.dialects.postgresql import asyncpg as asyncpg_dialect
from sqlalchemy.exc import (
    DatabaseError,
    DataError,
    DBAPIError,
    IntegrityError,
    InterfaceError,
    InvalidRequestError,
    OperationalError,
    ProgrammingError,
    StatementError,
)
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler
from starlette.requests import Request

from routeshift.compat.crossing import is_shadow
from routeshift.errors import ShadowCommitError

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

    async def __call__(self, request: Request) -> "RequestQueries":
        """The dependency: the request's queries (async, no I/O: no thread hop)."""
        return RequestQueries(self, is_shadow(request.scope))

    def bind(self, *, shadow: bool = False) -> "RequestQueries":
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
        first: bool = False,
    ) -> list[Row]:
        engine = self.engine
        postgres = self._postgres_of(engine)
        if postgres is not None:
            return await postgres.fetch(engine, statement, params, shadow, first)
        return await self._in_thread(_fetch_on, engine, statement, params, shadow, first)

    async def _in_thread(self, work: Callable[..., T], *args: Any) -> T:
        call = functools.partial(contextvars.copy_context().run, work, *args)
        return await asyncio.get_running_loop().run_in_executor(self.executor, call)

    def _postgres_of(self, engine: Engine) -> "_Postgres | None":
        """The asyncpg side of `engine`'s database, None for the thread hop; looked up
        once per engine (the URL's rendering costs more than the lookup)."""
        try:
            return self._seen[engine]
        except KeyError:
            found = self._seen[engine] = self._postgres_for(engine)
            return found

    def _postgres_for(self, engine: Engine) -> "_Postgres | None":
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
        rows = await self.queries._fetch(statement, params, shadow=self.shadow, first=True)
        return rows[0] if rows else None

    async def fetch_all(self, statement: Executable, /, **params: Any) -> Sequence[Row]:
        """Every row of `statement` run with `params`."""
        return await self.queries._fetch(statement, params, shadow=self.shadow)

    async def execute(self, statement: Executable, /, **params: Any) -> None:
        """Run `statement` with `params` for its effect: committed, or rolled back in a
        shadow copy."""
        await self.queries._fetch(statement, params, shadow=self.shadow)

    async def run(
        self, work: Callable[Concatenate[Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """`work(connection, *args, **kwargs)` in one worker-thread hop, in a transaction
        committed when it returns, rolled back when it raises, always rolled back in a
        shadow copy."""

        def call(connection: Connection) -> T:
            return work(connection, *args, **kwargs)

        return await self.queries._in_thread(_run_on, self.queries.engine, self.shadow, call)


# --- the thread hop ----------------------------------------------------------------------


def _fetch_on(
    engine: Engine, statement: Executable, params: dict[str, Any], shadow: bool, first: bool
) -> list[Row]:
    with engine.connect() as connection:
        if shadow:  # begun by hand: sqlite3 begins none before a CTE or DDL, say
            transaction = connection.begin()
            begin_sqlite(connection)
        result = connection.execute(statement, params)
        rows: list[Row] = []  # a statement without rows: an INSERT, say
        if result.returns_rows:
            mappings = result.mappings()
            if not first:
                rows = [dict(row) for row in mappings]
            elif (row := mappings.first()) is not None:
                rows = [dict(row)]
        if shadow:
            transaction.rollback()
        else:
            connection.commit()
        return rows


def _run_on(engine: Engine, shadow: bool, work: Callable[[Connection], T]) -> T:
    with engine.connect() as connection:
        transaction = connection.begin()
        begin_sqlite(connection)
        if shadow:
            event.listen(connection, "commit", _refuse_commit)
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


def _refuse_commit(connection: Connection) -> None:
    raise ShadowCommitError(
        "a shadow copy's work committed its connection, which would keep what it wrote: "
        "use a Session(bind=connection, join_transaction_mode='create_savepoint'), whose "
        "commit releases a savepoint, or no commit at all (run commits when work returns)"
    )


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
    """A statement compiled for asyncpg: its SQL (`$n` parameters), and how the values of
    a call become the arguments of `$1`, `$2`, ... as SQLAlchemy would make them."""

    sql: str
    compiled: SQLCompiler
    #: Python-side defaults of an INSERT or UPDATE (`default=`, `onupdate=`): by name
    defaults: tuple[tuple[str, Any], ...]
    #: the rows of an INSERT's implicit RETURNING (the primary key), which the thread
    #: hop does not return either
    drops_rows: bool

    def arguments(self, params: Mapping[str, Any]) -> tuple[str, list[Any]]:
        """The SQL and its arguments for `params`; StatementError for a value missing,
        as SQLAlchemy raises it."""
        if self.defaults:
            params = {**params}
            for name, default in self.defaults:
                if name not in params:
                    params[name] = _default_value(default, params)
        try:
            if self.compiled.post_compile_params:  # IN lists, literal_execute
                state = self.compiled.construct_expanded_state(params)
                return state.statement, list(state.positional_parameters)
            values = self.compiled.construct_params(params)
        except InvalidRequestError as error:
            raise StatementError(str(error), self.sql, dict(params), error) from None
        return self.sql, [values[name] for name in self.compiled.positiontup or ()]


class _CurrentParameters:
    """What a context-sensitive default (`default=lambda context: ...`) is given."""

    def __init__(self, params: dict[str, Any]) -> None:
        self.current_parameters = params

    def get_current_parameters(self, isolate_multiinsert_groups: bool = True) -> dict[str, Any]:
        return self.current_parameters


def _default_value(default: Any, params: dict[str, Any]) -> Any:
    if default.is_scalar:
        return default.arg
    if default.is_callable:
        return default.arg(_CurrentParameters(params))
    raise StatementError(  # a SQL expression default is rendered in the SQL, never here
        f"a default of kind {type(default).__name__} cannot be computed here", None, params, None
    )


_DIALECT = asyncpg_dialect.dialect(paramstyle="numeric_dollar")  # type: ignore[no-untyped-call]


class _Postgres:
    """One PostgreSQL database through asyncpg: a pool per event loop, the statements
    compiled once."""

    def __init__(self, url: str, options: dict[str, Any]) -> None:
        from sqlalchemy import make_url

        self.dsn = make_url(url).set(drivername="postgresql").render_as_string(False)
        self.options = options
        self._compiled: dict[tuple[int, frozenset[str] | None], tuple[Executable, _Compiled]] = {}
        # by loop; a task keeps its loop alive, so a closed loop's entry is swept by hand
        self._pools: dict[asyncio.AbstractEventLoop, asyncio.Task[asyncpg.Pool]] = {}

    def compiled(self, statement: Executable, params: Mapping[str, Any]) -> _Compiled:
        """`statement` compiled once (an INSERT or UPDATE once per set of parameter
        names, as SQLAlchemy compiles it for its columns)."""
        crud = isinstance(statement, (Insert, Update))
        key = (id(statement), frozenset(params) if crud else None)
        known = self._compiled.get(key)
        if known is not None and known[0] is statement:
            return known[1]
        if len(self._compiled) >= COMPILED_CACHE_SIZE:
            self._compiled.clear()
        element = cast(ClauseElement, statement)
        compiled = element.compile(dialect=_DIALECT, column_keys=sorted(params) if crud else None)
        assert isinstance(compiled, SQLCompiler)
        prefetch = [*compiled.insert_prefetch, *compiled.update_prefetch]
        is_insert = isinstance(statement, Insert)
        result = _Compiled(
            sql=str(compiled),
            compiled=compiled,
            defaults=tuple(
                (column.key, column.default if is_insert else column.onupdate)
                for column in prefetch
            ),
            drops_rows=bool(compiled.implicit_returning),
        )
        self._compiled[key] = (statement, result)  # kept, so its id stays its
        return result

    async def pool(self) -> "asyncpg.Pool":
        loop = asyncio.get_running_loop()
        making = self._pools.get(loop)
        if making is None or (making.done() and not _made(making)):
            for ended in [other for other in self._pools if other.is_closed()]:
                del self._pools[ended]  # its connections went with its loop's sockets
            making = loop.create_task(self._make_pool())
            self._pools[loop] = making
        return await asyncio.shield(making)

    async def _make_pool(self) -> "asyncpg.Pool":
        import asyncpg

        return await asyncpg.create_pool(self.dsn, **{"min_size": 1, **self.options})

    async def close(self) -> None:
        making = self._pools.pop(asyncio.get_running_loop(), None)
        if making is not None:
            await asyncio.wait([making])
            if _made(making):
                await making.result().close()

    def terminate(self) -> None:
        """Drop every loop's pool; from another thread than a running loop's, through
        that loop."""
        pools, self._pools = self._pools, {}
        for loop, making in pools.items():
            if loop.is_closed():
                continue
            if not making.done():
                stop = making.cancel
            elif _made(making):
                stop = making.result().terminate
            else:
                continue
            if _owns(loop):
                stop()
            else:
                loop.call_soon_threadsafe(stop)

    async def fetch(
        self,
        engine: Engine,
        statement: Executable,
        params: dict[str, Any],
        shadow: bool,
        first: bool,
    ) -> list[Row]:
        compiled = self.compiled(statement, params)
        sql, arguments = compiled.arguments(params)
        try:
            pool = await self.pool()
            if shadow:  # a read too: a SELECT can write (a function, a CTE)
                async with pool.acquire() as connection:
                    transaction = connection.transaction()
                    await transaction.start()
                    try:
                        records = await connection.fetch(sql, *arguments)
                    finally:
                        await transaction.rollback()
            elif first and not compiled.drops_rows:
                record = await pool.fetchrow(sql, *arguments)
                records = [] if record is None else [record]
            else:
                records = await pool.fetch(sql, *arguments)
        except Exception as error:
            raise _translated(error, sql, arguments, engine) from error
        if compiled.drops_rows:
            return []
        return [dict(record) for record in (records[:1] if first else records)]


def _translated(error: Exception, sql: str, arguments: list[Any], engine: Engine) -> Exception:
    """An asyncpg error as the `sqlalchemy.exc` error the thread hop's driver gives
    (`orig` is asyncpg's), the engine's `hide_parameters` kept; others as they are."""
    import asyncpg

    kinds: tuple[tuple[type[BaseException], type[DBAPIError]], ...] = (
        (asyncpg.IntegrityConstraintViolationError, IntegrityError),
        (asyncpg.DataError, DataError),
        (asyncpg.SyntaxOrAccessError, ProgrammingError),
        (asyncpg.PostgresConnectionError, OperationalError),
        (asyncpg.PostgresError, DatabaseError),
        (asyncpg.InterfaceError, InterfaceError),
        (OSError, OperationalError),
    )
    for kind, translation in kinds:
        if isinstance(error, kind):
            return translation(sql, arguments, error, hide_parameters=engine.hide_parameters)
    return error


def _owns(loop: asyncio.AbstractEventLoop) -> bool:
    """Whether this thread may call `loop`'s callbacks directly (it runs it, or none does)."""
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return not loop.is_running()


def _made(making: asyncio.Task[Any]) -> bool:
    """Whether a finished task made its pool (neither cancelled nor failed)."""
    return not making.cancelled() and making.exception() is None
