"""routeshift scaffold: write the starting point of the port of one legacy route."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from routeshift.cli.common import load_with_apps, registry_option
from routeshift.errors import RouteshiftError, ScaffoldExists, display_path
from routeshift.scaffold.plan import Scaffold, plan_scaffold, write_files

__all__ = [
    "format_report",
    "scaffold",
]


@click.command()
@registry_option
@click.argument("endpoint")
@click.option("--method", metavar="M", help="Only this method of the rule (default: each).")
@click.option("--rule", metavar="RULE", help="The rule, when the endpoint has several.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Write the module here (default: routers/<endpoint, . as _>.py in the modern "
    "app's package, or beside its module when it has no routers/ folder).",
)
@click.option(
    "--sample",
    metavar="PATH",
    help="Send this request path to legacy for the response model (besides the cases; "
    "default without cases: the rule's example path, e.g. /users/1).",
)
@click.option(
    "--header",
    "headers",
    multiple=True,
    metavar="NAME:VALUE",
    help="A header for the sample and example requests, e.g. 'Authorization: Bearer T' "
    "(repeatable).",
)
@click.option("--force", is_flag=True, help="Overwrite the module if it exists.")
def scaffold(
    registry_option: str | None,
    endpoint: str,
    method: str | None,
    rule: str | None,
    out: Path | None,
    sample: str | None,
    headers: tuple[str, ...],
    force: bool,
) -> None:
    """Write a FastAPI handler stub for ENDPOINT, with its response model inferred from
    legacy's real answers to the route's contract cases (or to --sample PATH, or to the
    rule's example path), sent inside the contracts' state hook (routeshift_state of
    their conftest.py); and the route's case file when it has none. Never overwrites a
    file without --force.

    Exit 0 written, 1 a file exists (use --force), 2 bad input.
    """
    registry, apps = load_with_apps(registry_option)
    try:
        planned = plan_scaffold(
            registry,
            apps,
            endpoint,
            method=method,
            rule=rule,
            out=out,
            sample=sample,
            headers=_headers(headers),
        )
    except RouteshiftError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    try:
        write_files(planned.files, force=force)
    except ScaffoldExists as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    except OSError as exc:
        click.echo(f"error: cannot write {exc.filename}: {exc.strerror}.", err=True)
        sys.exit(2)
    click.echo(format_report(planned, registry_option))


def _headers(given: tuple[str, ...]) -> dict[str, str]:
    headers = {}
    for item in given:
        name, colon, value = item.partition(":")
        if not colon or not name.strip() or " " in name.strip():
            click.echo(
                f"error: --header {item!r}: write NAME:VALUE, e.g. 'X-Token: abc'.", err=True
            )
            sys.exit(2)
        headers[name.strip()] = value.strip()
    return headers


def format_report(planned: Scaffold, registry_option: str | None) -> str:
    """What was written and what to do next."""
    module = display_path(planned.module.path)
    cases = display_path(planned.case_path)
    lines = [f"wrote {module}"]
    lines += [f"  {signature}" for signature in planned.signatures]
    if planned.case_file is not None:
        count = planned.cases_written
        lines.append(
            f"wrote {display_path(planned.case_file.path)} ({count} case{'s' * (count > 1)})"
        )
    elif planned.cases_read:
        lines.append(f"read {planned.cases_read} case(s) of {cases}")
    lines += [f"note: {note}" for note in planned.notes]
    where = f" ({display_path(planned.app_file)})" if planned.app_file else ""
    first, second = planned.include_lines
    registry = f" --registry {registry_option}" if registry_option else ""
    lines += [
        "next:",
        f"  1. port the view: fill in {module} (each `raise NotImplementedError` is a TODO)",
        f"  2. include the router in the app{where}:",
        f"         {first}",
        f"         {second}",
        f"  3. add a case for every answer of the route to {cases}, then:",
        f"         routeshift contract --route {planned.endpoint}{registry}",
    ]
    return "\n".join(lines)
