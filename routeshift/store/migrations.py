"""The store's schema version, and the migrations that bring the tables of a store written
by an older routeshift up to it.

    version 1   contract runs and results, shadow observations (routeshift 0.1). A store
                with these tables and no routeshift_schema table is version 1.
    version 2   routeshift_daily_snapshots; a nullable `traceback` on
                routeshift_shadow_observations

`upgrade` runs in the caller's transaction, which `write_lock` begins: the first write
(and the first read of a store that has tables) of a Store takes it, so that of two
processes opening one store at once, one migrates and the other then finds the store
current. A store newer than SCHEMA_VERSION is refused, never read or written.

A new store is created by routeshift.store.schema at SCHEMA_VERSION directly; a
migration only changes a store that exists. Each migration spells out its own DDL
instead of taking schema's tables (they describe the latest version), so that it still
means what it meant once a later version changes them; each step is skipped where it is
done already (a database without transactional DDL may have kept half a migration).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import (
    Column,
    Connection,
    Date,
    DateTime,
    MetaData,
    Table,
    Text,
    delete,
    func,
    insert,
    inspect,
    select,
)
from sqlalchemy.schema import CreateColumn

from routeshift.errors import StoreError
from routeshift.store.schema import metadata, schema_version

__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "V1_TABLES",
    "Migration",
    "check_known",
    "stored_version",
    "upgrade",
    "write_lock",
]

#: the tables of version 1: a store that has one of them is a store
V1_TABLES = (
    "routeshift_contract_runs",
    "routeshift_contract_results",
    "routeshift_shadow_observations",
)


@dataclass(frozen=True, slots=True)
class Migration:
    """The step from version `version - 1` to `version`."""

    version: int
    summary: str
    apply: Callable[[Connection], None]

    def __repr__(self) -> str:
        return f"Migration({self.version}, {self.summary!r})"


def _add_column(connection: Connection, table: str, column: Column[object]) -> None:
    """ALTER TABLE `table` ADD COLUMN, in the dialect's own words; nothing when the table
    is absent (the first write creates it, at the latest version) or has the column."""
    assert column.nullable and column.server_default is None, "ADD COLUMN of a nullable column"
    inspector = inspect(connection)
    if not inspector.has_table(table):
        return
    if column.name in {found["name"] for found in inspector.get_columns(table)}:
        return
    quoted = connection.dialect.identifier_preparer.quote(table)
    spec = CreateColumn(column).compile(dialect=connection.dialect)
    connection.exec_driver_sql(f"ALTER TABLE {quoted} ADD COLUMN {spec}")


# --- version 2 ----------------------------------------------------------------------------

_V2 = MetaData()
_V2_DAILY_SNAPSHOTS = Table(
    "routeshift_daily_snapshots",
    _V2,
    Column("day", Date, primary_key=True),
    Column("taken_at", DateTime(timezone=True), nullable=False),
    Column("counts", Text, nullable=False),
)


def _to_v2(connection: Connection) -> None:
    _V2_DAILY_SNAPSHOTS.create(connection, checkfirst=True)
    _add_column(connection, "routeshift_shadow_observations", Column("traceback", Text))


#: in order; migration n takes a store from version n - 1 to n
MIGRATIONS = (Migration(2, "daily snapshots; the traceback of a shadow error", _to_v2),)

#: the version of the tables in routeshift.store.schema: the one this routeshift writes
SCHEMA_VERSION = MIGRATIONS[-1].version

assert [m.version for m in MIGRATIONS] == list(range(2, SCHEMA_VERSION + 1))


# --- reading and writing the version ---------------------------------------------------------


def stored_version(connection: Connection) -> int | None:
    """The schema version of the store behind `connection`; None when it has none of
    routeshift's tables (no store), 1 when it has tables but no version."""
    inspector = inspect(connection)
    if inspector.has_table(schema_version.name):
        found = connection.execute(select(func.max(schema_version.c.version))).scalar()
        if found is not None:
            return int(found)
    if any(inspector.has_table(name) for name in V1_TABLES):
        return 1
    return None


def check_known(version: int | None, where: str) -> None:
    """Refuse a store written by a newer routeshift: its tables may mean other things."""
    if version is not None and version > SCHEMA_VERSION:
        raise StoreError(
            f"the store {where!r} has schema version {version}, and this routeshift knows "
            f"versions 1 to {SCHEMA_VERSION}: a newer routeshift wrote it. Upgrade "
            "routeshift (pip install --upgrade routeshift) to read or write this store."
        )


def upgrade(connection: Connection, *, create: bool, where: str) -> int | None:
    """Bring the store to SCHEMA_VERSION in the caller's transaction (`write_lock`);
    with `create`, also create the tables it lacks (all of them for a new store).
    Returns the version the store had: None when there was no store (then, without
    `create`, nothing is created)."""
    found = stored_version(connection)
    check_known(found, where)
    if found is None and not create:
        return None
    for migration in MIGRATIONS:
        if found is not None and migration.version > found:
            migration.apply(connection)
    if create:
        metadata.create_all(connection)  # what is missing, at the latest version
    if found != SCHEMA_VERSION:
        schema_version.create(connection, checkfirst=True)
        connection.execute(delete(schema_version))
        connection.execute(insert(schema_version).values(version=SCHEMA_VERSION))
    return found


#: the PostgreSQL advisory lock that one migration at a time holds
_LOCK_KEY = zlib.crc32(b"routeshift_schema")


@contextmanager
def write_lock(connection: Connection) -> Iterator[None]:
    """A transaction that holds the store's write lock from its start, committed at the
    end (rolled back on an error). SQLite: BEGIN IMMEDIATE, since pysqlite would begin
    only at the first INSERT and run DDL outside any transaction; a second process waits
    for the lock (busy timeout). PostgreSQL: an advisory lock for the transaction.
    Elsewhere an ordinary transaction: a second process fails, and the caller retries."""
    if connection.in_transaction():
        connection.commit()
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        connection.begin()
        if connection.dialect.name == "postgresql":
            connection.execute(select(func.pg_advisory_xact_lock(_LOCK_KEY)))
    try:
        yield
    except BaseException:
        connection.rollback()
        raise
    connection.commit()
