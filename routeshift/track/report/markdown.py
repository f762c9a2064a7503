"""`routeshift status --format markdown`: a pull request comment."""

from __future__ import annotations

import html

from routeshift.track.report.progress import UNREGISTERED, Progress, RouteProgress
from routeshift.track.report.words import (
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
)

__all__ = [
    "format_status_markdown",
]

# --- markdown -------------------------------------------------------------------------

_MD_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*_[]<>|~&"})


def _md(text: str) -> str:
    """Plain text in a markdown table cell: every markup character escaped."""
    return " ".join(text.split()).translate(_MD_SPECIAL)


def _code(text: str) -> str:
    """A code span in a table cell (a `|` would still end the cell, so it is escaped)."""
    text = " ".join(text.split()).replace("|", "\\|")
    return f"`` {text} ``" if "`" in text else f"`{text}`"


def format_status_markdown(progress: Progress) -> str:
    """A pull-request comment: the headline, blueprints, then a table per blueprint."""
    methods = progress.by_method
    lines = [
        f"### routeshift status: {pct(methods.modern_percent)} modern",
        "",
        " · ".join(f"**{part}**" if i == 0 else part for i, part in enumerate(headline(progress))),
        "",
        f"{_code(progress.legacy_app)} → {_code(progress.modern_app)}, {generated_text(progress)}",
        "",
    ]
    moving = in_flight(progress)
    if moving:
        lines += [moving + ".", ""]
    retired = retired_text(progress)
    if retired:
        lines += [retired + ".", ""]
    lines += [
        "| blueprint | methods modern | routes modern | verified | unregistered |",
        "|---|--:|--:|--:|--:|",
    ]
    for blueprint in progress.blueprints:
        m, r = blueprint.by_method, blueprint.by_route
        lines.append(
            f"| {_md(blueprint.label)} | {m.modern}/{m.total} ({pct(m.modern_percent)}) "
            f"| {r.modern}/{r.total} ({pct(r.modern_percent)}) "
            f"| {verified_cell(m).replace('-', '–')} "
            f"| {m.unregistered} |"
        )
    shadow = has_shadow_runs(progress)
    for blueprint in progress.blueprints:
        m = blueprint.by_method
        summary = html.escape(
            f"{blueprint.label}: {m.modern} of {m.total} methods modern ({pct(m.modern_percent)})"
        )
        lines += [
            "",
            f"<details><summary>{summary}</summary>",
            "",
            "| route | rule | state | owner | handler | cases | verified | last run (UTC) |"
            + (" shadow match | latest mismatch |" if shadow else ""),
            "|---|---|---|---|:-:|:-:|:-:|---|" + ("--:|---|" if shadow else ""),
        ]
        lines += [_markdown_row(route, shadow) for route in blueprint.routes]
        lines += ["", "</details>"]
    return "\n".join(lines) + "\n"


def _markdown_row(route: RouteProgress, shadow: bool = False) -> str:
    state = _md(state_text(route))
    if route.state == UNREGISTERED:
        state = f"**{state}**"
    verified, handler = verified_word(route), handler_word(route)
    cells: tuple[str, ...] = (
        _code(route.endpoint),
        _code(route.rule),
        state,
        _md(route.owner) if route.owner else "–",
        {"yes": "✅", "no": "–"}.get(handler, handler),
        "✅" if route.has_cases else "–",
        {"yes": "✅", "failed": "❌", "-": "–"}.get(verified, verified),
        _md(run_text(route.verification)) if route.verification else "–",
    )
    if shadow:
        latest = latest_mismatch_text(route)
        cells += (
            _md(shadow_text(route)) if route.shadow else "–",
            _code(latest) if latest != "-" else "–",
        )
    return "| " + " | ".join(cells) + " |"
