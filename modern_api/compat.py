"""Flask's habits, reproduced so that a ported route answers byte for byte like legacy.

- `FlaskJSONResponse`: the body `flask.jsonify` writes (sorted keys, compact separators,
  non-ASCII escaped, trailing newline).
- `http_date`: datetimes as Flask's JSON provider writes them ("Tue, 02 Jan 2024 03:04:05 GMT").
- `query_int`: `request.args.get(name, default, type=int)`: first value, default if bad.
- `werkzeug_http_exception_handler`: HTTPExceptions rendered as werkzeug's HTML error pages
  (the ones `abort()` produces), with werkzeug's own classes so the text cannot drift.
- `LegacyErrorsRoute` and `@legacy_body_errors(...)`: a bad JSON body answered as the
  legacy view's `abort(400, description)`, not as FastAPI's 422; the Pydantic model stays
  the one description of the body (validation, OpenAPI).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http import HTTPStatus
from typing import Any, TypeVar

from fastapi import Request, Response
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from werkzeug.exceptions import InternalServerError, default_exceptions

Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])


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


async def werkzeug_server_error_handler(request: Request, exc: Exception) -> Response:
    """An unhandled exception answers werkzeug's 500 page, as Flask's does.

    Starlette still logs the exception and re-raises it to the server.
    """
    page = InternalServerError()
    return Response(page.get_body(), status_code=500, headers=dict(page.get_headers()))


def _phrase(status_code: int) -> str:
    try:
        return HTTPStatus(status_code).phrase
    except ValueError:
        return ""


def flask_json(body: bytes, content_type: str | None) -> Any:
    """Flask's `request.get_json(silent=True)`: the parsed body, or None when the content
    type is not JSON (application/json, application/*+json) or the body does not parse."""
    mimetype = (content_type or "").partition(";")[0].strip().lower()
    is_json = mimetype == "application/json" or (
        mimetype.startswith("application/") and mimetype.endswith("+json")
    )
    if not is_json:
        return None
    try:
        return json.loads(body)
    except ValueError:  # JSONDecodeError, UnicodeDecodeError
        return None


@dataclass(frozen=True, slots=True)
class LegacyBodyErrors:
    """What a legacy view answered, with `abort(400, description)`, for a bad JSON body.

    `not_json` when the body is not a non-empty JSON object (`if not data or not
    isinstance(data, dict)`); else the message of the first invalid field, fields taken in
    the model's order, which must be the order the view checks them in; `missing`
    overrides a field's message when its key is absent.
    """

    not_json: str
    fields: Mapping[str, str]
    missing: Mapping[str, str] = field(default_factory=dict)

    def description(self, errors: Sequence[Any]) -> str:
        for error in errors:
            loc = tuple(error.get("loc", ()))
            name = loc[1] if len(loc) > 1 and loc[0] == "body" else None
            if name in self.fields:
                if error.get("type") == "missing" and name in self.missing:
                    return self.missing[name]
                return self.fields[name]
        return self.not_json


_LEGACY_ERRORS = "__legacy_body_errors__"


def legacy_body_errors(errors: LegacyBodyErrors) -> Callable[[Endpoint], Endpoint]:
    """Mark an endpoint of a router whose route_class is LegacyErrorsRoute."""

    def mark(endpoint: Endpoint) -> Endpoint:
        setattr(endpoint, _LEGACY_ERRORS, errors)
        return endpoint

    return mark


class LegacyErrorsRoute(APIRoute):
    """A route whose endpoint is marked with `@legacy_body_errors(...)` answers a bad JSON
    body with werkzeug's 400 page and the legacy view's description; other routes are
    plain APIRoutes."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        errors: LegacyBodyErrors | None = getattr(self.endpoint, _LEGACY_ERRORS, None)
        if errors is None:
            return handler

        async def legacy_handler(request: Request) -> Response:
            data = flask_json(await request.body(), request.headers.get("content-type"))
            if not data or not isinstance(data, dict):
                raise HTTPException(400, detail=errors.not_json)
            try:
                return await handler(request)
            except RequestValidationError as exc:
                raise HTTPException(400, detail=errors.description(exc.errors())) from None

        return legacy_handler
