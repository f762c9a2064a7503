"""routeshift.store.migrations: a store written by the previous release (schema version 1)
opens with this Store, keeps its rows and gains the tables and columns of version 2."""

from __future__ import annotations

import dataclasses
import datetime as dt
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    insert,
    inspect,
    select,
    text,
)

from routeshift.errors import StoreError
from routeshift.store import migrations
from routeshift.store.migrations import SCHEMA_VERSION, Migration, upgrade, write_lock
from routeshift.store.records import CaseOutcome, Observation, ShadowResult
from routeshift.store.redact import Redactor
from routeshift.store.schema import metadata
from routeshift.store.sql import Store

# --- version 1, frozen: the tables of routeshift 0.1 as it created them ---------------------
# A copy, not routeshift.store.schema: this test keeps meaning the same when schema changes.

V1 = MetaData()
Table(
    "routeshift_contract_runs",
    V1,
    Column("id", Integer, primary_key=True),
    Column("finished_at", DateTime(timezone=True), nullable=False),
    Column("cases", Integer, nullable=False),
    Column("failed", Integer, nullable=False),
)
Table(
    "routeshift_contract_results",
    V1,
    Column("id", Integer, primary_key=True),
    Column("run_id", ForeignKey("routeshift_contract_runs.id"), nullable=False, index=True),
    Column("endpoint", String(255), nullable=False, index=True),
    Column("case_id", String(255), nullable=False),
    Column("method", String(16), nullable=False),
    Column("path", Text, nullable=False),
    Column("passed", Boolean, nullable=False),
    Column("differences", Text, nullable=False),
)
Table(
    "routeshift_shadow_observations",
    V1,
    Column("id", Integer, primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False, index=True),
    Column("endpoint", String(255), nullable=False),
    Column("method", String(16), nullable=False),
    Column("rule", Text, nullable=False),
    Column("path", Text, nullable=False),
    Column("result", String(16), nullable=False),
    Column("legacy_status", Integer, nullable=False),
    Column("modern_status", Integer),
    Column("legacy_ms", Float, nullable=False),
    Column("modern_ms", Float),
    Column("differences", Text, nullable=False),
    Column("error", Text),
    Column("worker", Integer, nullable=False),
    Column("query", Text),
    Column("request_headers", Text),
    Column("request_body", Text),
    Column("legacy_headers", Text),
    Column("legacy_body", Text),
    Column("modern_headers", Text),
    Column("modern_body", Text),
    Index("ix_routeshift_shadow_endpoint_result", "endpoint", "result", "id"),
    Index("ix_routeshift_shadow_result", "result", "id"),
    Index("ix_routeshift_shadow_endpoint", "endpoint", "id"),
)

AT = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)

V1_ROWS: dict[str, list[dict[str, Any]]] = {
    "routeshift_contract_runs": [{"id": 1, "finished_at": AT, "cases": 2, "failed": 1}],
    "routeshift_contract_results": [
        {
            "id": 1,
            "run_id": 1,
            "endpoint": "users.get_user",
            "case_id": "found",
            "method": "GET",
            "path": "/users/1",
            "passed": True,
            "differences": "[]",
        },
        {
            "id": 2,
            "run_id": 1,
            "endpoint": "users.create_user",
            "case_id": "bad-age",
            "method": "POST",
            "path": "/users",
            "passed": False,
            "differences": '["status: legacy 400 != modern 422"]',
        },
    ],
    "routeshift_shadow_observations": [
        {
            "id": 1,
            "at": AT,
            "endpoint": "users.get_user",
            "method": "GET",
            "rule": "/users/<int:user_id>",
            "path": "/users/1",
            "result": "match",
            "legacy_status": 200,
            "modern_status": 200,
            "legacy_ms": 10.0,
            "modern_ms": 5.0,
            "differences": "[]",
            "error": None,
            "worker": 4242,
            "query": None,
            "request_headers": None,
            "request_body": None,
            "legacy_headers": None,
            "legacy_body": None,
            "modern_headers": None,
            "modern_body": None,
        },
        {
            "id": 2,
            "at": AT + dt.timedelta(seconds=1),
            "endpoint": "users.get_user",
            "method": "GET",
            "rule": "/users/<int:user_id>",
            "path": "/users/2",
            "result": "mismatch",
            "legacy_status": 200,
            "modern_status": 200,
            "legacy_ms": 11.0,
            "modern_ms": 6.0,
            "differences": (
                '[{"where": "/name", "legacy": "a", "modern": "b", "missing": [],'
                ' "text": "/name: legacy \\"a\\" != modern \\"b\\""}]'
            ),
            "error": None,
            "worker": 4242,
            "query": "verbose=1",
            "request_headers": '[["accept", "application/json"]]',
            "request_body": "",
            "legacy_headers": '[["content-type", "application/json"]]',
            "legacy_body": '{"name": "a"}',
            "modern_headers": '[["content-type", "application/json"]]',
            "modern_body": '{"name": "b"}',
        },
    ],
}


def make_v1_store(path: Path, tables: tuple[str, ...] = tuple(V1_ROWS)) -> str:
    """A SQLite file as routeshift 0.1 left it: the version 1 tables with rows, no
    routeshift_schema table."""
    url = f"sqlite:///{path}"
    engine = create_engine(url)
    with engine.begin() as connection:
        V1.create_all(connection, tables=[V1.tables[name] for name in tables])
        for name in tables:
            connection.execute(insert(V1.tables[name]), V1_ROWS[name])
    engine.dispose()
    return url


def rows(url: str) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table in the store, by table, as the database has them."""
    engine = create_engine(url)
    found = MetaData()
    found.reflect(engine)
    with engine.connect() as connection:
        every = {
            name: [dict(row._mapping) for row in connection.execute(select(table))]
            for name, table in found.tables.items()
        }
    engine.dispose()
    return every


def columns(url: str) -> dict[str, list[tuple[str, str, bool]]]:
    """Each table's columns: name, type, nullable."""
    engine = create_engine(url)
    inspector = inspect(engine)
    found = {
        name: [(c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(name)]
        for name in inspector.get_table_names()
    }
    engine.dispose()
    return found


def sqlite_schema(url: str) -> list[tuple[str, str]]:
    engine = create_engine(url)
    with engine.connect() as connection:
        found = connection.execute(
            text("SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY name")
        ).all()
    engine.dispose()
    return [(name, sql) for name, sql in found]


def v2_rows() -> dict[str, list[dict[str, Any]]]:
    """V1_ROWS as version 2 has them: a traceback (NULL) on each observation, the
    version, no snapshots yet."""
    expected = {name: [dict(row) for row in table] for name, table in V1_ROWS.items()}
    for row in expected["routeshift_shadow_observations"]:
        row["traceback"] = None
    expected["routeshift_daily_snapshots"] = []
    expected["routeshift_schema"] = [{"version": 2}]
    return expected


def naive(every: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """Datetimes without their zone: SQLite keeps them so."""
    return {
        name: [
            {
                key: value.replace(tzinfo=None) if isinstance(value, dt.datetime) else value
                for key, value in row.items()
            }
            for row in table
        ]
        for name, table in every.items()
    }


def observation(endpoint: str = "users.get_user") -> Observation:
    return Observation(endpoint, "GET", "/r", "/r", ShadowResult.MATCH, 200, 200, 1.0, 1.0)


FIRST_USES = [
    pytest.param(lambda store: store.verifications(), id="first-read"),
    pytest.param(lambda store: store.mismatches(), id="first-read-of-observations"),
    pytest.param(
        lambda store: store.record_contract_run([CaseOutcome("a", "c", "GET", "/a", True)]),
        id="first-write",
    ),
    pytest.param(
        lambda store: store.record_observations([observation()], Redactor()),
        id="first-observation",
    ),
]


@pytest.mark.parametrize("first_use", FIRST_USES)
def test_a_v1_store_keeps_its_rows_and_gains_version_2(
    tmp_path: Path, first_use: Callable[[Store], object]
) -> None:
    url = make_v1_store(tmp_path / "routeshift.db")
    store = Store(url)
    assert store.schema_version() == 1
    first_use(store)
    assert store.schema_version() == SCHEMA_VERSION == 2
    found = rows(url)
    for name, expected in naive(v2_rows()).items():  # the rows of version 1, each one
        assert found[name][: len(expected)] == expected, name
    assert ("traceback", "TEXT", True) in columns(url)["routeshift_shadow_observations"]
    assert columns(url)["routeshift_daily_snapshots"] == [
        ("day", "DATE", False),
        ("taken_at", "DATETIME", False),
        ("counts", "TEXT", False),
    ]
    # and this routeshift reads them as ever
    verified = store.verifications()
    assert verified["users.create_user"].failed == 1 and verified["users.get_user"].ok
    (mismatch,) = [m for m in store.mismatches() if m.id == 2]
    assert mismatch.path == "/users/2" and mismatch.differences[0]["where"] == "/name"
    exchange = store.exchange(2)
    assert exchange is not None and exchange.modern_body == '{"name": "b"}'
    assert store.record_observations([observation()], Redactor()) == 1
    assert store.shadow_summaries()["users.get_user"].runs >= 3
    store.close()


def test_a_migrated_store_has_the_tables_of_a_new_one(tmp_path: Path) -> None:
    migrated = make_v1_store(tmp_path / "old.db")
    Store(migrated).verifications()
    new = f"sqlite:///{tmp_path / 'new.db'}"
    Store(new).record_contract_run([])
    assert columns(migrated) == columns(new)
    assert sorted(columns(new)) == sorted(metadata.tables)


def test_a_new_store_is_created_at_the_latest_version(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'nested' / 'routeshift.db'}"
    store = Store(url)
    assert store.schema_version() is None
    assert store.record_observations([observation()], Redactor()) == 1
    assert store.schema_version() == 2
    assert rows(url)["routeshift_schema"] == [{"version": 2}]
    assert rows(url)["routeshift_shadow_observations"][0]["traceback"] is None
    store.close()


def test_reading_no_store_creates_nothing_and_has_no_version(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'never.db'}")
    assert store.schema_version() is None
    assert store.verifications() == {} and store.shadow_summaries() == {}
    assert list(tmp_path.iterdir()) == []


def test_an_empty_database_file_is_no_store(tmp_path: Path) -> None:
    """A file with none of routeshift's tables: reading leaves it empty."""
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE other (x INTEGER)")
    engine.dispose()
    store = Store(url)
    assert store.verifications() == {} and store.schema_version() is None
    assert list(columns(url)) == ["other"]
    store.record_contract_run([])
    assert store.schema_version() == 2 and "other" in columns(url)


def test_migrating_twice_is_a_no_op(tmp_path: Path) -> None:
    url = make_v1_store(tmp_path / "routeshift.db")
    Store(url).verifications()
    migrated, schema = rows(url), sqlite_schema(url)
    again = Store(url)  # a second Store (a restart) opens a current store
    again.verifications()
    again.record_contract_run([])
    assert sqlite_schema(url) == schema
    assert rows(url)["routeshift_schema"] == [{"version": 2}]
    engine = create_engine(url)
    with engine.connect() as connection, write_lock(connection):  # and upgrade itself
        assert upgrade(connection, create=True, where=url) == 2
        assert upgrade(connection, create=False, where=url) == 2
    engine.dispose()
    assert sqlite_schema(url) == schema
    after = rows(url)
    assert after["routeshift_contract_runs"][:1] == migrated["routeshift_contract_runs"]
    assert after["routeshift_schema"] == [{"version": 2}]


def test_a_store_from_before_shadow_runs_gains_them_on_its_first_write(tmp_path: Path) -> None:
    """An older routeshift created the contract tables only: reading migrates them and
    still finds no observations; the first observation creates the table, at version 2."""
    url = make_v1_store(
        tmp_path / "routeshift.db", ("routeshift_contract_runs", "routeshift_contract_results")
    )
    store = Store(url)
    assert store.verifications()["users.get_user"].ok
    assert store.schema_version() == 2 and not store.has_observations()
    assert "routeshift_shadow_observations" not in columns(url)
    store.record_observations([observation()], Redactor())
    assert ("traceback", "TEXT", True) in columns(url)["routeshift_shadow_observations"]
    store.close()


def test_a_migration_that_fails_leaves_the_store_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One transaction: a failing step undoes the steps before it (DDL too)."""
    url = make_v1_store(tmp_path / "routeshift.db")
    before, schema = rows(url), sqlite_schema(url)
    (to_v2,) = migrations.MIGRATIONS

    def half(connection: Connection) -> None:
        to_v2.apply(connection)
        raise OSError("disk full")  # not a database error: not retried

    monkeypatch.setattr(migrations, "MIGRATIONS", (dataclasses.replace(to_v2, apply=half),))
    with pytest.raises(StoreError, match="cannot migrate the tables in .*disk full"):
        Store(url).verifications()
    assert sqlite_schema(url) == schema and rows(url) == before
    monkeypatch.undo()
    assert Store(url).verifications()["users.get_user"].ok


MIGRATE_SCRIPT = """
import sys, time
from pathlib import Path
from routeshift.store.records import CaseOutcome, Observation, ShadowResult
from routeshift.store.redact import Redactor
from routeshift.store.sql import Store

store = Store(sys.argv[1])
print("ready", flush=True)
go = Path(sys.argv[3])
deadline = time.monotonic() + 20
while not go.exists() and time.monotonic() < deadline:  # both open the store at once
    time.sleep(0.001)
if sys.argv[2] == "read":
    assert store.verifications()["users.get_user"].ok
else:
    store.record_observations(
        [Observation("w", "GET", "/r", "/r", ShadowResult.MATCH, 200, 200, 1.0, 1.0)], Redactor()
    )
    store.record_contract_run([CaseOutcome("w", "c", "GET", "/r", True)])
print(store.schema_version(), flush=True)
"""


@pytest.mark.parametrize(
    "first_uses",
    [
        pytest.param(("write", "write"), id="two-writers"),
        pytest.param(("read", "write"), id="a-reader-and-a-writer"),
        pytest.param(("read", "read"), id="two-readers"),
    ],
)
def test_two_processes_migrate_one_v1_file_at_once(
    tmp_path: Path, first_uses: tuple[str, str]
) -> None:
    url = make_v1_store(tmp_path / "routeshift.db")
    go = tmp_path / "go"
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", MIGRATE_SCRIPT, url, first_use, str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for first_use in first_uses
    ]
    try:
        for worker in workers:
            assert worker.stdout is not None and worker.stdout.readline() == "ready\n"
        go.touch()
        for worker in workers:
            out, err = worker.communicate(timeout=60)
            assert worker.returncode == 0, err
            assert out == "2\n"
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait(timeout=10)
    found = rows(url)
    assert found["routeshift_schema"] == [{"version": 2}]
    writers = first_uses.count("write")
    assert len(found["routeshift_shadow_observations"]) == 2 + writers
    assert len(found["routeshift_contract_runs"]) == 1 + writers
    for name, expected in naive(v2_rows()).items():
        assert found[name][: len(expected)] == expected, name


@pytest.mark.parametrize(
    "use",
    [
        pytest.param(lambda store: store.verifications(), id="read"),
        pytest.param(lambda store: store.has_observations(), id="has-observations"),
        pytest.param(lambda store: store.record_contract_run([]), id="write"),
        pytest.param(lambda store: store.prune(10, 1), id="prune"),
    ],
)
def test_a_store_newer_than_this_routeshift_is_refused(
    tmp_path: Path, use: Callable[[Store], object]
) -> None:
    url = f"sqlite:///{tmp_path / 'routeshift.db'}"
    Store(url).record_contract_run([])
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql("UPDATE routeshift_schema SET version = 7")
    engine.dispose()
    schema = sqlite_schema(url)
    store = Store(url)
    with pytest.raises(StoreError) as raised:
        use(store)
    assert str(raised.value) == (
        f"the store {store.display_url!r} has schema version 7, and this routeshift knows "
        "versions 1 to 2: a newer routeshift wrote it. Upgrade routeshift "
        "(pip install --upgrade routeshift) to read or write this store."
    )
    assert store.schema_version() == 7 and sqlite_schema(url) == schema
    store.close()


def test_the_migrations_are_numbered_in_order() -> None:
    assert [m.version for m in migrations.MIGRATIONS] == list(range(2, SCHEMA_VERSION + 1))
    assert repr(migrations.MIGRATIONS[0]).startswith("Migration(2, ")
    assert isinstance(migrations.MIGRATIONS[0], Migration)
