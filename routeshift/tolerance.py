"""Tolerances: a time or a number that each side computes for itself, compared within a
margin rather than ignored.

Pure: no I/O. A route opts in per JSON pointer, in its `normalise` list:

    {within: 2s, at: /last_seen}     dates (RFC 822 or ISO 8601) at most 2 s apart are equal
    {within: 0.01, at: /price}       numbers at most 0.01 apart are equal

Durations are written in ms, s, m or h. `at` is a JSON pointer naming the value itself,
with `*` for any list index or key (`/items/*/price`). Anything else at that pointer
still differs: a missing value, a value that is not a date (or not a number), a date
3 s apart under `within: 2s`. Also here: `parse_date`, the one reader of the two date
forms, which the `dates` normaliser (routeshift.compare) uses too.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import enum
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from routeshift.errors import CompareError, did_you_mean

__all__ = [
    "DURATION_UNITS",
    "Tolerance",
    "Within",
    "parse_date",
    "parse_duration",
]

#: seconds per unit of a written duration
DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_DURATION = re.compile(r"^\s*(?P<sign>-?)\s*(?P<amount>\d+(?:\.\d+)?)\s*(?P<unit>ms|s|m|h)\s*$")
_KEYS = ("within", "at")
_EXAMPLE = "{within: 2s, at: /last_seen} or {within: 0.01, at: /price}"


class Within(enum.StrEnum):
    """What a tolerance compares: moments (a duration) or numbers (a difference)."""

    TIME = "time"
    NUMBER = "number"


@dataclass(frozen=True, slots=True)
class Tolerance:
    """At `at`, two values are equal when they are `within` apart (seconds for TIME)."""

    at: str
    within: float
    kind: Within = Within.NUMBER

    @classmethod
    def parse(cls, item: Mapping[str, Any]) -> Tolerance:
        """`{within: 2s | 0.01, at: /pointer}`; raises CompareError saying what is wrong.

        The pointer's form is checked where pointers are (routeshift.compare.check_pointer).
        """
        unknown = [str(key) for key in item if key not in _KEYS]
        if unknown:
            hint = did_you_mean(unknown[0], _KEYS)
            raise CompareError(
                f"unknown key {unknown[0]!r} in a tolerance.{hint} A tolerance has exactly "
                f"within and at, e.g. {_EXAMPLE}."
            )
        missing = [key for key in _KEYS if key not in item]
        if missing:
            raise CompareError(f"a tolerance needs {' and '.join(missing)}, e.g. {_EXAMPLE}.")
        at = item["at"]
        if not isinstance(at, str):
            raise CompareError(
                f"at: {at!r} is not a JSON pointer: write the place of the value, e.g. /price."
            )
        return cls(at, *_within(item["within"]))

    def applies(self, pointer: str) -> bool:
        """Whether `pointer` is the place this tolerance names (`*`: any one key or index)."""
        want, have = self.at.split("/"), pointer.split("/")
        if len(want) != len(have):
            return False
        return all(w in ("*", h) for w, h in zip(want, have, strict=True))

    def equal(self, legacy: Any, modern: Any) -> bool:
        """Whether the two values are within the margin: both dates (TIME) or both numbers."""
        if self.kind is Within.TIME:
            a = parse_date(legacy) if isinstance(legacy, str) else None
            b = parse_date(modern) if isinstance(modern, str) else None
            return a is not None and b is not None and abs((a - b).total_seconds()) <= self.within
        if not (_is_number(legacy) and _is_number(modern)):
            return False
        apart = abs(legacy - modern)
        # 1.01 - 1.00 is 0.01000...9 in binary floating point: still within 0.01
        return bool(apart <= self.within or math.isclose(apart, self.within, rel_tol=1e-9))

    def as_dict(self) -> dict[str, Any]:
        """As the registry writes it: `{"within": "2s", "at": "/last_seen"}`."""
        within = self.within if self.kind is Within.NUMBER else self.written
        return {"within": within, "at": self.at}

    def __str__(self) -> str:
        return f"{{within: {self.written}, at: {self.at}}}"

    def __repr__(self) -> str:
        return f"Tolerance(within={self.written}, at={self.at})"

    @property
    def written(self) -> str:
        """The margin as a registry writes it: 2s, 500ms, 0.01."""
        if self.kind is Within.NUMBER:
            return f"{self.within:g}"
        for unit in ("h", "m"):
            amount = self.within / DURATION_UNITS[unit]
            if amount >= 1 and float(amount).is_integer():
                return f"{amount:g}{unit}"
        if self.within >= 1 or self.within == 0:
            return f"{self.within:g}s"
        return f"{self.within * 1000:g}ms"


def parse_duration(text: str) -> float:
    """`2s`, `500ms`, `1.5m`, `1h` in seconds; raises CompareError."""
    match = _DURATION.match(text)
    if match is None:
        raise CompareError(
            f"within: {text!r} is neither a duration (a number and ms, s, m or h: 2s, "
            "500ms) nor a number (0.01)."
        )
    if match["sign"]:
        raise CompareError(f"within: {text!r} is negative; a margin is 0 or more (e.g. 2s).")
    return float(match["amount"]) * DURATION_UNITS[match["unit"]]


def _within(value: Any) -> tuple[float, Within]:
    if isinstance(value, str):
        try:  # a number YAML 1.1 reads as text (1e-3)
            value = float(value)
        except ValueError:
            return parse_duration(value), Within.TIME
    if not _is_number(value) or not math.isfinite(value):
        raise CompareError(
            f"within: {value!r} is neither a duration (2s, 500ms) nor a number (0.01)."
        )
    if value < 0:
        raise CompareError(f"within: {value!r} is negative; a margin is 0 or more.")
    return float(value), Within.NUMBER


def _is_number(value: Any) -> bool:
    """An int or a float; not a bool, which a client does not read as a number."""
    return isinstance(value, int | float) and not isinstance(value, bool)


# --- dates ---------------------------------------------------------------------------------

_RFC822 = re.compile(
    r"^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} (GMT|[+-]\d{4})$"
)
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$")


def parse_date(text: str) -> dt.datetime | None:
    """A date and time in Flask's (RFC 822) or FastAPI's (ISO 8601) form, in UTC; naive
    times are UTC, as Flask's http_date takes them."""
    moment: dt.datetime | None = None
    try:
        if _RFC822.match(text):
            moment = email.utils.parsedate_to_datetime(text)
        elif _ISO.match(text):
            moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:  # shaped like a date, but not one (32 Jan, month 13)
        return None
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)
