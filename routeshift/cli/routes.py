"""routeshift routes: every legacy route with its state and its modern handler."""

from __future__ import annotations

import json
import sys

import click

from routeshift.cli.common import load_with_apps, registry_option
from routeshift.registry.fit import check_routes
from routeshift.track.report.listing import format_table, route_rows

__all__ = [
    "routes",
]


@click.command()
@registry_option
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)
def routes(registry_option: str | None, fmt: str) -> None:
    """Every legacy route with its state and whether the modern app has a handler."""
    registry, apps = load_with_apps(registry_option)
    rows = route_rows(registry, apps)
    problems = check_routes(registry, apps.legacy_routes, apps.modern_routes)
    if fmt == "json":
        click.echo(json.dumps([row.as_dict() for row in rows], indent=2))
    else:
        click.echo(format_table(rows))
    for problem in problems:
        click.echo(f"problem: {problem}", err=True)
    sys.exit(1 if problems else 0)
