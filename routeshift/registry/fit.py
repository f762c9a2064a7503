"""The registry held against the apps: endpoints, rules, methods and modern handlers.

`check_routes` lists every problem, each at its file:line; `handler_path` is the one
place that says at which FastAPI path a route's port is looked for.
"""

from __future__ import annotations

from collections.abc import Sequence

from routeshift.errors import Problem, did_you_mean
from routeshift.registry.model import Entry, Registry, State
from routeshift.registry.readiness import missing_handlers
from routeshift.registry.source import describe
from routeshift.routes import LegacyRoute, ModernRoute, handler_index

__all__ = ["check_routes", "handler_path"]


def handler_path(entry: Entry | None, route: LegacyRoute) -> str:
    """The FastAPI path of a route's port: the entry's modern_path, else the rule's
    translation (`LegacyRoute.fastapi_path`)."""
    return (entry.modern_path if entry is not None else None) or route.fastapi_path


def check_routes(
    registry: Registry,
    legacy: Sequence[LegacyRoute],
    modern: Sequence[ModernRoute],
) -> list[Problem]:
    """Hold the registry against the apps: endpoints, rules, methods and modern handlers."""
    problems: list[Problem] = []
    by_endpoint: dict[str, list[LegacyRoute]] = {}
    for route in legacy:
        by_endpoint.setdefault(route.endpoint, []).append(route)
    handlers = handler_index(modern)
    seen: dict[tuple[str, str, str], int] = {}
    legacy_name = registry.model.legacy_app
    for index, entry in enumerate(registry.routes):
        here = ("routes", index)
        label = f"{describe(here)} ({entry.endpoint})"
        for method in entry.methods:
            key = (entry.endpoint, entry.rule, method)
            if key in seen:
                problems.append(
                    registry.problem(
                        here + ("methods",),
                        f"{label}: {method} {entry.rule} is listed twice (first at line "
                        f"{seen[key]}). Keep one entry per (endpoint, rule, method).",
                    )
                )
            else:
                seen[key] = registry.line(here)
        if entry.retired:
            continue
        rules = by_endpoint.get(entry.endpoint)
        if rules is None:
            problems.append(
                registry.problem(
                    here + ("endpoint",),
                    f"{label}: endpoint {entry.endpoint!r} is not a route of {legacy_name}."
                    f"{did_you_mean(entry.endpoint, by_endpoint)} If the view was removed on "
                    "purpose, run `routeshift sync` to mark the entry retired.",
                )
            )
            continue
        match = next((r for r in rules if r.rule == entry.rule), None)
        if match is None:
            known = ", ".join(repr(r.rule) for r in rules)
            problems.append(
                registry.problem(
                    here + ("rule",),
                    f"{label}: {entry.endpoint} has no rule {entry.rule!r} in {legacy_name} "
                    f"(its rules: {known}). The app changed: fix the rule, or run "
                    "`routeshift sync`.",
                )
            )
            continue
        extra = [m for m in entry.methods if m not in match.methods]
        if extra:
            problems.append(
                registry.problem(
                    here + ("methods",),
                    f"{label}: {entry.rule} does not serve {', '.join(extra)} in {legacy_name} "
                    f"(it serves {', '.join(sorted(match.methods))}).",
                )
            )
        if entry.state is State.LEGACY:
            continue
        problems.extend(_check_handler(registry, index, entry, match, handlers))
    return problems


def _check_handler(
    registry: Registry,
    index: int,
    entry: Entry,
    route: LegacyRoute,
    handlers: frozenset[tuple[str, str]],
) -> list[Problem]:
    here = ("routes", index)
    label = f"{describe(here)} ({entry.endpoint})"
    path = handler_path(entry, route)
    problems = []
    for method in missing_handlers(path, entry.methods, handlers):
        near = did_you_mean(path, sorted({p for p, m in handlers if m == method}))
        problems.append(
            registry.problem(
                here + ("state",),
                f"{label}: state is {entry.state.value} but {registry.model.modern_app} has no "
                f"handler for {method} {path}.{near} Port the route first (routeshift scaffold "
                f"{entry.endpoint}), set modern_path, or set the state back to legacy.",
            )
        )
    return problems
