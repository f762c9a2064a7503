"""routeshift on real Flask apps that nobody here wrote, used as a new user would.

The apps come from their sdists on PyPI, fetched by `scripts/realapps` into
.cache/realapps/<name>/ (never committed; nothing is fetched while testing). Each test
module copies its app into tmp_path and runs the `routeshift` command there as a
subprocess, so the app's modules (`flaskr`, the example's `app`) and the project's
`modern_api` never meet this repository's in one interpreter. The ports a user would
write after `routeshift scaffold` are the files of overlay_<name>/, laid over the project;
they cross into the app with routeshift.compat, as a user's ports do.

Servers (gunicorn with the app alone, uvicorn with the gateway) run on 127.0.0.1 as
subprocesses in their own process groups; `Scenario` sends the same recorded requests to
both, each through its own cookie jar, and says every difference a client could see.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from importlib import metadata
from pathlib import Path
from typing import Any

import httpx
import pytest
from servers import ServerProcess, free_port

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
CACHE = REPO / ".cache" / "realapps"
FETCH = "scripts/realapps"

#: what differs between two servers of the same app and is no answer of the app's
NOT_COMPARED = frozenset(
    {"date", "server", "content-length", "x-served-by", "connection", "keep-alive"}
    | {"transfer-encoding"}
)
#: headers whose value is a set (Flask builds Allow from a set: its order is the process's)
SETS = frozenset({"allow", "vary"})
#: the Host both servers are sent (an app's absolute URLs name it: APIFlask's spec does)
HOST = "realapps.test"
#: what the environment may carry that would change what the servers and commands do
CLEARED = ("MIGRATION_STATUS", "ROUTESHIFT_REGISTRY", "ROUTESHIFT_STORE_URL", "FLASK_APP")
CLEARED += ("ROUTESHIFT_FORCE_LEGACY", "ROUTESHIFT_ADMIN_TOKEN", "PROMETHEUS_MULTIPROC_DIR")


def realapp(name: str) -> Path:
    """The cached app's folder, from the sdist of the version this venv has; else a skip
    (a failure on CI) naming the command that fetches it."""
    folder = CACHE / name
    source = folder / "SOURCE"
    if not source.is_file():
        unusable = f"{folder.relative_to(REPO)}/ is missing"
    else:
        project, _, release = source.read_text(encoding="utf-8").split()[0].partition("==")
        try:
            installed = metadata.version(project)
        except metadata.PackageNotFoundError:
            return folder
        if installed == release:
            return folder
        unusable = (
            f"{folder.relative_to(REPO)}/ is from {project} {release}, the venv has {installed}"
        )
    command = FETCH
    if Path(sys.executable) != REPO / ".venv" / "bin" / "python":
        command += f" --python {sys.executable}"
    reason = f"{unusable}: run `{command}` (it downloads the sdists from PyPI)"
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


def need_module(module: str, why: str) -> None:
    """Skip (fail on CI) when `module` does not import."""
    try:
        __import__(module)
    except ImportError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"{why} ({exc})")
        pytest.skip(f"{why} ({exc})")


def need_apiflask(*imports: str) -> None:
    """apiflask and the example's other `imports` in the venv; else a skip, a failure on
    CI with Flask 3 (pyproject's test extra brings them; apiflask 3.1.2 is tested with
    Flask 3 only, so the oldest-Flask venv may lack them)."""
    missing = []
    for module in ("apiflask", *imports):
        try:
            __import__(module)
        except ImportError as exc:
            missing.append(str(exc))
    if not missing:
        return
    flask = metadata.version("flask")
    reason = f"APIFlask's examples need apiflask, {', '.join(imports)} (Flask {flask} here): "
    reason += "; ".join(missing)
    if int(flask.partition(".")[0]) >= 3 and os.environ.get("CI"):
        pytest.fail(reason + ": pyproject's test extra must bring them")
    pytest.skip(reason)


def environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in CLEARED}
    env.update(PYTHONUNBUFFERED="1", **extra)
    return env


@dataclass
class Project:
    """A copy of a real app in tmp_path, where the `routeshift` command runs."""

    root: Path
    env: dict[str, str] = field(default_factory=environment)

    @classmethod
    def copy_of(cls, name: str, into: Path) -> Project:
        root = into / name
        shutil.copytree(realapp(name), root, ignore=shutil.ignore_patterns("SOURCE"))
        return cls(root)

    def routeshift(self, *args: str, expect: int = 0) -> str:
        """`routeshift ARGS` in the project; its output, after checking its exit code."""
        done = subprocess.run(
            [sys.executable, "-m", "routeshift", *args],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        output = done.stdout + done.stderr
        assert done.returncode == expect, (
            f"routeshift {' '.join(args)}: {done.returncode}\n{output}"
        )
        return output

    def lay(self, overlay: str) -> None:
        """The files a user writes after init and scaffold: overlay_<name>/."""
        shutil.copytree(HERE / overlay, self.root, dirs_exist_ok=True)


@contextlib.contextmanager
def imported_from(folder: Path, *modules: str) -> Iterator[None]:
    """`modules` importable from `folder` for the block, then forgotten."""
    before = set(sys.modules)
    sys.path.insert(0, str(folder))
    try:
        yield
    finally:
        sys.path.remove(str(folder))
        for name in set(sys.modules) - before:
            if name.partition(".")[0] in modules:
                del sys.modules[name]


class Server(ServerProcess):
    """`python -m <argv>` serving the project on a free port, in its own process group."""

    def __init__(
        self, project: Project, name: str, argv: Callable[[int], list[str]], **env: str
    ) -> None:
        port = free_port()
        super().__init__(
            [sys.executable, "-m", *argv(port)],
            cwd=project.root,
            env={**project.env, "XDG_RUNTIME_DIR": str(project.root.parent), **env},
            log=project.root.parent / f"{name}-{port}.log",
            port=port,
        )

    def wait_until_up(self) -> None:  # type: ignore[override]
        super().wait_until_up(self.accepts)


@contextlib.contextmanager
def serving(
    project: Project,
    wsgi_app: str,
    alone: dict[str, str] | None = None,
    gateway: dict[str, str] | None = None,
) -> Iterator[tuple[Server, Server]]:
    """gunicorn with the app alone, and uvicorn with the gateway (each with its extra
    environment), both up."""
    need_module("gunicorn", "gunicorn serves the app alone: pyproject's bench extra brings it")
    servers = [
        Server(
            project,
            "gunicorn",
            lambda port: ["gunicorn", "-b", f"127.0.0.1:{port}", wsgi_app],
            **(alone or {}),
        )
    ]
    try:
        servers.append(
            Server(
                project,
                "gateway",
                lambda port: ["uvicorn", "gateway:app", "--host", "127.0.0.1", f"--port={port}"],
                **(gateway or {}),
            )
        )
        for server in servers:
            server.wait_until_up()
        yield servers[0], servers[1]
    finally:
        for server in servers:
            server.stop()


# --- the gateway's own view of its registry -------------------------------------------


def states(gateway: Server) -> dict[tuple[str, str], str]:
    """(endpoint, method) -> state, as the running gateway serves them."""
    document = httpx.get(f"{gateway.url}/_routeshift/status.json", timeout=10).json()
    return {
        (route["endpoint"], method["method"]): method["state"]
        for route in document["routes"]
        for method in route["methods"]
    }


def wait_for_states(gateway: Server, wanted: dict[tuple[str, str], str]) -> None:
    """Until the gateway serves `wanted` (it picks a registry edit up within a second)."""
    deadline = time.monotonic() + 10
    while True:
        now = states(gateway)
        if all(now.get(key) == state for key, state in wanted.items()):
            return
        assert time.monotonic() < deadline, f"the gateway still serves {now}"
        time.sleep(0.1)


def shadow_runs(gateway: Server) -> float:
    """routeshift_shadow_runs_total, summed over endpoints and results (/metrics)."""
    text = httpx.get(f"{gateway.url}/metrics", timeout=10).text
    return sum(
        float(line.rpartition(" ")[2])
        for line in text.splitlines()
        if line.startswith("routeshift_shadow_runs_total{")
    )


def stored_shadow_runs(gateway: Server, endpoint: str) -> int:
    """The shadow runs of `endpoint` in the store (status.json reads them from there)."""
    document = httpx.get(f"{gateway.url}/_routeshift/status.json", timeout=10).json()
    (route,) = [r for r in document["routes"] if r["endpoint"] == endpoint]
    return int((route["shadow"] or {}).get("runs", 0))


def wait_until(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 10
    while not check():
        assert time.monotonic() < deadline, f"still not so after 10 s: {what}"
        time.sleep(0.02)


# --- a recorded scenario, sent to two servers -----------------------------------------


@dataclass(frozen=True)
class Step:
    """One request of a scenario; `endpoint` names the route it reaches (for the checks)."""

    method: str
    path: str
    endpoint: str = ""
    data: dict[str, str] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    json: Any = None

    def __str__(self) -> str:
        body = self.data if self.data is not None else self.json
        return f"{self.method} {self.path}" + (f" {body}" if body is not None else "")


def cookies_of(response: httpx.Response, session: str, loads: Callable[[str], Any] | None) -> list:
    """The response's cookies: (name, value, attributes); the session cookie by its payload."""
    found = []
    for header in response.headers.get_list("set-cookie"):
        jar: SimpleCookie = SimpleCookie()
        jar.load(header)
        for name, morsel in jar.items():
            value: Any = morsel.value
            if name == session and value and loads is not None:
                value = ("payload", loads(value))
            attributes = sorted((k, str(v)) for k, v in morsel.items() if v)
            found.append((name, value, attributes))
    return sorted(found, key=repr)


def differences(
    expected: httpx.Response,
    got: httpx.Response,
    session: str = "session",
    loads: Callable[[str], Any] | None = None,
) -> list[str]:
    """What a client sees differ: status, headers (but NOT_COMPARED), cookies, body."""
    found = []
    if expected.status_code != got.status_code:
        found.append(f"status {expected.status_code} != {got.status_code}")

    def headers(response: httpx.Response) -> list[tuple[str, str]]:
        return sorted(
            (name.lower(), ", ".join(sorted(value.split(", "))) if name.lower() in SETS else value)
            for name, value in response.headers.multi_items()
            if name.lower() not in NOT_COMPARED and name.lower() != "set-cookie"
        )

    if headers(expected) != headers(got):
        found.append(f"headers {headers(expected)} != {headers(got)}")
    if cookies_of(expected, session, loads) != cookies_of(got, session, loads):
        found.append(
            f"cookies {cookies_of(expected, session, loads)} != {cookies_of(got, session, loads)}"
        )
    if expected.content != got.content:
        at = next(
            (
                i
                for i, (a, b) in enumerate(zip(expected.content, got.content, strict=False))
                if a != b
            ),
            min(len(expected.content), len(got.content)),
        )
        start = max(0, at - 80)
        found.append(
            f"body differs at byte {at}: "
            f"{expected.content[start : at + 80]!r} != {got.content[start : at + 80]!r}"
        )
    return found


@dataclass
class Scenario:
    """Sends each step to the reference server, then to the gateway, each with its own
    cookie jar, the same Host and no redirect followed; keeps what differed and each answer."""

    reference: Server
    gateway: Server
    session: str = "session"
    loads: Callable[[str], Any] | None = None
    #: called after each step the gateway answered (e.g. to wait for its shadow copy)
    after: Callable[[Step, httpx.Response], None] = lambda step, response: None
    answers: list[tuple[Step, httpx.Response, httpx.Response]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def run(self, steps: Sequence[Step]) -> Scenario:
        clients = [
            httpx.Client(
                base_url=server.url, headers={"Host": HOST}, follow_redirects=False, timeout=10
            )
            for server in (self.reference, self.gateway)
        ]
        with clients[0] as reference, clients[1] as gateway:
            for step in steps:
                options: dict[str, Any] = {"data": step.data, "headers": step.headers}
                if step.json is not None:
                    options["json"] = step.json
                expected = reference.request(step.method, step.path, **options)
                got = gateway.request(step.method, step.path, **options)
                self.after(step, got)
                self.answers.append((step, expected, got))
                for problem in differences(expected, got, self.session, self.loads):
                    self.problems.append(f"{step}: {problem}")
        return self

    def served(self, endpoint: str, *methods: str) -> set[str]:
        """Who served the steps of `endpoint` (of `methods`, when given): legacy, modern."""
        return {
            got.headers.get("x-served-by", "(none)")
            for step, _, got in self.answers
            if step.endpoint == endpoint and (not methods or step.method in methods)
        }
