"""The legacy error envelope: a port's errors answered by the legacy app's own handlers.

For a route whose registry entry has `error_format: legacy` (the default), an
HTTPException the port raises (FastAPI's or Starlette's, or werkzeug's from a legacy
helper's `abort()`) becomes werkzeug's exception of that status and goes through the
legacy app exactly as the view's `abort()` would: inside the request's legacy context,
`handle_user_exception` (so the blueprint's handler, or the app-wide
`app_errorhandler`, or werkzeug's default page answers, as Flask resolves them) and
`finalize_request` (`after_request` included). A request-validation error becomes the
view's own `abort(400, description)`: `@legacy_body_errors(...)` on the endpoint says
which text for which field, else it is a plain `BadRequest()`; one only in the path (a
path parameter FastAPI cannot convert) is the legacy 404, as werkzeug's converter
matches no rule there. An unhandled exception
is answered as if the view had raised it: the app's handler for its class, else its
500 (`handle_exception`), with the before_request hooks run first as in Flask.

Which format a request gets: the entry the gateway hands over in
`scope["state"]["routeshift_route"]`; when the modern app runs alone, the registry file's
entry for the legacy rule the request matches (`Legacy(registry=...)`, else
MIGRATION_STATUS, else ./migration_status.yaml); with neither, legacy. `error_format:
fastapi` keeps FastAPI's own answers (and the contract then needs them in `accept`).
"""

from __future__ import annotations

import functools
import inspect
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Literal, TypeVar

from fastapi.exception_handlers import (
    http_exception_handler,
    request_validation_exception_handler,
)
from fastapi.exceptions import RequestValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from werkzeug.exceptions import BadRequest, InternalServerError, NotFound, default_exceptions
from werkzeug.exceptions import HTTPException as WerkzeugHTTPException

from routeshift._asgi import Scope
from routeshift.compat.context import LegacyAnswered, flask_answer, to_starlette
from routeshift.compat.crossing import Crossing, crossing_of

__all__ = [
    "Envelope",
    "ErrorFormat",
    "LegacyBodyErrors",
    "body_errors_of",
    "legacy_body_errors",
    "to_werkzeug",
]

Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])
ErrorFormat = Literal["legacy", "fastapi"]
#: a request's error format: legacy or fastapi
FormatOf = Callable[[Request], ErrorFormat]

logger = logging.getLogger("routeshift.compat")

_MARK = "__routeshift_body_errors__"


@dataclass(frozen=True, slots=True)
class LegacyBodyErrors:
    """What a legacy view answered, with `abort(400, description)`, for a bad JSON body.

    `not_json` when the body is not a non-empty JSON object (the view's `if not data or
    not isinstance(data, dict)`); else the message of the first invalid field, fields
    taken in the model's order, which must be the order the view checks them in;
    `missing` overrides a field's message when its key is absent.
    """

    not_json: str
    fields: Mapping[str, str]
    missing: Mapping[str, str] = field(default_factory=dict)

    def description(self, errors: Sequence[Any], body: bytes, content_type: str | None) -> str:
        data = _flask_json(body, content_type)
        if not data or not isinstance(data, dict):
            return self.not_json
        for error in errors:
            loc = tuple(error.get("loc", ()))
            name = loc[1] if len(loc) > 1 and loc[0] == "body" else None
            if isinstance(name, str) and name in self.fields:
                if error.get("type") == "missing" and name in self.missing:
                    return self.missing[name]
                return self.fields[name]
        return self.not_json


def legacy_body_errors(errors: LegacyBodyErrors) -> Callable[[Endpoint], Endpoint]:
    """Mark an endpoint: its request-validation errors answer as the view's
    `abort(400, description)` with these texts.

    A body whose Content-Type is not JSON is one Flask's `get_json(silent=True)` reads
    as None, so the endpoint refuses it as a validation error (the `not_json` text)
    before it runs: FastAPI before 0.132 parses such a body as JSON anyway. The endpoint
    keeps its signature, with the request added for the check."""

    def mark(endpoint: Endpoint) -> Endpoint:
        checked = _json_only(endpoint)
        setattr(checked, _MARK, errors)
        return checked  # type: ignore[return-value]

    return mark


_REQUEST = "routeshift_request__"


def _json_only(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """`endpoint` refusing, as a validation error, a request whose Content-Type is not
    JSON; its signature (annotations evaluated in its own module) plus the request."""
    signature = inspect.signature(endpoint, eval_str=True)
    request = inspect.Parameter(_REQUEST, inspect.Parameter.KEYWORD_ONLY, annotation=Request)
    parameters = list(signature.parameters.values())
    keyword = [p for p in parameters if p.kind is inspect.Parameter.VAR_KEYWORD]
    others = [p for p in parameters if p.kind is not inspect.Parameter.VAR_KEYWORD]
    checked_signature = signature.replace(parameters=[*others, request, *keyword])

    def check(kwargs: dict[str, Any]) -> None:
        given = kwargs.pop(_REQUEST)
        if not _is_json(given.headers.get("content-type")):
            raise RequestValidationError(
                [{"type": "json_type", "loc": ("body",), "msg": "the body is not JSON"}]
            )

    if inspect.iscoroutinefunction(endpoint):

        @functools.wraps(endpoint)
        async def checked_async(*args: Any, **kwargs: Any) -> Any:
            check(kwargs)
            return await endpoint(*args, **kwargs)

        checked_async.__signature__ = checked_signature  # type: ignore[attr-defined]
        return checked_async

    @functools.wraps(endpoint)
    def checked_sync(*args: Any, **kwargs: Any) -> Any:
        check(kwargs)
        return endpoint(*args, **kwargs)

    checked_sync.__signature__ = checked_signature  # type: ignore[attr-defined]
    return checked_sync


def _is_json(content_type: str | None) -> bool:
    """Flask's `is_json`: application/json or application/*+json."""
    mimetype = (content_type or "").partition(";")[0].strip().lower()
    return mimetype == "application/json" or (
        mimetype.startswith("application/") and mimetype.endswith("+json")
    )


def body_errors_of(endpoint: Any) -> LegacyBodyErrors | None:
    """The texts `@legacy_body_errors` gave `endpoint`, or None."""
    errors = getattr(endpoint, _MARK, None)
    return errors if isinstance(errors, LegacyBodyErrors) else None


def _flask_json(body: bytes, content_type: str | None) -> Any:
    """`request.get_json(silent=True)`: the parsed body, or None when the content type
    is not JSON (application/json, application/*+json) or the body does not parse."""
    if not _is_json(content_type):
        return None
    try:
        return json.loads(body)
    except ValueError:  # JSONDecodeError, UnicodeDecodeError
        return None


def to_werkzeug(exc: HTTPException) -> WerkzeugHTTPException:
    """Starlette's HTTPException as werkzeug's of the same status: `detail` is the
    description, Starlette's default detail (the status phrase) stands for werkzeug's
    default description, so `raise HTTPException(404)` is `abort(404)`."""
    detail = exc.detail if isinstance(exc.detail, str) else None
    try:
        phrase = HTTPStatus(exc.status_code).phrase
    except ValueError:
        phrase = ""
    description = None if detail == phrase else detail
    werkzeug_class = default_exceptions.get(exc.status_code)
    if werkzeug_class is not None:
        return werkzeug_class(description=description)
    other = WerkzeugHTTPException(description=description)
    other.code = exc.status_code
    return other


class Envelope:
    """The exception handlers `Legacy.install` adds (see the module docstring)."""

    def __init__(self, format_of: FormatOf) -> None:
        self.format_of = format_of

    def handlers(self) -> dict[Any, Callable[[Request, Any], Any]]:
        return {
            LegacyAnswered: self.answered,
            HTTPException: self.http_error,
            WerkzeugHTTPException: self.werkzeug_error,
            RequestValidationError: self.validation_error,
        }

    async def answered(self, request: Request, exc: LegacyAnswered) -> Response:
        environ = crossing_of(request.scope).environ()
        return await run_in_threadpool(to_starlette, exc.response, environ)

    async def http_error(self, request: Request, exc: HTTPException) -> Response:
        if self.format_of(request) == "fastapi":
            return await http_exception_handler(request, exc)
        response = await self._legacy(request, to_werkzeug(exc))
        for name, value in (exc.headers or {}).items():
            if name.lower() not in response.headers:
                response.headers[name] = value
        return response

    async def werkzeug_error(self, request: Request, exc: WerkzeugHTTPException) -> Response:
        """werkzeug's exception, from a legacy helper's abort(): the legacy app's
        answer, or FastAPI's JSON of its description under error_format fastapi."""
        if self.format_of(request) == "fastapi":
            starlette_exc = HTTPException(exc.code or 500, exc.description)
            return await http_exception_handler(request, starlette_exc)
        return await self._legacy(request, exc)

    async def validation_error(self, request: Request, exc: RequestValidationError) -> Response:
        if self.format_of(request) == "fastapi":
            return await request_validation_exception_handler(request, exc)
        if exc.errors() and all(_in_path(error) for error in exc.errors()):
            return await self._legacy(request, NotFound())  # werkzeug's converter: no match
        errors = body_errors_of(request.scope.get("endpoint"))
        if errors is None:
            return await self._legacy(request, BadRequest())
        body = await request.body()
        text = errors.description(exc.errors(), body, request.headers.get("content-type"))
        return await self._legacy(request, BadRequest(description=text))

    async def unhandled(self, scope: Scope, exc: Exception) -> Response | None:
        """An exception no handler answered: the legacy app's answer to it, as if the
        view had raised it (the app's handler for its class, else its errorhandler(500),
        else werkzeug's page), which also logs it (`handle_exception`); the connection is
        kept, as a Flask server keeps it. None, so that Starlette answers its own 500 and
        the exception reaches the server: under error_format fastapi, and when the legacy
        app propagates exceptions (PROPAGATE_EXCEPTIONS, TESTING or DEBUG), as Flask then
        lets it reach its server. CrossingMiddleware calls it (Starlette's handler for
        `Exception` answers outside that middleware, and re-raises)."""
        request = Request(scope)
        if self.format_of(request) == "fastapi":
            return None
        try:
            return await self._legacy(request, exc)
        except Exception as failed:
            if failed is exc:  # Flask propagates it: on to the server
                return None
            logger.exception("the legacy app could not render the port's error %r", exc)
            page = InternalServerError()
            return Response(page.get_body(), status_code=500, headers=dict(page.get_headers()))

    async def _legacy(self, request: Request, exc: Exception) -> Response:
        """The legacy app's answer to `exc`, as if the view had raised it."""
        crossing = crossing_of(request.scope)
        return await run_in_threadpool(_legacy_answer, crossing, exc)


def _legacy_answer(crossing: Crossing, exc: Exception) -> Response:
    """The legacy app's answer to `exc` raised as the view of this request, read whole
    in the calling (worker) thread."""
    flask_response = flask_answer(crossing, _teed_body(crossing), _raiser(exc))
    return to_starlette(flask_response, crossing.environ())


def _teed_body(crossing: Crossing) -> bytes:
    """The body for the legacy app's error handlers: the teed one, else none (one the
    modern app did not read, or one over the body limit: an error page must not fail
    for the size of the request it refuses)."""
    return crossing.body() or b""


def _in_path(error: Any) -> bool:
    loc: Sequence[Any] = error.get("loc", ()) if isinstance(error, Mapping) else ()
    return bool(loc) and loc[0] == "path"


def _raiser(exc: BaseException) -> Callable[[], Any]:
    def work() -> Any:
        raise exc

    return work
