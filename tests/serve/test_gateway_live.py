"""Live verification through the gateway: shadow and canary states, the kill switch,
observations in the store and request metrics, on twin apps written for it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import http_scope, write_registry
from fixture_apps import twins

from routeshift.cohort import goes_modern
from routeshift.serve.assemble import build_gateway
from routeshift.serve.gateway import Gateway
from routeshift.store.sql import Store

Message = dict[str, Any]

THINGS = {"endpoint": "get_thing", "rule": "/things/<int:thing_id>", "methods": ["GET"]}
CREATE = {"endpoint": "create_thing", "rule": "/things", "methods": ["POST"]}
PEOPLE = {"endpoint": "person", "rule": "/people/<int:person_id>", "methods": ["GET", "POST"]}


@pytest.fixture(autouse=True)
def fresh_twins() -> Iterator[None]:
    twins.reset()
    yield
    twins.HANG.set()  # let a hanging handler go


@contextlib.contextmanager
def gateway_for(
    folder: Path,
    routes: list[dict[str, Any]],
    settings: dict[str, Any] | None = None,
    **options: Any,
) -> Iterator[Gateway]:
    folder.mkdir(parents=True, exist_ok=True)
    path = write_registry(
        folder,
        routes,
        legacy_app="fixture_apps.twins:create_legacy()",
        modern_app="fixture_apps.twins:create_modern()",
        settings=settings,
    )
    gateway = build_gateway(
        path,
        legacy_app=twins.create_legacy(),
        modern_app=twins.create_modern(),
        watch_interval=0,
        **{"force_legacy": False, **options},
    )
    try:
        yield gateway
    finally:
        gateway.close()


async def exchange(
    gateway: Any,
    method: str,
    path: str,
    body: bytes = b"",
    headers: list[tuple[bytes, bytes]] = (),  # type: ignore[assignment]
) -> list[Message]:
    """The ASGI messages the gateway sends for one request: the client's bytes."""
    scope = http_scope(method, path, host="shop.test", client=("127.0.0.1", 40000))
    scope["headers"] += list(headers)
    scope["state"] = {}
    messages = [{"type": "http.request", "body": body, "more_body": False}]
    sent: list[Message] = []

    async def receive() -> Message:
        if messages:
            return messages.pop(0)
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    await gateway(scope, receive, send)
    return sent


def request(gateway: Any, method: str, url: str, **kwargs: Any) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=gateway, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://shop.test") as client:
            response = await client.request(method, url, **kwargs)
        await gateway.shadow.drain(10)  # the copy runs in this loop, after the response
        return response

    return asyncio.run(go())


def settle(gateway: Gateway) -> None:
    """Let the observations of the finished shadow runs reach the store."""
    assert gateway.writer.flush(10)


# --- shadow: what the client gets ---------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "store_down", "result"),
    [
        pytest.param("same", False, "match", id="modern-same"),
        pytest.param("differ", False, "mismatch", id="modern-differs"),
        pytest.param("raise", False, "error", id="modern-raises"),
        pytest.param("hang", False, "timeout", id="modern-hangs"),
        pytest.param("garbage", False, "mismatch", id="modern-garbage"),
        pytest.param("same", True, "match", id="store-unavailable"),
    ],
)
def test_shadow_client_bytes_are_legacy_only_bytes(
    tmp_path: Path, mode: str, store_down: bool, result: str
) -> None:
    settings: dict[str, Any] = {"shadow_timeout_s": 0.2}
    if store_down:
        (tmp_path / "not-a-dir").write_text("a file where the store's folder should be")
        settings["store_url"] = f"sqlite:///{tmp_path / 'not-a-dir' / 'store.db'}"
    twins.MODE["things"] = mode
    with (
        gateway_for(tmp_path / "legacy", [{**THINGS, "state": "legacy"}]) as alone,
        gateway_for(tmp_path / "shadow", [{**THINGS, "state": "shadow"}], settings) as shadowed,
    ):

        async def both() -> tuple[list[Message], list[Message]]:
            expected = await exchange(alone, "GET", "/things/7")
            got = await exchange(shadowed, "GET", "/things/7")
            await shadowed.shadow.drain(10)  # a hanging copy ends at its timeout
            twins.HANG.set()
            return expected, got

        expected, got = asyncio.run(both())
        assert got == expected
        assert got[0]["status"] == 200
        assert (b"x-served-by", b"legacy") in got[0]["headers"]
        settle(shadowed)
        counts = shadowed.metrics.shadow_counts()
        assert counts == {"get_thing": {result: 1}}
        if store_down:
            assert shadowed.writer.failed == 1
        else:
            assert shadowed.writer.written == 1


def test_shadow_observations_land_in_the_store_redacted(tmp_path: Path) -> None:
    twins.MODE["things"] = "differ"
    with gateway_for(tmp_path, [{**THINGS, "state": "shadow"}], {"redact": ["token"]}) as gateway:
        for thing_id in (1, 2, 3):
            request(gateway, "GET", f"/things/{thing_id}", headers={"Authorization": "Bearer s3"})
        settle(gateway)
        store = Store.for_registry(gateway.routing.registry)
        try:
            (summary,) = store.shadow_summaries().values()
            mismatches = store.mismatches("get_thing")
        finally:
            store.close()
    assert (summary.runs, summary.mismatch, summary.match_rate) == (3, 3, 0.0)
    assert summary.legacy_ms_p50 is not None and summary.modern_ms_p50 is not None
    assert [m.path for m in mismatches] == ["/things/3", "/things/2", "/things/1"]
    wheres = {d["where"]: d for d in mismatches[0].differences}
    assert set(wheres) == {"/name", "/token"}
    assert (wheres["/name"]["legacy"], wheres["/name"]["modern"]) == ("lamp", "bulb")
    assert "tok-3" not in repr(mismatches) and "tok-other" not in repr(mismatches)
    database = Path(str(Store.for_registry(gateway.routing.registry).engine.url.database))
    raw = database.read_bytes() + b"".join(
        p.read_bytes() for p in database.parent.glob(database.name + "-wal")
    )
    assert b"tok-3" not in raw and b"Bearer s3" not in raw


def test_shadow_of_a_write_runs_with_the_shadow_flag_and_writes_once(tmp_path: Path) -> None:
    with gateway_for(tmp_path, [{**CREATE, "state": "shadow", "shadow_writes": True}]) as gateway:
        response = request(gateway, "POST", "/things", json={"name": "desk"})
        settle(gateway)
        assert response.status_code == 201
        assert response.headers["x-served-by"] == "legacy"
        assert response.json() == {"id": 1, "name": "desk"}
        assert twins.WRITES == {"legacy": ["desk"], "modern": []}  # rolled back on modern
        assert gateway.metrics.shadow_counts() == {"create_thing": {"match": 1}}


def test_shadow_over_the_cap_is_skipped_and_counted(tmp_path: Path) -> None:
    twins.MODE["things"] = "hang"
    with gateway_for(
        tmp_path,
        [{**THINGS, "state": "shadow"}],
        {"shadow_max_in_flight": 2, "shadow_timeout_s": 5},
    ) as gateway:

        async def burst() -> list[list[Message]]:
            answers = [await exchange(gateway, "GET", f"/things/{i}") for i in range(6)]
            await asyncio.sleep(0.05)
            assert gateway.shadow.in_flight == 2
            twins.HANG.set()
            await gateway.shadow.drain(10)
            return answers

        answers = asyncio.run(burst())
        assert all(a[0]["status"] == 200 for a in answers)
        assert gateway.metrics.shadow_counts() == {"get_thing": {"skipped": 4, "match": 2}}


def test_shadow_sample_zero_never_copies(tmp_path: Path) -> None:
    with gateway_for(tmp_path, [{**THINGS, "state": "shadow", "sample": 0}]) as gateway:
        assert request(gateway, "GET", "/things/1").status_code == 200
        settle(gateway)
        assert gateway.metrics.shadow_counts() == {}


# --- canary ------------------------------------------------------------------------------


def test_canary_follows_the_cohort_hash(tmp_path: Path) -> None:
    route = {**PEOPLE, "state": "canary", "percent": 30, "cohort": "header:X-User-Id"}
    with gateway_for(tmp_path, [route]) as gateway:
        sides = {}
        for user in range(300):
            response = request(gateway, "GET", "/people/1", headers={"X-User-Id": f"u{user}"})
            sides[user] = response.headers["x-served-by"]
            assert response.json()["side"] == sides[user]
        expected = {u: "modern" if goes_modern("person", f"u{u}", 30) else "legacy" for u in sides}
        assert sides == expected
        assert 0 < list(sides.values()).count("modern") < 300
        for user in (0, 1, 2, 3, 4, 5):  # POST of the same endpoint agrees, and it sticks
            for _ in range(3):
                response = request(gateway, "POST", "/people/1", headers={"X-User-Id": f"u{user}"})
                assert response.headers["x-served-by"] == sides[user]


def test_canary_percent_edit_moves_only_the_cohorts_it_must(tmp_path: Path) -> None:
    route = {**PEOPLE, "state": "canary", "percent": 10, "cohort": "cookie:uid"}
    with gateway_for(tmp_path, [route]) as gateway:

        def modern_users() -> set[int]:
            return {
                user
                for user in range(400)
                if request(gateway, "GET", "/people/2", headers={"Cookie": f"uid=c{user}"}).headers[
                    "x-served-by"
                ]
                == "modern"
            }

        before = modern_users()
        write_registry(
            gateway.routing.registry.folder,
            [{**route, "percent": 25}],
            legacy_app="fixture_apps.twins:create_legacy()",
            modern_app="fixture_apps.twins:create_modern()",
        )
        assert gateway.watcher.reload()
        after = modern_users()
    assert before < after  # only added: no cohort went back to legacy
    assert abs(len(after) / 4 - 25) <= 6 and abs(len(before) / 4 - 10) <= 5


def test_canary_falls_back_to_the_client_address(tmp_path: Path) -> None:
    route = {**PEOPLE, "state": "canary", "percent": 50, "cohort": "header:X-User-Id"}
    with gateway_for(tmp_path, [route]) as gateway:
        side = "modern" if goes_modern("person", "127.0.0.1", 50) else "legacy"
        response = request(gateway, "GET", "/people/3")
        # httpx's ASGITransport gives the client 127.0.0.1
        assert response.headers["x-served-by"] == side


# --- the kill switch and metrics -----------------------------------------------------------


@pytest.mark.parametrize(
    "how",
    [pytest.param("environment", id="env"), pytest.param("settings", id="settings")],
)
def test_force_legacy_stops_canary_and_shadow(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    routes = [
        {**THINGS, "state": "shadow"},
        {**PEOPLE, "state": "canary", "percent": 100},
    ]
    settings = {"force_legacy": True} if how == "settings" else None
    if how == "environment":
        monkeypatch.setenv("ROUTESHIFT_FORCE_LEGACY", "1")
    with gateway_for(tmp_path, routes, settings, force_legacy=None) as gateway:
        assert request(gateway, "GET", "/people/1").headers["x-served-by"] == "legacy"
        assert request(gateway, "GET", "/things/1").headers["x-served-by"] == "legacy"
        settle(gateway)
        assert gateway.metrics.shadow_counts() == {}


def test_requests_are_counted_by_endpoint_and_side(tmp_path: Path) -> None:
    routes = [{**THINGS, "state": "modern"}, {**PEOPLE, "state": "legacy"}]
    with gateway_for(tmp_path, routes) as gateway:
        request(gateway, "GET", "/things/1")
        request(gateway, "GET", "/things/2")
        request(gateway, "GET", "/people/1")
        request(gateway, "GET", "/nowhere")
        traffic = gateway.metrics.traffic()
        body, _ = gateway.metrics.render(None)
    assert (traffic["get_thing"].modern, traffic["get_thing"].legacy) == (2, 0)
    assert (traffic["person"].modern, traffic["person"].legacy) == (0, 1)
    assert traffic["unmatched"].legacy == 1
    text = body.decode()
    labels = 'endpoint="unmatched",method="GET",side="legacy",status="404"'
    assert f"routeshift_requests_total{{{labels}}} 1.0" in text
    assert "/nowhere" not in text  # never a raw path


def test_a_failed_copy_is_logged_without_the_requests_values(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    twins.MODE["things"] = "raise"
    with gateway_for(tmp_path, [{**THINGS, "state": "shadow"}]) as gateway:
        gateway.shadow.redact = lambda text: text.replace("broken", "[redacted]")
        with caplog.at_level("WARNING", logger="routeshift.serve.shadow"):
            request(gateway, "GET", "/things/1")
    (line,) = [r.getMessage() for r in caplog.records if r.name == "routeshift.serve.shadow"]
    assert "RuntimeError: the port is [redacted]" in line
    assert "the client got legacy's reply" in line


def test_a_store_url_edit_is_logged_without_its_password(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with gateway_for(tmp_path, [{**THINGS, "state": "legacy"}]) as gateway:
        write_registry(
            tmp_path,
            [{**THINGS, "state": "legacy"}],
            legacy_app="fixture_apps.twins:create_legacy()",
            modern_app="fixture_apps.twins:create_modern()",
            settings={"store_url": "postgresql://ann:s3cretpw@db.example/obs"},
        )
        with caplog.at_level("WARNING", logger="routeshift.serve.gateway"):
            assert gateway.watcher.reload()
    text = caplog.text
    assert "settings.store_url changed to 'postgresql://ann:***@db.example/obs'" in text
    assert "s3cretpw" not in text
