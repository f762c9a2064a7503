"""FastAPI dependencies: the legacy app as the ports see it, its session, and the
database session of one request."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Annotated, Any

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


def get_session(request: Request) -> Iterator[Session]:
    """The request's session: committed at the end, rolled back on error.

    A shadow request gets a session inside a transaction that is always rolled back,
    so the modern side can run a write that legacy has already made for real.
    """
    url: str | None = request.app.state.database_url
    if is_shadow(request.scope):
        with rolled_back_session(url) as shadow:
            yield shadow
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


def _closed_with_the_handler() -> Any:
    """Depends(get_session) whose session closes when the handler returns, before the
    response is sent, so a shadow transaction never outlives its handler: FastAPI's
    `scope="function"` from 0.121; a yield dependency's exit ran before the response up
    to 0.117 and after it from 0.118 (so on 0.118 to 0.120 it closes once sent)."""
    if "scope" in inspect.signature(Depends).parameters:
        return Depends(get_session, scope="function")
    return Depends(get_session)


SessionDep = Annotated[Session, _closed_with_the_handler()]
