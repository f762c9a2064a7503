"""Progress of a migration, from the registry and the apps: pure functions and their
formats. The CLI and the admin pages print what these return."""

from __future__ import annotations

from dataclasses import dataclass

from routeshift.gateway import Apps
from routeshift.registry import Entry, Registry, State


@dataclass(frozen=True, slots=True)
class RouteRow:
    """One (legacy rule, method) as the registry and the apps see it."""

    endpoint: str
    method: str
    rule: str
    fastapi_path: str | None
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
    entries: dict[tuple[str, str, str], Entry] = {}
    for entry in registry.routes:
        for method in entry.methods:
            entries[(entry.endpoint, entry.rule, method)] = entry
    rows = []
    for route in apps.legacy_routes:
        if route.is_static:
            continue
        for method in sorted(route.methods):
            found = entries.get((route.endpoint, route.rule, method))
            path = (found.modern_path if found else None) or route.fastapi_path
            rows.append(
                RouteRow(
                    endpoint=route.endpoint,
                    method=method,
                    rule=route.rule,
                    fastapi_path=path,
                    state=found.state.value if found else "unregistered",
                    modern_handler=path is not None and (path, method) in apps.handlers,
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
            r.fastapi_path or "-",
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
