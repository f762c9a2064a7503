"""Engines and sessions for both apps, from `DATABASE_URL` (default: ./example.db).

Framework-free on purpose: the Flask app opens a session per request in `legacy_flask.db`,
the FastAPI port in a dependency (`modern_api.deps`). Both ask `get_engine(url)`, which
builds one engine per URL on first use, creates the tables and seeds the two example
users. `url=None` means "read DATABASE_URL now", so a test can point the module-level
apps at a temporary file with `monkeypatch.setenv("DATABASE_URL", ...)`.
"""

from __future__ import annotations

import os
import threading
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, func, insert, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from legacy_flask.models import Base, User

DEFAULT_DATABASE_URL = "sqlite:///example.db"
SQLITE_BUSY_TIMEOUT_S = 15.0

SEED_USERS: tuple[dict[str, Any], ...] = (
    {
        "name": "Alice",
        "email": "alice@example.com",
        "age": 30,
        "role": "admin",
        "created_at": datetime(2024, 1, 2, 3, 4, 5),
    },
    {
        "name": "Bob",
        "email": "bob@example.com",
        "age": 25,
        "role": "user",
        "created_at": datetime(2024, 2, 3, 4, 5, 6),
    },
)

_lock = threading.Lock()
_engines: dict[str, Engine] = {}
_factories: dict[str, sessionmaker[Session]] = {}


def database_url(url: str | None = None) -> str:
    """`url` itself, else the DATABASE_URL environment variable, else ./example.db."""
    return url or os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL


def make_engine(url: str) -> Engine:
    """A new engine for `url`, with the SQLite settings that threaded servers need.

    Nothing is created in the database; `init_db` does that.
    """
    if not url.startswith("sqlite"):
        # sized for the bridge's 64 worker threads, as the SQLite pool below is
        return create_engine(url, pool_pre_ping=True, pool_size=16, max_overflow=48)
    connect_args = {"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_S}
    if _is_memory(url):
        # one shared connection, or every session would see its own empty database
        return create_engine(url, connect_args=connect_args, poolclass=StaticPool)
    # sized for the bridge's worker threads plus anyio's: SQLite connections are cheap
    return create_engine(url, connect_args=connect_args, pool_size=16, max_overflow=112)


def init_db(engine: Engine) -> None:
    """Create the tables and, when the users table is empty, seed Alice and Bob.

    Safe when several processes start at once: on SQLite the work runs under the
    database's write lock (BEGIN IMMEDIATE), so a second worker waits and then finds
    everything done; elsewhere a lost seeding race is an IntegrityError, ignored.
    """
    if engine.dialect.name != "sqlite":
        Base.metadata.create_all(engine)
        try:
            with engine.begin() as connection:
                _seed(connection)
        except IntegrityError:
            pass  # another process seeded first
        return
    if not _is_memory(str(engine.url)):
        _use_wal(engine)
    with engine.connect() as connection:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
        Base.metadata.create_all(connection)
        _seed(connection)
        connection.commit()


def get_engine(url: str | None = None) -> Engine:
    """The engine for `url` (see `database_url`), made and initialised on first use."""
    resolved = database_url(url)
    engine = _engines.get(resolved)
    if engine is not None:
        return engine
    with _lock:
        engine = _engines.get(resolved)
        if engine is None:
            engine = make_engine(resolved)
            init_db(engine)
            _factories[resolved] = sessionmaker(engine, expire_on_commit=False)
            _engines[resolved] = engine
    return engine


def open_session(url: str | None = None) -> Session:
    """A new session on the database at `url`; the caller closes it."""
    resolved = database_url(url)
    factory = _factories.get(resolved)
    if factory is None:
        get_engine(resolved)
        factory = _factories[resolved]
    return factory()


def dispose_engines() -> None:
    """Close every pooled connection and forget the engines (tests, app shutdown)."""
    with _lock:
        engines = list(_engines.values())
        _engines.clear()
        _factories.clear()
    for engine in engines:
        engine.dispose()


def _seed(connection: Connection) -> None:
    if connection.scalar(select(func.count()).select_from(User)):
        return
    connection.execute(insert(User), [dict(row) for row in SEED_USERS])


def _use_wal(engine: Engine) -> None:
    """Write-ahead logging, so that readers and the writer do not block each other."""
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA journal_mode=WAL")
    except OperationalError:
        pass  # another process is switching it at this moment; the mode is persistent


def _is_memory(url: str) -> bool:
    return url in ("sqlite://", "sqlite:///:memory:") or "mode=memory" in url
