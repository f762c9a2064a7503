"""FastAPI dependencies: the database session of one request."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from legacy_flask.database import open_session, rolled_back_session


def is_shadow(request: Request) -> bool:
    """True when the gateway runs this request as a shadow copy of a legacy one."""
    return bool(request.scope.get("state", {}).get("routeshift_shadow"))


def get_session(request: Request) -> Iterator[Session]:
    """The request's session: committed at the end, rolled back on error.

    A shadow request gets a session inside a transaction that is always rolled back,
    so the modern side can run a write that legacy has already made for real.
    """
    url: str | None = request.app.state.database_url
    if is_shadow(request):
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
    `scope="function"` from 0.121; before that, a yield dependency's exit already ran
    before the response (FastAPI 0.106 to 0.120)."""
    if "scope" in inspect.signature(Depends).parameters:
        return Depends(get_session, scope="function")
    return Depends(get_session)


SessionDep = Annotated[Session, _closed_with_the_handler()]
