"""routeshift.redact: credentials and the names `settings.redact` lists are never stored."""

from __future__ import annotations

import json
from typing import Any

import pytest

from routeshift.compare import MISSING, CompareError, Difference, Reply, compare
from routeshift.observations import (
    BODY_LIMIT,
    Exchange,
    Observation,
    ShadowResult,
    body_text,
    observation_row,
)
from routeshift.redact import REDACTED, Redactor

SECRET = "s3cr3t-value"


@pytest.fixture
def redactor() -> Redactor:
    return Redactor(["password", "X-Api-Key", "/card/number", "/items/*/token"])


# --- headers and query strings ----------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("Authorization", id="authorization"),
        pytest.param("proxy-authorization", id="proxy-authorization"),
        pytest.param("COOKIE", id="cookie-upper"),
        pytest.param("Set-Cookie", id="set-cookie"),
    ],
)
def test_credentials_headers_are_always_redacted(name: str) -> None:
    assert Redactor().headers([(name, SECRET), ("accept", "*/*")]) == (
        (name, REDACTED),
        ("accept", "*/*"),
    )


def test_extra_names_are_headers_too(redactor: Redactor) -> None:
    headers = redactor.headers([("x-api-key", SECRET), ("X-Password-Hint", "kept")])
    assert headers == (("x-api-key", REDACTED), ("X-Password-Hint", "kept"))


def test_a_location_keeps_its_path_and_loses_its_secret(redactor: Redactor) -> None:
    ((_, location),) = redactor.headers([("location", f"/next?Password={SECRET}&page=2#top")])
    assert location == f"/next?Password={REDACTED}&page=2#top"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        pytest.param(f"password={SECRET}", f"password={REDACTED}", id="alone"),
        pytest.param(
            f"a=1&PASSWORD={SECRET}&b=%20x",
            f"a=1&PASSWORD={REDACTED}&b=%20x",
            id="case-insensitive-rest-kept-byte-for-byte",
        ),
        pytest.param(f"pass%77ord={SECRET}", f"pass%77ord={REDACTED}", id="percent-encoded-name"),
        pytest.param(f"password={SECRET}&password=2", f"password={REDACTED}&password={REDACTED}"),
        pytest.param("password&x=1", "password&x=1", id="no-value"),
        pytest.param("passwords=1", "passwords=1", id="other-name"),
        pytest.param("", "", id="empty"),
    ],
)
def test_query_strings(redactor: Redactor, query: str, expected: str) -> None:
    assert redactor.query(query) == expected


def test_nothing_to_redact_in_a_query_without_names() -> None:
    assert Redactor().query(f"password={SECRET}") == f"password={SECRET}"


# --- bodies -------------------------------------------------------------------------------


def test_json_keys_anywhere_and_pointers(redactor: Redactor) -> None:
    body = {
        "user": {"name": "ann", "Password": SECRET, "history": [{"password": SECRET}]},
        "card": {"number": SECRET, "expiry": "12/30"},
        "items": [{"token": SECRET, "id": 1}, {"token": SECRET, "id": 2}],
        "token": "top-level token is not named by /items/*/token",
    }
    out = json.loads(redactor.body(json.dumps(body).encode(), "application/json"))
    assert out == {
        "user": {"name": "ann", "Password": REDACTED, "history": [{"password": REDACTED}]},
        "card": {"number": REDACTED, "expiry": "12/30"},
        "items": [{"token": REDACTED, "id": 1}, {"token": REDACTED, "id": 2}],
        "token": "top-level token is not named by /items/*/token",
    }


def test_a_named_key_holding_an_object_is_redacted_whole(redactor: Redactor) -> None:
    body = json.dumps({"password": {"old": SECRET, "new": SECRET}}).encode()
    assert json.loads(redactor.body(body, "application/problem+json")) == {"password": REDACTED}


def test_a_json_body_with_nothing_to_redact_is_kept_byte_for_byte(redactor: Redactor) -> None:
    body = b'{"b":1,  "a":"\\u00e9"}\n'
    assert redactor.body(body, "application/json; charset=utf-8") is body


def test_a_json_body_cut_short_still_loses_its_secrets(redactor: Redactor) -> None:
    body = f'{{"id": 1, "password": "{SECRET}", "password2": 3, "note": "x'.encode()
    out = redactor.body(body, "application/json")
    assert SECRET.encode() not in out
    assert out.startswith(b'{"id": 1, "password": "[redacted]"')


def test_form_bodies(redactor: Redactor) -> None:
    body = f"user=ann&password={SECRET}&next=%2Fhome".encode()
    assert redactor.body(body, "application/x-www-form-urlencoded") == (
        f"user=ann&password={REDACTED}&next=%2Fhome".encode()
    )


@pytest.mark.parametrize(
    "content_type",
    [
        pytest.param("text/plain", id="text"),
        pytest.param("", id="none"),
        pytest.param("application/octet-stream", id="binary"),
    ],
)
def test_other_bodies_are_left_as_they_are(redactor: Redactor, content_type: str) -> None:
    body = f'{{"password": "{SECRET}"}}'.encode()
    assert redactor.body(body, content_type) == body


def test_pointers_must_be_pointers() -> None:
    with pytest.raises(CompareError, match="must be escaped"):
        Redactor(["/a~b"])


def test_readable_repr(redactor: Redactor) -> None:
    assert repr(redactor) == "Redactor(['password', 'x-api-key', '/card/number', '/items/*/token'])"


# --- differences ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("difference", "expected"),
    [
        pytest.param(
            Difference("/user/password", SECRET, MISSING),
            Difference("/user/password", REDACTED, MISSING),
            id="named-key-missing-stays-missing",
        ),
        pytest.param(
            Difference("/card/number", 1234, 5678),
            Difference("/card/number", REDACTED, REDACTED),
            id="pointer",
        ),
        pytest.param(
            Difference("/card/number/0", 1, 2),
            Difference("/card/number/0", REDACTED, REDACTED),
            id="below-a-pointer",
        ),
        pytest.param(
            Difference("/items/3/token", "a", "b"),
            Difference("/items/3/token", REDACTED, REDACTED),
            id="wildcard-pointer",
        ),
        pytest.param(
            Difference("/user", {"name": "a", "password": SECRET}, MISSING),
            Difference("/user", {"name": "a", "password": REDACTED}, MISSING),
            id="inside-an-object",
        ),
        pytest.param(
            Difference("body", {"card": {"number": SECRET}}, [1]),
            Difference("body", {"card": {"number": REDACTED}}, [1]),
            id="pointer-inside-a-whole-body",
        ),
        pytest.param(
            Difference("body", f"password={SECRET}&a=1", "a=1"),
            Difference("body", f"password={REDACTED}&a=1", "a=1"),
            id="text-body-excerpt",
        ),
        pytest.param(
            Difference("header:x-api-key", SECRET, [SECRET, "b"]),
            Difference("header:x-api-key", REDACTED, REDACTED),
            id="named-header",
        ),
        pytest.param(
            Difference("header:location", f"/a?password={SECRET}", "/a"),
            Difference("header:location", f"/a?password={REDACTED}", "/a"),
            id="location-query",
        ),
        pytest.param(
            Difference("header:set-cookie", SECRET, SECRET),
            Difference("header:set-cookie", REDACTED, REDACTED),
            id="whole-set-cookie",
        ),
        pytest.param(
            Difference("header:set-cookie:session", {"path": "/"}, MISSING),
            Difference("header:set-cookie:session", {"path": "/"}, MISSING),
            id="cookie-attributes-kept",
        ),
        pytest.param(
            Difference("header:set-cookie:password", {"path": "/"}, {"path": "/x"}),
            Difference("header:set-cookie:password", REDACTED, REDACTED),
            id="named-cookie",
        ),
        pytest.param(
            Difference("status", 200, 500), Difference("status", 200, 500), id="status-kept"
        ),
        pytest.param(
            Difference("/passwords", 1, 2), Difference("/passwords", 1, 2), id="other-key-kept"
        ),
    ],
)
def test_differences(redactor: Redactor, difference: Difference, expected: Difference) -> None:
    assert redactor.difference(difference) == expected


def test_differences_compare_finds_are_redacted(redactor: Redactor) -> None:
    legacy = Reply(200, (("content-type", "application/json"),), b'{"password": "a", "id": 1}')
    modern = Reply(200, (("content-type", "application/json"),), b'{"password": "b", "id": 2}')
    redacted = [str(redactor.difference(d)) for d in compare(legacy, modern).differences]
    assert redacted == [
        '/password: legacy "[redacted]" != modern "[redacted]"',
        "/id: legacy 1 != modern 2",
    ]


# --- nothing sensitive reaches a stored row ---------------------------------------------


def exchange_full_of_secrets() -> Exchange:
    json_type = ("content-type", "application/json")
    return Exchange(
        query=f"password={SECRET}&page=1",
        request_headers=(
            ("authorization", f"Bearer {SECRET}"),
            ("cookie", f"session={SECRET}"),
            ("x-api-key", SECRET),
            json_type,
        ),
        request_body=json.dumps({"password": SECRET, "card": {"number": SECRET}}).encode(),
        legacy=Reply(
            200,
            (json_type, ("set-cookie", f"session={SECRET}; Path=/")),
            json.dumps({"items": [{"token": SECRET}], "password": SECRET}).encode(),
        ),
        modern=Reply(
            200,
            (json_type, ("location", f"/x?password={SECRET}")),
            json.dumps({"items": [{"token": "other"}], "password": SECRET}).encode(),
        ),
    )


def test_a_stored_row_never_holds_a_redacted_value(redactor: Redactor) -> None:
    exchange = exchange_full_of_secrets()
    assert exchange.modern is not None
    differences = compare(exchange.legacy, exchange.modern).differences
    assert differences  # the token and the location differ
    observation = Observation(
        endpoint="users.login",
        method="POST",
        rule="/login",
        path="/login",
        result=ShadowResult.MISMATCH,
        legacy_status=200,
        modern_status=200,
        legacy_ms=1.0,
        modern_ms=2.0,
        differences=differences
        + (Difference("/password", SECRET, MISSING), Difference("body", f"password={SECRET}", "")),
        error=f"modern said password={SECRET}",
        exchange=exchange,
    )
    row = observation_row(observation, redactor)
    stored = json.dumps(row, default=str)
    assert SECRET not in stored
    assert stored.count(REDACTED) >= 12
    assert row["query"] == f"password={REDACTED}&page=1"
    assert json.loads(row["legacy_body"]) == {"items": [{"token": REDACTED}], "password": REDACTED}


@pytest.mark.parametrize(
    "result",
    [
        pytest.param(ShadowResult.MATCH, id="match"),
        pytest.param(ShadowResult.TIMEOUT, id="timeout"),
    ],
)
def test_only_mismatches_and_errors_keep_their_exchange(
    redactor: Redactor, result: ShadowResult
) -> None:
    observation = Observation(
        "e", "GET", "/e", "/e", result, 200, None, 1.0, None, exchange=exchange_full_of_secrets()
    )
    row: dict[str, Any] = observation_row(observation, redactor)
    assert row["request_body"] is None and row["legacy_body"] is None and row["query"] is None


def test_bodies_are_capped_after_redaction(redactor: Redactor) -> None:
    document = {"password": SECRET, "filler": "x" * (2 * BODY_LIMIT)}
    text = body_text(json.dumps(document).encode(), "application/json", redactor)
    assert SECRET not in text
    assert len(text.encode()) < BODY_LIMIT + 100
    assert text.endswith(
        f"[truncated: {len(json.dumps({**document, 'password': REDACTED}))} bytes in all]"
    )


def test_a_body_that_is_not_text_is_not_stored(redactor: Redactor) -> None:
    assert body_text(b"\xff\xfe\x00", "image/png", redactor) == (
        "[3 bytes that are not UTF-8 text: not stored]"
    )
