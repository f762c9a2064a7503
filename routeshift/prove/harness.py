"""The differential harness: send a case to the legacy and the modern app, compare.

Each case is answered as the gateway would answer it, once with its route `legacy` and
once with it `modern`: the gateway's own classifier (routeshift.decide.classify) routes
it by the legacy app's url_map, and the decision is applied the gateway's way
(routeshift.decide.stamp: a HEAD the port serves as a GET, the Allow that merges both
sides' methods). A case whose request the url_map does not route to the case's endpoint
is an error of its case file (CaseFileError, at its file:line, naming where the request
does go): the gateway would never send it to that endpoint's port, so it is not compared.

Both apps run in-process: the Flask app through httpx's WSGI transport, the FastAPI app
through httpx's ASGI transport on an event loop the harness keeps (with the app's
lifespan started once). A state hook gives each side the same starting state (for
example a fresh copy of a seeded database), so a case that writes never sees the other
side's writes. Safe requests (GET, HEAD, OPTIONS) go to legacy twice: fields that differ
between two legacy runs are noise, reported apart with the ignore rule to add. A port
that answers 2xx where legacy refused (401, 403, a redirect to another path) fails
whatever the route ignores or accepts (routeshift.compare.GuardBreach).

What a run finds (CaseResult, Misrouted) is routeshift.prove.results; ContractClient,
the `contract` fixture, drives a Harness.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlencode

import httpx
from flask.signals import got_request_exception
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import RequestRedirect, RoutingException

from routeshift._asgi import Scope
from routeshift.apps.dispatch import install as install_direct
from routeshift.apps.lifespan import ChildLifespan
from routeshift.apps.pair import Apps, load_apps, session_cookies, signed_session
from routeshift.compare import Comparison, Difference, GuardBreach, Reply, Rules, compare
from routeshift.decide.classify import Classifier
from routeshift.decide.decision import MODERN_ONLY, UNMATCHED, Decision, Side
from routeshift.decide.stamp import Stamp, merge_allow, modern_scope
from routeshift.errors import CaseFileError, ContractMismatch, Problem
from routeshift.prove.cases import Case
from routeshift.prove.results import CaseResult, Misrouted
from routeshift.raised import Raised
from routeshift.registry.load import load_registry, registry_path
from routeshift.registry.model import Entry, Registry, State

__all__ = [
    "BASE_URL",
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


class Harness:
    """Sends cases to both apps in-process and compares the replies."""

    def __init__(self, registry: Registry, apps: Apps, *, find_noise: bool = True) -> None:
        self.registry = registry
        self.apps = apps
        self.find_noise = find_noise
        self._legacy = httpx.Client(
            transport=httpx.WSGITransport(app=self._legacy_app, raise_app_exceptions=False),
            base_url=BASE_URL,
            follow_redirects=False,
        )
        self._runner = asyncio.Runner()
        self._lifespan_state: dict[str, Any] = {}
        self._lifespan: ChildLifespan | None = None
        self._modern: httpx.AsyncClient | None = None
        # what each side raised during the request under way (Flask's own signal for a
        # view that raised, the ASGI call for the port)
        self._raised: dict[Side, Raised | None] = {Side.LEGACY: None, Side.MODERN: None}
        # the side whose answer is under way: the legacy app's signal also fires when
        # the port's error is rendered by the legacy app (routeshift.compat's envelope)
        self._in_flight = Side.LEGACY
        got_request_exception.connect(self._legacy_raised, apps.legacy, weak=False)
        self._cookies = session_cookies(apps.legacy)
        # the gateway's classifier with every route legacy, and with every route modern;
        # the modern side dispatched as the gateway dispatches it
        install_direct(apps.modern)
        self._routes = {
            Side.LEGACY: Classifier.for_apps(registry, apps, force_legacy=True),
            Side.MODERN: Classifier.for_apps(_all_in(registry, State.MODERN), apps),
        }

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
                transport=httpx.ASGITransport(app=self._modern_app, raise_app_exceptions=False),
                base_url=BASE_URL,
                follow_redirects=False,
            )
        return self._modern

    async def _modern_app(self, scope: Any, receive: Any, send: Any) -> None:
        """The modern app as the gateway serves it with the route modern."""
        decision = self._routes[Side.MODERN].classify(scope)
        scope = modern_scope(scope, decision)
        # the lifespan's state, and the route's entry as the gateway hands it over
        scope["state"] = {**self._lifespan_state, **(scope.get("state") or {})}
        try:
            await self.apps.modern(scope, receive, Stamp(send, decision))
        except Exception as exc:  # a server answers 500 (the app's own middleware sent it)
            self._raised[Side.MODERN] = Raised.of(exc)
            raise

    def _legacy_app(self, environ: dict[str, Any], start_response: Any) -> Any:
        """The Flask app as a WSGI server calls it: PATH_INFO as PEP 3333 has it (httpx's
        WSGITransport puts decoded text there), an exception that escapes it kept."""
        environ["PATH_INFO"] = environ["PATH_INFO"].encode("utf-8").decode("latin-1")
        try:
            return self.apps.legacy(environ, start_response)
        except Exception as exc:  # PROPAGATE_EXCEPTIONS, or debug: a server answers 500
            self._raised[Side.LEGACY] = Raised.of(exc)
            raise

    def _legacy_raised(self, sender: Any, exception: BaseException, **extra: Any) -> None:
        """Flask's got_request_exception: a view raised and Flask answers its 500; or,
        while the port answers, the port raised and the legacy app rendered its 500."""
        self._raised[self._in_flight] = Raised.of(exception)

    def decision(self, case: Case, side: Side) -> Decision:
        """What the gateway decides for the case's request with its route on `side`."""
        return self._routes[side].classify(_scope(case))

    def send_legacy(self, case: Case, decision: Decision | None = None) -> Reply:
        """The legacy app's answer, as the gateway gives it (its Allow merged)."""
        if decision is None:
            decision = self.decision(case, Side.LEGACY)
        self._legacy.cookies.clear()  # a case sends its own headers only, never a jar
        options = self._request_options(case)
        self._in_flight = Side.LEGACY
        reply = _reply(self._legacy.request(case.method, case.path, **options))
        return _with_allow(reply, decision.extra_allow)

    def _request_options(self, case: Case) -> dict[str, Any]:
        """httpx's arguments for the case's request; a case's `session:` becomes the
        legacy app's session cookie, signed now, beside the case's own Cookie header."""
        options = _request_options(case)
        if case.session is not None:
            name, value = signed_session(self.apps.legacy, case.session)
            headers = options["headers"]
            sent = next((k for k in headers if k.lower() == "cookie"), None)
            cookie = f"{name}={value}"
            if sent is None:
                headers["Cookie"] = cookie
            else:
                headers[sent] = f"{headers[sent]}; {cookie}"
        return options

    def send_modern(self, case: Case) -> Reply:
        """The answer with the case's route modern: from the port, or from legacy for
        what the gateway leaves to legacy then (an OPTIONS, say)."""
        decision = self.decision(case, Side.MODERN)
        if decision.side is Side.LEGACY:
            return self.send_legacy(case, decision)
        client = self._start_modern()
        client.cookies.clear()  # as on the legacy side: no cookie of another case
        self._in_flight = Side.MODERN
        response = self._runner.run(
            client.request(case.method, case.path, **self._request_options(case))
        )
        return _reply(response)

    def routing_problem(self, case: Case) -> Problem | None:
        """Why the gateway would never send this case to its endpoint's port, or None."""
        decision = self.decision(case, Side.LEGACY)
        if decision.endpoint == case.endpoint:
            return None
        method, path = case.method, case.path.partition("?")[0]
        listed = [e for e in self.registry.routes if e.endpoint == case.endpoint]
        if listed and all(entry.retired for entry in listed):
            return Problem(
                case.file or "(written in Python)",
                case.line,
                f"case {case.id!r}: {case.endpoint} is retired (the legacy app no longer has "
                "its view), so there is no legacy answer to compare the port's with. Delete "
                "the case (its file stays in version control as the port's proof), or "
                "restore the view and run `routeshift sync`.",
            )
        reaches = self._where_it_goes(method, path, decision)
        return Problem(
            case.file or "(written in Python)",
            case.line,
            f"case {case.id!r}: {method} {path} is not a request of {case.endpoint}: the "
            f"legacy app's url_map sends it to {reaches}, so the gateway never sends it to "
            f"the port of {case.endpoint}. Fix its path or method, or move the case to the "
            "file of the endpoint it reaches.",
        )

    def _where_it_goes(self, method: str, path: str, decision: Decision) -> str:
        if decision.endpoint not in (UNMATCHED, MODERN_ONLY):
            return f"endpoint {decision.endpoint!r}"
        try:
            self.apps.legacy.url_map.bind("localhost").match(unquote(path), method)
        except RequestRedirect as redirect:
            return f"a redirect to {redirect.new_url}"
        except MethodNotAllowed as exc:
            return (
                f"no route for {method} (405; its rules serve {', '.join(exc.valid_methods or ())})"
            )
        except NotFound:
            pass
        except HTTPException:
            pass
        if decision.endpoint == MODERN_ONLY:
            return "no route (a modern-only route of the modern app answers it)"
        return "no route (404)"

    def close(self) -> None:
        got_request_exception.disconnect(self._legacy_raised, self.apps.legacy)
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
        """The route's rules, the case's ignores, and the legacy app's session cookie
        compared by its payload (as shadow compares)."""
        entry = self.entry_for(case)
        rules = Rules.build() if entry is None else entry.rules()
        return rules.with_ignore(case.ignore).with_cookies(self._cookies)

    def run(self, case: Case, state: StateHook = no_state) -> CaseResult:
        """Send the case to both sides and compare; CaseFileError when the gateway would
        not send it to the case's endpoint at all."""
        problem = self.routing_problem(case)
        if problem is not None:
            raise CaseFileError([problem])
        rules = self.rules_for(case)
        self._raised = {Side.LEGACY: None, Side.MODERN: None}
        with state("legacy"):
            legacy = self.send_legacy(case)
        legacy_raised = self._raised[Side.LEGACY]
        noise: tuple[Difference, ...] = ()
        if case.safe and self.find_noise:
            with state("legacy"):
                again = self.send_legacy(case)
            # what the route already ignores is not news: only unexpected noise is reported
            noise = compare(
                legacy, again, Rules(rules.ignore, rules.normalise, cookies=rules.cookies)
            ).differences
        with state("modern"):
            modern = self.send_modern(case)
        comparison = compare(legacy, modern, rules, path=case.path)
        if noise:
            comparison = _without_noise(comparison, noise)
        return CaseResult(
            case, comparison, legacy, modern, noise, legacy_raised, self._raised[Side.MODERN]
        )

    def run_all(self, cases: Iterable[Case], state: StateHook = no_state) -> list[CaseResult]:
        return [self.run(case, state) for case in cases]


def _without_noise(comparison: Comparison, noise: tuple[Difference, ...]) -> Comparison:
    """The comparison less what differs between two legacy runs; a GuardBreach stays (a
    legacy that refuses only now and then still refuses)."""
    noisy = {difference.where for difference in noise}

    def kept(difference: Difference) -> bool:
        return difference.where not in noisy or isinstance(difference, GuardBreach)

    return Comparison(
        tuple(d for d in comparison.differences if kept(d)),
        comparison.accepted,
        comparison.ignored + tuple(d for d in comparison.differences if not kept(d)),
    )


def _all_in(registry: Registry, state: State) -> Registry:
    """The registry with every entry in `state` (no canary percent, no shadow sample)."""
    routes = tuple(
        entry.model_copy(update={"state": state, "percent": None}) for entry in registry.routes
    )
    model = registry.model.model_copy(update={"routes": routes})
    return Registry(registry.path, model, registry.marks)


def _scope(case: Case) -> Scope:
    """The ASGI scope of the case's request, as far as the classifier reads one."""
    path, _, query = case.path.partition("?")
    query_string = query or urlencode(list(case.query.items()), doseq=True)
    headers = [(b"host", b"localhost")] + [
        (name.lower().encode("latin-1"), str(value).encode("latin-1"))
        for name, value in case.headers.items()
    ]
    return {
        "type": "http",
        "method": case.method,
        "path": unquote(path),
        "root_path": "",
        "query_string": query_string.encode("latin-1"),
        "headers": headers,
    }


def _with_allow(reply: Reply, extra: frozenset[str]) -> Reply:
    """The reply with `extra` merged into its Allow, as the gateway's Stamp merges it."""
    if not extra or not any(name == "allow" for name, _ in reply.headers):
        return reply
    headers = tuple(
        (name, merge_allow(value, extra) if name == "allow" else value)
        for name, value in reply.headers
    )
    return Reply(reply.status, headers, reply.body)


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
    misrouted: list[Misrouted] = field(default_factory=list)

    def run(self, case: Case) -> CaseResult:
        """Both answers compared; CaseFileError (kept in `misrouted`) for a case the
        gateway would not send to its endpoint."""
        try:
            result = self.harness.run(case, self.state)
        except CaseFileError as exc:
            self.misrouted.extend(Misrouted(case, problem) for problem in exc.problems)
            raise
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
        return matched[0] if matched is not None else UNMATCHED
