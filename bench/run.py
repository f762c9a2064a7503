"""Load benchmark: the routeshift gateway against the servers it replaces.

Run from anywhere (the repository's .venv is used when it exists and no venv is active):

    python bench/run.py                       # defaults: 3 runs of 5 s per measurement
    python bench/run.py --quick               # smoke test: 1 run of 2 s
    python bench/run.py --only modern-alone,gunicorn-alone,naive-mount

Flags:
    --duration S        seconds per measured wrk run (default 5)
    --runs N            measured runs per scenario and path; the median is reported (default 3)
    --warmup S          seconds of the one warm-up run per scenario and path, discarded;
                        0 skips it (default 1)
    --connections C     wrk connections (default 50; the /slow target is stated at 50)
    --only A,B,...      run only these scenarios (names below)
    --database D        sqlite (default) or postgresql: a server of the run's own,
                        started by tests/postgres_server.py (Debian's postgresql)
    --quick             1 run of 2 s (overrides --runs and --duration)
    --list              print the scenarios and exit

Scenarios (each is one server; it is measured on /users/1 and, where listed, /slow and
the other ported GET routes: /users, /tasks/<id> of a task put in the database first,
/me with the session cookie of a login of user 1):
    gateway-modern      uvicorn gateway:app, the tested routes set to `state: modern`
    gateway-legacy      uvicorn gateway:app, the tested routes set to `state: legacy`
    modern-alone        uvicorn modern_api:app
    gunicorn-alone      gunicorn -w 1 -k sync legacy_flask:app            (/users/1 only)
    gunicorn-gthread    gunicorn -w 1 -k gthread --threads 8 legacy_flask:app (/users/1 only)
    naive-mount         uvicorn bench.naive_mount:app (a2wsgi as it comes, for reference)

Every server runs on 127.0.0.1 on a free port, pinned to CPU 0 (`taskset -c 0`), with the
working directory at the repository root and DATABASE_URL at one fresh SQLite file per
run (with --database postgresql: one new database on a PostgreSQL server started for the
run, not pinned, so its backends share both CPUs with the server and wrk; the example's
ports then run their queries on asyncpg, the Flask views on psycopg). wrk runs pinned to
CPU 1 with `-t1 -c<C> -d<S>s --latency`. Runs of different scenarios are interleaved
(round-robin per repeat) so that machine noise hits all alike. Before a gateway scenario
is measured, one request checks its `X-Served-By` header. wrk is installed with apt-get
when it is missing. Results: a table, the ratios with their targets, and
bench/results/latest.json (latest-postgresql.json for PostgreSQL). Exit status: 0 done,
2 set-up failed, 130 interrupted. Servers are stopped (SIGTERM, then SIGKILL) on every way out.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
REGISTRY = REPO / "migration_status.yaml"
RESULTS = REPO / "bench" / "results" / "latest.json"
LOADGEN = REPO / "bench" / "loadgen.py"
SERVER_CPU = 0
WRK_CPU = 1
READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 5.0

# Variables of the caller's environment that would change what a server does.
SCRUBBED_ENV = (
    "MIGRATION_STATUS",
    "ROUTESHIFT_REGISTRY",
    "ROUTESHIFT_STORE_URL",
    "ROUTESHIFT_FORCE_LEGACY",
    "GUNICORN_CMD_ARGS",
    "WEB_CONCURRENCY",
)


class BenchError(Exception):
    """A set-up problem that stops the benchmark with a message (exit status 2)."""


# --- what is measured ----------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    path: str
    endpoint: str
    #: the request carries the session cookie of a login of user 1 (signed as Flask does)
    logged_in: bool = False


SMALL = Route("/users/1", "users.get_user")
SLOW = Route("/slow", "main.slow")
LISTING = Route("/users", "users.list_users")
#: a task the benchmark puts in the database before the servers start
BENCH_TASK_ID = "00000000-0000-4000-8000-00000000b0b0"
TASK = Route(f"/tasks/{BENCH_TASK_ID}", "tasks.get_task")
ME = Route("/me", "auth.me", logged_in=True)
#: the ported GET routes, each measured through the gateway in modern and in legacy
PORTED = (SMALL, LISTING, TASK, ME)


@dataclass(frozen=True)
class Scenario:
    name: str
    server: str  # "uvicorn" or "gunicorn"
    app: str
    routes: tuple[Route, ...]
    server_args: tuple[str, ...] = ()
    state: str | None = None  # gateway: registry state of the tested routes

    @property
    def is_gateway(self) -> bool:
        return self.state is not None


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("gateway-modern", "uvicorn", "gateway:app", (*PORTED, SLOW), state="modern"),
    Scenario("gateway-legacy", "uvicorn", "gateway:app", (*PORTED, SLOW), state="legacy"),
    Scenario("modern-alone", "uvicorn", "modern_api:app", (SMALL, SLOW)),
    Scenario("gunicorn-alone", "gunicorn", "legacy_flask:app", (SMALL,), ("-k", "sync")),
    Scenario(
        "gunicorn-gthread",
        "gunicorn",
        "legacy_flask:app",
        (SMALL,),
        ("-k", "gthread", "--threads", "8"),
    ),
    Scenario("naive-mount", "uvicorn", "bench.naive_mount:app", (SMALL, SLOW)),
)


@dataclass(frozen=True)
class Check:
    """A figure the issue asks for: a ratio of two req/s medians, or one req/s median."""

    label: str
    subject: tuple[str, Route]
    baseline: tuple[str, Route] | None = None  # None: an absolute req/s figure
    target: float | None = None  # None: for reference only


GM, GL, MA, GU, NM = (
    "gateway-modern",
    "gateway-legacy",
    "modern-alone",
    "gunicorn-alone",
    "naive-mount",
)

CHECKS: tuple[Check, ...] = (
    Check(f"{GM} / {MA}", (GM, SMALL), (MA, SMALL), target=0.95),
    Check(f"{GM} / {MA}", (GM, SLOW), (MA, SLOW), target=0.95),
    Check(f"{GL} / {GU}", (GL, SMALL), (GU, SMALL), target=0.95),
    Check(f"{NM} / {GU}", (NM, SMALL), (GU, SMALL)),
    Check(f"{GL} req/s", (GL, SLOW), target=900),
    Check(f"{NM} req/s", (NM, SLOW)),
    # issue 15: each port through the gateway against its Flask view through the gateway
    *(Check(f"{GM} / {GL}", (GM, route), (GL, route), target=1.0) for route in PORTED),
    Check(f"{GM} / {GL}", (GM, SLOW), (GL, SLOW)),
)


@dataclass(frozen=True)
class Settings:
    duration_s: int
    runs: int
    warmup_s: int
    connections: int
    scenarios: tuple[Scenario, ...]
    database: str = "sqlite"  # or "postgresql"

    @property
    def results_path(self) -> Path:
        return (
            RESULTS if self.database == "sqlite" else RESULTS.with_stem(f"latest-{self.database}")
        )

    @property
    def pairs(self) -> list[tuple[Scenario, Route]]:
        return [(s, r) for s in self.scenarios for r in s.routes]

    def estimated_load_s(self) -> int:
        return len(self.pairs) * (self.warmup_s + self.runs * self.duration_s)


# --- wrk -----------------------------------------------------------------------------


@dataclass(frozen=True)
class WrkResult:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int  # socket errors (connect, read, write, timeout) + non-2xx/3xx responses
    requests: int


_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def _latency_ms(text: str, percentile: str) -> float:
    match = re.search(rf"^\s*{percentile}%\s+([\d.]+)(us|ms|s|m|h)\s*$", text, re.MULTILINE)
    if match is None:
        raise BenchError(f"wrk printed no {percentile}% latency:\n{text}")
    return float(match.group(1)) * _UNIT_MS[match.group(2)]


def parse_wrk(text: str) -> WrkResult:
    """Read requests/s, p50, p99 and the error count from `wrk --latency` output."""
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", text, re.MULTILINE)
    total = re.search(r"^\s*(\d+) requests in", text, re.MULTILINE)
    if rps is None or total is None:
        raise BenchError(f"cannot read wrk's output:\n{text}")
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text
    )
    status = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    errors = sum(int(n) for n in sockets.groups()) if sockets else 0
    errors += int(status.group(1)) if status else 0
    return WrkResult(
        requests_per_s=float(rps.group(1)),
        p50_ms=_latency_ms(text, "50"),
        p99_ms=_latency_ms(text, "99"),
        errors=errors,
        requests=int(total.group(1)),
    )


def _apt_get(*args: str) -> bool:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        done = subprocess.run(["apt-get", *args], env=env, capture_output=True, text=True)
    except FileNotFoundError:
        return False
    if done.returncode != 0:
        print(f"  apt-get {' '.join(args)} failed:\n{_tail(done.stdout + done.stderr)}")
    return done.returncode == 0


def ensure_wrk() -> str:
    """Path of wrk; installs it with apt-get (after `apt-get update` if needed)."""
    found = shutil.which("wrk")
    if found:
        return found
    print("wrk is missing: apt-get install -y wrk ...", flush=True)
    if not _apt_get("install", "-y", "wrk"):
        print("retrying after apt-get update ...", flush=True)
        if _apt_get("update"):
            _apt_get("install", "-y", "wrk")
    found = shutil.which("wrk")
    if not found:
        raise BenchError(
            "wrk is not installed and `apt-get install -y wrk` did not install it "
            "(this needs root and a Debian/Ubuntu package source). Install wrk by hand "
            "(https://github.com/wg/wrk) and run again."
        )
    print(f"installed {found}")
    return found


def run_wrk(
    wrk: str, url: str, duration_s: int, connections: int, headers: Sequence[str] = ()
) -> WrkResult:
    argv = ["taskset", "-c", str(WRK_CPU), wrk, "-t1", f"-c{connections}"]
    for header in headers:
        argv += ["-H", header]
    argv += [f"-d{duration_s}s", "--latency", url]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=duration_s + 60)
    except subprocess.TimeoutExpired:
        raise BenchError(f"wrk did not finish within {duration_s + 60} s on {url}") from None
    if done.returncode != 0:
        raise BenchError(f"wrk failed ({done.returncode}) on {url}:\n{done.stdout}{done.stderr}")
    return parse_wrk(done.stdout)


def run_loadgen(
    port: int, path: str, rate: float, duration_s: float, served_by: str
) -> dict[str, Any]:
    """One bench/loadgen.py run (open loop) pinned to the load CPU; its JSON result."""
    argv = ["taskset", "-c", str(WRK_CPU), sys.executable, str(LOADGEN)]
    argv += ["--port", str(port), "--path", path, "--rate", f"{rate:g}"]
    argv += ["--duration", f"{duration_s:g}", "--expect-served-by", served_by]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=duration_s + 60)
    except subprocess.TimeoutExpired:
        raise BenchError(f"loadgen did not finish within {duration_s + 60:.0f} s") from None
    if done.returncode != 0:
        raise BenchError(f"loadgen failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def loadgen_errors(run: dict[str, Any]) -> int:
    """The failed requests of one loadgen run, all kinds together."""
    return sum(run["errors"].values())


# --- servers -------------------------------------------------------------------------


@dataclass
class Server:
    scenario: Scenario
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    def url(self, route: Route) -> str:
        return f"http://127.0.0.1:{self.port}{route.path}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def uvicorn_speedups() -> list[str]:
    """`--http httptools --loop uvloop` where those packages are installed."""
    args = []
    if importlib.util.find_spec("httptools"):
        args += ["--http", "httptools"]
    if importlib.util.find_spec("uvloop"):
        args += ["--loop", "uvloop"]
    return args


def server_command(scenario: Scenario, port: int) -> list[str]:
    python = [sys.executable, "-m"]
    if scenario.server == "gunicorn":
        return [
            *python,
            "gunicorn",
            "-w",
            "1",
            *scenario.server_args,
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "--graceful-timeout",
            "2",
            scenario.app,
        ]
    return [
        *python,
        "uvicorn",
        scenario.app,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--no-access-log",
        "--log-level",
        "warning",
        *uvicorn_speedups(),
        *scenario.server_args,
    ]


def write_registry(folder: Path, endpoints: set[str], state: str) -> Path:
    """A copy of the repository's registry with `state` set on the tested endpoints."""
    import yaml  # PyYAML, a dependency of the project

    data = yaml.safe_load(REGISTRY.read_text(encoding="utf-8"))
    found = set()
    for entry in data.get("routes") or []:
        if entry.get("endpoint") in endpoints:
            entry["state"] = state
            found.add(entry["endpoint"])
    if missing := endpoints - found:
        raise BenchError(f"{REGISTRY} has no entry for {', '.join(sorted(missing))}.")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "migration_status.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def server_env(scenario: Scenario, workdir: Path, database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED_ENV}
    env["DATABASE_URL"] = database_url
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    if scenario.state is not None:
        endpoints = {route.endpoint for route in scenario.routes}
        registry = write_registry(workdir / scenario.name, endpoints, scenario.state)
        env["MIGRATION_STATUS"] = str(registry)
    return env


def start_server(scenario: Scenario, workdir: Path, database_url: str) -> Server:
    port = free_port()
    env = server_env(scenario, workdir, database_url)
    log = workdir / f"{scenario.name}.log"
    argv = ["taskset", "-c", str(SERVER_CPU), *server_command(scenario, port)]
    with log.open("wb") as out:
        process = subprocess.Popen(
            argv,
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # own process group: Ctrl-C reaches us, we stop it
        )
    return Server(scenario, port, process, log)


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Ignore Ctrl-C and SIGTERM while servers are being stopped."""
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _kill_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, sig)


def stop_server(server: Server) -> None:
    """SIGTERM to the server's process group, SIGKILL to whatever is left."""
    process = server.process
    if process.poll() is None:
        _kill_group(process, signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            pass
    _kill_group(process, signal.SIGKILL)  # also a worker its master left behind
    process.wait()


def _tail(text: str, lines: int = 30) -> str:
    return "\n".join("    " + line for line in text.splitlines()[-lines:])


def _log_tail(server: Server) -> str:
    try:
        return _tail(server.log.read_text(encoding="utf-8", errors="replace"))
    except OSError:
        return "    (no log)"


def _get(url: str, headers: Sequence[str] = ()) -> tuple[int, dict[str, str]]:
    request = urllib.request.Request(url, headers=dict(h.split(": ", 1) for h in headers))
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            response.read()
            return response.status, {k.lower(): v for k, v in response.headers.items()}
    except urllib.error.HTTPError as exc:
        return exc.code, {k.lower(): v for k, v in exc.headers.items()}


def wait_ready(server: Server) -> None:
    """Wait until the server answers HTTP at all (any status)."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    url = server.url(server.scenario.routes[0])
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise BenchError(
                f"{server.scenario.name} exited with status {server.process.returncode} "
                f"before it answered; its log:\n{_log_tail(server)}"
            )
        try:
            _get(url)
            return
        except (OSError, urllib.error.URLError):
            time.sleep(0.1)
    raise BenchError(
        f"{server.scenario.name} did not answer within {READY_TIMEOUT_S:.0f} s; "
        f"its log:\n{_log_tail(server)}"
    )


def verify(server: Server) -> None:
    """Each tested path answers 200, and a gateway serves it from the side it claims."""
    name = server.scenario.name
    for route in server.scenario.routes:
        try:
            status, headers = _get(server.url(route), request_headers(route))
        except OSError as exc:
            raise BenchError(f"{name}: GET {route.path} failed: {exc}") from None
        if status != 200:
            raise BenchError(f"{name}: GET {route.path} answered {status}, not 200.")
        expected = server.scenario.state
        served_by = headers.get("x-served-by")
        if expected is not None and served_by != expected:
            raise BenchError(
                f"{name}: GET {route.path} was served by {served_by!r}, expected "
                f"{expected!r} (X-Served-By). The registry copy sets {route.endpoint} to "
                f"`state: {expected}`; the measurement would not be what it claims."
            )


_LOGIN: list[str] = []  # the Cookie header of user 1's login, made once


def request_headers(route: Route) -> tuple[str, ...]:
    """The headers a request of `route` carries: a login's session cookie for /me."""
    if not route.logged_in:
        return ()
    if not _LOGIN:
        sys.path.insert(0, str(REPO))
        import legacy_flask
        from routeshift.apps.pair import signed_session

        name, value = signed_session(legacy_flask.app, {"user_id": 1})
        _LOGIN.append(f"Cookie: {name}={value}")
    return (_LOGIN[0],)


def prepare_database(database_url: str) -> None:
    """Create and seed the example's database (as the apps' first start would), and put
    in it the task that GET /tasks/<id> reads."""
    sys.path.insert(0, str(REPO))
    from legacy_flask.database import dispose_engines, open_session
    from legacy_flask.models import Task, utcnow

    with open_session(database_url) as session:
        session.add(Task(id=BENCH_TASK_ID, command="bench", created_at=utcnow()))
        session.commit()
    dispose_engines()


@contextlib.contextmanager
def bench_database(kind: str, workdir: Path) -> Iterator[str]:
    """The URL of the run's database: a SQLite file in `workdir`, or a new database on a
    PostgreSQL server started for the run and stopped after it."""
    if kind == "sqlite":
        yield f"sqlite:///{workdir / 'bench.db'}"
        return
    sys.path.insert(0, str(REPO / "tests"))
    from postgres_server import PostgresUnavailable, TemporaryPostgres

    try:
        server = TemporaryPostgres.start()
    except PostgresUnavailable as unavailable:
        raise BenchError(str(unavailable)) from None
    try:
        yield server.new_database("bench")
    finally:
        server.stop()


@contextlib.contextmanager
def running(scenario: Scenario, workdir: Path, database_url: str) -> Iterator[Server]:
    server = start_server(scenario, workdir, database_url)
    try:
        wait_ready(server)
        verify(server)
        yield server
    finally:
        with signals_held():
            stop_server(server)


# --- the run -------------------------------------------------------------------------


@dataclass
class Measurement:
    scenario: str
    path: str
    runs: list[WrkResult] = field(default_factory=list)

    def median(self, attribute: str) -> float:
        return statistics.median(getattr(run, attribute) for run in self.runs)

    @property
    def errors(self) -> int:
        return sum(run.errors for run in self.runs)


def _describe(result: WrkResult) -> str:
    return (
        f"{result.requests_per_s:>9,.0f} req/s  p50 {result.p50_ms:7.2f} ms  "
        f"p99 {result.p99_ms:8.2f} ms  errors {result.errors}"
    )


def measure(
    settings: Settings, wrk: str, servers: dict[str, Server]
) -> dict[tuple[str, str], Measurement]:
    pairs = settings.pairs
    results = {(s.name, r.path): Measurement(s.name, r.path) for s, r in pairs}
    if settings.warmup_s > 0:
        for scenario, route in pairs:
            url = servers[scenario.name].url(route)
            run_wrk(wrk, url, settings.warmup_s, settings.connections, request_headers(route))
        print(f"warm-up done ({len(pairs)} x {settings.warmup_s} s, discarded)", flush=True)
    total, done = len(pairs) * settings.runs, 0
    for repeat in range(settings.runs):
        shift = repeat % len(pairs)  # rotate the order so no scenario always goes first
        for scenario, route in pairs[shift:] + pairs[:shift]:
            result = run_wrk(
                wrk,
                servers[scenario.name].url(route),
                settings.duration_s,
                settings.connections,
                request_headers(route),
            )
            results[scenario.name, route.path].runs.append(result)
            done += 1
            label = f"{scenario.name} {route.path}"
            print(f"[{done:>2}/{total}] {label:<28} {_describe(result)}", flush=True)
    return results


def evaluate(check: Check, results: dict[tuple[str, str], Measurement]) -> dict[str, Any]:
    def rps(key: tuple[str, Route]) -> float | None:
        found = results.get((key[0], key[1].path))
        return found.median("requests_per_s") if found else None

    value = rps(check.subject)
    if check.baseline is not None and value is not None:
        base = rps(check.baseline)
        value = value / base if base else None
    if value is None:
        verdict = "n/a (not run)"
    elif check.target is None:
        verdict = "reference"
    else:
        verdict = "met" if value >= check.target else "NOT met"
    return {
        "label": check.label,
        "path": check.subject[1].path,
        "kind": "absolute" if check.baseline is None else "ratio",
        "value": value,
        "target": check.target,
        "verdict": verdict,
    }


def print_table(results: dict[tuple[str, str], Measurement], settings: Settings) -> None:
    print()
    print(
        f"medians of {settings.runs} run(s) of {settings.duration_s} s, "
        f"{settings.connections} connections; errors: sum over the measured runs"
    )
    width = max([10, *(len(m.path) for m in results.values())])
    header = (
        f"{'scenario':<18} {'path':<{width}} {'req/s':>10} {'p50 ms':>9} {'p99 ms':>9} "
        f"{'errors':>7}"
    )
    print(header)
    print("-" * len(header))
    for m in results.values():
        print(
            f"{m.scenario:<18} {m.path:<{width}} {m.median('requests_per_s'):>10,.0f} "
            f"{m.median('p50_ms'):>9.2f} {m.median('p99_ms'):>9.2f} {m.errors:>7}"
        )


def _figure(number: float | None, absolute: bool) -> str:
    if number is None:
        return "-"
    return f"{number:,.0f}" if absolute else f"{number:.3f}"


def print_checks(checks: list[dict[str, Any]], connections: int) -> None:
    print()
    width = max([10, *(len(c["path"]) for c in checks)])
    header = f"{'figure':<34} {'path':<{width}} {'value':>8} {'target':>10}  verdict"
    print(header)
    print("-" * len(header))
    for c in checks:
        absolute = c["kind"] == "absolute"
        label = f"{c['label']} @ c={connections}" if absolute else c["label"]
        value = _figure(c["value"], absolute)
        target = "-" if c["target"] is None else ">= " + _figure(c["target"], absolute)
        print(f"{label:<34} {c['path']:<{width}} {value:>8} {target:>10}  {c['verdict']}")


def write_json(
    settings: Settings,
    results: dict[tuple[str, str], Measurement],
    checks: list[dict[str, Any]],
    started: datetime,
    elapsed_s: float,
) -> None:
    document = {
        "started": started.isoformat(timespec="seconds"),
        "elapsed_s": round(elapsed_s, 1),
        "settings": {
            "duration_s": settings.duration_s,
            "runs": settings.runs,
            "warmup_s": settings.warmup_s,
            "connections": settings.connections,
            "wrk_threads": 1,
            "server_cpu": SERVER_CPU,
            "wrk_cpu": WRK_CPU,
            "scenarios": [s.name for s in settings.scenarios],
            "database": settings.database,
        },
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
        "results": [
            {
                "scenario": m.scenario,
                "path": m.path,
                "requests_per_s": m.median("requests_per_s"),
                "p50_ms": m.median("p50_ms"),
                "p99_ms": m.median("p99_ms"),
                "errors": m.errors,
                "runs": [asdict(run) for run in m.runs],
            }
            for m in results.values()
        ],
        "checks": checks,
    }
    path = settings.results_path
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {path.relative_to(REPO)}")


def check_machine() -> None:
    if shutil.which("taskset") is None:
        raise BenchError("taskset is missing (Debian: apt-get install util-linux).")
    cpus = os.sched_getaffinity(0)
    if not {SERVER_CPU, WRK_CPU} <= cpus:
        raise BenchError(
            f"needs CPUs {SERVER_CPU} (servers) and {WRK_CPU} (wrk); this process may use "
            f"{sorted(cpus)}."
        )


def benchmark(settings: Settings) -> None:
    check_machine()
    wrk = ensure_wrk()
    load_s = settings.estimated_load_s()
    print(
        f"{len(settings.pairs)} measurements x ({settings.warmup_s} s warm-up + "
        f"{settings.runs} x {settings.duration_s} s) = about {load_s} s of load "
        f"(~{load_s / 60:.1f} min), plus start-up of {len(settings.scenarios)} servers",
        flush=True,
    )
    started, clock = datetime.now(UTC), time.monotonic()
    with (
        tempfile.TemporaryDirectory(prefix="routeshift-bench-") as tmp,
        contextlib.ExitStack() as stack,
    ):
        workdir = Path(tmp)
        database_url = stack.enter_context(bench_database(settings.database, workdir))
        print(f"database: {settings.database}", flush=True)
        prepare_database(database_url)
        servers: dict[str, Server] = {}
        for scenario in settings.scenarios:  # one at a time
            server = stack.enter_context(running(scenario, workdir, database_url))
            servers[scenario.name] = server
            print(f"started {scenario.name} on port {server.port}", flush=True)
        results = measure(settings, wrk, servers)
    elapsed = time.monotonic() - clock
    checks = [evaluate(check, results) for check in CHECKS]
    print_table(results, settings)
    print_checks(checks, settings.connections)
    write_json(settings, results, checks, started, elapsed)
    print(f"total {elapsed:.0f} s")


# --- command line --------------------------------------------------------------------


def _scenarios(only: str | None) -> tuple[Scenario, ...]:
    if not only:
        return SCENARIOS
    names = [name.strip() for name in only.split(",") if name.strip()]
    known = {s.name: s for s in SCENARIOS}
    if unknown := [name for name in names if name not in known]:
        raise BenchError(f"unknown scenario {', '.join(unknown)}; known: {', '.join(known)}")
    return tuple(s for s in SCENARIOS if s.name in names)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Load benchmark of the routeshift gateway (see the module docstring)."
    )
    parser.add_argument("--duration", type=_positive, default=5, help="seconds per run (5)")
    parser.add_argument("--runs", type=_positive, default=3, help="measured runs (3)")
    parser.add_argument("--warmup", type=int, default=1, help="warm-up seconds, 0: none (1)")
    parser.add_argument("--connections", type=_positive, default=50, help="wrk -c (50)")
    parser.add_argument("--only", metavar="SCENARIO,...", help="run only these scenarios")
    parser.add_argument(
        "--database",
        choices=("sqlite", "postgresql"),
        default="sqlite",
        help="the apps' database: a SQLite file (default) or a PostgreSQL server of its own",
    )
    parser.add_argument("--quick", action="store_true", help="1 run of 2 s: a smoke test")
    parser.add_argument("--list", action="store_true", help="list the scenarios and exit")
    return parser.parse_args(argv)


def settings_from(args: argparse.Namespace) -> Settings:
    return Settings(
        duration_s=2 if args.quick else args.duration,
        runs=1 if args.quick else args.runs,
        warmup_s=max(0, args.warmup),
        connections=args.connections,
        scenarios=_scenarios(args.only),
        database=args.database,
    )


def use_repo_venv() -> None:
    """Re-run under the repository's .venv when started by a Python outside any venv."""
    venv_python = REPO / ".venv" / "bin" / "python"
    if sys.prefix == sys.base_prefix and venv_python.exists():
        os.execv(venv_python, [str(venv_python), *sys.argv])


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.list:
        for s in SCENARIOS:
            print(f"{s.name:<18} {' '.join(r.path for r in s.routes)}")
        return 0
    return run_benchmark(lambda: benchmark(settings_from(args)))


def run_benchmark(go: Callable[[], object]) -> int:
    """Run `go()` with SIGTERM as an interrupt: 0 done, 2 set-up failed, 130 interrupted."""
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        go()
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nbench: interrupted; what it started is stopped.", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    use_repo_venv()
    sys.exit(main())
