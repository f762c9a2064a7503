"""What the store keeps: shadow observations and contract runs. The records the gateway
and the harness hand to the store, what the store gives back, and the stored form of one
observation (redacted, capped, JSON). Pure: no I/O.

    ShadowResult    match / mismatch / error / timeout / skipped
    Exchange        the raw request and both replies of one shadow run
    Observation     one comparison as the gateway reports it
    StoredMismatch  a stored mismatch (or error) as `routeshift diffs` shows it
    StoredExchange  its request and replies as stored: redacted, each body capped
    ShadowSummary   the shadow runs of one endpoint
    CaseOutcome     one contract case as a run records it
    Verification    the latest contract result of one endpoint

`observation_row` turns an Observation into the column values of one row; only a
mismatch or an error keeps its exchange. Every value a Redactor finds sensitive is
"[redacted]" before it gets there, and a body it cannot redact (or that is not text) is
a note of its size and type; an error keeps its type name and the message
`Redactor.error` leaves.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import os
import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from routeshift.compare import MISSING, Difference, Reply
from routeshift.registry.readiness import passing
from routeshift.store.redact import Redactor

__all__ = [
    "BODY_LIMIT",
    "EXCHANGE_COLUMNS",
    "KEEPS_EXCHANGE",
    "TRUNCATED",
    "VALUE_LIMIT",
    "CaseOutcome",
    "Exchange",
    "Observation",
    "ShadowResult",
    "ShadowSummary",
    "StoredExchange",
    "StoredMismatch",
    "Verification",
    "body_text",
    "differences_json",
    "jsonable",
    "median",
    "observation_row",
    "stored_exchange",
    "stored_mismatch",
    "utc",
]

#: bytes of a stored body (request or reply) before it is cut with TRUNCATED
BODY_LIMIT = 16 * 1024
#: characters of a stored header value, query string, error or difference value
VALUE_LIMIT = 4 * 1024
TRUNCATED = "[truncated: {size} bytes in all]"


class ShadowResult(enum.StrEnum):
    """What one shadow run came to. `skipped` runs are counted (metrics), never stored."""

    MATCH = "match"
    MISMATCH = "mismatch"
    ERROR = "error"
    TIMEOUT = "timeout"
    SKIPPED = "skipped"


#: results whose exchange (request, replies) is stored
KEEPS_EXCHANGE = frozenset({ShadowResult.MISMATCH, ShadowResult.ERROR})


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


# --- the stored form --------------------------------------------------------------------


def observation_row(
    observation: Observation, redactor: Redactor, *, body_limit: int = BODY_LIMIT
) -> dict[str, Any]:
    """The column values of one observation: differences redacted and as JSON; the
    exchange (mismatch or error only) redacted, bodies capped at `body_limit` bytes."""
    assert observation.result is not ShadowResult.SKIPPED, "skipped runs are never stored"
    row: dict[str, Any] = {
        "at": utc(observation.at),
        "endpoint": observation.endpoint,
        "method": observation.method,
        "rule": observation.rule,
        "path": observation.path,
        "result": observation.result.value,
        "legacy_status": observation.legacy_status,
        "modern_status": observation.modern_status,
        "legacy_ms": observation.legacy_ms,
        "modern_ms": observation.modern_ms,
        "differences": differences_json(observation.differences, redactor),
        "error": None
        if observation.error is None
        else _cut(redactor.error(observation.error), VALUE_LIMIT),
        "worker": observation.worker,
    }
    exchange = observation.exchange if observation.result in KEEPS_EXCHANGE else None
    row.update(_exchange_columns(exchange, redactor, body_limit))
    return row


EXCHANGE_COLUMNS = (
    "query",
    "request_headers",
    "request_body",
    "legacy_headers",
    "legacy_body",
    "modern_headers",
    "modern_body",
)


def _exchange_columns(
    exchange: Exchange | None, redactor: Redactor, limit: int
) -> dict[str, str | None]:
    if exchange is None:
        return dict.fromkeys(EXCHANGE_COLUMNS)
    request_type = next(
        (value for name, value in exchange.request_headers if name.lower() == "content-type"), ""
    )
    legacy, modern = exchange.legacy, exchange.modern
    return {
        "query": _cut(redactor.query(exchange.query), VALUE_LIMIT),
        "request_headers": _headers_json(exchange.request_headers, redactor),
        "request_body": body_text(exchange.request_body, request_type, redactor, limit),
        "legacy_headers": _headers_json(legacy.headers, redactor),
        "legacy_body": body_text(legacy.body, legacy.content_type, redactor, limit),
        "modern_headers": None if modern is None else _headers_json(modern.headers, redactor),
        "modern_body": None
        if modern is None
        else body_text(modern.body, modern.content_type, redactor, limit),
    }


def body_text(body: bytes, content_type: str, redactor: Redactor, limit: int = BODY_LIMIT) -> str:
    """A body as stored: redacted (or a note, see Redactor.body), as text, cut at `limit`
    bytes with TRUNCATED."""
    redacted = redactor.body(body, content_type)
    if len(redacted) <= limit:
        return redacted.decode("utf-8")
    kept = redacted[:limit].decode("utf-8", errors="ignore")
    return kept + "\n" + TRUNCATED.format(size=len(redacted))


def _headers_json(headers: Iterable[tuple[str, str]], redactor: Redactor) -> str:
    return json.dumps(
        [[name, _cut(value, VALUE_LIMIT)] for name, value in redactor.headers(headers)],
        ensure_ascii=False,
    )


def differences_json(differences: Iterable[Difference], redactor: Redactor) -> str:
    """The differences redacted, as the JSON list StoredMismatch.differences reads."""
    return json.dumps(
        [_difference_dict(redactor.difference(d)) for d in differences], ensure_ascii=False
    )


def _difference_dict(difference: Difference) -> dict[str, Any]:
    return {
        "where": difference.where,
        "legacy": _value(difference.legacy),
        "modern": _value(difference.modern),
        "missing": [
            side
            for side, value in (("legacy", difference.legacy), ("modern", difference.modern))
            if value is MISSING
        ],
        "text": _cut(str(difference), VALUE_LIMIT),
    }


def _value(value: Any) -> Any:
    """A difference's value as JSON (None for missing), a string when too long."""
    value = jsonable(value)
    text = json.dumps(value, ensure_ascii=False)
    return value if len(text) <= VALUE_LIMIT else _cut(text, VALUE_LIMIT)


def jsonable(value: Any) -> Any:
    """A value compare found, as JSON: MISSING None, sets sorted lists, tuples lists."""
    if value is MISSING or value is None:
        return None
    if isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, Mapping):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, frozenset | set):
        return sorted(jsonable(item) for item in value)
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    return str(value)


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + " " + TRUNCATED.format(size=len(text.encode("utf-8")))


def _pairs(headers: tuple[tuple[str, str], ...]) -> list[list[str]]:
    return [[name, value] for name, value in headers]


def utc(moment: dt.datetime) -> dt.datetime:
    """In UTC (a naive moment is taken to be UTC already)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


# --- reading rows back ------------------------------------------------------------------


def stored_mismatch(row: Any) -> StoredMismatch:
    """From a row (attributes named as the columns)."""
    return StoredMismatch(
        id=row.id,
        at=utc(row.at),
        endpoint=row.endpoint,
        method=row.method,
        rule=row.rule,
        path=row.path,
        legacy_status=row.legacy_status,
        modern_status=row.modern_status,
        differences=tuple(json.loads(row.differences or "[]")),
        worker=row.worker,
        result=ShadowResult(row.result),
        error=row.error,
        query=row.query or "",
    )


def stored_exchange(row: Any) -> StoredExchange:
    """From a row with the EXCHANGE_COLUMNS of a mismatch or an error."""
    return StoredExchange(
        query=row.query or "",
        request_headers=_read_headers(row.request_headers),
        request_body=row.request_body or "",
        legacy_headers=_read_headers(row.legacy_headers),
        legacy_body=row.legacy_body or "",
        modern_headers=None if row.modern_headers is None else _read_headers(row.modern_headers),
        modern_body=row.modern_body,
    )


def _read_headers(text: str | None) -> tuple[tuple[str, str], ...]:
    return tuple((str(name), str(value)) for name, value in json.loads(text or "[]"))


def median(values: list[float]) -> float | None:
    """The p50 of `values`, to the microsecond (in ms); None for none."""
    return round(statistics.median(values), 3) if values else None


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
