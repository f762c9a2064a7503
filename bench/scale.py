"""A scale curve: the gateway on generated apps of 10 to 5,000 routes (issue 14).

Run from anywhere (the repository's .venv is used when it exists and no venv is active):

    python bench/scale.py                      # sizes 10,100,1000,5000; 3 runs of 5 s
    python bench/scale.py --quick              # smoke test: sizes 10,1000; 1 run of 2 s
    python bench/scale.py --sizes 10,5000 --style starlette

Flags:
    --sizes N,N,...     routes of the generated apps (default 10,100,1000,5000)
    --style S           the modern app's routes: included (default: an APIRouter per
                        blueprint, FastAPI's include_router), apiroute or starlette
                        (bench/large_app.py)
    --duration S        seconds per measured wrk run (default 5)
    --runs N            measured runs per server and path; the median is reported (3)
    --warmup S          seconds of one discarded wrk run per server and path (1; 0: none)
    --connections C     wrk connections (50)
    --imports N         bare imports of the two apps timed per size; the median (3)
    --starts N          starts timed per server; the median (3; the last start is the
                        server measured)
    --chart PATH        the PNG chart (default bench/results/scale.png)
    --quick             sizes 10,1000, 1 run of 2 s, 1 start (overrides those flags)

Per size, bench/large_app.build writes an app pair (50 blueprints or fewer, every
converter, a fifth of the rules ported: ported=0.2) into a folder of its own, with a
gateway.py (`app = app_from_environment()`) beside it. Three servers per size, started
one after the other, each pinned to CPU 0 (`taskset -c 0`) with the folder as working
directory: the gateway (`uvicorn gateway:app`), the FastAPI app alone (`uvicorn
large_modern:app`) and the Flask app alone (`gunicorn -w 1 -k sync large_legacy:app`).
Measured, with wrk pinned to CPU 1 (`-t1 -c50 --latency`), the runs interleaved
round-robin over every (size, server, path) so that machine noise hits all alike:

    modern   the last ported GET rule in url_map order with `state: modern`: gateway
             (X-Served-By: modern, checked) vs FastAPI alone
    legacy   the last `state: legacy` GET rule in url_map order: gateway (X-Served-By:
             legacy) vs gunicorn alone
    unknown  a path no rule matches (404): gateway (Flask's 404, X-Served-By: legacy) vs
             gunicorn alone

and, per server, the start-up time (process start to the first HTTP answer, polled every
20 ms; median of --starts) against the bare import of the two apps (`python -c 'import large_legacy,
large_modern'` in the folder, pinned to CPU 0, median of --imports), and the RSS of the
worker process (VmRSS from /proc/<pid>/status; gunicorn's worker, not its master) after
the measurements.

Targets (issue 14), each printed met / NOT met:
    at the largest size, modern path: gateway >= 5x FastAPI alone
    req/s at the largest size >= 0.8x req/s at the smallest, gateway modern and legacy
    unknown path: gateway >= 0.9x gunicorn alone (every size)
    the gateway ready within 1.5x the bare import (every size)

Output: a table, the targets, bench/results/scale-latest.json (git-ignored) and a chart
(req/s against routes, log x axis, one line per server and path). Exit status: 0 done
(whether or not the targets were met), 2 set-up failed, 130 interrupted.
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
import urllib.error
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# `python bench/scale.py` has bench/ on sys.path already; this covers other ways in
BENCH = Path(__file__).resolve().parent
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

from large_app import MODERN_STYLES, LargeApp, RouteSpec, build  # noqa: E402
from run import (  # noqa: E402  (bench/ is put on sys.path above)
    READY_TIMEOUT_S,
    REPO,
    SCRUBBED_ENV,
    SERVER_CPU,
    WRK_CPU,
    BenchError,
    Route,
    Scenario,
    Server,
    WrkResult,
    _get,
    _log_tail,
    _positive,
    check_machine,
    ensure_wrk,
    free_port,
    run_benchmark,
    run_wrk,
    server_command,
    signals_held,
    stop_server,
    use_repo_venv,
)

RESULTS = REPO / "bench" / "results" / "scale-latest.json"
CHART = REPO / "bench" / "results" / "scale.png"
SIZES = (10, 100, 1000, 5000)
QUICK_SIZES = (10, 1000)
PORTED = 0.2
UNKNOWN_PATH = "/no/such/route"
GATEWAY_SOURCE = '"""bench/scale.py: the gateway."""\n\nfrom routeshift import app_from_environment\n\napp = app_from_environment()\n'  # noqa: E501

GW, MA, GU = "gateway", "fastapi-alone", "gunicorn-alone"
TARGET_MODERN_SPEEDUP = 5.0
TARGET_FLAT = 0.8
TARGET_UNKNOWN = 0.9
TARGET_READY = 1.5


# --- the apps and their servers ----------------------------------------------------------


@dataclass
class Size:
    routes: int
    app: LargeApp
    modern: RouteSpec  # the last ported GET rule with state modern
    legacy: RouteSpec  # the last legacy GET rule
    import_s: list[float] = field(default_factory=list)

    @property
    def folder(self) -> Path:
        return self.app.folder


def _last_get(app: LargeApp, order: dict[str, int], state: str, ported: bool | None) -> RouteSpec:
    """The last rule in url_map order that answers GET in `state`."""
    found = [
        r
        for r in app.routes
        if r.state == state and "GET" in r.methods and (ported is None or r.ported == ported)
    ]
    if not found:
        raise BenchError(f"{app.folder}: no GET rule in state {state}; try a larger size.")
    return max(found, key=lambda r: order[r.rule])


def url_map_order(folder: Path) -> list[str]:
    """The legacy app's rules in url_map order (a subprocess: a fresh interpreter)."""
    code = "import json, large_legacy; print(json.dumps([r.rule for r in large_legacy.app.url_map.iter_rules()]))"  # noqa: E501
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=folder, env=app_env(), capture_output=True, text=True
    )
    if done.returncode != 0:
        raise BenchError(f"cannot import large_legacy in {folder}:\n{done.stderr}")
    rules: list[str] = json.loads(done.stdout)
    return rules


def make_size(root: Path, routes: int, style: str) -> Size:
    folder = root / f"routes-{routes}"
    app = build(
        folder,
        routes=routes,
        blueprints=min(50, max(1, routes // 10)),
        ported=PORTED,
        modern_style=style,
        store=False,
    )
    (folder / "gateway.py").write_text(GATEWAY_SOURCE, encoding="utf-8")
    order = {rule: n for n, rule in enumerate(url_map_order(folder))}
    modern = _last_get(app, order, "modern", True)
    size = Size(routes, app, modern, _last_get(app, order, "legacy", None))
    return size


def source_revision() -> str:
    """The commit routeshift is measured at, `+dirty` when routeshift/ has edits."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True)
        return done.stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    return commit + ("+dirty" if git("status", "--porcelain", "--", "routeshift") else "")


def app_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED_ENV}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


def bare_import(size: Size) -> float:
    argv = ["taskset", "-c", str(SERVER_CPU), sys.executable, "-c"]
    argv.append("import large_legacy, large_modern")
    clock = time.perf_counter()
    done = subprocess.run(argv, cwd=size.folder, env=app_env(), capture_output=True, text=True)
    elapsed = time.perf_counter() - clock
    if done.returncode != 0:
        raise BenchError(f"importing the apps in {size.folder} failed:\n{done.stderr}")
    return elapsed


@dataclass
class Running:
    size: Size
    kind: str  # GW, MA or GU
    server: Server
    ready_s: float = 0.0  # median of starts_s
    starts_s: list[float] = field(default_factory=list)
    rss_kib: int = 0

    @property
    def label(self) -> str:
        return f"{self.size.routes}/{self.kind}"


def _scenario(kind: str, probe: RouteSpec) -> Scenario:
    route = (Route(probe.sample_path, probe.endpoint),)
    if kind == GW:
        return Scenario(GW, "uvicorn", "gateway:app", route)
    if kind == MA:
        return Scenario(MA, "uvicorn", "large_modern:app", route)
    return Scenario(GU, "gunicorn", "large_legacy:app", route, ("-k", "sync"))


def start(size: Size, kind: str, logs: Path) -> Running:
    """Start one server pinned to CPU 0 and wait for its first answer (any status)."""
    probe = size.modern if kind != GU else size.legacy
    scenario = _scenario(kind, probe)
    port = free_port()
    env = app_env()
    env["MIGRATION_STATUS"] = str(size.app.registry)
    log = logs / f"{size.routes}-{kind}.log"
    argv = ["taskset", "-c", str(SERVER_CPU), *server_command(scenario, port)]
    with log.open("wb") as out:
        clock = time.perf_counter()
        process = subprocess.Popen(
            argv,
            cwd=size.folder,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    running = Running(size, kind, Server(scenario, port, process, log))
    url = running.server.url(scenario.routes[0])
    deadline = clock + READY_TIMEOUT_S
    while time.perf_counter() < deadline:
        if process.poll() is not None:
            raise BenchError(
                f"{running.label} exited with status {process.returncode} before it "
                f"answered; its log:\n{_log_tail(running.server)}"
            )
        try:
            _get(url)
        except (OSError, urllib.error.URLError):
            time.sleep(0.02)
            continue
        running.ready_s = time.perf_counter() - clock
        return running
    stop_server(running.server)
    raise BenchError(f"{running.label} did not answer within {READY_TIMEOUT_S:.0f} s")


def expect(running: Running, path: str, status: int, served_by: str | None) -> None:
    got, headers = _get(f"http://127.0.0.1:{running.server.port}{path}")
    if got != status or (served_by is not None and headers.get("x-served-by") != served_by):
        raise BenchError(
            f"{running.label}: GET {path} answered {got} with X-Served-By "
            f"{headers.get('x-served-by')!r}; expected {status} from {served_by!r}: the "
            f"figure would not measure what it claims.\n{_log_tail(running.server)}"
        )


def worker_rss_kib(running: Running) -> int:
    """VmRSS of the process that serves: uvicorn's own, gunicorn's (only) worker."""
    pid = running.server.process.pid
    if running.kind == GU:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        if len(children) != 1:
            raise BenchError(f"{running.label}: gunicorn has workers {children}, not one")
        pid = int(children[0])
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise BenchError(f"no VmRSS for pid {pid}")


# --- measuring ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Pair:
    """One wrk target: a server of one size on one path."""

    routes: int
    kind: str
    path_kind: str  # modern, legacy or unknown
    path: str

    @property
    def key(self) -> str:
        return f"{self.routes}/{self.kind}/{self.path_kind}"


def pairs_of(size: Size) -> list[Pair]:
    n, m, legacy = size.routes, size.modern.sample_path, size.legacy.sample_path
    return [
        Pair(n, GW, "modern", m),
        Pair(n, MA, "modern", m),
        Pair(n, GW, "legacy", legacy),
        Pair(n, GU, "legacy", legacy),
        Pair(n, GW, "unknown", UNKNOWN_PATH),
        Pair(n, GU, "unknown", UNKNOWN_PATH),
    ]


def checked(servers: dict[tuple[int, str], Running], size: Size) -> None:
    n = size.routes
    expect(servers[n, GW], size.modern.sample_path, 200, "modern")
    expect(servers[n, MA], size.modern.sample_path, 200, None)
    expect(servers[n, GW], size.legacy.sample_path, 200, "legacy")
    expect(servers[n, GU], size.legacy.sample_path, 200, None)
    expect(servers[n, GW], UNKNOWN_PATH, 404, "legacy")
    expect(servers[n, GU], UNKNOWN_PATH, 404, None)


@dataclass(frozen=True)
class Settings:
    sizes: tuple[int, ...]
    style: str
    duration_s: int
    runs: int
    warmup_s: int
    connections: int
    imports: int
    starts: int
    chart: Path


def measure(
    settings: Settings, wrk: str, pairs: list[Pair], servers: dict[tuple[int, str], Running]
) -> dict[str, list[WrkResult]]:
    def url(pair: Pair) -> str:
        return f"http://127.0.0.1:{servers[pair.routes, pair.kind].server.port}{pair.path}"

    results: dict[str, list[WrkResult]] = {p.key: [] for p in pairs}
    if settings.warmup_s > 0:
        for pair in pairs:
            run_wrk(wrk, url(pair), settings.warmup_s, settings.connections)
        print(f"warm-up done ({len(pairs)} x {settings.warmup_s} s, discarded)", flush=True)
    total, done = len(pairs) * settings.runs, 0
    for repeat in range(settings.runs):
        shift = repeat * len(pairs) // settings.runs  # rotate: no pair always goes first
        for pair in pairs[shift:] + pairs[:shift]:
            result = run_wrk(wrk, url(pair), settings.duration_s, settings.connections)
            results[pair.key].append(result)
            done += 1
            print(
                f"[{done:>3}/{total}] {pair.key:<28} {result.requests_per_s:>8,.0f} req/s  "
                f"p50 {result.p50_ms:6.2f} ms  p99 {result.p99_ms:7.2f} ms",
                flush=True,
            )
    return results


def median_rps(results: dict[str, list[WrkResult]], key: str) -> float:
    return statistics.median(r.requests_per_s for r in results[key])


def targets(
    settings: Settings, sizes: list[Size], results: dict[str, list[WrkResult]], ready: dict
) -> list[dict[str, Any]]:
    def rps(n: int, kind: str, path: str) -> float:
        return median_rps(results, f"{n}/{kind}/{path}")

    def row(label: str, value: float, target: float) -> dict[str, Any]:
        verdict = "met" if value >= target else "NOT met"
        return {"label": label, "value": value, "target": target, "verdict": verdict}

    small, large = min(settings.sizes), max(settings.sizes)
    rows = [
        row(
            f"{large} routes, modern path: gateway / FastAPI alone",
            rps(large, GW, "modern") / rps(large, MA, "modern"),
            TARGET_MODERN_SPEEDUP,
        ),
        row(
            f"gateway modern: {large} routes / {small} routes",
            rps(large, GW, "modern") / rps(small, GW, "modern"),
            TARGET_FLAT,
        ),
        row(
            f"gateway legacy: {large} routes / {small} routes",
            rps(large, GW, "legacy") / rps(small, GW, "legacy"),
            TARGET_FLAT,
        ),
    ]
    for size in sizes:
        n = size.routes
        rows.append(
            row(
                f"{n} routes, unknown path: gateway / gunicorn alone",
                rps(n, GW, "unknown") / rps(n, GU, "unknown"),
                TARGET_UNKNOWN,
            )
        )
    for size in sizes:
        bare = statistics.median(size.import_s)
        value = ready[size.routes, GW] / bare  # lower is better: stored as its inverse
        rows.append(
            {
                "label": f"{size.routes} routes: gateway ready / bare import",
                "value": value,
                "target": TARGET_READY,
                "verdict": "met" if value <= TARGET_READY else "NOT met",
                "lower_is_better": True,
            }
        )
    return rows


# --- output ------------------------------------------------------------------------------


def print_tables(
    sizes: list[Size],
    results: dict[str, list[WrkResult]],
    servers: dict[tuple[int, str], Running],
    settings: Settings,
) -> None:
    print()
    print(
        f"req/s: medians of {settings.runs} wrk run(s) of {settings.duration_s} s, "
        f"{settings.connections} connections; p99 in ms; {settings.style} modern routes"
    )
    header = (
        f"{'routes':>6} {'path':<8} {'gateway':>9} {'p99':>7} {'alone':>9} {'p99':>7} "
        f"{'alone is':<15} {'gw/alone':>8}"
    )
    print(header)
    print("-" * len(header))
    for size in sizes:
        n = size.routes
        for path, alone in (("modern", MA), ("legacy", GU), ("unknown", GU)):
            gw, other = results[f"{n}/{GW}/{path}"], results[f"{n}/{alone}/{path}"]
            g, a = (
                median_rps(results, f"{n}/{GW}/{path}"),
                median_rps(results, f"{n}/{alone}/{path}"),
            )
            gp = statistics.median(r.p99_ms for r in gw)
            ap = statistics.median(r.p99_ms for r in other)
            print(
                f"{n:>6} {path:<8} {g:>9,.0f} {gp:>7.2f} {a:>9,.0f} {ap:>7.2f} {alone:<15} "
                f"{g / a:>8.2f}"
            )
    print()
    header = (
        f"{'routes':>6} {'bare import s':>13} {'ready s: gw':>11} {'fastapi':>8} "
        f"{'gunicorn':>8}   {'RSS MiB: gw':>11} {'fastapi':>8} {'gunicorn':>8}"
    )
    print(header)
    print("-" * len(header))
    for size in sizes:
        n = size.routes
        bare = statistics.median(size.import_s)
        ready = [servers[n, k].ready_s for k in (GW, MA, GU)]
        rss = [servers[n, k].rss_kib / 1024 for k in (GW, MA, GU)]
        print(
            f"{n:>6} {bare:>13.2f} {ready[0]:>11.2f} {ready[1]:>8.2f} {ready[2]:>8.2f}   "
            f"{rss[0]:>11.1f} {rss[1]:>8.1f} {rss[2]:>8.1f}"
        )
    for size in sizes:
        print(
            f"  {size.routes:>5} routes: modern path {size.modern.sample_path} "
            f"({size.modern.endpoint}), legacy path {size.legacy.sample_path} "
            f"({size.legacy.endpoint})"
        )


def print_targets(rows: list[dict[str, Any]]) -> None:
    print()
    header = f"{'target':<52} {'value':>7} {'target':>8}  verdict"
    print(header)
    print("-" * len(header))
    for r in rows:
        sign = "<=" if r.get("lower_is_better") else ">="
        target = f"{sign} {r['target']}"
        print(f"{r['label']:<52} {r['value']:>7.2f} {target:>8}  {r['verdict']}")


def chart(sizes: list[Size], results: dict[str, list[WrkResult]], path: Path, style: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xs = [s.routes for s in sizes]
    figure, axes = plt.subplots(figsize=(8, 5), dpi=110)
    lines = (
        (GW, "modern", "gateway, last ported route (modern)", "C0", "-"),
        (MA, "modern", "FastAPI alone, same route", "C0", "--"),
        (GW, "legacy", "gateway, last legacy route", "C1", "-"),
        (GU, "legacy", "gunicorn alone, same route", "C1", "--"),
        (GW, "unknown", "gateway, unknown path (404)", "C2", "-"),
        (GU, "unknown", "gunicorn alone, unknown path (404)", "C2", "--"),
    )
    for kind, route, label, colour, dash in lines:
        ys = [median_rps(results, f"{n}/{kind}/{route}") for n in xs]
        axes.plot(xs, ys, dash, color=colour, marker="o", label=label)
    axes.set_xscale("log")
    axes.set_xticks(xs, [f"{n:,}" for n in xs])
    axes.set_xlabel("routes in the legacy app (a fifth ported)")
    axes.set_ylabel("req/s (median, wrk -c50, one worker on one CPU)")
    axes.set_ylim(bottom=0)
    axes.set_title(f"routeshift gateway at scale ({style} FastAPI routes)")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize="small")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
    print(f"wrote {path}")


# --- the run -----------------------------------------------------------------------------


@contextlib.contextmanager
def stopping(servers: dict[tuple[int, str], Running]) -> Iterator[None]:
    try:
        yield
    finally:
        with signals_held():
            for running in servers.values():
                stop_server(running.server)


def benchmark(settings: Settings) -> None:
    check_machine()
    wrk = ensure_wrk()
    started, clock = datetime.now(UTC), time.monotonic()
    print(f"routeshift at {source_revision()}", flush=True)
    servers: dict[tuple[int, str], Running] = {}
    with tempfile.TemporaryDirectory(prefix="routeshift-scale-") as tmp, stopping(servers):
        root = Path(tmp)
        sizes: list[Size] = []
        for n in settings.sizes:
            build_clock = time.perf_counter()
            size = make_size(root, n, settings.style)
            sizes.append(size)
            print(
                f"built {n} routes in {time.perf_counter() - build_clock:.1f} s: "
                f"{size.app.describe()}",
                flush=True,
            )
        for _ in range(settings.imports):  # round-robin over the sizes
            for size in sizes:
                size.import_s.append(bare_import(size))
        for size in sizes:
            print(
                f"{size.routes} routes: bare import {statistics.median(size.import_s):.2f} s "
                f"({', '.join(f'{t:.2f}' for t in size.import_s)})",
                flush=True,
            )
            for kind in (GW, MA, GU):  # one after the other: start-up is timed alone
                times = []
                for n in range(settings.starts):  # the last one stays up to be measured
                    running = start(size, kind, root)
                    servers[size.routes, kind] = running  # stopped on every way out
                    times.append(running.ready_s)
                    if n < settings.starts - 1:
                        stop_server(running.server)
                running.starts_s = times
                running.ready_s = statistics.median(times)
                print(
                    f"  {running.label:<20} ready in {running.ready_s:.2f} s "
                    f"({', '.join(f'{t:.2f}' for t in times)})",
                    flush=True,
                )
            checked(servers, size)
        pairs = [p for size in sizes for p in pairs_of(size)]
        load = len(pairs) * (settings.warmup_s + settings.runs * settings.duration_s)
        print(f"{len(pairs)} wrk targets: about {load} s of load", flush=True)
        results = measure(settings, wrk, pairs, servers)
        for running in servers.values():
            running.rss_kib = worker_rss_kib(running)
        ready = {key: r.ready_s for key, r in servers.items()}
        rows = targets(settings, sizes, results, ready)
        print_tables(sizes, results, servers, settings)
        print_targets(rows)
        elapsed = time.monotonic() - clock
        write_json(settings, sizes, results, servers, rows, started, elapsed)
        chart(sizes, results, settings.chart, settings.style)
    print(f"total {time.monotonic() - clock:.0f} s")


def write_json(
    settings: Settings,
    sizes: list[Size],
    results: dict[str, list[WrkResult]],
    servers: dict[tuple[int, str], Running],
    rows: list[dict[str, Any]],
    started: datetime,
    elapsed_s: float,
) -> None:
    document = {
        "started": started.isoformat(timespec="seconds"),
        "elapsed_s": round(elapsed_s, 1),
        "routeshift": source_revision(),
        "settings": {
            **{k: v for k, v in asdict(settings).items() if k != "chart"},
            "ported": PORTED,
            "wrk_threads": 1,
            "server_cpu": SERVER_CPU,
            "wrk_cpu": WRK_CPU,
        },
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
        "sizes": [
            {
                "routes": s.routes,
                "modern_path": s.modern.sample_path,
                "legacy_path": s.legacy.sample_path,
                "bare_import_s": s.import_s,
                "servers": {
                    kind: {
                        "ready_s": servers[s.routes, kind].ready_s,
                        "starts_s": servers[s.routes, kind].starts_s,
                        "rss_kib": servers[s.routes, kind].rss_kib,
                    }
                    for kind in (GW, MA, GU)
                },
            }
            for s in sizes
        ],
        "results": {
            key: {
                "requests_per_s": statistics.median(r.requests_per_s for r in runs),
                "p50_ms": statistics.median(r.p50_ms for r in runs),
                "p99_ms": statistics.median(r.p99_ms for r in runs),
                "runs": [asdict(r) for r in runs],
            }
            for key, runs in results.items()
        },
        "targets": rows,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS.relative_to(REPO)}")


# --- command line ------------------------------------------------------------------------


def _sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(sorted({int(part) for part in text.split(",") if part.strip()}))
    except ValueError:
        raise argparse.ArgumentTypeError("a comma-separated list of route counts") from None
    if len(sizes) < 2 or sizes[0] < 10:
        raise argparse.ArgumentTypeError("at least two sizes, each at least 10")
    return sizes


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="The gateway's scale curve (see the docstring).")
    parser.add_argument("--sizes", type=_sizes, default=SIZES, help="10,100,1000,5000")
    parser.add_argument("--style", choices=MODERN_STYLES, default="included")
    parser.add_argument("--duration", type=_positive, default=5, help="seconds per run (5)")
    parser.add_argument("--runs", type=_positive, default=3, help="measured runs (3)")
    parser.add_argument("--warmup", type=int, default=1, help="warm-up seconds, 0: none (1)")
    parser.add_argument("--connections", type=_positive, default=50, help="wrk -c (50)")
    parser.add_argument("--imports", type=_positive, default=3, help="bare imports timed (3)")
    parser.add_argument("--starts", type=_positive, default=3, help="starts timed (3)")
    parser.add_argument("--chart", type=Path, default=CHART, help="the PNG chart")
    parser.add_argument("--quick", action="store_true", help="sizes 10,1000; 1 run of 2 s")
    return parser.parse_args(argv)


def settings_from(args: argparse.Namespace) -> Settings:
    return Settings(
        sizes=QUICK_SIZES if args.quick else args.sizes,
        style=args.style,
        duration_s=2 if args.quick else args.duration,
        runs=1 if args.quick else args.runs,
        warmup_s=max(0, args.warmup),
        connections=args.connections,
        imports=args.imports,
        starts=1 if args.quick else args.starts,
        chart=args.chart,
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    return run_benchmark(lambda: benchmark(settings_from(args)))


if __name__ == "__main__":
    use_repo_venv()
    sys.exit(main())
