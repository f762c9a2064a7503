"""routeshift's tables in the store: contract runs, their results and shadow observations,
with the indexes the store's reads use. routeshift.store.sql creates them on its first
write and reads and writes them; the column values of an observation are
routeshift.store.rows.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
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
    "metadata",
    "shadow_observations",
]

metadata = MetaData()

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
    # diffs: the newest mismatches, of one endpoint or of all
    Index("ix_routeshift_shadow_endpoint_result", "endpoint", "result", "id"),
    Index("ix_routeshift_shadow_result", "result", "id"),
    # shadow_summaries: the latest runs of each endpoint
    Index("ix_routeshift_shadow_endpoint", "endpoint", "id"),
)
