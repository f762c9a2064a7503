"""Progress of a migration, from the registry and the apps: pure functions and their
formats. The CLI and the admin pages print what these return.

The unit of progress is an (entry, method) pair the legacy app has: HEAD, OPTIONS and
`static` are not counted; pairs the registry does not list are counted as `unregistered`
and shown apart, so 100 % cannot hide a missing route. A route (endpoint, rule) is modern
when all its methods are; a modern method is verified when its endpoint's latest contract
run passed. `build_progress` gathers the figures, `status_document` is the one JSON schema
of `status --format json` and `/_routeshift/status.json`, and `format_status_*` return
text (table, markdown, html) for the caller to print.

One module: the records (Tally, MethodProgress, RouteProgress, BlueprintProgress,
Progress) and `build_progress`, which fills them, are the model, and `status_document`
only puts their `as_dict`s together; the JSON schema lives in the records, so moving the
document out would split it in two.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from routeshift._asgi import IMPLICIT_METHODS
from routeshift.registry.fit import handler_path
from routeshift.registry.model import Entry, Registry, State
from routeshift.registry.readiness import readiness
from routeshift.routes import LegacyRoute, ModernRoute, handler_index

if TYPE_CHECKING:
    from routeshift.store.records import ShadowSummary, Verification
    from routeshift.track.history import History

__all__ = [
    "SCHEMA",
    "STATES",
    "UNREGISTERED",
    "BlueprintProgress",
    "MethodProgress",
    "Progress",
    "RouteProgress",
    "Tally",
    "Traffic",
    "build_progress",
    "entry_index",
    "percent",
    "status_document",
]


SCHEMA = "routeshift.status/1"
UNREGISTERED = "unregistered"
#: every state a route method can be in, least advanced first
STATES: tuple[str, ...] = (UNREGISTERED, *(state.value for state in State))


@dataclass(frozen=True, slots=True)
class Traffic:
    """Requests one endpoint served through the gateway, by side (from its metrics)."""

    legacy: int = 0
    modern: int = 0

    @property
    def modern_share(self) -> float | None:
        """Percent served by modern; None before the first request."""
        total = self.legacy + self.modern
        return round(100 * self.modern / total, 1) if total else None


def entry_index(registry: Registry) -> dict[tuple[str, str, str], Entry]:
    """The registry's entries by (endpoint, rule, method)."""
    entries: dict[tuple[str, str, str], Entry] = {}
    for entry in registry.routes:
        for method in entry.methods:
            entries[(entry.endpoint, entry.rule, method)] = entry
    return entries


# --- the progress model -------------------------------------------------------------


def percent(part: int, whole: int) -> float | None:
    """part/whole in percent to one decimal, None for 0/0; never 100 before the end, nor
    0 once something has moved (4,999 of 5,000 is 99.9, not 100.0)."""
    if whole == 0:
        return None
    value = round(100 * part / whole, 1)
    if part < whole:
        value = min(value, 99.9)
    if part > 0:
        value = max(value, 0.1)
    return value


@dataclass(frozen=True, slots=True)
class Tally:
    """Route methods (or routes) by state, and how many of the modern ones are verified."""

    unregistered: int = 0
    legacy: int = 0
    shadow: int = 0
    canary: int = 0
    modern: int = 0
    verified: int = 0

    @classmethod
    def count(cls, items: Iterable[tuple[str, bool]]) -> Tally:
        """From (state, verified) pairs."""
        states: Counter[str] = Counter()
        verified = 0
        for state, ok in items:
            states[state] += 1
            verified += ok
        return cls(**{state: states[state] for state in STATES}, verified=verified)

    def of(self, state: str) -> int:
        count: int = getattr(self, state)
        return count

    @property
    def total(self) -> int:
        return sum(self.of(state) for state in STATES)

    @property
    def modern_percent(self) -> float | None:
        return percent(self.modern, self.total)

    @property
    def verified_percent(self) -> float | None:
        """Of the modern ones."""
        return percent(self.verified, self.modern)

    def as_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            **{state: self.of(state) for state in STATES},
            "verified": self.verified,
            "modern_percent": self.modern_percent,
            "verified_percent": self.verified_percent,
        }

    def __repr__(self) -> str:
        counts = ", ".join(f"{state}={self.of(state)}" for state in STATES if self.of(state))
        return f"Tally({counts or 'empty'}, verified={self.verified})"


@dataclass(frozen=True, slots=True)
class MethodProgress:
    """One method of a route: its state, its modern handler, whether it is verified."""

    method: str
    state: str
    modern_handler: bool
    verified: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "state": self.state,
            "modern_handler": self.modern_handler,
            "verified": self.verified,
        }


@dataclass(frozen=True, slots=True)
class RouteProgress:
    """One rule of the legacy app (endpoint, rule) with its counted methods."""

    endpoint: str
    rule: str
    fastapi_path: str
    methods: tuple[MethodProgress, ...]
    owner: str | None
    has_cases: bool
    verification: Verification | None
    percent: float | None = None  # canary: the share of cohorts sent to modern
    sample: float | None = None  # shadow: the share of requests run on modern too
    shadow: ShadowSummary | None = None  # the store's shadow runs of the endpoint
    traffic: Traffic | None = None  # requests served by side (the gateway's metrics)
    #: not modern yet, and its port may go modern now (routeshift.registry.readiness)
    ready: bool = False

    @property
    def blueprint(self) -> str:
        return self.endpoint.rpartition(".")[0]

    @property
    def state(self) -> str:
        """The least advanced state of its methods: a route is as far as its slowest one."""
        return min((m.state for m in self.methods), key=STATES.index)

    @property
    def mixed(self) -> bool:
        return len({m.state for m in self.methods}) > 1

    @property
    def modern(self) -> bool:
        return all(m.state == State.MODERN for m in self.methods)

    @property
    def verified(self) -> bool:
        return all(m.verified for m in self.methods)

    @property
    def modern_handler(self) -> bool:
        return all(m.modern_handler for m in self.methods)

    def as_dict(self) -> dict[str, Any]:
        run = self.verification
        return {
            "endpoint": self.endpoint,
            "rule": self.rule,
            "blueprint": self.blueprint,
            "fastapi_path": self.fastapi_path,
            "state": self.state,
            "owner": self.owner,
            "modern_handler": self.modern_handler,
            "has_cases": self.has_cases,
            "verified": self.verified,
            "verification": None
            if run is None
            else {
                "passed": run.passed,
                "failed": run.failed,
                "ok": run.ok,
                "run_at": run.run_at.isoformat(),
            },
            "methods": [m.as_dict() for m in self.methods],
            "percent": self.percent,
            "sample": self.sample,
            "shadow": None if self.shadow is None else _shadow_dict(self.shadow),
            "traffic": None if self.traffic is None else _traffic_dict(self.traffic),
            "ready": self.ready,
        }

    def __repr__(self) -> str:
        methods = ", ".join(f"{m.method} {m.state}" for m in self.methods)
        return f"RouteProgress({self.endpoint!r}, {self.rule!r}, [{methods}])"


@dataclass(frozen=True, slots=True)
class BlueprintProgress:
    """The routes of one blueprint ('' for the app's own views) and their tallies."""

    name: str
    routes: tuple[RouteProgress, ...]
    by_method: Tally
    by_route: Tally

    @property
    def label(self) -> str:
        return self.name or "(app)"

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "by_method": self.by_method.as_dict(),
            "by_route": self.by_route.as_dict(),
        }


@dataclass(frozen=True, slots=True)
class Progress:
    """Where the whole migration stands, by blueprint."""

    legacy_app: str
    modern_app: str
    generated_at: dt.datetime
    blueprints: tuple[BlueprintProgress, ...]
    by_method: Tally
    by_route: Tally
    #: the migration over time (routeshift.track.history); None where nobody asked
    history: History | None = None
    #: the registry's retired entries (their views removed; not counted in the totals)
    retired: tuple[Entry, ...] = ()

    @property
    def routes(self) -> tuple[RouteProgress, ...]:
        return tuple(route for blueprint in self.blueprints for route in blueprint.routes)

    def __repr__(self) -> str:
        return f"Progress({self.by_method!r}, blueprints={len(self.blueprints)})"


def build_progress(
    registry: Registry,
    legacy: Sequence[LegacyRoute],
    modern: Sequence[ModernRoute],
    *,
    verifications: Mapping[str, Verification],
    case_endpoints: Collection[str],
    generated_at: dt.datetime,
    shadow: Mapping[str, ShadowSummary] | None = None,
    traffic: Mapping[str, Traffic] | None = None,
    history: History | None = None,
) -> Progress:
    """The progress of the legacy app's routes as the registry places them.

    `verifications` is the latest contract result per endpoint (Store.verifications());
    `case_endpoints` the endpoints that have a case file; `shadow` the shadow runs per
    endpoint (Store.shadow_summaries()); `traffic` the requests per endpoint and side
    (only the gateway knows it: None elsewhere); `history` the migration over time
    (routeshift.track.history.load_history).
    """
    entries = entry_index(registry)
    handlers = handler_index(modern)
    groups: dict[str, list[RouteProgress]] = {}
    for route in legacy:
        row = _route_progress(
            route, entries, handlers, verifications, case_endpoints, shadow or {}, traffic
        )
        if row is not None:
            groups.setdefault(row.blueprint, []).append(row)
    blueprints = tuple(
        BlueprintProgress(name, tuple(rows), _by_method(rows), _by_route(rows))
        for name, rows in sorted(groups.items())
    )
    every = [row for blueprint in blueprints for row in blueprint.routes]
    return Progress(
        legacy_app=registry.model.legacy_app,
        modern_app=registry.model.modern_app,
        generated_at=generated_at,
        blueprints=blueprints,
        by_method=_by_method(every),
        by_route=_by_route(every),
        history=history,
        retired=tuple(entry for entry in registry.routes if entry.retired),
    )


def _route_progress(
    route: LegacyRoute,
    entries: Mapping[tuple[str, str, str], Entry],
    handlers: frozenset[tuple[str, str]],
    verifications: Mapping[str, Verification],
    case_endpoints: Collection[str],
    shadow: Mapping[str, ShadowSummary],
    traffic: Mapping[str, Traffic] | None,
) -> RouteProgress | None:
    methods = sorted(route.methods - IMPLICIT_METHODS)
    if not route.is_counted or not methods:
        return None
    run = verifications.get(route.endpoint)
    found = [entries.get((route.endpoint, route.rule, method)) for method in methods]
    listed = [entry for entry in found if entry is not None]
    default_path = next((e.modern_path for e in listed if e.modern_path), route.fastapi_path)
    rows = []
    for method, entry in zip(methods, found, strict=True):
        state = entry.state.value if entry else UNREGISTERED
        path = handler_path(entry, route)
        rows.append(
            MethodProgress(
                method=method,
                state=state,
                modern_handler=(path, method) in handlers,
                verified=state == State.MODERN and run is not None and run.ok,
            )
        )
    not_modern = [
        (method, entry)
        for method, entry in zip(methods, found, strict=True)
        if entry is not None and entry.state is not State.MODERN
    ]
    ready = (
        bool(not_modern)
        and len(listed) == len(found)
        and all(
            readiness(
                State.MODERN,
                handler_path(entry, route),
                [method],
                handlers,
                has_cases=route.endpoint in case_endpoints,
                run=run,
            ).ready
            for method, entry in not_modern
        )
    )
    owners = sorted({entry.owner for entry in listed if entry.owner})
    canary = [e.percent for e in listed if e.state is State.CANARY and e.percent is not None]
    shadowed = [e.sample for e in listed if e.state is State.SHADOW]
    return RouteProgress(
        endpoint=route.endpoint,
        rule=route.rule,
        fastapi_path=default_path,
        methods=tuple(rows),
        owner=", ".join(owners) or None,
        has_cases=route.endpoint in case_endpoints,
        verification=run,
        percent=min(canary) if canary else None,
        sample=min(shadowed) if shadowed else None,
        shadow=shadow.get(route.endpoint),
        traffic=None if traffic is None else traffic.get(route.endpoint, Traffic()),
        ready=ready,
    )


def _by_method(rows: Iterable[RouteProgress]) -> Tally:
    return Tally.count((m.state, m.verified) for row in rows for m in row.methods)


def _by_route(rows: Iterable[RouteProgress]) -> Tally:
    return Tally.count((row.state, row.verified) for row in rows)


def _shadow_dict(summary: ShadowSummary) -> dict[str, Any]:
    latest = summary.latest_mismatch
    return {
        "runs": summary.runs,
        "match": summary.match,
        "mismatch": summary.mismatch,
        "error": summary.error,
        "timeout": summary.timeout,
        "match_rate": summary.match_rate,
        "legacy_ms_p50": summary.legacy_ms_p50,
        "modern_ms_p50": summary.modern_ms_p50,
        "latest_mismatch": None
        if latest is None
        else {
            "id": latest.id,
            "at": latest.at.isoformat(),
            "method": latest.method,
            "path": latest.path,
            "legacy_status": latest.legacy_status,
            "modern_status": latest.modern_status,
            "differences": list(latest.differences),
        },
    }


def _traffic_dict(traffic: Traffic) -> dict[str, Any]:
    return {
        "legacy": traffic.legacy,
        "modern": traffic.modern,
        "modern_share": traffic.modern_share,
    }


def status_document(progress: Progress) -> dict[str, Any]:
    """The JSON of `status --format json` and `/_routeshift/status.json` (one schema)."""
    return {
        "schema": SCHEMA,
        "generated_at": progress.generated_at.isoformat(),
        "legacy_app": progress.legacy_app,
        "modern_app": progress.modern_app,
        "totals": {
            "by_method": progress.by_method.as_dict(),
            "by_route": progress.by_route.as_dict(),
        },
        "blueprints": [blueprint.as_dict() for blueprint in progress.blueprints],
        "routes": [route.as_dict() for route in progress.routes],
        "history": None if progress.history is None else progress.history.as_dict(),
        "retired": [
            {
                "endpoint": entry.endpoint,
                "rule": entry.rule,
                "methods": list(entry.methods),
                "state": str(entry.state),
            }
            for entry in progress.retired
        ],
    }
