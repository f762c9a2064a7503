"""The `routeshift` command (also `python -m routeshift`). Thin: it loads, calls the
pure functions and sets the exit code (0 ok, 1 a check failed, 2 bad input or usage)."""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from routeshift.cases import case_files, endpoint_of
from routeshift.errors import RouteshiftError
from routeshift.gateway import Apps, load_apps
from routeshift.registry import (
    Entry,
    Registry,
    State,
    check_routes,
    load_registry,
    registry_path,
)


@dataclass(frozen=True, slots=True)
class RouteRow:
    """One (legacy rule, method) as the registry and the apps see it."""

    endpoint: str
    method: str
    rule: str
    fastapi_path: str | None
    state: str
    modern_handler: bool

    def as_dict(self) -> dict[str, object]:
        return {
            "endpoint": self.endpoint,
            "method": self.method,
            "rule": self.rule,
            "fastapi_path": self.fastapi_path,
            "state": self.state,
            "modern_handler": self.modern_handler,
        }


def route_rows(registry: Registry, apps: Apps) -> list[RouteRow]:
    """Every (rule, method) of the legacy app, static left out; unregistered ones say so."""
    entries: dict[tuple[str, str, str], Entry] = {}
    for entry in registry.routes:
        for method in entry.methods:
            entries[(entry.endpoint, entry.rule, method)] = entry
    rows = []
    for route in apps.legacy_routes:
        if route.is_static:
            continue
        for method in sorted(route.methods):
            found = entries.get((route.endpoint, route.rule, method))
            path = (found.modern_path if found else None) or route.fastapi_path
            rows.append(
                RouteRow(
                    endpoint=route.endpoint,
                    method=method,
                    rule=route.rule,
                    fastapi_path=path,
                    state=found.state.value if found else "unregistered",
                    modern_handler=path is not None and (path, method) in apps.handlers,
                )
            )
    return rows


def format_table(rows: list[RouteRow]) -> str:
    header = ("ENDPOINT", "METHOD", "RULE", "FASTAPI PATH", "STATE", "HANDLER")
    lines = [header] + [
        (
            r.endpoint,
            r.method,
            r.rule,
            r.fastapi_path or "-",
            r.state,
            "yes" if r.modern_handler else "no",
        )
        for r in rows
    ]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    text = [
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
        for line in lines
    ]
    modern = sum(r.state == State.MODERN.value for r in rows)
    text.append(f"\n{modern} of {len(rows)} route methods served by modern.")
    return "\n".join(text)


def _load(registry_option: str | None) -> tuple[Registry, Apps]:
    try:
        registry = load_registry(registry_path(registry_option))
        apps = load_apps(registry)
    except RouteshiftError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    return registry, apps


#: --registry PATH, on every command that reads the registry
registry_option = click.option(
    "--registry",
    "registry_option",
    metavar="PATH",
    help="The registry (default: $MIGRATION_STATUS or ./migration_status.yaml).",
)


@click.group()
@click.version_option(package_name="routeshift")
def main() -> None:
    """Move a Flask app to FastAPI one route at a time."""


@main.command()
@registry_option
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)
def routes(registry_option: str | None, fmt: str) -> None:
    """Every legacy route with its state and whether the modern app has a handler."""
    registry, apps = _load(registry_option)
    rows = route_rows(registry, apps)
    problems = check_routes(registry, apps.legacy_routes, apps.modern_routes)
    if fmt == "json":
        click.echo(json.dumps([row.as_dict() for row in rows], indent=2))
    else:
        click.echo(format_table(rows))
    for problem in problems:
        click.echo(f"problem: {problem}", err=True)
    sys.exit(1 if problems else 0)


class _ContractResults:
    """A pytest plugin object that takes the case results at the end of the session."""

    def __init__(self) -> None:
        self.results: list[Any] = []

    def pytest_sessionfinish(self, session: Any) -> None:
        from routeshift.pytest_plugin import RESULTS

        self.results = list(session.config.stash.get(RESULTS, []))


def format_contract_table(results: list[Any]) -> str:
    lines = []
    for result in results:
        mark = "ok  " if result.passed else "FAIL"
        lines.append(f"{mark} {result.case.test_id}  {result.case.method} {result.case.path}")
        if not result.passed:
            lines += [f"       {difference}" for difference in result.comparison.differences]
            lines.append(f"       ({result.case.where})")
        if result.suggested_ignore:
            lines.append(f"       noise: add ignore: [{', '.join(result.suggested_ignore)}]")
    failed = sum(not r.passed for r in results)
    lines.append(f"\n{len(results) - failed} passed, {failed} failed")
    return "\n".join(lines)


@main.command()
@registry_option
@click.option(
    "--route",
    "routes_filter",
    multiple=True,
    metavar="ENDPOINT",
    help="Only the cases of this endpoint (repeatable).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "junit"]),
    default="table",
    show_default=True,
)
def contract(registry_option: str | None, routes_filter: tuple[str, ...], fmt: str) -> None:
    """Run the contract cases: each request to both apps, differences as JSON pointers.

    Runs through pytest with routeshift's plugin, so the conftest.py fixtures of the
    contracts folder (the state hook) apply exactly as under `pytest`. Exit 0 when every
    case passes, 1 on a mismatch, 2 on bad input.
    """
    import pytest

    path = registry_path(registry_option)
    try:
        registry = load_registry(path)
    except RouteshiftError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    folder = registry.folder / registry.settings.contracts_dir
    missing = [r for r in routes_filter if not (folder / f"{r}.yaml").is_file()]
    if not folder.is_dir() or missing:
        what = f"no case file for {', '.join(missing)}" if missing else "no contracts folder"
        click.echo(
            f"error: {what} in {folder}. Write <endpoint>.yaml case files there "
            "(see settings.contracts_dir).",
            err=True,
        )
        sys.exit(2)
    files = [f for f in case_files(folder) if not routes_filter or endpoint_of(f) in routes_filter]
    if not files:
        click.echo(f"error: no case files (<endpoint>.yaml) in {folder}.", err=True)
        sys.exit(2)
    # the case files only: other tests in the folder are pytest's business, not a contract
    args = [
        *map(str, files),
        "--routeshift-registry",
        str(path.resolve()),
        "-q",
        "-p",
        "no:cacheprovider",
        "--assert=plain",
        "--rootdir",
        str(registry.folder.resolve()),
    ]
    if os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD"):
        args += ["-p", "routeshift.pytest_plugin"]
    junit = Path(tempfile.mkdtemp()) / "contract.xml"
    if fmt == "junit":
        args += ["--junitxml", str(junit)]
    collector = _ContractResults()
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        code = pytest.main(args, plugins=[collector])
    results = collector.results
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED) or (
        code == pytest.ExitCode.TESTS_FAILED and not any(not r.passed for r in results)
    ):
        click.echo(output.getvalue(), err=True)
        if code == pytest.ExitCode.NO_TESTS_COLLECTED:
            click.echo(f"error: no contract cases in {folder}.", err=True)
        sys.exit(2 if code != pytest.ExitCode.TESTS_FAILED else 1)
    if fmt == "json":
        failed = sum(not r.passed for r in results)
        summary = {"cases": len(results), "passed": len(results) - failed, "failed": failed}
        click.echo(
            json.dumps({"summary": summary, "cases": [r.as_dict() for r in results]}, indent=2)
        )
    elif fmt == "junit":
        click.echo(junit.read_text(encoding="utf-8"))
    else:
        click.echo(format_contract_table(results))
    sys.exit(0 if code == pytest.ExitCode.OK else 1)
