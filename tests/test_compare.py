"""routeshift.compare: a legacy (Flask) and a modern (FastAPI) reply differ exactly where
a client would notice, named by status, header or RFC 6901 pointer."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi import Response as FastAPIResponse
from fastapi.encoders import jsonable_encoder
from fastapi.responses import HTMLResponse, JSONResponse
from flask import Flask, abort, jsonify, make_response, request
from pydantic import BaseModel, Field
from starlette.responses import Response as StarletteResponse
from werkzeug.wrappers import Response as WerkzeugResponse

from routeshift.compare import (
    DEFAULT_NORMALISERS,
    MISSING,
    Accepted,
    Comparison,
    Difference,
    Reply,
    Rules,
    check_pointer,
    compare,
    content_type_key,
    diff,
    escape,
    normalisers,
    pointer_matches,
    resolve,
    tolerance,
)
from routeshift.errors import CompareError
from routeshift.tolerance import Tolerance, Within

JSON = (("content-type", "application/json"),)
HTML = (("content-type", "text/html; charset=utf-8"),)
DATES = Rules.build(normalise=["dates"])
CREATED = dt.datetime(2024, 1, 2, 3, 4, 5)
PLUS_ONE = dt.timezone(dt.timedelta(hours=1))


# --- building replies -------------------------------------------------------------------


def reply(
    status: int = 200, headers: tuple[tuple[str, str], ...] = (), body: bytes | str = b""
) -> Reply:
    data = body.encode() if isinstance(body, str) else body
    return Reply(status, tuple((k.lower(), v) for k, v in headers), data)


def json_reply(body: str, status: int = 200, headers: tuple[tuple[str, str], ...] = ()) -> Reply:
    return reply(status, JSON + headers, body)


def from_werkzeug(response: WerkzeugResponse) -> Reply:
    headers = tuple((k.lower(), v) for k, v in response.headers.items())
    return Reply(response.status_code, headers, response.get_data())


def from_starlette(response: StarletteResponse) -> Reply:
    headers = tuple((k.decode("latin-1"), v.decode("latin-1")) for k, v in response.raw_headers)
    return Reply(response.status_code, headers, bytes(response.body))


def from_httpx(response: httpx.Response) -> Reply:
    headers = tuple((k.lower(), v) for k, v in response.headers.multi_items())
    return Reply(response.status_code, headers, response.content)


def flask_json(value: Any, status: int = 200) -> Reply:
    """What Flask's jsonify renders for `value` (sorted keys, ensure_ascii, RFC 822 dates)."""
    with Flask(__name__).app_context():
        response = jsonify(value)
    response.status_code = status
    return from_werkzeug(response)


def fastapi_json(value: Any, status: int = 200) -> Reply:
    """What FastAPI renders for `value` returned from a route (ISO dates, UTF-8)."""
    return from_starlette(JSONResponse(jsonable_encoder(value), status_code=status))


def call_asgi(app: FastAPI, method: str, path: str, **kwargs: Any) -> Reply:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            return await client.request(method, path, **kwargs)

    return from_httpx(asyncio.run(go()))


def messages(comparison: Comparison) -> list[str]:
    return [str(d) for d in comparison.differences]


def wheres(comparison: Comparison) -> list[str]:
    return [d.where for d in comparison.differences]


# --- the example pair: a Flask app and its FastAPI port ---------------------------------

USER: dict[str, Any] = {
    "id": 7,
    "name": "Zoë Müller",
    "email": "zoe@example.com",
    "tags": ["café", "naïve"],
    "address": {"city": "Zürich", "zip": "8001"},
    "score": 1.5,
    "active": True,
    "manager": None,
}


class UserIn(BaseModel):
    name: str
    age: int = Field(ge=0)


class User(BaseModel):
    id: int
    name: str
    email: str
    tags: list[str]
    address: dict[str, str]
    score: float
    active: bool
    manager: str | None
    created_at: dt.datetime


@pytest.fixture
def legacy_app() -> Flask:
    app = Flask("legacy")

    @app.get("/users/<int:user_id>")
    def get_user(user_id: int) -> Any:
        return jsonify({**USER, "id": user_id, "created_at": CREATED})

    @app.post("/users")
    def create_user() -> Any:
        data = request.get_json()
        if data.get("age", 0) < 0:
            abort(400)
        headers = {"Location": "/users/7", "Cache-Control": "no-store"}
        return jsonify({"id": 7, "name": data["name"]}), 201, headers

    @app.get("/missing")
    def missing() -> Any:
        abort(404)

    return app


@pytest.fixture
def modern_app() -> FastAPI:
    app = FastAPI()

    @app.get("/users/{user_id}", response_model=User)
    def get_user(user_id: int) -> Any:
        return {**USER, "id": user_id, "created_at": CREATED}

    @app.post("/users", status_code=201)
    def create_user(body: UserIn, response: FastAPIResponse) -> dict[str, Any]:
        response.headers["Location"] = "/users/7"
        response.headers["Cache-Control"] = "no-store"
        return {"id": 7, "name": body.name}

    @app.post("/sloppy/users")  # the port that forgot the 201, Location and Cache-Control
    def create_user_sloppy(body: UserIn) -> dict[str, Any]:
        return {"id": 7, "name": body.name}

    return app


def test_example_pair_differs_only_in_date_format(legacy_app: Flask, modern_app: FastAPI) -> None:
    legacy = from_werkzeug(legacy_app.test_client().get("/users/7"))
    modern = call_asgi(modern_app, "GET", "/users/7")
    assert legacy.body != modern.body  # key order, escapes, newline, dates all differ
    assert messages(compare(legacy, modern)) == [
        '/created_at: legacy "Tue, 02 Jan 2024 03:04:05 GMT" != modern "2024-01-02T03:04:05"'
    ]
    assert compare(legacy, modern, DATES).equal


def test_example_pair_faithful_create_is_equal(legacy_app: Flask, modern_app: FastAPI) -> None:
    legacy = from_werkzeug(legacy_app.test_client().post("/users", json={"name": "Zoë", "age": 3}))
    modern = call_asgi(modern_app, "POST", "/users", json={"name": "Zoë", "age": 3})
    comparison = compare(legacy, modern)
    assert comparison.equal, messages(comparison)
    assert comparison == Comparison()


def test_example_pair_sloppy_create_names_each_slip(legacy_app: Flask, modern_app: FastAPI) -> None:
    legacy = from_werkzeug(legacy_app.test_client().post("/users", json={"name": "Zoë", "age": 3}))
    modern = call_asgi(modern_app, "POST", "/sloppy/users", json={"name": "Zoë", "age": 3})
    assert messages(compare(legacy, modern)) == [
        "status: legacy 201 != modern 200",
        'header:location: legacy "/users/7" != modern (missing)',
        'header:cache-control: legacy "no-store" != modern (missing)',
    ]


def test_example_pair_validation_error_json_vs_html(legacy_app: Flask, modern_app: FastAPI) -> None:
    legacy = from_werkzeug(legacy_app.test_client().post("/users", json={"name": "A", "age": -1}))
    modern = call_asgi(modern_app, "POST", "/users", json={"name": "A", "age": -1})
    comparison = compare(legacy, modern)
    assert wheres(comparison) == ["status", "header:content-type", "body"]
    status, content_type, body = comparison.differences
    assert str(status) == "status: legacy 400 != modern 422"
    assert str(content_type) == (
        'header:content-type: legacy "text/html; charset=utf-8" != modern "application/json"'
    )
    assert body.legacy.startswith("<!doctype html>")
    assert body.modern.startswith('{"detail":[')

    declared = Rules.build(
        accept=[
            Accepted("status", legacy=400, modern=422, why="FastAPI validation"),
            Accepted("header:content-type", modern="application/json", why="JSON errors"),
            Accepted("body", why="FastAPI's error body"),
        ]
    )
    accepted = compare(legacy, modern, declared)
    assert accepted.equal
    assert [(d.where, a.what) for d, a in accepted.accepted] == [
        ("status", "status"),
        ("header:content-type", "header:content-type"),
        ("body", "body"),
    ]

    only_status = compare(legacy, modern, Rules.build(accept=[declared.accept[0]]))
    assert wheres(only_status) == ["header:content-type", "body"]
    assert [d.where for d, _ in only_status.accepted] == ["status"]


def test_example_pair_html_error_page_without_trailing_newline(legacy_app: Flask) -> None:
    legacy = from_werkzeug(legacy_app.test_client().get("/missing"))
    page = legacy.body.decode()
    assert page.endswith("\n")
    modern = from_starlette(HTMLResponse(page.rstrip("\n"), status_code=404))
    assert compare(legacy, modern).equal
    strict = compare(legacy, modern, Rules.build(normalise=["no-trailing_newline"]))
    assert wheres(strict) == ["body"]
    assert strict.differences[0].legacy == page
    assert strict.differences[0].modern == page.rstrip("\n")


# --- Flask's jsonify and FastAPI's JSONResponse for the same data -----------------------


@pytest.mark.parametrize(
    "value",
    [
        pytest.param({"b": 1, "a": 2, "c": {"z": 1, "y": [1, 2]}}, id="key-order"),
        pytest.param({"name": "café", "city": "Zürich"}, id="ensure-ascii"),
        pytest.param({"emoji": "😀 ok", "cjk": "東京"}, id="outside-bmp-and-cjk"),
        pytest.param({"naïve-key": "é"}, id="non-ascii-key"),
        pytest.param([{"id": 2}, {"id": 1}], id="top-level-list"),
        pytest.param({"n": None, "t": True, "f": 1.25, "i": -3, "s": ""}, id="scalars"),
        pytest.param({}, id="empty-object"),
        pytest.param({"quote": 'a "b" \\ c', "tab": "a\tb"}, id="escapes"),
    ],
)
def test_jsonify_equals_json_response(value: Any) -> None:
    legacy, modern = flask_json(value), fastapi_json(value)
    assert legacy.body.endswith(b"\n") and not modern.body.endswith(b"\n")
    assert compare(legacy, modern) == Comparison()


@pytest.mark.parametrize(
    "value",
    [
        pytest.param({"a": 1, "b": "café"}, id="ensure-ascii"),
        pytest.param({"a": "😀", "b": "x😀y"}, id="surrogate-pairs"),
        pytest.param({"a": [1, {"b": None}]}, id="nested"),
    ],
)
def test_jsonify_equals_json_response_as_text(value: Any) -> None:
    """With JSON parsing off, escapes and the newline are still normalised (sorted input,
    so that Flask's sort_keys changes nothing)."""
    legacy, modern = flask_json(value), fastapi_json(value)
    assert legacy.body != modern.body
    assert compare(legacy, modern, Rules.build(normalise=["no-json"])).equal


def test_no_json_compares_text_so_key_order_counts() -> None:
    legacy, modern = flask_json({"b": 1, "a": 2}), fastapi_json({"b": 1, "a": 2})
    assert compare(legacy, modern).equal
    comparison = compare(legacy, modern, Rules.build(normalise=["no-json"]))
    assert messages(comparison) == [
        'body: legacy "{\\"a\\":2,\\"b\\":1}" != modern "{\\"b\\":1,\\"a\\":2}"'
    ]


def test_no_ensure_ascii_makes_escapes_count_in_text() -> None:
    legacy, modern = flask_json({"a": "é"}), fastapi_json({"a": "é"})
    comparison = compare(legacy, modern, Rules.build(normalise=["no-json", "no-ensure_ascii"]))
    assert messages(comparison) == [
        'body: legacy "{\\"a\\":\\"\\\\u00e9\\"}" != modern "{\\"a\\":\\"é\\"}"'
    ]


# --- dates --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "rendered"),
    [
        pytest.param(CREATED, "2024-01-02T03:04:05", id="naive"),
        pytest.param(CREATED.replace(tzinfo=dt.UTC), "2024-01-02T03:04:05+00:00", id="utc"),
        pytest.param(CREATED.replace(tzinfo=PLUS_ONE), "2024-01-02T03:04:05+01:00", id="offset"),
        pytest.param(dt.date(2024, 1, 2), "2024-01-02", id="date"),
    ],
)
def test_flask_and_fastapi_dates(value: dt.date, rendered: str) -> None:
    legacy, modern = flask_json({"created_at": value}), fastapi_json({"created_at": value})
    (difference,) = compare(legacy, modern).differences
    assert difference.where == "/created_at"
    assert difference.modern == rendered
    assert difference.legacy.endswith(" GMT")
    assert compare(legacy, modern, DATES).equal


def test_pydantic_utc_z_equals_flask_gmt() -> None:
    class Event(BaseModel):
        at: dt.datetime

    modern_app = FastAPI()

    @modern_app.get("/event", response_model=Event)
    def event() -> Any:
        return {"at": CREATED.replace(tzinfo=dt.UTC)}

    modern = call_asgi(modern_app, "GET", "/event")
    assert modern.body == b'{"at":"2024-01-02T03:04:05Z"}'
    legacy = flask_json({"at": CREATED.replace(tzinfo=dt.UTC)})
    assert wheres(compare(legacy, modern)) == ["/at"]
    assert compare(legacy, modern, DATES).equal


GMT = "Tue, 02 Jan 2024 03:04:05 GMT"


@pytest.mark.parametrize(
    ("legacy", "modern", "equal"),
    [
        pytest.param(GMT, "2024-01-02T03:04:05", True, id="naive-is-utc"),
        pytest.param(GMT, "2024-01-02T03:04:05Z", True, id="z"),
        pytest.param(GMT, "2024-01-02T03:04:05+00:00", True, id="utc-offset"),
        pytest.param(GMT, "2024-01-02T04:04:05+01:00", True, id="plus-one"),
        pytest.param(GMT, "2024-01-01T22:04:05-05:00", True, id="minus-five-day-before"),
        pytest.param(GMT, "2024-01-02T04:04:05+0100", True, id="offset-without-colon"),
        pytest.param(GMT, "2024-01-02 03:04:05", True, id="space-separator"),
        pytest.param(GMT, "2024-01-02T03:04:05.000", True, id="zero-fraction"),
        pytest.param("Tue, 02 Jan 2024 04:04:05 +0100", "2024-01-02T03:04:05", True, id="rfc-num"),
        pytest.param("Tue, 02 Jan 2024 00:00:00 GMT", "2024-01-02", True, id="date-midnight"),
        pytest.param(GMT, "2024-01-02T03:04:06", False, id="one-second-later"),
        pytest.param(GMT, "2024-01-02T03:04:05+01:00", False, id="same-clock-other-zone"),
        pytest.param(GMT, "2024-01-02T03:04:05.5", False, id="fraction-lost"),
        pytest.param(GMT, "2024-01-02", False, id="date-not-midnight"),
        pytest.param(GMT, "yesterday", False, id="not-a-date"),
        pytest.param("Tue, 32 Jan 2024 03:04:05 GMT", "2024-02-01T03:04:05", False, id="day-32"),
        pytest.param(
            "Tue, 02 Foo 2024 03:04:05 GMT", "Tue, 02 Foo 2024 03:04:05 GMT", True, id="bad"
        ),
        pytest.param("2024-13-01T00:00", "2024-13-01T00:00", True, id="month-13-same-text"),
    ],
)
def test_dates_normaliser(legacy: str, modern: str, equal: bool) -> None:
    a = reply(200, JSON, f'{{"at": "{legacy}"}}')
    b = reply(200, JSON, f'{{"at": "{modern}"}}')
    assert compare(a, b, DATES).equal is equal
    assert compare(a, b).equal is (legacy == modern)


def test_dates_normaliser_reports_what_each_side_sent() -> None:
    legacy = json_reply(f'{{"created_at": "{GMT}", "events": [{{"at": "{GMT}"}}]}}')
    modern = json_reply('{"created_at": "2024-01-02T03:04:06", "events": [{"at": "2024-01-02"}]}')
    assert messages(compare(legacy, modern, DATES)) == [
        f'/created_at: legacy "{GMT}" != modern "2024-01-02T03:04:06"',
        f'/events/0/at: legacy "{GMT}" != modern "2024-01-02"',
    ]


def test_dates_normaliser_keeps_other_differences() -> None:
    legacy = json_reply(f'{{"at": "{GMT}", "n": 1, "gone": 2}}')
    modern = json_reply('{"at": "2024-01-02T03:04:05", "n": "1"}')
    assert messages(compare(legacy, modern, DATES)) == [
        '/n: legacy 1 != modern "1"',
        "/gone: legacy 2 != modern (missing)",
    ]


# --- tolerances: a time or a number each side computes, compared within a margin -------

SEEN = Rules.build(normalise=[{"within": "2s", "at": "/last_seen"}])


@pytest.mark.parametrize(
    ("modern", "equal"),
    [
        pytest.param('"2024-01-02T03:04:06Z"', True, id="iso-1s-later"),
        pytest.param('"2024-01-02T03:04:03.5+00:00"', True, id="iso-1.5s-earlier"),
        pytest.param('"2024-01-02T04:04:07+01:00"', True, id="other-offset-2s"),
        pytest.param('"Tue, 02 Jan 2024 03:04:06 GMT"', True, id="rfc822-1s"),
        pytest.param('"2024-01-02T03:04:08Z"', False, id="3s-apart"),
        pytest.param('"2024-01-02T03:04:05.001"', True, id="naive-is-utc"),
        pytest.param('"soon"', False, id="not-a-date"),
        pytest.param("1704164645", False, id="a-number"),
        pytest.param("null", False, id="null"),
    ],
)
def test_a_time_within_its_margin_is_equal(modern: str, equal: bool) -> None:
    legacy = json_reply(f'{{"last_seen": "{GMT}", "n": 1}}')
    comparison = compare(legacy, json_reply(f'{{"last_seen": {modern}, "n": 1}}'), SEEN)
    assert comparison.equal is equal
    if not equal:  # said with what each side sent
        assert [d.where for d in comparison.differences] == ["/last_seen"]
        assert comparison.differences[0].legacy == GMT
        assert comparison.ignored == ()  # compared, never ignored


def test_a_missing_time_still_differs() -> None:
    legacy = json_reply(f'{{"last_seen": "{GMT}"}}')
    assert messages(compare(legacy, json_reply("{}"), SEEN)) == [
        f'/last_seen: legacy "{GMT}" != modern (missing)'
    ]
    assert not compare(json_reply("{}"), legacy, SEEN).equal


def test_a_tolerance_covers_its_pointer_only() -> None:
    legacy = json_reply(f'{{"last_seen": "{GMT}", "created": "{GMT}", "meta": {{"x": 1}}}}')
    modern = json_reply(
        '{"last_seen": "2024-01-02T03:04:06Z", "created": "2024-01-02T03:04:06Z", '
        '"meta": {"x": 1.001}}'
    )
    rules = Rules.build(normalise=[{"within": "2s", "at": "/last_seen"}, {"within": 1, "at": ""}])
    assert [d.where for d in compare(legacy, modern, rules).differences] == [
        "/created",
        "/meta/x",
    ]


@pytest.mark.parametrize(
    ("legacy", "modern", "equal"),
    [
        pytest.param("9.99", "10.0", True, id="within"),
        pytest.param("1.0", "1.01", True, id="at-the-margin"),
        pytest.param("10", "10.005", True, id="int-and-float"),
        pytest.param("1.0", "1.02", False, id="past-the-margin"),
        pytest.param("1", "true", False, id="bool-is-not-a-number"),
        pytest.param("1.0", '"1.0"', False, id="text"),
    ],
)
def test_a_number_within_its_margin_is_equal(legacy: str, modern: str, equal: bool) -> None:
    rules = Rules.build(normalise=[{"within": 0.01, "at": "/items/*/price"}])
    body = '{{"items": [{{"price": 5}}, {{"price": {}}}]}}'
    comparison = compare(json_reply(body.format(legacy)), json_reply(body.format(modern)), rules)
    assert comparison.equal is equal
    assert all(d.where == "/items/1/price" for d in comparison.differences)


def test_a_tolerance_with_the_dates_normaliser() -> None:
    """dates makes the other dates equal across formats; the tolerance, "now" too."""
    rules = Rules.build(normalise=["dates", {"within": "500ms", "at": "/last_seen"}])
    legacy = json_reply(f'{{"created": "{GMT}", "last_seen": "{GMT}"}}')
    modern = json_reply('{"created": "2024-01-02T03:04:05", "last_seen": "2024-01-02T03:04:05.4"}')
    assert compare(legacy, modern, rules).equal
    later = json_reply('{"created": "2024-01-02T03:04:05", "last_seen": "2024-01-02T03:04:06"}')
    assert messages(compare(legacy, later, rules)) == [
        f'/last_seen: legacy "{GMT}" != modern "2024-01-02T03:04:06"'
    ]


def test_tolerances_are_normalisers_of_the_rules() -> None:
    """In `normalise`, so that what copies the normalisers (the harness's legacy-twice
    noise check) compares with the margins too."""
    rules = Rules.build(normalise=["dates", {"within": "2s", "at": "/last_seen"}])
    assert Tolerance("/last_seen", 2.0, Within.TIME) in rules.normalise
    assert "dates" in rules.normalise
    again = Rules(rules.ignore, rules.normalise)
    legacy = json_reply(f'{{"last_seen": "{GMT}"}}')
    assert compare(legacy, json_reply('{"last_seen": "2024-01-02T03:04:06Z"}'), again).equal
    made = Tolerance("/price", 0.01)
    assert made in normalisers([made])  # a Tolerance itself is taken as it is


@pytest.mark.parametrize(
    ("item", "message"),
    [
        pytest.param({"within": "2s", "at": "last_seen"}, "at: 'last_seen' is not a JSON pointer"),
        pytest.param({"within": "2s", "at": "/a~2"}, "at: '/a~2': '~' must be escaped"),
        pytest.param({"within": "2 weeks", "at": "/a"}, "neither a duration"),
        pytest.param({"within": "-2s", "at": "/a"}, "is negative"),
        pytest.param({"within": -1, "at": "/a"}, "is negative"),
        pytest.param({"within": "2s", "at": "/a", "every": 1}, "unknown key 'every'"),
        pytest.param({"at": "/a"}, "a tolerance needs within"),
    ],
)
def test_malformed_tolerance(item: dict[str, Any], message: str) -> None:
    with pytest.raises(CompareError, match=re.escape(message)):
        Rules.build(normalise=[item])
    with pytest.raises(CompareError, match=re.escape(message)):
        tolerance(item)


# --- deliberately wrong ports -------------------------------------------------------------


@pytest.mark.parametrize(
    ("legacy", "modern", "expected"),
    [
        pytest.param(
            json_reply('{"id": 1, "username": "ann"}'),
            json_reply('{"id": 1, "user_name": "ann"}'),
            [
                '/username: legacy "ann" != modern (missing)',
                '/user_name: legacy (missing) != modern "ann"',
            ],
            id="renamed-field",
        ),
        pytest.param(
            json_reply('{"id": 1}', status=201),
            json_reply('{"id": 1}', status=200),
            ["status: legacy 201 != modern 200"],
            id="status",
        ),
        pytest.param(
            json_reply("{}", status=302, headers=(("Location", "/users/1"),)),
            json_reply("{}", status=302),
            ['header:location: legacy "/users/1" != modern (missing)'],
            id="missing-location",
        ),
        pytest.param(
            json_reply("{}", status=302, headers=(("Location", "/users/1"),)),
            json_reply("{}", status=302, headers=(("Location", "http://testserver/users/1"),)),
            ['header:location: legacy "/users/1" != modern "http://testserver/users/1"'],
            id="absolute-location",
        ),
        pytest.param(
            json_reply("{}", headers=(("Cache-Control", "no-store"),)),
            json_reply("{}"),
            ['header:cache-control: legacy "no-store" != modern (missing)'],
            id="missing-cache-control",
        ),
        pytest.param(
            json_reply("{}"),
            json_reply("{}", headers=(("Cache-Control", "max-age=60"),)),
            ['header:cache-control: legacy (missing) != modern "max-age=60"'],
            id="extra-cache-control",
        ),
        pytest.param(
            json_reply(f'{{"created_at": "{GMT}"}}'),
            json_reply('{"created_at": "2024-01-02T03:04:05"}'),
            [f'/created_at: legacy "{GMT}" != modern "2024-01-02T03:04:05"'],
            id="date-format",
        ),
        pytest.param(
            json_reply('{"price": 10}'),
            json_reply('{"price": 10.0}'),
            ["/price: legacy 10 != modern 10.0"],
            id="int-became-float",
        ),
        pytest.param(
            json_reply('{"id": "7"}'),
            json_reply('{"id": 7}'),
            ['/id: legacy "7" != modern 7'],
            id="string-became-int",
        ),
        pytest.param(
            json_reply('{"manager": null}'),
            json_reply("{}"),
            ["/manager: legacy null != modern (missing)"],
            id="null-dropped",
        ),
        pytest.param(
            json_reply('{"user": {"b": 2, "a": "é"}}'),
            json_reply('{"user": null}'),
            ['/user: legacy {"a": "é", "b": 2} != modern null'],
            id="object-became-null",
        ),
        pytest.param(
            json_reply('{"items": [1, 2, 3]}'),
            json_reply('{"items": [1, 2]}'),
            ["/items/2: legacy 3 != modern (missing)"],
            id="list-shorter",
        ),
        pytest.param(
            json_reply('{"items": []}'),
            json_reply('{"items": [{"id": 1}]}'),
            ['/items/0: legacy (missing) != modern {"id": 1}'],
            id="list-longer",
        ),
        pytest.param(
            json_reply('{"items": [1, 2]}'),
            json_reply('{"items": {"0": 1, "1": 2}}'),
            ['/items: legacy [1, 2] != modern {"0": 1, "1": 2}'],
            id="list-became-object",
        ),
        pytest.param(
            json_reply("[]"),
            json_reply("{}"),
            ["body: legacy [] != modern {}"],
            id="root-type",
        ),
        pytest.param(
            json_reply("1"),
            json_reply("2"),
            ["body: legacy 1 != modern 2"],
            id="root-scalar",
        ),
    ],
)
def test_wrong_port_is_caught(legacy: Reply, modern: Reply, expected: list[str]) -> None:
    comparison = compare(legacy, modern)
    assert messages(comparison) == expected
    assert not comparison.equal


# --- JSON pointers ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("legacy", "modern", "expected"),
    [
        pytest.param(
            {"items": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]},
            {"items": [{"id": 1, "name": "a"}, {"id": 3, "name": "b"}]},
            [("/items/1/id", 2, 3)],
            id="nested-list-of-objects",
        ),
        pytest.param(
            {"a": {"b": {"c": [[0, 1]]}}},
            {"a": {"b": {"c": [[0, 2]]}}},
            [("/a/b/c/0/1", 1, 2)],
            id="deep",
        ),
        pytest.param({"a/b": 1}, {"a/b": 2}, [("/a~1b", 1, 2)], id="slash-escaped"),
        pytest.param({"a~b": 1}, {"a~b": 2}, [("/a~0b", 1, 2)], id="tilde-escaped"),
        pytest.param({"~/": 1}, {"~/": 2}, [("/~0~1", 1, 2)], id="tilde-before-slash"),
        pytest.param({"": 1}, {"": 2}, [("/", 1, 2)], id="empty-key"),
        pytest.param({"n": 1}, {"n": 1.0}, [("/n", 1, 1.0)], id="int-vs-float"),
        pytest.param({"n": 1}, {"n": True}, [("/n", 1, True)], id="int-vs-bool"),
        pytest.param({"n": 0}, {"n": False}, [("/n", 0, False)], id="zero-vs-false"),
        pytest.param({"n": 1.0}, {"n": True}, [("/n", 1.0, True)], id="float-vs-bool"),
        pytest.param({"n": None}, {"n": False}, [("/n", None, False)], id="null-vs-false"),
        pytest.param({"n": ""}, {"n": None}, [("/n", "", None)], id="empty-vs-null"),
        pytest.param([1, 2, 3], [1], [("/1", 2, MISSING), ("/2", 3, MISSING)], id="list-length"),
        pytest.param([1, 2], [2, 1], [("/0", 1, 2), ("/1", 2, 1)], id="list-order-counts"),
        pytest.param({"a": 1, "b": 2}, {"b": 2, "a": 1}, [], id="key-order-does-not"),
        pytest.param({"n": 1.5}, {"n": 1.5}, [], id="equal-floats"),
        pytest.param(
            {"x": 1, "y": 2},
            {"z": 3, "y": 2, "w": 4},
            [("/x", 1, MISSING), ("/z", MISSING, 3), ("/w", MISSING, 4)],
            id="legacy-keys-first",
        ),
    ],
)
def test_diff_pointers(legacy: Any, modern: Any, expected: list[tuple[str, Any, Any]]) -> None:
    found = list(diff(legacy, modern))
    assert found == expected
    # == alone would take 1 == 1.0 == True; the types must match too
    assert [tuple(type(v) for v in row) for row in found] == [
        tuple(type(v) for v in row) for row in expected
    ]


@pytest.mark.parametrize(
    ("token", "escaped"),
    [
        pytest.param("plain", "plain", id="plain"),
        pytest.param("a/b", "a~1b", id="slash"),
        pytest.param("a~b", "a~0b", id="tilde"),
        pytest.param("~1", "~01", id="tilde-one-literal"),
        pytest.param("/~", "~1~0", id="both"),
    ],
)
def test_escape_and_resolve_round_trip(token: str, escaped: str) -> None:
    assert escape(token) == escaped
    assert resolve({token: [10, 20]}, f"/{escaped}/1") == 20


@pytest.mark.parametrize(
    ("pointer", "expected"),
    [
        pytest.param("", {"a": [1, {"b": 2}]}, id="root"),
        pytest.param("/a/1/b", 2, id="nested"),
        pytest.param("/a/2", MISSING, id="index-past-end"),
        pytest.param("/a/-1", MISSING, id="negative-index"),
        pytest.param("/a/x", MISSING, id="key-into-list"),
        pytest.param("/c", MISSING, id="missing-key"),
        pytest.param("/a/0/b", MISSING, id="into-scalar"),
    ],
)
def test_resolve(pointer: str, expected: Any) -> None:
    assert resolve({"a": [1, {"b": 2}]}, pointer) == expected


# --- ignore --------------------------------------------------------------------------------

ITEMS_LEGACY = json_reply(
    '{"items": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}],'
    ' "meta": {"took": 3, "page": {"n": 1}}, "metadata": 1}'
)
ITEMS_MODERN = json_reply(
    '{"items": [{"id": 9, "name": "a"}, {"id": 8, "name": "B"}],'
    ' "meta": {"took": 5, "page": {"n": 2}, "x": 1}, "metadata": 2}',
    status=201,
)


@pytest.mark.parametrize(
    ("ignore", "failing", "ignored"),
    [
        pytest.param(
            [],
            [
                "status",
                "/items/0/id",
                "/items/1/id",
                "/items/1/name",
                "/meta/took",
                "/meta/page/n",
                "/meta/x",
                "/metadata",
            ],
            [],
            id="nothing-ignored",
        ),
        pytest.param(
            ["/items/*/id"],
            ["status", "/items/1/name", "/meta/took", "/meta/page/n", "/meta/x", "/metadata"],
            ["/items/0/id", "/items/1/id"],
            id="wildcard-index",
        ),
        pytest.param(
            ["/items/0/id"],
            [
                "status",
                "/items/1/id",
                "/items/1/name",
                "/meta/took",
                "/meta/page/n",
                "/meta/x",
                "/metadata",
            ],
            ["/items/0/id"],
            id="one-index",
        ),
        pytest.param(
            ["/meta"],
            ["status", "/items/0/id", "/items/1/id", "/items/1/name", "/metadata"],
            ["/meta/took", "/meta/page/n", "/meta/x"],
            id="prefix-not-metadata",
        ),
        pytest.param(
            ["/*/took"],
            [
                "status",
                "/items/0/id",
                "/items/1/id",
                "/items/1/name",
                "/meta/page/n",
                "/meta/x",
                "/metadata",
            ],
            ["/meta/took"],
            id="wildcard-key",
        ),
        pytest.param(
            ["/items"],
            ["status", "/meta/took", "/meta/page/n", "/meta/x", "/metadata"],
            ["/items/0/id", "/items/1/id", "/items/1/name"],
            id="whole-list",
        ),
        pytest.param(
            [""],
            ["status"],
            [
                "/items/0/id",
                "/items/1/id",
                "/items/1/name",
                "/meta/took",
                "/meta/page/n",
                "/meta/x",
                "/metadata",
            ],
            id="root-ignores-body-not-status",
        ),
        pytest.param(
            ["/items/*/id/deeper", "/met", "/meta/took/x"],
            [
                "status",
                "/items/0/id",
                "/items/1/id",
                "/items/1/name",
                "/meta/took",
                "/meta/page/n",
                "/meta/x",
                "/metadata",
            ],
            [],
            id="longer-or-partial-patterns-do-not-match",
        ),
    ],
)
def test_ignore(ignore: list[str], failing: list[str], ignored: list[str]) -> None:
    comparison = compare(ITEMS_LEGACY, ITEMS_MODERN, Rules.build(ignore=ignore))
    assert wheres(comparison) == failing
    assert [d.where for d in comparison.ignored] == ignored


def test_ignore_escaped_key() -> None:
    legacy, modern = json_reply('{"a/b": 1, "a~b": 1}'), json_reply('{"a/b": 2, "a~b": 2}')
    assert wheres(compare(legacy, modern, Rules.build(ignore=["/a~1b"]))) == ["/a~0b"]
    assert wheres(compare(legacy, modern, Rules.build(ignore=["/a~0b"]))) == ["/a~1b"]


def test_ignore_does_not_hide_headers() -> None:
    legacy = json_reply("{}", headers=(("Location", "/a"),))
    modern = json_reply("{}", headers=(("Location", "/b"),))
    assert wheres(compare(legacy, modern, Rules.build(ignore=["", "/location"]))) == [
        "header:location"
    ]


def test_root_ignore_hides_a_text_body() -> None:
    legacy, modern = reply(200, HTML, "<p>a</p>"), reply(200, HTML, "<p>b</p>")
    assert wheres(compare(legacy, modern)) == ["body"]
    assert compare(legacy, modern, Rules.build(ignore=[""])).equal
    assert not compare(legacy, modern, Rules.build(ignore=["/p"])).equal


def test_with_ignore_adds_a_case_ignore() -> None:
    rules = Rules.build(ignore=["/items/*/id"], normalise=["dates"])
    more = rules.with_ignore(["/meta"])
    assert more.ignore == ("/items/*/id", "/meta")
    assert more.normalise == rules.normalise and more.headers == rules.headers
    assert wheres(compare(ITEMS_LEGACY, ITEMS_MODERN, more)) == [
        "status",
        "/items/1/name",
        "/metadata",
    ]
    with pytest.raises(CompareError, match="must start with '/'"):
        rules.with_ignore(["meta"])


@pytest.mark.parametrize(
    ("pattern", "pointer", "matches"),
    [
        pytest.param("/a", "/a", True, id="same"),
        pytest.param("/a", "/a/b/c", True, id="above"),
        pytest.param("/a/b", "/a", False, id="below"),
        pytest.param("/a", "/ab", False, id="token-not-prefix"),
        pytest.param("/*", "/anything", True, id="star-key"),
        pytest.param("/*/0", "/x/0", True, id="star-then-index"),
        pytest.param("/*/0", "/x/1", False, id="star-then-other-index"),
        pytest.param("", "/a", True, id="root"),
        pytest.param("/", "/a", False, id="empty-key-is-not-root"),
        pytest.param("/", "/", True, id="empty-key"),
    ],
)
def test_pointer_matches(pattern: str, pointer: str, matches: bool) -> None:
    assert pointer_matches(pattern, pointer) is matches


# --- headers -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("legacy", "modern", "equal"),
    [
        pytest.param("application/json", "application/json; charset=utf-8", True, id="json-utf8"),
        pytest.param("application/json", "application/json; charset=UTF-8", True, id="json-UTF8"),
        pytest.param("Application/JSON", "application/json", True, id="media-case"),
        pytest.param("text/html; charset=utf-8", "text/html; charset=UTF-8", True, id="charset"),
        pytest.param("text/html;charset=utf-8", "text/html; charset=utf-8", True, id="spaces"),
        pytest.param('text/html; Charset="utf-8"', "text/html; charset=utf-8", True, id="quoted"),
        pytest.param(
            "application/problem+json; charset=utf-8",
            "application/problem+json",
            True,
            id="plus-json",
        ),
        pytest.param("text/html; charset=utf-8", "text/plain; charset=utf-8", False, id="plain"),
        pytest.param("text/html", "text/html; charset=utf-8", False, id="html-charset-missing"),
        pytest.param("application/json; charset=latin-1", "application/json", False, id="latin1"),
        pytest.param("application/json", "application/problem+json", False, id="problem"),
        pytest.param(
            "text/csv; header=present", "text/csv; header=PRESENT", False, id="param-value-case"
        ),
    ],
)
def test_content_type(legacy: str, modern: str, equal: bool) -> None:
    comparison = compare(
        reply(200, (("Content-Type", legacy),)), reply(200, (("Content-Type", modern),))
    )
    assert comparison.equal is equal
    if not equal:
        assert messages(comparison) == [
            f'header:content-type: legacy "{legacy}" != modern "{modern}"'
        ]


def test_content_type_missing_on_one_side() -> None:
    comparison = compare(reply(204, HTML), reply(204))
    assert messages(comparison) == [
        'header:content-type: legacy "text/html; charset=utf-8" != modern (missing)'
    ]


def test_content_type_key() -> None:
    assert content_type_key('Text/HTML; Charset="UTF-8"; q=A') == (
        "text/html",
        (("charset", "utf-8"), ("q", "A")),
    )
    assert content_type_key("application/json; charset=utf-8") == ("application/json", ())


@pytest.mark.parametrize(
    ("name", "legacy", "modern", "equal"),
    [
        pytest.param(
            "Allow", ["GET, HEAD, OPTIONS"], ["OPTIONS, GET, HEAD"], True, id="allow-order"
        ),
        pytest.param("Allow", ["GET,HEAD"], ["GET, HEAD"], True, id="allow-spaces"),
        pytest.param("Allow", ["GET, HEAD"], ["GET", "HEAD"], True, id="allow-two-lines"),
        pytest.param("Allow", ["GET, HEAD, GET"], ["HEAD, GET"], True, id="allow-duplicate"),
        pytest.param("Allow", ["GET, HEAD"], ["GET, POST"], False, id="allow-other-method"),
        pytest.param("Allow", ["GET"], ["GET, HEAD"], False, id="allow-extra-method"),
        pytest.param(
            "Cache-Control", ["max-age=60, public"], ["public, max-age=60"], True, id="cc-order"
        ),
        pytest.param("Cache-Control", ["No-Store"], ["no-store"], True, id="cc-case"),
        pytest.param(
            "Cache-Control", ["no-cache", "no-store"], ["no-store, no-cache"], True, id="cc-lines"
        ),
        pytest.param("Cache-Control", ["max-age=60"], ["max-age=0"], False, id="cc-max-age"),
        pytest.param("Cache-Control", ["private"], ["public"], False, id="cc-private"),
        pytest.param("Location", ["/users/1"], ["/users/1"], True, id="location-same"),
        pytest.param("Location", ["/users/1"], ["/users/1/"], False, id="location-slash"),
    ],
)
def test_header_values(name: str, legacy: list[str], modern: list[str], equal: bool) -> None:
    comparison = compare(
        reply(200, tuple((name, v) for v in legacy)), reply(200, tuple((name, v) for v in modern))
    )
    assert comparison.equal is equal
    if not equal:
        assert wheres(comparison) == [f"header:{name.lower()}"]


def test_header_difference_shows_raw_values() -> None:
    comparison = compare(
        reply(405, (("Allow", "GET"), ("Allow", "HEAD"))), reply(405, (("Allow", "GET, POST"),))
    )
    assert messages(comparison) == ['header:allow: legacy ["GET", "HEAD"] != modern "GET, POST"']


NOISE = (
    ("Date", "Tue, 02 Jan 2024 03:04:05 GMT"),
    ("Server", "gunicorn"),
    ("Content-Length", "2"),
    ("X-Served-By", "legacy"),
    ("X-Request-Id", "abc"),
    ("Vary", "Accept"),
    ("ETag", '"1"'),
)


def test_every_header_a_client_sees_is_compared_by_default() -> None:
    """Vary, ETag, X-Request-Id: a client (or a cache) acts on them, so a port that drops
    them differs; Date, Server, Content-Length and X-Served-By differ by nature."""
    legacy = json_reply("{}", headers=NOISE)
    modern = json_reply(
        "{}",
        headers=(
            ("Date", "Wed, 03 Jan 2024 00:00:00 GMT"),
            ("Server", "uvicorn"),
            ("Content-Length", "3"),
            ("X-Served-By", "modern"),
            ("Connection", "keep-alive"),
        ),
    )
    assert messages(compare(legacy, modern)) == [
        'header:x-request-id: legacy "abc" != modern (missing)',
        'header:vary: legacy "Accept" != modern (missing)',
        'header:etag: legacy "\\"1\\"" != modern (missing)',
    ]
    same = json_reply("{}", headers=(*NOISE[4:], ("Server", "uvicorn")))
    assert compare(legacy, same) == Comparison()


@pytest.mark.parametrize(
    ("legacy", "modern"),
    [
        pytest.param(("WWW-Authenticate", 'Bearer realm="api"'), None, id="www-authenticate"),
        pytest.param(("Vary", "Cookie"), None, id="vary-cookie"),
        pytest.param(("Vary", "Cookie"), ("Vary", "Accept"), id="vary-other"),
        pytest.param(("X-Frame-Options", "DENY"), ("x-frame-options", "SAMEORIGIN"), id="case"),
    ],
)
def test_a_dropped_or_changed_header_is_a_difference(
    legacy: tuple[str, str], modern: tuple[str, str] | None
) -> None:
    a = reply(401, (legacy,))
    b = reply(401, (modern,) if modern else ())
    (difference,) = compare(a, b).differences
    assert difference.where == f"header:{legacy[0].lower()}"


def test_a_repeated_header_is_joined_in_order_and_sets_are_sets() -> None:
    a = reply(200, (("Vary", "Cookie"), ("Vary", "Accept"), ("X-Tag", "a"), ("X-Tag", "b")))
    b = reply(200, (("Vary", "accept, cookie"), ("X-Tag", "a, b")))
    assert compare(a, b) == Comparison()
    c = reply(200, (("Vary", "accept, cookie"), ("X-Tag", "b, a")))
    assert messages(compare(a, c)) == ['header:x-tag: legacy ["a", "b"] != modern "b, a"']


def test_ignore_names_a_header() -> None:
    a = reply(200, (("X-Request-Id", "1"), ("Set-Cookie", "t=1; Path=/"), ("Vary", "Cookie")))
    b = reply(200, (("X-Request-Id", "2"), ("Set-Cookie", "t=2; Path=/x")))
    rules = Rules.build(ignore=["header:X-Request-Id", "header:set-cookie:t"])
    assert rules.ignore == ("header:x-request-id", "header:set-cookie:t")
    assert messages(compare(a, b, rules)) == ['header:vary: legacy "Cookie" != modern (missing)']
    with pytest.raises(CompareError, match="header:NAME"):
        Rules.build(ignore=["header:"])


def test_a_decoded_cookie_is_compared_by_its_payload() -> None:
    """The session cookie's value carries a signature with a timestamp: two equal
    sessions differ as text, so what it holds is compared (here: reversed text)."""
    decoders = (("session", lambda value: value[::-1]),)
    rules = Rules.build().with_cookies(decoders)
    a = reply(200, (("Set-Cookie", "session=resu; HttpOnly; Path=/"),))
    b = reply(200, (("Set-Cookie", "session=resu; HttpOnly; Path=/"),))
    assert compare(a, b, rules) == Comparison()
    c = reply(200, (("Set-Cookie", "session=nimda; HttpOnly; Path=/"),))
    (difference,) = compare(a, c, rules).differences
    assert difference.where == "header:set-cookie:session"
    assert (difference.legacy["(payload)"], difference.modern["(payload)"]) == ("user", "admin")
    # without the decoder only names and attributes count
    assert compare(a, c) == Comparison()


def test_date_server_length_and_served_by_are_never_compared() -> None:
    legacy = json_reply("{}", headers=NOISE)
    modern = json_reply("{}", headers=(("X-Served-By", "modern"), ("Server", "uvicorn")))
    rules = Rules.build(headers=["Date", "SERVER", "content-length", "X-Served-By", "X-Request-Id"])
    assert rules.headers == ("date", "server", "content-length", "x-served-by", "x-request-id")
    assert messages(compare(legacy, modern, rules)) == [
        'header:x-request-id: legacy "abc" != modern (missing)'
    ]


def test_vary_is_a_set_when_chosen() -> None:
    rules = Rules.build(headers=["vary"])
    legacy = reply(200, (("Vary", "Accept, Cookie"),))
    assert compare(legacy, reply(200, (("Vary", "cookie,accept"),)), rules).equal
    assert not compare(legacy, reply(200, (("Vary", "Accept"),)), rules).equal


def test_reply_headers() -> None:
    value = reply(
        200, (("Set-Cookie", "a=1"), ("Content-Type", "text/plain"), ("Set-Cookie", "b=2"))
    )
    assert value.header("set-cookie") == ["a=1", "b=2"]
    assert value.header("x-nothing") == []
    assert value.content_type == "text/plain"
    assert reply().content_type == ""


# --- Set-Cookie ---------------------------------------------------------------------------


def cookies(*values: str) -> Reply:
    return reply(200, tuple(("Set-Cookie", v) for v in values))


@pytest.mark.parametrize(
    ("legacy", "modern", "expected"),
    [
        pytest.param(
            ["session=abc; HttpOnly; Path=/"],
            ["session=xyz; HttpOnly; Path=/"],
            [],
            id="value-ignored",
        ),
        pytest.param(
            ["session=abc; Path=/; HttpOnly"],
            ["session=abc; httponly; path=/"],
            [],
            id="attribute-order-and-case",
        ),
        pytest.param(
            ["a=1; Path=/", "b=2; Path=/"],
            ["b=3; Path=/", "a=4; Path=/"],
            [],
            id="cookie-order",
        ),
        pytest.param(
            ["session=abc; HttpOnly; Path=/"],
            ["session=abc; Path=/"],
            [
                'header:set-cookie:session: legacy {"httponly": "", "path": "/"} '
                '!= modern {"path": "/"}'
            ],
            id="missing-httponly",
        ),
        pytest.param(
            ["session=abc; Secure; Path=/"],
            ["session=abc; Path=/"],
            [
                'header:set-cookie:session: legacy {"path": "/", "secure": ""} '
                '!= modern {"path": "/"}'
            ],
            id="missing-secure",
        ),
        pytest.param(
            ["s=1; Expires=Tue, 02 Jan 2024 03:04:05 GMT; Path=/"],
            ["s=1; Expires=Wed, 25 Nov 2026 14:19:13 GMT; Path=/"],
            [],
            id="expires-moment-ignored",
        ),
        pytest.param(
            ["s=1; Expires=Tue, 02 Jan 2024 03:04:05 GMT; Path=/"],
            ["s=1; Path=/"],
            [
                'header:set-cookie:s: legacy {"expires": "(set)", "path": "/"} '
                '!= modern {"path": "/"}'
            ],
            id="expires-missing",
        ),
        pytest.param(
            ["s=1; Max-Age=60"],
            ["s=1; Max-Age=3600"],
            ['header:set-cookie:s: legacy {"max-age": "60"} != modern {"max-age": "3600"}'],
            id="max-age",
        ),
        pytest.param(["s=1; SameSite=Lax"], ["s=1; samesite=lax"], [], id="samesite-case"),
        pytest.param(
            ["s=1; SameSite=Lax"],
            ["s=1; SameSite=Strict"],
            ['header:set-cookie:s: legacy {"samesite": "lax"} != modern {"samesite": "strict"}'],
            id="samesite-value",
        ),
        pytest.param(
            ["s=1; Domain=Example.COM"], ["s=1; Domain=example.com"], [], id="domain-case"
        ),
        pytest.param(
            ["s=1; Path=/Admin"],
            ["s=1; Path=/admin"],
            ['header:set-cookie:s: legacy {"path": "/Admin"} != modern {"path": "/admin"}'],
            id="path-case-counts",
        ),
        pytest.param(
            ["session=abc; Path=/", "csrf=t; Path=/"],
            ["session=abc; Path=/"],
            ['header:set-cookie:csrf: legacy {"path": "/"} != modern (missing)'],
            id="cookie-missing",
        ),
        pytest.param(
            [],
            ["tracking=1"],
            ["header:set-cookie:tracking: legacy (missing) != modern {}"],
            id="cookie-extra",
        ),
    ],
)
def test_set_cookie(legacy: list[str], modern: list[str], expected: list[str]) -> None:
    assert messages(compare(cookies(*legacy), cookies(*modern))) == expected


def test_set_cookie_flask_vs_starlette_defaults() -> None:
    """The same set_cookie call differs: werkzeug adds Expires for max_age, Starlette adds
    SameSite=lax."""
    with Flask(__name__).app_context():
        flask_response = make_response({"ok": True})
    flask_response.set_cookie("session", "abc", max_age=60, httponly=True)
    legacy = from_werkzeug(flask_response)

    naive = JSONResponse({"ok": True})
    naive.set_cookie("session", "xyz", max_age=60, httponly=True)
    assert messages(compare(legacy, from_starlette(naive))) == [
        'header:set-cookie:session: legacy {"expires": "(set)", "httponly": "", '
        '"max-age": "60", "path": "/"} != modern {"httponly": "", "max-age": "60", '
        '"path": "/", "samesite": "lax"}'
    ]

    faithful = JSONResponse({"ok": True})
    faithful.set_cookie("session", "xyz", max_age=60, expires=60, httponly=True, samesite=None)
    assert compare(legacy, from_starlette(faithful)).equal


def test_set_cookie_difference_is_accepted_by_header_name() -> None:
    legacy, modern = cookies("s=1; HttpOnly"), cookies("s=1")
    comparison = compare(legacy, modern, Rules.build(accept=[Accepted("header:Set-Cookie")]))
    assert comparison.equal
    assert [d.where for d, _ in comparison.accepted] == ["header:set-cookie:s"]


# --- bodies that are not JSON -------------------------------------------------------------


@pytest.mark.parametrize(
    ("legacy", "modern", "rules", "equal"),
    [
        pytest.param("<p>é</p>\n", "<p>é</p>", Rules(), True, id="one-newline"),
        pytest.param(
            "<p>é</p>\n",
            "<p>é</p>",
            Rules.build(normalise=["no-trailing_newline"]),
            False,
            id="newline-counts-when-off",
        ),
        pytest.param("<p>é</p>\n\n", "<p>é</p>", Rules(), False, id="only-one-newline"),
        pytest.param("<p>é</p>\n", "<p>é</p>\n", Rules(), True, id="both-newline"),
        pytest.param("<p>a</p>", "<p>a</p> ", Rules(), False, id="white-space-counts"),
        pytest.param("<p>a</p>", "<P>a</P>", Rules(), False, id="case-counts"),
        pytest.param("caf\\u00e9", "café", Rules(), True, id="ensure-ascii"),
        pytest.param("\\ud83d\\ude00", "😀", Rules(), True, id="ensure-ascii-surrogates"),
        pytest.param(
            "caf\\u00e9", "café", Rules.build(normalise=["no-ensure_ascii"]), False, id="escapes"
        ),
        pytest.param("", "", Rules(), True, id="both-empty"),
        pytest.param("", "\n", Rules(), True, id="empty-and-newline"),
    ],
)
def test_text_bodies(legacy: str, modern: str, rules: Rules, equal: bool) -> None:
    assert compare(reply(200, HTML, legacy), reply(200, HTML, modern), rules).equal is equal


def test_text_body_difference_message() -> None:
    comparison = compare(
        reply(404, HTML, "<h1>Not Found</h1>\n"), reply(404, HTML, "<h1>Gone</h1>")
    )
    assert messages(comparison) == ['body: legacy "<h1>Not Found</h1>" != modern "<h1>Gone</h1>"']


def test_long_text_body_is_excerpted() -> None:
    legacy, modern = reply(200, HTML, "a" * 400), reply(200, HTML, "b" * 10)
    (difference,) = compare(legacy, modern).differences
    assert difference.legacy == "a" * 300 + "... (400 characters)"
    assert difference.modern == "b" * 10


def test_invalid_json_is_compared_as_text() -> None:
    legacy, modern = json_reply('{"a": 1'), json_reply('{"a":1')
    assert messages(compare(legacy, modern)) == [
        'body: legacy "{\\"a\\": 1" != modern "{\\"a\\":1"'
    ]
    assert compare(legacy, json_reply('{"a": 1\n')).equal


def test_json_body_labelled_text_is_compared_as_text() -> None:
    legacy = reply(200, (("Content-Type", "text/plain"),), '{"a": 1}')
    modern = json_reply('{"a":1}')
    assert wheres(compare(legacy, modern)) == ["header:content-type", "body"]


def test_json_vs_html_error() -> None:
    legacy = reply(400, HTML, "<!doctype html>\n<title>400 Bad Request</title>\n")
    modern = json_reply('{"detail": [{"loc": ["body", "age"], "msg": "bad"}]}', status=422)
    assert messages(compare(legacy, modern)) == [
        "status: legacy 400 != modern 422",
        'header:content-type: legacy "text/html; charset=utf-8" != modern "application/json"',
        'body: legacy "<!doctype html>\\n<title>400 Bad Request</title>" != modern '
        '"{\\"detail\\": [{\\"loc\\": [\\"body\\", \\"age\\"], \\"msg\\": \\"bad\\"}]}"',
    ]


def test_no_json_turns_parsing_off() -> None:
    rules = Rules.build(normalise=["no-json"])
    assert "json" not in rules.normalise
    legacy, modern = json_reply('{"a": 1, "b": 2}'), json_reply('{"b": 2, "a": 1}')
    assert compare(legacy, modern).equal
    assert wheres(compare(legacy, modern, rules)) == ["body"]
    assert compare(legacy, json_reply('{"a": 1, "b": 2}\n'), rules).equal


# --- declared changes ---------------------------------------------------------------------

ERROR_LEGACY = json_reply('{"id": 1, "detail": "age must be >= 0", "code": 7}', status=400)
ERROR_MODERN = json_reply(
    '{"id": 2, "detail": [{"loc": ["body", "age"], "msg": "too small"}], "code": 7}', status=422
)


@pytest.mark.parametrize(
    ("accept", "accepted", "failing"),
    [
        pytest.param([], [], ["status", "/id", "/detail"], id="none"),
        pytest.param(
            [Accepted("status", legacy=400, modern=422, why="FastAPI validation")],
            ["status"],
            ["/id", "/detail"],
            id="status",
        ),
        pytest.param(
            [Accepted("status", legacy=404, modern=422)],
            [],
            ["status", "/id", "/detail"],
            id="status-wrong-legacy",
        ),
        pytest.param(
            [Accepted("status", legacy=400, modern=400)],
            [],
            ["status", "/id", "/detail"],
            id="status-wrong-modern",
        ),
        pytest.param(
            [Accepted("status", legacy="400", modern="422")],
            [],
            ["status", "/id", "/detail"],
            id="status-as-text-does-not-match",
        ),
        pytest.param([Accepted("status")], ["status"], ["/id", "/detail"], id="status-any"),
        pytest.param(
            [Accepted("body:/detail", why="FastAPI's detail list")],
            ["/detail"],
            ["status", "/id"],
            id="body-pointer",
        ),
        pytest.param(
            [Accepted("body:/detail", legacy="age must be >= 0")],
            ["/detail"],
            ["status", "/id"],
            id="body-pointer-legacy-value",
        ),
        pytest.param(
            [Accepted("body:/detail", legacy="other text")],
            [],
            ["status", "/id", "/detail"],
            id="body-pointer-wrong-legacy-value",
        ),
        pytest.param(
            [Accepted("body:/id", legacy=1, modern=2)],
            ["/id"],
            ["status", "/detail"],
            id="body-pointer-values",
        ),
        pytest.param(
            [Accepted("body:/id", legacy=True, modern=2)],
            [],
            ["status", "/id", "/detail"],
            id="bool-is-not-one",
        ),
        pytest.param(
            [Accepted("body:/code")], [], ["status", "/id", "/detail"], id="pointer-not-differing"
        ),
        pytest.param([Accepted("body")], ["/id", "/detail"], ["status"], id="whole-body"),
        pytest.param([Accepted("body:/det")], [], ["status", "/id", "/detail"], id="partial-token"),
        pytest.param([Accepted("body:")], ["/id", "/detail"], ["status"], id="root-pointer"),
        pytest.param(
            [Accepted("status", 400, 422), Accepted("body:/id"), Accepted("body:/detail")],
            ["status", "/id", "/detail"],
            [],
            id="all-declared",
        ),
    ],
)
def test_accept(accept: list[Accepted], accepted: list[str], failing: list[str]) -> None:
    comparison = compare(ERROR_LEGACY, ERROR_MODERN, Rules.build(accept=accept))
    assert [d.where for d, _ in comparison.accepted] == accepted
    assert wheres(comparison) == failing
    assert comparison.equal is (not failing)
    for difference, declared in comparison.accepted:
        assert declared in accept and declared.covers(difference)


def test_accept_body_pointer_covers_what_is_below_it() -> None:
    legacy = json_reply('{"id": 1, "detail": [{"msg": "a"}]}')
    modern = json_reply('{"id": 2, "detail": [{"msg": "b", "type": "t"}, {"msg": "c"}]}')
    comparison = compare(legacy, modern, Rules.build(accept=[Accepted("body:/detail")]))
    assert [d.where for d, _ in comparison.accepted] == [
        "/detail/0/msg",
        "/detail/0/type",
        "/detail/1",
    ]
    assert wheres(comparison) == ["/id"]


def test_accept_body_pointer_with_wildcard() -> None:
    legacy = json_reply('{"items": [{"price": 1, "n": 1}, {"price": 2, "n": 1}]}')
    modern = json_reply('{"items": [{"price": 1.0, "n": 2}, {"price": 2.0, "n": 1}]}')
    rules = Rules.build(accept=[Accepted("body:/items/*/price", why="Decimal became float")])
    comparison = compare(legacy, modern, rules)
    assert [d.where for d, _ in comparison.accepted] == ["/items/0/price", "/items/1/price"]
    assert messages(comparison) == ["/items/0/n: legacy 1 != modern 2"]


@pytest.mark.parametrize(
    ("declared", "covered"),
    [
        pytest.param(Accepted("header:content-type"), True, id="any"),
        pytest.param(Accepted("header:Content-Type"), True, id="name-case"),
        pytest.param(
            Accepted("header:content-type", "text/html; charset=utf-8", "application/json"),
            True,
            id="values",
        ),
        pytest.param(
            Accepted("header:content-type", "text/plain", "application/json"), False, id="wrong"
        ),
        pytest.param(Accepted("header:location"), False, id="other-header"),
        pytest.param(Accepted("header:content"), False, id="header-prefix-is-not-a-name"),
        pytest.param(Accepted("body"), False, id="body-is-not-a-header"),
    ],
)
def test_accept_header(declared: Accepted, covered: bool) -> None:
    legacy, modern = reply(200, HTML), reply(200, JSON)
    comparison = compare(legacy, modern, Rules.build(accept=[declared]))
    assert comparison.equal is covered
    assert len(comparison.accepted) == int(covered)


def test_accept_missing_header_with_none() -> None:
    legacy = reply(201, (("Location", "/users/1"),))
    modern = reply(201)
    covered = Rules.build(accept=[Accepted("header:location", legacy="/users/1", modern=None)])
    assert compare(legacy, modern, covered).equal
    wrong = Rules.build(accept=[Accepted("header:location", legacy=None, modern="/users/1")])
    assert not compare(legacy, modern, wrong).equal


def test_accept_missing_key_with_none() -> None:
    legacy, modern = json_reply('{"old": 1}'), json_reply('{"new": 1}')
    rules = Rules.build(
        accept=[
            Accepted("body:/old", legacy=1, modern=None, why="renamed"),
            Accepted("body:/new", legacy=None, modern=1, why="renamed"),
        ]
    )
    comparison = compare(legacy, modern, rules)
    assert comparison.equal
    assert [(d.where, a.what) for d, a in comparison.accepted] == [
        ("/old", "body:/old"),
        ("/new", "body:/new"),
    ]


def test_ignore_wins_over_accept() -> None:
    rules = Rules.build(ignore=["/id"], accept=[Accepted("body:/id")])
    comparison = compare(ERROR_LEGACY, ERROR_MODERN, rules)
    assert [d.where for d in comparison.ignored] == ["/id"]
    assert comparison.accepted == ()


def test_accept_dates_declared_with_sent_values() -> None:
    legacy = json_reply(f'{{"at": "{GMT}"}}')
    modern = json_reply('{"at": "2024-01-02T03:04:06"}')
    declared = Accepted("body:/at", legacy=GMT, modern="2024-01-02T03:04:06")
    assert compare(legacy, modern, Rules.build(normalise=["dates"], accept=[declared])).equal


# --- rules that are malformed -------------------------------------------------------------


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        pytest.param([], DEFAULT_NORMALISERS, id="defaults"),
        pytest.param(["dates"], DEFAULT_NORMALISERS | {"dates"}, id="dates"),
        pytest.param(["no-json"], {"trailing_newline", "ensure_ascii"}, id="no-json"),
        pytest.param(["no-json", "no-trailing_newline", "no-ensure_ascii"], set(), id="all-off"),
        pytest.param(["no-dates"], DEFAULT_NORMALISERS, id="off-when-off"),
        pytest.param(["no-json", "json"], DEFAULT_NORMALISERS, id="last-wins"),
    ],
)
def test_normalisers(names: list[str], expected: frozenset[str]) -> None:
    assert normalisers(names) == expected


@pytest.mark.parametrize(
    ("name", "hint"),
    [
        pytest.param("date", "Did you mean 'dates'?", id="date"),
        pytest.param("no-jsn", "Did you mean 'json'?", id="no-prefix"),
        pytest.param("trailing-newline", "Did you mean 'trailing_newline'?", id="dash"),
        pytest.param("sorcery", "Known: dates, ensure_ascii, json, trailing_newline", id="far"),
    ],
)
def test_unknown_normaliser(name: str, hint: str) -> None:
    with pytest.raises(CompareError) as info:
        Rules.build(normalise=[name])
    assert f"unknown normaliser {name!r}" in str(info.value)
    assert hint in str(info.value)


def test_far_unknown_normaliser_has_no_hint() -> None:
    with pytest.raises(CompareError) as info:
        normalisers(["sorcery"])
    assert "Did you mean" not in str(info.value)


@pytest.mark.parametrize(
    ("pointer", "message"),
    [
        pytest.param("items/0", "must start with '/'", id="no-slash"),
        pytest.param("body", "must start with '/'", id="word"),
        pytest.param("/a~2b", "'~' must be escaped", id="tilde-2"),
        pytest.param("/a~", "'~' must be escaped", id="tilde-at-end"),
        pytest.param("/a~b", "'~' must be escaped", id="tilde-letter"),
    ],
)
def test_malformed_pointer(pointer: str, message: str) -> None:
    with pytest.raises(CompareError, match=message):
        check_pointer(pointer)
    with pytest.raises(CompareError, match=message):
        Rules.build(ignore=[pointer])
    with pytest.raises(CompareError, match=message):
        Accepted(f"body:{pointer}")


@pytest.mark.parametrize(
    "pointer",
    [
        pytest.param("", id="root"),
        pytest.param("/", id="empty-key"),
        pytest.param("/items/*/id", id="wildcard"),
        pytest.param("/a~0b~1c", id="escapes"),
        pytest.param("/a b/ü", id="any-characters"),
    ],
)
def test_valid_pointer(pointer: str) -> None:
    assert check_pointer(pointer) == pointer


@pytest.mark.parametrize(
    ("what", "hint"),
    [
        pytest.param("stauts", "Did you mean 'status'?", id="typo"),
        pytest.param("bdy", "Did you mean 'body'?", id="body-typo"),
        pytest.param("headers:location", "Use status, header:NAME", id="headers"),
        pytest.param("/detail", "Use status, header:NAME", id="bare-pointer"),
    ],
)
def test_unknown_accept_what(what: str, hint: str) -> None:
    with pytest.raises(CompareError, match=f"unknown change {what!r}") as info:
        Accepted(what)
    assert hint in str(info.value)


# --- records ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("difference", "text"),
    [
        pytest.param(Difference("status", 400, 422), "status: legacy 400 != modern 422", id="int"),
        pytest.param(
            Difference("/a", "é", MISSING), '/a: legacy "é" != modern (missing)', id="str"
        ),
        pytest.param(Difference("/a", True, None), "/a: legacy true != modern null", id="bool"),
        pytest.param(Difference("/a", [1, "x"], {}), '/a: legacy [1, "x"] != modern {}', id="list"),
        pytest.param(
            Difference("/a", {"z": 1, "a": 2}, 1.5),
            '/a: legacy {"a": 2, "z": 1} != modern 1.5',
            id="object-sorted",
        ),
        pytest.param(
            Difference("header:allow", frozenset({"POST", "GET"}), b"x"),
            "header:allow: legacy {GET, POST} != modern b'x'",
            id="set-and-repr",
        ),
    ],
)
def test_difference_str(difference: Difference, text: str) -> None:
    assert str(difference) == text


def test_missing_reads_well() -> None:
    assert repr(MISSING) == "(missing)"
    assert (
        repr(Difference("/a", 1, MISSING)) == "Difference(where='/a', legacy=1, modern=(missing))"
    )


def test_records_are_frozen() -> None:
    with pytest.raises(AttributeError):
        Difference("/a", 1, 2).where = "/b"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        Rules().ignore = ("/a",)  # type: ignore[misc]


def test_equal_replies_compare_equal() -> None:
    same = json_reply('{"a": [1, {"b": "c"}]}', headers=(("Cache-Control", "no-store"),))
    comparison = compare(same, same)
    assert comparison == Comparison()
    assert comparison.equal
