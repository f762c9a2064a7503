"""routeshift status: progress at a glance, as a table, JSON, markdown or an HTML page."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sys

import click

from routeshift.cli.common import (
    load_with_apps,
    read_store_or_exit,
    registry_option,
    store_figures,
)
from routeshift.prove.cases import case_endpoints
from routeshift.track.history import load_history
from routeshift.track.report.html import format_status_html
from routeshift.track.report.markdown import format_status_markdown
from routeshift.track.report.progress import build_progress, status_document
from routeshift.track.report.table import format_status_table

__all__ = [
    "status",
]


@click.command()
@registry_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "markdown", "html"]),
    default="table",
    show_default=True,
    help="markdown for a pull-request comment, html for a self-contained page.",
)
def status(registry_option: str | None, fmt: str) -> None:
    """Progress at a glance: routes per state, percent modern and verified, by blueprint.

    A route method is verified when it is modern and its endpoint's latest contract run
    (`routeshift contract`) passed. The migration over time (json's `history`, the html
    page's burn-down) comes from the registry's git history, else from the daily
    snapshots a gateway kept in the store. Routes the gateway shadowed show how many of their
    shadow runs matched and their latest mismatch (`routeshift diffs` shows it). Exit 0,
    or 2 on bad input (registry, apps, store).
    """
    registry, apps = load_with_apps(registry_option)
    verifications, shadow, history = read_store_or_exit(
        registry, lambda store: (*store_figures(store), load_history(registry, store))
    )
    progress = build_progress(
        registry,
        apps.legacy_routes,
        apps.modern_routes,
        verifications=verifications,
        case_endpoints=case_endpoints(registry.contracts_dir),
        generated_at=dt.datetime.now(dt.UTC).replace(microsecond=0),
        shadow=shadow,
        history=history,
    )
    if fmt == "json":
        click.echo(json.dumps(status_document(progress), indent=2))
    elif fmt == "markdown":
        click.echo(format_status_markdown(progress), nl=False)
    elif fmt == "html":
        click.echo(format_status_html(progress), nl=False)
    else:
        color = sys.stdout.isatty()
        width = shutil.get_terminal_size().columns if color else None
        click.echo(format_status_table(progress, color=color, width=width), nl=False)
