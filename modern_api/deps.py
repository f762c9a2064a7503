"""FastAPI dependencies: the legacy app as the ports see it, its session, and the
database of one request."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Annotated

from fastapi import Depends, Request
from flask.sessions import SessionMixin
from sqlalchemy.orm import Session

from legacy_flask.database import open_session, rolled_back_session
from routeshift.compat import Legacy, is_shadow

legacy = Legacy("legacy_flask:app")
"""The legacy app, imported on first use: its session interface, error pages and JSON
provider answer for the ports (`legacy.install(app)` in create_app)."""

FlaskSession = Annotated[SessionMixin, Depends(legacy.session)]
"""The legacy app's signed-cookie session of the request (a login made on legacy's
`POST /login`); a change is saved as Flask saves it, so legacy views see it."""


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


async def database(request: Request) -> AbstractContextManager[Session]:
    """The request's `request_session`, not yet open: the handler opens it with
    `with database as session:`, so that opening, the queries, the commit and the close
    all run in the handler's own worker thread: one thread hop per request. (A sync
    dependency would take two more, FastAPI running its start and its end each in a
    worker thread of their own.) Nothing here does I/O, so it runs on the event loop;
    the session, a shadow's rolled-back transaction included, never outlives the
    handler."""
    return request_session(request.app.state.database_url, shadow=is_shadow(request.scope))


Database = Annotated[AbstractContextManager[Session], Depends(database)]
