"""`uvicorn gateway:app --workers 2`, for real on 127.0.0.1: a registry edit reaches both
workers, both write their shadow observations to one store and none is lost at
shutdown, and /metrics sums both workers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import write_registry
from servers import free_port
from sqlalchemy import create_engine, text

pytestmark = pytest.mark.live

REPO = Path(__file__).resolve().parents[2]
TESTS = Path(__file__).resolve().parents[1]
SHADOWED = 120  # shadow requests sent; every one must be stored

THINGS = {"endpoint": "get_thing", "rule": "/things/<int:thing_id>", "methods": ["GET"]}
PEOPLE = {"endpoint": "person", "rule": "/people/<int:person_id>", "methods": ["GET", "POST"]}
SETTINGS = {"shadow_max_in_flight": 1000}  # none skipped: every copy must be stored
APPS = {
    "legacy_app": "fixture_apps.twins:create_legacy()",
    "modern_app": "fixture_apps.twins:create_modern()",
}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path, subprocess.Popen[bytes]]]:
    registry = write_registry(
        tmp_path,
        [{**THINGS, "state": "shadow"}, {**PEOPLE, "state": "legacy"}],
        settings=SETTINGS,
        **APPS,
    )
    port = free_port()
    env = {
        **os.environ,
        "MIGRATION_STATUS": str(registry),
        # copies take a while: the last ones are still running when the server is stopped
        "TWINS_THINGS_DELAY": "0.5",
        "PYTHONPATH": os.pathsep.join([str(TESTS), str(REPO)]),
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)  # routeshift picks the directory itself
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "gateway:app",
            "--workers",
            "2",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        pids = wait_for_workers(url, process)
        assert len(pids) == 2
        yield url, registry, process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
        if process.stdout is not None:
            process.stdout.close()


def people(url: str, count: int) -> list[dict[str, Any]]:
    """`count` requests, each on a connection of its own, 8 at a time (both workers get some)."""

    def one(i: int) -> dict[str, Any]:
        response = httpx.get(f"{url}/people/{i}", headers={"Connection": "close"}, timeout=10)
        response.raise_for_status()
        return {"served_by": response.headers["x-served-by"], **response.json()}

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(one, range(count)))


def wait_for_workers(url: str, process: subprocess.Popen[bytes]) -> set[int]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read().decode() if process.stdout else ""
            raise AssertionError(f"uvicorn exited: {output}")
        try:
            pids = {answer["pid"] for answer in people(url, 16)}
        except httpx.HTTPError:
            time.sleep(0.2)
            continue
        if len(pids) == 2:
            return pids
    raise AssertionError("two workers did not both answer within 60 s")


def test_two_workers_share_the_registry_the_store_and_the_metrics(
    server: tuple[str, Path, subprocess.Popen[bytes]],
) -> None:
    url, registry, process = server

    # a registry edit reaches both workers
    write_registry(
        registry.parent,
        [{**THINGS, "state": "shadow"}, {**PEOPLE, "state": "modern"}],
        settings=SETTINGS,
        **APPS,
    )
    deadline = time.monotonic() + 10
    while True:
        answers = people(url, 32)
        if all(a["served_by"] == "modern" for a in answers) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert {a["served_by"] for a in answers} == {"modern"}
    assert {a["side"] for a in answers} == {"modern"}
    assert len({a["pid"] for a in answers}) == 2, "both workers serve the edited registry"

    # shadow runs in both workers; the last ones are still running when the server stops
    def thing(i: int) -> int:
        response = httpx.get(f"{url}/things/{i}", headers={"Connection": "close"}, timeout=10)
        assert response.headers["x-served-by"] == "legacy"
        return response.status_code

    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(thing, range(SHADOWED))) == {200}

    metrics = httpx.get(f"{url}/metrics", timeout=10).text
    counted = sum(
        float(line.rpartition(" ")[2])
        for line in metrics.splitlines()
        if line.startswith('routeshift_requests_total{endpoint="get_thing"')
    )
    assert counted == SHADOWED, "/metrics sums the requests of both workers"

    process.send_signal(signal.SIGTERM)  # a clean shutdown: queued observations are written
    assert process.wait(30) == 0

    engine = create_engine(f"sqlite:///{registry.parent / 'routeshift.db'}")
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT worker, result, count(*) FROM routeshift_shadow_observations "
                    "GROUP BY worker, result"
                )
            ).all()
    finally:
        engine.dispose()
    assert sum(count for _, _, count in rows) == SHADOWED, rows
    assert {result for _, result, _ in rows} == {"match"}
    assert len({worker for worker, _, _ in rows}) == 2, "observations from both workers"
