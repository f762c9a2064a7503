"""The two sides' answers in one shape, to compare a port with the legacy view it replaces.

`FlaskClient` asks the Flask app itself (its test client, no cookie jar: cookies go in
the Cookie header, with httpx's User-Agent, as `PortClient` sends them); `Answer.of(...)`
takes either side's response; `SetCookie.parse` reads a Set-Cookie header attribute by
attribute.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

#: the User-Agent httpx sends: Flask-Login's session protection hashes it (and the
#: client address, 127.0.0.1 on both sides) into the session's `_id`
USER_AGENT = f"python-httpx/{httpx.__version__}"
#: headers that differ between two servers for reasons that are not the app's
SERVER_HEADERS = frozenset({"date", "server"})


@dataclass(frozen=True, slots=True)
class Answer:
    """Status, headers (lower-cased names, in order) and body of one response."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes

    @classmethod
    def of(cls, response: Any) -> Answer:
        if isinstance(response, httpx.Response):
            headers = tuple((k.lower(), v) for k, v in response.headers.multi_items())
            return cls(response.status_code, headers, response.content)
        headers = tuple((k.lower(), v) for k, v in response.headers.items())
        return cls(response.status_code, headers, response.get_data())

    def header(self, name: str) -> str | None:
        values = self.all(name)
        return values[0] if values else None

    def all(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k == name.lower()]

    def cookies(self) -> dict[str, SetCookie]:
        return {c.name: c for c in map(SetCookie.parse, self.all("set-cookie"))}

    def comparable(self, *, without: frozenset[str] = frozenset()) -> Answer:
        """The answer without the server's headers (and `without`), headers sorted."""
        drop = SERVER_HEADERS | without
        kept = tuple(sorted((k, v) for k, v in self.headers if k not in drop))
        return Answer(self.status, kept, self.body)


@dataclass(frozen=True, slots=True)
class SetCookie:
    """One Set-Cookie header: name, value and attributes (lower-cased names; a flag
    attribute such as HttpOnly has the value True)."""

    name: str
    value: str
    attributes: dict[str, str | bool] = field(default_factory=dict)

    @classmethod
    def parse(cls, header: str) -> SetCookie:
        first, *rest = (part.strip() for part in header.split(";"))
        name, _, value = first.partition("=")
        attributes: dict[str, str | bool] = {}
        for part in rest:
            key, eq, attr = part.partition("=")
            attributes[key.strip().lower()] = attr.strip() if eq else True
        return cls(name.strip(), value.strip().strip('"'), attributes)

    def expires_at(self) -> float:
        expires = self.attributes["expires"]
        assert isinstance(expires, str)
        return parsedate_to_datetime(expires).timestamp()

    def without_time(self) -> dict[str, str | bool]:
        """The attributes without Expires (which moves with the clock)."""
        return {k: v for k, v in self.attributes.items() if k != "expires"}


def assert_same(legacy: Answer, modern: Answer) -> None:
    """Status, headers and body equal (the server's headers aside); each cookie the same
    attribute by attribute but Expires, as its value carries the second it was signed."""
    assert modern.status == legacy.status
    assert modern.body == legacy.body
    without = frozenset({"set-cookie"})
    assert modern.comparable(without=without) == legacy.comparable(without=without)
    assert modern.cookies().keys() == legacy.cookies().keys()
    for name, cookie in legacy.cookies().items():
        assert modern.cookies()[name].without_time() == cookie.without_time()


class FlaskClient:
    """The legacy app answering alone, asked as `PortClient` asks a port."""

    def __init__(self, app: Any, *, script_name: str = "") -> None:
        self.app = app
        self.script_name = script_name

    def request(
        self,
        method: str,
        path: str,
        *,
        cookies: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> Answer:
        sent = {"User-Agent": USER_AGENT, **(headers or {})}
        if cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
        client = self.app.test_client(use_cookies=False)
        base_url = f"http://testserver{self.script_name}"
        response = client.open(path, method=method, headers=sent, base_url=base_url, **kwargs)
        return Answer.of(response)

    def get(self, path: str, **kwargs: Any) -> Answer:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Answer:
        return self.request("POST", path, **kwargs)
