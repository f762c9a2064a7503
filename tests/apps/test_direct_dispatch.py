"""Direct dispatch (routeshift.apps.dispatch) answers exactly as the modern app's own
router would: a corpus of FastAPI apps (routes on the app, in an included router, in
nested ones; no middleware, an http one, a pure ASGI one) gets the same requests through
a gateway with `direct_dispatch: true` and one with `false`, and every answer is compared
(status, headers, body: what the router left in the scope included), with the lifespan's
state, background tasks, yield dependencies and a websocket. The direct gateway never
tries the app's routes for a ported route; the other one does.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from conftest import write_registry
from fixture_apps import dispatch_corpus
from fixture_apps.dispatch_corpus import LAYOUTS, MIDDLEWARES, TOKEN, Corpus, Sent
from flask import Flask

from routeshift.apps import dispatch
from routeshift.apps.lifespan import ChildLifespan
from routeshift.serve.assemble import build_gateway
from routeshift.serve.gateway import Gateway

IGNORED_HEADERS = {"date"}

Answer = tuple[int, list[tuple[str, str]], bytes]


def answers(gateway: Gateway, sent: list[Sent]) -> list[Answer]:
    """Each request's answer from `gateway`, inside one lifespan (its state in every
    request's scope, as uvicorn does it)."""

    async def run() -> list[Answer]:
        state: dict[str, Any] = {}
        lifespan = _started(gateway, state)
        await lifespan.startup()
        assert lifespan.supported  # the gateway's startup completed
        try:
            found = []
            for request in sent:
                found.append(await _one(gateway, state, request))
            return found
        finally:
            await lifespan.shutdown()
            assert lifespan.supported  # and its shutdown

    return asyncio.run(run())


async def _one(gateway: Gateway, state: dict[str, Any], request: Sent) -> Answer:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        scope["state"] = dict(state)
        await gateway(scope, receive, send)

    transport = httpx.ASGITransport(app=app, root_path=request.root_path)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://corpus.test") as client:
        response = await client.request(
            request.method,
            request.root_path + request.path,
            headers=request.headers,
            json=request.json,
        )
    headers = [(k, v) for k, v in response.headers.multi_items() if k not in IGNORED_HEADERS]
    return response.status_code, headers, response.content


def _started(gateway: Gateway, state: dict[str, Any]) -> ChildLifespan:
    """The server's side of the gateway's lifespan, `state` shared as uvicorn shares it."""
    return ChildLifespan(gateway, {"type": "lifespan", "asgi": {"version": "3.0"}, "state": state})


def gateway_of(
    folder: Path, corpus: Corpus, *, direct: bool, legacy: Flask | None = None
) -> Gateway:
    folder.mkdir(exist_ok=True)
    path = write_registry(
        folder,
        corpus.routes,
        legacy_app="unused:legacy",
        modern_app="unused:modern",
        settings={"direct_dispatch": direct, "store_url": f"sqlite:///{folder / 'store.db'}"},
    )
    return build_gateway(
        path,
        legacy_app=legacy if legacy is not None else corpus.legacy,
        modern_app=corpus.modern,
        force_legacy=False,
        watch_interval=0,
    )


@pytest.fixture(
    params=[(layout, kind) for layout in LAYOUTS for kind in MIDDLEWARES],
    ids=lambda p: f"{p[0]}-{p[1]}",
)
def corpus(request: pytest.FixtureRequest) -> Corpus:
    layout, kind = request.param
    return dispatch_corpus.build(layout, kind)


@pytest.fixture
def both(tmp_path: Path, corpus: Corpus) -> Iterator[tuple[Gateway, Gateway]]:
    direct = gateway_of(tmp_path / "direct", corpus, direct=True)
    routed = gateway_of(tmp_path / "routed", corpus, direct=False)
    yield direct, routed
    direct.close()
    routed.close()


def test_every_answer_is_the_routers_own(corpus: Corpus, both: tuple[Gateway, Gateway]) -> None:
    direct, routed = both
    sent = list(dispatch_corpus.requests(corpus))
    assert dispatch.installed(corpus.modern)
    corpus.sentinel.asked = 0
    by_router = answers(routed, sent)
    asked_by_router = corpus.sentinel.asked
    done_by_router, corpus.done[:] = list(corpus.done), []
    closed_by_router, corpus.closed[:] = list(corpus.closed), []
    corpus.sentinel.asked = 0
    by_direct = answers(direct, sent)

    for request, one, other in zip(sent, by_direct, by_router, strict=True):
        assert one == other, f"{request}: direct {one!r} != router {other!r}"
    # the corpus reaches what it is for: each kind of answer is among them
    statuses = {status for status, _, _ in by_direct}
    expected = {200, 201, 403, 404, 405, 418, 422} | ({401} if corpus.prefix else set())
    assert expected <= statuses, statuses
    assert corpus.done == done_by_router and "wrote 3" in corpus.done
    assert corpus.closed == closed_by_router and corpus.closed
    # the router tried its routes for every request; direct dispatch only for those
    # that are no port (unknown paths, 405s legacy answers with the modern Allow)
    assert asked_by_router >= len(sent) - 10
    assert corpus.sentinel.asked < asked_by_router / 3


def test_the_scope_is_as_the_router_sets_it(corpus: Corpus, both: tuple[Gateway, Gateway]) -> None:
    direct, _ = both
    p = corpus.prefix
    sent = [
        Sent("GET", f"{p}/items/7", {"x-token": TOKEN}),
        Sent("GET", f"{p}/items/7", {"x-token": TOKEN}, root_path="/gw"),
        Sent("GET", f"{p}/files/a/b", {"x-token": TOKEN}),
        Sent("GET", f"{p}/levels", {"x-token": TOKEN}),
        Sent("GET", f"{p}/counts/12", {"x-token": TOKEN}),
    ]
    item, rooted, file, levels, count = answers(direct, sent)
    assert yaml.safe_load(count[2])["type"] == "int"  # the route's own {n:int} convertor
    body = yaml.safe_load(item[2])
    assert body["route"] == f"{p}/items/{{item_id}}" or body["route"] == "/items/{item_id}"
    assert body["endpoint"] == "read_item"
    assert body["params"] == {"item_id": "7"}
    assert body["item_id"] == 7 and body["held"] == "session"
    assert body["router_is_app_router"] is True
    assert body["started"] == "yes"  # the lifespan's state
    assert yaml.safe_load(rooted[2])["url"] == f"http://corpus.test/gw{p}/items/7"
    assert yaml.safe_load(file[2])["params"] == {"rest": "a/b"}
    expected_levels = ["outer"] if corpus.name.startswith("nested") else []
    assert yaml.safe_load(levels[2])["levels"] == expected_levels
    if not corpus.name.startswith("app"):
        assert ("x-response-class", "stamped") in item[1]
    if corpus.name.endswith("-http"):
        assert ("x-route-after", body["route"]) in item[1]


@pytest.mark.parametrize("layout", ["included", "nested"])
def test_an_included_routers_dependency_is_not_skipped(tmp_path: Path, layout: str) -> None:
    """Calling the leaf APIRoute's handle would skip include_router(dependencies=...)."""
    corpus = dispatch_corpus.build(layout, "none")
    direct = gateway_of(tmp_path, corpus, direct=True)
    corpus.sentinel.asked = 0
    try:
        status, headers, _ = answers(direct, [Sent("GET", f"{corpus.prefix}/items/1")])[0]
    finally:
        direct.close()
    assert status == 401
    assert ("www-authenticate", "Token") in headers
    assert corpus.sentinel.asked == 0  # it was dispatched directly


def test_a_websocket_reaches_the_modern_app(corpus: Corpus, both: tuple[Gateway, Gateway]) -> None:
    direct, _ = both
    sent: list[dict[str, Any]] = []
    inbox = [{"type": "websocket.connect"}, {"type": "websocket.disconnect", "code": 1000}]

    async def receive() -> dict[str, Any]:
        return inbox.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "websocket",
        "asgi": {"version": "3.0"},
        "path": "/ws",
        "raw_path": b"/ws",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"corpus.test")],
        "scheme": "ws",
        "subprotocols": [],
    }
    asyncio.run(direct(scope, receive, send))
    assert [m["type"] for m in sent] == ["websocket.accept", "websocket.send", "websocket.close"]
    assert sent[1]["text"] == "hello /ws"


# --- path values as legacy parsed them (design, "Rule translation") -------------------


@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_value_legacy_accepts_is_not_refused_by_a_second_parser(
    tmp_path: Path, layout: str
) -> None:
    """werkzeug's int converter takes a fullwidth digit (`\\d` is Unicode); FastAPI's
    int parameter does not. Direct dispatch hands the route legacy's value, 1."""
    corpus = dispatch_corpus.build(layout, "none")
    direct = gateway_of(tmp_path / "direct", corpus, direct=True)
    routed = gateway_of(tmp_path / "routed", corpus, direct=False)
    try:
        sent = [Sent("GET", f"{corpus.prefix}/items/%EF%BC%91", {"x-token": TOKEN})]
        ((status, _, body),) = answers(direct, sent)
        assert status == 200, body
        assert yaml.safe_load(body)["item_id"] == 1
        assert yaml.safe_load(body)["params"] == {"item_id": "1"}
        ((status, _, _),) = answers(routed, sent)
        assert status == 422  # FastAPI's own router: its parser refuses it
    finally:
        direct.close()
        routed.close()


def test_a_renamed_parameter_gets_its_value_by_position(tmp_path: Path) -> None:
    """A modern_path whose parameter has another name than the rule's."""
    corpus = dispatch_corpus.build("app", "none")
    legacy = Flask("renamed")
    legacy.add_url_rule("/items/<int:number>", "read_item", lambda number: "legacy")
    corpus.routes = [
        {
            "endpoint": "read_item",
            "rule": "/items/<int:number>",
            "methods": ["GET"],
            "state": "modern",
            "modern_path": "/items/{item_id}",
        }
    ]
    gateway = gateway_of(tmp_path, corpus, direct=True, legacy=legacy)
    try:
        corpus.sentinel.asked = 0
        ((status, _, body),) = answers(gateway, [Sent("GET", "/items/%EF%BC%92")])
        assert status == 200, body
        assert yaml.safe_load(body)["params"] == {"item_id": "2"}
        assert corpus.sentinel.asked == 0
    finally:
        gateway.close()


# --- switches, fallbacks and warnings --------------------------------------------------


def test_direct_dispatch_false_switches_back_live(tmp_path: Path) -> None:
    """An edit of settings.direct_dispatch takes effect at the watcher's reload, in the
    same running gateway (one lifespan), with the same answers."""
    corpus = dispatch_corpus.build("included", "none")
    gateway = gateway_of(tmp_path, corpus, direct=True)
    request = Sent("GET", "/api/items/5", {"x-token": TOKEN})
    asked: list[int] = []

    async def run() -> tuple[Answer, Answer]:
        state: dict[str, Any] = {}
        lifespan = _started(gateway, state)
        await lifespan.startup()
        assert lifespan.supported  # the gateway's startup completed
        try:
            corpus.sentinel.asked = 0
            first = await _one(gateway, state, request)
            asked.append(corpus.sentinel.asked)
            registry = gateway.watcher.path
            document = yaml.safe_load(registry.read_text(encoding="utf-8"))
            document["settings"]["direct_dispatch"] = False
            registry.write_text(yaml.safe_dump(document), encoding="utf-8")
            assert await asyncio.to_thread(gateway.watcher.reload)
            second = await _one(gateway, state, request)
            asked.append(corpus.sentinel.asked)
            return first, second
        finally:
            await lifespan.shutdown()
            assert lifespan.supported  # and its shutdown

    try:
        first, second = asyncio.run(run())
    finally:
        gateway.close()
    assert first == second and first[0] == 200
    assert asked[0] == 0 and asked[1] > 0  # the router scanned only after the edit


def test_two_handlers_for_one_path_take_the_first_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    corpus = dispatch_corpus.build("app", "none")

    @corpus.modern.get("/items/{item_id}")
    async def shadowed(item_id: int) -> str:  # FastAPI's router never reaches it
        return "second"

    with caplog.at_level(logging.WARNING, logger="routeshift"):
        direct = gateway_of(tmp_path / "direct", corpus, direct=True)
    routed = gateway_of(tmp_path / "routed", corpus, direct=False)
    try:
        warned = [r.getMessage() for r in caplog.records if "modern handlers serve" in r.message]
        assert warned == [
            "2 modern handlers serve GET /items/{item_id}; the gateway sends the route to "
            "the first, as FastAPI's router picks it ('read_item')."
        ]
        sent = [Sent("GET", "/items/3")]
        assert answers(direct, sent) == answers(routed, sent)
        assert yaml.safe_load(answers(direct, sent)[0][2])["endpoint"] == "read_item"
    finally:
        direct.close()
        routed.close()


def test_a_routers_own_middleware_runs_around_a_direct_dispatch(tmp_path: Path) -> None:
    """The seam is the bottom of the router's stack: middleware of the router's own
    (Router(middleware=...), FastAPI's max_body_size) still runs."""
    corpus = dispatch_corpus.build("included", "none")
    calls: list[str] = []

    class Counting:
        def __init__(self, app: Any) -> None:
            self.app = app

        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            calls.append(scope["type"])
            await self.app(scope, receive, send)

    router = corpus.modern.router
    router.middleware_stack = Counting(router.app)
    gateway = gateway_of(tmp_path, corpus, direct=True)
    try:
        assert dispatch.installed(corpus.modern)
        corpus.sentinel.asked = 0
        ((status, _, _),) = answers(gateway, [Sent("GET", "/api/items/5", {"x-token": TOKEN})])
        assert status == 200
        assert corpus.sentinel.asked == 0  # dispatched directly ...
        assert "http" in calls  # ... inside the router's own middleware
    finally:
        gateway.close()


def test_without_the_seam_the_apps_own_router_serves_with_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A router of a class that routes in its own way: the seam would skip its way."""
    from fastapi.routing import APIRouter

    corpus = dispatch_corpus.build("included", "none")
    routed: list[str] = []

    class Audited(APIRouter):
        async def app(self, scope: Any, receive: Any, send: Any) -> None:
            routed.append(scope["type"])
            await super().app(scope, receive, send)

    audited = Audited()
    audited.routes.extend(corpus.modern.router.routes)
    corpus.modern.router = audited
    with caplog.at_level(logging.WARNING, logger="routeshift"):
        first = gateway_of(tmp_path / "one", corpus, direct=True)
        second = gateway_of(tmp_path / "two", corpus, direct=True)
    try:
        warned = [r.getMessage() for r in caplog.records if "direct dispatch is off" in r.message]
        assert warned == [
            "direct dispatch is off: the modern app's router (Audited) routes in its own "
            "way. Ported routes go through the modern app's own router (the same answers, "
            "found by trying its routes in turn)."
        ]
        assert not dispatch.installed(corpus.modern)
        ((status, _, _),) = answers(first, [Sent("GET", "/api/items/5", {"x-token": TOKEN})])
        assert status == 200
        assert "http" in routed  # its own routing ran
    finally:
        first.close()
        second.close()


def test_an_app_that_served_already_gets_the_seam_at_the_bottom(tmp_path: Path) -> None:
    corpus = dispatch_corpus.build("nested", "http")
    before = answers_of_app(corpus.modern, Sent("GET", "/api/v1/items/2", {"x-token": TOKEN}))
    assert before == 200 and corpus.modern.middleware_stack is not None
    gateway = gateway_of(tmp_path, corpus, direct=True)
    try:
        assert dispatch.installed(corpus.modern)
        corpus.sentinel.asked = 0
        ((status, _, _),) = answers(gateway, [Sent("GET", "/api/v1/items/2", {"x-token": TOKEN})])
        assert status == 200 and corpus.sentinel.asked == 0
    finally:
        gateway.close()


def answers_of_app(app: Any, request: Sent) -> int:
    async def run() -> int:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://corpus.test") as c:
            response = await c.request(request.method, request.path, headers=request.headers)
        return response.status_code

    return asyncio.run(run())


def test_a_starlette_app_is_dispatched_directly_too(tmp_path: Path) -> None:
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def item(request: Any) -> JSONResponse:
        return JSONResponse({"params": request.path_params, "id": request.path_params["n"]})

    sentinel = dispatch_corpus.Sentinel()
    modern = Starlette(routes=[sentinel, Route("/items/{n:int}", item)])
    legacy = Flask("starlette_twin")
    legacy.add_url_rule("/items/<int:n>", "item", lambda n: "legacy")
    entry = {"endpoint": "item", "rule": "/items/<int:n>", "methods": ["GET"], "state": "modern"}
    entry["modern_path"] = "/items/{n:int}"
    corpus = Corpus("starlette", modern, legacy, [entry], "", sentinel)  # type: ignore[arg-type]
    gateways = [
        gateway_of(tmp_path / name, corpus, direct=name != "routed")
        for name in ("counted", "direct", "routed")
    ]
    counted, direct, routed = gateways
    try:
        ported = [Sent("GET", "/items/5"), Sent("HEAD", "/items/5")]
        sentinel.asked = 0
        by_direct = answers(counted, ported)
        assert sentinel.asked == 0
        assert yaml.safe_load(by_direct[0][2]) == {"params": {"n": 5}, "id": 5}
        sent = [*ported, Sent("GET", "/items/x"), Sent("DELETE", "/items/5")]
        assert answers(direct, sent) == answers(routed, sent)
    finally:
        for gateway in gateways:
            gateway.close()


@pytest.mark.parametrize("state", ["shadow", "canary"])
def test_a_shadow_copy_and_a_canarys_modern_half_are_dispatched_directly(
    tmp_path: Path, state: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = dispatch_corpus.build("included", "none")
    entry = next(e for e in corpus.routes if e["endpoint"] == "read_item")
    corpus.routes = [dict(entry, methods=["GET"], state=state)]
    if state == "canary":
        corpus.routes[0].update(percent=100 - 1e-9, cohort="header:x-user")
    served: list[str] = []
    serve = dispatch.Target.serve

    async def counted(self: Any, scope: Any, *args: Any) -> None:
        served.append(scope["path"])
        await serve(self, scope, *args)

    monkeypatch.setattr(dispatch.Target, "serve", counted)
    gateway = gateway_of(tmp_path, corpus, direct=True)
    try:
        corpus.sentinel.asked = 0
        sent = [Sent("GET", "/api/items/3", {"x-token": TOKEN, "x-user": "ann"})]
        ((status, headers, _),) = answers(gateway, sent)  # the lifespan's end drains copies
    finally:
        gateway.close()
    assert status == 200
    assert ("x-served-by", "legacy" if state == "shadow" else "modern") in headers
    assert served == ["/api/items/3"] and corpus.sentinel.asked == 0
