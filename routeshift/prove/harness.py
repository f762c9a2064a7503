"""The differential harness: send a case to the legacy and the modern app, compare.

Both apps run in-process: the Flask app through httpx's WSGI transport, the FastAPI app
through httpx's ASGI transport on an event loop the harness keeps (with the app's
lifespan started once). A state hook gives each side the same starting state (for
example a fresh copy of a seeded database), so a case that writes never sees the other
side's writes. Safe requests (GET, HEAD, OPTIONS) go to legacy twice: fields that differ
between two legacy runs are noise, reported apart with the ignore rule to add.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RoutingException

from routeshift.apps.lifespan import ChildLifespan
from routeshift.apps.pair import Apps, load_apps
from routeshift.compare import Comparison, Difference, Reply, Rules, compare
from routeshift.errors import ContractMismatch
from routeshift.prove.cases import Case
from routeshift.registry.load import load_registry, registry_path
from routeshift.registry.model import Entry, Registry
from routeshift.store.records import CaseOutcome

__all__ = [
    "BASE_URL",
    "CaseResult",
    "ContractClient",
    "Harness",
    "StateHook",
    "no_state",
]

#: state(side) -> a context manager around one request to that side ("legacy"/"modern").
StateHook = Callable[[str], AbstractContextManager[object]]

BASE_URL = "http://localhost"


def no_state(side: str) -> AbstractContextManager[object]:
    """The default state hook: both sides share whatever state they have."""
    return nullcontext()


@dataclass(frozen=True, slots=True)
class CaseResult:
    """What one case found: the comparison, the noise, and both replies."""

    case: Case
    comparison: Comparison
    legacy: Reply
    modern: Reply
    noise: tuple[Difference, ...] = ()

    @property
    def passed(self) -> bool:
        return self.comparison.equal

    @property
    def suggested_ignore(self) -> tuple[str, ...]:
        """Ignore rules that would silence the noise found (list indices as `*`)."""
        found: list[str] = []
        for difference in self.noise:
            if difference.where.startswith("/"):
                pattern = re.sub(r"/\d+(?=/|$)", "/*", difference.where)
                if pattern not in found:
                    found.append(pattern)
        return tuple(found)

    def outcome(self) -> CaseOutcome:
        """What the store records of this case."""
        case = self.case
        differences = tuple(str(d) for d in self.comparison.differences)
        return CaseOutcome(case.endpoint, case.id, case.method, case.path, self.passed, differences)

    def report(self) -> str:
        case = self.case
        verdict = "ok" if self.passed else f"{len(self.comparison.differences)} difference(s)"
        lines = [f"{case.test_id}: {case.method} {case.path} ({case.where}): {verdict}"]
        lines += [f"  {difference}" for difference in self.comparison.differences]
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
        }


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


class Harness:
    """Sends cases to both apps in-process and compares the replies."""

    def __init__(self, registry: Registry, apps: Apps, *, find_noise: bool = True) -> None:
        self.registry = registry
        self.apps = apps
        self.find_noise = find_noise
        self._legacy = httpx.Client(
            transport=httpx.WSGITransport(
                app=_pep3333_path(apps.legacy), raise_app_exceptions=False
            ),
            base_url=BASE_URL,
            follow_redirects=False,
        )
        self._runner = asyncio.Runner()
        self._lifespan_state: dict[str, Any] = {}
        self._lifespan: ChildLifespan | None = None
        self._modern: httpx.AsyncClient | None = None

    @classmethod
    def from_registry(cls, path: str | Path | None = None, **options: Any) -> Harness:
        registry = load_registry(registry_path(path))
        return cls(registry, load_apps(registry), **options)

    # --- the two sides ---------------------------------------------------------------

    def _start_modern(self) -> httpx.AsyncClient:
        if self._modern is None:
            scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": self._lifespan_state}
            self._lifespan = ChildLifespan(self.apps.modern, scope)
            self._runner.run(self._lifespan.startup())
            self._modern = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=self._with_state, raise_app_exceptions=False),
                base_url=BASE_URL,
                follow_redirects=False,
            )
        return self._modern

    async def _with_state(self, scope: Any, receive: Any, send: Any) -> None:
        scope["state"] = dict(self._lifespan_state)
        await self.apps.modern(scope, receive, send)

    def send_legacy(self, case: Case) -> Reply:
        return _reply(self._legacy.request(case.method, case.path, **_request_options(case)))

    def send_modern(self, case: Case) -> Reply:
        client = self._start_modern()
        response = self._runner.run(
            client.request(case.method, case.path, **_request_options(case))
        )
        return _reply(response)

    def close(self) -> None:
        self._legacy.close()
        if self._modern is not None:
            self._runner.run(self._modern.aclose())
        if self._lifespan is not None:
            self._runner.run(self._lifespan.shutdown())
        self._runner.close()

    # --- comparing ------------------------------------------------------------------

    def entry_for(self, case: Case) -> Entry | None:
        """The registry entry of the case's endpoint, rule and method, if there is one.

        The rule is the one the legacy app's own url_map matches for the case's method
        and path; when the path matches no rule, the first entry of the endpoint that
        serves the method (or else its first entry) is taken.
        """
        candidates = [e for e in self.registry.routes if e.endpoint == case.endpoint]
        method = "GET" if case.method == "HEAD" else case.method
        matched = self.legacy_match(method, case.path)
        if matched is not None:
            rule = matched[1]
            for entry in candidates:
                if entry.rule == rule and method in entry.methods:
                    return entry
        for entry in candidates:
            if method in entry.methods:
                return entry
        return candidates[0] if candidates else None

    def legacy_match(self, method: str, path: str) -> tuple[str, str] | None:
        """(endpoint, rule) the legacy app's url_map sends `method path` to, or None."""
        url_map = getattr(self.apps.legacy, "url_map", None)
        if url_map is None:
            return None
        try:
            matched, _ = url_map.bind("localhost").match(
                path.partition("?")[0], method.upper(), return_rule=True
            )
        except (HTTPException, RoutingException):  # NotFound, MethodNotAllowed, redirects
            return None
        return str(matched.endpoint), str(matched.rule)

    def rules_for(self, case: Case) -> Rules:
        entry = self.entry_for(case)
        if entry is None:
            return Rules.build(ignore=case.ignore)
        return entry.rules().with_ignore(case.ignore)

    def run(self, case: Case, state: StateHook = no_state) -> CaseResult:
        rules = self.rules_for(case)
        with state("legacy"):
            legacy = self.send_legacy(case)
        noise: tuple[Difference, ...] = ()
        if case.safe and self.find_noise:
            with state("legacy"):
                again = self.send_legacy(case)
            # what the route already ignores is not news: only unexpected noise is reported
            noise = compare(legacy, again, Rules(rules.ignore, rules.normalise)).differences
        with state("modern"):
            modern = self.send_modern(case)
        comparison = compare(legacy, modern, rules)
        if noise:
            comparison = _without_noise(comparison, noise)
        return CaseResult(case, comparison, legacy, modern, noise)

    def run_all(self, cases: Iterable[Case], state: StateHook = no_state) -> list[CaseResult]:
        return [self.run(case, state) for case in cases]


def _without_noise(comparison: Comparison, noise: tuple[Difference, ...]) -> Comparison:
    noisy = {difference.where for difference in noise}
    return Comparison(
        tuple(d for d in comparison.differences if d.where not in noisy),
        comparison.accepted,
        comparison.ignored + tuple(d for d in comparison.differences if d.where in noisy),
    )


def _pep3333_path(app: Any) -> Callable[..., Any]:
    """httpx's WSGITransport puts the decoded path into PATH_INFO as text; a WSGI server
    gives UTF-8 bytes decoded as latin-1 (PEP 3333), as the gateway's bridge does."""

    def wsgi(environ: dict[str, Any], start_response: Any) -> Any:
        environ["PATH_INFO"] = environ["PATH_INFO"].encode("utf-8").decode("latin-1")
        return app(environ, start_response)

    return wsgi


def _request_options(case: Case) -> dict[str, Any]:
    options: dict[str, Any] = {"params": dict(case.query), "headers": dict(case.headers)}
    if case.has_json:
        options["json"] = case.json
    elif case.form is not None:
        options["data"] = dict(case.form)
    elif case.body is not None:
        options["content"] = case.body.encode("utf-8")
    return options


def _reply(response: httpx.Response) -> Reply:
    headers = tuple((name.lower(), value) for name, value in response.headers.multi_items())
    return Reply(response.status_code, headers, response.content)


@dataclass
class ContractClient:
    """The `contract` fixture: check cases written in Python against both sides."""

    harness: Harness
    state: StateHook = no_state
    results: list[CaseResult] = field(default_factory=list)

    def run(self, case: Case) -> CaseResult:
        result = self.harness.run(case, self.state)
        self.results.append(result)
        return result

    def assert_case(self, case: Case) -> CaseResult:
        result = self.run(case)
        if not result.passed:
            raise ContractMismatch(result)
        return result

    def check(
        self, method: str, path: str, *, endpoint: str | None = None, **options: Any
    ) -> CaseResult:
        """Send one request to both sides; raise ContractMismatch on a difference.

        `endpoint` (for the route's ignore/accept rules) defaults to the legacy app's
        own match of the path.
        """
        from routeshift.prove.cases import case as make_case

        return self.assert_case(
            make_case(endpoint or self._endpoint(method, path), method, path, **options)
        )

    def _endpoint(self, method: str, path: str) -> str:
        matched = self.harness.legacy_match(method, path)
        return matched[0] if matched is not None else "unmatched"
