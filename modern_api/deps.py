"""FastAPI dependencies: the legacy app as the ports see it, its session, and the
database of one request."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Annotated

from fastapi import Depends, Request
from flask.sessions import SessionMixin

from routeshift.compat import Legacy, RequestQueries, is_shadow

legacy = Legacy("legacy_flask:app")
"""The legacy app, imported on first use: its session interface, error pages and JSON
provider answer for the ports (`legacy.install(app)` in create_app)."""

FlaskSession = Annotated[SessionMixin, Depends(legacy.session)]
"""The legacy app's signed-cookie session of the request (a login made on legacy's
`POST /login`); a change is saved as Flask saves it, so legacy views see it."""

#: worker threads of the ports' database work on SQLite, one per query under way (the
#: engine's pool keeps 16 SQLite connections); threads start when first needed
DATABASE_THREADS = 16

database_threads = ThreadPoolExecutor(DATABASE_THREADS, thread_name_prefix="modern_api-db")
"""The pool of every app's `Queries` (create_app): one hop a query on SQLite."""


async def database(request: Request) -> RequestQueries:
    """The request's queries on the legacy engine (`app.state.queries`, routeshift's
    `Queries`). Async and without I/O: it runs on the event loop, where a sync
    dependency would take a thread hop of its own (two for a generator)."""
    return request.app.state.queries.bind(shadow=is_shadow(request.scope))


Database = Annotated[RequestQueries, Depends(database)]
"""The request's database: `fetch_one` / `fetch_all` / `execute` of a Core statement,
async end to end on asyncpg when DATABASE_URL is PostgreSQL, one worker-thread hop
elsewhere, a shadow copy's writes rolled back."""
