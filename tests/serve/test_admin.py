"""routeshift.serve.admin: the admin pages and /metrics through the real gateway, in-process
(who may look, what they show) and in a real headless Chromium against a real uvicorn."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import re
import shutil
import struct
import subprocess
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from conftest import LiveServer, write_registry

import routeshift.cli.status  # noqa: F401  (registers the command on main)
from routeshift.cli import main
from routeshift.compare import Difference
from routeshift.registry.model import Settings
from routeshift.serve.admin import ENV_ADMIN_TOKEN, AdminPaths, is_loopback
from routeshift.serve.assemble import build_gateway
from routeshift.serve.gateway import Gateway
from routeshift.store.records import Observation, ShadowResult
from routeshift.store.redact import Redactor
from routeshift.store.sql import Store

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
OWNER = '<script>alert("x")</script> & co'
#: values of a stored difference: the page shows where replies differ, never these
LEGACY_VALUE, MODERN_VALUE = "legacy-value-7f3e", "modern-value-9c1a"

ROUTES: list[dict[str, Any]] = [
    {
        "endpoint": "items.item",
        "rule": "/items/<int:item_id>",
        "methods": ["GET"],
        "state": "shadow",
        "owner": OWNER,
    },
    {
        "endpoint": "items.item",
        "rule": "/items/<int:item_id>",
        "methods": ["POST"],
        "state": "legacy",
    },
    {
        "endpoint": "items.listing",
        "rule": "/items/",
        "methods": ["GET"],
        "state": "canary",
        "percent": 25,
    },
    {"endpoint": "price", "rule": "/prices/<float:amount>", "methods": ["GET"], "state": "modern"},
    {"endpoint": "file", "rule": "/files/<path:name>", "methods": ["GET"], "state": "modern"},
    {"endpoint": "dirs", "rule": "/dirs/", "methods": ["GET"], "state": "modern"},
    {"endpoint": "both", "rule": "/both", "methods": ["GET"], "state": "modern"},
    {"endpoint": "both", "rule": "/both", "methods": ["DELETE"], "state": "legacy"},
    {"endpoint": "boom", "rule": "/boom", "methods": ["GET"], "state": "legacy"},
]


def observation(result: ShadowResult, minute: int, **extra: Any) -> Observation:
    fields: dict[str, Any] = {
        "endpoint": "items.item",
        "method": "GET",
        "rule": "/items/<int:item_id>",
        "path": f"/items/{minute}",
        "result": result,
        "legacy_status": 200,
        "modern_status": 200,
        "legacy_ms": 12.0,
        "modern_ms": 4.0,
        "at": NOW - dt.timedelta(minutes=60 - minute),
    }
    fields.update(extra)
    return Observation(**fields)


def seed(store_url: str) -> None:
    """Ten shadow runs of items.item: nine matches, then one mismatch in two places."""
    runs = [observation(ShadowResult.MATCH, minute) for minute in range(9)]
    runs.append(
        observation(
            ShadowResult.MISMATCH,
            30,
            path="/items/42",
            modern_status=404,
            differences=(
                Difference("/status", 200, 404),
                Difference("/price", LEGACY_VALUE, MODERN_VALUE),
            ),
        )
    )
    store = Store(store_url)
    store.record_observations(runs, Redactor())
    store.close()


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No admin token, store URL or multiprocess directory from the shell running the tests."""
    for name in (ENV_ADMIN_TOKEN, "ROUTESHIFT_STORE_URL", "PROMETHEUS_MULTIPROC_DIR"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def registry(tmp_path: Path) -> Path:
    url = f"sqlite:///{tmp_path / 'routeshift.db'}"
    seed(url)
    return write_registry(tmp_path, [dict(r) for r in ROUTES], settings={"store_url": url})


def gateway_for(registry: Path) -> Gateway:
    from fixture_apps import fastapi_shop, flask_shop

    return build_gateway(
        registry,
        legacy_app=flask_shop.create_app(),
        modern_app=fastapi_shop.create_app(),
        force_legacy=False,
        watch_interval=0,
    )


@pytest.fixture
def gateway(registry: Path) -> Iterator[Gateway]:
    built = gateway_for(registry)
    assert hasattr(built, "admin"), "the gateway serves the admin pages"
    yield built
    built.close()


LOOPBACK = ("127.0.0.1", 51000)


def request(
    app: Any,
    method: str,
    url: str,
    *,
    client: tuple[str, int] = LOOPBACK,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=client)
        async with httpx.AsyncClient(transport=transport, base_url="http://shop.test") as http:
            return await http.request(method, url, headers=headers)

    return asyncio.run(go())


def traffic(app: Any) -> None:
    """Requests the figures below count: price 3 (modern), boom 2 (legacy)."""
    for url in ("/prices/1.5", "/prices/2.5", "/prices/3.5", "/boom", "/boom"):
        request(app, "GET", url)


# --- status.json ----------------------------------------------------------------------


def test_status_json_is_the_schema_of_status_format_json(gateway: Gateway, registry: Path) -> None:
    traffic(gateway)
    response = request(gateway, "GET", "/_routeshift/status.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store"
    live = response.json()
    cli = CliRunner().invoke(main, ["status", "--registry", str(registry), "--format", "json"])
    assert cli.exit_code == 0, cli.output
    offline = json.loads(cli.stdout)
    assert live["schema"] == offline["schema"] == "routeshift.status/1"
    assert set(live) == set(offline)
    assert live["totals"] == offline["totals"]
    assert [set(r) for r in live["routes"]] == [set(r) for r in offline["routes"]]
    routes = {(r["endpoint"], r["rule"]): r for r in live["routes"]}
    assert routes[("price", "/prices/<float:amount>")]["traffic"] == {
        "legacy": 0,
        "modern": 3,
        "modern_share": 100.0,
    }
    assert routes[("boom", "/boom")]["traffic"]["legacy"] == 2
    shadow = routes[("items.item", "/items/<int:item_id>")]["shadow"]
    assert (shadow["runs"], shadow["match"], shadow["mismatch"], shadow["match_rate"]) == (
        10,
        9,
        1,
        90.0,
    )
    assert shadow["latest_mismatch"]["path"] == "/items/42"
    assert routes[("items.listing", "/items/")]["percent"] == 25


# --- the page ---------------------------------------------------------------------------


def test_page_shows_progress_traffic_shadow_and_latency(gateway: Gateway) -> None:
    traffic(gateway)
    response = request(gateway, "GET", "/_routeshift/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "default-src 'none'" in response.headers["content-security-policy"]
    page = response.text
    # 16 route methods: 4 modern, 1 canary, 1 shadow, 3 legacy, 7 unregistered
    assert "<title>routeshift live: 25% modern</title>" in page
    states = dict(re.findall(r'data-state="(\w+)"><i class="\w+"></i><b>(\d+)</b>', page))
    assert states == {
        "unregistered": "7",
        "legacy": "3",
        "shadow": "1",
        "canary": "1",
        "modern": "4",
    }
    assert "of 5 requests served by modern" in page  # 3 of 5: 60%
    assert "<b>60%</b>" in page
    assert "90%</span><small>9 of 10 runs matched &middot; 1 mismatch</small>" in page
    assert '<code class="req">GET /items/42</code>' in page
    assert "<code>/status</code><code>/price</code>" in page
    assert "200 &rarr; 404" in page
    assert "<b>12 ms</b>" in page and "<b>4.0 ms</b>" in page
    assert "GET canary 25%" in page
    assert "100% modern &middot; 3 requests" in page
    assert "no shadow runs yet" in page  # the canary route


def test_page_is_self_contained_and_refreshes_without_a_script(gateway: Gateway) -> None:
    page = request(gateway, "GET", "/_routeshift/").text
    assert page.startswith("<!doctype html>") and page.rstrip().endswith("</html>")
    for external in ("http://", "https://", "<script", "<link", "src=", "@import", "url("):
        assert external not in page
    assert '<meta http-equiv="refresh" content="10">' in page


def test_page_escapes_and_never_shows_difference_values(gateway: Gateway) -> None:
    page = request(gateway, "GET", "/_routeshift/").text
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co" in page
    assert "<script>" not in page
    assert LEGACY_VALUE not in page and MODERN_VALUE not in page


def test_empty_states(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    routes = [r for r in ROUTES if r["state"] not in ("shadow", "canary")]
    gateway = gateway_for(write_registry(tmp_path, routes, settings={"store_url": url}))
    try:
        page = request(gateway, "GET", "/_routeshift/").text
    finally:
        gateway.close()
    assert "No route is in shadow or canary right now." in page
    assert "no shadow runs yet" in page and "no requests yet" in page
    assert "shadow match rate: no shadow runs yet" in page
    # the gateway's start kept the day's snapshot; looking added nothing
    store = Store(url)
    assert [s.counts["modern"] for s in store.snapshots(10)] == [4]
    assert store.verifications() == {} and store.shadow_summaries() == {}
    store.close()


@pytest.mark.parametrize(
    ("method", "url", "status", "location"),
    [
        pytest.param("GET", "/_routeshift", 307, "/_routeshift/", id="prefix-redirects"),
        pytest.param("GET", "/_routeshift?x=1", 307, "/_routeshift/?x=1", id="keeps-query"),
        pytest.param("GET", "/_routeshift/nothing", 404, None, id="unknown-page"),
        pytest.param("POST", "/_routeshift/", 405, None, id="post"),
        pytest.param("POST", "/metrics", 405, None, id="post-metrics"),
    ],
)
def test_paths(gateway: Gateway, method: str, url: str, status: int, location: str | None) -> None:
    response = request(gateway, method, url)
    assert response.status_code == status
    assert response.headers.get("location") == location
    if status == 404:
        assert "/_routeshift/status.json" in response.text  # says which pages there are


def test_head_has_the_length_and_no_body(gateway: Gateway) -> None:
    response = request(gateway, "HEAD", "/_routeshift/status.json")
    assert response.status_code == 200 and response.content == b""
    assert int(response.headers["content-length"]) > 100


def test_paths_come_from_the_registry(tmp_path: Path) -> None:
    settings = {
        "store_url": f"sqlite:///{tmp_path / 'r.db'}",
        "admin_prefix": "/ops/",
        "metrics_path": "/ops-metrics",
    }
    gateway = gateway_for(write_registry(tmp_path, [], settings=settings))
    try:
        assert request(gateway, "GET", "/ops/status.json").json()["schema"]
        assert request(gateway, "GET", "/ops").headers["location"] == "/ops/"
        assert "routeshift_requests" in request(gateway, "GET", "/ops-metrics").text
        moved = request(gateway, "GET", "/_routeshift/")
        assert (moved.status_code, moved.headers["x-served-by"]) == (404, "legacy")
    finally:
        gateway.close()


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        pytest.param("/metrics", True, id="metrics"),
        pytest.param("/_routeshift", True, id="prefix"),
        pytest.param("/_routeshift/", True, id="page"),
        pytest.param("/_routeshift/status.json", True, id="json"),
        pytest.param("/_routeshiftx", False, id="longer-name"),
        pytest.param("/metrics/x", False, id="below-metrics"),
        pytest.param("/items/1", False, id="app"),
    ],
)
def test_admin_paths(path: str, expected: bool) -> None:
    assert AdminPaths.of(Settings()).matches(path) is expected
    assert AdminPaths.of(Settings(admin_prefix="/_routeshift/")).matches(path) is expected


# --- /metrics ----------------------------------------------------------------------------


def test_metrics_through_the_gateway(gateway: Gateway) -> None:
    traffic(gateway)
    response = request(gateway, "GET", "/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = response.text
    assert (
        'routeshift_requests_total{endpoint="price",method="GET",side="modern",status="200"} 3.0'
    ) in text
    assert 'routeshift_request_duration_seconds_count{side="legacy"} 2.0' in text
    assert "routeshift_bridge_threads_busy 0.0" in text
    assert "/prices/1.5" not in text  # never a raw path
    scraped = request(
        gateway, "GET", "/metrics", headers={"Accept": "application/openmetrics-text"}
    )
    assert scraped.headers["content-type"].startswith("application/openmetrics-text")
    assert scraped.text.endswith("# EOF\n")


# --- who may look --------------------------------------------------------------------------

PAGES = ("/_routeshift/", "/_routeshift/status.json", "/metrics")


@pytest.mark.parametrize(
    "host",
    [
        pytest.param("127.0.0.1", id="v4"),
        pytest.param("127.8.9.10", id="v4-net"),
        pytest.param("::1", id="v6"),
        pytest.param("::ffff:127.0.0.1", id="v4-mapped"),
    ],
)
@pytest.mark.parametrize("page", PAGES)
def test_loopback_may_look(gateway: Gateway, host: str, page: str) -> None:
    assert request(gateway, "GET", page, client=(host, 1234)).status_code == 200


@pytest.mark.parametrize(
    "host",
    [
        pytest.param("10.1.2.3", id="private"),
        pytest.param("203.0.113.9", id="public"),
        pytest.param("::ffff:10.0.0.1", id="v4-mapped"),
        pytest.param("fe80::1", id="v6-link-local"),
        pytest.param("localhost", id="a-name-is-not-an-address"),
    ],
)
@pytest.mark.parametrize("page", PAGES)
def test_others_are_refused_and_told_what_to_do(gateway: Gateway, host: str, page: str) -> None:
    response = request(
        gateway,
        "GET",
        page,
        client=(host, 1234),
        headers={"X-Forwarded-For": "127.0.0.1", "X-Real-IP": "127.0.0.1"},
    )
    assert response.status_code == 403
    assert "set ROUTESHIFT_ADMIN_TOKEN" in response.text
    assert "routeshift_requests" not in response.text and "<html" not in response.text


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize(
    "header",
    [
        pytest.param({"X-Forwarded-For": "127.0.0.1"}, id="x-forwarded-for"),
        pytest.param({"Forwarded": "for=127.0.0.1"}, id="forwarded"),
        pytest.param({"X-Real-IP": "127.0.0.1"}, id="x-real-ip"),
    ],
)
def test_a_proxied_request_needs_the_token_even_from_loopback(
    gateway: Gateway, token_gateway: Gateway, page: str, header: dict[str, str]
) -> None:
    # a server that trusts forwarded headers (uvicorn --forwarded-allow-ips '*') puts the
    # claimed address in scope["client"]: loopback there proves nothing
    response = request(gateway, "GET", page, headers=header)
    assert response.status_code == 403
    assert "set ROUTESHIFT_ADMIN_TOKEN" in response.text
    with_token = {**header, "Authorization": "Bearer s3cret-token"}
    assert request(token_gateway, "GET", page, headers=with_token).status_code == 200


def test_the_pages_answer_below_a_root_path(gateway: Gateway) -> None:
    async def go() -> tuple[httpx.Response, httpx.Response]:
        transport = httpx.ASGITransport(app=gateway, root_path="/api", client=LOOPBACK)
        async with httpx.AsyncClient(transport=transport, base_url="http://shop.test") as http:
            # uvicorn --root-path puts the root path into `path` as well
            return (
                await http.get("/api/_routeshift/status.json"),
                await http.get("/api/_routeshift"),
            )

    status, redirect = asyncio.run(go())
    assert status.status_code == 200 and status.json()["schema"] == "routeshift.status/1"
    assert (redirect.status_code, redirect.headers["location"]) == (307, "/api/_routeshift/")


def test_the_app_itself_stays_open_to_everyone(gateway: Gateway) -> None:
    response = request(gateway, "GET", "/prices/1.5", client=("10.1.2.3", 1234))
    assert (response.status_code, response.headers["x-served-by"]) == (200, "modern")


@pytest.fixture
def token_gateway(registry: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Gateway]:
    monkeypatch.setenv(ENV_ADMIN_TOKEN, "s3cret-token")
    built = gateway_for(registry)
    yield built
    built.close()


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize(
    ("authorization", "client", "status"),
    [
        pytest.param(None, LOOPBACK, 401, id="none-from-loopback"),
        pytest.param("Bearer wrong", LOOPBACK, 401, id="wrong"),
        pytest.param("Bearer s3cret-toke", LOOPBACK, 401, id="prefix-of-the-token"),
        pytest.param("Basic s3cret-token", LOOPBACK, 401, id="not-bearer"),
        pytest.param("Bearer s3cret-token", LOOPBACK, 200, id="right-from-loopback"),
        pytest.param("Bearer s3cret-token", ("10.1.2.3", 1), 200, id="right-from-anywhere"),
        pytest.param("bearer  s3cret-token ", ("10.1.2.3", 1), 200, id="scheme-any-case"),
    ],
)
def test_a_token_is_required_when_set(
    token_gateway: Gateway,
    page: str,
    authorization: str | None,
    client: tuple[str, int],
    status: int,
) -> None:
    headers = {"Authorization": authorization} if authorization else None
    response = request(token_gateway, "GET", page, client=client, headers=headers)
    assert response.status_code == status
    if status == 401:
        assert response.headers["www-authenticate"].startswith('Bearer realm="routeshift"')
        assert "s3cret" not in response.text
        assert ENV_ADMIN_TOKEN in response.text


def test_a_wrong_token_is_named_in_the_challenge(token_gateway: Gateway) -> None:
    wrong = request(token_gateway, "GET", "/metrics", headers={"Authorization": "Bearer x"})
    assert wrong.headers["www-authenticate"].endswith('error="invalid_token"')
    missing = request(token_gateway, "GET", "/metrics")
    assert "error=" not in missing.headers["www-authenticate"]


@pytest.mark.parametrize(
    ("client", "expected"),
    [
        pytest.param(("127.0.0.1", 1), True, id="v4"),
        pytest.param(["::1", 1], True, id="list"),
        pytest.param(("fe80::1%eth0", 1), False, id="scoped-v6"),
        pytest.param(None, False, id="unix-socket"),
        pytest.param(("", 0), False, id="empty"),
    ],
)
def test_is_loopback(client: Any, expected: bool) -> None:
    assert is_loopback(client) is expected


# --- a real browser ------------------------------------------------------------------------

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOT_COPY = Path("/tmp/routeshift-dashboard.png")
CHROMIUM_SECONDS = 90


def chromium(*args: str, profile: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            "--window-size=1280,1600",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=CHROMIUM_SECONDS,
        check=False,
    )


def png_pixels(data: bytes, rows: int) -> tuple[int, int, list[bytes]]:
    """Width, height and the first `rows` rows of an 8-bit RGB(A) PNG as raw RGB(A) bytes."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    position, idat, header = 8, b"", b""
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        chunk = data[position + 8 : position + 8 + length]
        if kind == b"IHDR":
            header = chunk
        elif kind == b"IDAT":
            idat += chunk
        position += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert (depth, interlace) == (8, 0) and colour in (2, 6), (depth, colour, interlace)
    size = 3 if colour == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * size
    previous = bytearray(stride)
    decoded = []
    for y in range(min(rows, height)):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for x in range(stride):
            left = line[x - size] if x >= size else 0
            up = previous[x]
            corner = previous[x - size] if x >= size else 0
            if kind == 1:
                line[x] = (line[x] + left) & 0xFF
            elif kind == 2:
                line[x] = (line[x] + up) & 0xFF
            elif kind == 3:
                line[x] = (line[x] + (left + up) // 2) & 0xFF
            elif kind == 4:
                guess = left + up - corner
                pa, pb, pc = abs(guess - left), abs(guess - up), abs(guess - corner)
                pick = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                line[x] = (line[x] + pick) & 0xFF
        decoded.append(
            bytes(line) if size == 3 else bytes(line[i] for i in range(stride) if i % 4 != 3)
        )
        previous = line
    return width, height, decoded


def colour_count(rows: list[bytes], hex_colour: str) -> int:
    wanted = bytes.fromhex(hex_colour.lstrip("#"))
    return sum(row[i : i + 3] == wanted for row in rows for i in range(0, len(row), 3))


@pytest.fixture
def browser() -> str:
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing in CI: scripts/setup installs Debian's chromium")
        pytest.skip(f"no Chromium at {CHROMIUM}: `apt-get install chromium` to run this test")
    return CHROMIUM


def test_the_page_in_a_real_browser(browser: str, registry: Path, tmp_path: Path) -> None:
    gateway = gateway_for(registry)
    server = LiveServer(gateway)
    server.start()
    try:
        with httpx.Client(base_url=server.url) as http:
            for url in ("/prices/1.5", "/prices/2.5", "/prices/3.5", "/boom", "/boom"):
                http.get(url)
            for number in range(40):  # the canary route
                http.get("/items/", headers={"X-Forwarded-For": f"10.0.0.{number}"})
        page = f"{server.url}/_routeshift/"
        dom = chromium("--dump-dom", page, profile=tmp_path / "profile-dom")
        assert dom.returncode == 0, dom.stderr[-2000:]
        shot = tmp_path / "dashboard.png"
        taken = chromium(f"--screenshot={shot}", page, profile=tmp_path / "profile-shot")
        assert taken.returncode == 0 and shot.is_file(), taken.stderr[-2000:]
    finally:
        server.stop()
        gateway.close()
    html = dom.stdout
    assert "<title>routeshift live: 25% modern</title>" in html
    assert "90%" in html and "9 of 10 runs matched" in html
    assert "GET /items/42" in html and "<code>/price</code>" in html
    assert "of 45 requests served by modern" in html
    assert LEGACY_VALUE not in html
    shutil.copyfile(shot, SCREENSHOT_COPY)
    width, height, rows = png_pixels(shot.read_bytes(), rows=700)
    assert (width, height) == (1280, 1600)
    distinct = {row[i : i + 3] for row in rows[::7] for i in range(0, len(row), 21)}
    assert len(distinct) > 20, "a blank page"
    # the overall bar's segments, in the page's own colours
    for name, colour in (("modern", "#4ac26b"), ("shadow", "#8250df"), ("canary", "#d4a72c")):
        assert colour_count(rows, colour) > 300, f"no {name} segment in the screenshot"


# --- the migration over time --------------------------------------------------------------


def test_the_gateway_keeps_the_day_s_snapshot_at_start_and_after_a_reload(
    gateway: Gateway, registry: Path
) -> None:
    assert gateway.writer.flush(5)
    (first,) = gateway.store.snapshots(10)
    assert first.day == dt.datetime.now(dt.UTC).date()
    assert (first.counts["shadow"], first.counts["canary"], first.counts["modern"]) == (1, 1, 4)
    text = registry.read_text().replace("state: shadow", "state: modern", 1)
    registry.write_text(text)
    assert gateway.watcher.reload()
    assert gateway.writer.flush(5)
    (latest,) = gateway.store.snapshots(10)  # the last one of the day wins
    assert (latest.counts["shadow"], latest.counts["modern"]) == (0, 5)
    document = request(gateway, "GET", "/_routeshift/status.json").json()
    assert document["history"]["source"] == "store"  # tmp_path is in no git work tree
    assert document["history"]["points"][-1]["modern"] in (4, 5)  # cached up to 30 s


def test_a_store_that_cannot_be_written_does_not_stop_the_gateway(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the store's folder should be")
    url = f"sqlite:///{blocker / 'routeshift.db'}"
    gateway = gateway_for(
        write_registry(tmp_path, [dict(r) for r in ROUTES[3:]], settings={"store_url": url})
    )
    try:
        assert gateway.writer.flush(5)
        assert request(gateway, "GET", "/prices/1.5").status_code == 200
        page = request(gateway, "GET", "/_routeshift/")
        assert page.status_code == 200 and "No history yet" in page.text
    finally:
        gateway.close()


# --- the example's dashboard, screenshot for docs/ ------------------------------------------

ROOT = Path(__file__).resolve().parents[2]
ENV_SCREENSHOT = "ROUTESHIFT_SCREENSHOT"


def test_the_example_s_dashboard_in_a_real_browser(
    browser: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The repository's own registry and example apps, served with real traffic (the
    example's database and the store in tmp_path; the registry is read, never written):
    the dashboard draws the burn-down (from the registry's git history, else the store's
    snapshot) and the states. With ROUTESHIFT_SCREENSHOT=path.png the screenshot is
    written there too (docs/dashboard.png, see README)."""
    import yaml

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'example.db'}")
    monkeypatch.setenv("ROUTESHIFT_STORE_URL", f"sqlite:///{tmp_path / 'routeshift.db'}")
    monkeypatch.syspath_prepend(str(ROOT))
    registry = ROOT / "migration_status.yaml"
    expected: dict[str, int] = {}  # route methods per state, as the dashboard counts them
    for entry in yaml.safe_load(registry.read_text())["routes"]:
        if not entry.get("retired"):
            methods = [m for m in entry["methods"] if m not in ("HEAD", "OPTIONS")]
            expected[entry["state"]] = expected.get(entry["state"], 0) + len(methods)
    import legacy_flask
    from modern_api import create_app

    gateway = build_gateway(
        registry,
        legacy_app=legacy_flask.app,
        modern_app=create_app(),
        force_legacy=False,
        watch_interval=0,
    )
    server = LiveServer(gateway)
    server.start()
    try:
        with httpx.Client(base_url=server.url) as http:
            for _ in range(5):
                for url in ("/users", "/users/1", "/users/2", "/", "/me"):
                    http.get(url)
            http.get("/slow")
        assert gateway.writer.flush(10)
        page = f"{server.url}/_routeshift/"
        dom = chromium("--dump-dom", page, profile=tmp_path / "profile-dom")
        assert dom.returncode == 0, dom.stderr[-2000:]
        shot = tmp_path / "dashboard.png"
        taken = chromium(
            f"--screenshot={shot}",
            "--window-size=1200,900",
            page,
            profile=tmp_path / "profile-shot",
        )
        assert taken.returncode == 0 and shot.is_file(), taken.stderr[-2000:]
    finally:
        server.stop()
        gateway.close()
    html = dom.stdout
    chart = re.search(r'<svg class="burn".*?</svg>', html, re.S)
    assert chart is not None, "no burn-down on the dashboard"
    assert "from the registry's git history" in html or "from the gateway's daily snapshots" in html
    drawn = set(re.findall(r'<path class="(\w+)"', chart.group()))
    assert drawn == set(expected), "a layer per state the registry uses"
    for state, count in expected.items():
        assert f'data-state="{state}"><i class="{state}"></i><b>{count}</b>' in html
    assert (
        "requests served by modern" in html and "no requests yet" not in html.split("In flight")[0]
    )
    data = shot.read_bytes()
    width, height, rows = png_pixels(data, rows=900)
    assert (width, height) == (1200, 900)
    assert len(data) < 300_000
    assert colour_count(rows, "#afb8c1") > 300, "no legacy in the screenshot"
    target = os.environ.get(ENV_SCREENSHOT)
    if target:
        Path(target).write_bytes(data)
