"""The `routeshift` command (also `python -m routeshift`). Thin: it loads, calls the
pure functions and sets the exit code (0 ok, 1 a check failed, 2 bad input or usage)."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass

import click

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


@click.group()
@click.version_option(package_name="routeshift")
def main() -> None:
    """Move a Flask app to FastAPI one route at a time."""


@main.command()
@click.option(
    "--registry",
    "registry_option",
    metavar="PATH",
    help="The registry (default: $MIGRATION_STATUS or ./migration_status.yaml).",
)
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
