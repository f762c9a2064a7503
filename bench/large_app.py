"""A large app to benchmark routeshift with: generated once here, reused by benchmarks.

    python bench/large_app.py FOLDER [--routes 5000] [--blueprints 50] [--ported 0.3]
                                     [--modern-style starlette|apiroute|included] [--no-store]

or from Python (`bench/` on sys.path, or `bench.large_app` from the repository root):

    from large_app import build
    big = build(Path(tmp))          # -> LargeApp: big.registry, big.routes, ...

FOLDER then holds, importable by module name with FOLDER as the working directory
(routeshift looks up the apps from the registry's folder):

    large_routes.json      the route table both apps are built from
    large_legacy.py        `large_legacy:app`, a Flask app: N rules in B blueprints, every
                           werkzeug converter (default, string, int, float, path, any, uuid,
                           converter arguments, two variables, a trailing slash), methods
                           GET/POST/PUT/PATCH/DELETE alone and together, and every 50th
                           endpoint with a second rule
    large_modern.py        `large_modern:app`, a FastAPI app with a handler for every
                           method of the ported share of the rules (30 %)
    migration_status.yaml  every rule listed: ported ones `modern` (1 in 10 kept `legacy`,
                           ready to promote), the others `legacy`
    contracts/             a case file (<endpoint>.yaml) for every ported endpoint
    routeshift.db          the store, with one recorded contract run: of the ported
                           endpoints 1 in 25 never ran, 1 in 50 failed, the rest passed

The modern app's routes come in three styles. FastAPI's own routes are costly to build:
about 0.7 ms each for `add_api_route` (dependency and response-model analysis), and
0.5-0.7 ms again the first time the routes of an `include_router` are listed (FastAPI
>= 0.137 builds each included route's effective copy then). `starlette` (the default) adds plain
Starlette routes to the FastAPI app (`app.add_route`, about 0.06 ms each), so that a
benchmark measures routeshift rather than FastAPI's start-up; `apiroute` (typed handlers
with `app.add_api_route`) and `included` (an APIRouter per blueprint, included with its
prefix) measure what a real FastAPI app of that size costs.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

LEGACY_MODULE = "large_legacy"
MODERN_MODULE = "large_modern"
DATA_FILE = "large_routes.json"
REGISTRY_FILE = "migration_status.yaml"
CONTRACTS_DIR = "contracts"
MODERN_STYLES = ("starlette", "apiroute", "included")
ALT_RULE_EVERY = 50  # every 50th endpoint has a second rule
LEGACY_PORT_EVERY = 10  # 1 in 10 ported endpoints stays `legacy` (ready to promote)
NEVER_RUN_EVERY = 25  # 1 in 25 ported endpoints has no recorded contract run
FAILED_EVERY = 50  # 1 in 50 ported endpoints failed its latest run


@dataclass(frozen=True)
class Template:
    """The tail of a rule after /bpNN/rNNNN: one converter kind."""

    key: str
    rule: str  # werkzeug syntax
    sample: str  # a path tail the rule matches
    params: tuple[tuple[str, str], ...] = ()  # (name, Python type) of the modern handler
    modern_path: str | None = None  # FastAPI tail when the converter has no translation


TEMPLATES: tuple[Template, ...] = (
    Template("static", "", ""),
    Template("int", "/<int:item_id>", "/42", (("item_id", "int"),)),
    Template("default", "/<name>", "/ann", (("name", "str"),)),
    Template("string", "/<string(length=8):code>", "/abcdefgh", (("code", "str"),)),
    Template("float", "/<float:amount>", "/1.5", (("amount", "float"),)),
    Template("path", "/files/<path:rest>", "/files/a/b/c.txt", (("rest", "str"),)),
    Template("any", "/<any(red, green, blue):colour>", "/green", (("colour", "str"),)),
    Template("uuid", "/<uuid:ident>", "/" + str(uuid.UUID(int=7)), (("ident", "str"),)),
    Template(
        "two",
        "/<int(signed=True):delta>/pages/<int(min=1):page>",
        "/-3/pages/2",
        (("delta", "int"), ("page", "int")),
    ),
    Template("slash", "/list/", "/list/"),
)
ALT_TEMPLATE = Template("alt", "/alt", "/alt")
TEMPLATE_BY_KEY = {t.key: t for t in (*TEMPLATES, ALT_TEMPLATE)}

METHOD_SETS: tuple[tuple[str, ...], ...] = (
    ("GET",),
    ("GET", "POST"),
    ("POST",),
    ("PUT",),
    ("GET",),
    ("DELETE",),
    ("PATCH",),
    ("GET", "PUT", "DELETE"),
)


@dataclass(frozen=True)
class RouteSpec:
    """One legacy rule (and its registry entry)."""

    endpoint: str  # bpNN.rNNNN
    blueprint: str  # bpNN
    rule: str  # the full rule, url_prefix included
    methods: tuple[str, ...]
    template: str  # Template.key
    sample_path: str  # a concrete path the rule matches
    fastapi_path: str  # the modern handler's path
    modern_path: str | None  # set in the registry when the rule has no translation
    ported: bool  # the modern app has a handler for every method
    state: str  # registry state

    @property
    def local_rule(self) -> str:
        return self.rule.removeprefix(f"/{self.blueprint}") or "/"


@dataclass(frozen=True)
class LargeApp:
    """What `build` wrote, and how long the parts took."""

    folder: Path
    routes: tuple[RouteSpec, ...]
    modern_style: str
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def registry(self) -> Path:
        return self.folder / REGISTRY_FILE

    @property
    def legacy_app(self) -> str:
        return f"{LEGACY_MODULE}:app"

    @property
    def modern_app(self) -> str:
        return f"{MODERN_MODULE}:app"

    @property
    def ported(self) -> tuple[RouteSpec, ...]:
        return tuple(r for r in self.routes if r.ported)

    @property
    def route_methods(self) -> int:
        return sum(len(r.methods) for r in self.routes)

    def describe(self) -> str:
        states: dict[str, int] = {}
        for route in self.routes:
            states[route.state] = states.get(route.state, 0) + len(route.methods)
        blueprints = len({r.blueprint for r in self.routes})
        cases = len({r.endpoint for r in self.ported})
        by_state = ", ".join(f"{n} {s}" for s, n in sorted(states.items()))
        return (
            f"{len(self.routes)} rules ({self.route_methods} route methods: {by_state}) in "
            f"{blueprints} blueprints; {len(self.ported)} rules ported ({self.modern_style} "
            f"routes); {cases} case files; in {self.folder}"
        )


# --- the route table -------------------------------------------------------------------


def plan(routes: int = 5000, blueprints: int = 50, ported: float = 0.3) -> tuple[RouteSpec, ...]:
    """The rules: `routes` of them (alternative rules included), spread over blueprints.

    Deterministic: the same arguments give the same table.
    """
    if routes < 1 or blueprints < 1 or not 0 <= ported <= 1:
        raise ValueError("routes and blueprints must be >= 1 and ported within 0..1")
    specs: list[RouteSpec] = []
    number = 0
    ported_seen = 0
    while len(specs) < routes:
        blueprint = f"bp{number * blueprints // max(routes, 1) % blueprints:02d}"
        endpoint = f"{blueprint}.r{number:04d}"
        base = f"/{blueprint}/r{number:04d}"
        is_ported = int((number + 1) * ported) > int(number * ported)
        state = "legacy"
        if is_ported:
            state = "legacy" if ported_seen % LEGACY_PORT_EVERY == 0 else "modern"
            ported_seen += 1
        # shifted every cycle, so that an evenly spread share (ported) has every kind
        templates = [TEMPLATES[(number + number // len(TEMPLATES)) % len(TEMPLATES)]]
        if number % ALT_RULE_EVERY == ALT_RULE_EVERY - 1:
            templates.append(ALT_TEMPLATE)
        methods = METHOD_SETS[(number // len(TEMPLATES)) % len(METHOD_SETS)]
        for template in templates:
            if len(specs) == routes:
                break
            specs.append(
                RouteSpec(
                    endpoint=endpoint,
                    blueprint=blueprint,
                    rule=base + template.rule,
                    methods=methods if template is not ALT_TEMPLATE else ("GET",),
                    template=template.key,
                    sample_path=base + template.sample,
                    fastapi_path=base + (template.modern_path or _fastapi_tail(template)),
                    modern_path=base + template.modern_path if template.modern_path else None,
                    ported=is_ported,
                    state=state,
                )
            )
        number += 1
    return tuple(specs)


def _fastapi_tail(template: Template) -> str:
    from routeshift.routes import to_fastapi_path

    path = to_fastapi_path(template.rule or "/")
    assert path is not None, template  # every werkzeug converter translates
    return "" if template.rule == "" else path


# --- the files -------------------------------------------------------------------------

LEGACY_SOURCE = '''\
"""Generated by bench/large_app.py: a Flask app of {routes} rules in {blueprints} blueprints."""

import json
from pathlib import Path

from flask import Blueprint, Flask, jsonify, request

TABLE = json.loads(Path(__file__).with_name("{data}").read_text(encoding="utf-8"))


def view(**params):
    params = {{k: str(v) for k, v in params.items()}}
    return jsonify(side="legacy", endpoint=request.endpoint, params=params)


def create_app():
    app = Flask(__name__)
    blueprints = {{}}
    for route in TABLE["routes"]:
        name = route["blueprint"]
        if name not in blueprints:
            blueprints[name] = Blueprint(name, __name__, url_prefix="/" + name)
        blueprints[name].add_url_rule(
            route["local_rule"],
            endpoint=route["endpoint"].rpartition(".")[2],
            view_func=view,
            methods=route["methods"],
        )
    for blueprint in blueprints.values():
        app.register_blueprint(blueprint)
    return app


app = create_app()
'''

MODERN_HEAD = '''\
"""Generated by bench/large_app.py: a FastAPI app porting {ported} of the legacy rules
({style} routes)."""

import json
from pathlib import Path

from fastapi import APIRouter, FastAPI
from starlette.requests import Request
from starlette.responses import JSONResponse

TABLE = json.loads(Path(__file__).with_name("{data}").read_text(encoding="utf-8"))
PORTS = [route for route in TABLE["routes"] if route["ported"]]

app = FastAPI()

'''

MODERN_STARLETTE = """\
async def handler(request: Request) -> JSONResponse:
    params = {k: str(v) for k, v in request.path_params.items()}
    return JSONResponse({"side": "modern", "params": params})


for route in PORTS:
    app.add_route(route["fastapi_path"], handler, methods=route["methods"], name=route["endpoint"])
"""

MODERN_TYPED_BUILD = {
    "apiroute": """
for route in PORTS:
    app.add_api_route(
        route["fastapi_path"],
        HANDLERS[route["template"]],
        methods=route["methods"],
        name=route["endpoint"],
        operation_id=route["endpoint"] + "." + "-".join(route["methods"]),
    )
""",
    "included": """
routers = {}
for route in PORTS:
    prefix = "/" + route["blueprint"]
    router = routers.setdefault(prefix, APIRouter(prefix=prefix))
    router.add_api_route(
        route["fastapi_path"].removeprefix(prefix),
        HANDLERS[route["template"]],
        methods=route["methods"],
        name=route["endpoint"],
        operation_id=route["endpoint"] + "." + "-".join(route["methods"]),
    )
for router in routers.values():
    app.include_router(router)
""",
}


def _typed_handlers() -> str:
    """One typed handler per template, its parameters named as the path's."""
    lines = []
    for template in TEMPLATE_BY_KEY.values():
        signature = ", ".join(f"{name}: {kind}" for name, kind in template.params)
        params = ", ".join(f"{name!r}: str({name})" for name, _ in template.params)
        lines += [
            f"async def handle_{template.key}({signature}) -> dict[str, object]:",
            f'    return {{"side": "modern", "params": {{{params}}}}}',
            "",
            "",
        ]
    table = ", ".join(f"{t!r}: handle_{t}" for t in TEMPLATE_BY_KEY)
    return "\n".join(lines) + f"HANDLERS = {{{table}}}\n"


def modern_source(style: str, ported: int) -> str:
    head = MODERN_HEAD.format(ported=ported, style=style, data=DATA_FILE)
    if style == "starlette":
        return head + MODERN_STARLETTE
    return head + _typed_handlers() + MODERN_TYPED_BUILD[style]


def registry_text(routes: Sequence[RouteSpec]) -> str:
    lines = [
        "# Generated by bench/large_app.py",
        f"legacy_app: {LEGACY_MODULE}:app",
        f"modern_app: {MODERN_MODULE}:app",
        "settings:",
        f"  contracts_dir: {CONTRACTS_DIR}",
        "routes:",
    ]
    for route in routes:
        lines += [
            f"  - endpoint: {route.endpoint}",
            f"    rule: {json.dumps(route.rule)}",
            f"    methods: [{', '.join(route.methods)}]",
            f"    state: {route.state}",
        ]
        if route.modern_path:
            lines.append(f"    modern_path: {json.dumps(route.modern_path)}")
        if route.ported:
            lines.append(f"    owner: team-{route.blueprint}")
    return "\n".join(lines) + "\n"


def case_file_text(routes: Sequence[RouteSpec]) -> str:
    lines = ["cases:"]
    for route in routes:
        for method in route.methods:
            lines += [
                f"  - id: {method.lower()}-{route.template}",
                f"    method: {method}",
                f"    path: {json.dumps(route.sample_path)}",
            ]
    return "\n".join(lines) + "\n"


def record_runs(folder: Path, routes: Sequence[RouteSpec]) -> int:
    """One contract run in FOLDER/routeshift.db; returns the number of results."""
    from routeshift.store.records import CaseOutcome
    from routeshift.store.sql import Store

    results: list[CaseOutcome] = []
    endpoints = list(dict.fromkeys(r.endpoint for r in routes if r.ported))
    by_endpoint: dict[str, list[RouteSpec]] = {}
    for route in routes:
        by_endpoint.setdefault(route.endpoint, []).append(route)
    for index, endpoint in enumerate(endpoints):
        if index % NEVER_RUN_EVERY == NEVER_RUN_EVERY - 1:
            continue
        failing = index % FAILED_EVERY == FAILED_EVERY // 2
        for n, route in enumerate(by_endpoint[endpoint]):
            for method in route.methods:
                differences = ("/params: legacy {} != modern null",) if failing and n == 0 else ()
                case_id = f"{method.lower()}-{route.template}"
                passed = not differences
                outcome = CaseOutcome(endpoint, case_id, method, route.rule, passed, differences)
                results.append(outcome)
    store = Store(f"sqlite:///{(folder / 'routeshift.db').resolve()}")
    try:
        store.record_contract_run(results)
    finally:
        store.close()
    return len(results)


def build(
    folder: Path,
    *,
    routes: int = 5000,
    blueprints: int = 50,
    ported: float = 0.3,
    modern_style: str = "starlette",
    store: bool = True,
) -> LargeApp:
    """Write the large app into `folder` (created if needed) and return what it holds."""
    if modern_style not in MODERN_STYLES:
        raise ValueError(f"modern_style must be one of {', '.join(MODERN_STYLES)}")
    timings: dict[str, float] = {}
    clock = time.perf_counter()
    folder.mkdir(parents=True, exist_ok=True)
    specs = plan(routes, blueprints, ported)
    table = {
        "routes": [
            {
                "endpoint": r.endpoint,
                "blueprint": r.blueprint,
                "local_rule": r.local_rule,
                "methods": list(r.methods),
                "template": r.template,
                "fastapi_path": r.fastapi_path,
                "ported": r.ported,
            }
            for r in specs
        ]
    }
    (folder / DATA_FILE).write_text(json.dumps(table), encoding="utf-8")
    (folder / f"{LEGACY_MODULE}.py").write_text(
        LEGACY_SOURCE.format(routes=len(specs), blueprints=blueprints, data=DATA_FILE),
        encoding="utf-8",
    )
    ported_count = sum(r.ported for r in specs)
    (folder / f"{MODERN_MODULE}.py").write_text(
        modern_source(modern_style, ported_count), encoding="utf-8"
    )
    (folder / REGISTRY_FILE).write_text(registry_text(specs), encoding="utf-8")
    contracts = folder / CONTRACTS_DIR
    contracts.mkdir(exist_ok=True)
    by_endpoint: dict[str, list[RouteSpec]] = {}
    for route in specs:
        if route.ported:
            by_endpoint.setdefault(route.endpoint, []).append(route)
    for endpoint, endpoint_routes in by_endpoint.items():
        (contracts / f"{endpoint}.yaml").write_text(
            case_file_text(endpoint_routes), encoding="utf-8"
        )
    timings["write_s"] = time.perf_counter() - clock
    if store:
        clock = time.perf_counter()
        record_runs(folder, specs)
        timings["store_s"] = time.perf_counter() - clock
    return LargeApp(folder.resolve(), specs, modern_style, timings)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write the large benchmark app into FOLDER.")
    parser.add_argument("folder", type=Path)
    parser.add_argument("--routes", type=int, default=5000, help="legacy rules (5000)")
    parser.add_argument("--blueprints", type=int, default=50, help="blueprints (50)")
    parser.add_argument("--ported", type=float, default=0.3, help="share ported (0.3)")
    parser.add_argument("--modern-style", choices=MODERN_STYLES, default="starlette")
    parser.add_argument("--no-store", action="store_true", help="record no contract run")
    args = parser.parse_args(argv)
    big = build(
        args.folder,
        routes=args.routes,
        blueprints=args.blueprints,
        ported=args.ported,
        modern_style=args.modern_style,
        store=not args.no_store,
    )
    print(big.describe())
    print(f"cd {big.folder} && python -m routeshift check")
    return 0


if __name__ == "__main__":
    sys.exit(main())
