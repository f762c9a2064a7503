"""The legacy context: a port's code run inside the legacy app's own request context.

A `LegacyContext` pushes the legacy app's app context and a request context built from
the ASGI request (a2wsgi's environ: method, path, root path, headers, cookies, query,
and the body the modern app read), and runs the request the way Flask's
`full_dispatch_request` does around a view:

- on entry: `request_started`, the app's and blueprint's `before_request` hooks
  (`preprocess_request`), then the guards the context was given (a view decorator
  such as `login_required`, run around an empty view). A response one of them gives,
  or an `abort()` it raises, ends the request there: `LegacyAnswered` carries Flask's
  finished response (error handlers, `after_request` included), which
  `Legacy.install`'s exception handler sends;
- inside: `current_app`, `g`, `request`, `session`, `url_for`, Flask-Login's
  `current_user`, Flask-SQLAlchemy's `db.session`, the app's helpers and model methods
  work as in a view;
- on exit: `process_response` on a scratch response (`after_request` hooks: Flask-Login
  refreshes its remember cookie there) whose Set-Cookie and Vary, and any other
  header the hooks added, go to the modern response, `request_finished`, and always
  the teardown (`teardown_request`, `teardown_appcontext`: Flask-SQLAlchemy removes
  its session).

Push and pop happen in one thread: `with ctx:` in a sync handler, `await ctx.run(fn)`
from an async one. It is never a `yield` dependency: FastAPI runs those in another
thread than the handler, and a Flask context pushed there is not the handler's.

Limits: each `with ctx:` runs the before_request hooks again (a guard dependency and
the handler's own `with ctx:` run them twice); `flask.stream_with_context` and
`copy_current_request_context` outlive nothing here; Flask's `request.files` and
`request.form` are parsed from the teed body, bounded by `Legacy(body_limit=...)`.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, ParamSpec, TypeVar

from fastapi.exceptions import RequestValidationError
from flask import request_finished, request_started
from flask.ctx import RequestContext
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from werkzeug.exceptions import HTTPException as WerkzeugHTTPException

from routeshift.compat.crossing import Crossing

__all__ = [
    "HANDLED",
    "Guard",
    "LegacyAnswered",
    "LegacyContext",
    "flask_answer",
    "request_context_of",
    "to_starlette",
]

P = ParamSpec("P")
T = TypeVar("T")

#: a view decorator: takes a view function, gives the guarded view
Guard = Callable[[Callable[..., Any]], Callable[..., Any]]


class LegacyAnswered(Exception):  # noqa: N818 - a signal carrying a response, not an error
    """The legacy app answered the request itself (a before_request hook or a guard
    gave a response or aborted): `response` is Flask's finished response, which the
    exception handler `Legacy.install` adds sends as it is."""

    def __init__(self, response: Any) -> None:
        self.response = response
        super().__init__(f"the legacy app answered {response.status}")


#: what leaves a `with ctx:` as an answer, not a failure: rendered by the error envelope
#: (or FastAPI), as Flask's error handlers answer a view's abort()
HANDLED = (
    LegacyAnswered,
    StarletteHTTPException,
    WerkzeugHTTPException,
    RequestValidationError,
)


class _Passed:
    """What the empty view behind a guard returns: the guard let the request through."""

    __slots__ = ()


_PASSED = _Passed()


def _passed() -> _Passed:
    return _PASSED


class LegacyContext:
    """The legacy app's context of one request, entered with `with ctx:` in one thread
    (or `await ctx.run(fn, ...)`); see the module docstring."""

    def __init__(
        self, crossing: Crossing, body: bytes | None, guards: Sequence[Guard] = ()
    ) -> None:
        self.crossing = crossing
        self.body = body
        self.guards = tuple(guards)
        # the contexts this object pushed, per thread: `ctx.run` calls may overlap
        self._local = threading.local()

    def __repr__(self) -> str:
        scope = self.crossing.scope
        return f"LegacyContext({scope.get('method')} {scope.get('path')!r})"

    @property
    def flask_app(self) -> Any:
        return self.crossing.flask_app

    def environ(self) -> dict[str, Any]:
        """A fresh WSGI environ of the request (its input positioned at the start)."""
        return self.crossing.environ(self.body)

    def __enter__(self) -> LegacyContext:
        app = self.flask_app
        request_context = request_context_of(self.crossing, self.body)
        request_context.push()
        self._stack().append(request_context)
        try:
            rv = _before(app, self.guards)
        except BaseException as exc:
            self._pop(exc)
            raise
        if rv is not None:
            try:
                response = app.finalize_request(rv)
                self.crossing.absorb(response)
            except BaseException as exc:
                self._pop(exc)
                raise
            self._pop(None)
            raise LegacyAnswered(response)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        app = self.flask_app
        try:
            if exc is None:
                response = app.process_response(app.response_class())
                request_finished.send(app, response=response)
                self.crossing.absorb(response, added=True)
        finally:
            # Flask's teardown sees an exception its error handlers answered as none
            self._pop(None if isinstance(exc, HANDLED) else exc)

    def _stack(self) -> list[Any]:
        stack: list[Any] | None = getattr(self._local, "stack", None)
        if stack is None:
            stack = self._local.stack = []
        return stack

    def _pop(self, exc: BaseException | None) -> None:
        self._stack().pop().pop(exc)

    def call(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """`fn(*args, **kwargs)` inside the context, in the calling thread."""
        with self:
            return fn(*args, **kwargs)

    async def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """`fn(*args, **kwargs)` inside the context, pushed, run and popped in one
        worker thread: for async handlers."""
        return await run_in_threadpool(functools.partial(self.call, fn, *args, **kwargs))

    def check(self) -> None:
        """The before_request hooks and the guards, then the teardown (no after_request:
        the handler's own `with ctx:` runs those): refuses with LegacyAnswered."""
        self.__enter__()
        self._pop(None)


def _before(app: Any, guards: Sequence[Guard]) -> Any:
    """full_dispatch_request's beginning: request_started, the before_request hooks, then
    each guard around an empty view. A value, or what an exception becomes through the
    app's error handlers, is the legacy app's answer; None lets the request through."""
    try:
        request_started.send(app)
        rv = app.preprocess_request()
        if rv is not None:
            return rv
        for guard in guards:
            rv = app.ensure_sync(guard(_passed))()
            if rv is not _PASSED:
                return rv
        return None
    except Exception as exc:
        return app.handle_user_exception(exc)


def request_context_of(crossing: Crossing, body: bytes | None) -> Any:
    """A Flask request context of the crossing's request (not pushed), holding the
    crossing's session, so every context of a request shares one session."""
    return RequestContext(crossing.flask_app, crossing.environ(body), session=crossing.session())


def flask_answer(crossing: Crossing, body: bytes | None, work: Callable[[], Any]) -> Any:
    """Flask's finished response for `work()` run as the view of this request, as
    `wsgi_app` and `full_dispatch_request` make it: the hooks first (their answer wins),
    the value or what `work` raised through the app's error handlers
    (`handle_user_exception`: a handler for the exception's code or class), what they
    cannot handle through `handle_exception` (the app's 500), then `finalize_request`.
    The response's cookies and Vary go to the crossing. Runs in the calling thread."""
    app = crossing.flask_app
    request_context = request_context_of(crossing, body)
    request_context.push()
    error: BaseException | None = None
    try:
        try:
            try:
                rv = _before(app, ())
                if rv is None:
                    rv = work()
            except Exception as exc:
                rv = app.handle_user_exception(exc)
            response = app.finalize_request(rv)
        except Exception as exc:
            error = exc
            response = app.handle_exception(exc)
        crossing.absorb(response)
        return response
    except BaseException as exc:
        error = exc
        raise
    finally:
        request_context.pop(error)


#: statuses whose answers have no body (werkzeug's get_app_iter sends none for them)
_NO_BODY = frozenset({204, 304})


def to_starlette(flask_response: Any, environ: Mapping[str, Any] | None = None) -> Response:
    """A Flask (werkzeug) response as a Starlette one, read as a WSGI server reads it:
    `get_wsgi_response(environ)` (the request's environ; a GET by default), so a
    streamed body, a file sent with `send_file` (direct passthrough) and a HEAD or 304
    without a body come out as they would from Flask, then the response is closed (its
    `call_on_close` callbacks run). The body is read whole: Content-Length is its
    length."""
    environ = dict(environ) if environ is not None else {"REQUEST_METHOD": "GET"}
    app_iter, _, wsgi_headers = flask_response.get_wsgi_response(environ)
    try:
        body = b"".join(app_iter)
    finally:
        if app_iter is flask_response.response:  # direct passthrough: not wrapped
            flask_response.close()
        elif hasattr(app_iter, "close"):
            app_iter.close()  # ClosingIterator: closes the response
    status = flask_response.status_code
    keeps_length = (
        environ.get("REQUEST_METHOD") == "HEAD" or status in _NO_BODY or 100 <= status < 200
    )
    headers = [
        (name.lower().encode("latin-1"), value.encode("latin-1"))
        for name, value in wsgi_headers
        if keeps_length or name.lower() != "content-length"
    ]
    if not keeps_length:
        headers.append((b"content-length", str(len(body)).encode("latin-1")))
    response = Response(body, status_code=status)
    response.raw_headers = headers
    return response
