"""ASGI and HTTP in one place: the message types, header lookup, the request's local
path, the sets of HTTP methods every part of routeshift shares, and the WSGI environ of
an ASGI request (the bridge's and the crossing's, one of them).

The types follow the ASGI spec loosely (starlette/types.py does the same): a message is
a plain dict, and an app is any awaitable callable of (scope, receive, send).
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from a2wsgi.wsgi import build_environ

__all__ = [
    "HTTP_METHODS",
    "IMPLICIT_METHODS",
    "SAFE_METHODS",
    "ASGIApp",
    "Headers",
    "Message",
    "Receive",
    "Scope",
    "Send",
    "header",
    "header_values",
    "local_path",
    "wsgi_environ",
]

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
#: raw header pairs, as a scope or an `http.response.start` message carries them
Headers = list[tuple[bytes, bytes]]

#: every method a registry entry or a case may name
HTTP_METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"}
)
#: methods a request may repeat without changing anything (RFC 9110 "safe")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: methods werkzeug adds to a rule by itself (HEAD for GET, OPTIONS for all)
IMPLICIT_METHODS = frozenset({"HEAD", "OPTIONS"})


def header_values(headers: Iterable[tuple[bytes, bytes]], name: bytes) -> list[bytes]:
    """Every value of header `name` (lower-case bytes, as ASGI gives names), in order."""
    return [value for key, value in headers if key == name]


def header(scope: Mapping[str, Any], name: bytes, default: bytes | None = None) -> bytes | None:
    """The first value of request header `name` (lower-case bytes), else `default`."""
    for key, value in scope.get("headers", ()):
        if key == name:
            return value  # type: ignore[no-any-return]
    return default


def local_path(scope: Mapping[str, Any]) -> str:
    """The request's path below the app's root_path (uvicorn --root-path puts it in
    `path` too), as the legacy Map and the gateway's own paths see it."""
    path: str = scope["path"]
    root_path = scope.get("root_path", "")
    if root_path and path.startswith(root_path):
        return path[len(root_path) :]
    return path


def wsgi_environ(scope: Mapping[str, Any], stream: Any) -> dict[str, Any]:
    """The WSGI environ of an ASGI request whose body `stream` gives: a2wsgi's
    `build_environ`, plus what a WSGI server sets and a2wsgi does not: the input is
    terminated (so a chunked body is read to its end, not by a Content-Length it lacks),
    errors go to stderr, RAW_URI / REQUEST_URI, and several Cookie headers joined with
    "; " as Flask reads them (an HTTP/2 client sends one per cookie)."""
    environ: dict[str, Any] = dict(build_environ(scope, stream))  # type: ignore[arg-type]
    environ["wsgi.input_terminated"] = True
    environ["wsgi.errors"] = sys.stderr
    raw_path = scope.get("raw_path") or scope["path"].encode("utf-8")
    query = scope.get("query_string", b"")
    raw_uri = raw_path + (b"?" + query if query else b"")
    environ["RAW_URI"] = environ["REQUEST_URI"] = raw_uri.decode("latin-1")
    cookies = header_values(scope.get("headers", ()), b"cookie")
    if len(cookies) > 1:
        environ["HTTP_COOKIE"] = "; ".join(c.decode("latin-1") for c in cookies)
    return environ
