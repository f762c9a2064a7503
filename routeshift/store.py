"""What routeshift has observed, in SQL: contract runs now (shadow observations later).

A SQLite file beside the registry by default (`routeshift.db`), any SQLAlchemy URL with
`settings.store_url` or ROUTESHIFT_STORE_URL. Tables are created on first use.

`status` and `promote` read "verified" from here: the latest contract result of every
endpoint (its latest run that included that endpoint).
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Engine,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    func,
    insert,
    inspect,
    select,
)
from sqlalchemy.exc import SQLAlchemyError

from routeshift.compare import Difference, Reply
from routeshift.errors import RouteshiftError

if TYPE_CHECKING:
    from routeshift.contract import CaseResult
    from routeshift.registry import Registry

ENV_STORE_URL = "ROUTESHIFT_STORE_URL"
DEFAULT_FILE = "routeshift.db"

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


class StoreError(RouteshiftError):
    """The store cannot be opened or written."""


class ShadowResult(enum.StrEnum):
    """What one shadow run came to. `skipped` runs are counted (metrics), never stored."""

    MATCH = "match"
    MISMATCH = "mismatch"
    ERROR = "error"
    TIMEOUT = "timeout"
    SKIPPED = "skipped"


@dataclass(frozen=True, slots=True)
class Exchange:
    """What a shadow run saw, raw: the request and both replies (modern None when it
    raised or timed out). Redacted and capped before anything is written."""

    query: str
    request_headers: tuple[tuple[str, str], ...]
    request_body: bytes
    legacy: Reply
    modern: Reply | None


@dataclass(frozen=True, slots=True)
class Observation:
    """One shadow comparison, as the gateway hands it to the store."""

    endpoint: str
    method: str
    rule: str  # the path template: the legacy rule
    path: str  # the request path, without the query
    result: ShadowResult  # never SKIPPED
    legacy_status: int
    modern_status: int | None
    legacy_ms: float
    modern_ms: float | None
    differences: tuple[Difference, ...] = ()
    error: str | None = None
    at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    worker: int = field(default_factory=os.getpid)
    exchange: Exchange | None = None  # kept (redacted, capped) for mismatches only


@dataclass(frozen=True, slots=True)
class StoredMismatch:
    """A stored mismatch as `routeshift diffs` and the dashboard show it (redacted)."""

    id: int
    at: dt.datetime
    endpoint: str
    method: str
    rule: str
    path: str
    legacy_status: int
    modern_status: int | None
    differences: tuple[dict[str, Any], ...]  # {"where", "legacy", "modern"}, JSON values
    worker: int


@dataclass(frozen=True, slots=True)
class ShadowSummary:
    """The shadow runs of one endpoint in the store."""

    endpoint: str
    runs: int
    match: int
    mismatch: int
    error: int
    timeout: int
    legacy_ms_p50: float | None
    modern_ms_p50: float | None
    latest_mismatch: StoredMismatch | None

    @property
    def match_rate(self) -> float | None:
        """Percent of the runs whose replies matched; None before the first run."""
        return round(100 * self.match / self.runs, 1) if self.runs else None


@dataclass(frozen=True, slots=True)
class Verification:
    """The latest contract result of one endpoint."""

    endpoint: str
    passed: int
    failed: int
    run_at: dt.datetime

    @property
    def ok(self) -> bool:
        return self.passed > 0 and self.failed == 0


def store_url(registry: Registry) -> str:
    """ROUTESHIFT_STORE_URL, else settings.store_url, else routeshift.db beside the registry."""
    url = os.environ.get(ENV_STORE_URL) or registry.settings.store_url
    if url:
        return url
    return f"sqlite:///{(registry.folder / DEFAULT_FILE).resolve()}"


class Store:
    """The observation store behind one SQLAlchemy engine."""

    def __init__(self, url: str) -> None:
        self.url = url
        try:
            self.engine: Engine = create_engine(url)
        except (SQLAlchemyError, ValueError, ImportError) as exc:
            raise StoreError(f"cannot open the store {url!r}: {exc}") from exc
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._ready = False

    @classmethod
    def for_registry(cls, registry: Registry) -> Store:
        return cls(store_url(registry))

    def _prepare(self) -> None:
        if self._ready:
            return
        try:
            if self.engine.dialect.name == "sqlite" and self.engine.url.database:
                Path(self.engine.url.database).parent.mkdir(parents=True, exist_ok=True)
            metadata.create_all(self.engine)
        except (SQLAlchemyError, OSError) as exc:
            raise StoreError(f"cannot create the tables in {self.url!r}: {exc}") from exc
        self._ready = True

    def record_contract_run(self, results: Sequence[CaseResult]) -> int:
        """Store one run of contract cases; returns its id."""
        self._prepare()
        failed = sum(not r.passed for r in results)
        try:
            with self.engine.begin() as connection:
                run_id = connection.execute(
                    insert(contract_runs)
                    .values(finished_at=dt.datetime.now(dt.UTC), cases=len(results), failed=failed)
                    .returning(contract_runs.c.id)
                ).scalar_one()
                if results:
                    connection.execute(
                        insert(contract_results),
                        [
                            {
                                "run_id": run_id,
                                "endpoint": r.case.endpoint,
                                "case_id": r.case.id,
                                "method": r.case.method,
                                "path": r.case.path,
                                "passed": r.passed,
                                "differences": json.dumps(
                                    [str(d) for d in r.comparison.differences]
                                ),
                            }
                            for r in results
                        ],
                    )
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot record the contract run in {self.url!r}: {exc}") from exc
        return int(run_id)

    def _exists(self) -> bool:
        """Whether the store has been written to; reading never creates it."""
        if self._ready:
            return True
        database = self.engine.url.database
        if self.engine.dialect.name == "sqlite" and database and database != ":memory:":
            if not Path(database).is_file():  # connecting would create the file
                return False
        try:
            return inspect(self.engine).has_table(contract_results.name)
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot read the store {self.url!r}: {exc}") from exc

    def verifications(self) -> dict[str, Verification]:
        """Per endpoint, the results of the latest run that included it."""
        if not self._exists():
            return {}
        # each endpoint's rows of its latest run: one pass with a window function, where a
        # join on max(run_id) per endpoint costs SQLite a scan per row
        latest = func.max(contract_results.c.run_id).over(partition_by=contract_results.c.endpoint)
        ranked = select(
            contract_results.c.endpoint,
            contract_results.c.passed,
            contract_results.c.run_id,
            latest.label("latest"),
        ).subquery()
        query = (
            select(ranked.c.endpoint, ranked.c.passed, func.count(), contract_runs.c.finished_at)
            .join(contract_runs, contract_runs.c.id == ranked.c.run_id)
            .where(ranked.c.run_id == ranked.c.latest)
            .group_by(ranked.c.endpoint, ranked.c.passed, contract_runs.c.finished_at)
        )
        counts: dict[str, dict[str, object]] = {}
        try:
            with self.engine.connect() as connection:
                for endpoint, passed, count, finished_at in connection.execute(query):
                    row = counts.setdefault(
                        endpoint, {"passed": 0, "failed": 0, "run_at": finished_at}
                    )
                    row["passed" if passed else "failed"] = count
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot read contract runs from {self.url!r}: {exc}") from exc
        return {
            endpoint: Verification(
                endpoint,
                int(str(row["passed"])),
                int(str(row["failed"])),
                _aware(row["run_at"]),
            )
            for endpoint, row in counts.items()
        }

    def close(self) -> None:
        self.engine.dispose()


def _aware(value: object) -> dt.datetime:
    assert isinstance(value, dt.datetime)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _sqlite_pragmas(connection: object, _record: object) -> None:
    cursor = connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()
