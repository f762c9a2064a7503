"""Same starting state for both sides: every request of a contract case, on each side,
runs against a fresh copy of a database seeded with flaskr's own test data
(tests/data.sql, loaded as flaskr's tests/conftest.py loads it), copied over the file
that the app's config names.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from flaskr import create_app
from flaskr.db import get_db, init_db

from routeshift import StateHook

DATA_SQL = Path(__file__).resolve().parent.parent / "data.sql"


@pytest.fixture(scope="session")
def seeded_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("flaskr") / "seeded.sqlite"
    app = create_app({"TESTING": True, "DATABASE": str(path)})
    with app.app_context():
        init_db()
        get_db().executescript(DATA_SQL.read_text(encoding="utf-8"))
    return path


@pytest.fixture
def routeshift_state(seeded_database: Path) -> StateHook:
    database = Path(create_app().config["DATABASE"])  # where the app under test reads

    @contextmanager
    def fresh_copy(side: str) -> Iterator[None]:
        shutil.copyfile(seeded_database, database)
        yield

    return fresh_copy
