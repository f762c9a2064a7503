"""Flask's habits, reproduced so that a ported route answers byte for byte like legacy.

- `FlaskJSONResponse`: the body `flask.jsonify` writes (sorted keys, compact separators,
  non-ASCII escaped, trailing newline).
- `http_date`: datetimes as Flask's JSON provider writes them ("Tue, 02 Jan 2024 03:04:05 GMT").
- `query_int`: `request.args.get(name, default, type=int)`: first value, default if bad.
- `werkzeug_http_exception_handler`: HTTPExceptions rendered as werkzeug's HTML error pages
  (the ones `abort()` produces), with werkzeug's own classes so the text cannot drift.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from email.utils import format_datetime
from http import HTTPStatus
from typing import Any

from fastapi import Request, Response
from fastapi.exception_handlers import http_exception_handler
from starlette.exceptions import HTTPException
from werkzeug.exceptions import default_exceptions


class FlaskJSONResponse(Response):
    """JSON as Flask 3's DefaultJSONProvider writes it outside debug mode."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        text = json.dumps(content, ensure_ascii=True, sort_keys=True, separators=(",", ":"))
        return f"{text}\n".encode()


def http_date(value: datetime) -> str:
    """RFC 822 date in GMT, naive datetimes taken as UTC (werkzeug.http.http_date)."""
    aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return format_datetime(aware, usegmt=True)


def query_int(request: Request, name: str, default: int) -> int:
    """werkzeug's `request.args.get(name, default, type=int)`.

    The first value of the parameter converted by `int()`; the default when it is
    missing or `int()` refuses it. Never a 422.
    """
    values = request.query_params.getlist(name)
    if not values:
        return default
    try:
        return int(values[0])
    except ValueError:
        return default


async def werkzeug_http_exception_handler(request: Request, exc: Exception) -> Response:
    """Render an HTTPException as werkzeug's HTML page for its status code.

    `detail` is the page's description; Starlette's default detail (the status phrase,
    e.g. for an unmatched path) stands for werkzeug's default description, so a plain
    `raise HTTPException(404)` matches a plain `abort(404)`. A status werkzeug has no
    class for, or a non-string detail, keeps FastAPI's JSON error.
    """
    assert isinstance(exc, HTTPException)
    werkzeug_class = default_exceptions.get(exc.status_code)
    if werkzeug_class is None or not isinstance(exc.detail, str):
        return await http_exception_handler(request, exc)
    description = None if exc.detail == _phrase(exc.status_code) else exc.detail
    page = werkzeug_class(description=description)
    headers = dict(page.get_headers())
    headers.update(exc.headers or {})
    return Response(page.get_body(), status_code=exc.status_code, headers=headers)


def _phrase(status_code: int) -> str:
    try:
        return HTTPStatus(status_code).phrase
    except ValueError:
        return ""
