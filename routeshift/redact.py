"""What is never stored: credentials and the fields `settings.redact` names.

Pure: no I/O. A `Redactor` replaces sensitive values with "[redacted]" in headers, a
query string, a body (JSON and form bodies are parsed and written back; other types are
kept as they are) and a `compare.Difference`.

Always redacted: the headers Authorization, Proxy-Authorization, Cookie and Set-Cookie.
Each extra entry is either a name or a JSON pointer:

    password        a header, query parameter, form field or JSON object key (anywhere in
                    a body) of that name; names are case-insensitive
    /card/number    a place in a JSON body (RFC 6901; `*` stands for any one key or index,
                    as in `ignore`): that value, whatever it holds, is redacted
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import unquote_plus

from routeshift.compare import (
    MISSING,
    Difference,
    check_pointer,
    content_type_key,
    escape,
    pointer_matches,
)

REDACTED = "[redacted]"

#: headers that carry credentials: redacted whatever `settings.redact` says
ALWAYS_REDACTED_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie"}
)

FORM = "application/x-www-form-urlencoded"


class Redactor:
    """Redacts the credentials headers plus every name and pointer in `extra`."""

    __slots__ = ("_key_pattern", "_pair_pattern", "headers_redacted", "names", "pointers")

    def __init__(self, extra: Iterable[str] = ()) -> None:
        entries = [entry.strip() for entry in extra if entry.strip()]
        #: JSON pointers into bodies
        self.pointers: tuple[str, ...] = tuple(
            check_pointer(entry) for entry in entries if entry.startswith("/")
        )
        #: names (lower-case) redacted as headers, parameters, fields and JSON keys
        self.names: frozenset[str] = frozenset(
            entry.lower() for entry in entries if not entry.startswith("/")
        )
        self.headers_redacted: frozenset[str] = ALWAYS_REDACTED_HEADERS | self.names
        alternatives = "|".join(re.escape(name) for name in sorted(self.names))
        # in text that could not be parsed: "name": value, and name=value
        self._key_pattern = (
            re.compile(
                rf'("(?:{alternatives})"\s*:\s*)("(?:[^"\\]|\\.)*"?|[^,}}\]\s]*)', re.IGNORECASE
            )
            if self.names
            else None
        )
        self._pair_pattern = (
            re.compile(rf"(?<![\w.-])((?:{alternatives})=)([^&\s]*)", re.IGNORECASE)
            if self.names
            else None
        )

    def __repr__(self) -> str:
        extra = sorted(self.names) + list(self.pointers)
        return f"Redactor({extra!r})"

    # --- headers and query strings -------------------------------------------------------

    def header_is_sensitive(self, name: str) -> bool:
        return name.lower() in self.headers_redacted

    def headers(self, headers: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
        """Sensitive headers' values redacted; a Location's query string redacted too."""
        redacted = []
        for name, value in headers:
            if self.header_is_sensitive(name):
                value = REDACTED
            elif name.lower() == "location":
                value = self.url(value)
            redacted.append((name, value))
        return tuple(redacted)

    def query(self, query: str) -> str:
        """A query string (without '?') with the values of the named parameters redacted;
        everything else is kept byte for byte."""
        if not self.names or not query:
            return query
        parts = []
        for part in query.split("&"):
            raw_name, equals, _ = part.partition("=")
            if unquote_plus(raw_name).strip().lower() in self.names:
                part = f"{raw_name}={REDACTED}" if equals else part
            parts.append(part)
        return "&".join(parts)

    def url(self, url: str) -> str:
        """A URL or path with its query string redacted."""
        head, mark, rest = url.partition("?")
        if not mark:
            return url
        query, hash_mark, fragment = rest.partition("#")
        return f"{head}?{self.query(query)}{hash_mark}{fragment}"

    # --- bodies ----------------------------------------------------------------------------

    def body(self, body: bytes, content_type: str) -> bytes:
        """A body redacted by its content type: JSON and form bodies parsed and written
        back (unchanged bytes when nothing was redacted), other types as they are.

        A JSON body that does not parse (cut short, malformed) has the named keys'
        values redacted in its text.
        """
        media = content_type_key(content_type)[0] if content_type else ""
        if not body or not (self.names or self.pointers):
            return body
        if media == "application/json" or media.endswith("+json"):
            return self._json_body(body)
        if media == FORM:
            return self.query(body.decode("latin-1")).encode("latin-1")
        return body

    def _json_body(self, body: bytes) -> bytes:
        try:
            document = json.loads(body)
        except ValueError:
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                return body
            return self.text(text).encode("utf-8")
        redacted = self.json(document)
        if redacted == document:
            return body
        return json.dumps(redacted, ensure_ascii=False).encode("utf-8")

    def json(self, value: Any, pointer: str = "") -> Any:
        """A JSON value (found at `pointer` in its document) with the named keys and the
        places the pointers name redacted, at any depth."""
        if pointer and any(pointer_matches(pattern, pointer) for pattern in self.pointers):
            return REDACTED
        if isinstance(value, Mapping):
            return {
                key: REDACTED
                if isinstance(key, str) and key.lower() in self.names
                else self.json(item, f"{pointer}/{escape(str(key))}")
                for key, item in value.items()
            }
        if isinstance(value, list | tuple):
            return [self.json(item, f"{pointer}/{index}") for index, item in enumerate(value)]
        return value

    def text(self, text: str) -> str:
        """Free text (a body that could not be parsed, an excerpt): the values of
        `"name": value` and `name=value` for each name redacted."""
        if self._key_pattern is None or self._pair_pattern is None:
            return text
        text = self._key_pattern.sub(rf'\1"{REDACTED}"', text)
        return self._pair_pattern.sub(rf"\1{REDACTED}", text)

    # --- differences -----------------------------------------------------------------------

    def place_is_sensitive(self, where: str) -> bool:
        """Whether a difference's place (status, header:NAME, body, a JSON pointer) is
        redacted as a whole."""
        if where.startswith("header:"):
            name, _, cookie = where[7:].partition(":")
            if name.lower() == "set-cookie" and cookie:
                return cookie.lower() in self.names
            return self.header_is_sensitive(name)
        if where.startswith("/"):
            tokens = [t.replace("~1", "/").replace("~0", "~") for t in where.split("/")[1:]]
            return any(token.lower() in self.names for token in tokens) or any(
                pointer_matches(pattern, where) for pattern in self.pointers
            )
        return False

    def difference(self, difference: Difference) -> Difference:
        """Both values redacted when the place is sensitive (a missing value stays
        missing: that it is missing tells nothing), else redacted inside.

        A Set-Cookie difference (`header:set-cookie:NAME`) holds the cookie's attributes
        only (compare never keeps a cookie's value), so it is kept.
        """
        where = difference.where
        if self.place_is_sensitive(where):
            return Difference(where, _hide(difference.legacy), _hide(difference.modern))
        if where.startswith("header:set-cookie:"):
            return difference
        base = where if where.startswith("/") else ""
        return Difference(
            where, self._value(difference.legacy, base), self._value(difference.modern, base)
        )

    def _value(self, value: Any, pointer: str) -> Any:
        if value is MISSING:
            return value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            return [self.text(item) for item in value]
        return self.json(value, pointer)


def _hide(value: Any) -> Any:
    return value if value is MISSING else REDACTED
