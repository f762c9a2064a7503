"""routeshift.decide.stamp: the one send wrapper that finishes a routed response, for
either side (X-Served-By, the merged Allow, HEAD served as GET, the status)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from typing import Any

import httpx
import pytest

from routeshift.decide.decision import Decision, Side
from routeshift.decide.stamp import Stamp, modern_scope
from routeshift.serve.bridge import LegacyBridge

Message = dict[str, Any]
Environ = dict[str, Any]


def plain(body: bytes, status: str = "200 OK", headers: Iterable[tuple[str, str]] = ()) -> Any:
    def app(environ: Environ, start_response: Callable[..., Any]) -> Iterable[bytes]:
        start_response(status, [("Content-Length", str(len(body))), *headers])
        return [body]

    return app


def stamped(app: Any, decision: Decision, side: Side | None = None) -> Any:
    async def serve(scope: Message, receive: Any, send: Any) -> None:
        await app(modern_scope(scope, decision), receive, Stamp(send, decision, side))

    return serve


def request(app: Any, method: str, url: str) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            return await http.request(method, url)

    return asyncio.run(go())


@pytest.fixture
def bridge_of() -> Iterable[Callable[[Any], LegacyBridge]]:
    made: list[LegacyBridge] = []

    def make(app: Any) -> LegacyBridge:
        made.append(LegacyBridge(app, threads=2))
        return made[-1]

    yield make
    for bridge in made:
        bridge.close()


LEGACY = Decision(Side.LEGACY, "items.get", "/items/<int:id>")


@pytest.mark.parametrize("side", [Side.LEGACY, Side.MODERN])
def test_every_response_says_who_served_it(
    bridge_of: Callable[[Any], LegacyBridge], side: Side
) -> None:
    decision = Decision(side, "items.get")
    response = request(stamped(bridge_of(plain(b"ok")), decision), "GET", "/items/1")
    assert response.headers.get_list("x-served-by") == [side.value]
    assert response.content == b"ok"


def test_a_legacy_500_is_stamped_too(bridge_of: Callable[[Any], LegacyBridge]) -> None:
    def boom(environ: Environ, start_response: Any) -> Iterable[bytes]:
        raise KeyError("boom")

    response = request(stamped(bridge_of(boom), LEGACY), "GET", "/boom")
    assert response.status_code == 500
    assert response.headers["x-served-by"] == "legacy"


def test_the_status_is_kept_for_the_metrics() -> None:
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    async def go() -> Stamp:
        stamp = Stamp(send, LEGACY)
        assert stamp.status == 0
        await stamp({"type": "http.response.start", "status": 418, "headers": []})
        return stamp

    assert asyncio.run(go()).status == 418
    assert sent[0]["headers"] == [(b"x-served-by", b"legacy")]


def test_the_apps_own_header_list_is_left_alone() -> None:
    """A response whose header list an app keeps (and sends again) is not grown."""
    headers = [(b"content-length", b"0")]

    async def send(message: Message) -> None:
        pass

    async def go() -> None:
        stamp = Stamp(send, LEGACY)
        await stamp({"type": "http.response.start", "status": 200, "headers": headers})

    asyncio.run(go())
    assert headers == [(b"content-length", b"0")]


@pytest.mark.parametrize(
    ("allow", "extra", "expected"),
    [
        pytest.param(
            "GET, HEAD, OPTIONS",
            {"PUT", "DELETE"},
            "GET, HEAD, OPTIONS, DELETE, PUT",
            id="adds-sorted",
        ),
        pytest.param(
            "GET, HEAD, OPTIONS", {"GET", "PATCH"}, "GET, HEAD, OPTIONS, PATCH", id="no-duplicates"
        ),
        pytest.param("GET,POST", {"PUT"}, "GET, POST, PUT", id="no-spaces"),
        pytest.param("", {"PUT"}, "PUT", id="empty-allow"),
        pytest.param("GET, HEAD", set(), "GET, HEAD", id="nothing-extra"),
    ],
)
def test_extra_allow_merges_into_the_allow_header(
    bridge_of: Callable[[Any], LegacyBridge], allow: str, extra: set[str], expected: str
) -> None:
    bridge = bridge_of(plain(b"405", "405 METHOD NOT ALLOWED", [("Allow", allow)]))
    decision = Decision(Side.LEGACY, "unmatched", extra_allow=frozenset(extra))
    response = request(stamped(bridge, decision), "PATCH", "/items/1")
    assert response.status_code == 405
    assert response.headers.get_list("allow") == [expected]
    assert response.content == b"405"


def test_extra_allow_adds_no_allow_header_of_its_own(
    bridge_of: Callable[[Any], LegacyBridge],
) -> None:
    decision = Decision(Side.LEGACY, "unmatched", extra_allow=frozenset({"PUT"}))
    assert "allow" not in request(stamped(bridge_of(plain(b"ok")), decision), "GET", "/").headers


def test_a_head_served_as_get_reaches_modern_as_get_and_loses_its_body() -> None:
    seen: list[str] = []

    async def modern(scope: Message, receive: Any, send: Any) -> None:
        seen.append(scope["method"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"the body"})

    head = Decision(Side.MODERN, "items.get", head_as_get=True)
    response = request(stamped(modern, head), "HEAD", "/items/1")
    assert seen == ["GET"] and response.content == b""
    response = request(stamped(modern, Decision(Side.MODERN, "items.get")), "GET", "/items/1")
    assert seen == ["GET", "GET"] and response.content == b"the body"


def test_a_head_that_legacy_serves_keeps_its_method() -> None:
    """head_as_get speaks of the modern side: a canary's legacy half is plain legacy."""
    seen: list[str] = []

    async def legacy(scope: Message, receive: Any, send: Any) -> None:
        seen.append(scope["method"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    decision = Decision(Side.LEGACY, "items.get", head_as_get=True)

    async def serve(scope: Message, receive: Any, send: Any) -> None:
        await legacy(scope, receive, Stamp(send, decision))

    assert request(serve, "HEAD", "/items/1").headers["x-served-by"] == "legacy"
    assert seen == ["HEAD"]


# --- the route's entry in the modern scope -------------------------------------------------


def entry(**fields: Any) -> Any:
    from routeshift.registry.model import Entry

    values = {"endpoint": "items.get", "rule": "/items/<int:id>", "methods": ["GET"]}
    return Entry.model_validate({**values, "state": "modern", **fields})


def test_modern_scope_hands_over_the_entry_in_a_new_state_dict() -> None:
    server_state = {"user": "x"}
    scope = {"type": "http", "method": "GET", "path": "/items/1", "state": server_state}
    ported = entry(error_format="fastapi")
    seen = modern_scope(scope, Decision(Side.MODERN, "items.get", entry=ported))
    assert seen["state"] == {"user": "x", "routeshift_route": ported}
    assert seen["state"]["routeshift_route"].error_format == "fastapi"
    assert server_state == {"user": "x"} and "routeshift_route" not in scope["state"]
    assert seen["method"] == "GET" and scope["path"] == seen["path"]


def test_modern_scope_without_a_state_of_the_server() -> None:
    ported = entry()
    scope = {"type": "http", "method": "HEAD", "path": "/items/1"}
    seen = modern_scope(scope, Decision(Side.MODERN, "items.get", head_as_get=True, entry=ported))
    assert (seen["method"], seen["state"]) == ("GET", {"routeshift_route": ported})
    assert scope["method"] == "HEAD" and "state" not in scope


def test_modern_scope_of_a_decision_without_an_entry_is_the_scope_itself() -> None:
    """Modern-only routes: nothing to hand over, and no copy made."""
    scope = {"type": "http", "method": "GET", "path": "/new", "state": {}}
    assert modern_scope(scope, Decision(Side.MODERN, "modern-only")) is scope
