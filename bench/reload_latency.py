"""Reload at scale: latency of a ported route while the gateway reloads a 5,000-route
registry every second, against the same load with no reload (issue 14).

Run from anywhere (the repository's .venv is used when it exists and no venv is active):

    python bench/reload_latency.py              # 5 rounds of 6 s runs at 200 req/s
    python bench/reload_latency.py --quick      # smoke test: 1 round of 3 s runs
    python bench/reload_latency.py --rate 100 --rounds 8 --profile

Flags:
    --routes N        rules of the generated app (default 5000; a fifth ported)
    --style S         the modern app's routes (bench/large_app.py): included (default),
                      apiroute or starlette
    --rate R          offered req/s, open loop (default 200; flagged when above half the
                      closed-loop probe's figure)
    --duration S      seconds per measured run (default 6)
    --rounds N        rounds of one quiet and one reloading run; medians are reported (5)
    --edit-every S    seconds between two edits of the registry during a reloading run (1)
    --warmup S        seconds of one discarded run (default 2; 0: none)
    --probe S         seconds of the closed-loop wrk probe (default 3; 0: none)
    --reloads N       in-process reloads timed after the load (default 5)
    --profile         profile the in-process reload with cProfile (also done whenever the
                      target is missed)
    --quick           1 round of 3 s runs, 1 s warm-up and probe, 3 reloads timed

One gateway (`uvicorn gateway:app`, one worker, httptools + uvloop when installed) serves
the generated app from its folder, pinned to CPU 0; bench/loadgen.py (open loop, latency
from each request's scheduled time) sends GET to the last ported rule with `state:
modern` (every reply must carry X-Served-By: modern), pinned to CPU 1, as is this
script. A round is two runs, in an order that alternates by round: "quiet" (the registry
untouched) and "reload" (every --edit-every seconds the registry file is rewritten
atomically, a temporary file then os.replace, with the first ported entry's `owner`
toggled: an edit that loads, fits and takes effect). The gateway's watcher polls the file
every 0.5 s and reloads it in a thread (asyncio.to_thread); each reload logs "registry
reloaded from", and the count in the gateway's log must equal the edits made (else
a PROBLEM line).

After the load, with the server stopped, a fresh interpreter (pinned to CPU 0) in the
folder builds the gateway's parts as routeshift.serve.assemble does and times the reload
(`RegistryWatcher.reload`: load_registry, the apps check, Routing.build) and its phases,
then the longest gaps a thread that wakes every 0.2 ms sees while a reload runs on
another (the apps frozen and the switch interval at the gateway's, RELOAD_SWITCH_INTERVAL),
with the cyclic collector on and off; with --profile, or when the target is missed,
cProfile's top functions by own and by cumulative time.

Target: p99 during reload <= 2x p99 without (medians over the rounds). Output: a table,
the target, the reload timing (and profile), bench/results/reload-latest.json
(git-ignored). Exit status: 0 done (whether or not the target was met), 2 set-up failed,
130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# `python bench/reload_latency.py` has bench/ on sys.path already; this covers other ways in
BENCH = Path(__file__).resolve().parent
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

from large_app import MODERN_STYLES  # noqa: E402
from run import (  # noqa: E402  (bench/ is put on sys.path above)
    REPO,
    SERVER_CPU,
    WRK_CPU,
    BenchError,
    _positive,
    check_machine,
    ensure_wrk,
    loadgen_errors,
    run_benchmark,
    run_loadgen,
    run_wrk,
    signals_held,
    stop_server,
    use_repo_venv,
)
from scale import (  # noqa: E402
    GW,
    Running,
    Size,
    app_env,
    expect,
    make_size,
    source_revision,
    start,
)

RESULTS = REPO / "bench" / "results" / "reload-latest.json"
TARGET_P99_RATIO = 2.0
PROBE_CONNECTIONS = 10
PAUSE_S = 1.5  # after a run: the last reload is over
RELOADED = "registry reloaded from"
QUIET, RELOAD = "quiet", "reload"


# --- the edits ---------------------------------------------------------------------------


class Editor:
    """Rewrites the registry file every `every` seconds, atomically, toggling one owner."""

    def __init__(self, registry: Path, every: float) -> None:
        self.registry = registry
        self.every = every
        self.text = registry.read_text(encoding="utf-8")
        line = next((ln for ln in self.text.splitlines() if "owner: " in ln), None)
        if line is None:
            raise BenchError(f"{registry} has no `owner:` line to toggle")
        self.line_a, self.line_b = line + "\n", line + "-edited\n"
        self.edits = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def write(self, edited: bool) -> None:
        text = self.text if not edited else self.text.replace(self.line_a, self.line_b, 1)
        temporary = self.registry.with_name(f".{self.registry.name}.tmp")
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, self.registry)

    def _loop(self) -> None:
        edited = False
        while not self._stop.wait(self.every):
            edited = not edited
            self.write(edited)
            self.edits += 1

    def __enter__(self) -> Editor:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="editor", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()


def reload_count(running: Running) -> int:
    return running.server.log.read_text(encoding="utf-8", errors="replace").count(RELOADED)


# --- load --------------------------------------------------------------------------------


def open_loop(running: Running, path: str, rate: float, duration_s: float) -> dict[str, Any]:
    """One loadgen run on the gateway's ported route; its JSON result."""
    return run_loadgen(running.server.port, path, rate, duration_s, "modern")


@dataclass(frozen=True)
class Settings:
    routes: int
    style: str
    rate: float
    duration_s: float
    rounds: int
    edit_every_s: float
    warmup_s: float
    probe_s: int
    reloads: int
    profile: bool


@dataclass
class Arm:
    name: str
    runs: list[dict[str, Any]] = field(default_factory=list)
    edits: list[int] = field(default_factory=list)
    reloads: list[int] = field(default_factory=list)

    def median(self, key: str) -> float:
        return statistics.median(run[key] for run in self.runs)


def one_run(
    running: Running, path: str, settings: Settings, arm: Arm, problems: list[str]
) -> dict[str, Any]:
    before = reload_count(running)
    if arm.name == RELOAD:
        with Editor(running.size.app.registry, settings.edit_every_s) as editor:
            run = open_loop(running, path, settings.rate, settings.duration_s)
        edits = editor.edits
    else:
        run = open_loop(running, path, settings.rate, settings.duration_s)
        edits = 0
    time.sleep(PAUSE_S)
    reloads = reload_count(running) - before
    arm.runs.append(run)
    arm.edits.append(edits)
    arm.reloads.append(reloads)
    if reloads != edits:
        problems.append(f"{arm.name} run {len(arm.runs)}: {edits} edits but {reloads} reloads")
    return run | {"edits": edits, "reloads": reloads}


# --- the in-process reload ---------------------------------------------------------------

RELOAD_TIMER = r"""
import cProfile, gc, io, json, pstats, statistics, sys, threading, time
from routeshift.apps.dispatch import install
from routeshift.apps.pair import check_apps, load_apps
from routeshift.compat.urls import add_build_only_rules
from routeshift.registry.load import load_registry
from routeshift.serve.reload import RELOAD_SWITCH_INTERVAL, RegistryWatcher, Routing

path, count, profile = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
registry = load_registry(path)
apps = load_apps(registry, None, None)
check_apps(registry, apps)
add_build_only_rules(apps.legacy, registry)
install(apps.modern)
watcher = RegistryWatcher(Routing.build(registry, apps, force_legacy=False), apps)
phases = {"load_registry": [], "check_apps": [], "Routing.build": [], "reload": []}
for _ in range(count):
    clock = time.perf_counter()
    loaded = load_registry(path)
    phases["load_registry"].append(time.perf_counter() - clock)
    clock = time.perf_counter()
    check_apps(loaded, apps)
    phases["check_apps"].append(time.perf_counter() - clock)
    clock = time.perf_counter()
    Routing.build(loaded, apps, force_legacy=False)
    phases["Routing.build"].append(time.perf_counter() - clock)
    clock = time.perf_counter()
    assert watcher.reload()
    phases["reload"].append(time.perf_counter() - clock)
out = {"phases": phases, "entries": len(registry.routes)}

# what a request waiting on the event loop sees: the longest gaps of a thread that wakes
# every 0.2 ms while reloads run on another, with the gateway's settings (what it built
# frozen, the GIL handed back as the gateway does during a reload), collector on and off
gc.collect()
gc.freeze()
sys.setswitchinterval(RELOAD_SWITCH_INTERVAL)


def gaps():
    seen, stop = [], threading.Event()

    def tick():
        last = time.perf_counter()
        while not stop.is_set():
            time.sleep(0.0002)
            now = time.perf_counter()
            seen.append(now - last)
            last = now

    ticker = threading.Thread(target=tick)
    ticker.start()
    time.sleep(0.05)
    reloader = threading.Thread(target=watcher.reload)
    reloader.start()
    reloader.join()
    stop.set()
    ticker.join()
    seen.sort()
    return {"max_ms": seen[-1] * 1000, "p99_ms": seen[int(len(seen) * 0.99)] * 1000}


lag = {}
for label, switch in (("collector on", gc.enable), ("collector off", gc.disable)):
    switch()
    lag[label] = [gaps() for _ in range(count)]
gc.enable()
out["lag"] = lag
if profile:
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(3):
        watcher.reload()
    profiler.disable()
    for key in ("tottime", "cumulative"):
        buffer = io.StringIO()
        pstats.Stats(profiler, stream=buffer).sort_stats(key).print_stats(25)
        out[key] = buffer.getvalue()
print("RESULT " + json.dumps(out))
"""


def time_reload(size: Size, count: int, profile: bool) -> dict[str, Any]:
    argv = ["taskset", "-c", str(SERVER_CPU), sys.executable, "-c", RELOAD_TIMER]
    argv += [str(size.app.registry), str(count), "1" if profile else "0"]
    done = subprocess.run(argv, cwd=size.folder, env=app_env(), capture_output=True, text=True)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")), None)
    if done.returncode != 0 or line is None:
        raise BenchError(f"timing the reload failed:\n{done.stdout}{done.stderr}")
    result: dict[str, Any] = json.loads(line.removeprefix("RESULT "))
    return result


def _trim(stats: str, lines: int = 25) -> str:
    """pstats output from its table's header on, `lines` rows."""
    rows = stats.splitlines()
    start = next((n for n, row in enumerate(rows) if row.lstrip().startswith("ncalls")), 0)
    return "\n".join(rows[start : start + 1 + lines])


# --- the run -----------------------------------------------------------------------------


def benchmark(settings: Settings) -> None:
    check_machine()
    wrk = ensure_wrk() if settings.probe_s > 0 else None
    started, clock = datetime.now(UTC), time.monotonic()
    problems: list[str] = []
    arms = {QUIET: Arm(QUIET), RELOAD: Arm(RELOAD)}
    revision = source_revision()
    print(f"routeshift at {revision}", flush=True)
    document: dict[str, Any] = {
        "started": started.isoformat(timespec="seconds"),
        "routeshift": revision,
    }
    with tempfile.TemporaryDirectory(prefix="routeshift-reload-") as tmp:
        root = Path(tmp)
        size = make_size(root, settings.routes, settings.style)
        path = size.modern.sample_path
        print(f"built: {size.app.describe()}", flush=True)
        print(f"route: GET {path} ({size.modern.endpoint}, state modern)", flush=True)
        running = start(size, GW, root)
        try:
            print(f"gateway ready in {running.ready_s:.2f} s on port {running.server.port}")
            expect(running, path, 200, "modern")
            os.sched_setaffinity(0, {WRK_CPU})  # the editor thread: off the server's CPU
            probe = None
            if wrk is not None:
                url = f"http://127.0.0.1:{running.server.port}{path}"
                probe = run_wrk(wrk, url, settings.probe_s, PROBE_CONNECTIONS).requests_per_s
                flag = "  ABOVE HALF OF IT" if settings.rate > probe / 2 else ""
                print(f"probe (wrk -c{PROBE_CONNECTIONS}): {probe:,.0f} req/s{flag}", flush=True)
            if settings.warmup_s > 0:
                open_loop(running, path, settings.rate, settings.warmup_s)
                print(f"warm-up done ({settings.warmup_s:g} s, discarded)", flush=True)
            for n in range(settings.rounds):
                order = (QUIET, RELOAD) if n % 2 == 0 else (RELOAD, QUIET)
                for name in order:
                    run = one_run(running, path, settings, arms[name], problems)
                    print(
                        f"round {n + 1} {name:<6} {run['achieved_rate']:6.1f} req/s  "
                        f"p50 {run['p50_ms']:6.2f}  p90 {run['p90_ms']:6.2f}  "
                        f"p99 {run['p99_ms']:7.2f}  max {run['max_ms']:7.2f} ms  "
                        f"errors {loadgen_errors(run)}  edits {run['edits']} "
                        f"reloads {run['reloads']}",
                        flush=True,
                    )
        finally:
            with signals_held():
                stop_server(running.server)
        os.sched_setaffinity(0, {SERVER_CPU, WRK_CPU})
        quiet, reload = arms[QUIET], arms[RELOAD]
        ratio = reload.median("p99_ms") / quiet.median("p99_ms")
        met = ratio <= TARGET_P99_RATIO
        print_table(arms, settings)
        ratios = [r["p99_ms"] / q["p99_ms"] for q, r in zip(quiet.runs, reload.runs, strict=True)]
        print(
            f"\np99 reload / p99 quiet: {ratio:.2f}  target <= {TARGET_P99_RATIO:g}  "
            f"{'met' if met else 'NOT met'}   (per round: "
            f"{' '.join(f'{x:.2f}' for x in ratios)})"
        )
        for problem in problems:
            print(f"PROBLEM {problem}")
        profile = settings.profile or not met
        print(f"\ntiming the reload in-process ({settings.reloads} x) ...", flush=True)
        timing = time_reload(size, settings.reloads, profile)
        print_timing(timing)
    elapsed = time.monotonic() - clock
    document |= {
        "elapsed_s": round(elapsed, 1),
        "settings": vars(settings) | {"server_cpu": SERVER_CPU, "load_cpu": WRK_CPU},
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
        "route": path,
        "probe_rps": probe,
        "arms": {
            name: {
                "p50_ms": arm.median("p50_ms"),
                "p90_ms": arm.median("p90_ms"),
                "p99_ms": arm.median("p99_ms"),
                "max_ms": arm.median("max_ms"),
                "runs": arm.runs,
                "edits": arm.edits,
                "reloads": arm.reloads,
            }
            for name, arm in arms.items()
        },
        "target": {"p99_ratio": ratio, "max": TARGET_P99_RATIO, "met": met},
        "per_round_p99_ratio": ratios,
        "reload_timing": timing,
        "problems": problems,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {RESULTS.relative_to(REPO)}\ntotal {elapsed:.0f} s")


def print_table(arms: dict[str, Arm], settings: Settings) -> None:
    print(
        f"\nmedians over {settings.rounds} round(s) of {settings.duration_s:g} s at "
        f"{settings.rate:g} req/s; edits every {settings.edit_every_s:g} s in reload runs"
    )
    header = (
        f"{'run':<7} {'req/s':>7} {'p50 ms':>7} {'p90 ms':>7} {'p99 ms':>8} {'max ms':>8} "
        f"{'errors':>6} {'edits':>6} {'reloads':>7}"
    )
    print(header)
    print("-" * len(header))
    for arm in arms.values():
        print(
            f"{arm.name:<7} {arm.median('achieved_rate'):>7.1f} {arm.median('p50_ms'):>7.2f} "
            f"{arm.median('p90_ms'):>7.2f} {arm.median('p99_ms'):>8.2f} "
            f"{arm.median('max_ms'):>8.2f} {sum(loadgen_errors(r) for r in arm.runs):>6} "
            f"{sum(arm.edits):>6} {sum(arm.reloads):>7}"
        )


def print_timing(timing: dict[str, Any]) -> None:
    print(f"one reload of {timing['entries']} entries, medians (min, max):")
    for phase, times in timing["phases"].items():
        print(
            f"  {phase:<14} {statistics.median(times) * 1000:8.1f} ms  "
            f"({min(times) * 1000:.1f}, {max(times) * 1000:.1f})"
        )
    print(
        "longest event-loop gap during one reload (a thread waking every 0.2 ms; apps "
        "frozen, the gateway's switch interval), median (max) ms:"
    )
    for label, runs in timing.get("lag", {}).items():
        worst = statistics.median(r["max_ms"] for r in runs)
        p99 = statistics.median(r["p99_ms"] for r in runs)
        top = max(r["max_ms"] for r in runs)
        print(f"  {label:<14} max gap {worst:6.1f} ({top:.1f})   p99 gap {p99:5.2f}")
    for key in ("tottime", "cumulative"):
        if key in timing:
            print(f"\ncProfile of 3 reloads, by {key}:\n{_trim(timing[key])}")


# --- command line ------------------------------------------------------------------------


def _seconds(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be positive")
    return value


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Latency while the registry reloads.")
    parser.add_argument("--routes", type=_positive, default=5000, help="rules (5000)")
    parser.add_argument("--style", choices=MODERN_STYLES, default="included")
    parser.add_argument("--rate", type=_seconds, default=200.0, help="req/s (200)")
    parser.add_argument("--duration", type=_seconds, default=6.0, help="seconds per run (6)")
    parser.add_argument("--rounds", type=_positive, default=5, help="rounds (5)")
    parser.add_argument("--edit-every", type=_seconds, default=1.0, help="seconds (1)")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds, 0: none (2)")
    parser.add_argument("--probe", type=int, default=3, help="wrk probe seconds, 0: none (3)")
    parser.add_argument("--reloads", type=_positive, default=5, help="timed in-process (5)")
    parser.add_argument("--profile", action="store_true", help="cProfile the reload")
    parser.add_argument("--quick", action="store_true", help="1 round of 3 s runs")
    return parser.parse_args(argv)


def settings_from(args: argparse.Namespace) -> Settings:
    return Settings(
        routes=args.routes,
        style=args.style,
        rate=args.rate,
        duration_s=3.0 if args.quick else args.duration,
        rounds=1 if args.quick else args.rounds,
        edit_every_s=args.edit_every,
        warmup_s=1.0 if args.quick else max(0.0, args.warmup),
        probe_s=min(args.probe, 1) if args.quick else max(0, args.probe),
        reloads=3 if args.quick else args.reloads,
        profile=args.profile,
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    return run_benchmark(lambda: benchmark(settings_from(args)))


if __name__ == "__main__":
    use_repo_venv()
    sys.exit(main())
