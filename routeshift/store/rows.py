"""The stored form of one shadow observation: the column values `observation_row` makes
of an Observation, and the StoredMismatch and StoredExchange read back from a row
(`stored_mismatch`, `stored_exchange`). Pure: no I/O.

Only a mismatch or an error keeps its exchange (KEEPS_EXCHANGE). Every value a Redactor
finds sensitive is "[redacted]" before it gets there, and a body it cannot redact (or
that is not text) is a note of its size and type; an error keeps its type name and the
message `Redactor.error` leaves. A body is cut at BODY_LIMIT bytes, a header value, the
query string, an error or a difference's value at VALUE_LIMIT characters, each with
TRUNCATED.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from typing import Any

from routeshift.compare import MISSING, Difference
from routeshift.store.records import (
    Exchange,
    Observation,
    ShadowResult,
    StoredExchange,
    StoredMismatch,
)
from routeshift.store.redact import Redactor

__all__ = [
    "BODY_LIMIT",
    "EXCHANGE_COLUMNS",
    "KEEPS_EXCHANGE",
    "TRUNCATED",
    "VALUE_LIMIT",
    "body_text",
    "differences_json",
    "jsonable",
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

#: results whose exchange (request, replies) is stored
KEEPS_EXCHANGE = frozenset({ShadowResult.MISMATCH, ShadowResult.ERROR})


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
