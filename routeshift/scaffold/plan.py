"""The edge of scaffolding: the route, the samples sent to legacy, where files go.

One module because `plan_scaffold` is one pass (find the route, send the samples, place
the files, note what is missing) and the rest are its steps and the write of its files;
the pure parts (the text, the rule, the shapes) are render, rules and shapes.
"""

from __future__ import annotations

import importlib.util
import keyword
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from werkzeug.exceptions import HTTPException
from werkzeug.routing import BuildError

from routeshift.apps.pair import Apps
from routeshift.errors import ScaffoldError, ScaffoldExists, did_you_mean, display_path
from routeshift.prove.cases import Case, case, load_cases
from routeshift.registry.model import Entry, Registry
from routeshift.routes import LegacyRoute
from routeshift.scaffold.guards import (
    UNAUTHENTICATED,
    guard_comment,
    unauthenticated_case,
    view_guards,
)
from routeshift.scaffold.render import (
    IMPORTED_NAMES,
    HandlerSpec,
    ModuleSpec,
    Sample,
    render_case_file,
    render_module,
)
from routeshift.scaffold.rules import example_values, translate_rule

__all__ = [
    "METHOD_ORDER",
    "RESERVED_NAMES",
    "OutputFile",
    "Package",
    "Scaffold",
    "date_helper",
    "default_module_path",
    "find_route",
    "modern_package",
    "module_name_of",
    "module_stem",
    "plan_scaffold",
    "sample_case",
    "select_methods",
    "write_files",
]

#: The order handlers are written in when a rule serves several methods.
METHOD_ORDER = ("GET", "POST", "PUT", "PATCH", "DELETE")
#: Names a handler cannot take: the module's own.
RESERVED_NAMES = frozenset({"router"}) | IMPORTED_NAMES


@dataclass(frozen=True, slots=True)
class OutputFile:
    """A file the scaffold writes."""

    path: Path
    text: str
    what: str

    def __repr__(self) -> str:
        return f"OutputFile({self.what!r}, {str(self.path)!r}, {len(self.text)} chars)"


@dataclass(frozen=True, slots=True)
class Package:
    """Where the modern app's code lives: a package name ("" for a top-level module's
    folder), its folder, and whether it has a `routers` subpackage."""

    name: str
    folder: Path
    routers: bool = False


@dataclass(frozen=True, slots=True)
class Scaffold:
    """What `plan_scaffold` found and rendered; nothing is written yet."""

    endpoint: str
    route: LegacyRoute
    module: OutputFile
    module_name: str
    case_path: Path
    case_file: OutputFile | None
    samples: tuple[Sample, ...]
    cases_read: int
    cases_written: int
    signatures: tuple[str, ...]
    app_file: Path | None
    notes: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return f"Scaffold({self.endpoint!r}, {self.route.rule!r} -> {str(self.module.path)!r})"

    @property
    def files(self) -> tuple[OutputFile, ...]:
        return (self.module,) if self.case_file is None else (self.module, self.case_file)

    @property
    def include_lines(self) -> tuple[str, str]:
        """The two lines that add the router to the app."""
        parent, _, leaf = self.module_name.rpartition(".")
        first = f"from {parent} import {leaf}" if parent else f"import {leaf}"
        return first, f"app.include_router({leaf}.router)"


def find_route(routes: Sequence[LegacyRoute], endpoint: str, rule: str | None) -> LegacyRoute:
    """The legacy route of `endpoint` (at `rule` when the endpoint has several)."""
    mine = [r for r in routes if r.endpoint == endpoint and r.is_counted]
    if not mine:
        names = sorted({r.endpoint for r in routes if r.is_counted})
        raise ScaffoldError(
            f"{endpoint!r} is not an endpoint of the legacy app.{did_you_mean(endpoint, names)}"
            " `routeshift routes` lists them."
        )
    rules = list(dict.fromkeys(r.rule for r in mine))
    if rule is None and len(rules) > 1:
        raise ScaffoldError(
            f"{endpoint} has {len(rules)} rules ({', '.join(rules)}); choose one with --rule."
        )
    chosen = rule if rule is not None else rules[0]
    same = [r for r in mine if r.rule == chosen]
    if not same:
        raise ScaffoldError(
            f"{endpoint} has no rule {chosen!r} (its rules: {', '.join(rules)})."
            f"{did_you_mean(chosen, rules)}"
        )
    methods = frozenset().union(*(r.methods for r in same))
    return LegacyRoute(
        endpoint, chosen, methods, same[0].arguments, fastapi_path=same[0].fastapi_path
    )


def select_methods(route: LegacyRoute, method: str | None) -> tuple[str, ...]:
    """The methods to write handlers for: `method`, or every method of the rule."""
    served = sorted(route.methods, key=lambda m: (_order(m), m))
    if method is None:
        return tuple(served)
    wanted = method.upper()
    if wanted not in served:
        raise ScaffoldError(
            f"{route.endpoint} {route.rule} does not serve {wanted} "
            f"(it serves {', '.join(served)}).{did_you_mean(wanted, served)}"
        )
    return (wanted,)


def _order(method: str) -> int:
    return METHOD_ORDER.index(method) if method in METHOD_ORDER else len(METHOD_ORDER)


def modern_package(import_string: str) -> Package:
    """The package of the registry's `modern_app` ("modern_api:app" -> modern_api), found
    with importlib's spec; a module inside a package gives that package."""
    module_name = import_string.partition(":")[0]
    spec = _spec(module_name)
    if spec.submodule_search_locations is None and "." in module_name:
        module_name = module_name.rpartition(".")[0]
        spec = _spec(module_name)
    if spec.submodule_search_locations is not None:
        folder = Path(next(iter(spec.submodule_search_locations)))
        routers = _spec(f"{module_name}.routers", missing_ok=True)
        has_routers = routers is not None and routers.submodule_search_locations is not None
        return Package(module_name, folder, has_routers)
    assert spec.origin is not None, "a module found on sys.path has an origin"
    folder = Path(spec.origin).parent
    return Package("", folder, (folder / "routers" / "__init__.py").is_file())


def _spec(name: str, missing_ok: bool = False) -> Any:
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError) as exc:
        raise ScaffoldError(f"cannot find module {name!r}: {exc}") from exc
    if spec is None and not missing_ok:
        raise ScaffoldError(f"cannot find module {name!r} of modern_app.")
    return spec


def default_module_path(package: Package, endpoint: str) -> Path:
    """<package>/routers/<endpoint_underscored>.py, or <package>/<...>.py without routers."""
    folder = package.folder / "routers" if package.routers else package.folder
    return folder / f"{module_stem(endpoint)}.py"


def module_stem(endpoint: str) -> str:
    """users.get_user -> users_get_user (a valid module name)."""
    stem = re.sub(r"\W", "_", endpoint.replace(".", "_"))
    return "_" + stem if stem[:1].isdigit() or keyword.iskeyword(stem) else stem


def module_name_of(path: Path) -> str:
    """The dotted name of the module at `path`: its folders up to the first that is not
    a package (no __init__.py)."""
    parts = [path.stem]
    folder = path.resolve().parent
    while (folder / "__init__.py").is_file() and folder.parent != folder:
        parts.insert(0, folder.name)
        folder = folder.parent
    return ".".join(parts)


def date_helper(package: Package) -> str | None:
    """ "<package>.compat.http_date" when the package has one (read, not imported)."""
    compat = package.folder / "compat.py"
    try:
        source = compat.read_text(encoding="utf-8")
    except OSError:
        return None
    if not re.search(r"^def http_date\(", source, re.MULTILINE):
        return None
    return f"{package.name}.compat.http_date" if package.name else "compat.http_date"


def sample_case(
    endpoint: str, method: str, target: str, headers: Mapping[str, str] | None = None
) -> Case:
    """The case of `--sample PATH` (a query string is kept as the case's query)."""
    parts = urlsplit(target)
    if not parts.path.startswith("/") or parts.scheme or parts.netloc:
        raise ScaffoldError(f"--sample {target!r}: give a path such as /users/1.")
    query: dict[str, str | list[str]] = {
        key: values[0] if len(values) == 1 else values
        for key, values in parse_qs(parts.query, keep_blank_values=True).items()
    }
    return case(endpoint, method, parts.path, id="sample", query=query, headers=headers)


def example_cases(
    apps: Apps, route: LegacyRoute, methods: Sequence[str], headers: Mapping[str, str]
) -> list[Case]:
    """One case per method at the rule's example path (werkzeug builds it from example
    values); none when the rule takes no value of the examples (a custom converter)."""
    adapter = apps.legacy.url_map.bind("localhost")
    values = example_values(translate_rule(route.rule, route.fastapi_path))
    found = []
    for method in methods:
        try:
            path = adapter.build(route.endpoint, values, method=method)
            matched, _ = adapter.match(path, method=method, return_rule=True)
        except (HTTPException, BuildError, ValueError):  # the examples do not fit the rule
            return []
        if str(matched.rule) != route.rule:
            return []
        name = "sample" if len(methods) == 1 else f"sample-{method.lower()}"
        found.append(case(route.endpoint, method, path, id=name, headers=headers))
    return found


def _entry(registry: Registry, route: LegacyRoute) -> Entry | None:
    return next(
        (e for e in registry.routes if e.endpoint == route.endpoint and e.rule == route.rule),
        None,
    )


def plan_scaffold(
    registry: Registry,
    apps: Apps,
    endpoint: str,
    *,
    method: str | None = None,
    rule: str | None = None,
    out: Path | None = None,
    sample: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Scaffold:
    """Find the route, send its samples to legacy and render the files (not written).

    Samples are the cases of <contracts_dir>/<endpoint>.yaml for the chosen methods,
    plus `sample` (a path) when given; with neither, one case per method at the rule's
    example path (`example_cases`). `headers` go with the sample and example requests
    (a token, say). Only GET, HEAD and OPTIONS samples are sent, inside the contracts'
    state hook: the others would write to the legacy app's real data, and are listed in
    a note instead. A case file is rendered whenever none exists: with the new cases, or
    empty with a note on what to write. A guarded view (a decorator that keeps
    `__wrapped__`: login_required) also gets the `unauthenticated` case, the first new
    request without `headers` and cookies; it is written, not sent.
    """
    route = find_route(apps.legacy_routes, endpoint, rule)
    methods = select_methods(route, method)
    entry = _entry(registry, route)
    translation = translate_rule(route.rule, route.fastapi_path)
    case_path = registry.contracts_dir / f"{endpoint}.yaml"
    written = (Path(registry.settings.contracts_dir) / f"{endpoint}.yaml").as_posix()
    from_file = load_cases(case_path, endpoint) if case_path.is_file() else ()
    several_rules = sum(r.endpoint == endpoint for r in apps.legacy_routes) > 1
    cases = [
        c
        for c in from_file
        if c.method in methods and (not several_rules or _at_rule(apps, c, route.rule))
    ]
    new: list[Case] = []
    headers = dict(headers or {})
    if sample is not None:
        new.append(sample_case(endpoint, _sample_method(methods, method), sample, headers))
    elif not cases:  # every method at the rule's example path, for the new case file
        new += example_cases(apps, route, methods, headers)
    elif not any(c.safe for c in cases) and "GET" in methods:  # a GET to learn from
        new += example_cases(apps, route, ["GET"], headers)
    # an unsafe case would write to the legacy app's real data (its real database)
    sent = [c for c in [*cases, *new] if c.safe]
    skipped = [c for c in [*cases, *new] if not c.safe]
    samples = _send(registry, apps, sent)
    package = modern_package(registry.model.modern_app)
    view = _view_name(apps, route)
    spec = ModuleSpec(
        endpoint=endpoint,
        view=_view_ref(apps, endpoint),
        translation=translation,
        handlers=tuple(
            HandlerSpec(m, view if len(methods) == 1 else f"{view}_{m.lower()}", _of(samples, m))
            for m in methods
        ),
        path=entry.modern_path if entry is not None and entry.modern_path else "",
        tag=route.blueprint.rpartition(".")[2],
        source=_source([c for c in cases if c.safe], [c for c in new if c.safe], written),
        date_helper=date_helper(package),
    )
    rendered = render_module(spec)
    module_path = out if out is not None else default_module_path(package, endpoint)
    guards = view_guards(getattr(apps.legacy, "view_functions", {}).get(endpoint))
    written_cases = [*new, unauthenticated_case(new[0], headers)] if guards and new else new
    case_file = None
    if not case_path.exists():
        comments = {UNAUTHENTICATED: guard_comment(guards)} if guards else {}
        text = render_case_file(endpoint, route.rule, written_cases, comments)
        case_file = OutputFile(case_path, text, "contract case file")
    return Scaffold(
        endpoint=endpoint,
        route=route,
        module=OutputFile(module_path, rendered.text, "router module"),
        module_name=module_name_of(module_path),
        case_path=case_path,
        case_file=case_file,
        samples=tuple(samples),
        cases_read=len(cases),
        cases_written=len(written_cases) if case_file is not None else 0,
        signatures=rendered.signatures,
        app_file=_app_file(registry.model.modern_app),
        notes=tuple(
            _notes(registry, apps, route, methods, entry, spec, samples, case_path)
            + _unsafe_note(skipped)
            + _guard_note(guards, cases if case_file is None else written_cases, case_path)
            + _placement(registry, package, module_path)
        ),
    )


def _at_rule(apps: Apps, item: Case, rule: str) -> bool:
    """True when the legacy app's own Map sends the case to `rule` (or to no rule)."""
    adapter = apps.legacy.url_map.bind("localhost")
    try:
        matched, _ = adapter.match(item.path, method=item.method, return_rule=True)
    except HTTPException:  # NotFound, MethodNotAllowed, RequestRedirect: still a sample
        return True
    return str(matched.rule) == rule


def _sample_method(methods: Sequence[str], chosen: str | None) -> str:
    if chosen is not None:
        return chosen.upper()
    if "GET" in methods:
        return "GET"
    if len(methods) == 1:
        return methods[0]
    raise ScaffoldError(
        f"the rule serves {', '.join(methods)}; choose the method of --sample with --method."
    )


def _send(registry: Registry, apps: Apps, cases: Sequence[Case]) -> list[Sample]:
    """Each safe case (GET, HEAD, OPTIONS) sent to the legacy app in-process inside the
    contracts' state hook (routeshift.prove.sampling); an unsafe case is never sent: it
    would write to legacy's real data."""
    cases = [c for c in cases if c.safe]
    if not cases:
        return []
    # the harness and pytest: imported only when samples are sent
    from routeshift.prove.harness import Harness
    from routeshift.prove.sampling import send_to_legacy

    harness = Harness(registry, apps, find_noise=False)
    try:
        replies = send_to_legacy(registry, harness, cases)
    finally:
        harness.close()
    return [
        Sample(item.id, item.method, item.path, reply)
        for item, reply in zip(cases, replies, strict=True)
    ]


def _of(samples: Iterable[Sample], method: str) -> tuple[Sample, ...]:
    return tuple(s for s in samples if s.method == method)


def _view_name(apps: Apps, route: LegacyRoute) -> str:
    """The legacy view function's name, as a name that is free in the module."""
    function = getattr(apps.legacy, "view_functions", {}).get(route.endpoint)
    name = getattr(function, "__name__", "") or route.endpoint.rpartition(".")[2]
    name = re.sub(r"\W", "_", name)
    if not name.isidentifier() or keyword.iskeyword(name):
        name = "view_" + name.lstrip("_")
    return name + "_view" if name in RESERVED_NAMES else name


def _view_ref(apps: Apps, endpoint: str) -> str:
    function = getattr(apps.legacy, "view_functions", {}).get(endpoint)
    module = getattr(function, "__module__", None)
    qualname = getattr(function, "__qualname__", None)
    return f"{module}.{qualname}" if module and qualname else endpoint


def _source(cases: Sequence[Case], new: Sequence[Case], case_file: str) -> str:
    requests = [f"{c.method} {c.path}" for c in new]
    if cases and new:
        return (
            f"The response types come from legacy's answers to the cases in {case_file} "
            f"and to {', '.join(requests)}."
        )
    if cases:
        return f"The response types come from legacy's answers to the cases in {case_file}."
    if new:
        return f"The response types come from legacy's answer to {', '.join(requests)}."
    return (
        f"No sample was sent to legacy: add cases to {case_file} or pass --sample PATH, "
        "then scaffold again with --force."
    )


def _app_file(import_string: str) -> Path | None:
    spec = _spec(import_string.partition(":")[0], missing_ok=True)
    origin = getattr(spec, "origin", None)
    return Path(origin) if origin else None


def _notes(
    registry: Registry,
    apps: Apps,
    route: LegacyRoute,
    methods: Sequence[str],
    entry: Entry | None,
    spec: ModuleSpec,
    samples: Sequence[Sample],
    case_path: Path,
) -> list[str]:
    notes = []
    if entry is None:
        notes.append(
            f"{route.endpoint} {route.rule} has no entry in {display_path(registry.path)}: add one "
            "(state: legacy) or run `routeshift sync`."
        )
    modern = registry.model.modern_app
    for method in methods:
        if (spec.fastapi_path, method) in apps.handlers:
            notes.append(f"{modern} already answers {method} {spec.fastapi_path}.")
    if not samples:
        notes.append(
            f"no sample was sent to legacy, so the response type is unknown: add cases to "
            f"{display_path(case_path)} or pass --sample PATH, then scaffold again with --force."
        )
    elif not any(200 <= s.reply.status < 300 for s in samples):
        statuses = ", ".join(sorted({str(s.reply.status) for s in samples}))
        auth = any(s.reply.status in (401, 403) for s in samples)
        hint = (
            " Behind auth, send what a client sends: --header 'Authorization: Bearer TOKEN' "
            "(or a state hook in the contracts' conftest.py that logs in)."
            if auth
            else ""
        )
        notes.append(
            f"legacy answered no sample with success ({statuses}), so the response type is "
            f"unknown: add a case (or --sample PATH) that succeeds.{hint}"
        )
    return notes


def _unsafe_note(skipped: Sequence[Case]) -> list[str]:
    """Why the unsafe cases were not sent, and how to get samples anyway."""
    if not skipped:
        return []
    listed = ", ".join(f"{c.id} ({c.method} {c.path})" for c in skipped)
    return [
        f"not sent to legacy: {listed}. Scaffolding sends only GET, HEAD and OPTIONS, "
        "because a POST, PUT, PATCH or DELETE would write to the legacy app's real data. "
        "For a sample, pass --sample PATH of a GET, or take the answers of the contract "
        "run (routeshift contract, with the state hook of the contracts folder)."
    ]


def _guard_note(guards: tuple[str, ...], cases: Sequence[Case], case_path: Path) -> list[str]:
    """What a port of a guarded view must keep, and the case that proves it."""
    if not guards:
        return []
    names = ", ".join(guards)
    said = f"the view is decorated ({names}): its port must refuse the requests legacy refuses"
    if any(c.id == UNAUTHENTICATED for c in cases):
        return [
            f"{said}; the case {UNAUTHENTICATED!r} sends a request without credentials, and "
            "the contract fails when the port lets it through."
        ]
    return [
        f"{said}; add a case {UNAUTHENTICATED!r} to {display_path(case_path)}: a request "
        "without credentials, which the contract fails when the port lets it through."
    ]


def _placement(registry: Registry, package: Package, module_path: Path) -> list[str]:
    """A note when the module is where the app cannot import it as printed."""
    root = module_path.resolve().parent
    while (root / "__init__.py").is_file() and root.parent != root:
        root = root.parent
    importable = {registry.folder.resolve(), Path.cwd().resolve(), package.folder.parent.resolve()}
    if root in importable:
        return []
    return [
        f"{display_path(module_path)} is outside the app's package: move it there, or put "
        f"{display_path(root)} on sys.path, for the import below to work."
    ]


def write_files(files: Iterable[OutputFile], *, force: bool = False) -> list[Path]:
    """Write the files; refuse (ScaffoldExists) when one exists and `force` is False."""
    files = list(files)
    existing = [f.path for f in files if f.path.exists()]
    if existing and not force:
        raise ScaffoldExists(existing)
    for item in files:
        item.path.parent.mkdir(parents=True, exist_ok=True)
        item.path.write_text(item.text, encoding="utf-8")
    return [item.path for item in files]
