"""The listing of `routeshift routes`: one row per (legacy rule, method), static left
out, with its registry state (or unregistered), its FastAPI path and whether the modern
app has the handler; and the plain text table of those rows. Flat, where progress groups
the same pairs by route and blueprint and counts them.
"""

from __future__ import annotations

from dataclasses import dataclass

from routeshift.apps.pair import Apps
from routeshift.registry.fit import handler_path
from routeshift.registry.model import Registry, State
from routeshift.track.report.progress import UNREGISTERED, entry_index

__all__ = [
    "RouteRow",
    "format_table",
    "route_rows",
]


@dataclass(frozen=True, slots=True)
class RouteRow:
    """One (legacy rule, method) as the registry and the apps see it."""

    endpoint: str
    method: str
    rule: str
    fastapi_path: str
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
    entries = entry_index(registry)
    rows = []
    for route in apps.legacy_routes:
        if not route.is_counted:
            continue
        for method in sorted(route.methods):
            found = entries.get((route.endpoint, route.rule, method))
            path = handler_path(found, route)
            rows.append(
                RouteRow(
                    endpoint=route.endpoint,
                    method=method,
                    rule=route.rule,
                    fastapi_path=path,
                    state=found.state.value if found else UNREGISTERED,
                    modern_handler=(path, method) in apps.handlers,
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
            r.fastapi_path,
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
