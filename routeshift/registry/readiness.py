"""Can a route be promoted: one rule over plain facts, shared by the registry check
(routeshift.registry.fit), `routeshift check`, `promote` and the admin pages.

A route's port is ready for a state when

- the modern app has a handler for every method at its FastAPI path, the rule's
  translation or the entry's `modern_path` (every state past legacy);
- for canary and modern, which serve clients from modern, also: the endpoint has
  contract cases and its latest contract run passed (ran cases, none failed).

Shadow serves no client from modern: the handler is enough. Pure: the caller gathers
the facts (the apps' handlers, the case files, the store's latest run).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from routeshift.registry.model import State

__all__ = [
    "Lack",
    "LatestRun",
    "Readiness",
    "missing_handlers",
    "needs_proof",
    "passing",
    "readiness",
]


class Lack(enum.StrEnum):
    """What keeps a route from a state."""

    NO_HANDLER = "no-handler"  # the modern app serves not every method at the path
    NO_CASES = "no-cases"  # no contract case file for the endpoint
    NEVER_RUN = "never-run"  # its cases were never run
    RUN_FAILED = "run-failed"  # the latest run failed a case, or ran none


class LatestRun(Protocol):
    """The latest contract run of an endpoint (the store's Verification is one)."""

    @property
    def passed(self) -> int: ...

    @property
    def failed(self) -> int: ...


@dataclass(frozen=True, slots=True)
class Readiness:
    """Whether a route may take a state, and if not, what it lacks."""

    state: State
    path: str
    missing: tuple[str, ...] = ()  # methods the modern app has no handler for
    lacks: tuple[Lack, ...] = ()

    @property
    def ready(self) -> bool:
        return not self.lacks

    def __repr__(self) -> str:
        lacks = ", ".join(self.lacks) or "ready"
        return f"Readiness({self.state.value}, {self.path!r}: {lacks})"


def needs_proof(state: State) -> bool:
    """Whether `state` serves clients from modern, so needs a passing contract run."""
    return state in (State.CANARY, State.MODERN)


def passing(run: LatestRun) -> bool:
    """Whether a contract run proves a port: it ran cases and failed none."""
    return run.passed > 0 and run.failed == 0


def missing_handlers(
    path: str, methods: Iterable[str], handlers: frozenset[tuple[str, str]]
) -> tuple[str, ...]:
    """The methods with no modern handler at `path`."""
    return tuple(m for m in methods if (path, m) not in handlers)


def readiness(
    state: State,
    path: str,
    methods: Iterable[str],
    handlers: frozenset[tuple[str, str]],
    *,
    has_cases: bool,
    run: LatestRun | None,
) -> Readiness:
    """Whether a route whose port is at `path` may take `state`, from the facts."""
    if state is State.LEGACY:
        return Readiness(state, path)
    lacks: list[Lack] = []
    missing = missing_handlers(path, methods, handlers)
    if missing:
        lacks.append(Lack.NO_HANDLER)
    if needs_proof(state):
        if not has_cases:
            lacks.append(Lack.NO_CASES)
        elif run is None:
            lacks.append(Lack.NEVER_RUN)
        elif not passing(run):
            lacks.append(Lack.RUN_FAILED)
    return Readiness(state, path, missing, tuple(lacks))
