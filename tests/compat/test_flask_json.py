"""FlaskJSONResponse: the bytes `jsonify` writes for the same value in the same app (its
`app.json` provider: sorted keys, compact separators, ensure_ascii, HTTP dates, Decimal,
UUID, dataclasses, a custom provider, debug indentation), and the content type."""

import dataclasses
import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import pytest
from compat_client import PortClient
from fastapi import FastAPI
from fixture_apps.crossing_flask import create_app
from flask import Flask, jsonify
from flask.json.provider import DefaultJSONProvider
from markupsafe import Markup
from pydantic import BaseModel, Field

from routeshift.compat import FlaskJSONResponse, Legacy
from routeshift.compat.flask_json import flask_json_bytes
from routeshift.errors import CrossingError

WHEN = dt.datetime(2024, 3, 9, 14, 5, 7)
AWARE = dt.datetime(2024, 3, 9, 14, 5, 7, tzinfo=dt.timezone(dt.timedelta(hours=2)))
ID = uuid.UUID("12345678-1234-5678-1234-567812345678")


@dataclasses.dataclass
class Point:
    x: int
    label: str


class Event(BaseModel):
    name: str
    at: dt.datetime
    price: Decimal
    id: uuid.UUID
    day: dt.date
    kind: str = Field(alias="type")


EVENT = Event(name="Zoë", at=WHEN, price=Decimal("12.50"), id=ID, day=WHEN.date(), type="x")
#: what the legacy view jsonified: the same values (the alias is the legacy key)
EVENT_DICT = {
    "name": "Zoë",
    "at": WHEN,
    "price": Decimal("12.50"),
    "id": ID,
    "day": WHEN.date(),
    "type": "x",
}

VALUES = {
    "sorted-keys": {"b": 1, "a": {"d": [3, 2], "c": None}, "A": True},
    "non-ascii": {"name": "Zoë", "city": "中文", "mood": "🎉", "quote": '"<&>"'},
    "datetime": {"naive": WHEN, "aware": AWARE},
    "date": {"day": WHEN.date()},
    "decimal": {"price": Decimal("12.50"), "tiny": Decimal("1E-7")},
    "uuid": {"id": ID},
    "dataclass": {"point": Point(3, "ü")},
    "markup": {"html": Markup("<b>bold</b>")},
    "list": [3, 1, {"z": 0, "a": 1}],
    "scalar": "just text",
    "null": None,
    "float": {"pi": 3.141592653589793, "big": 1e300},
}


def port_for(flask_app: Flask, values: dict[str, Any]) -> PortClient:
    legacy = Legacy(flask_app)
    app = FastAPI()
    legacy.install(app)

    @app.get("/value/{name}")
    def value(name: str) -> Any:
        return FlaskJSONResponse(values[name])

    return PortClient(app)


def jsonified(flask_app: Flask, value: Any) -> tuple[bytes, str]:
    with flask_app.test_request_context():
        response = jsonify(value)
    return response.get_data(), response.headers["Content-Type"]


@pytest.fixture(
    params=[
        pytest.param("default", id="default-provider"),
        pytest.param("custom", id="custom-provider"),
    ]
)
def flask_app(request: pytest.FixtureRequest) -> Flask:
    return Flask("plain") if request.param == "default" else create_app()


@pytest.mark.parametrize("name", list(VALUES))
def test_the_bytes_are_jsonify_s(flask_app: Flask, name: str) -> None:
    answer = port_for(flask_app, VALUES).get(f"/value/{name}")
    body, content_type = jsonified(flask_app, VALUES[name])
    assert answer.content == body
    assert answer.headers["content-type"] == content_type == "application/json"
    assert answer.headers["content-length"] == str(len(body))


def test_the_default_provider_escapes_non_ascii_and_the_custom_one_keeps_it() -> None:
    value = {"name": "Zoë"}
    assert port_for(Flask("plain"), {"v": value}).get("/value/v").content == (
        b'{"name":"Zo\\u00eb"}\n'
    )
    assert port_for(create_app(), {"v": value}).get("/value/v").content == (
        '{"name":"Zoë"}\n'.encode()
    )


def test_the_custom_provider_turns_sets_into_sorted_lists() -> None:
    flask_app = create_app()
    value = {"tags": {"b", "a", "c"}, "ids": frozenset({3, 1})}
    answer = port_for(flask_app, {"v": value}).get("/value/v")
    assert (
        answer.content == jsonified(flask_app, value)[0] == b'{"ids":[1,3],"tags":["a","b","c"]}\n'
    )


def test_dates_are_http_dates_as_flask_writes_them() -> None:
    answer = port_for(Flask("plain"), VALUES).get("/value/datetime")
    assert answer.json() == {
        "aware": "Sat, 09 Mar 2024 12:05:07 GMT",
        "naive": "Sat, 09 Mar 2024 14:05:07 GMT",
    }


def test_a_pydantic_model_is_dumped_and_formatted_by_flask_s_provider(flask_app: Flask) -> None:
    values = {"one": EVENT, "nested": {"event": EVENT, "all": [EVENT, EVENT]}}
    port = port_for(flask_app, values)
    assert port.get("/value/one").content == jsonified(flask_app, EVENT_DICT)[0]
    nested = {"event": EVENT_DICT, "all": [EVENT_DICT, EVENT_DICT]}
    assert port.get("/value/nested").content == jsonified(flask_app, nested)[0]
    assert b'"at":"Sat, 09 Mar 2024 14:05:07 GMT"' in port.get("/value/one").content


def test_debug_mode_indents_as_flask_s_provider_does(flask_app: Flask) -> None:
    flask_app.debug = True
    value = {"b": [1, 2], "a": "Zoë"}
    answer = port_for(flask_app, {"v": value}).get("/value/v")
    body = jsonified(flask_app, value)[0]
    assert answer.content == body
    assert b'\n  "a": ' in body  # indented, keys sorted


def test_a_provider_s_own_mimetype_and_compact_setting_are_used() -> None:
    class ApiJSON(DefaultJSONProvider):
        mimetype = "application/vnd.api+json"
        compact = False
        sort_keys = False

    flask_app = Flask("api")
    flask_app.json = ApiJSON(flask_app)
    value = {"b": 1, "a": 2}
    answer = port_for(flask_app, {"v": value}).get("/value/v")
    body, content_type = jsonified(flask_app, value)
    assert answer.content == body == b'{\n  "b": 1,\n  "a": 2\n}\n'
    assert answer.headers["content-type"] == content_type == "application/vnd.api+json"


def test_status_and_headers_are_the_port_s(flask_app: Flask) -> None:
    legacy = Legacy(flask_app)
    app = FastAPI()
    legacy.install(app)

    @app.post("/made")
    def made() -> Any:
        return FlaskJSONResponse({"id": 7}, status_code=201, headers={"Location": "/items/7"})

    answer = PortClient(app).post("/made")
    assert (answer.status_code, answer.headers["location"], answer.content) == (
        201,
        "/items/7",
        b'{"id":7}\n',
    )


def test_as_response_class_with_a_response_model_fastapi_encodes_first(
    flask_app: Flask,
) -> None:
    """The limit: with `response_class=FlaskJSONResponse` and a returned value that is not
    a response, FastAPI encodes the value to JSON-ready data first (ISO dates; a Decimal
    as text with a response model, which `-> Any` is too, as a float without), so the
    provider only sorts and spaces it; return FlaskJSONResponse(model) for Flask's own
    date and Decimal text."""
    legacy = Legacy(flask_app)
    app = FastAPI()
    legacy.install(app)

    @app.get("/event", response_model=Event, response_class=FlaskJSONResponse)
    def event() -> Any:
        return EVENT

    @app.get("/values", response_model=None, response_class=FlaskJSONResponse)
    def values() -> Any:
        return EVENT_DICT

    @app.get("/event-inside", response_model=Event, response_class=FlaskJSONResponse)
    def event_inside() -> Any:
        return FlaskJSONResponse(EVENT)

    port = PortClient(app)
    encoded = port.get("/event")
    assert encoded.headers["content-type"] == "application/json"
    assert encoded.content.endswith(b"}\n")  # the provider wrote it: compact, sorted
    assert list(encoded.json()) == sorted(encoded.json())
    assert encoded.json()["at"] == "2024-03-09T14:05:07"  # ISO, not Flask's HTTP date
    assert encoded.json()["day"] == "2024-03-09"
    assert encoded.json()["price"] == "12.50"  # Pydantic's JSON mode: Decimal as text
    assert encoded.content != jsonified(flask_app, EVENT_DICT)[0]
    # with none (`-> Any` is one: response_model=None), jsonable_encoder: a Decimal as a float
    plain = port.get("/values").json()
    assert (plain["at"], plain["price"]) == ("2024-03-09T14:05:07", 12.5)
    assert port.get("/event-inside").content == jsonified(flask_app, EVENT_DICT)[0]


def test_flask_json_bytes_needs_no_request(flask_app: Flask) -> None:
    assert flask_json_bytes(flask_app, {"b": 1, "a": 2}) == b'{"a":2,"b":1}\n'


def test_outside_an_installed_app_it_says_what_to_do() -> None:
    with pytest.raises(CrossingError, match=r"legacy\.install\(app\)"):
        FlaskJSONResponse({"a": 1})
