"""The terminal table of `routeshift status` (rich)."""

from __future__ import annotations

import io

from rich import box
from rich.console import Console
from rich.table import Table

from routeshift.track.report.progress import UNREGISTERED, Progress, RouteProgress
from routeshift.track.report.words import (
    fraction,
    generated_text,
    handler_word,
    has_shadow_runs,
    headline,
    in_flight,
    latest_mismatch_text,
    pct,
    retired_text,
    run_text,
    shadow_text,
    state_text,
    verified_cell,
    verified_word,
    yes,
)

__all__ = [
    "RICH_ROUTE_LIMIT",
    "format_status_table",
]

# --- table ----------------------------------------------------------------------------


def format_status_table(
    progress: Progress, *, color: bool = False, width: int | None = None
) -> str:
    """Two tables, blueprints then routes, as text (ANSI styles only with `color`).

    Without a `width` (a terminal's), nothing is wrapped: each line is as long as it needs.
    """
    console = Console(
        file=io.StringIO(),
        width=width or _UNWRAPPED,
        force_terminal=color,
        no_color=not color,
        markup=False,
        emoji=False,
        highlight=False,
    )
    console.print(f"{progress.legacy_app} -> {progress.modern_app}, {generated_text(progress)}")
    console.print("; ".join(headline(progress)) + ".", style="bold")
    moving = in_flight(progress)
    if moving:
        console.print(moving + ".")
    retired = retired_text(progress)
    if retired:
        console.print(retired + ".")
    console.print(_blueprint_table(progress))
    routes = sum(len(blueprint.routes) for blueprint in progress.blueprints)
    if routes <= RICH_ROUTE_LIMIT:
        console.print(_route_table(progress))
    output = console.file
    assert isinstance(output, io.StringIO)
    text = "\n".join(line.rstrip() for line in output.getvalue().rstrip().splitlines()) + "\n"
    if routes > RICH_ROUTE_LIMIT:
        text += "\n" + _plain_route_table(progress)
    return text


#: rich lays a table out cell by cell (seconds for thousands of rows): past this many
#: routes the route table is plain aligned columns
RICH_ROUTE_LIMIT = 400

_ROUTE_COLUMNS = ("ROUTE", "RULE", "STATE", "OWNER", "HANDLER", "CASES", "VERIFIED", "LAST RUN")
#: added when the store has shadow runs
_SHADOW_COLUMNS = ("SHADOW MATCH", "LATEST MISMATCH")


def _shadow_cells(route: RouteProgress) -> tuple[str, str]:
    return shadow_text(route), latest_mismatch_text(route)


def _plain_route_table(progress: Progress) -> str:
    shadow = has_shadow_runs(progress)
    header = _ROUTE_COLUMNS + (_SHADOW_COLUMNS if shadow else ())
    rows = [
        (
            route.endpoint,
            route.rule,
            state_text(route, ", "),
            route.owner or "-",
            handler_word(route),
            yes(route.has_cases),
            verified_word(route),
            run_text(route.verification),
            *(_shadow_cells(route) if shadow else ()),
        )
        for blueprint in progress.blueprints
        for route in blueprint.routes
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    ]
    return "\n".join(lines) + "\n"


_UNWRAPPED = 10_000


def _blueprint_table(progress: Progress) -> Table:
    table = Table(box=box.SIMPLE_HEAD, show_footer=True, header_style="bold")
    table.add_column("BLUEPRINT", footer="all")
    for title, total in (
        ("METHODS MODERN", progress.by_method),
        ("ROUTES MODERN", progress.by_route),
    ):
        table.add_column(title, footer=fraction(total.modern, total.total), justify="right")
        table.add_column("", footer=pct(total.modern_percent), justify="right")
    table.add_column("VERIFIED", footer=verified_cell(progress.by_method), justify="right")
    table.add_column("UNREGISTERED", footer=str(progress.by_method.unregistered), justify="right")
    for blueprint in progress.blueprints:
        methods, routes = blueprint.by_method, blueprint.by_route
        table.add_row(
            blueprint.label,
            fraction(methods.modern, methods.total),
            pct(methods.modern_percent),
            fraction(routes.modern, routes.total),
            pct(routes.modern_percent),
            verified_cell(methods),
            str(methods.unregistered),
        )
    return table


def _route_table(progress: Progress) -> Table:
    table = Table(box=box.SIMPLE_HEAD, header_style="bold")
    for title in ("ROUTE", "RULE"):
        table.add_column(title, no_wrap=True)
    table.add_column("STATE", min_width=len(UNREGISTERED))
    table.add_column("OWNER", overflow="fold")
    for title in ("HANDLER", "CASES", "VERIFIED", "LAST RUN (UTC)"):
        table.add_column(title)
    shadow = has_shadow_runs(progress)
    if shadow:
        table.add_column("SHADOW MATCH", justify="right")
        table.add_column("LATEST MISMATCH", overflow="fold")
    for blueprint in progress.blueprints:
        for index, route in enumerate(blueprint.routes):
            table.add_row(
                route.endpoint,
                route.rule,
                state_text(route, "\n"),
                route.owner or "-",
                handler_word(route),
                yes(route.has_cases),
                verified_word(route),
                run_text(route.verification),
                *(_shadow_cells(route) if shadow else ()),
                end_section=index == len(blueprint.routes) - 1,
                style="red" if route.state == UNREGISTERED else None,
            )
    return table
