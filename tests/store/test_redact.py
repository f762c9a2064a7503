"""routeshift.store.redact: credentials and the names `settings.redact` lists are never stored."""

from __future__ import annotations

import json
from typing import Any

import pytest

from routeshift.compare import MISSING, Difference, Reply, compare
from routeshift.errors import CompareError
from routeshift.store.records import Exchange, Observation, ShadowResult
from routeshift.store.redact import REDACTED, Redactor, printable
from routeshift.store.rows import BODY_LIMIT, body_text, differences_json, observation_row

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


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        pytest.param(
            "location",
            f"/next?Password={SECRET}&page=2#top",
            f"/next?Password={REDACTED}&page=2#top",
            id="location",
        ),
        pytest.param(
            "Referer",
            f"https://shop.example/reset?pass%77ord={SECRET}",
            f"https://shop.example/reset?pass%77ord={REDACTED}",
            id="referer",
        ),
        pytest.param(
            "link",
            f"</p?a=1&password={SECRET}>; rel=next",
            f"</p?a=1&password={REDACTED}>; rel=next",
            id="link",
        ),
        pytest.param(
            "x-debug", f"user=ann password={SECRET}", f"user=ann password={REDACTED}", id="text"
        ),
    ],
)
def test_every_header_value_loses_the_named_values(
    redactor: Redactor, name: str, value: str, expected: str
) -> None:
    assert redactor.headers([(name, value)]) == ((name, expected),)


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
        pytest.param("text/html; charset=utf-8", id="json-sent-as-html"),
        pytest.param("text/plain", id="text"),
        pytest.param("", id="none"),
        pytest.param("application/octet-stream", id="binary-type"),
        pytest.param("application/x-www-form-urlencoded", id="form-type"),
    ],
)
def test_json_is_redacted_whatever_type_it_declares(redactor: Redactor, content_type: str) -> None:
    body = json.dumps({"password": SECRET, "card": {"number": SECRET}, "id": 1}).encode()
    assert json.loads(redactor.body(body, content_type)) == {
        "password": REDACTED,
        "card": {"number": REDACTED},
        "id": 1,
    }


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        pytest.param(
            f"user=ann&pass%77ord={SECRET}",
            "",
            f"user=ann&pass%77ord={REDACTED}",
            id="form-untyped",
        ),
        pytest.param(
            f"user=ann&password={SECRET}",
            "text/plain",
            f"user=ann&password={REDACTED}",
            id="form-text",
        ),
        pytest.param(
            f'Login failed for password={SECRET} ("password": "{SECRET}")',
            "text/html",
            f'Login failed for password={REDACTED} ("password": "{REDACTED}")',
            id="text",
        ),
        pytest.param(
            f"{{'password': '{SECRET}', 'id': 1}}",
            "text/plain",
            f"{{'password': \"{REDACTED}\", 'id': 1}}",
            id="python-repr",
        ),
    ],
)
def test_other_text_bodies_lose_the_named_values(
    redactor: Redactor, body: str, content_type: str, expected: str
) -> None:
    assert redactor.body(body.encode(), content_type).decode() == expected


def test_text_where_a_pointer_could_apply_is_a_note(redactor: Redactor) -> None:
    body = f'<script>var card = {{"number": "{SECRET}", '.encode()
    assert (
        redactor.body(body, "text/html")
        == (
            f"[{len(body)} bytes of text/html, not JSON, and a redact pointer could apply to it: "
            "not stored]"
        ).encode()
    )
    # a text without the pointers' keys is kept, redacted by name
    assert redactor.body(b"<p>hello</p>", "text/html") == b"<p>hello</p>"


def multipart(*parts: tuple[str, str, bytes]) -> bytes:
    """A multipart/form-data body with boundary XyZ: (name, content type, content)."""
    chunks = []
    for name, content_type, content in parts:
        head = f'--XyZ\r\nContent-Disposition: form-data; name="{name}"'
        if content_type:
            head += f'; filename="{name}.bin"\r\nContent-Type: {content_type}'
        chunks.append(head.encode() + b"\r\n\r\n" + content + b"\r\n")
    return b"".join(chunks) + b"--XyZ--\r\n"


def test_multipart_fields_are_redacted_by_name(redactor: Redactor) -> None:
    body = multipart(
        ("user", "", b"ann"),
        ("Password", "", SECRET.encode()),
        ("meta", "application/json", json.dumps({"card": {"number": SECRET}}).encode()),
        ("notes", "text/plain", f"password={SECRET}".encode()),
        ("photo", "image/png", b"\x89PNG\r\n\x1a\n\xff" + SECRET.encode()),
    )
    out = redactor.body(body, "multipart/form-data; boundary=XyZ").decode()
    assert SECRET not in out
    parts = out.split("--XyZ")
    assert parts[1].endswith('name="user"\r\n\r\nann\r\n')
    assert parts[2].endswith(f'name="Password"\r\n\r\n{REDACTED}\r\n')
    assert f'{{"card": {{"number": "{REDACTED}"}}}}' in parts[3]
    assert f"password={REDACTED}" in parts[4]
    assert "[21 bytes of image/png, not UTF-8 text: not stored]" in parts[5]
    assert parts[6] == "--"


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        pytest.param(
            multipart(("password", "", SECRET.encode()))[:-9],
            "multipart/form-data; boundary=XyZ",
            id="cut-short",
        ),
        pytest.param(
            f"password={SECRET}".encode(), "multipart/form-data; boundary=XyZ", id="no-parts"
        ),
        pytest.param(
            multipart(("password", "", SECRET.encode())), "multipart/form-data", id="no-boundary"
        ),
    ],
)
def test_multipart_that_does_not_parse_is_a_note(
    redactor: Redactor, body: bytes, content_type: str
) -> None:
    assert (
        redactor.body(body, content_type)
        == (
            f"[{len(body)} bytes of multipart/form-data, multipart that does not parse: not stored]"
        ).encode()
    )


@pytest.mark.parametrize(
    "redactor",
    [pytest.param(Redactor(), id="no-rules"), pytest.param(Redactor(["password"]), id="rules")],
)
def test_a_body_that_is_not_text_is_a_note_never_the_bytes(redactor: Redactor) -> None:
    body = b"\xff\xd8" + SECRET.encode()
    assert redactor.body(body, "") == (
        f"[{len(body)} bytes of no declared type, not UTF-8 text: not stored]".encode()
    )


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
            Difference("header:referer", [f"/a?password={SECRET}", "/b"], MISSING),
            Difference("header:referer", [f"/a?password={REDACTED}", "/b"], MISSING),
            id="any-header-query",
        ),
        pytest.param(
            Difference("body", f'{{"card": {{"number": "{SECRET}"}}}}', "{}"),
            Difference("body", f'{{"card": {{"number": "{REDACTED}"}}}}', "{}"),
            id="text-body-that-is-json-gets-pointers",
        ),
        pytest.param(
            Difference("body", f'{{"card": {{"number": "{SECRET}"... (900 characters)', "{}"),
            Difference("body", REDACTED, "{}"),
            id="text-body-excerpt-a-pointer-could-apply-to",
        ),
        pytest.param(
            Difference("/note", f"see /reset?password={SECRET}", "x"),
            Difference("/note", f"see /reset?password={REDACTED}", "x"),
            id="text-in-a-json-string",
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
        "[3 bytes of image/png, not UTF-8 text: not stored]"
    )


def test_a_text_body_difference_never_holds_a_pointed_value(redactor: Redactor) -> None:
    """A legacy view sends JSON as text/html: compare finds a text `body` difference, and
    the pointers still apply to it (status.json's latest_mismatch shows it)."""
    html = (("content-type", "text/html"),)
    card = {"card": {"number": SECRET, "expiry": "12/30"}, "filler": "x" * 400}
    legacy = Reply(200, html, json.dumps(card).encode())
    modern = Reply(200, html, json.dumps({**card, "id": 2}).encode())
    (difference,) = compare(legacy, modern).differences
    assert difference.where == "body" and SECRET in str(difference)  # an excerpt, cut
    assert SECRET not in differences_json([difference], redactor)


# --- error messages ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        pytest.param(
            "ValueError: invalid literal for int() with base 10: '9876x'",
            f"ValueError: invalid literal for int() with base 10: {REDACTED}",
            id="quoted-literal",
        ),
        pytest.param("KeyError: 'pin'", f"KeyError: {REDACTED}", id="key"),
        pytest.param(
            "ValidationError: 1 validation error for Pin\npin\n  Input should be a valid "
            "integer [type=int_parsing, input_value=9876, input_type=int]",
            "ValidationError: 1 validation error for Pin | pin | Input should be a valid "
            f"integer [type=int_parsing, input_value={REDACTED}, input_type=int]",
            id="pydantic-one-line",
        ),
        pytest.param(
            f"RuntimeError: card 4111111111111111 refused for password={SECRET}",
            f"RuntimeError: card {REDACTED} refused for password={REDACTED}",
            id="numbers-and-names",
        ),
        pytest.param(
            "ConnectError: GET http://api:8080/x?password=hunter2 with key "
            "sk_live_4eC39HqLyjWDarjtT1zdp7dc failed",
            f"ConnectError: GET http://api:8080/x?password={REDACTED} with key {REDACTED} failed",
            id="url-and-token",
        ),
        pytest.param("ValueError: \x1b[2Jgone", "ValueError: \\x1b[2Jgone", id="escapes"),
        pytest.param("Exception: ", "Exception", id="no-message"),
        pytest.param("no reply in 2 s", "no reply in 2 s", id="shadow-timeout"),
        pytest.param(
            "the modern app's call was cancelled",
            "the modern app's call was cancelled",
            id="apostrophe-kept",
        ),
        pytest.param(
            "the modern app returned without a response",
            "the modern app returned without a response",
            id="shadow-own",
        ),
    ],
)
def test_errors_keep_their_type_and_lose_the_values(
    redactor: Redactor, error: str, expected: str
) -> None:
    assert redactor.error(error) == expected


def test_a_stored_error_loses_the_request_s_values(redactor: Redactor) -> None:
    observation = Observation(
        "e",
        "GET",
        "/e",
        "/e",
        ShadowResult.ERROR,
        200,
        None,
        1.0,
        None,
        error="ValueError: invalid literal for int() with base 10: '9876x'",
    )
    assert observation_row(observation, redactor)["error"] == (
        f"ValueError: invalid literal for int() with base 10: {REDACTED}"
    )


def test_printable_escapes_what_a_terminal_would_act_on() -> None:
    assert printable("a\x1b]0;owned\x07b\rc\x9b\u202ed\tok é 👍") == (
        "a\\x1b]0;owned\\x07b\\x0dc\\x9b\\u202ed\tok é 👍"
    )
