"""Words and figures the formats share."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from routeshift.registry.model import State
from routeshift.track.report.progress import Progress, RouteProgress, Tally

if TYPE_CHECKING:
    from routeshift.store.records import Verification

__all__ = [
    "fraction",
    "generated_text",
    "handler_word",
    "has_shadow_runs",
    "headline",
    "in_flight",
    "latest_mismatch_text",
    "pct",
    "retired_text",
    "run_text",
    "shadow_text",
    "state_text",
    "state_word",
    "verified_cell",
    "verified_word",
    "yes",
]


# --- words shared by the formats ----------------------------------------------------


def pct(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:.1f}".removesuffix(".0") + "%"


def headline(progress: Progress) -> list[str]:
    methods, routes = progress.by_method, progress.by_route
    return [
        f"{methods.modern} of {methods.total} route methods modern ({pct(methods.modern_percent)})",
        f"{routes.modern} of {routes.total} routes modern ({pct(routes.modern_percent)})",
        f"{methods.verified} of {methods.modern} modern methods verified "
        f"({pct(methods.verified_percent)})",
        f"{methods.unregistered} unregistered",
    ]


def state_text(route: RouteProgress, sep: str = ", ") -> str:
    """The route's state ('canary 5%', 'shadow (sample 10%)'), or each method's when
    they differ ('GET canary 5%, POST legacy')."""
    if not route.mixed:
        return state_word(route, route.state)
    return sep.join(f"{m.method} {state_word(route, m.state)}" for m in route.methods)


def state_word(route: RouteProgress, state: str) -> str:
    """A state with its figure: canary with its percent, shadow with its sample (when
    not every request is shadowed)."""
    if state == State.CANARY and route.percent is not None:
        return f"canary {pct(route.percent)}"
    if state == State.SHADOW and route.sample is not None and route.sample < 1:
        return f"shadow (sample {pct(round(100 * route.sample, 1))})"
    return state


def in_flight(progress: Progress) -> str | None:
    """'2 route methods in shadow, 1 in canary', or None when none is in either."""
    counts = [(n, state) for state in ("shadow", "canary") if (n := progress.by_method.of(state))]
    if not counts:
        return None
    (first, state), *rest = counts
    noun = "route method" if first == 1 else "route methods"
    return ", ".join([f"{first} {noun} in {state}", *(f"{n} in {s}" for n, s in rest)])


def retired_text(progress: Progress) -> str | None:
    """'1 route method retired (its view removed; not counted): auth.logout POST /logout',
    or None when the registry has no retired entry."""
    if not progress.retired:
        return None
    count = sum(len(entry.methods) for entry in progress.retired)
    noun = "route method" if count == 1 else "route methods"
    names = ", ".join(
        f"{entry.endpoint} {', '.join(entry.methods)} {entry.rule}" for entry in progress.retired
    )
    return f"{count} {noun} retired (the view removed; not counted): {names}"


def has_shadow_runs(progress: Progress) -> bool:
    return any(route.shadow is not None for route in progress.routes)


def shadow_text(route: RouteProgress) -> str:
    """'98.5% of 1200' (shadow runs that matched), or '-' for none."""
    summary = route.shadow
    if summary is None or not summary.runs:
        return "-"
    return f"{pct(summary.match_rate)} of {summary.runs}"


def latest_mismatch_text(route: RouteProgress) -> str:
    """'#42 /created_at +1': the latest shadow mismatch (`routeshift diffs` shows it) by
    its first difference, or '-'."""
    latest = route.shadow.latest_mismatch if route.shadow else None
    if latest is None:
        return "-"
    places = [str(d.get("where", "?")) for d in latest.differences] or ["?"]
    more = f" +{len(places) - 1}" if len(places) > 1 else ""
    return f"#{latest.id} {places[0]}{more}"


def run_text(run: Verification | None) -> str:
    """'4/5 passed 2024-05-01 12:00' (UTC), or '-' for no run."""
    if run is None:
        return "-"
    when = run.run_at.astimezone(dt.UTC)
    return f"{run.passed}/{run.passed + run.failed} passed {when:%Y-%m-%d %H:%M}"


def handler_word(route: RouteProgress) -> str:
    """yes, no, or the methods that have one (GET) when only some have."""
    have = [m.method for m in route.methods if m.modern_handler]
    if len(have) == len(route.methods):
        return "yes"
    return " ".join(have) or "no"


def verified_word(route: RouteProgress) -> str:
    """Of its modern methods: yes, failed (the latest run did not pass) or not run; '-'
    when none is modern."""
    modern = [m for m in route.methods if m.state == State.MODERN]
    if not modern:
        return "-"
    if all(m.verified for m in modern):
        return "yes"
    return "not run" if route.verification is None else "failed"


def generated_text(progress: Progress) -> str:
    return f"{progress.generated_at.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC"


def yes(flag: bool) -> str:
    return "yes" if flag else "no"


def fraction(part: int, whole: int) -> str:
    return f"{part}/{whole}"


def verified_cell(tally: Tally) -> str:
    if not tally.modern:
        return "-"
    return f"{tally.verified}/{tally.modern} ({pct(tally.verified_percent)})"
