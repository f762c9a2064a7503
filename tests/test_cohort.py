"""routeshift.cohort: where a request's cohort value comes from, and its bucket."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from routeshift.cohort import BUCKETS, Cohort, bucket, goes_modern


def scope(
    headers: list[tuple[str, str]] = (), client: tuple[str, int] | None = ("10.0.0.7", 5000)
) -> dict[str, Any]:  # type: ignore[assignment]
    return {
        "type": "http",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers],
        "client": client,
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("client", Cohort("client"), id="client"),
        pytest.param("header:X-User-Id", Cohort("header", "x-user-id"), id="header"),
        pytest.param("cookie:uid", Cohort("cookie", "uid"), id="cookie"),
        pytest.param(" header: X-A ", Cohort("header", "x-a"), id="spaces"),
    ],
)
def test_parse(text: str, expected: Cohort) -> None:
    assert Cohort.parse(text) == expected


@pytest.mark.parametrize(
    ("text", "words"),
    [
        pytest.param("user", "unknown cohort 'user'", id="unknown"),
        pytest.param("cookie:", "names no cookie", id="cookie-without-name"),
        pytest.param("client:1", "unknown cohort", id="client-with-name"),
        pytest.param("header:X-Üser", "is not a header name", id="header-not-a-token"),
        pytest.param("cookie:a b", "is not a cookie name", id="cookie-with-a-space"),
    ],
)
def test_parse_refuses(text: str, words: str) -> None:
    with pytest.raises(ValueError, match=words) as info:
        Cohort.parse(text)
    assert any(hint in str(info.value) for hint in ("header:NAME", "cookie:NAME", "only"))


def test_value_from_a_header_any_case() -> None:
    assert Cohort.parse("header:X-User-Id").value(scope([("x-user-id", "u-42")])) == "u-42"


def test_value_from_a_cookie_among_several_cookie_headers() -> None:
    request = scope([("cookie", "a=1"), ("cookie", "uid=abc; b=2")])
    assert Cohort.parse("cookie:uid").value(request) == "abc"


@pytest.mark.parametrize(
    "cohort",
    [pytest.param("header:X-User-Id", id="header"), pytest.param("cookie:uid", id="cookie")],
)
def test_missing_value_falls_back_to_the_client_address(cohort: str) -> None:
    request = scope([("cookie", "other=1")])
    assert Cohort.parse(cohort).value(request) == "10.0.0.7"


def test_client_cohort_without_a_client_is_empty() -> None:
    assert Cohort.parse("client").value(scope(client=None)) == ""


def test_bucket_is_the_designed_hash() -> None:
    # design: first 8 bytes of sha256("endpoint|value") as an integer, mod 10,000
    digest = hashlib.sha256(b"users.get_user|u-42").digest()
    assert bucket("users.get_user", "u-42") == int.from_bytes(digest[:8], "big") % 10_000
    # fixed vectors (worked out once by hand): a host or version that hashed otherwise
    # (salted str hash, another byte order, the method in the key) fails here
    assert bucket("users.get_user", "u-42") == 3056
    assert bucket("tasks.get_task", "10.0.0.7") == 4259
    assert 0 <= bucket("a", "b") < BUCKETS


@pytest.mark.parametrize("percent", [1, 5, 10, 25, 50, 90, 99])
def test_split_is_within_two_points_over_ten_thousand_keys(percent: float) -> None:
    modern = sum(goes_modern("users.get_user", f"user-{i}", percent) for i in range(10_000))
    assert abs(modern / 100 - percent) <= 2, modern


def test_a_repeated_key_keeps_its_side() -> None:
    for i in range(200):
        first = goes_modern("tasks.get", f"k{i}", 30)
        assert all(goes_modern("tasks.get", f"k{i}", 30) is first for _ in range(5))


def test_raising_the_percent_only_adds_cohorts() -> None:
    keys = [f"user-{i}" for i in range(10_000)]
    at_10 = {k for k in keys if goes_modern("e", k, 10)}
    at_20 = {k for k in keys if goes_modern("e", k, 20)}
    assert at_10 <= at_20  # nobody moves back to legacy
    assert abs(len(at_20 - at_10) / 100 - 10) <= 2  # about the 10 points asked for
    at_15 = {k for k in keys if goes_modern("e", k, 15)}
    assert at_10 <= at_15 <= at_20


def test_endpoints_get_independent_cohorts() -> None:
    keys = [f"user-{i}" for i in range(2_000)]
    a = {k for k in keys if goes_modern("a", k, 50)}
    b = {k for k in keys if goes_modern("b", k, 50)}
    assert a != b  # one unlucky user is not in every canary at once


@pytest.mark.parametrize(("percent", "expected"), [(0, 0), (100, 10_000)])
def test_ends_of_the_range(percent: float, expected: int) -> None:
    assert sum(goes_modern("e", str(i), percent) for i in range(10_000)) == expected
