"""What routeshift has observed, in SQL: contract runs and shadow observations.

A SQLite file beside the registry by default (`routeshift.db`), any SQLAlchemy URL with
`settings.store_url` or ROUTESHIFT_STORE_URL. The tables (routeshift.store.schema) are
created on first write; reading never creates a store where there is none. A store
written by an older routeshift is migrated (routeshift.store.migrations) on its first
write or read; one written by a newer routeshift is refused.

`status` and `promote` read "verified" from here: the latest contract result of every
endpoint (its latest run that included that endpoint). The gateway writes shadow
observations through an ObservationWriter (routeshift.store.writer: a thread, off the
event loop); `diffs`, `status` and the admin pages read them back. Several processes
(uvicorn workers) write one SQLite file at once: WAL, and a busy timeout instead of
"database is locked".

One module: the Store is one class, each method a read or a write of the schema's tables
with its own error message, and the functions after it are its helpers (the URL with its
password hidden, SQLite's settings, the p50); the schema's versions are
routeshift.store.migrations.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import statistics
import time
from collections.abc import Collection, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from sqlalchemy import (
    Engine,
    Table,
    create_engine,
    delete,
    event,
    func,
    insert,
    inspect,
    make_url,
    select,
)
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from routeshift.errors import StoreError
from routeshift.store.migrations import (
    SCHEMA_VERSION,
    check_known,
    stored_version,
    upgrade,
    write_lock,
)
from routeshift.store.records import (
    CaseOutcome,
    Observation,
    ShadowResult,
    ShadowSummary,
    Snapshot,
    StoredExchange,
    StoredMismatch,
    Verification,
)
from routeshift.store.redact import Redactor
from routeshift.store.rows import (
    EXCHANGE_COLUMNS,
    observation_row,
    stored_exchange,
    stored_mismatch,
)
from routeshift.store.schema import (
    contract_results,
    contract_runs,
    daily_snapshots,
    shadow_observations,
)

if TYPE_CHECKING:
    from routeshift.registry.model import Registry

__all__ = [
    "BUSY_TIMEOUT_MS",
    "DEFAULT_FILE",
    "ENV_STORE_URL",
    "FAILED_RESULTS",
    "LATENCY_WINDOW",
    "Store",
    "hide_password",
    "store_url",
]

ENV_STORE_URL = "ROUTESHIFT_STORE_URL"
DEFAULT_FILE = "routeshift.db"
#: how long a SQLite writer waits for another process's write lock
BUSY_TIMEOUT_MS = 10_000

#: the runs of each endpoint its latency p50 is taken over (the latest ones)
LATENCY_WINDOW = 1_000
#: the results that are failures of the port: what `diffs` lists
FAILED_RESULTS = (ShadowResult.MISMATCH, ShadowResult.ERROR, ShadowResult.TIMEOUT)


def store_url(registry: Registry) -> str:
    """ROUTESHIFT_STORE_URL, else settings.store_url, else routeshift.db beside the registry."""
    url = os.environ.get(ENV_STORE_URL) or registry.settings.store_url
    if url:
        return url
    return f"sqlite:///{(registry.folder / DEFAULT_FILE).resolve()}"


class Store:
    """The observation store behind one SQLAlchemy engine (`engine_options` go to
    create_engine, e.g. a pool class for an in-memory database)."""

    def __init__(self, url: str, **engine_options: Any) -> None:
        self.url = url
        try:
            self.engine: Engine = create_engine(url, **engine_options)
        except (SQLAlchemyError, ValueError, ImportError, TypeError) as exc:
            shown = hide_password(url)
            raise StoreError(
                f"cannot open the store {shown!r}: {_scrub(str(exc), url, shown)}"
            ) from exc
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._ready = False  # the tables exist, at SCHEMA_VERSION
        self._current = False  # the store, where there is one, is at SCHEMA_VERSION

    @classmethod
    def for_registry(cls, registry: Registry) -> Store:
        return cls(store_url(registry))

    @property
    def display_url(self) -> str:
        """The URL with its password hidden, for messages."""
        return self.engine.url.render_as_string(hide_password=True)

    def _prepare(self) -> None:
        """Before the first write: the tables created, or migrated to SCHEMA_VERSION."""
        if self._ready:
            return
        self._upgrade(create=True)
        self._ready = self._current = True

    def _upgrade(self, *, create: bool) -> bool:
        """Migrate the store (and with `create`, create what it lacks) under the write
        lock, retried when another process holds it too long; False when there is no
        store and `create` is false. A read of a current store takes no lock, so it
        does not wait for writers."""
        for attempt in range(3):
            try:
                database = self.engine.url.database
                if create and self.engine.dialect.name == "sqlite" and database:
                    Path(database).parent.mkdir(parents=True, exist_ok=True)
                with self.engine.connect() as connection:
                    found = stored_version(connection)
                    check_known(found, self.display_url)
                    if not create and found in (None, SCHEMA_VERSION):
                        return found is not None
                    with write_lock(connection):
                        upgrade(connection, create=create, where=self.display_url)
                return True
            except (SQLAlchemyError, OSError) as exc:
                # another process (a uvicorn worker) may be migrating the same store
                if attempt == 2 or not isinstance(exc, SQLAlchemyError):
                    what = (
                        f"create the tables in {self.display_url!r}, or migrate them"
                        if create
                        else f"migrate the tables in {self.display_url!r}"
                    )
                    raise StoreError(
                        f"cannot {what} to schema version {SCHEMA_VERSION}: {exc}"
                    ) from exc
                time.sleep(0.05 * (attempt + 1))
        raise AssertionError("unreachable")

    def schema_version(self) -> int | None:
        """The schema version of the store's tables (routeshift.store.migrations), as
        they are: None when there is no store. Migrates nothing."""
        if not self._exists_file():
            return None
        try:
            with self.engine.connect() as connection:
                return stored_version(connection)
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot read the store {self.display_url!r}: {exc}") from exc

    def record_contract_run(self, results: Sequence[CaseOutcome]) -> int:
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
                                "endpoint": r.endpoint,
                                "case_id": r.case_id,
                                "method": r.method,
                                "path": r.path,
                                "passed": r.passed,
                                "differences": json.dumps(list(r.differences)),
                            }
                            for r in results
                        ],
                    )
        except SQLAlchemyError as exc:
            raise StoreError(
                f"cannot record the contract run in {self.display_url!r}: {exc}"
            ) from exc
        return int(run_id)

    def _exists(self, table: Table = contract_results) -> bool:
        """Whether the store has `table`; reading never creates it."""
        if self._ready:
            return True
        if not self._exists_file():
            return False
        if not self._current:
            self._current = self._upgrade(create=False)
        try:
            return inspect(self.engine).has_table(table.name)
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot read the store {self.display_url!r}: {exc}") from exc

    def _exists_file(self) -> bool:
        """False for a SQLite file that is not there (connecting would create it)."""
        database = self.engine.url.database
        if self.engine.dialect.name == "sqlite" and database and database != ":memory:":
            return Path(database).is_file()
        return True

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
            raise StoreError(f"cannot read contract runs from {self.display_url!r}: {exc}") from exc
        return {
            endpoint: Verification(
                endpoint,
                int(str(row["passed"])),
                int(str(row["failed"])),
                _aware(row["run_at"]),
            )
            for endpoint, row in counts.items()
        }

    # --- shadow observations ------------------------------------------------------------

    def record_observations(self, observations: Iterable[Observation], redactor: Redactor) -> int:
        """Store observations in one transaction (skipped runs are left out), redacted with
        `redactor`; returns how many rows were written."""
        rows = [
            observation_row(observation, redactor)
            for observation in observations
            if observation.result is not ShadowResult.SKIPPED
        ]
        if not rows:
            return 0
        self._prepare()
        try:
            with self.engine.begin() as connection:
                connection.execute(insert(shadow_observations), rows)
        except SQLAlchemyError as exc:
            raise StoreError(
                f"cannot record {len(rows)} shadow observations in {self.display_url!r}: {exc}"
            ) from exc
        return len(rows)

    def prune(self, rows: int, days: float) -> int:
        """Keep at most the `rows` newest observations and none older than `days` (0: no
        limit on that axis); returns how many were deleted."""
        if (rows <= 0 and days <= 0) or not self._exists(shadow_observations):
            return 0
        table = shadow_observations
        deleted = 0
        try:
            with self.engine.begin() as connection:
                if days > 0:
                    cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(days=days)
                    deleted += connection.execute(delete(table).where(table.c.at < cutoff)).rowcount
                if rows > 0:
                    # one statement (a write from its start, so SQLite waits for the lock
                    # instead of failing a read that turns into a write)
                    newest = (
                        select(table.c.id).order_by(table.c.id.desc()).offset(rows).limit(1)
                    ).subquery()
                    threshold = select(newest.c.id).scalar_subquery()
                    deleted += connection.execute(
                        delete(table).where(table.c.id <= threshold)
                    ).rowcount
        except SQLAlchemyError as exc:
            raise StoreError(
                f"cannot prune shadow observations in {self.display_url!r}: {exc}"
            ) from exc
        return deleted

    def record_snapshot(self, snapshot: Snapshot) -> None:
        """Keep `snapshot` as its day's (the last one of a day wins)."""
        self._prepare()
        table = daily_snapshots
        try:
            with self.engine.begin() as connection:
                connection.execute(delete(table).where(table.c.day == snapshot.day))
                connection.execute(
                    insert(table).values(
                        day=snapshot.day,
                        taken_at=snapshot.taken_at,
                        counts=json.dumps(snapshot.counts, sort_keys=True),
                    )
                )
        except SQLAlchemyError as exc:
            raise StoreError(
                f"cannot record the daily snapshot in {self.display_url!r}: {exc}"
            ) from exc

    def snapshots(self, limit: int) -> list[Snapshot]:
        """The `limit` latest daily snapshots, oldest first; none where there is no store."""
        if not self._exists(daily_snapshots):
            return []
        table = daily_snapshots
        query = select(table).order_by(table.c.day.desc()).limit(limit)
        rows = self._read(query, "the daily snapshots")
        return [
            Snapshot(row.day, _aware(row.taken_at), json.loads(row.counts))
            for row in reversed(rows)
        ]

    def has_observations(self) -> bool:
        """Whether a shadow run was ever recorded here (the table exists)."""
        return self._exists(shadow_observations)

    def mismatches(
        self,
        endpoint: str | None = None,
        limit: int = 20,
        *,
        results: Collection[ShadowResult] = FAILED_RESULTS,
    ) -> list[StoredMismatch]:
        """The newest stored failures (mismatches, errors, timeouts; or `results`), of
        one endpoint or all."""
        if not self._exists(shadow_observations):
            return []
        table = shadow_observations
        query = (
            select(*_MISMATCH_COLUMNS)
            .where(table.c.result.in_([ShadowResult(r).value for r in results]))
            .order_by(table.c.id.desc())
            .limit(limit)
        )
        if endpoint is not None:
            query = query.where(table.c.endpoint == endpoint)
        return [stored_mismatch(row) for row in self._read(query, "shadow mismatches")]

    def exchanges(self, ids: Iterable[int]) -> dict[int, StoredExchange]:
        """The stored request and replies of each mismatch or error in `ids` that has them."""
        wanted = sorted(set(ids))
        if not wanted or not self._exists(shadow_observations):
            return {}
        table = shadow_observations
        query = select(table.c.id, *(table.c[name] for name in EXCHANGE_COLUMNS)).where(
            table.c.id.in_(wanted), table.c.request_headers.is_not(None)
        )
        return {row.id: stored_exchange(row) for row in self._read(query, "shadow exchanges")}

    def exchange(self, mismatch_id: int) -> StoredExchange | None:
        return self.exchanges([mismatch_id]).get(mismatch_id)

    def shadow_summaries(self) -> dict[str, ShadowSummary]:
        """Per endpoint: runs by result, the p50 latency of each side over its latest
        LATENCY_WINDOW runs, and its latest mismatch."""
        if not self._exists(shadow_observations):
            return {}
        table = shadow_observations
        counts: dict[str, dict[str, int]] = {}
        for endpoint, result, count in self._read(
            select(table.c.endpoint, table.c.result, func.count()).group_by(
                table.c.endpoint, table.c.result
            ),
            "shadow run counts",
        ):
            counts.setdefault(endpoint, {})[result] = int(count)
        rank = func.row_number().over(partition_by=table.c.endpoint, order_by=table.c.id.desc())
        recent = select(
            table.c.endpoint, table.c.legacy_ms, table.c.modern_ms, rank.label("rank")
        ).subquery()
        latencies: dict[str, tuple[list[float], list[float]]] = {}
        for endpoint, legacy_ms, modern_ms in self._read(
            select(recent.c.endpoint, recent.c.legacy_ms, recent.c.modern_ms).where(
                recent.c.rank <= LATENCY_WINDOW
            ),
            "shadow latencies",
        ):
            legacy, modern = latencies.setdefault(endpoint, ([], []))
            legacy.append(float(legacy_ms))
            if modern_ms is not None:
                modern.append(float(modern_ms))
        latest_ids = (
            select(func.max(table.c.id))
            .where(table.c.result == ShadowResult.MISMATCH.value)
            .group_by(table.c.endpoint)
        )
        latest = {
            row.endpoint: stored_mismatch(row)
            for row in self._read(
                select(*_MISMATCH_COLUMNS).where(table.c.id.in_(latest_ids)), "latest mismatches"
            )
        }
        summaries = {}
        for endpoint, by_result in sorted(counts.items()):
            legacy, modern = latencies.get(endpoint, ([], []))
            summaries[endpoint] = ShadowSummary(
                endpoint=endpoint,
                runs=sum(by_result.values()),
                match=by_result.get(ShadowResult.MATCH.value, 0),
                mismatch=by_result.get(ShadowResult.MISMATCH.value, 0),
                error=by_result.get(ShadowResult.ERROR.value, 0),
                timeout=by_result.get(ShadowResult.TIMEOUT.value, 0),
                legacy_ms_p50=_median(legacy),
                modern_ms_p50=_median(modern),
                latest_mismatch=latest.get(endpoint),
            )
        return summaries

    def _read(self, query: Any, what: str) -> list[Any]:
        try:
            with self.engine.connect() as connection:
                return list(connection.execute(query).all())
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot read {what} from {self.display_url!r}: {exc}") from exc

    def close(self) -> None:
        self.engine.dispose()


_MISMATCH_COLUMNS = tuple(
    shadow_observations.c[name]
    for name in (
        "id",
        "at",
        "endpoint",
        "method",
        "rule",
        "path",
        "legacy_status",
        "modern_status",
        "differences",
        "worker",
        "result",
        "error",
        "query",
    )
)


def hide_password(url: str) -> str:
    """`url` with its password hidden ("***"), also when SQLAlchemy cannot parse it."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError, TypeError):
        return _PASSWORD.sub(r"\1***@", url)


#: scheme://user:password@ in a URL SQLAlchemy cannot parse
_PASSWORD = re.compile(r"(://[^/:@]*:)[^/@]*@")


def _scrub(text: str, url: str, shown: str) -> str:
    """An error's text without `url` (shown as `shown`) or its password."""
    text = text.replace(url, shown)
    match = _PASSWORD.search(url)
    password = match.group(0)[len(match.group(1)) : -1] if match else ""
    for secret in {password, unquote(password)} - {"", "***"}:
        text = text.replace(secret, "***")
    return text


def _median(values: list[float]) -> float | None:
    """The p50 of `values`, to the microsecond (in ms); None for none."""
    return round(statistics.median(values), 3) if values else None


def _aware(value: object) -> dt.datetime:
    assert isinstance(value, dt.datetime)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _sqlite_pragmas(connection: object, _record: object) -> None:
    cursor = connection.cursor()  # type: ignore[attr-defined]
    # the timeout first: switching to WAL takes a lock another process may hold
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode=WAL")
    # with WAL: no fsync per commit, still safe against a crash of the process
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
