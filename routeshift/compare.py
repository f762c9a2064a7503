"""Compare a legacy and a modern response the way a client would notice a difference.

Pure: no I/O. Bodies are compared parsed where they are JSON, so key order, white space,
`ensure_ascii` escapes and a trailing newline do not count; everything a client can see
does. Differences are named by where they are: `status`, `header:NAME`, `body` (a body
that is not JSON on both sides) or an RFC 6901 JSON pointer into the body (`/created_at`,
`/items/0/id`).

Every header either side sent is compared (names case-insensitive, a repeated header
joined in order), but those that differ per response by nature: Date, Server,
Content-Length, X-Served-By and the hop-by-hop ones. Allow, Cache-Control, Vary and the
CORS method and header lists are sets. Set-Cookie is compared per cookie by its name and
attributes, its value not (signed, random); a cookie with a decoder (the legacy app's
session cookie: its signature carries a timestamp) is compared by its decoded payload.
`ignore` takes JSON pointers and `header:NAME`.

A port that answers with success a request the legacy view refused (401, 403, or given
the request's path, a redirect elsewhere: to a login page) lacks the view's guard: that
`GuardBreach` fails whatever the route ignores or accepts, and an accept of status 401
or 403 becoming 2xx is refused where it is declared.

Normalisers, each switchable per route (`normalise:` in the registry; `no-NAME` turns
a default off):

    json              parse JSON bodies before comparing (default on)
    trailing_newline  one trailing newline of a text body does not count (default on)
    ensure_ascii      \\uXXXX escapes in a text body equal the characters (default on)
    dates             RFC 822 dates (Flask) equal ISO 8601 (FastAPI) for the same instant;
                      an ISO date alone is its midnight UTC, as Flask renders a `date`
                      (default off: a date that changes format is a change a client sees)
    {within: 2s, at: /last_seen}   a tolerance (routeshift.tolerance): the dates (or, with
    {within: 0.01, at: /price}     a number, the numbers) at that pointer are equal when
                                   that close; a missing or other value still differs

One module: `compare` finds the differences and applies the route's rules to them in one
pass, and both halves speak the same JSON pointers (the diff names differences by them,
ignore and accept match them), so a split would need a third module for the pointer
helpers.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

from routeshift.errors import CompareError, did_you_mean
from routeshift.tolerance import Tolerance, parse_date

__all__ = [
    "ANY",
    "SET_VALUED",
    "CookieDecoders",
    "DEFAULT_NORMALISERS",
    "GUARD",
    "REFUSED",
    "MISSING",
    "NEVER_COMPARED",
    "NORMALISERS",
    "Normaliser",
    "Accepted",
    "Comparison",
    "Difference",
    "GuardBreach",
    "Missing",
    "Reply",
    "Rules",
    "check_ignore",
    "check_pointer",
    "compare",
    "content_type_key",
    "diff",
    "escape",
    "guard_breach",
    "normalise_dates",
    "normalisers",
    "parse_json",
    "pointer_matches",
    "resolve",
    "tolerance",
]

NORMALISERS = frozenset({"json", "trailing_newline", "ensure_ascii", "dates"})
DEFAULT_NORMALISERS = frozenset({"json", "trailing_newline", "ensure_ascii"})

#: Headers never compared: they differ per response by nature, follow from the body or
#: the connection (hop-by-hop), or say which side served.
NEVER_COMPARED = frozenset(
    {
        "date",
        "server",
        "content-length",
        "x-served-by",
        "connection",
        "keep-alive",
        "transfer-encoding",
    }
)
#: headers whose value is a comma-separated set (order and case of members do not count)
SET_VALUED = frozenset(
    {
        "allow",
        "cache-control",
        "vary",
        "access-control-allow-methods",
        "access-control-allow-headers",
        "access-control-expose-headers",
    }
)
#: a cookie name -> its value decoded (the legacy app's session: Flask's own serializer)
CookieDecoders = tuple[tuple[str, Callable[[str], Any]], ...]

ANY = "*"  # in a declared change: any value
#: the statuses by which a legacy view's guard (login_required, a token check) refuses
REFUSED = frozenset({401, 403})
#: the redirects that send a refused request elsewhere (a login page); 304 is no refusal
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
#: where a GuardBreach is: no ignore rule and no declared change names it
GUARD = "guard"
#: an item of a route's `normalise` list: a name, or a tolerance (`{within: 2s, at: /x}`)
Normaliser = str | Mapping[str, Any] | Tolerance


class Missing(enum.Enum):
    """A value one side does not have (a key, a list item, a header)."""

    MISSING = "(missing)"

    def __repr__(self) -> str:
        return "(missing)"


MISSING = Missing.MISSING


@dataclass(frozen=True, slots=True)
class Reply:
    """One side's response: status, headers (names lower-case, in order), body."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def header(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key == name]

    @property
    def content_type(self) -> str:
        values = self.header("content-type")
        return values[0] if values else ""


@dataclass(frozen=True, slots=True)
class Difference:
    """`where` differs: the legacy value and the modern value."""

    where: str
    legacy: Any
    modern: Any

    def __str__(self) -> str:
        return f"{self.where}: legacy {_show(self.legacy)} != modern {_show(self.modern)}"


@dataclass(frozen=True, slots=True)
class GuardBreach(Difference):
    """The port answered with success (`modern`, 2xx) a request the legacy view refused
    (`legacy`: 401, 403, or a redirect to `location`): it lacks the view's guard."""

    location: str = ""

    def __str__(self) -> str:
        refused = f"{self.legacy} to {self.location}" if self.location else str(self.legacy)
        return (
            "the port lets through a request the legacy view refused: "
            f"legacy {refused}, modern {self.modern} -- the port lacks the view's guard"
        )


@dataclass(frozen=True, slots=True)
class Accepted:
    """A declared contract change: at `what`, legacy `legacy` may become modern `modern`."""

    what: str
    legacy: Any = ANY
    modern: Any = ANY
    why: str = ""

    def __post_init__(self) -> None:
        if self.what.startswith("body:"):
            check_pointer(self.what[5:])
        elif self.what not in ("status", "body") and not self.what.startswith("header:"):
            hint = did_you_mean(self.what, ("status", "body"))
            raise CompareError(
                f"unknown change {self.what!r} in accept.{hint} "
                "Use status, header:NAME, body or body:POINTER."
            )
        if self.what == "status" and _refused(self.legacy) and _success(self.modern):
            raise CompareError(
                f"status {self.legacy} may not become {self.modern}: a port that answers "
                "with success what the legacy view refuses lacks the view's guard "
                "(login_required, a token check). Give the port that guard; no accept "
                "waives this difference."
            )

    def covers(self, difference: Difference) -> bool:
        if not _where_matches(self.what, difference.where):
            return False
        return _value_matches(self.legacy, difference.legacy) and _value_matches(
            self.modern, difference.modern
        )


@dataclass(frozen=True, slots=True)
class Rules:
    """How one route is compared: ignored pointers, normalisers, declared changes."""

    ignore: tuple[str, ...] = ()
    normalise: frozenset[str | Tolerance] = DEFAULT_NORMALISERS
    accept: tuple[Accepted, ...] = ()
    headers: tuple[str, ...] | None = None  # None: every header either side sent
    cookies: CookieDecoders = field(default=(), repr=False)

    @classmethod
    def build(
        cls,
        ignore: Iterable[str] = (),
        normalise: Iterable[Normaliser] = (),
        accept: Iterable[Accepted] = (),
        headers: Iterable[str] | None = None,
    ) -> Rules:
        """Rules from registry-style settings; `normalise` adds to the defaults (names,
        and tolerances: `{"within": "2s", "at": "/last_seen"}` or a Tolerance)."""
        return cls(
            ignore=tuple(check_ignore(p) for p in ignore),
            normalise=normalisers(normalise),
            accept=tuple(accept),
            headers=None if headers is None else tuple(h.lower() for h in headers),
        )

    def with_ignore(self, extra: Iterable[str]) -> Rules:
        return replace(self, ignore=self.ignore + tuple(check_ignore(p) for p in extra))

    def with_cookies(self, cookies: CookieDecoders) -> Rules:
        """These rules, with cookies compared by their decoded payload."""
        return replace(self, cookies=self.cookies + tuple(cookies))


@dataclass(frozen=True, slots=True)
class Comparison:
    """What comparing two replies found: differences that fail, and those declared."""

    differences: tuple[Difference, ...] = ()
    accepted: tuple[tuple[Difference, Accepted], ...] = ()
    ignored: tuple[Difference, ...] = field(default=(), repr=False)

    @property
    def equal(self) -> bool:
        return not self.differences


def normalisers(names: Iterable[Normaliser]) -> frozenset[str | Tolerance]:
    """The defaults, plus each name, less each `no-NAME`, plus each tolerance (a mapping
    `{within, at}` or a Tolerance); unknown names and malformed tolerances raise."""
    chosen: set[str | Tolerance] = set(DEFAULT_NORMALISERS)
    for name in names:
        if not isinstance(name, str):
            chosen.add(tolerance(name))
            continue
        off = name.startswith("no-")
        bare = name[3:] if off else name
        if bare not in NORMALISERS:
            hint = did_you_mean(bare, NORMALISERS)
            raise CompareError(
                f"unknown normaliser {name!r}.{hint} Known: {', '.join(sorted(NORMALISERS))} "
                "(prefix no- to turn a default off)."
            )
        (chosen.discard if off else chosen.add)(bare)
    return frozenset(chosen)


def tolerance(item: Mapping[str, Any] | Tolerance) -> Tolerance:
    """A tolerance of the `normalise` list, its pointer checked; raises CompareError."""
    made = item if isinstance(item, Tolerance) else Tolerance.parse(item)
    try:
        check_pointer(made.at)
    except CompareError as exc:
        raise CompareError(f"at: {exc}") from None
    return made


def check_pointer(pointer: str) -> str:
    """A JSON pointer (RFC 6901, with `*` for any one key or index); raises when malformed."""
    if pointer != "" and not pointer.startswith("/"):
        raise CompareError(
            f"{pointer!r} is not a JSON pointer: it must start with '/' (e.g. /id, /items/*/id)."
        )
    if re.search(r"~(?![01])", pointer):
        raise CompareError(f"{pointer!r}: '~' must be escaped as ~0 ('~') or ~1 ('/').")
    return pointer


def check_ignore(rule: str) -> str:
    """An ignore rule: a JSON pointer, or `header:NAME` (a header, case-insensitive, or
    `header:set-cookie:NAME` for one cookie); raises when malformed."""
    if rule.lower().startswith("header:"):
        name = rule[7:].strip().lower()
        if not name or not re.fullmatch(r"[!#$%&'*+\-.^_`|~0-9a-z:]+", name):
            raise CompareError(
                f"{rule!r}: a header to ignore is `header:NAME` with NAME an HTTP header "
                "name (e.g. header:x-request-id)."
            )
        return f"header:{name}"
    return check_pointer(rule)


def escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def compare(
    legacy: Reply, modern: Reply, rules: Rules = Rules(), *, path: str | None = None
) -> Comparison:
    """Every difference a client would see between the two replies, under `rules`; first
    the GuardBreach, if any, which `rules` never waive (`path`, the request's, lets a
    redirect elsewhere count as a refusal)."""
    found = list(_status(legacy, modern))
    found += _headers(legacy, modern, rules)
    found += _body(legacy, modern, rules)
    failing: list[Difference] = []
    accepted: list[tuple[Difference, Accepted]] = []
    ignored: list[Difference] = []
    for difference in found:
        if any(_ignored(pattern, difference.where) for pattern in rules.ignore):
            ignored.append(difference)
            continue
        declared = next((a for a in rules.accept if a.covers(difference)), None)
        if declared is not None:
            accepted.append((difference, declared))
        else:
            failing.append(difference)
    breach = guard_breach(legacy, modern, path)
    if breach is not None:
        failing.insert(0, breach)
    return Comparison(tuple(failing), tuple(accepted), tuple(ignored))


def guard_breach(legacy: Reply, modern: Reply, path: str | None = None) -> GuardBreach | None:
    """The breach when modern answers 2xx where legacy refused: 401, 403, or (given the
    request's `path`) a redirect whose Location has another path, as to a login page."""
    if not _success(modern.status):
        return None
    if legacy.status in REFUSED:
        return GuardBreach(GUARD, legacy.status, modern.status)
    locations = legacy.header("location")
    if path is None or legacy.status not in _REDIRECTS or not locations:
        return None
    here = urlsplit(path).path
    there = urlsplit(urljoin(here, locations[0])).path
    if unquote(there) == unquote(here):
        return None
    return GuardBreach(GUARD, legacy.status, modern.status, location=locations[0])


def _refused(status: Any) -> bool:
    return isinstance(status, int) and not isinstance(status, bool) and status in REFUSED


def _success(status: Any) -> bool:
    return isinstance(status, int) and not isinstance(status, bool) and 200 <= status < 300


# --- status and headers ----------------------------------------------------------------


def _status(legacy: Reply, modern: Reply) -> Iterator[Difference]:
    if legacy.status != modern.status:
        yield Difference("status", legacy.status, modern.status)


def _headers(legacy: Reply, modern: Reply, rules: Rules) -> Iterator[Difference]:
    names = rules.headers
    if names is None:  # every header either side sent, in the order they came
        names = tuple(dict.fromkeys(name for name, _ in (*legacy.headers, *modern.headers)))
    for name in names:
        if name in NEVER_COMPARED:
            continue
        if name == "set-cookie":
            yield from _cookies(legacy, modern, dict(rules.cookies))
            continue
        a = _header_value(name, legacy.header(name))
        b = _header_value(name, modern.header(name))
        if a != b:
            yield Difference(f"header:{name}", _raw(legacy.header(name)), _raw(modern.header(name)))


def _raw(values: list[str]) -> Any:
    if not values:
        return MISSING
    return values[0] if len(values) == 1 else values


def _header_value(name: str, values: list[str]) -> Any:
    if not values:
        return MISSING
    joined = ", ".join(values)
    if name == "content-type":
        return content_type_key(joined)
    if name in SET_VALUED:
        return frozenset(part.strip().lower() for part in joined.split(",") if part.strip())
    return joined


def content_type_key(value: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """A media type as clients read it: case-insensitive type and parameter names,
    `charset` case-insensitive, and utf-8 implied for JSON (RFC 8259 has no charset)."""
    media, *params = (part.strip() for part in value.split(";"))
    media = media.lower()
    parsed = {}
    for param in params:
        key, _, val = param.partition("=")
        key = key.strip().lower()
        val = val.strip().strip('"')
        parsed[key] = val.lower() if key == "charset" else val
    if _is_json(media) and parsed.get("charset") == "utf-8":
        del parsed["charset"]
    return media, tuple(sorted(parsed.items()))


def _cookies(
    legacy: Reply, modern: Reply, decoders: Mapping[str, Callable[[str], Any]]
) -> Iterator[Difference]:
    """Set-Cookie compared by cookie name and attributes; values (signed, random) not,
    but for a cookie with a decoder: its decoded payload is compared too."""
    a = _cookie_shapes(legacy.header("set-cookie"), decoders)
    b = _cookie_shapes(modern.header("set-cookie"), decoders)
    for name in sorted(a.keys() | b.keys()):
        if a.get(name, MISSING) != b.get(name, MISSING):
            yield Difference(
                f"header:set-cookie:{name}", a.get(name, MISSING), b.get(name, MISSING)
            )


def _cookie_shapes(
    values: Sequence[str], decoders: Mapping[str, Callable[[str], Any]]
) -> dict[str, dict[str, Any]]:
    shapes = {}
    for value in values:
        first, *attributes = (part.strip() for part in value.split(";"))
        name, _, raw = first.partition("=")
        name = name.strip()
        shape: dict[str, Any] = {}
        decode = decoders.get(name)
        if decode is not None and raw.strip():
            try:
                shape["(payload)"] = decode(raw.strip().strip('"'))
            except Exception:  # tampered, another key: what a client holds is unreadable
                shape["(payload)"] = "(unreadable)"
        for attribute in attributes:
            key, _, val = attribute.partition("=")
            key = key.strip().lower()
            if key == "expires":
                val = "(set)"  # a moment in time: present or not is the contract
            shape[key] = val.strip().lower() if key in ("samesite", "domain") else val.strip()
        shapes[name] = dict(sorted(shape.items()))
    return shapes


# --- bodies ----------------------------------------------------------------------------


def _is_json(media: str) -> bool:
    return media == "application/json" or media.endswith("+json")


def parse_json(reply: Reply) -> Any:
    """The body parsed, or MISSING when it is not JSON."""
    if not _is_json(content_type_key(reply.content_type)[0]) or not reply.body:
        return MISSING
    try:
        return json.loads(reply.body)
    except ValueError:
        return MISSING


def _body(legacy: Reply, modern: Reply, rules: Rules) -> Iterator[Difference]:
    if "json" in rules.normalise:
        a, b = parse_json(legacy), parse_json(modern)
        if a is not MISSING and b is not MISSING:
            yield from _json_body(a, b, rules.normalise)
            return
    a_text, b_text = _text(legacy.body, rules), _text(modern.body, rules)
    if a_text != b_text:
        yield Difference("body", _excerpt(a_text), _excerpt(b_text))


def _json_body(a: Any, b: Any, normalise: frozenset[str | Tolerance]) -> Iterator[Difference]:
    dates = "dates" in normalise
    margins = [item for item in normalise if isinstance(item, Tolerance)]
    found = diff(normalise_dates(a), normalise_dates(b)) if dates else diff(a, b)
    for pointer, x, y in found:
        if dates:  # what each side sent, not its normalised form
            x, y = resolve(a, pointer), resolve(b, pointer)
        if not any(m.applies(pointer) and m.equal(x, y) for m in margins):
            yield Difference(pointer or "body", x, y)


def _text(body: bytes, rules: Rules) -> str:
    text = body.decode("utf-8", errors="replace")
    if "ensure_ascii" in rules.normalise and "\\u" in text:
        text = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), text)
        # a surrogate pair (\uD83D\uDE00) is one character outside the BMP
        text = text.encode("utf-16", "surrogatepass").decode("utf-16", "surrogatepass")
    if "trailing_newline" in rules.normalise and text.endswith("\n"):
        text = text[:-1]
    return text


def _excerpt(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} characters)"


def diff(legacy: Any, modern: Any, pointer: str = "") -> Iterator[tuple[str, Any, Any]]:
    """(JSON pointer, legacy value, modern value) for each place two documents differ.

    Types count: 1 and 1.0 and true differ, as they do for a typed client.
    """
    if isinstance(legacy, dict) and isinstance(modern, dict):
        for key in list(legacy) + [k for k in modern if k not in legacy]:
            yield from diff(
                legacy.get(key, MISSING), modern.get(key, MISSING), f"{pointer}/{escape(key)}"
            )
    elif isinstance(legacy, list) and isinstance(modern, list):
        for index in range(max(len(legacy), len(modern))):
            a = legacy[index] if index < len(legacy) else MISSING
            b = modern[index] if index < len(modern) else MISSING
            yield from diff(a, b, f"{pointer}/{index}")
    elif type(legacy) is not type(modern) or legacy != modern:
        yield pointer, legacy, modern


def normalise_dates(value: Any) -> Any:
    """Strings that are dates (RFC 822 or ISO 8601) become ISO 8601 in UTC."""
    if isinstance(value, dict):
        return {key: normalise_dates(item) for key, item in value.items()}
    if isinstance(value, list):
        return [normalise_dates(item) for item in value]
    if isinstance(value, str):
        moment = parse_date(value)
        if moment is not None:
            return moment.isoformat()
    return value


# --- pointers with wildcards -----------------------------------------------------------


def _tokens(pointer: str) -> list[str]:
    return pointer.split("/")[1:] if pointer else []


def resolve(document: Any, pointer: str) -> Any:
    """The value at `pointer` (RFC 6901) in `document`, or MISSING."""
    for token in _tokens(pointer):
        token = token.replace("~1", "/").replace("~0", "~")
        if isinstance(document, dict):
            document = document.get(token, MISSING)
        elif isinstance(document, list) and token.isdigit() and int(token) < len(document):
            document = document[int(token)]
        else:
            return MISSING
    return document


def pointer_matches(pattern: str, pointer: str) -> bool:
    """`pattern` names `pointer` or a place above it; `*` stands for one key or index."""
    want, have = _tokens(pattern), _tokens(pointer)
    if len(want) > len(have):
        return False
    return all(w == "*" or w == h for w, h in zip(want, have, strict=False))


def _ignored(pattern: str, where: str) -> bool:
    if pattern.startswith("header:"):
        return where == pattern or where.startswith(pattern + ":")
    if where.startswith("/") or where == "body":
        return pattern == "" or (where.startswith("/") and pointer_matches(pattern, where))
    return False


def _where_matches(what: str, where: str) -> bool:
    """`what` in a declared change: status, header:NAME, body (whole), body:POINTER."""
    if what == "body":
        return where == "body" or where.startswith("/")
    if what.startswith("body:"):
        return where.startswith("/") and pointer_matches(what[5:], where)
    if what.startswith("header:"):
        name = what[7:].lower()
        return where == f"header:{name}" or where.startswith(f"header:{name}:")
    return what == where


def _value_matches(declared: Any, actual: Any) -> bool:
    if declared == ANY:
        return True
    if actual is MISSING:
        return declared is None
    # a declared 1 is not true, as in diff(): booleans are not numbers to a client
    return isinstance(declared, bool) is isinstance(actual, bool) and bool(declared == actual)


def _show(value: Any) -> str:
    if value is MISSING:
        return "(missing)"
    if isinstance(value, frozenset | set):
        return "{" + ", ".join(sorted(map(str, value))) + "}"
    if isinstance(value, Mapping):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    try:
        return json.dumps(value, ensure_ascii=False)
    except TypeError:
        return repr(value)
