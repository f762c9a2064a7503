"""The FastAPI port: `app` (built by `create_app()`), runnable alone with
`uvicorn modern_api:app` or mounted behind the routeshift gateway.

It shares legacy_flask's tables and DATABASE_URL, and crosses into the legacy app
through routeshift.compat (`modern_api.deps.legacy`): its session, its error pages, its
JSON. Every route that ports a legacy rule answers as legacy does, bad input included.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from legacy_flask.database import dispose_engines, get_engine
from modern_api.deps import database_threads, legacy
from modern_api.routers import auth, health, main, tasks, users
from routeshift.compat import Queries


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Startup: create and seed the database; shutdown: close its connections (the
    asyncpg pool of a PostgreSQL database too)."""
    await asyncio.to_thread(get_engine, app.state.database_url)
    app.state.started = True
    app.state.stopped = False
    try:
        yield
    finally:
        await app.state.queries.close()
        dispose_engines()
        app.state.started = False
        app.state.stopped = True


def create_app(database_url: str | None = None) -> FastAPI:
    """Build the app; `database_url=None` reads DATABASE_URL on every request."""
    app = FastAPI(title="routeshift example: modern API", version="1.0.0", lifespan=lifespan)
    app.state.database_url = database_url
    # the ports' statements on the legacy engine of that URL (asyncpg on PostgreSQL)
    app.state.queries = Queries(
        functools.partial(get_engine, database_url), executor=database_threads
    )
    app.state.started = False
    app.state.stopped = False
    legacy.install(app)  # the legacy session, error pages and JSON for every route
    app.include_router(users.router)
    app.include_router(tasks.router)
    app.include_router(auth.router)
    app.include_router(main.router)
    app.include_router(health.router)
    return app


app = create_app()
