"""Same starting state for both sides of every contract case of the example.

One SQLite database is built and seeded once per session (Alice, Bob and one known
task); every request of a case, on each side, runs against a fresh copy of it, with
DATABASE_URL pointing at the copy for the length of that request. A case that writes
(POST /users, POST /tasks) therefore never sees what the other side wrote.
"""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert

from legacy_flask.database import dispose_engines, init_db, make_engine
from legacy_flask.models import Task
from routeshift import StateHook

#: The task every copy starts with, so that GET /tasks/<id> has something to find.
KNOWN_TASK = {
    "id": "0b7e6f4c-3c1a-4f59-9d2e-8a6b1c2d3e4f",
    "command": "rotate logs",
    "priority": "high",
    "status": "queued",
    "created_at": datetime(2024, 3, 4, 5, 6, 7),
}


def seed(engine: Engine) -> None:
    """What every copy starts with: the tables, the two seed users, the known task (on
    SQLite here, on PostgreSQL in tests/example/test_example_postgres.py)."""
    init_db(engine)
    with engine.begin() as connection:
        connection.execute(insert(Task), [KNOWN_TASK])


@pytest.fixture(scope="session")
def seeded_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The template: tables, the two seed users, the known task; one self-contained file."""
    path = tmp_path_factory.mktemp("contracts") / "seeded.db"
    engine = make_engine(f"sqlite:///{path}")
    try:
        seed(engine)
        with engine.connect() as connection:
            # init_db switched to WAL: fold the log back so that one file is the database
            connection.exec_driver_sql("PRAGMA journal_mode=DELETE")
    finally:
        engine.dispose()
    return path


@pytest.fixture
def routeshift_state(seeded_database: Path, tmp_path: Path) -> StateHook:
    """Each request, on each side, gets its own copy of the seeded database."""
    numbers = itertools.count(1)

    @contextmanager
    def fresh_copy(side: str) -> Iterator[Path]:
        copy = tmp_path / f"{next(numbers):02d}-{side}.db"
        shutil.copyfile(seeded_database, copy)
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("DATABASE_URL", f"sqlite:///{copy}")
            try:
                yield copy
            finally:
                dispose_engines()

    return fresh_copy
