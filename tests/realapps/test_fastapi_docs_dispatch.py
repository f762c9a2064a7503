"""Direct dispatch on FastAPI's own documentation examples: docs_src of the sdist of the
venv's FastAPI (`scripts/realapps` fetches it into .cache/realapps/fastapi_docs/), apps
that nobody here wrote.

Every docs_src module that imports cleanly here (by file path, in isolation: under a
package name of its own, so its relative imports work and nothing is shared) and has a
module-level FastAPI `app` with HTTP routes gets a Flask twin whose rules are the app's
paths translated back (one endpoint per path, the union of its methods), a registry with
every rule `modern`, and two gateways: `direct_dispatch: true` and `false`. Both get the
same requests (each path with sample values, each of its methods, HEAD, one method it
does not serve, a write with a `{}` body and without, an unknown path), each gateway
inside one lifespan and on a fresh import of the module (the two start from the same
module state), and every answer (status, headers but date, body) must be the same.

A module that does not import (an extra that is not installed, a directory that is not
there, an environment variable) or has no such app is counted, not tested.
"""

import asyncio
import contextlib
import importlib
import itertools
import os
import re
import sys
import tempfile
import types
import warnings
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import write_registry
from fixture_apps.dispatch_corpus import Sent
from flask import Flask

from realapps.support import REPO, realapp
from routeshift.apps import dispatch
from routeshift.apps.lifespan import ChildLifespan
from routeshift.routes import to_fastapi_path
from routeshift.serve.assemble import build_gateway
from routeshift.serve.gateway import Gateway

#: Starlette before 0.40 (the oldest FastAPI's): BaseHTTPMiddleware leaves a stream
#: unclosed when the app raises, through either gateway (sql_databases/*/alt_main.py)
pytestmark = pytest.mark.filterwarnings(
    "ignore:Exception ignored in. <function MemoryObjectReceiveStream.__del__"
    ":pytest.PytestUnraisableExceptionWarning"
)

NAME = "fastapi_docs"
#: apps whose answers differ between two runs on fresh imports
NONDETERMINISTIC: dict[str, str] = {
    "custom_request_and_route/tutorial003.py": "its route class sets X-Response-Time",
    "query_params_str_validations/tutorial015.py": "GET /items/ answers a random.choice",
}
#: apps where direct dispatch answers differently from the app's own router (bugs)
DIFFERS: dict[str, str] = {}
#: the floors: this many apps and requests at least are compared (FastAPI 0.165.0: 329
#: apps of 396 modules, 6,273 requests; 0.115.0: 560 of 668, 10,901)
MIN_APPS = 300
MIN_REQUESTS = 6000

#: the Host of every request (advanced_middleware/tutorial002's TrustedHostMiddleware allows it)
HOST = "example.com"
#: apps that answer every request before their router (none is dispatched directly)
NOT_ROUTED: dict[str, str] = {
    "advanced_middleware/tutorial001.py": "HTTPSRedirectMiddleware redirects every request",
}
IGNORED_HEADERS = {"date"}
#: a parameter of a FastAPI path: {name} or {name:convertor}
PARAM = re.compile(r"{([a-zA-Z_][a-zA-Z0-9_]*)(?::([a-zA-Z_][a-zA-Z0-9_]*))?}")
#: FastAPI's convertors with a werkzeug converter of the same meaning
CONVERTERS = {"path": "path", "int": "int", "float": "float"}
#: the methods a path is sent that it does not serve: the first one of these it lacks
UNSERVED = ("DELETE", "PATCH", "PUT", "POST", "GET")
WRITES = frozenset({"POST", "PUT", "PATCH"})
#: the methods Flask adds to a rule by itself (a registry entry never lists them)
IMPLICIT = frozenset({"HEAD", "OPTIONS"})

Answer = tuple[int, list[tuple[str, str]], bytes]
#: the status of an answer that is an exception raised out of the gateway
RAISED = -1


# --- the corpus: docs_src's modules, imported once at collection ----------------------


def _folder() -> Path | None:
    """The cached docs_src of this venv's FastAPI, or None (the tests then skip)."""
    try:
        return realapp(NAME)
    except (pytest.skip.Exception, pytest.fail.Exception):
        return None


_unique = itertools.count()


@contextlib.contextmanager
def imported(folder: Path, relative: str, cwd: Path) -> Iterator[types.ModuleType]:
    """The module at `folder/relative`, imported afresh under a package name of its own
    (with `cwd` as the working directory and warnings ignored), then forgotten."""
    prefix = f"_fastapi_docs_{next(_unique)}"
    package = types.ModuleType(prefix)
    package.__path__ = [str(folder)]
    sys.modules[prefix] = package
    dotted = ".".join([prefix, *Path(relative).with_suffix("").parts])
    before = Path.cwd()
    os.chdir(cwd)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            module = importlib.import_module(dotted)
        yield module
    finally:
        os.chdir(before)
        for name in [n for n in sys.modules if n == prefix or n.startswith(prefix + ".")]:
            del sys.modules[name]


@dataclass(frozen=True)
class Rule:
    """One path of the app, as the twin's rule and the registry's entry."""

    endpoint: str
    path: str  # FastAPI's
    rule: str  # werkzeug's
    methods: tuple[str, ...]

    def entry(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "endpoint": self.endpoint,
            "rule": self.rule,
            "methods": [m for m in self.methods if m not in IMPLICIT],
            "state": "modern",
        }
        if to_fastapi_path(self.rule) != self.path:
            entry["modern_path"] = self.path
        return entry


@dataclass(frozen=True)
class Plan:
    """One app of the corpus: its rules and the requests both gateways get."""

    relative: str
    rules: tuple[Rule, ...]
    sent: tuple[Sent, ...]
    #: whether direct dispatch is on for the app (off: its router has middleware, ...)
    seam: bool = True


def http_routes(app: Any) -> list[tuple[str, frozenset[str]]]:
    """(path, methods) of every HTTP route of `app`, included routers opened up."""
    routes = list(app.routes)
    try:  # FastAPI >= 0.137 keeps an included router as one route of app.routes
        from fastapi.routing import iter_route_contexts  # type: ignore[attr-defined]
    except ImportError:
        pass
    else:
        routes = list(iter_route_contexts(routes))
    found = []
    for route in routes:
        path, methods = getattr(route, "path", None), getattr(route, "methods", None)
        if isinstance(path, str) and methods:
            found.append((path, frozenset(str(m).upper() for m in methods)))
    return found


def werkzeug_rule(path: str) -> str | None:
    """The werkzeug rule of a FastAPI path; None when a name repeats."""
    names = [m.group(1) for m in PARAM.finditer(path)]
    if len(set(names)) != len(names):
        return None

    def replace(match: re.Match[str]) -> str:
        name, convertor = match.group(1), match.group(2)
        converter = CONVERTERS.get(convertor or "")
        return f"<{converter}:{name}>" if converter else f"<{name}>"

    return PARAM.sub(replace, path)


def twin_of(rules: tuple[Rule, ...]) -> Flask:
    twin = Flask("fastapi_docs_twin")
    for rule in rules:
        twin.add_url_rule(rule.rule, rule.endpoint, _legacy, methods=list(rule.methods))
    return twin


def _legacy(**values: Any) -> str:  # pragma: no cover - every rule is modern
    return "legacy"


def requests_of(rules: tuple[Rule, ...]) -> tuple[Sent, ...]:
    """Each rule's path with "1" for every value (and with "foo" for each str-ish one),
    each of its methods, HEAD and one it lacks (a write with a `{}` body and without);
    an unknown path."""
    sent: list[Sent] = []
    for rule in rules:
        ones = PARAM.sub("1", rule.path)
        foos = PARAM.sub(lambda m: "1" if m.group(2) in ("int", "float") else "foo", rule.path)
        unserved = next(m for m in UNSERVED if m not in rule.methods)
        for path in dict.fromkeys([ones, foos]):
            for method in dict.fromkeys([*rule.methods, "HEAD", unserved]):
                sent.append(Sent(method, path))
                if method in WRITES:
                    sent.append(Sent(method, path, json={}))
    sent.append(Sent("GET", "/routeshift-no-such-path"))
    sent.append(Sent("POST", "/routeshift-no-such-path", json={}))
    return tuple(sent)


def plan_of(app: Any, relative: str) -> Plan | None:
    """The app's plan; None when no path of it but the docs' (the gateway serves those
    itself) makes a Flask rule."""
    methods: dict[str, set[str]] = {}
    for path, served in http_routes(app):
        methods.setdefault(path, set()).update(served)
    rules = []
    for index, (path, served) in enumerate(methods.items()):
        rule = werkzeug_rule(path)
        if rule is None or not served - IMPLICIT:
            continue
        candidate = Rule(f"route{index}", path, rule, tuple(sorted(served)))
        try:
            twin_of((candidate,))
        except Exception:  # a path Flask refuses
            continue
        rules.append(candidate)
    docs = {app.openapi_url, app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url}
    if all(rule.path in docs for rule in rules):
        return None
    return Plan(relative, tuple(rules), requests_of(tuple(rules)))


def survey(folder: Path) -> tuple[Counter[str], list[Plan]]:
    """Every module of docs_src: what became of it (outcomes), and the plans to compare."""
    from fastapi import FastAPI

    outcomes: Counter[str] = Counter()
    plans = []
    with tempfile.TemporaryDirectory() as scratch:
        for path in sorted(folder.rglob("*.py")):
            if path.name == "__init__.py":
                continue
            relative = path.relative_to(folder).as_posix()
            outcomes["modules"] += 1
            try:
                with imported(folder, relative, Path(scratch)) as module:
                    app = getattr(module, "app", None)
                    plan = plan_of(app, relative) if isinstance(app, FastAPI) else None
                    seam = plan is not None and dispatch.install(app)
            except (Exception, SystemExit):  # an example that needs what is not here
                outcomes["not imported"] += 1
                continue
            if not isinstance(app, FastAPI):
                outcomes["no FastAPI app"] += 1
            elif plan is None:
                outcomes["no HTTP route"] += 1
            elif relative in NONDETERMINISTIC:
                outcomes["excluded"] += 1
            else:
                outcomes["compared"] += 1
                outcomes["requests"] += len(plan.sent)
                if not seam:
                    outcomes["compared, direct dispatch off"] += 1
            if plan is not None:
                plans.append(replace(plan, seam=seam))
    return outcomes, plans


FOLDER = _folder()
OUTCOMES, PLANS = survey(FOLDER) if FOLDER is not None else (Counter(), [])


def _param(plan: Plan) -> Any:
    marks = []
    if plan.relative in NONDETERMINISTIC:
        marks.append(pytest.mark.skip(reason=NONDETERMINISTIC[plan.relative]))
    if plan.relative in DIFFERS:
        marks.append(pytest.mark.xfail(strict=True, reason=DIFFERS[plan.relative]))
    return pytest.param(plan, id=plan.relative, marks=marks)


# --- the gateways ----------------------------------------------------------------------


def gateway_of(folder: Path, plan: Plan, modern: Any, *, direct: bool) -> Gateway:
    folder.mkdir(exist_ok=True)
    path = write_registry(
        folder,
        [rule.entry() for rule in plan.rules],
        legacy_app="unused:legacy",
        modern_app="unused:modern",
        settings={"direct_dispatch": direct, "store_url": f"sqlite:///{folder / 'store.db'}"},
    )
    return build_gateway(
        path,
        legacy_app=twin_of(plan.rules),
        modern_app=modern,
        force_legacy=False,
        watch_interval=0,
    )


def answers(gateway: Gateway, sent: tuple[Sent, ...]) -> list[Answer]:
    """Each request's answer from `gateway`, inside one lifespan (its state in every
    request's scope, as uvicorn does it): tests/apps/test_direct_dispatch.py's way."""

    async def run() -> list[Answer]:
        state: dict[str, Any] = {}
        lifespan = ChildLifespan(
            gateway, {"type": "lifespan", "asgi": {"version": "3.0"}, "state": state}
        )
        await lifespan.startup()
        assert lifespan.supported  # the gateway's startup completed
        try:
            return [await _one(gateway, state, request) for request in sent]
        finally:
            await lifespan.shutdown()
            assert lifespan.supported  # and its shutdown

    return asyncio.run(run())


async def _one(gateway: Gateway, state: dict[str, Any], request: Sent) -> Answer:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        scope["state"] = dict(state)
        await gateway(scope, receive, send)

    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url=f"http://{HOST}") as client:
        try:
            response = await client.request(
                request.method, request.path, headers=request.headers, json=request.json
            )
        except Exception as exc:  # the app's error, after its 500 (a server logs it)
            return RAISED, [], f"{type(exc).__name__}: {exc}".encode()
    headers = [(k, v) for k, v in response.headers.multi_items() if k not in IGNORED_HEADERS]
    return response.status_code, headers, response.content


def served(folder: Path, plan: Plan, where: Path, *, direct: bool) -> tuple[list[Answer], int]:
    """The plan's answers from a gateway on a fresh import of the app, run in `where`,
    and how many of them the seam served directly (dispatch.Target.serve)."""
    where.mkdir()
    seen = []
    serve = dispatch.Target.serve

    async def counted(self: Any, *args: Any) -> None:
        seen.append(self)
        await serve(self, *args)

    with imported(folder, plan.relative, where) as module:
        gateway = gateway_of(where, plan, module.app, direct=direct)
        before = Path.cwd()
        os.chdir(where)
        dispatch.Target.serve = counted  # type: ignore[method-assign]
        try:
            with warnings.catch_warnings():  # an example's deprecations: not its answers
                warnings.simplefilter("ignore")
                return answers(gateway, plan.sent), len(seen)
        finally:
            dispatch.Target.serve = serve  # type: ignore[method-assign]
            os.chdir(before)
            gateway.close()


# --- the tests -------------------------------------------------------------------------


@pytest.mark.parametrize("plan", [_param(plan) for plan in PLANS] or [pytest.param(None, id=NAME)])
def test_direct_dispatch_answers_as_the_apps_router(tmp_path: Path, plan: Plan | None) -> None:
    folder = realapp(NAME)
    assert plan is not None, f"{folder.relative_to(REPO)}/ holds no app of the corpus"
    routed, not_direct = served(folder, plan, tmp_path / "routed", direct=False)
    direct, directly = served(folder, plan, tmp_path / "direct", direct=True)
    assert not_direct == 0
    if plan.seam and plan.relative not in NOT_ROUTED:
        assert directly > 0, "no request was dispatched directly"
    else:
        assert directly == 0
    differing = [
        f"{request}{' {}' if request.json is not None else ''}:\n"
        f"  own router: {shown(expected)}\n  direct:     {shown(got)}"
        for request, expected, got in zip(plan.sent, routed, direct, strict=True)
        if expected != got
    ]
    assert not differing, "\n".join(differing)


def shown(answer: Answer) -> str:
    status, headers, body = answer
    return f"{status} {headers} {body[:300]!r}{'...' if len(body) > 300 else ''}"


def test_the_corpus_is_large() -> None:
    """How many of docs_src's modules are compared (the rest: counted by why not)."""
    realapp(NAME)
    counted = sum(OUTCOMES[key] for key in ("not imported", "no FastAPI app", "no HTTP route"))
    assert OUTCOMES["modules"] == counted + OUTCOMES["excluded"] + OUTCOMES["compared"]
    assert OUTCOMES["excluded"] <= len(NONDETERMINISTIC)
    assert OUTCOMES["compared"] >= MIN_APPS, dict(OUTCOMES)
    assert OUTCOMES["requests"] >= MIN_REQUESTS, dict(OUTCOMES)
