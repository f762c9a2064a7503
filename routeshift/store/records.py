"""What the store keeps: shadow observations and contract runs. The records the gateway
and the harness hand to the store and what the store gives back; the stored form of an
observation, one row, is routeshift.store.rows. Pure: no I/O.

    ShadowResult    match / mismatch / error / timeout / skipped
    Exchange        the raw request and both replies of one shadow run
    Observation     one comparison as the gateway reports it
    StoredMismatch  a stored mismatch (or error) as `routeshift diffs` shows it
    StoredExchange  its request and replies as stored: redacted, each body capped
    ShadowSummary   the shadow runs of one endpoint
    CaseOutcome     one contract case as a run records it
    Verification    the latest contract result of one endpoint
    Snapshot        the route methods of the registry by state on one day (the gateway's)
"""

from __future__ import annotations

import datetime as dt
import enum
import os
from dataclasses import dataclass, field
from typing import Any

from routeshift.compare import Difference, Reply
from routeshift.registry.readiness import passing

__all__ = [
    "CaseOutcome",
    "Exchange",
    "Observation",
    "ShadowResult",
    "ShadowSummary",
    "Snapshot",
    "StoredExchange",
    "StoredMismatch",
    "Verification",
]


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

    def __repr__(self) -> str:
        return (
            f"Observation({self.endpoint!r}, {self.method} {self.path}, {self.result.value}, "
            f"{len(self.differences)} differences)"
        )


@dataclass(frozen=True, slots=True)
class StoredMismatch:
    """A stored mismatch (or error) as `routeshift diffs` and the dashboard show it.

    Each difference is {"where", "legacy", "modern", "missing", "text"}: the values as
    JSON (redacted; null for a side that does not have the value, which `missing` then
    names: ["legacy"], ["modern"] or []), and `text` the line to show,
    `where: legacy X != modern Y`.
    """

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
    result: ShadowResult = ShadowResult.MISMATCH
    error: str | None = None
    query: str = ""  # redacted, without '?'

    @property
    def target(self) -> str:
        """The path with its (redacted) query string."""
        return f"{self.path}?{self.query}" if self.query else self.path

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at.isoformat(),
            "worker": self.worker,
            "endpoint": self.endpoint,
            "rule": self.rule,
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "result": self.result.value,
            "legacy_status": self.legacy_status,
            "modern_status": self.modern_status,
            "error": self.error,
            "differences": list(self.differences),
        }

    def __repr__(self) -> str:
        return f"StoredMismatch({self.id}, {self.endpoint!r}, {self.method} {self.path})"


@dataclass(frozen=True, slots=True)
class StoredExchange:
    """The request and the replies of a stored mismatch: redacted, bodies capped
    (BODY_LIMIT, then TRUNCATED), a body that is not UTF-8 text replaced by a note."""

    query: str
    request_headers: tuple[tuple[str, str], ...]
    request_body: str
    legacy_headers: tuple[tuple[str, str], ...]
    legacy_body: str
    modern_headers: tuple[tuple[str, str], ...] | None  # None: modern raised or timed out
    modern_body: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "request": {"headers": _pairs(self.request_headers), "body": self.request_body},
            "legacy": {"headers": _pairs(self.legacy_headers), "body": self.legacy_body},
            "modern": None
            if self.modern_headers is None
            else {"headers": _pairs(self.modern_headers), "body": self.modern_body},
        }


def _pairs(headers: tuple[tuple[str, str], ...]) -> list[list[str]]:
    return [[name, value] for name, value in headers]


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

    def failures(self) -> list[tuple[ShadowResult, int]]:
        """The failed runs by result (mismatch, error, timeout), those that occurred."""
        counts = (
            (ShadowResult.MISMATCH, self.mismatch),
            (ShadowResult.ERROR, self.error),
            (ShadowResult.TIMEOUT, self.timeout),
        )
        return [(result, count) for result, count in counts if count]

    @property
    def match_rate(self) -> float | None:
        """Percent of the runs whose replies matched; None before the first run."""
        return round(100 * self.match / self.runs, 1) if self.runs else None


@dataclass(frozen=True, slots=True)
class CaseOutcome:
    """One contract case as a run records it (the harness's CaseResult gives one)."""

    endpoint: str
    case_id: str
    method: str
    path: str
    passed: bool
    differences: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Verification:
    """The latest contract result of one endpoint."""

    endpoint: str
    passed: int
    failed: int
    run_at: dt.datetime

    @property
    def ok(self) -> bool:
        """Ran cases and failed none (routeshift.registry.readiness)."""
        return passing(self)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The registry as a gateway served it on `day` (its last load or reload that day):
    route methods by state, `retired` apart (routeshift.track.history counts them)."""

    day: dt.date
    taken_at: dt.datetime
    counts: dict[str, int]

    def __repr__(self) -> str:
        counts = ", ".join(f"{state}={n}" for state, n in self.counts.items())
        return f"Snapshot({self.day.isoformat()}, {counts})"
