"""Time the read-only commands on a 5,000-route app: `routes`, `status`, `check`.

Run from anywhere (the repository's .venv is used when it exists and no venv is active):

    python bench/cli_speed.py                     # 5,000 rules, both layouts, 3 runs each
    python bench/cli_speed.py --styles included --runs 5
    python bench/cli_speed.py --source /tmp/old   # routeshift from another checkout

What counts is the time a command adds to the bare import of the two apps (issue 14,
part 8): at most ADDED_TARGET_S[style], 0.5 s with the modern routes declared on the app
(`starlette`) and 1.0 s with them in included routers (`included`: FastAPI builds each
included route's context the first time the routes are listed, which discovery does).

For each style the app is written by bench/large_app.py into a temporary folder (kept
with --keep). Each command runs as a real subprocess, `python -m routeshift COMMAND` with
the working directory at that folder (so ./migration_status.yaml is the registry), its
output captured and discarded. A command that `python -m routeshift` does not list yet but
whose module exists runs through a shim that imports the module first; the table says so.
A command with no module is skipped with a note. One warm-up run per command is discarded
(it writes the .pyc files of the generated apps); then the runs go round-robin over the
commands, so that machine noise hits all alike, and the table shows the median wall time.

Reference rows (no target): importing both generated apps in a fresh interpreter (the
bare import) and `routeshift --help`. "added" is a command's median less the bare
import's median: what routeshift spends (its own imports beyond Flask and FastAPI, the
YAML, the apps' routes, the store, the checks, the report).

Exit status: 0 done (whether or not a target was met), 2 set-up failed.
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
#: the most a command may add to the bare import of the two apps, per modern style
ADDED_TARGET_S = {"starlette": 0.5, "apiroute": 0.5, "included": 1.0}
DEFAULT_STYLES = ("starlette", "included")
BARE_IMPORT = "import both apps"
COMMANDS = ("routes", "status", "check")
# Variables of the caller's environment that would change what a command reads.
SCRUBBED_ENV = (
    "MIGRATION_STATUS",
    "ROUTESHIFT_REGISTRY",
    "ROUTESHIFT_STORE_URL",
    "ROUTESHIFT_FORCE_LEGACY",
    "PYTHONPATH",
)
#: set by --source: the checkout whose routeshift the commands import
SOURCE: Path | None = None


@dataclass
class Row:
    label: str
    argv: list[str] | None  # None: skipped
    target: bool  # a command: its added time is held to the style's target
    note: str = ""
    times: list[float] = field(default_factory=list)
    first_s: float | None = None
    exit_codes: set[int] = field(default_factory=set)
    output_lines: int = 0

    @property
    def median(self) -> float | None:
        return statistics.median(self.times) if self.times else None


def environment() -> dict[str, str]:
    """The caller's environment without what would change a command's input; with
    --source, PYTHONPATH is that checkout."""
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED_ENV}
    if SOURCE is not None:
        env["PYTHONPATH"] = str(SOURCE)
    return env


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
        Row(BARE_IMPORT, [python, "-c", f"import {LEGACY_MODULE}, {MODERN_MODULE}"], False),
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


def print_table(style: str, rows: list[Row]) -> list[dict[str, object]]:
    """The table of one style; returns its rows for the JSON."""
    bare = next((r.median for r in rows if r.label == BARE_IMPORT), None)
    limit = ADDED_TARGET_S[style]
    header = (
        f"{'command':<24} {'median':>8} {'min':>8} {'max':>8} {'added':>8} "
        f"{'target':>8} {'exit':>5}  verdict"
    )
    print(f"\nmodern routes: {style}")
    print(header)
    print("-" * len(header))
    report: list[dict[str, object]] = []
    for row in rows:
        if row.argv is None:
            print(f"{row.label:<24} {row.note}")
            report.append({"command": row.label, "skipped": row.note})
            continue
        median = row.median
        assert median is not None
        added = median - bare if row.target and bare is not None else None
        verdict = "reference"
        if added is not None:
            verdict = "met" if added <= limit else "NOT met"
        exits = ",".join(map(str, sorted(row.exit_codes)))
        target = f"<= {limit:g} s" if row.target else "-"
        print(
            f"{row.label:<24} {_seconds(median):>8} {_seconds(min(row.times)):>8} "
            f"{_seconds(max(row.times)):>8} {_seconds(added):>8} {target:>8} {exits:>5}  "
            f"{verdict}"
        )
        report.append(
            {
                "command": row.label,
                "argv": row.argv[1:],
                "median_s": median,
                "runs_s": row.times,
                "first_s": row.first_s,
                "added_s": added,
                "exit_codes": sorted(row.exit_codes),
                "output_lines": row.output_lines,
                "target_added_s": limit if row.target else None,
                "verdict": verdict,
                "note": row.note,
            }
        )
    for row in rows:
        if row.argv is not None and row.note:
            print(f"note: {row.label}: {row.note}")
    return report


def write_json(runs: int, styles: list[dict[str, object]]) -> None:
    document = {
        "runs": runs,
        "source": str(SOURCE or REPO),
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
        "styles": styles,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {RESULTS.relative_to(REPO)}")


def measure_style(args: argparse.Namespace, style: str) -> dict[str, object]:
    """Build the app with `style` modern routes, time the rows, print the table."""
    folder = Path(tempfile.mkdtemp(prefix=f"routeshift-cli-speed-{style}-"))
    try:
        clock = time.perf_counter()
        big: LargeApp = build(folder, routes=args.routes, ported=args.ported, modern_style=style)
        print(f"built in {time.perf_counter() - clock:.1f} s: {big.describe()}", flush=True)
        rows = rows_for(sys.executable, folder)
        measure(rows, folder, args.runs)
        report = print_table(style, rows)
        return {
            "modern_style": style,
            "app": big.describe(),
            "rules": len(big.routes),
            "route_methods": big.route_methods,
            "results": report,
        }
    finally:
        if args.keep:
            print(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


def benchmark(args: argparse.Namespace) -> None:
    global SOURCE
    SOURCE = args.source.resolve() if args.source is not None else None
    if SOURCE is not None and not (SOURCE / "routeshift" / "__init__.py").is_file():
        raise BenchError(f"--source {SOURCE}: no routeshift package there")
    styles = [measure_style(args, style) for style in args.styles]
    write_json(args.runs, styles)


def _styles(text: str) -> list[str]:
    styles = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [style for style in styles if style not in MODERN_STYLES]
    if unknown or not styles:
        raise argparse.ArgumentTypeError(f"choose from {', '.join(MODERN_STYLES)}")
    return styles


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Time routeshift's read-only commands.")
    parser.add_argument("--routes", type=_positive, default=5000, help="legacy rules (5000)")
    parser.add_argument("--ported", type=float, default=0.3, help="share ported (0.3)")
    parser.add_argument("--runs", type=_positive, default=3, help="measured runs (3)")
    parser.add_argument(
        "--styles",
        type=_styles,
        default=list(DEFAULT_STYLES),
        help="how the modern app's routes are built, comma-separated "
        f"({','.join(DEFAULT_STYLES)}; also apiroute; see bench/large_app.py)",
    )
    parser.add_argument(
        "--source",
        type=Path,
        default=None,
        help="a checkout whose routeshift the commands import (PYTHONPATH), e.g. a "
        "`git worktree` of an older commit, to compare",
    )
    parser.add_argument("--keep", action="store_true", help="keep the generated folder")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    return run_benchmark(lambda: benchmark(args))


if __name__ == "__main__":
    use_repo_venv()
    sys.exit(main())
