"""Latency cost of `state: shadow`: the same route served with and without a shadow copy,
at fixed request rates below saturation.

Run from anywhere (the repository's .venv is used when it exists and no venv is active):

    python bench/shadow.py                  # 8 rounds; 6 s runs at 100 and at 200 req/s
    python bench/shadow.py --quick          # smoke test: 1 round of 2 s runs
    python bench/shadow.py --control        # A/A: a second legacy server instead of shadow
    python bench/shadow.py --rate 150 --rounds 10

Flags:
    --duration S      seconds per measured run (default 6)
    --rounds N        rounds, each with a fresh pair of servers; medians are reported
                      (default 8)
    --rate R,R,...    offered requests per second, open loop (default 100,200)
    --warmup S        seconds of one discarded run per server and round (default 2; 0: none)
    --probe S         seconds of the closed-loop saturation probe per server, first round
                      only (default 3; 0: none)
    --control         measure legacy against a second legacy server: the noise floor
    --quick           1 round, 2 s runs, 1 s warm-up and probe (overrides those flags)

The issue's figure: "Shadow adds no more than 10% to p50 latency of the served response"
-> shadow p50 / legacy p50 <= 1.10 on GET /users/1 (users.get_user, an SQLAlchemy
lookup on both sides), per rate.

Each round starts two `uvicorn gateway:app` servers, both pinned to CPU 0
(`taskset -c 0`), from two copies of migration_status.yaml: one with users.get_user in
`state: legacy`, one in `state: shadow` (`sample` 1: every request is copied). Each
server has a folder of its own, with its own SQLite DATABASE_URL (the apps create and
seed it; the example's modern app reads the same file as legacy) and its own observation
store (routeshift.db beside the registry copy). Both answer from legacy (X-Served-By:
legacy, checked on every reply).

Why fresh servers every round: two identical legacy servers differ by up to ~10 % in
p50 on this machine, for the life of the processes (memory layout, hash seed), and which
one is faster is luck. With one pair, that luck is as large as the effect measured; a
fresh pair per round, started in alternating order, turns it into noise that the median
over rounds averages out. `--control` shows the floor.

1. First round only: a short closed-loop wrk probe of each server (pinned to CPU 1) finds
   where it saturates; a rate above half the lower figure is flagged (the design asks
   for the cost "at a fixed request rate below saturation").
2. Load: bench/loadgen.py, an open-loop generator pinned to CPU 1 (wrk is closed-loop;
   wrk2, vegeta and oha are not Debian packages). Request i leaves at `start + i / rate`
   and its latency runs from that scheduled time, so a stall is not hidden (no
   coordinated omission). Per round: one warm-up run per server, discarded, then for
   each rate one run per server, which goes first alternating by round and rate.
3. Shadow runs are counted from the shadow server's /metrics
   (routeshift_shadow_runs_total) before the warm-up and at the end of the round; after
   the servers stop (the writer thread writes what is queued at shutdown), the rows in
   routeshift_shadow_observations are counted by result. Every request must have been
   copied (none skipped), every copy a match, and every counted run stored.

Output: a table per rate and server (medians over the rounds of p50, p90, p99 and the
achieved rate; errors summed), the p50 ratio with its target, the observation counts,
and bench/results/shadow-latest.json (--control: shadow-control.json; git-ignored, like
latest.json). Exit status: 0 done
(whether or not the target was met), 2 set-up failed, 130 interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import sqlite3
import statistics
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# `python bench/shadow.py` has bench/ on sys.path already; this covers other ways in
BENCH = Path(__file__).resolve().parent
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

from run import (  # noqa: E402  (bench/ is put on sys.path above)
    REPO,
    SERVER_CPU,
    SMALL,
    WRK_CPU,
    BenchError,
    Scenario,
    Server,
    _get,
    _log_tail,
    _positive,
    check_machine,
    ensure_wrk,
    loadgen_errors,
    run_benchmark,
    run_loadgen,
    run_wrk,
    signals_held,
    start_server,
    stop_server,
    use_repo_venv,
    wait_ready,
)

RESULTS = REPO / "bench" / "results" / "shadow-latest.json"
CONTROL_RESULTS = REPO / "bench" / "results" / "shadow-control.json"  # --control
ROUTE = SMALL  # GET /users/1, users.get_user: an SQLAlchemy lookup on both sides
SERVED_BY = "legacy"  # what the client gets in both states
TARGET_P50_RATIO = 1.10
PROBE_CONNECTIONS = 10
PAUSE_S = 1.0  # between two runs: the shadow copies and the writer settle
SHADOW_RESULTS = ("match", "mismatch", "error", "timeout", "skipped")


@dataclass(frozen=True)
class Arm:
    """One of the two servers compared: its label and the route's registry state."""

    name: str
    state: str

    @property
    def scenario(self) -> Scenario:
        return Scenario(
            f"gateway-{self.name}", "uvicorn", "gateway:app", (ROUTE,), state=self.state
        )


SHADOW_ARMS = (Arm("legacy", "legacy"), Arm("shadow", "shadow"))
CONTROL_ARMS = (Arm("legacy", "legacy"), Arm("legacy-b", "legacy"))


@dataclass(frozen=True)
class Settings:
    duration_s: int
    rounds: int
    rates: tuple[float, ...]
    warmup_s: int
    probe_s: int
    arms: tuple[Arm, Arm]

    @property
    def baseline(self) -> Arm:
        return self.arms[0]

    @property
    def subject(self) -> Arm:
        return self.arms[1]

    def estimated_s(self) -> float:
        start_s = 6.0  # two servers, one after the other
        run_s = self.duration_s + PAUSE_S + 0.3
        per_round = start_s + 2 * (self.warmup_s + PAUSE_S) + 2 * len(self.rates) * run_s
        return self.rounds * per_round + 2 * self.probe_s


# --- the servers ---------------------------------------------------------------------


def start(arm: Arm, workdir: Path) -> Server:
    """A gateway whose registry copy sets users.get_user to `arm.state`, with a database
    and an observation store of its own (all in workdir/gateway-<name>/)."""
    folder = workdir / arm.scenario.name
    folder.mkdir(parents=True, exist_ok=True)
    return start_server(arm.scenario, workdir, f"sqlite:///{folder / 'app.db'}")


def check_registry(path: Path, state: str) -> None:
    """The copy says what the figure claims: the route in `state`, sampled at 1."""
    from routeshift.registry.load import load_registry

    entry = next(e for e in load_registry(path).routes if e.endpoint == ROUTE.endpoint)
    if entry.state.value != state or (state == "shadow" and entry.sample != 1):
        raise BenchError(
            f"{path}: {ROUTE.endpoint} is `state: {entry.state.value}` with sample "
            f"{entry.sample}; the benchmark needs `state: {state}` (sample 1 for shadow)."
        )


def url(server: Server, path: str = ROUTE.path) -> str:
    return f"http://127.0.0.1:{server.port}{path}"


_RUNS = re.compile(
    r"^routeshift_shadow_runs_total\{(?P<labels>[^}]*)\}\s+(?P<value>[0-9.eE+-]+)$", re.M
)


def shadow_runs(server: Server) -> Counter[str]:
    """routeshift_shadow_runs_total of the tested endpoint by result, from /metrics."""
    with urllib.request.urlopen(url(server, "/metrics"), timeout=5) as response:
        text = response.read().decode("utf-8")
    counts: Counter[str] = Counter(dict.fromkeys(SHADOW_RESULTS, 0))
    for match in _RUNS.finditer(text):
        labels = dict(re.findall(r'(\w+)="([^"]*)"', match.group("labels")))
        if labels.get("endpoint") == ROUTE.endpoint:
            counts[labels["result"]] = int(float(match.group("value")))
    return counts


def diff(after: Counter[str], before: Counter[str]) -> Counter[str]:
    return Counter({key: after[key] - before[key] for key in after})


def verify(server: Server, state: str) -> None:
    """200 from legacy; and the shadow server copies the request, the legacy one not."""
    time.sleep(0.3)  # the copy of wait_ready's request is counted by now
    before = shadow_runs(server)
    status, headers = _get(url(server))
    name = server.scenario.name
    if status != 200 or headers.get("x-served-by") != SERVED_BY:
        raise BenchError(
            f"{name}: GET {ROUTE.path} answered {status} with X-Served-By "
            f"{headers.get('x-served-by')!r}; expected 200 from {SERVED_BY!r}."
        )
    deadline = time.monotonic() + 5
    while True:
        runs = diff(shadow_runs(server), before)
        if state == "legacy" or runs.total() or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    if state == "shadow" and +runs != Counter(match=1):
        raise BenchError(
            f"{name}: one GET {ROUTE.path} gave shadow runs {dict(+runs)}, not one match; "
            f"the shadow state is not doing what the figure claims.\n{_log_tail(server)}"
        )
    if state == "legacy" and runs.total():
        raise BenchError(f"{name}: a legacy route was copied to modern: {dict(+runs)}")


@contextlib.contextmanager
def servers(workdir: Path, arms: Sequence[Arm]) -> Iterator[dict[str, Server]]:
    """The arms' servers, started one after the other in the order given."""
    started: dict[str, Server] = {}
    try:
        for arm in arms:
            server = start(arm, workdir)
            started[arm.name] = server
            check_registry(workdir / server.scenario.name / "migration_status.yaml", arm.state)
            wait_ready(server)
            verify(server, arm.state)
        yield started
    finally:
        with signals_held():
            for server in started.values():
                stop_server(server)


def stored_observations(folder: Path) -> Counter[str]:
    """Rows of the tested endpoint in the store beside the registry copy, by result."""
    path = folder / "routeshift.db"
    counts: Counter[str] = Counter(dict.fromkeys(SHADOW_RESULTS[:-1], 0))  # no skips stored
    if not path.exists():
        return counts
    with contextlib.closing(sqlite3.connect(path)) as db:
        try:
            rows = db.execute(
                "SELECT result, COUNT(*) FROM routeshift_shadow_observations "
                "WHERE endpoint = ? GROUP BY result",
                (ROUTE.endpoint,),
            ).fetchall()
        except sqlite3.OperationalError:  # no table: nothing was ever written
            return counts
    counts.update({str(result): int(n) for result, n in rows})
    return counts


# --- load ------------------------------------------------------------------------------


def open_loop(server: Server, rate: float, duration_s: float) -> dict[str, Any]:
    """One loadgen run on the shadow benchmark's route; its JSON result."""
    return run_loadgen(server.port, ROUTE.path, rate, duration_s, SERVED_BY)


def describe(run: dict[str, Any]) -> str:
    return (
        f"{run['achieved_rate']:6.1f} req/s  p50 {run['p50_ms']:5.2f}  p90 {run['p90_ms']:6.2f}"
        f"  p99 {run['p99_ms']:6.2f} ms  send lag p99 {run['send_lag_p99_ms']:5.2f}  "
        f"errors {loadgen_errors(run)}"
    )


@dataclass
class Measurement:
    rate: float
    arm: Arm
    runs: list[dict[str, Any]] = field(default_factory=list)

    def median(self, key: str) -> float:
        return statistics.median(run[key] for run in self.runs)

    @property
    def errors(self) -> int:
        return sum(loadgen_errors(run) for run in self.runs)

    @property
    def requests(self) -> int:
        return sum(run["completed"] for run in self.runs)

    def summary(self) -> dict[str, Any]:
        keys = ("p50_ms", "p90_ms", "p99_ms", "achieved_rate", "service_p50_ms")
        return {
            "rate": self.rate,
            "server": self.arm.name,
            "state": self.arm.state,
            **{key: self.median(key) for key in keys},
            "send_lag_p99_ms": self.median("send_lag_p99_ms"),
            "requests": self.requests,
            "errors": self.errors,
        }


@dataclass
class Tally:
    """Shadow runs and stored observations, summed over the rounds."""

    answered: int = 0  # requests the shadow server answered during warm-ups and runs
    runs: Counter[str] = field(default_factory=Counter)  # /metrics, over the same span
    runs_total: Counter[str] = field(default_factory=Counter)  # /metrics, whole life
    stored: Counter[str] = field(default_factory=Counter)  # rows in the stores
    baseline_stored: int = 0  # rows the legacy server stored (must be 0)

    def problems(self) -> list[str]:
        found = []
        if self.runs.total() != self.answered:
            found.append(f"{self.answered} requests answered, {self.runs.total()} runs counted")
        if self.runs["skipped"]:
            found.append(f"{self.runs['skipped']} requests were not copied (skipped)")
        if bad := {k: v for k, v in self.runs.items() if k not in ("match", "skipped") and v}:
            found.append(f"copies that did not match: {bad}")
        if +Counter({k: v for k, v in self.runs_total.items() if k != "skipped"}) != +self.stored:
            found.append(
                f"/metrics counted {dict(self.runs_total)}, the store holds {dict(self.stored)}"
            )
        if self.baseline_stored:
            found.append(f"the legacy server stored {self.baseline_stored} observations")
        return found

    def as_dict(self) -> dict[str, Any]:
        return {
            "answered": self.answered,
            "runs_during_load": dict(self.runs),
            "runs_total": dict(self.runs_total),
            "stored": dict(self.stored),
            "legacy_server_stored": self.baseline_stored,
            "problems": self.problems(),
        }


def probe(wrk: str, running: dict[str, Server], seconds: int) -> dict[str, float]:
    """Closed-loop req/s of each server (wrk, PROBE_CONNECTIONS connections)."""
    found: dict[str, float] = {}
    for name, server in running.items():
        result = run_wrk(wrk, url(server), seconds, PROBE_CONNECTIONS)
        found[name] = result.requests_per_s
        print(
            f"probe {name:<8} closed loop, {PROBE_CONNECTIONS} connections: "
            f"{result.requests_per_s:,.0f} req/s (p50 {result.p50_ms:.2f} ms)",
            flush=True,
        )
    return found


def one_round(
    settings: Settings,
    round_: int,
    workdir: Path,
    results: dict[tuple[float, str], Measurement],
    tally: Tally,
    wrk: str,
) -> dict[str, float]:
    """Start a fresh pair, warm it up, run every rate on both; returns the probe's
    figures (first round only)."""
    arms = settings.arms if round_ % 2 == 0 else settings.arms[::-1]  # who starts first
    folder = workdir / f"round-{round_ + 1}"
    saturation: dict[str, float] = {}
    subject = settings.subject
    shadowed = subject.state == "shadow"
    with servers(folder, arms) as running:
        ports = ", ".join(f"{a.name} :{running[a.name].port}" for a in arms)
        print(f"round {round_ + 1}/{settings.rounds}: started {ports}", flush=True)
        if round_ == 0 and settings.probe_s > 0:
            saturation = probe(wrk, running, settings.probe_s)
            time.sleep(PAUSE_S)
        before = shadow_runs(running[subject.name]) if shadowed else Counter()
        if settings.warmup_s > 0:
            for arm in arms:
                run = open_loop(running[arm.name], max(settings.rates), settings.warmup_s)
                tally.answered += run["completed"] if arm == subject else 0
                time.sleep(PAUSE_S)
        for index, rate in enumerate(settings.rates):
            order = arms if index % 2 == 0 else arms[::-1]
            for arm in order:
                run = open_loop(running[arm.name], rate, settings.duration_s)
                results[rate, arm.name].runs.append(run)
                tally.answered += run["completed"] if arm == subject else 0
                label = f"{rate:g} req/s {arm.name}"
                print(f"  {label:<20} {describe(run)}", flush=True)
                time.sleep(PAUSE_S)
        if shadowed:
            after = shadow_runs(running[subject.name])
            tally.runs += diff(after, before)
            tally.runs_total += after
    # the servers are stopped: the writer thread has written what was queued
    if shadowed:
        tally.stored += stored_observations(folder / subject.scenario.name)
        tally.baseline_stored += stored_observations(
            folder / settings.baseline.scenario.name
        ).total()
    return saturation


def figures(
    settings: Settings,
    results: dict[tuple[float, str], Measurement],
    saturation: dict[str, float],
) -> list[dict[str, Any]]:
    """Per rate: subject / baseline of the medians over the rounds; the p50's verdict."""
    rows = []
    limit = min(saturation.values()) / 2 if saturation else None
    for rate in settings.rates:
        base = results[rate, settings.baseline.name]
        subject = results[rate, settings.subject.name]
        per_round = [
            s["p50_ms"] / b["p50_ms"] for b, s in zip(base.runs, subject.runs, strict=True)
        ]
        ratio = {
            key: subject.median(key) / base.median(key) for key in ("p50_ms", "p90_ms", "p99_ms")
        }
        rows.append(
            {
                "rate": rate,
                "figure": f"{settings.subject.name} / {settings.baseline.name}",
                "p50_ratio": ratio["p50_ms"],
                "p90_ratio": ratio["p90_ms"],
                "p99_ratio": ratio["p99_ms"],
                "p50_ratio_per_round": per_round,
                "target": TARGET_P50_RATIO,
                "verdict": "met" if ratio["p50_ms"] <= TARGET_P50_RATIO else "NOT met",
                "below_half_saturation": None if limit is None else rate <= limit,
            }
        )
    return rows


# --- output ----------------------------------------------------------------------------


def print_table(results: dict[tuple[float, str], Measurement], settings: Settings) -> None:
    print()
    print(
        f"GET {ROUTE.path}: medians over {settings.rounds} round(s) of one {settings.duration_s} s "
        "open-loop run each; latency from the scheduled send; errors: sum"
    )
    header = (
        f"{'rate':>6} {'server':<9} {'achieved':>9} {'p50 ms':>8} {'p90 ms':>8} "
        f"{'p99 ms':>8} {'requests':>9} {'errors':>7}"
    )
    print(header)
    print("-" * len(header))
    for m in results.values():
        print(
            f"{m.rate:>6g} {m.arm.name:<9} {m.median('achieved_rate'):>9.1f} "
            f"{m.median('p50_ms'):>8.2f} {m.median('p90_ms'):>8.2f} {m.median('p99_ms'):>8.2f} "
            f"{m.requests:>9} {m.errors:>7}"
        )


def print_figures(rows: list[dict[str, Any]]) -> None:
    print()
    header = (
        f"{'rate':>6} {'figure':<20} {'p50':>6} {'target':>8}  {'verdict':<8} "
        f"{'p90':>5} {'p99':>5}  p50 ratio per round"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        per_round = " ".join(f"{x:.2f}" for x in row["p50_ratio_per_round"])
        print(
            f"{row['rate']:>6g} {row['figure']:<20} {row['p50_ratio']:>6.3f} "
            f"{'<= ' + format(row['target'], '.2f'):>8}  {row['verdict']:<8} "
            f"{row['p90_ratio']:>5.2f} {row['p99_ratio']:>5.2f}  {per_round}"
        )
        if row["below_half_saturation"] is False:
            print(f"       warning: {row['rate']:g} req/s is above half the probed saturation")


def print_tally(tally: Tally) -> None:
    print()
    print(
        f"shadow servers, warm-ups and runs: {tally.answered} requests answered; shadow runs "
        f"(/metrics) {dict(tally.runs)}"
    )
    print(f"shadow servers, whole life (/metrics, probe included): {dict(tally.runs_total)}")
    print(f"rows in routeshift_shadow_observations: {dict(tally.stored)}")
    print(f"legacy servers, rows stored: {tally.baseline_stored}")
    for problem in tally.problems():
        print(f"  PROBLEM: {problem}")


def write_json(document: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {path.relative_to(REPO)}")


# --- the run ---------------------------------------------------------------------------


def benchmark(settings: Settings) -> None:
    check_machine()
    wrk = ensure_wrk() if settings.probe_s > 0 else ""
    estimate = settings.estimated_s()
    print(
        f"{settings.rounds} round(s) x (2 servers started, {settings.warmup_s} s warm-up each, "
        f"{len(settings.rates)} rate(s) x 2 x {settings.duration_s} s): about {estimate:.0f} s "
        f"(~{estimate / 60:.1f} min)",
        flush=True,
    )
    results = {
        (rate, arm.name): Measurement(rate, arm) for rate in settings.rates for arm in settings.arms
    }
    tally = Tally()
    saturation: dict[str, float] = {}
    started, clock = datetime.now(UTC), time.monotonic()
    with tempfile.TemporaryDirectory(prefix="routeshift-shadow-bench-") as tmp:
        for round_ in range(settings.rounds):
            found = one_round(settings, round_, Path(tmp), results, tally, wrk)
            saturation = saturation or found
            if found and (over := [r for r in settings.rates if r > min(found.values()) / 2]):
                print(f"warning: {over} req/s: above half the lower saturation figure")
    elapsed = time.monotonic() - clock
    rows = figures(settings, results, saturation)
    print_table(results, settings)
    print_figures(rows)
    shadowed = settings.subject.state == "shadow"
    if shadowed:
        print_tally(tally)
    write_json(
        {
            "started": started.isoformat(timespec="seconds"),
            "elapsed_s": round(elapsed, 1),
            "route": {"path": ROUTE.path, "endpoint": ROUTE.endpoint},
            "settings": {
                "duration_s": settings.duration_s,
                "rounds": settings.rounds,
                "rates": list(settings.rates),
                "warmup_s": settings.warmup_s,
                "probe_s": settings.probe_s,
                "probe_connections": PROBE_CONNECTIONS,
                "servers": {arm.name: arm.state for arm in settings.arms},
                "server_cpu": SERVER_CPU,
                "load_cpu": WRK_CPU,
                "load": "bench/loadgen.py: open loop, latency from the scheduled send",
            },
            "machine": {
                "python": platform.python_version(),
                "platform": platform.platform(),
                "cpus": os.cpu_count(),
            },
            "saturation_req_s": saturation,
            "summary": [m.summary() for m in results.values()],
            "figures": rows,
            "observations": tally.as_dict() if shadowed else None,
            "runs": [
                {"rate": m.rate, "server": m.arm.name, "runs": m.runs} for m in results.values()
            ],
        },
        RESULTS if shadowed else CONTROL_RESULTS,
    )
    print(f"total {elapsed:.0f} s")


# --- command line ----------------------------------------------------------------------


def _rates(text: str) -> tuple[float, ...]:
    try:
        rates = tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of numbers: {text!r}") from None
    if not rates or any(rate <= 0 for rate in rates):
        raise argparse.ArgumentTypeError("rates must be positive numbers, e.g. 100,200")
    return rates


def _seconds(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Latency cost of the shadow state (see the module docstring)."
    )
    parser.add_argument("--duration", type=_positive, default=6, help="seconds per run (6)")
    parser.add_argument("--rounds", type=_positive, default=8, help="rounds (8)")
    parser.add_argument("--rate", type=_rates, default=(100.0, 200.0), help="req/s (100,200)")
    parser.add_argument("--warmup", type=_seconds, default=2, help="warm-up seconds (2)")
    parser.add_argument("--probe", type=_seconds, default=3, help="probe seconds (3)")
    parser.add_argument("--control", action="store_true", help="A/A: legacy vs legacy")
    parser.add_argument("--quick", action="store_true", help="1 round of 2 s: a smoke test")
    return parser.parse_args(argv)


def settings_from(args: argparse.Namespace) -> Settings:
    return Settings(
        duration_s=2 if args.quick else args.duration,
        rounds=1 if args.quick else args.rounds,
        rates=args.rate,
        warmup_s=min(args.warmup, 1) if args.quick else args.warmup,
        probe_s=min(args.probe, 1) if args.quick else args.probe,
        arms=CONTROL_ARMS if args.control else SHADOW_ARMS,
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    return run_benchmark(lambda: benchmark(settings_from(args)))


if __name__ == "__main__":
    use_repo_venv()
    sys.exit(main())
