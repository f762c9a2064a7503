"""The article's /slow comparison (Flask 19 req/s, FastAPI 317 req/s), reproduced.

Run from anywhere (the repository's .venv is used when it exists and no venv is active):

    python bench/article.py                   # defaults: 3 runs per server and method
    python bench/article.py --quick           # smoke test: 1 run, wrk for 2 s
    python bench/article.py --only gunicorn-sync,gateway-legacy

Flags:
    --runs N            measured runs per server and method; the median is reported (3)
    --duration S        seconds per measured wrk run (5)
    --warmup S          seconds of one discarded wrk run per server before any measured
                        run; 0 skips it (1)
    --connections C     concurrent clients of both methods (50, the article's)
    --requests N        requests per run of the article's httpx method (200, the article's)
    --only A,B,...      run only these servers (names below)
    --quick             1 run, wrk for 2 s (overrides --runs and --duration)
    --list              print the servers and exit

The article ("Flask vs FastAPI", /work/shared/seeds/) serves `GET /slow` from Flask with
`time.sleep(0.05)` and from FastAPI with `await asyncio.sleep(0.05)`, and measures each
with one short script: 200 requests from one `httpx.AsyncClient`, at most 50 in flight
(an asyncio.Semaphore), req/s = 200 / wall time. Published: Flask 19 req/s (10.42 s),
FastAPI 317 req/s (0.63 s). Here the same view pair (legacy_flask main.slow, modern_api
main.slow) runs on five servers, each on 127.0.0.1 on a free port, pinned to CPU 0:

    flask-dev        flask --app legacy_flask:app run   (Werkzeug's development server,
                     threaded: its default; the article's "flask run --port 5000")
    gunicorn-sync    gunicorn -w 1 -k sync legacy_flask:app   (one request at a time)
    gateway-legacy   uvicorn gateway:app, main.slow `state: legacy` (the bridge's threads)
    gateway-modern   uvicorn gateway:app, main.slow `state: modern` (the port awaits)
    modern-alone     uvicorn modern_api:app   (the article's "uvicorn bench_fastapi:app")

and is measured by two clients, each pinned to CPU 1, at --connections concurrent clients:

    httpx    the article's own measure_throughput(), reproduced as it is written (one fresh
             client process per run; see article_client below), req/s = N / wall time
    wrk      wrk -t1 -c50 -d<S>s --latency --timeout 30s, as bench/run.py runs it plus the
             timeout, then one request that waits until the server has served what wrk
             left in flight (see run_wrk_article and settle)

Runs are interleaved round-robin over the servers per repeat (the start rotates), httpx
then wrk for each. Before any measurement each server must answer 200 on /slow, and a
gateway with the X-Served-By its registry copy sets (legacy / modern). Output: a table
beside the published figures with the ratio to them, and bench/results/article-latest.json
(git-ignored). Exit status: 0 done, 2 set-up failed, 130 interrupted. Servers are stopped
(SIGTERM, then SIGKILL) on every way out.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# `python bench/article.py` has bench/ on sys.path already; this covers other ways in
BENCH = Path(__file__).resolve().parent
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

from run import (  # noqa: E402  (bench/ is put on sys.path above)
    REPO,
    SERVER_CPU,
    SLOW,
    WRK_CPU,
    BenchError,
    Scenario,
    Server,
    WrkResult,
    _positive,
    check_machine,
    ensure_wrk,
    free_port,
    parse_wrk,
    run_benchmark,
    server_command,
    server_env,
    signals_held,
    stop_server,
    use_repo_venv,
    verify,
    wait_ready,
)

RESULTS = REPO / "bench" / "results" / "article-latest.json"
WRK_TIMEOUT_S = 30  # the article's httpx.AsyncClient(timeout=30.0)
CLIENT_TIMEOUT_S = 300.0
SETTLE_TIMEOUT_S = 60.0

# The article's figures ("Typical output (50 concurrent, 200 total requests)").
PUBLISHED = {"Flask": 19.0, "FastAPI": 317.0}


@dataclass(frozen=True)
class Target:
    """A server measured, and which of the article's figures it stands beside."""

    scenario: Scenario
    published: str  # a key of PUBLISHED

    @property
    def name(self) -> str:
        return self.scenario.name


FLASK_DEV, GUNICORN_SYNC = "flask-dev", "gunicorn-sync"
GATEWAY_LEGACY, GATEWAY_MODERN, MODERN_ALONE = "gateway-legacy", "gateway-modern", "modern-alone"

TARGETS: tuple[Target, ...] = (
    # server "flask": started by start() below (bench/run.py knows uvicorn and gunicorn)
    Target(Scenario(FLASK_DEV, "flask", "legacy_flask:app", (SLOW,)), "Flask"),
    Target(
        Scenario(GUNICORN_SYNC, "gunicorn", "legacy_flask:app", (SLOW,), ("-k", "sync")), "Flask"
    ),
    Target(Scenario(GATEWAY_LEGACY, "uvicorn", "gateway:app", (SLOW,), state="legacy"), "Flask"),
    Target(Scenario(GATEWAY_MODERN, "uvicorn", "gateway:app", (SLOW,), state="modern"), "FastAPI"),
    Target(Scenario(MODERN_ALONE, "uvicorn", "modern_api:app", (SLOW,)), "FastAPI"),
)

METHODS = ("httpx", "wrk")


@dataclass(frozen=True)
class Settings:
    runs: int
    duration_s: int
    warmup_s: int
    connections: int
    requests: int
    targets: tuple[Target, ...]

    def estimated_load_s(self) -> int:
        # httpx: N requests at 50 ms each, one at a time at worst (gunicorn-sync), else ~1 s
        slowest = self.requests * 0.05 if GUNICORN_SYNC in self.names else 1.0
        httpx_s = self.runs * (slowest + (len(self.targets) - 1) * 1.5)
        wrk_s = len(self.targets) * (self.warmup_s + self.runs * self.duration_s)
        return round(httpx_s + wrk_s)

    @property
    def names(self) -> list[str]:
        return [t.name for t in self.targets]


# --- the article's client ------------------------------------------------------------


def article_client(url: str, concurrent: int, total: int) -> dict[str, Any]:
    """The article's `measure_throughput(url, concurrent=50, total=200)`, as written.

    Copied from the article's load_test_compare.py: all `total` requests are created at once
    with asyncio.gather, an asyncio.Semaphore lets `concurrent` of them be in flight, one
    httpx.AsyncClient (timeout 30 s; httpx's default limits: 100 connections, 20 kept alive;
    measured by hand, it opens a new connection for every request: 400 requests leave 400
    client-closed sockets in TIME-WAIT) sends them, on asyncio's default event loop
    (asyncio.run, no uvloop). The clock starts after the client is built and stops when the
    last reply is in, so the timed window holds the opening of the client's connections (one
    a request, as above) and the ramp-up and tail of a short run; the per-request latency
    starts inside the semaphore (queueing for it is not counted), as in the article. Three
    additions, none changing what is timed: 127.0.0.1 instead of localhost (only loopback
    traffic; no name lookup); each reply's status is kept, so that a run whose replies are
    not all 200 is reported rather than counted as throughput; and the client's CPU time
    over the same window is read (time.process_time), to tell a run bound by the client from
    one bound by the server.
    """
    import asyncio

    import httpx

    async def measure_throughput(url: str, concurrent: int, total: int) -> dict[str, Any]:
        """Send `total` requests with `concurrent` in-flight at once."""
        semaphore = asyncio.Semaphore(concurrent)
        results: list[float] = []
        statuses: list[int] = []

        async def fetch(client: httpx.AsyncClient) -> None:
            async with semaphore:
                start = time.perf_counter()
                r = await client.get(url)
                elapsed = time.perf_counter() - start
                results.append(elapsed)
                statuses.append(r.status_code)  # not in the article: checked afterwards

        async with httpx.AsyncClient(timeout=30.0) as client:
            start_all = time.perf_counter()
            cpu_all = time.process_time()  # not in the article: the client's own CPU time
            await asyncio.gather(*[fetch(client) for _ in range(total)])
            total_time = time.perf_counter() - start_all
            cpu_time = time.process_time() - cpu_all

        avg = sum(results) / len(results)
        rps = total / total_time
        return {
            "total_time_s": total_time,
            "requests_per_s": rps,
            "avg_ms": avg * 1000,
            "requests": total,
            "errors": sum(1 for status in statuses if status != 200),
            "client_cpu_s": cpu_time,
        }

    return asyncio.run(measure_throughput(url, concurrent, total))


@dataclass(frozen=True)
class HttpxResult:
    requests_per_s: float
    total_time_s: float
    avg_ms: float
    requests: int
    errors: int  # replies other than 200
    client_cpu_s: float  # CPU time of the client process in the timed window


def run_httpx(url: str, concurrent: int, total: int) -> HttpxResult:
    """One run of the article's client, in a fresh process pinned to CPU 1."""
    argv = ["taskset", "-c", str(WRK_CPU), sys.executable, str(Path(__file__).resolve())]
    argv += ["--httpx-client", url, "--connections", str(concurrent), "--requests", str(total)]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=CLIENT_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise BenchError(
            f"the httpx client did not finish within {CLIENT_TIMEOUT_S:.0f} s on {url}"
        ) from None
    if done.returncode != 0:
        raise BenchError(
            f"the httpx client failed ({done.returncode}) on {url}:\n{done.stdout}{done.stderr}"
        )
    try:
        return HttpxResult(**json.loads(done.stdout.strip().splitlines()[-1]))
    except (ValueError, IndexError, TypeError):
        raise BenchError(f"cannot read the httpx client's output:\n{done.stdout}") from None


# --- wrk -----------------------------------------------------------------------------


def run_wrk_article(wrk: str, url: str, duration_s: int, connections: int) -> WrkResult:
    """bench/run.py's run_wrk plus `--timeout 30s` (the article's client timeout).

    wrk's default timeout is 2 s, and a reply slower than it is left out of the latency
    histogram and counted as a timeout error. gunicorn-sync at 50 connections answers
    after ~50 x 50 ms = 2.5 s, so with the default its p50 and p99 would describe only
    the few replies under 2 s. run_wrk has no way to pass the flag, hence this copy.
    """
    argv = ["taskset", "-c", str(WRK_CPU), wrk, "-t1", f"-c{connections}"]
    argv += [f"-d{duration_s}s", "--latency", "--timeout", f"{WRK_TIMEOUT_S}s", url]
    limit = duration_s + WRK_TIMEOUT_S + 60
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=limit)
    except subprocess.TimeoutExpired:
        raise BenchError(f"wrk did not finish within {limit} s on {url}") from None
    if done.returncode != 0:
        raise BenchError(f"wrk failed ({done.returncode}) on {url}:\n{done.stdout}{done.stderr}")
    settle(url)
    return parse_wrk(done.stdout)


def settle(url: str) -> None:
    """Wait until the server has worked off what wrk left in flight when it stopped.

    wrk exits with up to -c requests sent and unanswered. A server that takes one request
    at a time (gunicorn-sync) still serves every one of them, 50 x 50 ms = 2.5 s, from its
    accept queue, so the next measurement on it would begin with 2.5 s of stale work (by
    hand: two 5 s wrk runs back to back, 19.3 then 9.6 req/s). One request, queued
    behind them, returns once they are done.
    """
    try:
        with urllib.request.urlopen(url, timeout=SETTLE_TIMEOUT_S) as response:
            response.read()
    except OSError as exc:
        raise BenchError(f"{url} did not answer after a wrk run: {exc}") from None


# --- servers -------------------------------------------------------------------------


def start(scenario: Scenario, workdir: Path, database_url: str) -> Server:
    """bench/run.py's start_server, plus Flask's development server."""
    port = free_port()
    env = server_env(scenario, workdir, database_url)
    if scenario.server == "flask":
        # `flask run` as it comes: threaded, no reloader, no debugger (its defaults).
        # FLASK_* of the caller's environment (FLASK_DEBUG, FLASK_RUN_*) would change that.
        env = {k: v for k, v in env.items() if not k.startswith("FLASK_")}
        command = [sys.executable, "-m", "flask", "--app", scenario.app, "run"]
        command += ["--host", "127.0.0.1", "--port", str(port)]
    else:
        command = server_command(scenario, port)
    log = workdir / f"{scenario.name}.log"
    argv = ["taskset", "-c", str(SERVER_CPU), *command]
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
def running(scenario: Scenario, workdir: Path, database_url: str) -> Iterator[Server]:
    server = start(scenario, workdir, database_url)
    try:
        wait_ready(server)
        verify(server)  # 200 on /slow, and a gateway's X-Served-By as its registry copy says
        yield server
    finally:
        with signals_held():
            stop_server(server)


# --- the run -------------------------------------------------------------------------


@dataclass
class Measurement:
    target: Target
    method: str
    runs: list[HttpxResult | WrkResult] = field(default_factory=list)

    def median(self, attribute: str) -> float | None:
        values = [getattr(run, attribute, None) for run in self.runs]
        present = [v for v in values if v is not None]
        return statistics.median(present) if present else None

    @property
    def errors(self) -> int:
        return sum(run.errors for run in self.runs)

    @property
    def published(self) -> float:
        return PUBLISHED[self.target.published]

    @property
    def ratio(self) -> float | None:
        rps = self.median("requests_per_s")
        return rps / self.published if rps is not None else None


def _describe(result: HttpxResult | WrkResult) -> str:
    if isinstance(result, HttpxResult):
        detail = (
            f"{result.total_time_s:6.2f} s for {result.requests}  avg {result.avg_ms:7.1f} ms  "
            f"client CPU {result.client_cpu_s / result.total_time_s:4.0%}"
        )
    else:
        detail = f"p50 {result.p50_ms:7.1f} ms  p99 {result.p99_ms:7.1f} ms"
    return f"{result.requests_per_s:>8,.0f} req/s  {detail}  errors {result.errors}"


def measure(
    settings: Settings, wrk: str, servers: dict[str, Server]
) -> dict[tuple[str, str], Measurement]:
    targets = list(settings.targets)
    results = {(t.name, m): Measurement(t, m) for t in targets for m in METHODS}
    url = {t.name: servers[t.name].url(SLOW) for t in targets}
    if settings.warmup_s > 0:
        for t in targets:
            run_wrk_article(wrk, url[t.name], settings.warmup_s, settings.connections)
        print(
            f"warm-up done ({len(targets)} x {settings.warmup_s} s of wrk, discarded)", flush=True
        )
    total, done = len(targets) * len(METHODS) * settings.runs, 0
    for repeat in range(settings.runs):
        shift = repeat % len(targets)  # rotate the order so no server always goes first
        for t in targets[shift:] + targets[:shift]:
            for method in METHODS:
                result: HttpxResult | WrkResult
                if method == "httpx":
                    result = run_httpx(url[t.name], settings.connections, settings.requests)
                else:
                    result = run_wrk_article(
                        wrk, url[t.name], settings.duration_s, settings.connections
                    )
                results[t.name, method].runs.append(result)
                done += 1
                label = f"{t.name} {method}"
                print(f"[{done:>2}/{total}] {label:<22} {_describe(result)}", flush=True)
    return results


def _method_label(method: str, settings: Settings) -> str:
    if method == "httpx":
        return f"httpx {settings.requests} req"
    return f"wrk {settings.duration_s} s"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}"


def print_table(results: dict[tuple[str, str], Measurement], settings: Settings) -> None:
    print()
    print(
        f"/slow, {settings.connections} concurrent clients; medians of {settings.runs} run(s); "
        f"errors: sum over the measured runs"
    )
    header = (
        f"{'server':<15} {'method':<14} {'req/s':>7} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'avg ms':>8} {'errors':>6}  {'published':<12} {'ratio':>7}"
    )
    print(header)
    print("-" * len(header))
    for m in results.values():
        rps = m.median("requests_per_s") or 0.0
        published = f"{m.target.published} {m.published:.0f}"
        print(
            f"{m.target.name:<15} {_method_label(m.method, settings):<14} {rps:>7,.0f} "
            f"{_ms(m.median('p50_ms')):>8} {_ms(m.median('p99_ms')):>8} "
            f"{_ms(m.median('avg_ms')):>8} {m.errors:>6}  {published:<12} "
            f"{(m.ratio or 0.0):>6.2f}x"
        )
    # The article's headline: FastAPI / Flask = 317 / 19 = 16.7x.
    published = PUBLISHED["FastAPI"] / PUBLISHED["Flask"]
    print(f"\nFastAPI / Flask: published {published:.1f}x", end="")
    for method in METHODS:
        modern = results.get((MODERN_ALONE, method))
        for flask in (GUNICORN_SYNC, FLASK_DEV):
            legacy = results.get((flask, method))
            if modern and legacy:
                a, b = modern.median("requests_per_s"), legacy.median("requests_per_s")
                if a and b:
                    print(f"; {MODERN_ALONE} / {flask} ({method}) {a / b:.1f}x", end="")
    print()


def write_json(
    settings: Settings,
    results: dict[tuple[str, str], Measurement],
    started: datetime,
    elapsed_s: float,
) -> None:
    document = {
        "started": started.isoformat(timespec="seconds"),
        "elapsed_s": round(elapsed_s, 1),
        "path": SLOW.path,
        "published": PUBLISHED,
        "settings": {
            "runs": settings.runs,
            "duration_s": settings.duration_s,
            "warmup_s": settings.warmup_s,
            "connections": settings.connections,
            "httpx_requests": settings.requests,
            "wrk_threads": 1,
            "wrk_timeout_s": WRK_TIMEOUT_S,
            "server_cpu": SERVER_CPU,
            "client_cpu": WRK_CPU,
            "servers": settings.names,
        },
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
        "results": [
            {
                "server": m.target.name,
                "method": m.method,
                "requests_per_s": m.median("requests_per_s"),
                "p50_ms": m.median("p50_ms"),
                "p99_ms": m.median("p99_ms"),
                "avg_ms": m.median("avg_ms"),
                "errors": m.errors,
                "published": m.target.published,
                "published_requests_per_s": m.published,
                "ratio_to_published": m.ratio,
                "runs": [asdict(run) for run in m.runs],
            }
            for m in results.values()
        ],
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {RESULTS.relative_to(REPO)}")


def benchmark(settings: Settings) -> None:
    check_machine()
    wrk = ensure_wrk()
    import httpx  # noqa: F401  (fail at set-up, not in the first client run)

    load_s = settings.estimated_load_s()
    print(
        f"{len(settings.targets)} servers x {settings.runs} run(s) x (httpx {settings.requests} "
        f"requests + wrk {settings.duration_s} s), {settings.warmup_s} s wrk warm-up each: "
        f"about {load_s} s of load, plus start-up",
        flush=True,
    )
    started, clock = datetime.now(UTC), time.monotonic()
    with (
        tempfile.TemporaryDirectory(prefix="routeshift-article-") as tmp,
        contextlib.ExitStack() as stack,
    ):
        workdir = Path(tmp)
        database_url = f"sqlite:///{workdir / 'bench.db'}"
        servers: dict[str, Server] = {}
        for target in settings.targets:  # one at a time: the first one seeds the database
            server = stack.enter_context(running(target.scenario, workdir, database_url))
            servers[target.name] = server
            print(f"started {target.name} on port {server.port}", flush=True)
        results = measure(settings, wrk, servers)
    elapsed = time.monotonic() - clock
    print_table(results, settings)
    write_json(settings, results, started, elapsed)
    print(f"total {elapsed:.0f} s")


# --- command line --------------------------------------------------------------------


def _targets(only: str | None) -> tuple[Target, ...]:
    if not only:
        return TARGETS
    names = [name.strip() for name in only.split(",") if name.strip()]
    known = {t.name: t for t in TARGETS}
    if unknown := [name for name in names if name not in known]:
        raise BenchError(f"unknown server {', '.join(unknown)}; known: {', '.join(known)}")
    return tuple(t for t in TARGETS if t.name in names)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="The article's /slow comparison, reproduced (see the module docstring)."
    )
    parser.add_argument("--runs", type=_positive, default=3, help="measured runs (3)")
    parser.add_argument("--duration", type=_positive, default=5, help="seconds per wrk run (5)")
    parser.add_argument("--warmup", type=int, default=1, help="wrk warm-up seconds, 0: none (1)")
    parser.add_argument("--connections", type=_positive, default=50, help="clients (50)")
    parser.add_argument("--requests", type=_positive, default=200, help="httpx requests (200)")
    parser.add_argument("--only", metavar="SERVER,...", help="run only these servers")
    parser.add_argument("--quick", action="store_true", help="1 run, wrk 2 s: a smoke test")
    parser.add_argument("--list", action="store_true", help="list the servers and exit")
    # internal: one run of the article's client (run_httpx starts it pinned to CPU 1)
    parser.add_argument("--httpx-client", metavar="URL", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.httpx_client:
        print(json.dumps(article_client(args.httpx_client, args.connections, args.requests)))
        return 0
    if args.list:
        for t in TARGETS:
            print(f"{t.name:<16} beside the article's {t.published} figure")
        return 0

    def go() -> None:
        settings = Settings(
            runs=1 if args.quick else args.runs,
            duration_s=2 if args.quick else args.duration,
            warmup_s=max(0, args.warmup),
            connections=args.connections,
            requests=args.requests,
            targets=_targets(args.only),
        )
        benchmark(settings)

    return run_benchmark(go)


if __name__ == "__main__":
    use_repo_venv()
    sys.exit(main())
