"""One request's crossing: what a port shares with the legacy app while it answers.

`CrossingMiddleware` (installed on the modern app by `Legacy.install`) gives every HTTP
request a `Crossing`, kept in the scope and in a context variable for the request's
task (a context variable set before the handler is copied into the worker thread that
runs a sync handler, so `legacy_url_for` and `FlaskJSONResponse` find it there too):

- **the body, teed**: the request body as the modern app reads it is kept (up to a
  bound), so a legacy context built after FastAPI has parsed a form can still give
  Flask code (Flask-WTF's CSRF check) the bytes;
- **the session**: the legacy app's session, opened once with its own
  `session_interface` (`open_session`), shared by the session dependency and every
  legacy context of the request, and saved once with `save_session` when the response
  starts;
- **the cookies and Vary** that Flask wrote on the legacy responses a crossing made
  (`process_response` on a context's exit, a rendered error), added to the modern
  response when it starts: one Set-Cookie per cookie name, the last one written; and
  the other headers the after_request hooks added on a context's exit, where the
  modern response has none of that name.

Nothing here imports FastAPI: the middleware is plain ASGI.
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
from collections.abc import Awaitable, Callable, Iterable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from io import BytesIO
from typing import Any

from flask.sessions import SecureCookieSessionInterface

from routeshift._asgi import ASGIApp, Message, Receive, Scope, Send, wsgi_environ
from routeshift.errors import CrossingError

__all__ = [
    "BODY_LIMIT",
    "SCOPE_KEY",
    "SHADOW_ENVIRON_KEY",
    "Crossing",
    "CrossingMiddleware",
    "crossing_of",
    "current_crossing",
    "is_cookie_session",
    "is_shadow",
]

#: the scope key that holds the request's Crossing
SCOPE_KEY = "routeshift.crossing"
#: True in the WSGI environ of a legacy context built for a shadow copy
SHADOW_ENVIRON_KEY = "routeshift.shadow"
#: bytes of request body kept for legacy contexts (a larger body is an error there)
BODY_LIMIT = 1024 * 1024

_current: contextvars.ContextVar[Crossing] = contextvars.ContextVar("routeshift_crossing")

_NOT_INSTALLED = (
    "routeshift.compat is not installed on this modern app: call `legacy.install(app)` "
    "where the FastAPI app is built (legacy = routeshift.compat.Legacy(...))."
)


def is_shadow(scope: Mapping[str, Any]) -> bool:
    """True when the gateway runs this request as a shadow copy of a legacy one
    (`scope["state"]["routeshift_shadow"]`): a port's writes must not persist."""
    return bool((scope.get("state") or {}).get("routeshift_shadow"))


def current_crossing() -> Crossing:
    """The crossing of the request being answered; CrossingError outside of one."""
    try:
        return _current.get()
    except LookupError:
        raise CrossingError(_NOT_INSTALLED) from None


def crossing_of(scope: Mapping[str, Any]) -> Crossing:
    """The crossing of the request whose scope this is; CrossingError without one."""
    crossing = scope.get(SCOPE_KEY)
    if crossing is None:
        raise CrossingError(_NOT_INSTALLED)
    assert isinstance(crossing, Crossing)
    return crossing


@dataclass(eq=False)
class Crossing:
    """What one request shares with the legacy app (see the module docstring)."""

    flask_app: Any
    scope: Scope
    body_limit: int = BODY_LIMIT
    _body: bytearray = field(default_factory=bytearray)
    _body_complete: bool = False
    _body_over: bool = False
    _session: Any = None
    _session_lock: threading.Lock = field(default_factory=threading.Lock)
    #: cookie name -> the Set-Cookie value Flask wrote last
    _cookies: dict[str, str] = field(default_factory=dict)
    _vary: list[str] = field(default_factory=list)
    #: other headers after_request hooks added on a context's exit
    _added: dict[str, list[str]] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"Crossing({self.scope.get('method')} {self.scope.get('path')!r})"

    @property
    def is_shadow(self) -> bool:
        """True for the gateway's shadow copy of a legacy request."""
        return is_shadow(self.scope)

    # --- the body ---------------------------------------------------------------

    def feed(self, chunk: bytes, more: bool) -> None:
        """A piece of the request body as the modern app reads it."""
        if not self._body_over:
            if len(self._body) + len(chunk) > self.body_limit:
                self._body_over = True
                self._body.clear()
            else:
                self._body += chunk
        if not more:
            self._body_complete = True

    def body(self) -> bytes | None:
        """The whole body when the modern app has read it all and it is within the
        limit; None when it is not all read yet, or is over the limit (`body_over`)."""
        if not self._body_complete or self._body_over:
            return None
        return bytes(self._body)

    @property
    def body_complete(self) -> bool:
        return self._body_complete

    @property
    def body_over(self) -> bool:
        """The body is larger than the limit: a legacy context's Flask cannot read it."""
        return self._body_over

    # --- the environ ------------------------------------------------------------

    def environ(self, body: bytes | None = b"") -> dict[str, Any]:
        """The WSGI environ of this request (the one the gateway's bridge builds), with
        `routeshift.shadow` set for a shadow copy. `body` None: the body is over the
        limit, and Flask code that reads it gets a CrossingError saying so."""
        stream = BytesIO(body) if body is not None else _OverLimit(self.body_limit)
        environ = wsgi_environ(self.scope, stream)
        environ[SHADOW_ENVIRON_KEY] = self.is_shadow
        return environ

    # --- the session ------------------------------------------------------------

    def session(self) -> Any:
        """The legacy app's session of this request, opened on first use with the app's
        own session_interface (its NullSession when it opens none, as Flask does)."""
        with self._session_lock:
            if self._session is None:
                app = self.flask_app
                interface = app.session_interface
                request = app.request_class(self.environ())
                with _app_context_for(app):
                    opened = interface.open_session(app, request)
                    if opened is None:
                        opened = interface.make_null_session(app)
                self._session = opened
            return self._session

    @property
    def session_opened(self) -> bool:
        return self._session is not None

    def save_session(self) -> None:
        """Write the session as Flask would at the end of this request: the app's own
        save_session on a scratch response, whose cookie and Vary are kept."""
        session = self._session
        app = self.flask_app
        interface = app.session_interface
        if session is None or interface.is_null_session(session):
            return
        scratch = app.response_class()
        with _app_context_for(app):
            interface.save_session(app, session, scratch)
        self.absorb(scratch)

    # --- what Flask wrote -------------------------------------------------------

    def absorb(self, flask_response: Any, *, added: bool = False) -> None:
        """Take the Set-Cookie and Vary headers out of a Flask response, to be added to
        the modern response when it starts (the last cookie of a name wins). `added`:
        the response is a scratch one that after_request hooks wrote on, and the other
        headers they added (a CORS or security header) go to the modern response too,
        where it has none of that name.

        Every response absorbed is one Flask's `process_response` saved the session on;
        the session's `accessed` is set back to what that save saw (see
        `_accessed_as_saved`), so the next save adds no Vary the first did not."""
        headers = flask_response.headers
        self._accessed_as_saved(headers)
        if added:
            blank = {name.lower() for name in self.flask_app.response_class().headers.keys()}
            found: dict[str, list[str]] = {}
            for name, value in headers.items():
                lowered = name.lower()
                if lowered not in blank and lowered not in {"set-cookie", "vary"}:
                    found.setdefault(lowered, []).append(value)
            self._added.update(found)  # a later context's values of a name replace these
        for value in headers.getlist("Set-Cookie"):
            self._cookies[_cookie_name(value)] = value
        for value in headers.getlist("Vary"):
            for item in value.split(","):
                item = item.strip()
                if item and item.lower() not in {v.lower() for v in self._vary}:
                    self._vary.append(item)
        headers.remove("Set-Cookie")
        headers.remove("Vary")

    def _accessed_as_saved(self, headers: Any) -> None:
        """Flask's own save_session adds `Vary: Cookie` first when the session was
        accessed, then reads `session.permanent`, which before Flask 3.1 marks the
        session accessed: harmless in Flask, which saves once, but each legacy context
        of a crossing saves, and the next save would see an access no code made. The
        save's Vary says what it saw."""
        session = self._session
        if session is None or not is_cookie_session(self.flask_app):
            return
        if self.flask_app.session_interface.is_null_session(session):
            return
        varies = {item.strip().lower() for v in headers.getlist("Vary") for item in v.split(",")}
        session.accessed = "cookie" in varies

    def _rewritten(self, set_cookie: bytes) -> bool:
        """The crossing has a later Set-Cookie of this cookie's name."""
        return _cookie_name(set_cookie.decode("latin-1")) in self._cookies

    def headers(self, existing: Iterable[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
        """`existing` response headers with the crossing's cookies and Vary merged in."""
        if not self._cookies and not self._vary and not self._added:
            return list(existing)
        merged: list[tuple[bytes, bytes]] = []
        vary: list[str] = []
        for name, value in existing:
            lowered = name.lower()
            if lowered == b"vary":
                vary.extend(v.strip() for v in value.decode("latin-1").split(",") if v.strip())
            elif (
                lowered == b"set-cookie" and _cookie_name(value.decode("latin-1")) in self._cookies
            ):
                continue  # the crossing wrote this cookie later
            else:
                merged.append((name, value))
        present = {name.lower() for name, _ in merged}
        merged.extend(
            (name.encode("latin-1"), value.encode("latin-1"))
            for name, values in self._added.items()
            if name.encode("latin-1") not in present
            for value in values
        )
        merged.extend((b"set-cookie", v.encode("latin-1")) for v in self._cookies.values())
        for item in self._vary:
            if item.lower() not in {v.lower() for v in vary}:
                vary.append(item)
        if vary:
            merged.append((b"vary", ", ".join(vary).encode("latin-1")))
        return merged


class _OverLimit:
    """The WSGI input of a body over the limit: reading it is the error, so a view that
    never reads the body (a guard, an upload the port stores itself) is not refused."""

    def __init__(self, limit: int) -> None:
        self.limit = limit

    def _refuse(self, *args: Any) -> Any:
        raise CrossingError(
            f"the request body is larger than the {self.limit:,} bytes a legacy context "
            "keeps for Flask; raise `Legacy(..., body_limit=N)` if its views must read "
            "bodies this large."
        )

    read = readline = readlines = __iter__ = _refuse


def is_cookie_session(flask_app: Any) -> bool:
    """The app keeps Flask's own signed-cookie sessions: they open and save without I/O
    and without an app context."""
    return type(flask_app.session_interface) is SecureCookieSessionInterface


def _app_context_for(app: Any) -> AbstractContextManager[Any]:
    """An app context for a custom session interface (Flask-Session's may use
    `current_app`); none for Flask's own, whose teardown hooks need not run twice."""
    if is_cookie_session(app):
        return contextlib.nullcontext()
    return app.app_context()  # type: ignore[no-any-return]


def _cookie_name(set_cookie: str) -> str:
    """The name of the cookie a Set-Cookie value sets, parsed as RFC 6265 (5.2) says a
    user agent parses it: the text before the first "=" of the part before the first
    ";", whitespace trimmed. (http.cookies refuses names browsers take, and costs a
    request tens of microseconds.)"""
    return set_cookie.partition(";")[0].partition("=")[0].strip()


Finisher = Callable[[Crossing], Awaitable[None]]
#: the answer to an exception no handler answered, or None to let it go on
Unhandled = Callable[[Scope, Exception], Awaitable[ASGIApp | None]]


class CrossingMiddleware:
    """Plain ASGI middleware: a Crossing per HTTP request, the body teed into it, the
    session saved and Flask's cookies and Vary added when the response starts."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        flask_app: Callable[[], Any],
        body_limit: int,
        save: Finisher,
        unhandled: Unhandled | None = None,
    ) -> None:
        self.app = app
        self.flask_app = flask_app
        self.body_limit = body_limit
        self.save = save
        self.unhandled = unhandled

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        crossing = Crossing(self.flask_app(), scope, self.body_limit)
        scope[SCOPE_KEY] = crossing
        token = _current.set(crossing)

        async def teed_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                crossing.feed(message.get("body", b""), message.get("more_body", False))
            return message

        started = False

        async def finishing_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                if crossing.session_opened:
                    await self.save(crossing)
                headers = crossing.headers(message.get("headers", ()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            try:
                await self.app(scope, teed_receive, finishing_send)
            except Exception as exc:
                # what no exception handler answered: the legacy app's 500 (the error
                # envelope), sent through the crossing; else on to the server error page
                answer = (
                    None if started or self.unhandled is None else await self.unhandled(scope, exc)
                )
                if answer is None:
                    raise
                await answer(scope, teed_receive, finishing_send)
        finally:
            _current.reset(token)
