"""The state hook of conftest.py: each side starts from the same seeded database."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from legacy_flask.database import dispose_engines
from routeshift import Harness, StateHook, case

CAROL = case("users.create_user", "POST", "/users", json={"name": "Carol", "email": "c@x.org"})


def test_a_write_on_one_side_is_not_seen_by_the_other(
    routeshift_harness: Harness, routeshift_state: StateHook
) -> None:
    result = routeshift_harness.run(CAROL, routeshift_state)
    assert (result.legacy.status, result.modern.status) == (201, 201)
    assert result.passed, result.report()


def test_without_it_the_modern_side_finds_legacys_user(
    routeshift_harness: Harness, seeded_database: Path, tmp_path: Path
) -> None:
    """The counter-proof: one shared copy for both sides gives modern legacy's Carol."""
    shared = tmp_path / "shared.db"
    shared.write_bytes(seeded_database.read_bytes())

    @contextmanager
    def one_copy(side: str) -> Iterator[None]:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("DATABASE_URL", f"sqlite:///{shared}")
            try:
                yield
            finally:
                dispose_engines()

    result = routeshift_harness.run(CAROL, one_copy)
    assert (result.legacy.status, result.modern.status) == (201, 409)
    assert [str(d) for d in result.comparison.differences][0] == "status: legacy 201 != modern 409"


def test_each_request_gets_a_fresh_copy(
    routeshift_state: StateHook, seeded_database: Path, tmp_path: Path
) -> None:
    with routeshift_state("legacy") as first:
        pass
    with routeshift_state("modern") as second:
        pass
    assert isinstance(first, Path) and isinstance(second, Path)
    assert first != second and first.parent == second.parent == tmp_path
    assert first.read_bytes() == seeded_database.read_bytes()


def test_the_template_is_never_written(
    routeshift_harness: Harness, routeshift_state: StateHook, seeded_database: Path
) -> None:
    routeshift_harness.run(CAROL, routeshift_state)
    routeshift_harness.run(
        case("tasks.create_task", "POST", "/tasks", json={"command": "ls"}), routeshift_state
    )
    with sqlite3.connect(seeded_database) as connection:
        users = connection.execute("SELECT email FROM users ORDER BY id").fetchall()
        tasks = connection.execute("SELECT id FROM tasks").fetchall()
    connection.close()
    assert users == [("alice@example.com",), ("bob@example.com",)]
    assert tasks == [("0b7e6f4c-3c1a-4f59-9d2e-8a6b1c2d3e4f",)]
