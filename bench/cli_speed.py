"""Speed of the read-only commands on a 5,000-route app: `routes`, `status`, `check`.

Run from anywhere (the repository's .venv is used when it exists and no venv is active):

    python bench/cli_speed.py                     # 5,000 rules, 5 measured runs each
    python bench/cli_speed.py --runs 3 --routes 2000
    python bench/cli_speed.py --modern-style included --keep

The app is written by bench/large_app.py into a temporary folder (kept with --keep). Each
command runs as a real subprocess, `python -m routeshift COMMAND` with the working
directory at that folder (so ./migration_status.yaml is the registry), its output
captured and discarded. A command that `python -m routeshift` does not list yet but whose
module exists (routeshift/cli/COMMAND.py, not yet registered in routeshift.cli) runs
through a shim that imports the module first; the table says so. A command with no module
is skipped with a note. One warm-up run per command is discarded (it writes the .pyc
files of the generated apps); then the runs go round-robin over the commands, so that
machine noise hits all alike, and the table shows the median wall time.

Reference rows (no target): importing each generated app alone in a fresh interpreter,
and `routeshift --help` (interpreter start-up plus routeshift's imports). "beyond apps"
is a command's median less the median of importing both apps: what routeshift itself
spends (the YAML, the checks, the store, its own imports beyond Flask and FastAPI).

Exit status: 0 done (whether or not the target was met), 2 set-up failed.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

try:  # python bench/cli_speed.py puts bench/ on sys.path; the repository root has bench.
    from large_app import LEGACY_MODULE, MODERN_MODULE, MODERN_STYLES, LargeApp, build
    from run import BenchError, run_benchmark, use_repo_venv
except ImportError:
    from bench.large_app import LEGACY_MODULE, MODERN_MODULE, MODERN_STYLES, LargeApp, build
    from bench.run import BenchError, run_benchmark, use_repo_venv

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results" / "cli_speed.json"
TARGET_S = 2.0
COMMANDS = ("routes", "status", "check")
# Variables of the caller's environment that would change what a command reads.
SCRUBBED_ENV = (
    "MIGRATION_STATUS",
    "ROUTESHIFT_REGISTRY",
    "ROUTESHIFT_STORE_URL",
    "ROUTESHIFT_FORCE_LEGACY",
    "PYTHONPATH",
)


@dataclass
class Row:
    label: str
    argv: list[str] | None  # None: skipped
    target: bool  # measured against TARGET_S
    note: str = ""
    times: list[float] = field(default_factory=list)
    first_s: float | None = None
    exit_codes: set[int] = field(default_factory=set)
    output_lines: int = 0

    @property
    def median(self) -> float | None:
        return statistics.median(self.times) if self.times else None


def environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in SCRUBBED_ENV}


def run_once(row: Row, cwd: Path) -> float:
    assert row.argv is not None
    clock = time.perf_counter()
    done = subprocess.run(row.argv, cwd=cwd, env=environment(), capture_output=True, text=True)
    elapsed = time.perf_counter() - clock
    if done.returncode not in (0, 1):
        tail = "\n".join((done.stderr or done.stdout).splitlines()[-15:])
        raise BenchError(f"{row.label} exited {done.returncode}:\n{tail}")
    row.exit_codes.add(done.returncode)
    row.output_lines = len(done.stdout.splitlines())
    return elapsed


def command_row(command: str, python: str, cwd: Path) -> Row:
    """`python -m routeshift COMMAND`, a shim when the module is not registered, or skip."""
    label = f"routeshift {command}"
    direct = [python, "-m", "routeshift", command]
    probe = subprocess.run(
        [*direct, "--help"], cwd=cwd, env=environment(), capture_output=True, text=True
    )
    if probe.returncode == 0:
        return Row(label, direct, target=True)
    if importlib.util.find_spec(f"routeshift.cli.{command}") is None:
        return Row(label, None, True, f"skipped: routeshift has no `{command}` command yet")
    shim = (
        f"import routeshift.cli.{command}; from routeshift.cli import main; "
        "main(prog_name='routeshift')"
    )
    argv = [python, "-c", shim, command]
    probe = subprocess.run(
        [*argv, "--help"], cwd=cwd, env=environment(), capture_output=True, text=True
    )
    if probe.returncode != 0:
        last = (probe.stderr or probe.stdout).strip().splitlines()[-1:] or ["?"]
        return Row(label, None, True, f"skipped: routeshift.cli.{command} fails: {last[0]}")
    return Row(label, argv, True, f"via a shim: routeshift.cli.{command} is not registered yet")


def rows_for(python: str, cwd: Path) -> list[Row]:
    return [
        Row("import the legacy app alone", [python, "-c", f"import {LEGACY_MODULE}"], False),
        Row("import the modern app alone", [python, "-c", f"import {MODERN_MODULE}"], False),
        Row(
            "import both apps",
            [python, "-c", f"import {LEGACY_MODULE}, {MODERN_MODULE}"],
            False,
        ),
        Row("routeshift --help", [python, "-m", "routeshift", "--help"], False),
        *(command_row(command, python, cwd) for command in COMMANDS),
    ]


def measure(rows: list[Row], cwd: Path, runs: int) -> None:
    active = [row for row in rows if row.argv is not None]
    for row in active:
        print(f"warm-up: {row.label} ...", flush=True)
        row.first_s = run_once(row, cwd)
    for repeat in range(runs):
        print(f"run {repeat + 1}/{runs} ...", flush=True)
        start = repeat % len(active)
        for row in active[start:] + active[:start]:
            row.times.append(run_once(row, cwd))


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} s"


def print_table(rows: list[Row]) -> list[dict[str, object]]:
    apps = next((r.median for r in rows if r.label == "import both apps"), None)
    header = (
        f"{'command':<30} {'median':>8} {'min':>8} {'max':>8} {'first':>8} "
        f"{'beyond apps':>11} {'exit':>5} {'target':>7}  verdict"
    )
    print()
    print(header)
    print("-" * len(header))
    report = []
    for row in rows:
        if row.argv is None:
            print(f"{row.label:<30} {row.note}")
            report.append({"command": row.label, "skipped": row.note})
            continue
        median = row.median
        assert median is not None
        beyond = median - apps if row.target and apps is not None else None
        verdict = "reference"
        if row.target:
            verdict = "met" if median < TARGET_S else "NOT met"
        exits = ",".join(map(str, sorted(row.exit_codes)))
        target = f"< {TARGET_S:g} s" if row.target else "-"
        print(
            f"{row.label:<30} {_seconds(median):>8} {_seconds(min(row.times)):>8} "
            f"{_seconds(max(row.times)):>8} {_seconds(row.first_s):>8} {_seconds(beyond):>11} "
            f"{exits:>5} {target:>7}  {verdict}"
        )
        report.append(
            {
                "command": row.label,
                "argv": row.argv[1:],
                "median_s": median,
                "runs_s": row.times,
                "first_s": row.first_s,
                "beyond_apps_s": beyond,
                "exit_codes": sorted(row.exit_codes),
                "output_lines": row.output_lines,
                "target_s": TARGET_S if row.target else None,
                "verdict": verdict,
                "note": row.note,
            }
        )
    for row in rows:
        if row.argv is not None and row.note:
            print(f"note: {row.label}: {row.note}")
    return report


def write_json(big: LargeApp, runs: int, report: list[dict[str, object]]) -> None:
    document = {
        "app": big.describe(),
        "rules": len(big.routes),
        "route_methods": big.route_methods,
        "modern_style": big.modern_style,
        "runs": runs,
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
        "results": report,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {RESULTS.relative_to(REPO)}")


def benchmark(args: argparse.Namespace) -> None:
    folder = Path(tempfile.mkdtemp(prefix="routeshift-cli-speed-"))
    try:
        clock = time.perf_counter()
        big = build(folder, routes=args.routes, ported=args.ported, modern_style=args.modern_style)
        print(f"built in {time.perf_counter() - clock:.1f} s: {big.describe()}", flush=True)
        rows = rows_for(sys.executable, folder)
        measure(rows, folder, args.runs)
        report = print_table(rows)
        write_json(big, args.runs, report)
    finally:
        if args.keep:
            print(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Time routeshift's read-only commands.")
    parser.add_argument("--routes", type=_positive, default=5000, help="legacy rules (5000)")
    parser.add_argument("--ported", type=float, default=0.3, help="share ported (0.3)")
    parser.add_argument("--runs", type=_positive, default=5, help="measured runs (5)")
    parser.add_argument(
        "--modern-style",
        choices=MODERN_STYLES,
        default="starlette",
        help="how the modern app's routes are built (starlette; see bench/large_app.py)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the generated folder")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    return run_benchmark(lambda: benchmark(args))


if __name__ == "__main__":
    use_repo_venv()
    sys.exit(main())
