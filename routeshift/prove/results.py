"""What a contract run found: `CaseResult` for a case sent to both sides (the comparison,
the noise, both replies, what each side raised) and `Misrouted` for a case the gateway
would never send to its endpoint. Both say how the store records them (`outcome`) and
how a person reads them (`report`, `as_dict`). Pure: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from routeshift.compare import Comparison, Difference, GuardBreach, Reply
from routeshift.errors import Problem
from routeshift.prove.cases import Case
from routeshift.raised import Raised
from routeshift.store.records import CaseOutcome

__all__ = ["CaseResult", "Misrouted"]


@dataclass(frozen=True, slots=True)
class CaseResult:
    """What one case found: the comparison, the noise, and both replies."""

    case: Case
    comparison: Comparison
    legacy: Reply
    modern: Reply
    noise: tuple[Difference, ...] = ()
    #: what each app raised while it answered (its 500), if it did
    legacy_raised: Raised | None = None
    modern_raised: Raised | None = None

    @property
    def passed(self) -> bool:
        """Equal answers, and a port that did not raise, unless the legacy view raised
        the same exception (a port kept bug for bug, its 500 the legacy app's own, as
        routeshift.compat's error envelope renders it)."""
        return self.comparison.equal and (self.modern_raised is None or self.bug_for_bug)

    @property
    def bug_for_bug(self) -> bool:
        """Both sides raised an exception of the same type."""
        legacy, modern = self.legacy_raised, self.modern_raised
        return legacy is not None and modern is not None and legacy.type == modern.type

    @property
    def breach(self) -> GuardBreach | None:
        """The request the legacy view refused and the port let through, if so: the
        first difference, never waived by the route's ignore or accept."""
        found = (d for d in self.comparison.differences if isinstance(d, GuardBreach))
        return next(found, None)

    @property
    def raised(self) -> tuple[tuple[str, Raised], ...]:
        """(side, what it raised) for each side that raised."""
        both = (("legacy", self.legacy_raised), ("modern", self.modern_raised))
        return tuple((side, raised) for side, raised in both if raised is not None)

    @property
    def suggested_ignore(self) -> tuple[str, ...]:
        """Ignore rules that would silence the noise found (list indices as `*`)."""
        found: list[str] = []
        for difference in self.noise:
            where = difference.where
            if where.startswith("/"):
                pattern = re.sub(r"/\d+(?=/|$)", "/*", where)
            elif where.startswith("header:"):
                pattern = where
            else:
                continue
            if pattern not in found:
                found.append(pattern)
        return tuple(found)

    def outcome(self) -> CaseOutcome:
        """What the store records of this case."""
        case = self.case
        differences = tuple(str(d) for d in self.comparison.differences)
        if self.modern_raised is not None and not self.bug_for_bug:
            differences += (f"the modern app raised {self.modern_raised.headline}",)
        return CaseOutcome(case.endpoint, case.id, case.method, case.path, self.passed, differences)

    def report(self) -> str:
        case = self.case
        verdict = "ok" if self.passed else f"{len(self.comparison.differences)} difference(s)"
        if self.comparison.equal and not self.passed:
            verdict = "the modern app raised"
        if self.breach is not None:
            verdict += ", one a missing guard"
        lines = [f"{case.test_id}: {case.method} {case.path} ({case.where}): {verdict}"]
        lines += [f"  {difference}" for difference in self.comparison.differences]
        lines += self.raised_lines("  ")
        if self.comparison.accepted:
            lines.append("  declared changes (accept in the registry):")
            for difference, declared in self.comparison.accepted:
                why = f" -- {declared.why}" if declared.why else ""
                lines.append(f"    {difference}{why}")
        if self.noise:
            lines.append("  noise (differs between two legacy runs, not counted):")
            lines += [f"    {difference}" for difference in self.noise]
            rules = ", ".join(self.suggested_ignore)
            if rules:
                lines.append(f"  to silence it, add to the route's entry: ignore: [{rules}]")
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.case.test_id,
            "endpoint": self.case.endpoint,
            "case": self.case.id,
            "method": self.case.method,
            "path": self.case.path,
            "where": self.case.where,
            "passed": self.passed,
            "differences": [_difference_dict(d) for d in self.comparison.differences],
            "accepted": [dict(_difference_dict(d), why=a.why) for d, a in self.comparison.accepted],
            "noise": [_difference_dict(d) for d in self.noise],
            "suggested_ignore": list(self.suggested_ignore),
            "status": {"legacy": self.legacy.status, "modern": self.modern.status},
            "raised": {side: raised.as_dict() for side, raised in self.raised},
        }

    def raised_lines(self, indent: str) -> list[str]:
        """What each side raised, with the last frames of its traceback."""
        lines = []
        for side, raised in self.raised:
            lines.append(f"{indent}the {side} app raised {raised.headline}")
            lines += [f"{indent}  at {frame}" for frame in raised.frames]
        return lines


def _difference_dict(difference: Difference) -> dict[str, Any]:
    def plain(value: Any) -> Any:
        if isinstance(value, frozenset | set):
            return sorted(value)
        return None if repr(value) == "(missing)" else value

    return {
        "where": difference.where,
        "legacy": plain(difference.legacy),
        "modern": plain(difference.modern),
        "text": str(difference),
    }


@dataclass(frozen=True, slots=True)
class Misrouted:
    """A case the gateway would never send to its endpoint: an error of its case file."""

    case: Case
    problem: Problem

    def outcome(self) -> CaseOutcome:
        """Recorded as a failed case, so the endpoint is not verified until it is fixed."""
        case = self.case
        why = (f"case file: {self.problem.message}",)
        return CaseOutcome(case.endpoint, case.id, case.method, case.path, False, why)
