"""FastAPI dependencies: the legacy app as the ports see it, its session, and the
database of one request."""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated, Concatenate, ParamSpec, TypeVar

from fastapi import Depends, Request
from flask.sessions import SessionMixin
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from legacy_flask.database import get_engine, open_session, rolled_back_session
from routeshift.compat import Legacy, is_shadow

P = ParamSpec("P")
T = TypeVar("T")

legacy = Legacy("legacy_flask:app")
"""The legacy app, imported on first use: its session interface, error pages and JSON
provider answer for the ports (`legacy.install(app)` in create_app)."""

FlaskSession = Annotated[SessionMixin, Depends(legacy.session)]
"""The legacy app's signed-cookie session of the request (a login made on legacy's
`POST /login`); a change is saved as Flask saves it, so legacy views see it."""

#: worker threads of the ports' database work, one per query under way (the engine's
#: pool keeps 16 SQLite connections); threads start when first needed
DATABASE_THREADS = 16

database_threads = ThreadPoolExecutor(DATABASE_THREADS, thread_name_prefix="modern_api-db")
"""The pool `RequestDatabase` runs its work in."""


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


@dataclass(frozen=True, slots=True)
class RequestDatabase:
    """The database of one request, used from an async handler: each call runs its work
    in one worker thread (sqlite3 blocks), where the connection or session is opened,
    used and closed, so a request takes one thread hop and nothing outlives it.

    The hop is a `concurrent.futures` pool's (`loop.run_in_executor`): a third of what
    anyio's `to_thread.run_sync`, FastAPI's hop for a sync handler, costs a request.
    """

    url: str | None
    shadow: bool

    async def read(self, work: Callable[Concatenate[Connection, P], T], *args: P.args) -> T:
        """`work(connection, *args)`: SQLAlchemy Core on the engine both apps share, in
        a transaction rolled back when it returns (a read commits nothing; no ORM
        session to build, flush and close)."""
        return await _in_thread(self._read, work, *args)

    async def write(self, work: Callable[Concatenate[Session, P], T], *args: P.args) -> T:
        """`work(session, *args)` in `request_session`: committed when it returns,
        rolled back when it raises, and never kept in a shadow copy."""
        return await _in_thread(self._write, work, *args)

    def _read(self, work: Callable[..., T], *args: object) -> T:
        with get_engine(self.url).connect() as connection:
            return work(connection, *args)

    def _write(self, work: Callable[..., T], *args: object) -> T:
        with request_session(self.url, shadow=self.shadow) as session:
            return work(session, *args)


async def _in_thread(work: Callable[..., T], *args: object) -> T:
    """`work(*args)` in a worker thread, with the request's context variables (the
    crossing that `legacy_url_for` finds)."""
    call = functools.partial(contextvars.copy_context().run, work, *args)
    return await asyncio.get_running_loop().run_in_executor(database_threads, call)


async def database(request: Request) -> RequestDatabase:
    """The request's database, not yet open. Async and without I/O: it runs on the
    event loop, where a sync dependency would take a thread hop of its own (two for a
    generator)."""
    return RequestDatabase(request.app.state.database_url, is_shadow(request.scope))


Database = Annotated[RequestDatabase, Depends(database)]
