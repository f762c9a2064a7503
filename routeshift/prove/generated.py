"""Generated cases: requests from routeshift.prove.strategies, sent to both sides.

Only requests that the legacy app's url_map routes to the registry entry are sent (the
gateway classifies with that map). Each goes through `Harness.run`; hypothesis shrinks the
first mismatch and raises it as GeneratedMismatch (the request and the report). Examples
per route: `max_examples`, else ROUTESHIFT_GENERATED_EXAMPLES, else 25; deterministic,
with no example database written. In a test module, with routeshift's pytest fixtures:

    test_get_user_generated = generated_test("users.get_user", "GET")

or `check_generated(routeshift_harness, "users.get_user", "GET", routeshift_state)`.
Path segments include percent-encoded unicode; `unicode_paths=False` keeps them ASCII.

With `pytest --routeshift-record`, a generated test is recorded in the contract run as
one case of its endpoint, `generated` (`generated_outcome`): passed, or failed with the
shrunk request and its differences.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import unquote, urlencode

from werkzeug.exceptions import HTTPException
from werkzeug.routing import MapAdapter, RoutingException

from routeshift.errors import ContractMismatch, GenerateError, did_you_mean

__all__ = [
    "DEFAULT_EXAMPLES",
    "ENV_EXAMPLES",
    "GENERATED_ID",
    "GeneratedMismatch",
    "check_generated",
    "entry_of",
    "find_modern_route",
    "generated_cases",
    "generated_examples",
    "generated_outcome",
    "generated_test",
    "generation_settings",
    "request_line",
    "routes_to",
]

try:
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis.errors import Unsatisfiable
    from hypothesis.strategies import SearchStrategy
except ImportError as exc:  # the `generate` extra is not installed
    raise GenerateError.extra_missing(exc) from None

from routeshift.prove.cases import Case
from routeshift.prove.harness import Harness, StateHook, no_state
from routeshift.prove.results import CaseResult
from routeshift.prove.strategies import strategy_for
from routeshift.registry.fit import handler_path
from routeshift.registry.model import Entry, Registry
from routeshift.routes import LegacyRoute, flat_routes
from routeshift.store.records import CaseOutcome

ENV_EXAMPLES = "ROUTESHIFT_GENERATED_EXAMPLES"
DEFAULT_EXAMPLES = 25
#: the case id a generated test is recorded under
GENERATED_ID = "generated"


class GeneratedMismatch(ContractMismatch):
    """A generated request (shrunk by hypothesis) whose replies differ."""

    def __init__(self, result: CaseResult) -> None:
        super().__init__(result)
        self.generated = result
        self.args = (f"generated request: {request_line(result.case)}\n{result.report()}",)


def request_line(generated: Case) -> str:
    """The whole request on one line: method, path, query and body."""
    line = f"{generated.method} {generated.path}"
    if generated.query:
        line += "?" + urlencode(dict(generated.query), doseq=True)
    if generated.has_json:
        line += " json=" + json.dumps(generated.json, ensure_ascii=False)
    elif generated.body is not None:
        line += f" body={generated.body!r}"
    return line


def entry_of(registry: Registry, route: Entry | str, method: str) -> Entry:
    """The registry entry for an endpoint and a method (or the entry itself)."""
    method = method.upper()
    if isinstance(route, Entry):
        if method not in route.methods:
            raise GenerateError(f"{route!r} does not list {method}.")
        return route
    entries = [e for e in registry.routes if e.endpoint == route and method in e.methods]
    if not entries:
        endpoints = {entry.endpoint for entry in registry.routes}
        hint = did_you_mean(route, endpoints) if route not in endpoints else ""
        raise GenerateError(
            f"{registry.path} has no entry for {route} {method}.{hint} "
            "Name an endpoint and method that the registry lists."
        )
    if len(entries) > 1:
        rules = ", ".join(entry.rule for entry in entries)
        raise GenerateError(
            f"{route} {method} has {len(entries)} entries ({rules}); pass the Entry itself."
        )
    return entries[0]


def find_modern_route(modern_app: Any, path: str, method: str) -> Any:
    """The modern app's route at exactly `path` that answers `method`."""
    routes = flat_routes(modern_app)
    for route in routes:
        if getattr(route, "path", None) == path and method in (getattr(route, "methods", ()) or ()):
            return route
    paths = [p for route in routes if isinstance(p := getattr(route, "path", None), str)]
    raise GenerateError(
        f"the modern app has no {method} route at {path}.{did_you_mean(path, paths)} "
        "Port the route first, or set modern_path in its registry entry."
    )


def generated_cases(
    harness: Harness, route: Entry | str, method: str = "GET", *, unicode_paths: bool = True
) -> SearchStrategy[Case]:
    """Cases for a registry entry that the legacy app's url_map routes to that entry."""
    entry = entry_of(harness.registry, route, method)
    # the path the registry check holds the handler at: the rule translated with the
    # legacy url_map's converters (a drifted rule: by converter name only)
    legacy = next(
        (
            r
            for r in harness.apps.legacy_routes
            if (r.endpoint, r.rule) == (entry.endpoint, entry.rule)
        ),
        LegacyRoute(entry.endpoint, entry.rule, frozenset(), ()),
    )
    path = handler_path(entry, legacy)
    modern_route = find_modern_route(harness.apps.modern, path, method.upper())
    adapter = harness.apps.legacy.url_map.bind("localhost")
    cases = strategy_for(modern_route, entry.endpoint, method, unicode_paths=unicode_paths)
    return cases.filter(lambda generated: routes_to(adapter, entry, generated))


def routes_to(adapter: MapAdapter, entry: Entry, generated: Case) -> bool:
    """Whether the legacy url_map sends this request to the entry (as the gateway does)."""
    try:
        rule, _ = adapter.match(unquote(generated.path), generated.method, return_rule=True)
    except (HTTPException, RoutingException):
        return False
    return bool(rule.endpoint == entry.endpoint and rule.rule == entry.rule)


def generated_examples(environ: Mapping[str, str] = os.environ) -> int:
    """ROUTESHIFT_GENERATED_EXAMPLES, else 25."""
    raw = environ.get(ENV_EXAMPLES, "").strip()
    if not raw:
        return DEFAULT_EXAMPLES
    if not raw.isdigit() or int(raw) < 1:
        raise GenerateError(
            f"{ENV_EXAMPLES}={raw!r} is not a positive whole number; set it to how many "
            f"requests to generate per route (default {DEFAULT_EXAMPLES})."
        )
    return int(raw)


def generation_settings(max_examples: int | None = None) -> settings:
    """Bounded, deterministic, and writing nothing to disk."""
    return settings(
        max_examples=max_examples or generated_examples(),
        deadline=None,
        derandomize=True,
        database=None,
        print_blob=False,
        report_multiple_bugs=False,
        phases=(Phase.explicit, Phase.generate, Phase.shrink),
        suppress_health_check=(
            HealthCheck.too_slow,
            HealthCheck.filter_too_much,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
        ),
    )


def check_generated(
    harness: Harness,
    route: Entry | str,
    method: str = "GET",
    state: StateHook = no_state,
    *,
    max_examples: int | None = None,
    unicode_paths: bool = True,
) -> list[CaseResult]:
    """Send generated requests to both sides; raise GeneratedMismatch, shrunk, on the
    first difference. Returns the result of every request sent."""
    cases = generated_cases(harness, route, method, unicode_paths=unicode_paths)
    results: list[CaseResult] = []

    @generation_settings(max_examples)
    @given(cases)
    def each(generated: Case) -> None:
        result = harness.run(generated, state)
        results.append(result)
        if not result.passed:
            raise GeneratedMismatch(result)

    try:
        each()
    except Unsatisfiable:
        name = route.endpoint if isinstance(route, Entry) else route
        raise GenerateError(
            f"no generated request for {name} {method} was routed to it by the legacy "
            "app's url_map (its converters refuse every value drawn). Write cases by hand."
        ) from None
    return results


def generated_outcome(entry: Entry, method: str, failed: Exception | None = None) -> CaseOutcome:
    """What a contract run records of one generated test: one case, GENERATED_ID; failed
    with the shrunk request and its differences (or what it raised) when it failed."""
    method = method.upper()
    if failed is None:
        return CaseOutcome(entry.endpoint, GENERATED_ID, method, entry.rule, True)
    if isinstance(failed, GeneratedMismatch):
        found = failed.generated
        differences: tuple[str, ...] = (f"generated request: {request_line(found.case)}",)
        differences += found.outcome().differences
        return CaseOutcome(
            entry.endpoint, GENERATED_ID, method, found.case.path, False, differences
        )
    lines = str(failed).strip().splitlines()
    why = f"the generated test raised {type(failed).__name__}" + (f": {lines[0]}" if lines else "")
    return CaseOutcome(entry.endpoint, GENERATED_ID, method, entry.rule, False, (why,))


def generated_test(
    endpoint: str,
    method: str = "GET",
    *,
    max_examples: int | None = None,
    unicode_paths: bool = True,
) -> Callable[[Harness, StateHook, list[CaseOutcome]], None]:
    """A pytest test function: `test_x = generated_test("users.get_user")` in a module.

    Its verdict goes to `routeshift_outcomes`, which `pytest --routeshift-record` records
    with the session's other contract checks; a test that sent no request (a
    GenerateError: no such entry, no modern route) records nothing.
    """

    def test(
        routeshift_harness: Harness,
        routeshift_state: StateHook,
        routeshift_outcomes: list[CaseOutcome],
    ) -> None:
        entry = entry_of(routeshift_harness.registry, endpoint, method)
        try:
            check_generated(
                routeshift_harness,
                entry,
                method,
                routeshift_state,
                max_examples=max_examples,
                unicode_paths=unicode_paths,
            )
        except GenerateError:
            raise
        except Exception as exc:
            routeshift_outcomes.append(generated_outcome(entry, method, exc))
            raise
        routeshift_outcomes.append(generated_outcome(entry, method))

    test.__name__ = test.__qualname__ = re.sub(r"\W", "_", f"test_generated_{endpoint}_{method}")
    test.__doc__ = f"Generated requests to {endpoint} {method.upper()} answer alike on both sides."
    return test
