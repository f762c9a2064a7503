"""ASGI and HTTP in one place: the message types, header lookup, the request's local
path and the sets of HTTP methods every part of routeshift shares.

The types follow the ASGI spec loosely (starlette/types.py does the same): a message is
a plain dict, and an app is any awaitable callable of (scope, receive, send).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

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
