"""README "Deploy": every server command it shows, run for real on 127.0.0.1.

- gunicorn with uvicorn-worker's UvicornWorker, two workers, PROMETHEUS_MULTIPROC_DIR an
  empty directory made before each start: both workers serve, any worker's /metrics sums
  both, a start in the directory as a former run left it still counts that run's requests
  and one in a directory made anew counts from zero; gunicorn's own --forwarded-allow-ips
  (127.0.0.1) applies, and a registry edit reaches both workers;
- hypercorn: both sides serve with X-Served-By, and the gateway's lifespan runs (a
  registry edit is picked up without a restart);
- proxy headers: uvicorn's --proxy-headers/--forwarded-allow-ips apply to the whole
  gateway (Flask's remote_addr and scheme, FastAPI's request.client and scheme, the canary
  cohort `client`), Flask's ProxyFix on the legacy app to the legacy side only; a request
  that came through a proxy sees the admin pages only with ROUTESHIFT_ADMIN_TOKEN;
- --root-path: Flask's url_for and redirects, FastAPI's request.url_for and /docs build
  their URLs under it; X-Served-By and the admin pages are unchanged.

The apps are two small ones written to tmp_path with their own registry (MIGRATION_STATUS
names it; the apps' import strings resolve from its folder); `gateway:app` is the
repository's gateway.py, run from the repository's root as a project runs it from its own.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import sys
import textwrap
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import write_registry
from servers import ServerProcess, free_port

from routeshift.cohort import goes_modern

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"

# The commands of README's "Deploy" section, exactly (8000 becomes a free port).
GUNICORN = "gunicorn gateway:app -k uvicorn_worker.UvicornWorker -w 2 -b 127.0.0.1:8000"
HYPERCORN = "hypercorn gateway:app --bind 127.0.0.1:8000"
UVICORN_PROXY = (
    "uvicorn gateway:app --host 127.0.0.1 --port 8000"
    " --proxy-headers --forwarded-allow-ips 127.0.0.1"
)
UVICORN_ROOT_PATH = "uvicorn gateway:app --host 127.0.0.1 --port 8000 --root-path /app"
COMMANDS = (GUNICORN, HYPERCORN, UVICORN_PROXY, UVICORN_ROOT_PATH)

#: the servers' modules and the packages that bring them (pyproject.toml's bench extra)
PACKAGES = {
    "gunicorn": "gunicorn",
    "uvicorn_worker": "uvicorn-worker",
    "hypercorn": "hypercorn",
}
#: what the environment may carry that would change what these servers do
CLEARED = ("PROMETHEUS_MULTIPROC_DIR", "ROUTESHIFT_ADMIN_TOKEN", "FORWARDED_ALLOW_IPS")
CLIENT = "203.0.113.9"  # the address a proxy in front forwards (TEST-NET-3)
TOKEN = "deploy-secret"
FORWARDED = {"X-Forwarded-For": CLIENT, "X-Forwarded-Proto": "https"}
BRIDGE_THREADS = 8
START_SECONDS = 30

LEGACY = '''
"""The legacy side: each view says what Flask saw of the request."""
import os

from flask import Flask, jsonify, request, url_for
from werkzeug.middleware.proxy_fix import ProxyFix


def facts(endpoint):
    return jsonify(
        side="legacy",
        pid=os.getpid(),
        remote_addr=request.remote_addr,
        scheme=request.scheme,
        url=url_for(endpoint),
        external=url_for(endpoint, _external=True),
    )


def build():
    app = Flask(__name__)
    for rule, endpoint in [("/who", "who"), ("/where", "where"), ("/cohort", "cohort"),
                           ("/dir/", "folder")]:
        app.add_url_rule(rule, endpoint, lambda endpoint=endpoint: facts(endpoint))
    return app


app = build()
#: the same app behind werkzeug's ProxyFix (one proxy in front)
proxied = build()
proxied.wsgi_app = ProxyFix(proxied.wsgi_app, x_for=1, x_proto=1)
'''

MODERN = '''
"""The modern side: each route says what FastAPI saw of the request."""
import os

from fastapi import FastAPI, Request

app = FastAPI(title="deploy")


def facts(request, name):
    return {
        "side": "modern",
        "pid": os.getpid(),
        "client": request.client.host,
        "scheme": request.url.scheme,
        "url": str(request.url_for(name)),
    }


@app.get("/where", name="where")
async def where(request: Request):
    return facts(request, "where")


@app.get("/cohort", name="cohort")
async def cohort(request: Request):
    return facts(request, "cohort")
'''


def routes(where: str = "modern") -> list[dict[str, Any]]:
    return [
        {"endpoint": "who", "rule": "/who", "methods": ["GET"], "state": "legacy"},
        {"endpoint": "where", "rule": "/where", "methods": ["GET"], "state": where},
        {
            "endpoint": "cohort",
            "rule": "/cohort",
            "methods": ["GET"],
            "state": "canary",
            "percent": 50,
        },
        {"endpoint": "folder", "rule": "/dir/", "methods": ["GET"], "state": "legacy"},
    ]


def project(folder: Path, *, legacy: str = "app", where: str = "modern") -> Path:
    """The two apps and their registry in `folder`; returns the registry."""
    (folder / "deploy_legacy.py").write_text(textwrap.dedent(LEGACY), encoding="utf-8")
    (folder / "deploy_modern.py").write_text(textwrap.dedent(MODERN), encoding="utf-8")
    return write_registry(
        folder,
        routes(where),
        legacy_app=f"deploy_legacy:{legacy}",
        modern_app="deploy_modern:app",
        settings={"bridge_threads": BRIDGE_THREADS},
    )


def need(*modules: str) -> None:
    """The servers' packages: skipped when missing on a developer's machine, a failure in CI."""
    for module in modules:
        if os.environ.get("CI"):
            try:
                __import__(module)
            except ImportError as exc:
                pytest.fail(
                    f"{module} is not installed; pyproject.toml's extras must bring "
                    f"{PACKAGES[module]} ({exc})"
                )
        else:
            pytest.importorskip(module, reason=f"pip install {PACKAGES[module]}")


def argv(command: str, port: int) -> list[str]:
    """The README command, on `port`, run with this interpreter (`gunicorn ...` as
    `python -m gunicorn ...`: the same program from the same environment)."""
    command = command.replace("127.0.0.1:8000", f"127.0.0.1:{port}")
    command = command.replace("--port 8000", f"--port {port}")
    return [sys.executable, "-m", *shlex.split(command)]


class Server(ServerProcess):
    """A README command serving `registry` as a subprocess in its own process group."""

    def __init__(self, command: str, registry: Path, **env: str) -> None:
        port = free_port()
        environ = {k: v for k, v in os.environ.items() if k not in CLEARED}
        environ.update(MIGRATION_STATUS=str(registry), PYTHONUNBUFFERED="1", **env)
        super().__init__(
            argv(command, port),
            cwd=REPO,
            env=environ,
            log=registry.parent / f"server-{port}.log",
            port=port,
        )

    def wait_until_up(self) -> None:  # type: ignore[override]
        """Until the gateway answers (its own /metrics: not counted in the metrics)."""
        super().wait_until_up(
            lambda: httpx.get(f"{self.url}/metrics", timeout=2), (httpx.HTTPError,), 0.1
        )


@contextlib.contextmanager
def serving(command: str, registry: Path, **env: str) -> Iterator[Server]:
    server = Server(command, registry, **env)
    try:
        server.wait_until_up()
        yield server
    finally:
        server.stop()


def get(url: str, path: str, **headers: str) -> httpx.Response:
    return httpx.get(url + path, headers=headers, timeout=10)


def answers(server: Server, path: str, count: int) -> list[dict[str, Any]]:
    """`count` GETs, each on a connection of its own, 8 at a time (so every worker gets some)."""

    def one(_: int) -> dict[str, Any]:
        response = get(server.url, path, Connection="close")
        assert response.status_code == 200, (response.status_code, response.text)
        return {"served_by": response.headers["x-served-by"], **response.json()}

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(one, range(count)))


def samples(server: Server, name: str, **labels: str) -> float:
    """The sum of the samples `name{labels...}` in /metrics (a fresh connection)."""
    text = get(server.url, "/metrics", Connection="close").text
    total = 0.0
    for line in text.splitlines():
        metric, _, value = line.rpartition(" ")
        if metric.partition("{")[0] != name:
            continue
        if all(f'{key}="{wanted}"' in metric for key, wanted in labels.items()):
            total += float(value)
    return total


# --- gunicorn with uvicorn workers ----------------------------------------------------


def start_gunicorn(
    registry: Path, metrics_dir: Path, *, wipe: bool = True
) -> contextlib.AbstractContextManager[Server]:
    """As the README says: the metrics directory emptied (made anew) before each start."""
    if wipe:
        shutil.rmtree(metrics_dir, ignore_errors=True)
        metrics_dir.mkdir()
    return serving(
        GUNICORN,
        registry,
        PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
        XDG_RUNTIME_DIR=str(registry.parent),  # gunicorn's control socket: this test's own
    )


def both_workers(server: Server) -> int:
    """GET /who until two worker pids answered; returns how many requests that took."""
    sent, pids = 0, set()
    deadline = time.monotonic() + START_SECONDS
    while len(pids) < 2 and time.monotonic() < deadline:
        batch = answers(server, "/who", 16)
        sent += len(batch)
        pids |= {answer["pid"] for answer in batch}
    assert len(pids) == 2, f"two workers did not both answer:\n{server.output()}"
    return sent


def counted(server: Server, endpoint: str) -> set[float]:
    """routeshift_requests_total of `endpoint` as /metrics says it, asked four times on
    four connections (whichever worker answers)."""
    return {samples(server, "routeshift_requests_total", endpoint=endpoint) for _ in range(4)}


@pytest.mark.live
def test_gunicorn_uvicorn_workers_sum_their_metrics(tmp_path: Path) -> None:
    need("gunicorn", "uvicorn_worker")
    registry = project(tmp_path)
    metrics_dir = tmp_path / "metrics"

    with start_gunicorn(registry, metrics_dir) as server:
        legacy = both_workers(server)
        modern = answers(server, "/where", 32)
        assert {a["served_by"] for a in modern} == {"modern"}
        assert len({a["pid"] for a in modern}) == 2, "both workers serve the modern side"
        # UvicornWorker reads proxy headers from gunicorn's --forwarded-allow-ips (127.0.0.1)
        assert get(server.url, "/who", **FORWARDED).json()["remote_addr"] == CLIENT
        legacy += 1
        assert counted(server, "who") == {legacy}, "any worker's /metrics sums both"
        assert counted(server, "where") == {32}
        assert samples(server, "routeshift_bridge_threads") == 2 * BRIDGE_THREADS
        assert list(metrics_dir.glob("counter_*.db")), "the workers wrote their files there"

    # a start in the directory as the last run left it still counts the last run's requests
    with start_gunicorn(registry, metrics_dir, wipe=False) as server:
        again = both_workers(server)
        assert counted(server, "who") == {legacy + again}
        assert counted(server, "where") == {32}

    # made anew before the start: the counts start from zero
    with start_gunicorn(registry, metrics_dir) as server:
        fresh = both_workers(server)
        assert counted(server, "who") == {fresh}
        assert counted(server, "where") == {0}
        assert samples(server, "routeshift_bridge_threads") == 2 * BRIDGE_THREADS

        # each worker runs the gateway's lifespan: a rollback reaches both, no restart
        project(tmp_path, where="legacy")
        deadline = time.monotonic() + 10
        while True:
            seen = answers(server, "/where", 32)
            if {a["served_by"] for a in seen} == {"legacy"} or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert {a["served_by"] for a in seen} == {"legacy"}, server.output()
        assert len({a["pid"] for a in seen}) == 2, "both workers serve the edited registry"


# --- hypercorn -----------------------------------------------------------------------


@pytest.mark.live
def test_hypercorn_serves_both_sides_and_runs_the_lifespan(tmp_path: Path) -> None:
    need("hypercorn")
    registry = project(tmp_path)
    with serving(HYPERCORN, registry) as server:
        legacy = get(server.url, "/who")
        assert legacy.status_code == 200
        assert legacy.headers["x-served-by"] == "legacy"
        assert legacy.json()["side"] == "legacy"
        modern = get(server.url, "/where")
        assert modern.headers["x-served-by"] == "modern"
        assert modern.json()["side"] == "modern"
        assert samples(server, "routeshift_requests_total", endpoint="who") == 1

        # the registry watcher runs in the lifespan: a rollback reaches the running server
        project(tmp_path, where="legacy")
        deadline = time.monotonic() + 10
        while get(server.url, "/where").headers["x-served-by"] != "legacy":
            assert time.monotonic() < deadline, f"the edit was not picked up:\n{server.output()}"
            time.sleep(0.2)
        assert get(server.url, "/where").json()["side"] == "legacy"
    assert "Traceback" not in server.output(), server.output()


# --- behind a proxy -------------------------------------------------------------------


def cohort_addresses() -> tuple[str, str]:
    """Two client addresses, the first in the canary's modern half, the second not."""
    inside = next(
        f"198.51.100.{i}" for i in range(1, 255) if goes_modern("cohort", f"198.51.100.{i}", 50)
    )
    outside = next(
        f"198.51.100.{i}" for i in range(1, 255) if not goes_modern("cohort", f"198.51.100.{i}", 50)
    )
    return inside, outside


@pytest.mark.live
def test_uvicorn_proxy_headers_apply_to_the_whole_gateway(tmp_path: Path) -> None:
    registry = project(tmp_path)
    with serving(UVICORN_PROXY, registry, ROUTESHIFT_ADMIN_TOKEN=TOKEN) as server:
        base = f"127.0.0.1:{server.port}"

        legacy = get(server.url, "/who", **FORWARDED)
        assert legacy.headers["x-served-by"] == "legacy"
        assert legacy.json()["remote_addr"] == CLIENT
        assert legacy.json()["scheme"] == "https"
        assert legacy.json()["external"] == f"https://{base}/who"

        modern = get(server.url, "/where", **FORWARDED)
        assert modern.headers["x-served-by"] == "modern"
        assert modern.json()["client"] == CLIENT
        assert modern.json()["scheme"] == "https"
        assert modern.json()["url"] == f"https://{base}/where"

        # the canary cohort `client` is the forwarded address: the peer is 127.0.0.1 for all
        inside, outside = cohort_addresses()
        for address, side in ((inside, "modern"), (outside, "legacy")):
            for _ in range(3):
                response = get(server.url, "/cohort", **{"X-Forwarded-For": address})
                assert response.headers["x-served-by"] == side, address
                seen = response.json()
                assert seen.get("client", seen.get("remote_addr")) == address

        # a request that came through a proxy sees the admin pages with the token only
        for path in ("/_routeshift/status.json", "/metrics"):
            assert get(server.url, path, **FORWARDED).status_code == 401
            bearer = {"Authorization": f"Bearer {TOKEN}"}
            assert get(server.url, path, **FORWARDED, **bearer).status_code == 200
            assert get(server.url, path).status_code == 401, "loopback too, with a token set"


@pytest.mark.live
def test_flask_proxy_fix_applies_to_the_legacy_side_only(tmp_path: Path) -> None:
    need("hypercorn")  # a server that reads no X-Forwarded-* itself
    registry = project(tmp_path, legacy="proxied")
    with serving(HYPERCORN, registry) as server:
        legacy = get(server.url, "/who", **FORWARDED).json()
        assert legacy["remote_addr"] == CLIENT
        assert legacy["scheme"] == "https"

        modern = get(server.url, "/where", **FORWARDED).json()
        assert modern["client"] == "127.0.0.1", "ProxyFix does not reach the FastAPI side"
        assert modern["scheme"] == "http"

        # nor the gateway's canary cohort: every forwarded address is one cohort, the proxy's
        inside, outside = cohort_addresses()
        sides = {
            get(server.url, "/cohort", **{"X-Forwarded-For": a}).headers["x-served-by"]
            for a in (inside, outside) * 2
        }
        expected = "modern" if goes_modern("cohort", "127.0.0.1", 50) else "legacy"
        assert sides == {expected}

        # without a token, no request that came through a proxy sees the admin pages
        refused = get(server.url, "/_routeshift/status.json", **FORWARDED)
        assert refused.status_code == 403
        assert "ROUTESHIFT_ADMIN_TOKEN" in refused.text
        assert get(server.url, "/_routeshift/status.json").status_code == 200


# --- under a path prefix ----------------------------------------------------------------


@pytest.mark.live
def test_uvicorn_root_path_prefixes_the_urls_of_both_sides(tmp_path: Path) -> None:
    registry = project(tmp_path)
    with serving(UVICORN_ROOT_PATH, registry) as server:
        base = f"http://127.0.0.1:{server.port}"

        legacy = get(server.url, "/who")  # the proxy in front took /app off
        assert legacy.headers["x-served-by"] == "legacy"
        assert legacy.json()["url"] == "/app/who"
        assert legacy.json()["external"] == f"{base}/app/who"

        redirect = get(server.url, "/dir")  # werkzeug's redirect to the slash
        assert redirect.status_code == 308
        assert redirect.headers["x-served-by"] == "legacy"
        assert redirect.headers["location"].endswith("/app/dir/")

        modern = get(server.url, "/where")
        assert modern.headers["x-served-by"] == "modern"
        assert modern.json()["url"] == f"{base}/app/where"

        docs = get(server.url, "/docs")
        assert docs.status_code == 200
        assert "x-served-by" in docs.headers
        assert "'/app/openapi.json'" in docs.text or '"/app/openapi.json"' in docs.text
        document = get(server.url, "/openapi.json").json()
        assert "/where" in document["paths"]  # the modern app's own document (for now)
        assert {"url": "/app"} in document.get("servers", []), document.get("servers")

        # the gateway's own pages are below the root path too
        page = get(server.url, "/_routeshift")
        assert page.status_code == 307
        assert page.headers["location"] == "/app/_routeshift/"
        assert get(server.url, "/_routeshift/status.json").status_code == 200


# --- README -------------------------------------------------------------------------


def readme_commands() -> list[str] | None:
    """The server commands in README's "Deploy" section; None while it has none."""
    text = README.read_text(encoding="utf-8")
    found = re.search(r"^## Deploy\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    if found is None:
        return None
    commands = []
    for block in re.findall(r"^```(?:sh|console|bash)\n(.*?)^```", found.group(1), re.M | re.S):
        for line in block.splitlines():
            words = shlex.split(line.removeprefix("$ "), comments=True)
            while words and re.fullmatch(r"[A-Z_][A-Z0-9_]*=.*", words[0]):
                words.pop(0)  # NAME=value before the command
            if words and words[0] in ("gunicorn", "hypercorn", "uvicorn"):
                commands.append(shlex.join(words))
    return commands


def test_readme_deploy_shows_the_tested_commands() -> None:
    commands = readme_commands()
    if commands is None:
        pytest.skip("README.md has no Deploy section yet")
    assert sorted(commands) == sorted(COMMANDS)
