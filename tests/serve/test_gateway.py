"""routeshift.serve.gateway: the gateway in front of the shop apps, in-process and under a real
uvicorn on 127.0.0.1 where the server is the subject (framing, streaming, lifespan)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from conftest import SHOP_ROUTES, LiveServer, write_registry

from routeshift.errors import RegistryError
from routeshift.serve.assemble import build_gateway
from routeshift.serve.gateway import Gateway

REPO = Path(__file__).resolve().parents[2]


def request(gateway: Any, method: str, url: str, **kwargs: Any) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=gateway, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://shop.test") as client:
            return await client.request(method, url, **kwargs)

    return asyncio.run(go())


# --- who serves what -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "url", "status", "served_by"),
    [
        pytest.param("GET", "/items/1", 200, "modern", id="modern-state"),
        pytest.param("POST", "/items/1", 200, "legacy", id="per-method-ownership"),
        pytest.param("GET", "/boom", 500, "legacy", id="legacy-state"),
        pytest.param("GET", "/links", 200, "legacy", id="unregistered"),
        pytest.param("GET", "/new-feature", 500, "modern", id="modern-only-without-lifespan"),
        pytest.param("GET", "/docs", 200, "modern", id="docs"),
        pytest.param("GET", "/openapi.json", 200, "modern", id="openapi"),
        pytest.param("GET", "/nowhere", 404, "legacy", id="legacy-404"),
        pytest.param("PATCH", "/items/1", 200, "modern", id="modern-only-method"),
    ],
)
def test_served_by(
    shop_gateway: Gateway, method: str, url: str, status: int, served_by: str
) -> None:
    response = request(shop_gateway, method, url)
    assert response.status_code == status
    assert response.headers["x-served-by"] == served_by


def test_body_comes_from_the_owner(shop_gateway: Gateway) -> None:
    assert request(shop_gateway, "GET", "/items/1").json()["side"] == "modern"
    assert request(shop_gateway, "POST", "/items/1").json()["side"] == "legacy"


@pytest.mark.parametrize(
    ("url", "legacy_status"),
    [
        pytest.param("/prices/1", 404, id="float"),
        pytest.param("/files/", 404, id="path-empty"),
        pytest.param("/items/abc", 404, id="int"),
        pytest.param("/pages/other", 404, id="any"),
        pytest.param("/items", 308, id="trailing-slash"),
        pytest.param("/dirs", 308, id="strict-slash"),
        pytest.param("/items//1", 308, id="double-slash"),
    ],
)
def test_loose_modern_match_never_takes_a_legacy_path(
    shop_gateway: Gateway, shop_apps: tuple[Any, Any], url: str, legacy_status: int
) -> None:
    """The modern app would answer each of these (200, 422 or its own 307): legacy must."""
    response = request(shop_gateway, "GET", url)
    expected = shop_apps[0].test_client().get(url, base_url="http://shop.test")
    assert response.headers["x-served-by"] == "legacy"
    assert response.status_code == legacy_status == expected.status_code
    assert response.headers.get("location") == expected.headers.get("location")
    assert response.content == expected.data


def test_leading_zeros_follow_werkzeug(shop_gateway: Gateway) -> None:
    response = request(shop_gateway, "GET", "/items/007")
    assert response.headers["x-served-by"] == "modern"
    assert response.json()["item_id"] == 7


def test_head_follows_get_owner_with_get_headers(shop_gateway: Gateway) -> None:
    get = request(shop_gateway, "GET", "/items/1")
    head = request(shop_gateway, "HEAD", "/items/1")
    assert head.status_code == 200
    assert head.headers["x-served-by"] == "modern"
    assert head.content == b""
    assert head.headers["content-type"] == get.headers["content-type"]
    assert head.headers["content-length"] == get.headers["content-length"]
    legacy_head = request(shop_gateway, "HEAD", "/links")
    assert legacy_head.headers["x-served-by"] == "legacy"
    assert legacy_head.content == b""
    assert int(legacy_head.headers["content-length"]) > 0


def test_options_allow_covers_both_sides(shop_gateway: Gateway) -> None:
    response = request(shop_gateway, "OPTIONS", "/items/1")
    allow = {m.strip() for m in response.headers["allow"].split(",")}
    assert {"GET", "POST", "HEAD", "OPTIONS", "PATCH"} <= allow
    not_allowed = request(shop_gateway, "DELETE", "/items/1")
    assert not_allowed.status_code == 405
    assert "PATCH" in not_allowed.headers["allow"]


def test_url_for_builds_the_same_urls(shop_gateway: Gateway, shop_apps: tuple[Any, Any]) -> None:
    direct = shop_apps[0].test_client().get("/links", base_url="http://shop.test").get_json()
    assert (
        request(shop_gateway, "GET", "/links").json()
        == direct
        == {
            "relative": "/items/3",
            "external": "http://shop.test/items/3",
            "static": "/static/x.css",
        }
    )


def test_exception_in_legacy_gives_flask_500_and_serves_on(
    shop_gateway: Gateway, shop_apps: tuple[Any, Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.CRITICAL, logger="fixture_apps.flask_shop")
    response = request(shop_gateway, "GET", "/boom")
    flask_500 = shop_apps[0].test_client().get("/boom")
    assert response.status_code == 500
    assert response.content == flask_500.data
    assert request(shop_gateway, "GET", "/links").status_code == 200


def test_exception_in_modern_gives_fastapi_500_and_serves_on(
    tmp_path: Path, shop_apps: tuple[Any, Any]
) -> None:
    routes = [dict(r, state="modern") if r["endpoint"] == "boom" else r for r in SHOP_ROUTES]
    gateway = build_gateway(
        write_registry(tmp_path, routes),
        legacy_app=shop_apps[0],
        modern_app=shop_apps[1],
        force_legacy=False,
    )
    response = request(gateway, "GET", "/boom")
    assert (response.status_code, response.text) == (500, "Internal Server Error")
    assert response.headers["x-served-by"] == "modern"
    assert request(gateway, "GET", "/items/1").status_code == 200
    gateway.bridge.close()


def test_force_legacy_from_environment(
    shop_registry: Path, shop_apps: tuple[Any, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ROUTESHIFT_FORCE_LEGACY", "1")
    gateway = build_gateway(shop_registry, legacy_app=shop_apps[0], modern_app=shop_apps[1])
    assert request(gateway, "GET", "/items/1").headers["x-served-by"] == "legacy"
    assert request(gateway, "PATCH", "/items/1").headers["x-served-by"] == "modern"
    gateway.bridge.close()


def test_force_legacy_setting(tmp_path: Path, shop_apps: tuple[Any, Any]) -> None:
    path = write_registry(tmp_path, SHOP_ROUTES, settings={"force_legacy": True})
    gateway = build_gateway(
        path, legacy_app=shop_apps[0], modern_app=shop_apps[1], force_legacy=False
    )
    assert request(gateway, "GET", "/items/1").headers["x-served-by"] == "legacy"
    gateway.bridge.close()


# --- the registry, at start and while running -----------------------------------------


def test_bad_registry_stops_the_gateway_at_start(
    tmp_path: Path, shop_apps: tuple[Any, Any]
) -> None:
    routes = [dict(SHOP_ROUTES[0], state="moden")]
    path = write_registry(tmp_path, routes)
    with pytest.raises(RegistryError) as caught:
        build_gateway(path, legacy_app=shop_apps[0], modern_app=shop_apps[1])
    assert f"{path}:" in str(caught.value)
    assert "Did you mean 'modern'?" in str(caught.value)


def test_modern_state_without_handler_stops_the_gateway(
    tmp_path: Path, shop_apps: tuple[Any, Any]
) -> None:
    routes = [{"endpoint": "links", "rule": "/links", "methods": ["GET"], "state": "modern"}]
    with pytest.raises(RegistryError, match="has no handler for GET /links"):
        build_gateway(
            write_registry(tmp_path, routes), legacy_app=shop_apps[0], modern_app=shop_apps[1]
        )


def test_uvicorn_exits_with_the_message_on_a_bad_registry(tmp_path: Path) -> None:
    path = write_registry(tmp_path, [dict(SHOP_ROUTES[0], endpoint="items.itme")])
    env = dict(
        os.environ,
        MIGRATION_STATUS=str(path),
        PYTHONPATH=os.pathsep.join([str(REPO / "tests"), str(REPO)]),
    )
    result = subprocess.run(
        [sys.executable, "-m", "uvicorn", "gateway:app", "--port", "0"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert f"{path}:4" in result.stderr
    assert "Did you mean 'items.item'?" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_gateway_of_gateway_py_is_out_of_the_collectors_reach(tmp_path: Path) -> None:
    """`gateway:app` freezes what it built (both apps, their routes): a full collection
    during a reload or a request walks only what was made since."""
    env = dict(
        os.environ,
        MIGRATION_STATUS=str(write_registry(tmp_path, [dict(r) for r in SHOP_ROUTES])),
        ROUTESHIFT_STORE_URL=f"sqlite:///{tmp_path / 'store.db'}",
        PYTHONPATH=os.pathsep.join([str(REPO / "tests"), str(REPO)]),
    )
    code = (
        "import gc, gateway; "
        "print(gc.get_freeze_count(), type(gateway.app).__name__, gateway.app.watcher.freeze)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    frozen, kind, reloads_frozen = result.stdout.split()
    assert (kind, reloads_frozen) == ("Gateway", "True")
    assert int(frozen) > 10_000


def wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> float:
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)
    return time.monotonic() - start


def set_state(path: Path, endpoint: str, method: str, state: str) -> None:
    document = yaml.safe_load(path.read_text())
    for entry in document["routes"]:
        if entry["endpoint"] == endpoint and method in entry["methods"]:
            entry["state"] = state
    path.write_text(yaml.safe_dump(document, sort_keys=False))


def test_registry_edit_takes_effect_live_and_bad_edit_keeps_last_good(
    shop_registry: Path,
    shop_apps: tuple[Any, Any],
    live: Callable[..., LiveServer],
    caplog: pytest.LogCaptureFixture,
) -> None:
    gateway = build_gateway(
        shop_registry,
        legacy_app=shop_apps[0],
        modern_app=shop_apps[1],
        force_legacy=False,
        watch_interval=0.1,
    )
    server = live(gateway)

    def served_by() -> str:
        return httpx.get(server.url + "/items/1").headers["x-served-by"]

    assert served_by() == "modern"
    set_state(shop_registry, "items.item", "GET", "legacy")  # rollback: one line
    assert wait_for(lambda: served_by() == "legacy") < 2.0
    set_state(shop_registry, "items.item", "GET", "modern")
    wait_for(lambda: served_by() == "modern")

    caplog.set_level(logging.ERROR, logger="routeshift.serve.gateway")
    shop_registry.write_text(shop_registry.read_text().replace("state: legacy", "state: legasy"))
    wait_for(lambda: "legasy" in caplog.text)
    assert "Did you mean 'legacy'?" in caplog.text
    assert "still serving the last good registry" in caplog.text
    assert served_by() == "modern"
    assert httpx.post(server.url + "/items/1").headers["x-served-by"] == "legacy"


# --- the server as the subject: lifespan, threads, framing -----------------------------


def test_modern_lifespan_runs_and_bridge_shuts_down(
    shop_gateway: Gateway, live: Callable[..., LiveServer]
) -> None:
    from fixture_apps import fastapi_shop

    server = live(shop_gateway)
    assert fastapi_shop.events == ["startup"]
    response = httpx.get(server.url + "/new-feature")
    assert response.json()["greeting"] == "hello from lifespan"  # lifespan state reached it
    server.stop()
    assert fastapi_shop.events == ["startup", "shutdown"]
    with pytest.raises(RuntimeError):
        shop_gateway.bridge.executor.submit(print)


def test_bridge_threads_setting_sizes_the_pool(
    tmp_path: Path, shop_apps: tuple[Any, Any], live: Callable[..., LiveServer]
) -> None:
    from fixture_apps import flask_shop

    path = write_registry(tmp_path, SHOP_ROUTES, settings={"bridge_threads": 2})
    gateway = build_gateway(path, legacy_app=shop_apps[0], modern_app=shop_apps[1])
    server = live(gateway)

    async def three() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=server.url, timeout=15) as client:
            tasks = [asyncio.create_task(client.get("/wait")) for _ in range(3)]
            await asyncio.to_thread(wait_for, lambda: len(flask_shop.waiting) >= 2)
            await asyncio.sleep(0.3)
            inside = len(flask_shop.waiting)
            flask_shop.wait_gate.set()
            responses = await asyncio.gather(*tasks)
            assert inside == 2
            return responses

    assert [r.status_code for r in asyncio.run(three())] == [200, 200, 200]
    assert len(flask_shop.waiting) == 3


@pytest.fixture
def shop_server(shop_gateway: Gateway, live: Callable[..., LiveServer]) -> LiveServer:
    return live(shop_gateway)


def test_several_cookie_headers_reach_flask_and_set_cookies_all_arrive(
    shop_server: LiveServer,
) -> None:
    response = httpx.get(
        shop_server.url + "/cookies", headers=[("Cookie", "a=1; b=2"), ("Cookie", "c=3")]
    )
    assert response.json()["cookies"] == {"a": "1", "b": "2", "c": "3"}
    set_cookies = response.headers.get_list("set-cookie")
    assert [c.split(";")[0] for c in set_cookies] == ["first=1", "second=2"]
    assert "HttpOnly" in set_cookies[0] and "Path=/items" in set_cookies[1]
    modern = httpx.get(shop_server.url + "/headers")
    assert len(modern.headers.get_list("set-cookie")) == 2


def test_streaming_response_streams(shop_server: LiveServer) -> None:
    """The view waits for the test between its chunks: a buffered bridge would time out."""
    from fixture_apps import flask_shop

    with httpx.stream("GET", shop_server.url + "/stream", timeout=5) as response:
        chunks = response.iter_raw()
        first = next(chunks)
        assert first == b"first;"  # arrived while the view is still running
        flask_shop.stream_gate.set()
        assert b"".join(chunks) == b"second"
    assert response.headers["x-served-by"] == "legacy"


def echo(server: LiveServer, **kwargs: Any) -> dict[str, Any]:
    response = httpx.post(server.url + "/echo", timeout=60, **kwargs)
    assert response.status_code == 200, response.text
    assert response.headers["x-served-by"] == "legacy"
    result: dict[str, Any] = response.json()
    return result


def test_body_with_content_length_arrives_whole(shop_server: LiveServer) -> None:
    body = os.urandom(1000)
    assert echo(shop_server, content=body)["sha256"] == hashlib.sha256(body).hexdigest()


def test_20_mb_body_arrives_whole(shop_server: LiveServer) -> None:
    body = os.urandom(20 * 1024 * 1024)
    result = echo(shop_server, content=body)
    assert result["length"] == len(body)
    assert result["sha256"] == hashlib.sha256(body).hexdigest()


def test_chunked_body_arrives_whole(shop_server: LiveServer) -> None:
    parts = [os.urandom(70_000) for _ in range(40)]  # 2.8 MB, past the bridge's buffer

    def chunks() -> Any:
        yield from parts

    result = echo(shop_server, content=chunks())  # no length: Transfer-Encoding: chunked
    assert result["length"] == sum(map(len, parts))
    assert result["sha256"] == hashlib.sha256(b"".join(parts)).hexdigest()


def test_multipart_upload_arrives_whole(shop_server: LiveServer) -> None:
    upload = os.urandom(3 * 1024 * 1024)
    result = echo(
        shop_server,
        data={"title": "report"},
        files={"report": ("r.bin", upload, "application/octet-stream")},
    )
    assert result["form"] == {"title": "report"}
    assert result["files"] == {"report": hashlib.sha256(upload).hexdigest()}


def test_expect_100_continue(shop_server: LiveServer) -> None:
    body = os.urandom(50_000)
    with socket.create_connection(("127.0.0.1", shop_server.port), timeout=10) as sock:
        sock.sendall(
            b"POST /echo HTTP/1.1\r\nHost: shop.test\r\nExpect: 100-continue\r\n"
            b"Content-Type: application/octet-stream\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n"
        )
        interim = sock.recv(1024)
        assert interim.startswith(b"HTTP/1.1 100 Continue")
        sock.sendall(body)
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    head, _, payload = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert hashlib.sha256(body).hexdigest().encode() in payload


def test_an_edit_saved_while_the_apps_import_is_loaded(
    tmp_path: Path, live: Callable[..., LiveServer]
) -> None:
    """The registry's signature is taken before it is read: an operator's rollback saved
    while the (slow) apps were importing must not be missed by the watcher."""
    path = write_registry(tmp_path, SHOP_ROUTES, legacy_app="shop_during_import:app")
    (tmp_path / "shop_during_import.py").write_text(
        "from pathlib import Path\n"
        "registry = Path(__file__).with_name('migration_status.yaml')\n"
        "text = registry.read_text()\n"
        "registry.write_text(text.replace('state: modern', 'state: legacy', 1) + '\\n')\n"
        "from fixture_apps.flask_shop import create_app\n"
        "app = create_app()\n"
    )
    gateway = build_gateway(path, force_legacy=False, watch_interval=0.1)
    assert (
        gateway.routing.classifier.classify(
            {"type": "http", "method": "GET", "path": "/items/1", "headers": []}
        ).side.value
        == "modern"
    )  # read before the edit
    server = live(gateway)
    wait_for(lambda: httpx.get(server.url + "/items/1").headers["x-served-by"] == "legacy")


def test_the_watcher_outlives_an_unexpected_error(
    shop_registry: Path,
    shop_apps: tuple[Any, Any],
    live: Callable[..., LiveServer],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gateway = build_gateway(
        shop_registry,
        legacy_app=shop_apps[0],
        modern_app=shop_apps[1],
        force_legacy=False,
        watch_interval=0.1,
    )
    reload = gateway.watcher.reload
    calls: list[int] = []

    def flaky() -> bool:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("disk hiccup")
        return reload()

    monkeypatch.setattr(gateway.watcher, "reload", flaky)
    caplog.set_level(logging.ERROR, logger="routeshift.serve.gateway")
    server = live(gateway)
    set_state(shop_registry, "items.item", "GET", "legacy")
    wait_for(lambda: "disk hiccup" in caplog.text)
    set_state(shop_registry, "items.item", "GET", "modern")
    set_state(shop_registry, "items.item", "GET", "legacy")
    wait_for(lambda: httpx.get(server.url + "/items/1").headers["x-served-by"] == "legacy")


@pytest.mark.parametrize("freeze", [False, True], ids=["unfrozen", "frozen"])
@pytest.mark.parametrize("fails", [False, True], ids=["reloads", "raises"])
def test_a_reload_is_quiet_and_leaves_the_interpreter_as_it_was(
    shop_registry: Path,
    shop_apps: tuple[Any, Any],
    monkeypatch: pytest.MonkeyPatch,
    fails: bool,
    freeze: bool,
) -> None:
    """Requests that arrive while a 5,000-route registry reloads on its thread wait
    for the GIL 0.5 ms at each turn instead of Python's 5 ms, and no cyclic collection
    (10-20 ms holding the GIL) runs meanwhile; in a process that froze its start
    (gateway:app), what the reload built is frozen after it."""
    import gc
    import sys

    from routeshift.serve.reload import RELOAD_NICE, RELOAD_SWITCH_INTERVAL

    gateway = build_gateway(
        shop_registry, legacy_app=shop_apps[0], modern_app=shop_apps[1], watch_interval=0.01
    )
    gateway.watcher.freeze = freeze
    seen: list[tuple[float, bool]] = []
    frozen: list[bool] = []
    nice: list[int] = []
    main_thread = threading.get_native_id()

    def reload() -> bool:
        seen.append((sys.getswitchinterval(), gc.isenabled()))
        if sys.platform.startswith("linux"):  # the thread's own niceness, behind requests
            nice.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
        if fails:
            raise RuntimeError("disk hiccup")
        return True

    monkeypatch.setattr(gateway.watcher, "reload", reload)
    monkeypatch.setattr(gc, "freeze", lambda: frozen.append(gc.isenabled()))
    before = sys.getswitchinterval()

    async def run() -> None:
        watching = asyncio.create_task(gateway.watcher.watch())
        set_state(shop_registry, "items.item", "GET", "legacy")
        for _ in range(500):
            await asyncio.sleep(0.01)
            if seen:
                break
        watching.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watching

    try:
        asyncio.run(run())
    finally:
        gateway.close()
    assert seen == [(pytest.approx(RELOAD_SWITCH_INTERVAL), False)]  # kept in microseconds
    assert RELOAD_SWITCH_INTERVAL < before
    assert sys.getswitchinterval() == before and gc.isenabled()
    assert frozen == ([False] if freeze else [])  # frozen before collection resumes
    if sys.platform.startswith("linux"):
        server = os.getpriority(os.PRIO_PROCESS, main_thread)
        assert nice == [min(server + RELOAD_NICE, 19)]
        assert os.getpriority(os.PRIO_PROCESS, main_thread) == server  # only that thread
