"""The CI gate: everything that is wrong (or merely worth knowing) about a migration.

Pure: `check_migration` takes the loaded registry, the apps, the endpoints that have
case files and the latest contract verifications, and returns findings; the CLI reads
the files and sets the exit code.

    error    fails the gate: a route missing from the registry, an entry whose route is
             gone (not retired), a route past legacy with no modern handler or no case
             file, and every problem `registry.check_routes` finds
    warning  fails only with --strict: a ported route whose latest contract run failed
             or that was never run, a retired entry still listed
    info     never fails: a legacy route that is ported and proven, ready to promote

One module: every check is a method of `_Gate`, which indexes the registry and the apps
once for all of them, and Finding with its codes and formats is what they return; split
by check, each would rebuild those indexes or take them as arguments.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Set
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from routeshift.errors import Problem
from routeshift.registry.fit import check_routes, handler_path
from routeshift.registry.model import Entry, Registry, State
from routeshift.registry.readiness import Lack, Readiness, missing_handlers, readiness
from routeshift.registry.source import Loc, describe, line_of
from routeshift.routes import LegacyRoute
from routeshift.store.records import ShadowResult

if TYPE_CHECKING:
    from routeshift.apps.pair import Apps
    from routeshift.store.records import ShadowSummary, Verification

__all__ = [
    "Code",
    "Finding",
    "Level",
    "check_migration",
    "fails",
    "findings_json",
    "format_findings",
    "summary",
]


class Level(enum.StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


class Code(enum.StrEnum):
    """What kind of finding; stable names for `--format json` consumers."""

    UNREGISTERED = "unregistered"
    VANISHED = "vanished"
    NO_HANDLER = "no-handler"
    NO_CASES = "no-cases"
    REGISTRY = "registry"
    UNVERIFIED = "unverified"
    CONTRACT_FAILING = "contract-failing"
    RETIRED = "retired"
    READY = "ready"
    SHADOW_DIFFERS = "shadow-differs"
    SHADOW_MATCHES = "shadow-matches"


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing the gate reports: where (file:line, else the Flask endpoint), what, and
    how to fix it (for a note: what to do next)."""

    level: Level
    code: Code
    where: str
    message: str
    fix: str

    def __str__(self) -> str:
        label = "Next" if self.level is Level.INFO else "Fix"
        return (
            f"{self.where}: {self.level.value}: {_sentence(self.message)} "
            f"{label}: {_sentence(self.fix)}"
        )

    def __repr__(self) -> str:
        return f"Finding({self.level.value}, {self.code.value}, {self.where!r})"

    def as_dict(self) -> dict[str, str]:
        return {
            "level": self.level.value,
            "code": self.code.value,
            "where": self.where,
            "message": self.message,
            "fix": self.fix,
        }


def check_migration(
    registry: Registry,
    apps: Apps,
    case_endpoints: Set[str],
    verifications: Mapping[str, Verification],
    shadow: Mapping[str, ShadowSummary] | None = None,
) -> list[Finding]:
    """Every finding, errors first, each level in the order of the registry file.

    `shadow`: the shadow runs per endpoint (Store.shadow_summaries()); a route in shadow
    whose runs differed is a warning, one whose runs all matched a note."""
    gate = _Gate(registry, apps, case_endpoints, verifications, shadow or {})
    found = gate.entries() + gate.unregistered() + gate.registry_problems()
    rank = {Level.ERROR: 0, Level.WARNING: 1, Level.INFO: 2}
    found.sort(key=lambda item: (rank[item[1].level], item[0]))
    return [finding for _, finding in found]


def fails(findings: Iterable[Finding], strict: bool = False) -> bool:
    """Whether the gate fails: on an error, or with `strict` on a warning too."""
    failing = {Level.ERROR, Level.WARNING} if strict else {Level.ERROR}
    return any(finding.level in failing for finding in findings)


def summary(findings: list[Finding], strict: bool = False) -> str:
    counts = {level: sum(f.level is level for f in findings) for level in Level}
    parts = [
        _count(counts[Level.ERROR], "error"),
        _count(counts[Level.WARNING], "warning"),
        _count(counts[Level.INFO], "note"),
    ]
    verdict = "check failed" if fails(findings, strict) else "check passed"
    tail = ""
    if counts[Level.WARNING]:
        tail = " (--strict: warnings fail)" if strict else " (warnings fail only with --strict)"
    return f"{verdict}: {', '.join(parts)}{tail}."


def format_findings(findings: list[Finding], strict: bool = False) -> str:
    """One line per finding, then the summary line."""
    return "\n".join([*map(str, findings), summary(findings, strict)])


def findings_json(findings: list[Finding], strict: bool = False) -> dict[str, object]:
    counts = {level.value: sum(f.level is level for f in findings) for level in Level}
    return {
        "ok": not fails(findings, strict),
        "strict": strict,
        "counts": counts,
        "findings": [finding.as_dict() for finding in findings],
    }


# --- the checks ----------------------------------------------------------------------

_Found = tuple[float, Finding]  # (sort position in the registry file, finding)
_AFTER_FILE = float(1 << 40)  # findings with no line come after the file's, in app order


#: how a finding names the shadow runs of each failed result
_FAILED_WORDS = {
    ShadowResult.MISMATCH: "mismatched",
    ShadowResult.ERROR: "failed on modern",
    ShadowResult.TIMEOUT: "timed out",
}


class _Gate:
    def __init__(
        self,
        registry: Registry,
        apps: Apps,
        case_endpoints: Set[str],
        verifications: Mapping[str, Verification],
        shadow: Mapping[str, ShadowSummary],
    ) -> None:
        self.registry = registry
        self.apps = apps
        self.cases = case_endpoints
        self.verifications = verifications
        self.shadow = shadow
        self.by_endpoint: dict[str, list[LegacyRoute]] = {}
        self.by_rule: dict[tuple[str, str], LegacyRoute] = {}
        for route in apps.legacy_routes:
            self.by_endpoint.setdefault(route.endpoint, []).append(route)
            self.by_rule.setdefault((route.endpoint, route.rule), route)
        # where check_routes' problems that a finding here says better stand
        self.replaced: set[tuple[str | int, ...]] = set()
        self.contracts = Path(registry.settings.contracts_dir)
        self.marks = registry.marks

    # -- helpers

    def where(self, loc: Loc) -> tuple[int, str]:
        line = line_of(self.marks, loc)
        return line, f"{self.registry.path}:{line}"

    def found(self, level: Level, code: Code, loc: Loc, message: str, fix: str) -> _Found:
        line, where = self.where(loc)
        return line, Finding(level, code, where, message, fix)

    def modern_path(self, entry: Entry, route: LegacyRoute) -> str:
        return handler_path(entry, route)

    def missing_handlers(self, entry: Entry, route: LegacyRoute) -> tuple[str, ...]:
        """Methods of the entry the modern app has no handler for."""
        return missing_handlers(self.modern_path(entry, route), entry.methods, self.apps.handlers)

    def readiness(self, entry: Entry, route: LegacyRoute, state: State) -> Readiness:
        """Whether the entry's port may take `state` (routeshift.registry.readiness)."""
        return readiness(
            state,
            self.modern_path(entry, route),
            entry.methods,
            self.apps.handlers,
            has_cases=entry.endpoint in self.cases,
            run=self.verifications.get(entry.endpoint),
        )

    # -- entry by entry

    def entries(self) -> list[_Found]:
        found: list[_Found] = []
        shadow_seen: set[str] = set()
        proof_seen: set[str] = set()
        ready: dict[str, list[tuple[int, Entry]]] = {}
        not_ready: set[str] = set()
        for index, entry in enumerate(self.registry.routes):
            here: Loc = ("routes", index)
            label = f"{describe(here)} ({entry.endpoint})"
            if entry.retired:
                found.append(self.retired(here, label, entry))
                continue
            if entry.endpoint not in self.by_endpoint:
                found.append(self.vanished(index, label, entry))
                continue
            route = self.by_rule.get((entry.endpoint, entry.rule))
            if route is None:
                continue  # a drifted rule: check_routes says so
            if entry.state is State.LEGACY:
                if self.readiness(entry, route, State.MODERN).ready:
                    ready.setdefault(entry.endpoint, []).append((index, entry))
                elif self.missing_handlers(entry, route):
                    not_ready.add(entry.endpoint)
                continue
            missing = self.missing_handlers(entry, route)
            if missing:
                found.append(self.no_handler(index, label, entry, route, missing))
            # once per endpoint each: what shadow runs said, and (shadow serves no client
            # from modern) the contract proof of canary and modern
            if entry.state is State.SHADOW:
                if entry.endpoint not in shadow_seen:
                    shadow_seen.add(entry.endpoint)
                    found.extend(self.shadow_runs(here, label, entry))
            elif entry.endpoint not in proof_seen:
                proof_seen.add(entry.endpoint)
                found.extend(
                    self.proof(here, label, entry, self.readiness(entry, route, entry.state))
                )
        for endpoint, entries in ready.items():
            found.extend(self.ready(endpoint, entries, every=endpoint not in not_ready))
        return found

    def retired(self, here: Loc, label: str, entry: Entry) -> _Found:
        legacy = self.registry.model.legacy_app
        if entry.endpoint in self.by_endpoint:
            return self.found(
                Level.WARNING,
                Code.RETIRED,
                here + ("retired",),
                f"{label} is marked retired, but {legacy} still has endpoint {entry.endpoint!r}",
                f"remove `retired: true` if the route is alive, or remove its view from {legacy}",
            )
        if entry.state is State.MODERN:  # the end of a migration: the port serves it
            return self.found(
                Level.INFO,
                Code.RETIRED,
                here,
                f"{label} is retired: {legacy} no longer has its view; the port serves it, "
                f"and the gateway keeps its rule for legacy's url_for({entry.endpoint!r})",
                "keep the entry while legacy code builds its URL; delete it after",
            )
        return self.found(
            Level.WARNING,
            Code.RETIRED,
            here,
            f"{label} is retired: {legacy} no longer has it, but the registry still lists it",
            "delete the entry once nobody needs the record",
        )

    def vanished(self, index: int, label: str, entry: Entry) -> _Found:
        self.replaced.add(("routes", index, "endpoint"))
        legacy = self.registry.model.legacy_app
        return self.found(
            Level.ERROR,
            Code.VANISHED,
            ("routes", index, "endpoint"),
            f"{label}: endpoint {entry.endpoint!r} is no longer a route of {legacy}",
            "if the view was removed on purpose, `routeshift sync` marks the entry retired "
            "(or delete the entry); if it was renamed, fix the endpoint",
        )

    def no_handler(
        self, index: int, label: str, entry: Entry, route: LegacyRoute, missing: tuple[str, ...]
    ) -> _Found:
        self.replaced.add(("routes", index, "state"))
        path = self.modern_path(entry, route)
        return self.found(
            Level.ERROR,
            Code.NO_HANDLER,
            ("routes", index, "state"),
            f"{label}: state is {entry.state.value} but {self.registry.model.modern_app} has "
            f"no handler for {', '.join(missing)} {path}",
            f"port it (`routeshift scaffold {entry.endpoint}` writes a start), set modern_path "
            f"if the handler lives at another path, or `routeshift rollback {entry.endpoint}`",
        )

    def shadow_runs(self, here: Loc, label: str, entry: Entry) -> list[_Found]:
        """What live traffic said of a route in shadow."""
        endpoint = entry.endpoint
        runs = self.shadow.get(endpoint)
        if runs is None or runs.runs == 0:
            return []
        failures = runs.failures()
        if not failures:
            return [
                self.found(
                    Level.INFO,
                    Code.SHADOW_MATCHES,
                    here + ("state",),
                    f"{label}: all {runs.runs} shadow runs matched legacy",
                    f"`routeshift promote {endpoint} --to canary --percent 5` lets a share "
                    "of the users have the port",
                )
            ]
        parts = [f"{count} {_FAILED_WORDS[result]}" for result, count in failures]
        latest = runs.latest_mismatch
        where = ""
        if latest is not None:
            pointers = ", ".join(str(d.get("where")) for d in latest.differences[:3])
            where = f"; latest {latest.method} {latest.path}: {pointers}" if pointers else ""
        return [
            self.found(
                Level.WARNING,
                Code.SHADOW_DIFFERS,
                here + ("state",),
                f"{label}: of {runs.runs} shadow runs, {', '.join(parts)}{where}",
                f"`routeshift diffs --route {endpoint}` shows them; fix the port, or declare "
                "an intended difference with ignore or accept in its entry",
            )
        ]

    def proof(self, here: Loc, label: str, entry: Entry, ready: Readiness) -> list[_Found]:
        """Case file and latest contract run of an endpoint past legacy."""
        endpoint = entry.endpoint
        if Lack.NO_CASES in ready.lacks:
            case_file = self.registry.folder / self.contracts / f"{endpoint}.yaml"
            return [
                self.found(
                    Level.ERROR,
                    Code.NO_CASES,
                    here + ("state",),
                    f"{label}: state is {entry.state.value} but there are no contract cases "
                    f"({case_file} does not exist)",
                    f"write {case_file} with the requests that prove the port, then run "
                    f"`routeshift contract --route {endpoint}`",
                )
            ]
        verification = self.verifications.get(endpoint)
        if verification is None or Lack.NEVER_RUN in ready.lacks:
            return [
                self.found(
                    Level.WARNING,
                    Code.UNVERIFIED,
                    here + ("state",),
                    f"{label}: state is {entry.state.value} but its contract cases have "
                    "never been run",
                    f"run `routeshift contract --route {endpoint}`",
                )
            ]
        if Lack.RUN_FAILED not in ready.lacks:
            return []
        return [
            self.found(
                Level.WARNING,
                Code.CONTRACT_FAILING,
                here + ("state",),
                f"{label}: state is {entry.state.value} but its latest contract run "
                f"({verification.run_at:%Y-%m-%d %H:%M} UTC) failed {verification.failed} of "
                f"{verification.passed + verification.failed} cases",
                f"`routeshift contract --route {endpoint}` shows the differences; fix the "
                f"port, or `routeshift rollback {endpoint}`",
            )
        ]

    def ready(self, endpoint: str, entries: list[tuple[int, Entry]], every: bool) -> list[_Found]:
        """Legacy entries ready for modern: a handler for every method, passing cases."""
        verification = self.verifications[endpoint]
        message = (
            f"ready to promote: {endpoint} is ported and its contract cases pass "
            f"({verification.passed} of {verification.passed} in the latest run)"
        )
        if every:
            index, _ = entries[0]
            fix = f"`routeshift promote {endpoint} --to modern`"
            return [self.found(Level.INFO, Code.READY, ("routes", index), message, fix)]
        return [
            self.found(
                Level.INFO,
                Code.READY,
                ("routes", index),
                f"{message}; {', '.join(entry.methods)} {entry.rule} is ready",
                " and ".join(
                    f"`routeshift promote {endpoint} --method {method} --to modern`"
                    for method in entry.methods
                ),
            )
            for index, entry in entries
        ]

    # -- the app against the registry

    def unregistered(self) -> list[_Found]:
        listed = {
            (entry.endpoint, entry.rule, method)
            for entry in self.registry.routes
            for method in entry.methods
        }
        legacy = self.registry.model.legacy_app
        found: list[_Found] = []
        for position, route in enumerate(self.apps.legacy_routes):
            if not route.is_counted:
                continue
            missing = sorted(
                m for m in route.methods if (route.endpoint, route.rule, m) not in listed
            )
            if not missing:
                continue
            finding = Finding(
                Level.ERROR,
                Code.UNREGISTERED,
                route.endpoint,
                f"{', '.join(missing)} {route.rule} ({route.endpoint}) is a route of {legacy} "
                f"but not in {self.registry.path}",
                "`routeshift sync` adds it as legacy (or add the entry by hand)",
            )
            found.append((_AFTER_FILE + position, finding))
        return found

    def registry_problems(self) -> list[_Found]:
        """check_routes' problems, less those an entry finding above already says."""
        found: list[_Found] = []
        problems = check_routes(self.registry, self.apps.legacy_routes, self.apps.modern_routes)
        for problem in problems:
            if problem.loc in self.replaced:
                continue
            found.append((problem.line, _registry_finding(problem)))
        return found


def _registry_finding(problem: Problem) -> Finding:
    where = f"{problem.file}:{problem.line}" if problem.line else problem.file
    return Finding(
        Level.ERROR,
        Code.REGISTRY,
        where,
        problem.message,
        "make the entry match the apps (`routeshift routes` lists their rules, methods and "
        "handlers)",
    )


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "?", "!")) else text + "."


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")
