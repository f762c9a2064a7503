"""What the gateway decides for one request: the side, the route, and how the response
is finished (HEAD served as GET, methods merged into Allow, a canary's modern half, a
shadow copy, the route's registry entry). Records only; routeshift.decide.classify
makes them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from routeshift.cohort import Cohort
from routeshift.compare import Rules
from routeshift.registry.model import Entry

if TYPE_CHECKING:
    from routeshift.apps.dispatch import Direct

__all__ = [
    "LEGACY_UNMATCHED",
    "MODERN_ONLY",
    "MODERN_ONLY_DECISION",
    "MODERN_ONLY_HEAD",
    "UNMATCHED",
    "Canary",
    "Decision",
    "RouteKey",
    "Shadow",
    "Side",
]

UNMATCHED = "unmatched"
MODERN_ONLY = "modern-only"


class Side(enum.StrEnum):
    LEGACY = "legacy"
    MODERN = "modern"


@dataclass(frozen=True, slots=True)
class Canary:
    """A canary route: `percent` of its cohorts (by `cohort`) are served by modern, as
    the decision `modern` says."""

    percent: float
    cohort: Cohort
    modern: Decision


@dataclass(frozen=True, slots=True)
class Shadow:
    """A shadow route: legacy answers; a `sample` share also runs on modern, compared."""

    sample: float
    rules: Rules


@dataclass(frozen=True, slots=True)
class Decision:
    """Who serves a request, and as which route.

    `endpoint` is the Flask endpoint, or `modern-only` / `unmatched`. `head_as_get`:
    the modern side serves this HEAD as a GET whose body is dropped (FastAPI routes
    answer HEAD with 405); only a decision for HEAD has it. `extra_allow`: methods the
    modern app serves on this path that the legacy app's Allow header does not know.
    A canary route's decision is legacy with `canary` set; `Classifier.classify` gives
    `canary.modern` instead for the cohorts the percent covers. A shadow route is
    served by legacy and copied to modern (`shadow`). `entry`: the route's registry
    entry, which the modern side gets in `scope["state"]["routeshift_route"]`
    (routeshift.decide.stamp.modern_scope); None for a route the registry does not list
    and for modern-only routes. `direct`: the modern route that serves it, for direct
    dispatch (routeshift.apps.dispatch), bound to the request path's values once the
    classifier matched one. Decisions compare (and hash) without these two.
    """

    side: Side
    endpoint: str
    rule: str | None = None
    head_as_get: bool = False
    extra_allow: frozenset[str] = field(default=frozenset())
    canary: Canary | None = None
    shadow: Shadow | None = None
    entry: Entry | None = field(default=None, compare=False)
    direct: Direct | None = field(default=None, compare=False)

    def __repr__(self) -> str:
        mode = " canary" if self.canary else " shadow" if self.shadow else ""
        return f"Decision({self.side.value}{mode}, {self.endpoint!r})"


LEGACY_UNMATCHED = Decision(Side.LEGACY, UNMATCHED)
MODERN_ONLY_DECISION = Decision(Side.MODERN, MODERN_ONLY)
#: a HEAD that a modern-only route serves as a GET (its route does not list HEAD)
MODERN_ONLY_HEAD = Decision(Side.MODERN, MODERN_ONLY, head_as_get=True)

RouteKey = tuple[str, str, str]  # (endpoint, rule, method)
