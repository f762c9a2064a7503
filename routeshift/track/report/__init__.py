"""Progress of a migration: the pure model (`progress`) and its formats (table,
markdown, html). The CLI and the admin pages print what these return."""

from __future__ import annotations

from routeshift.track.report.html import format_status_html
from routeshift.track.report.markdown import format_status_markdown
from routeshift.track.report.progress import (
    SCHEMA,
    STATES,
    UNREGISTERED,
    BlueprintProgress,
    MethodProgress,
    Progress,
    RouteProgress,
    RouteRow,
    Tally,
    build_progress,
    format_table,
    percent,
    route_rows,
    status_document,
)
from routeshift.track.report.table import format_status_table

__all__ = [
    "SCHEMA",
    "STATES",
    "UNREGISTERED",
    "BlueprintProgress",
    "MethodProgress",
    "Progress",
    "RouteProgress",
    "RouteRow",
    "Tally",
    "build_progress",
    "format_status_html",
    "format_status_markdown",
    "format_status_table",
    "format_table",
    "percent",
    "route_rows",
    "status_document",
]
