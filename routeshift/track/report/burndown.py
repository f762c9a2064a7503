"""The burn-down of the html pages: route methods per state over time, as inline SVG.

Stacked steps, legacy at the bottom and modern on top: each registry version holds until
the next one, the last until the page's moment, so the top of canary is the work that
remains and it burns down as routes move. No script, no external asset: it draws in the
page's colours (routeshift.track.report.style) and reads in a screen reader by its label.
"""

from __future__ import annotations

import datetime as dt
import html
from typing import TYPE_CHECKING

from routeshift.track.history import COUNTED, History, Point

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

__all__ = [
    "format_burndown",
]

#: the drawing's size in SVG units (it scales to the page's width)
WIDTH, HEIGHT = 1000, 220
_LEFT, _RIGHT, _TOP, _BOTTOM = 44, 12, 10, 26
_WORDS = {
    "git": "from the registry's git history",
    "store": "from the gateway's daily snapshots",
}


def format_burndown(history: History | None, now: dt.datetime) -> str:
    """The "Over time" section of the page (an explanation when there are no points)."""
    heading = '<section class="history"><h2>Over time <small>{}</small></h2>'
    if history is None or not history.points:
        return (
            heading.format("route methods per state")
            + '<p class="empty">No history yet: the registry is not in a git repository, '
            "and no gateway has kept a daily snapshot of it yet.</p></section>"
        )
    points = history.points
    words = f"{_WORDS.get(history.source or '', '')}, {len(points)} point"
    words += "s" if len(points) != 1 else ""
    words += f" since {points[0].at:%Y-%m-%d}"
    if history.skipped:
        reasons = "; ".join(f"{s.commit or '?'}: {s.reason}"[:200] for s in history.skipped[:5])
        words += (
            f' &middot; <span title="{_esc(reasons)}">{len(history.skipped)} version'
            f"{'s' if len(history.skipped) != 1 else ''} skipped</span>"
        )
    return heading.format(words) + _svg(points, now) + _legend() + "</section>"


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def _svg(points: Sequence[Point], now: dt.datetime) -> str:
    start = points[0].at
    end = max(now, points[-1].at, start + dt.timedelta(days=1))
    # the state now gets a step of its own width, past the last moment
    edge = end + max((end - start) / 16, dt.timedelta(hours=6))
    span = (edge - start).total_seconds()
    top = max(max(point.total for point in points), 1)
    inner_w, inner_h = WIDTH - _LEFT - _RIGHT, HEIGHT - _TOP - _BOTTOM

    def x(moment: dt.datetime) -> float:
        return _LEFT + inner_w * (moment - start).total_seconds() / span

    def y(count: float) -> float:
        return _TOP + inner_h * (1 - count / top)

    edges = [x(point.at) for point in points] + [x(edge)]
    layers = []
    below = [0] * len(points)
    for state in COUNTED:
        above = [low + point.tally.of(state) for low, point in zip(below, points, strict=True)]
        if any(point.tally.of(state) for point in points):
            layers.append(
                f'<path class="{state}" d="{_band(edges, below, above, y)}">'
                f"<title>{state}</title></path>"
            )
        below = above
    grid = []
    for count in sorted({0, (top + 1) // 2, top}):
        grid.append(
            f'<line x1="{_LEFT}" x2="{WIDTH - _RIGHT}" y1="{y(count):.1f}" y2="{y(count):.1f}"/>'
            f'<text x="{_LEFT - 6}" y="{y(count) + 4:.1f}" text-anchor="end">{count}</text>'
        )
    labels = [
        f'<text x="{x(moment):.1f}" y="{HEIGHT - 8}" text-anchor="{anchor}">'
        f"{moment:%Y-%m-%d}</text>"
        for moment, anchor in _ticks(start, end)
    ]
    last = points[-1]
    label = f"Route methods per state from {start:%Y-%m-%d} to {end:%Y-%m-%d}: now " + ", ".join(
        f"{last.tally.of(state)} {state}" for state in COUNTED
    )
    return (
        f'<svg class="burn" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{_esc(label)}" preserveAspectRatio="none">'
        f'<g class="grid">{"".join(grid)}</g>{"".join(layers)}'
        f'<g class="axis">{"".join(labels)}</g></svg>'
    )


def _band(
    edges: Sequence[float],
    below: Sequence[int],
    above: Sequence[int],
    y: Callable[[float], float],
) -> str:
    """The outline of one state's steps: along its top left to right, back along its
    bottom (each version's count holds from its edge to the next one)."""
    forward = [f"M{edges[0]:.1f},{y(below[0]):.1f}"]
    for i, count in enumerate(above):
        forward.append(f"L{edges[i]:.1f},{y(count):.1f}L{edges[i + 1]:.1f},{y(count):.1f}")
    back = []
    for i in range(len(below) - 1, -1, -1):
        back.append(f"L{edges[i + 1]:.1f},{y(below[i]):.1f}L{edges[i]:.1f},{y(below[i]):.1f}")
    return "".join(forward + back) + "Z"


def _ticks(start: dt.datetime, end: dt.datetime) -> list[tuple[dt.datetime, str]]:
    """The first and last day, and the middle one when they are a week apart or more."""
    ticks = [(start, "start")]
    if end - start >= dt.timedelta(days=7):
        ticks.append((start + (end - start) / 2, "middle"))
    ticks.append((end, "end"))
    return ticks


def _legend() -> str:
    items = "".join(f'<li><i class="{state}"></i>{state}</li>' for state in reversed(COUNTED))
    return f'<ul class="legend">{items}</ul>'
