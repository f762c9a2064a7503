"""The legacy app's database, shared with its ports: one engine, the app's own models.

A Flask app that uses Flask-SQLAlchemy binds its engine inside `create_app`
(`db.init_app(app)`, the URL from `app.config`), and its models are `db.Model` classes.
A port must read and write the same rows, through the same engine (the same pool: a
second engine on the same URL is a second set of connections the app's settings do not
size), without the Flask app context that `db.session` and `Model.query` need:

    from myapp import db, Note                            # the legacy app's own
    database = LegacyDatabase(legacy, db)                 # or the Flask app itself
    DbSession = Annotated[Session, Depends(database.session)]
    AsyncDbSession = Annotated[AsyncSession, Depends(database.async_session)]
    Db = Annotated[RequestQueries, Depends(database.queries)]  # Core statements, fastest

    @app.get("/notes")
    def notes(session: DbSession) -> list[dict[str, Any]]:
        return [{"id": n.id, "text": n.text} for n in session.scalars(select(Note))]

    @app.post("/notes", status_code=201)
    async def add(body: NoteIn, session: AsyncDbSession) -> dict[str, Any]:
        note = Note(text=body.text)
        session.add(note)
        await session.commit()                           # commit is the handler's business
        return {"id": note.id, "text": note.text}

- `database.engine` is the app's engine (`db.engine`, or `db.engines[bind_key]`), the
  same object Flask-SQLAlchemy made, read once in an app context.
- `database.session` is a generator dependency: a `sqlalchemy.orm.Session` on that
  engine, closed after the request. The handler commits what it means to keep; what it
  did not commit is rolled back when the session closes, and a handler that raises is
  rolled back explicitly. A closed session cannot be used again (`close_resets_only=
  False`), so a streaming body or a background task that kept it fails loudly instead
  of checking out a connection nobody returns.
- `database.async_session` is an async generator dependency: an `AsyncSession` (with
  `expire_on_commit=False`, as SQLAlchemy advises for asyncio) on a second engine, made
  once, on first use, from the same URL with the dialect's async driver (sqlite ->
  sqlite+aiosqlite, postgresql -> postgresql+asyncpg, or postgresql+psycopg when the
  sync driver is psycopg 3, mysql -> mysql+aiomysql, mariadb -> mariadb+aiomysql;
  `async_url=` for anything else). A missing driver, an unknown dialect or an in-memory
  SQLite database (which only the app's own engine can reach) is a CrossingError that
  names the URL and what to do. Close it with `await database.dispose()` in the modern
  app's lifespan shutdown; the app's own engine is Flask-SQLAlchemy's and is left alone.
- `database.queries` is a `Queries` on the app's engine (routeshift.compat.queries):
  one SQLAlchemy Core statement per call from an async handler (`await
  db.fetch_one(USER_BY_ID, user_id=user_id)`), async end to end on asyncpg when the
  database is PostgreSQL and one worker-thread hop elsewhere, with a shadow copy's
  writes rolled back: the fewest hops a port can take. `dispose()` closes its pools too.
- A shadow copy (`scope["state"]["routeshift_shadow"]`, set by the gateway) gets a
  session inside one outer transaction that is always rolled back, joined with
  `join_transaction_mode="create_savepoint"`: the handler's `commit()` releases a
  savepoint, its `rollback()` returns to one, and nothing it writes persists. On SQLite
  the outer BEGIN is sent by hand where the driver has not begun one (sqlite3's legacy
  transaction control sends none before a SAVEPOINT, which would then commit).

When the session closes: FastAPI (0.106 to 0.117) runs a yield dependency's exit once the
handler has returned and its response is rendered, before it is sent; from 0.118 after
the response is sent (so a streamed body can still use it), and from 0.121
`Depends(database.session, scope="function")` closes it when the handler returns, which
gives the pool its connection back before a slow client has read the response. Either
way the session is closed exactly once per request.

Inside routeshift's `LegacyContext` (`with ctx:` in a sync handler) the Flask app context
is pushed, so `db.session` and `Model.query` work there: that is Flask-SQLAlchemy's own
scoped session, removed at the context's teardown as after a Flask request, and not the
session given here. Use one or the other in a handler, never both for one write.

Limits: one engine per LegacyDatabase (a model of another bind needs
`LegacyDatabase(app, db, bind_key=...)`); the async engine takes the URL's query as it
is (driver-specific options of the sync driver may not apply to the async one: pass
`async_url=` and `async_options=`); when `app` is a callable that builds a new app rather
than returning the served one, its engine is a second one on the same URL (fine for a
file or a server, a different database for in-memory SQLite).

The contract tests' state hook for such an app is `fresh_database` (routeshift.compat.state).
"""

from __future__ import annotations

import importlib.util
import inspect
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Protocol

from flask import Flask
from sqlalchemy import URL, Engine, make_url
from sqlalchemy.exc import NoSuchModuleError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.orm import Session
from starlette.requests import Request

from routeshift.compat.crossing import is_shadow
from routeshift.compat.legacy import Legacy
from routeshift.compat.queries import Queries, begin_sqlite
from routeshift.errors import CrossingError, did_you_mean

__all__ = [
    "LegacyDatabase",
    "SQLAlchemyExtension",
    "async_url_for",
    "engines_of",
    "is_memory",
]

#: (dialect, sync driver or "*") -> (async drivername, what to install)
_ASYNC_DRIVERS: Mapping[tuple[str, str], tuple[str, str]] = {
    ("sqlite", "*"): ("sqlite+aiosqlite", "aiosqlite"),
    ("postgresql", "psycopg"): ("postgresql+psycopg", "psycopg"),
    ("postgresql", "*"): ("postgresql+asyncpg", "asyncpg"),
    ("mysql", "*"): ("mysql+aiomysql", "aiomysql"),
    ("mariadb", "*"): ("mariadb+aiomysql", "aiomysql"),
}

#: SQLAlchemy 2.0.22 and later can refuse a closed session's reuse
_CLOSE_FOR_GOOD: dict[str, Any] = (
    {"close_resets_only": False}
    if "close_resets_only" in inspect.signature(Session.__init__).parameters
    else {}
)


class SQLAlchemyExtension(Protocol):
    """What routeshift uses of a `flask_sqlalchemy.SQLAlchemy` (inside an app context)."""

    @property
    def engines(self) -> Mapping[str | None, Engine]: ...

    def create_all(self) -> None: ...

    def drop_all(self) -> None: ...


AppSource = Flask | Legacy | Callable[[], Flask]


class LegacyDatabase:
    """The Flask-SQLAlchemy database of `app` (the Flask app, the ports' `Legacy`, or a
    zero-argument callable returning the app, resolved on first use), for FastAPI
    handlers; see the module docstring.

    `bind_key`: the Flask-SQLAlchemy bind (None: the default engine). `session_options`:
    extra keyword arguments of both kinds of session. `async_url`: the async engine's URL
    when the driver mapping is not the one wanted; `async_options`: keyword arguments of
    `create_async_engine` (pool size and the like: the app's engine options are not
    copied).
    """

    def __init__(
        self,
        app: AppSource,
        db: SQLAlchemyExtension,
        *,
        bind_key: str | None = None,
        session_options: Mapping[str, Any] | None = None,
        async_url: str | URL | None = None,
        async_options: Mapping[str, Any] | None = None,
    ) -> None:
        # the app, resolved on first use as the ports' Legacy resolves it (one way)
        self._legacy = app if isinstance(app, Legacy) else Legacy(app)
        self.db = db
        self.bind_key = bind_key
        self.session_options = dict(session_options or {})
        self._async_url = async_url
        self._async_options = dict(async_options or {})
        self._engine: Engine | None = None
        self._async_engine: AsyncEngine | None = None
        self._lock = threading.Lock()
        self.queries = Queries(lambda: self.engine)
        """The dependency of Core statements on the app's engine (see `Queries`)."""

    def __repr__(self) -> str:
        where = "engine not read yet" if self._engine is None else repr(self._engine.url)
        bind = "" if self.bind_key is None else f", bind_key={self.bind_key!r}"
        return f"LegacyDatabase({where}{bind})"

    # --- the engines ---------------------------------------------------------------

    @property
    def engine(self) -> Engine:
        """The app's own engine for `bind_key`, as Flask-SQLAlchemy made it."""
        if self._engine is None:
            with self._lock:
                if self._engine is None:
                    self._engine = _engine_of(self._legacy.app, self.db, self.bind_key)
        return self._engine

    @property
    def async_engine(self) -> AsyncEngine:
        """The async engine on the same database (made on first use); CrossingError
        when it cannot be made (see the module docstring)."""
        if self._async_engine is None:
            sync_url = self.engine.url  # before the lock, which `engine` takes too
            with self._lock:
                if self._async_engine is None:
                    self._async_engine = _async_engine_for(
                        sync_url, self._async_url, self._async_options
                    )
        return self._async_engine

    async def dispose(self) -> None:
        """Close the async engine's connections and the asyncpg pools of `queries` (call
        it in the lifespan's shutdown); made again if used later. The app's own engine
        is not touched."""
        await self.queries.close()
        engine, self._async_engine = self._async_engine, None
        if engine is not None:
            await engine.dispose()

    # --- the dependencies ------------------------------------------------------------

    def session(self, request: Request) -> Iterator[Session]:
        """Dependency: the request's Session on the app's engine, closed after it; always
        rolled back for a shadow copy. Commit is the handler's business."""
        if is_shadow(request.scope):
            with self._rolled_back() as shadow:
                yield shadow
            return
        session = Session(self.engine, **self._options())
        try:
            yield session
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    async def async_session(self, request: Request) -> AsyncIterator[AsyncSession]:
        """Dependency: the request's AsyncSession on the async engine, closed after it;
        always rolled back for a shadow copy. Commit is the handler's business."""
        engine = self.async_engine
        if is_shadow(request.scope):
            async with engine.connect() as connection:
                transaction = await connection.begin()
                await _begin_sqlite_async(connection)
                session = AsyncSession(
                    bind=connection,
                    join_transaction_mode="create_savepoint",
                    **self._options(expire_on_commit=False),
                )
                try:
                    yield session
                finally:
                    await session.close()
                    await transaction.rollback()
            return
        session = AsyncSession(engine, **self._options(expire_on_commit=False))
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        finally:
            await session.close()

    @contextmanager
    def _rolled_back(self) -> Iterator[Session]:
        with self.engine.connect() as connection:
            transaction = connection.begin()
            begin_sqlite(connection)
            session = Session(
                bind=connection, join_transaction_mode="create_savepoint", **self._options()
            )
            try:
                yield session
            finally:
                session.close()
                transaction.rollback()

    def _options(self, **defaults: Any) -> dict[str, Any]:
        return {**_CLOSE_FOR_GOOD, **defaults, **self.session_options}


# --- helpers ---------------------------------------------------------------------


def engines_of(app: Flask, db: SQLAlchemyExtension) -> Mapping[str | None, Engine]:
    """db.engines in the current app context, a CrossingError when `app` has no `db`."""
    try:
        return db.engines
    except RuntimeError as exc:
        raise CrossingError(
            f"the Flask app {app.name!r} is not registered with this SQLAlchemy instance "
            f"({exc}). Call `db.init_app(app)` in create_app, and pass that same `db`."
        ) from None


def _engine_of(app: Flask, db: SQLAlchemyExtension, bind_key: str | None) -> Engine:
    with app.app_context():
        engines = engines_of(app, db)
        engine = engines.get(bind_key)
    if engine is None:
        binds = [str(key) for key in engines if key is not None]
        raise CrossingError(
            f"the Flask app {app.name!r} has no SQLAlchemy bind {bind_key!r} (its binds: "
            f"{', '.join(binds) or 'none'}; SQLALCHEMY_BINDS sets them)."
            + did_you_mean(str(bind_key), binds)
        )
    return engine


def is_memory(url: URL) -> bool:
    """True for an SQLite database that lives in one engine's connection."""
    if url.get_backend_name() != "sqlite":
        return False
    database = url.database or ""
    mode = url.query.get("mode", ())
    modes = (mode,) if isinstance(mode, str) else mode
    return database in ("", ":memory:") or database.startswith("file::memory:") or "memory" in modes


def async_url_for(url: URL) -> tuple[URL, str]:
    """The async driver's URL for a sync engine's `url`, and the package it needs;
    CrossingError for a dialect with no known async driver."""
    backend = url.get_backend_name()
    try:
        driver = url.get_driver_name()
    except NoSuchModuleError:
        driver = "*"
    found = _ASYNC_DRIVERS.get((backend, driver)) or _ASYNC_DRIVERS.get((backend, "*"))
    if found is None:
        known = sorted({name for name, _ in _ASYNC_DRIVERS})
        raise CrossingError(
            f"no async driver is known for {url} (dialect {backend!r}; known: "
            f"{', '.join(known)}). Pass LegacyDatabase(..., async_url='{backend}+<async "
            "driver>://...') with the URL SQLAlchemy's asyncio extension takes."
        )
    drivername, package = found
    return url.set(drivername=drivername), package


def _async_engine_for(
    sync_url: URL, given: str | URL | None, options: Mapping[str, Any]
) -> AsyncEngine:
    if is_memory(sync_url) and given is None:
        raise CrossingError(
            f"the app's database is {sync_url} (SQLite in memory), which lives in the app "
            "engine's own connection: an async engine would open another, empty database. "
            "Use a file database (sqlite:///path.db), or the sync `database.session`."
        )
    if given is None:
        url, package = async_url_for(sync_url)
    else:
        url, package = make_url(given), "its async driver"
    if importlib.util.find_spec("greenlet") is None:
        raise CrossingError(
            f"the async engine for {url} needs SQLAlchemy's asyncio extension, which "
            "needs greenlet: pip install 'sqlalchemy[asyncio]'."
        )
    try:
        return create_async_engine(url, **options)
    except ImportError as exc:
        raise CrossingError(
            f"the async engine for {url} (the app's database is {sync_url}) needs "
            f"{package}, which is not installed ({exc}): pip install {package}, or pass "
            "async_url= with a driver that is."
        ) from None
    except NoSuchModuleError as exc:
        raise CrossingError(f"the async engine for {url} cannot be made: {exc}.") from None


async def _begin_sqlite_async(connection: AsyncConnection) -> None:
    if connection.dialect.name != "sqlite":
        return
    raw = await connection.get_raw_connection()
    if not getattr(raw.driver_connection, "in_transaction", False):
        await connection.exec_driver_sql("BEGIN")
