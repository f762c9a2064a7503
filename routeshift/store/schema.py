"""routeshift's tables in the store, at the latest schema version: contract runs, their
results, shadow observations and daily snapshots, with the indexes the store's reads use,
and the table that holds the version. routeshift.store.sql creates them on its first
write and reads and writes them; routeshift.store.migrations brings the tables of an
older store to this version; the column values of an observation are
routeshift.store.rows.

A change here is a new schema version: add its migration to
routeshift.store.migrations, which spells out its own DDL (a migration keeps meaning what
it meant when this module changes again).
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

__all__ = [
    "contract_results",
    "contract_runs",
    "daily_snapshots",
    "metadata",
    "schema_version",
    "shadow_observations",
]

metadata = MetaData()

#: one row: the version of the store's tables (routeshift.store.migrations). Never
#: changes shape: every routeshift, older or newer, reads it to know what it has opened.
schema_version = Table(
    "routeshift_schema",
    metadata,
    Column("version", Integer, nullable=False),
)

contract_runs = Table(
    "routeshift_contract_runs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("finished_at", DateTime(timezone=True), nullable=False),
    Column("cases", Integer, nullable=False),
    Column("failed", Integer, nullable=False),
)

contract_results = Table(
    "routeshift_contract_results",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("run_id", ForeignKey("routeshift_contract_runs.id"), nullable=False, index=True),
    Column("endpoint", String(255), nullable=False, index=True),
    Column("case_id", String(255), nullable=False),
    Column("method", String(16), nullable=False),
    Column("path", Text, nullable=False),
    Column("passed", Boolean, nullable=False),
    Column("differences", Text, nullable=False),  # JSON list of "where: legacy != modern"
)


shadow_observations = Table(
    "routeshift_shadow_observations",
    metadata,
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
    Column("differences", Text, nullable=False),  # JSON: see records.StoredMismatch
    Column("error", Text),
    Column("worker", Integer, nullable=False),
    # a mismatch's or an error's exchange, redacted and capped; NULL for the others
    Column("query", Text),
    Column("request_headers", Text),  # JSON list of [name, value]
    Column("request_body", Text),
    Column("legacy_headers", Text),
    Column("legacy_body", Text),
    Column("modern_headers", Text),
    Column("modern_body", Text),
    # the frames the shadow copy raised (version 2); NULL when it did not, or not kept
    Column("traceback", Text),
    # diffs: the newest mismatches, of one endpoint or of all
    Index("ix_routeshift_shadow_endpoint_result", "endpoint", "result", "id"),
    Index("ix_routeshift_shadow_result", "result", "id"),
    # shadow_summaries: the latest runs of each endpoint
    Index("ix_routeshift_shadow_endpoint", "endpoint", "id"),
)

#: one row a day (version 2): the (endpoint, method) pairs counted by state, as JSON
daily_snapshots = Table(
    "routeshift_daily_snapshots",
    metadata,
    Column("day", Date, primary_key=True),
    Column("taken_at", DateTime(timezone=True), nullable=False),
    Column("counts", Text, nullable=False),  # JSON: endpoint/method/state counts
)
