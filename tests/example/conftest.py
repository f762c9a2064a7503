"""Fixtures of the example's tests."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture
def thread_hops(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The thread hops the example's ports take from here on, one entry each: anyio's
    `to_thread.run_sync` (FastAPI's hop for sync code) and a `submit` to the database
    pool (`modern_api.database.database_threads`)."""
    import anyio.to_thread

    from modern_api.database import database_threads

    hops: list[str] = []
    run_sync, submit = anyio.to_thread.run_sync, database_threads.submit

    async def counted(func: Any, *args: Any, **kwargs: Any) -> Any:
        hops.append(repr(func))
        return await run_sync(func, *args, **kwargs)

    def submitted(func: Any, *args: Any) -> Any:
        hops.append(repr(func))
        return submit(func, *args)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counted)
    monkeypatch.setattr(database_threads, "submit", submitted)
    return hops


@pytest.fixture
def login_cookie() -> dict[str, str]:
    """The Cookie header of user 1's login, signed with the legacy app's session interface."""
    import legacy_flask
    from routeshift.apps.pair import signed_session

    name, value = signed_session(legacy_flask.app, {"user_id": 1})
    return {"Cookie": f"{name}={value}"}
