"""FastAPI dependencies: the legacy app as the ports see it, its session, and the
database of one request."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from flask.sessions import SessionMixin

from modern_api.database import RequestDatabase
from routeshift.compat import Legacy, is_shadow

legacy = Legacy("legacy_flask:app")
"""The legacy app, imported on first use: its session interface, error pages and JSON
provider answer for the ports (`legacy.install(app)` in create_app)."""

FlaskSession = Annotated[SessionMixin, Depends(legacy.session)]
"""The legacy app's signed-cookie session of the request (a login made on legacy's
`POST /login`); a change is saved as Flask saves it, so legacy views see it."""


async def database(request: Request) -> RequestDatabase:
    """The request's database, not yet open. Async and without I/O: it runs on the
    event loop, where a sync dependency would take a thread hop of its own (two for a
    generator)."""
    return RequestDatabase(request.app.state.database_url, is_shadow(request.scope))


Database = Annotated[RequestDatabase, Depends(database)]
"""The request's database (`modern_api.database`): `fetch_one` / `fetch_all` of a Core
statement, async end to end on PostgreSQL and one worker-thread hop elsewhere."""
