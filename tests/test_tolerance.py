"""routeshift.tolerance: a margin for the times and numbers each side computes, read from
`{within, at}` and applied at its pointer only; and parse_date, the two date forms."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from routeshift.errors import CompareError
from routeshift.tolerance import Tolerance, Within, parse_date, parse_duration

GMT = "Tue, 02 Jan 2024 03:04:05 GMT"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(GMT, dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC), id="rfc822"),
        pytest.param(
            "2024-01-02T04:04:05+01:00", dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC), id="iso"
        ),
        pytest.param("2024-01-02", dt.datetime(2024, 1, 2, tzinfo=dt.UTC), id="date"),
        pytest.param("Tue, 32 Jan 2024 03:04:05 GMT", None, id="day-out-of-range"),
        pytest.param("Tue, 02 Foo 2024 03:04:05 GMT", None, id="unknown-month"),
        pytest.param("2024-02-30T00:00:00", None, id="iso-out-of-range"),
        pytest.param("02 Jan 2024", None, id="partial"),
        pytest.param("12345", None, id="number"),
        pytest.param("", None, id="empty"),
    ],
)
def test_parse_date(text: str, expected: dt.datetime | None) -> None:
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        pytest.param("2s", 2.0, id="seconds"),
        pytest.param("500ms", 0.5, id="milliseconds"),
        pytest.param("1.5m", 90.0, id="minutes"),
        pytest.param("1h", 3600.0, id="hours"),
        pytest.param(" 2 s ", 2.0, id="spaces"),
        pytest.param("0s", 0.0, id="zero"),
    ],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        pytest.param({"within": "2s", "at": "/last_seen"}, Tolerance("/last_seen", 2, Within.TIME)),
        pytest.param({"at": "/p", "within": 0.01}, Tolerance("/p", 0.01), id="number"),
        pytest.param({"within": 3, "at": "/p"}, Tolerance("/p", 3.0), id="whole-number"),
        pytest.param({"within": "1e-3", "at": "/p"}, Tolerance("/p", 0.001), id="yaml-1.1-text"),
        pytest.param({"within": "250ms", "at": "/a/*/t"}, Tolerance("/a/*/t", 0.25, Within.TIME)),
    ],
)
def test_parse(item: dict[str, Any], expected: Tolerance) -> None:
    assert Tolerance.parse(item) == expected


@pytest.mark.parametrize(
    ("item", "message"),
    [
        pytest.param(
            {"within": "2s", "at": "/a", "wihtin": 1}, "unknown key 'wihtin' in a tolerance. Did"
        ),
        pytest.param({"within": "2s"}, "a tolerance needs at"),
        pytest.param({}, "a tolerance needs within and at"),
        pytest.param({"within": "2 sec", "at": "/a"}, "'2 sec' is neither a duration"),
        pytest.param({"within": "2d", "at": "/a"}, "(a number and ms, s, m or h"),
        pytest.param({"within": "-2s", "at": "/a"}, "'-2s' is negative"),
        pytest.param({"within": -0.5, "at": "/a"}, "-0.5 is negative"),
        pytest.param({"within": "-0.5", "at": "/a"}, "-0.5 is negative"),
        pytest.param({"within": True, "at": "/a"}, "True is neither a duration"),
        pytest.param({"within": float("inf"), "at": "/a"}, "inf is neither"),
        pytest.param({"within": "2s", "at": 5}, "at: 5 is not a JSON pointer"),
    ],
)
def test_parse_refuses(item: dict[str, Any], message: str) -> None:
    with pytest.raises(CompareError) as info:
        Tolerance.parse(item)
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("at", "pointer", "applies"),
    [
        pytest.param("/last_seen", "/last_seen", True, id="itself"),
        pytest.param("/last_seen", "/last_seen/x", False, id="not-below"),
        pytest.param("/a/b", "/a", False, id="not-above"),
        pytest.param("/items/*/t", "/items/3/t", True, id="any-index"),
        pytest.param("/items/*/t", "/items/3/u", False, id="other-key"),
        pytest.param("", "", True, id="the-whole-body"),
    ],
)
def test_applies_at_its_pointer_only(at: str, pointer: str, applies: bool) -> None:
    assert Tolerance(at, 1.0).applies(pointer) is applies


@pytest.mark.parametrize(
    ("legacy", "modern", "equal"),
    [
        pytest.param(GMT, "2024-01-02T03:04:07Z", True, id="2s-is-within"),
        pytest.param(GMT, "2024-01-02T03:04:07.001Z", False, id="just-past"),
        pytest.param("2024-01-02T03:04:07Z", GMT, True, id="either-way"),
        pytest.param(GMT, "later", False, id="not-a-date"),
        pytest.param(GMT, 1704164645, False, id="a-number"),
        pytest.param(GMT, None, False, id="null"),
    ],
)
def test_times(legacy: Any, modern: Any, equal: bool) -> None:
    assert Tolerance("/t", 2.0, Within.TIME).equal(legacy, modern) is equal


@pytest.mark.parametrize(
    ("legacy", "modern", "equal"),
    [
        pytest.param(1.0, 1.01, True, id="at-the-margin"),
        pytest.param(1, 0.995, True, id="int-and-float"),
        pytest.param(1.0, 1.011, False, id="past"),
        pytest.param(1, True, False, id="bool"),
        pytest.param(1.0, "1.0", False, id="text"),
    ],
)
def test_numbers(legacy: Any, modern: Any, equal: bool) -> None:
    assert Tolerance("/p", 0.01).equal(legacy, modern) is equal


@pytest.mark.parametrize(
    ("tolerance", "text", "written"),
    [
        pytest.param(Tolerance("/t", 2.0, Within.TIME), "{within: 2s, at: /t}", "2s", id="s"),
        pytest.param(Tolerance("/t", 0.25, Within.TIME), "{within: 250ms, at: /t}", "250ms"),
        pytest.param(Tolerance("/t", 120, Within.TIME), "{within: 2m, at: /t}", "2m", id="m"),
        pytest.param(Tolerance("/t", 1.5, Within.TIME), "{within: 1.5s, at: /t}", "1.5s"),
        pytest.param(Tolerance("/t", 0, Within.TIME), "{within: 0s, at: /t}", "0s", id="0"),
        pytest.param(Tolerance("/t", 7200, Within.TIME), "{within: 2h, at: /t}", "2h", id="h"),
        pytest.param(Tolerance("/p", 0.01), "{within: 0.01, at: /p}", 0.01, id="number"),
    ],
)
def test_reads_as_written(tolerance: Tolerance, text: str, written: Any) -> None:
    assert str(tolerance) == text
    assert repr(tolerance) == f"Tolerance({text[1:-1].replace(': ', '=')})"
    assert tolerance.as_dict() == {"within": written, "at": tolerance.at}
    assert Tolerance.parse(tolerance.as_dict()) == tolerance
