"""What the example keeps of its own for answering like Flask: the rest of the crossing
(the JSON, the error pages, the query, the body errors) is routeshift.compat's.

- `http_date`: datetimes as Flask's JSON provider writes them ("Tue, 02 Jan 2024 03:04:05 GMT").
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime


def http_date(value: datetime) -> str:
    """RFC 822 date in GMT, naive datetimes taken as UTC (werkzeug.http.http_date)."""
    aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return format_datetime(aware, usegmt=True)
