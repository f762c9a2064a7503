"""Canary cohorts: which requests of a canary route go to modern, the same way everywhere.

A cohort key names where a request's cohort value comes from: `header:NAME`,
`cookie:NAME` or `client` (the peer address). The bucket of a value is the first 8 bytes
of sha256(`endpoint|value`) as an integer, mod 10,000; a request goes to modern when its
bucket is below percent x 100. So every worker and every host agrees, GET and POST of one
endpoint agree, a client never flips back and forth, and raising the percent only adds
cohorts. A request without the value (no such header or cookie) falls back to its client
address.

`cookie:session` changes at login with Flask's signed session: prefer a header, or a
dedicated cookie that lives as long as the user.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from werkzeug.http import parse_cookie

from routeshift._asgi import header_values

__all__ = [
    "BUCKETS",
    "Cohort",
    "bucket",
    "goes_modern",
]

BUCKETS = 10_000
#: an HTTP token (RFC 9110): what a header or cookie name is made of
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


@dataclass(frozen=True, slots=True)
class Cohort:
    """Where the cohort value of a request comes from."""

    kind: Literal["client", "header", "cookie"]
    name: str = ""

    @classmethod
    def parse(cls, text: str) -> Cohort:
        """`client`, `header:NAME` or `cookie:NAME`; raises ValueError saying what is wrong."""
        kind, colon, name = text.strip().partition(":")
        name = name.strip()
        if kind == "client" and not colon:
            return cls("client")
        if kind in ("header", "cookie") and name:
            if not _TOKEN.fullmatch(name):
                raise ValueError(
                    f"cohort {text!r}: {name!r} is not a {kind} name (letters, digits and "
                    "!#$%&'*+-.^_`|~ only)."
                )
            return cls(kind, name.lower() if kind == "header" else name)  # type: ignore[arg-type]
        if kind in ("header", "cookie"):
            raise ValueError(f"cohort {text!r} names no {kind}: write {kind}:NAME.")
        raise ValueError(
            f"unknown cohort {text!r}: use client, header:NAME (e.g. header:X-User-Id) "
            "or cookie:NAME."
        )

    def value(self, scope: Mapping[str, Any]) -> str:
        """The request's cohort value; its client address when it has none."""
        if self.kind != "client":
            found = self._lookup(scope)
            if found:
                return found
        client = scope.get("client")
        return str(client[0]) if client else ""

    def _lookup(self, scope: Mapping[str, Any]) -> str | None:
        wanted = self.name.encode("latin-1") if self.kind == "header" else b"cookie"
        values = header_values(scope.get("headers", ()), wanted)
        if not values:
            return None
        if self.kind == "header":
            return b",".join(values).decode("latin-1")
        cookies = parse_cookie("; ".join(v.decode("latin-1") for v in values))
        return cookies.get(self.name)

    def __str__(self) -> str:
        return self.kind if self.kind == "client" else f"{self.kind}:{self.name}"


def bucket(endpoint: str, value: str) -> int:
    """The bucket (0-9,999) of a cohort value for one endpoint."""
    digest = hashlib.sha256(f"{endpoint}|{value}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def goes_modern(endpoint: str, value: str, percent: float) -> bool:
    """Whether the cohort `value` of `endpoint` is served by modern at `percent`."""
    return bucket(endpoint, value) < round(percent * BUCKETS / 100)
