"""What is never stored: credentials and the fields `settings.redact` names.

Pure: no I/O. A `Redactor` replaces sensitive values with "[redacted]" in headers, a
query string, a body, a `compare.Difference` and an error message.

Always redacted: the headers Authorization, Proxy-Authorization, Cookie and Set-Cookie.
Each extra entry is either a name or a JSON pointer:

    password        a header, query parameter, form or multipart field or JSON object key
                    (anywhere in a body) of that name, and `name=value` or
                    `"name": value` in any other text; names are case-insensitive
    /card/number    a place in a JSON body (RFC 6901; `*` stands for any one key or index,
                    as in `ignore`): that value, whatever it holds, is redacted

Bodies are judged by what they hold, not by the type they declare (a legacy view may send
JSON as text/html): JSON is parsed and written back, multipart/form-data is parsed part
by part, any other UTF-8 text has the named parameters and keys redacted in its text.
What cannot be redacted reliably is never kept, only a note of its size and type: a body
that is not UTF-8 text, multipart that does not parse, and text that is not JSON where a
pointer could apply (it holds the pointer's last key). Header values lose the named
parameters of their query strings and text.

An error message ("TypeName: message") keeps its type name; the message keeps only what
`Redactor.error` leaves of it (see there): exceptions quote the values that broke them.
"""

from __future__ import annotations

import email.policy
import json
import re
import unicodedata
from collections.abc import Iterable, Mapping
from email.message import Message
from email.parser import BytesParser
from email.utils import collapse_rfc2231_value
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

__all__ = [
    "ALWAYS_REDACTED_HEADERS",
    "FORM",
    "REDACTED",
    "Redactor",
    "printable",
]

REDACTED = "[redacted]"

#: headers that carry credentials: redacted whatever `settings.redact` says
ALWAYS_REDACTED_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie"}
)

FORM = "application/x-www-form-urlencoded"

#: a value `text` redacted already (in a URL's query string): left alone
_DONE = re.escape(REDACTED) + r'(?:[&\s<>"#]|$)'
#: a body that looks like a form: name=value pairs joined by '&', nothing else
_FORM_LIKE = re.compile(r"[^\s=&]+=[^\s&]*(?:&[^\s=&]*(?:=[^\s&]*)?)*")

# --- in error messages -------------------------------------------------------------------
#: the type name an error starts with ("ValueError: ...", "httpx.ReadTimeout: ...")
_ERROR_TYPE = re.compile(r"([A-Za-z_][\w.]*):(?: +|$)")
#: a quoted literal: 'x', "x" or `x`, the opening quote not inside a word ("app's")
_QUOTED = re.compile(r"""(?<!\w)(?:'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"|`[^`\n]*`)(?!\w)""")
#: pydantic's report of the value it refused: input_value=... up to input_type
_INPUT_VALUE = re.compile(r"(input_value=)(.*?)(?=, input_type=|$)", re.MULTILINE)
#: six digits or more: card, account and phone numbers, ids
_LONG_NUMBER = re.compile(r"\d{6,}")
#: a token of 20 characters or more mixing letters and digits: keys, session ids, JWTs
_LONG_TOKEN = re.compile(
    r"(?<![\w+/=.-])(?=[\w+/=.-]*\d)(?=[\w+/=.-]*[A-Za-z])[\w+/=.-]{20,}(?![\w+/=.-])"
)


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
        # in text that could not be parsed: "name": value ('name': value), and name=value
        self._key_pattern = (
            re.compile(
                rf"""(["'](?:{alternatives})["']\s*:\s*)"""
                rf"""("(?:[^"\\]|\\.)*"?|'(?:[^'\\]|\\.)*'?|[^,}}\]\s]*)""",
                re.IGNORECASE,
            )
            if self.names
            else None
        )
        self._pair_pattern = (
            re.compile(
                rf"(?<![\w.-])((?:{alternatives})=)(?!{_DONE})([^&\s]*)",
                re.IGNORECASE,
            )
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
        """Sensitive headers' values redacted; in every other value, the named
        parameters of a query string (Location, Referer, Link ...) and of its text."""
        return tuple((name, self.header_value(name, value)) for name, value in headers)

    def header_value(self, name: str, value: str) -> str:
        if self.header_is_sensitive(name):
            return REDACTED
        return self.text(self.url(value))

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
        """A URL or path (or text holding one) with its query string redacted; the query
        ends at '#', white space, '<', '>' or '"'."""
        head, mark, rest = url.partition("?")
        if not mark:
            return url
        query, after = _split_query(rest)
        return f"{head}?{self.query(query)}{after}"

    # --- bodies ----------------------------------------------------------------------------

    def body(self, body: bytes, content_type: str) -> bytes:
        """A body as it may be stored, whatever type it declares: JSON parsed and written
        back (unchanged bytes when nothing was redacted), multipart/form-data part by
        part, other UTF-8 text redacted in its text (as a form too when it looks like
        one). A note (size, type) instead of a body that is not UTF-8 text, multipart
        that does not parse, or text where a pointer could apply."""
        media = content_type_key(content_type)[0] if content_type else ""
        if not body:
            return body
        if media.startswith("multipart/"):
            return self._multipart(body, content_type)
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return _note(body, media, "not UTF-8 text")
        if not (self.names or self.pointers):
            return body
        redacted = self.text_body(text, form=media == FORM)
        if redacted is None:
            return _note(body, media, "not JSON, and a redact pointer could apply to it")
        return body if redacted == text else redacted.encode("utf-8")

    def text_body(self, text: str, *, form: bool = False) -> str | None:
        """A body's text (or an excerpt) redacted: JSON parsed and written back, a form
        (or text that looks like one) by parameter, any text by `text`. None when it is
        not JSON and a pointer could apply: it cannot be redacted reliably."""
        try:
            document = json.loads(text)
        except ValueError:
            pass
        else:
            redacted = self.json(document)
            return text if redacted == document else json.dumps(redacted, ensure_ascii=False)
        if self.pointer_could_apply(text):
            return None
        if form or _FORM_LIKE.fullmatch(text.strip()):
            text = self.query(text)
        return self.text(text)

    def pointer_could_apply(self, text: str) -> bool:
        """Whether a pointer could name a value in `text` that did not parse: its last
        key (the last token that is neither `*` nor an index) is in it, case aside, or
        the pointer has no such key, or the text escapes characters (\\u...)."""
        if not self.pointers:
            return False
        folded = text.lower()
        if "\\u" in folded:
            return True
        for pointer in self.pointers:
            keys = [token for token in _tokens(pointer) if token != "*" and not token.isdigit()]
            if not keys or keys[-1].lower() in folded:
                return True
        return False

    def _multipart(self, body: bytes, content_type: str) -> bytes:
        """Multipart parsed with the stdlib's email parser: a named field's value
        redacted, every other part redacted as a body of its own type."""
        head = f"Content-Type: {content_type}\r\n\r\n".encode("utf-8", errors="replace")
        message = BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
        boundary = message.get_boundary()
        parts = message.get_payload() if message.is_multipart() else None
        if message.defects or boundary is None or not isinstance(parts, list) or not parts:
            return _note(body, content_type_key(content_type)[0], "multipart that does not parse")
        lines: list[str] = []
        for part in parts:
            assert isinstance(part, Message)
            lines.append(f"--{boundary}")
            lines += [f"{name}: {value}" for name, value in self.headers(part.items())]
            lines += ["", self._part(part)]
        lines.append(f"--{boundary}--")
        return "\r\n".join(lines).encode("utf-8")

    def _part(self, part: Message) -> str:
        name = part.get_param("name", header="content-disposition")
        if name is not None and collapse_rfc2231_value(name).lower() in self.names:
            return REDACTED
        if part.is_multipart():
            return "[nested multipart: not stored]"
        payload = part.get_payload(decode=True)
        content = payload if isinstance(payload, bytes) else b""
        return self.body(content, part.get_content_type()).decode("utf-8")

    def json(self, value: Any, pointer: str = "") -> Any:
        """A JSON value (found at `pointer` in its document) with the named keys and the
        places the pointers name redacted, at any depth, and strings redacted by `text`."""
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
        if isinstance(value, str):
            return self.text(value)
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
            tokens = _tokens(where)
            return any(token.lower() in self.names for token in tokens) or any(
                pointer_matches(pattern, where) for pattern in self.pointers
            )
        return False

    def difference(self, difference: Difference) -> Difference:
        """Both values redacted when the place is sensitive (a missing value stays
        missing: that it is missing tells nothing), else redacted inside: JSON values by
        name and pointer, a header's text as a header value, a text body's excerpt as a
        body ("[redacted]" as a whole when a pointer could apply to it).

        A Set-Cookie difference (`header:set-cookie:NAME`) holds the cookie's attributes
        only (compare never keeps a cookie's value), so it is kept.
        """
        where = difference.where
        if self.place_is_sensitive(where):
            return Difference(where, _hide(difference.legacy), _hide(difference.modern))
        if where.startswith("header:set-cookie:"):
            return difference
        return Difference(
            where, self._value(difference.legacy, where), self._value(difference.modern, where)
        )

    def _value(self, value: Any, where: str) -> Any:
        if value is MISSING:
            return value
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            return [self._value(item, where) for item in value]
        if isinstance(value, str) and where.startswith("header:"):
            return self.header_value(where[7:], value)
        if isinstance(value, str) and where == "body":
            redacted = self.text_body(value)
            return REDACTED if redacted is None else redacted
        return self.json(value, where if where.startswith("/") else "")

    # --- error messages ------------------------------------------------------------------

    def error(self, text: str) -> str:
        """An error message as it may be stored or logged, on one line.

        "TypeName: message" keeps its type name. The message keeps what is left after:
        the named parameters and keys redacted (`text`, and in URLs' query strings);
        every quoted literal ('9876x', "x", `x`), pydantic's `input_value=...`, every
        run of six digits or more and every token of 20 characters or more that mixes
        letters and digits replaced by "[redacted]". Exceptions quote the value that broke
        them, and that value came from the request. Line breaks become " | " and other
        control characters are escaped (see `printable`).
        """
        match = _ERROR_TYPE.match(text)
        name, message = (match.group(1), text[match.end() :]) if match else ("", text)
        message = self.text(" ".join(self.url(word) for word in message.split(" ")))
        message = _INPUT_VALUE.sub(rf"\1{REDACTED}", message)
        message = _QUOTED.sub(REDACTED, message)
        message = _LONG_TOKEN.sub(REDACTED, message)
        message = _LONG_NUMBER.sub(REDACTED, message)
        line = " | ".join(part.strip() for part in message.splitlines() if part.strip())
        return printable(f"{name}: {line}" if name and line else name or line)


#: Unicode's bidirectional formatting characters: they reorder what a terminal shows
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def printable(text: str, *, keep: str = "\t") -> str:
    """`text` safe to write to a terminal: control characters (escape sequences, carriage
    returns, C1 controls) and bidirectional overrides written as \\xNN / \\uNNNN;
    the characters in `keep` are kept."""
    if text.isprintable():
        return text
    return "".join(
        char
        if char in keep
        or (char not in _BIDI and unicodedata.category(char) not in ("Cc", "Zl", "Zp"))
        else (f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}")
        for char in text
    )


#: where a query string ends: its fragment, or the end of the URL in a text
_QUERY_END = re.compile(r'[#\s<>"]')


def _split_query(rest: str) -> tuple[str, str]:
    end = _QUERY_END.search(rest)
    return (rest, "") if end is None else (rest[: end.start()], rest[end.start() :])


def _tokens(pointer: str) -> list[str]:
    return [token.replace("~1", "/").replace("~0", "~") for token in pointer.split("/")[1:]]


def _note(body: bytes, media: str, what: str) -> bytes:
    return f"[{len(body)} bytes of {media or 'no declared type'}, {what}: not stored]".encode()


def _hide(value: Any) -> Any:
    return value if value is MISSING else REDACTED
