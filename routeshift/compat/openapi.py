"""One OpenAPI document for the API while it moves (design, "One OpenAPI document").

A client reads one API, whichever side serves each route. The document is the modern
app's own, as FastAPI generates it, with every (rule, method) legacy still serves put
in: for each path and method, a route the registry has in modern or canary state and
the modern app documents keeps the modern operation; a route in legacy or shadow state
(or not in the registry) gets an operation made from the legacy rule, in place of a
modern one at the same path and method, so promoting a route changes its entry and
nothing else. Operations of modern-only routes stay as generated. Every operation says
its state in `x-routeshift-state` (legacy, shadow, canary, modern).

A legacy operation is what the legacy app itself knows of a route: its path parameters
typed by their werkzeug converters (custom converters by the built-in one they extend,
else a string), `tags: [<blueprint>]`, a summary made from the endpoint as FastAPI
makes one from a function's name, the view's docstring as description, and one
response, "Served by the legacy Flask app".

Pure: `legacy_operations` and `merge_openapi` work over plain data (the routes, the
registry, the url_map's converter classes and the view functions); `MergedDocument`
keeps the merged bytes of one registry per root_path. Fetching the modern app's own
document and answering with the merged one is the gateway's (routeshift.serve).
"""

from __future__ import annotations

import copy
import functools
import inspect
import json
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from werkzeug.routing import (
    AnyConverter,
    FloatConverter,
    IntegerConverter,
    UnicodeConverter,
    UUIDConverter,
    parse_converter_args,
)

from routeshift.registry.model import Entry, Registry, State
from routeshift.routes import RULE_VARIABLE, LegacyRoute

__all__ = [
    "LEGACY_RESPONSE",
    "STATE_KEY",
    "LegacyOperation",
    "MergedDocument",
    "legacy_operations",
    "merge_openapi",
    "parameter_schema",
    "path_parameters",
    "view_description",
]

#: the extension that says who serves an operation
STATE_KEY = "x-routeshift-state"
#: the one response a legacy operation documents
LEGACY_RESPONSE: Mapping[str, str] = {"description": "Served by the legacy Flask app"}
#: the operations of an OpenAPI path item, in FastAPI's order
_OPERATIONS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
#: the states whose routes the modern app serves (canary: for some of the cohorts)
_MODERN_STATES = frozenset({State.MODERN, State.CANARY})
#: a FastAPI path parameter with a convertor ({name:path}): OpenAPI writes it {name}
_CONVERTOR = re.compile(r"\{([^{}:]+):[^{}]*\}")
#: documents kept per root_path (a root_path from a proxy's header is not ours to trust)
_KEPT = 16


@dataclass(frozen=True, slots=True)
class LegacyOperation:
    """One (rule, method) of the legacy app, as the merged document shows it.

    `path` is the OpenAPI path (`/files/{name}`); `state` the registry's, None for a
    route the registry does not list; `parameters` OpenAPI parameter objects.
    """

    endpoint: str
    method: str
    path: str
    state: State | None
    parameters: tuple[Mapping[str, Any], ...] = ()
    description: str | None = None

    @property
    def state_name(self) -> str:
        return (self.state or State.LEGACY).value

    def operation(self, operation_id: str) -> dict[str, Any]:
        """The OpenAPI operation object, with `operation_id` (unique in the document)."""
        blueprint, _, name = self.endpoint.rpartition(".")
        found: dict[str, Any] = {}
        if blueprint:
            found["tags"] = [blueprint]
        found["summary"] = name.replace("_", " ").title()
        if self.description:
            found["description"] = self.description
        found["operationId"] = operation_id
        if self.parameters:
            found["parameters"] = [dict(parameter) for parameter in self.parameters]
        found["responses"] = {"default": dict(LEGACY_RESPONSE)}
        return found

    def __repr__(self) -> str:
        return f"LegacyOperation({self.method} {self.path!r}, {self.endpoint!r}, {self.state_name})"


def parameter_schema(
    converter: type | None, args: Sequence[Any] = (), kwargs: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The JSON schema of a path parameter that werkzeug's `converter` class takes, given
    the converter's arguments in the rule (`int(min=1)`: args (), kwargs {"min": 1})."""
    given = _arguments(converter, args, kwargs or {})
    if converter is None:
        return {"type": "string"}
    if issubclass(converter, AnyConverter):
        return {"type": "string", "enum": [str(item) for item in given.get("items", ())]}
    if issubclass(converter, UUIDConverter):
        return {"type": "string", "format": "uuid"}
    if issubclass(converter, IntegerConverter):
        return _bounded({"type": "integer"}, given)
    if issubclass(converter, FloatConverter):
        return _bounded({"type": "number"}, given)
    if issubclass(converter, UnicodeConverter):
        schema: dict[str, Any] = {"type": "string"}
        length = given.get("length")
        if length is not None:
            return {**schema, "minLength": length, "maxLength": length}
        if "minlength" in given:
            schema["minLength"] = given["minlength"]
        if given.get("maxlength") is not None:
            schema["maxLength"] = given["maxlength"]
        return schema
    return {"type": "string"}  # path, and a custom converter of its own


def path_parameters(
    rule: str, converters: Mapping[str, type], names: Iterable[str] | None = None
) -> tuple[dict[str, Any], ...]:
    """The path parameter objects of a werkzeug rule, typed by `converters` (the
    url_map's, by name). `names`: the parameters of the documented path, when it is not
    the rule's translation (a modern_path); one it lacks is left out, one the rule lacks
    is a string."""
    found: dict[str, dict[str, Any]] = {}
    for match in RULE_VARIABLE.finditer(rule):
        name = match.group("name")
        args: Sequence[Any] = ()
        kwargs: Mapping[str, Any] = {}
        if match.group("args"):
            try:
                args, kwargs = parse_converter_args(match.group("args"))
            except ValueError:  # werkzeug would not take the rule either; type it loosely
                pass
        converter = converters.get(match.group("converter") or "default")
        found[name] = _parameter(name, parameter_schema(converter, args, kwargs))
    if names is None:
        return tuple(found.values())
    return tuple(found.get(n) or _parameter(n, {"type": "string"}) for n in names)


def legacy_operations(
    routes: Iterable[LegacyRoute],
    registry: Registry,
    converters: Mapping[str, type],
    views: Mapping[str, Callable[..., Any]],
) -> tuple[LegacyOperation, ...]:
    """One LegacyOperation per (rule, method) of the legacy app's routes: the routes
    of the migration only (no static files, no rule without a view, no HEAD or OPTIONS),
    each at its port's path (the entry's modern_path, else the rule's translation,
    `LegacyRoute.fastapi_path`). `converters` and `views` are the Flask app's
    `url_map.converters` and `view_functions`."""
    entries: dict[tuple[str, str, str], Entry] = {}
    for listed in registry.routes:
        if not listed.retired:
            entries.update(((listed.endpoint, listed.rule, m), listed) for m in listed.methods)
    found = []
    for route in routes:
        if not route.is_counted:
            continue
        for method in sorted(route.methods):
            if method.lower() not in _OPERATIONS:
                continue
            entry = entries.get((route.endpoint, route.rule, method))
            path = (entry.modern_path if entry is not None else None) or route.fastapi_path
            path = _CONVERTOR.sub(r"{\1}", path)
            names = re.findall(r"\{([^{}]+)\}", path)
            found.append(
                LegacyOperation(
                    endpoint=route.endpoint,
                    method=method,
                    path=path,
                    state=entry.state if entry is not None else None,
                    parameters=path_parameters(route.rule, converters, names),
                    description=view_description(views.get(route.endpoint), method),
                )
            )
    return tuple(found)


def view_description(view: Callable[..., Any] | None, method: str) -> str | None:
    """A view's docstring, cleaned as FastAPI cleans a handler's (up to a form feed); a
    class-based view's method docstring before its class's."""
    if view is None:
        return None
    while isinstance(view, functools.partial):
        view = view.func
    doc = None
    view_class = getattr(view, "view_class", None)
    if view_class is not None:
        doc = getattr(getattr(view_class, method.lower(), None), "__doc__", None)
    doc = doc or getattr(view, "__doc__", None)
    if not isinstance(doc, str):
        return None
    return inspect.cleandoc(doc).split("\f")[0].strip() or None


def merge_openapi(modern: Mapping[str, Any], legacy: Sequence[LegacyOperation]) -> dict[str, Any]:
    """The modern app's document with the legacy operations merged in (a new document;
    `modern` is left as it was). The first rule of a path and method wins."""
    document = copy.deepcopy(dict(modern))
    paths: dict[str, Any] = document.setdefault("paths", {})
    states: dict[tuple[str, str], str] = {}
    generated: list[LegacyOperation] = []
    for operation in legacy:
        key = (operation.path, operation.method.lower())
        if key in states:
            continue
        states[key] = operation.state_name
        if operation.state not in _MODERN_STATES or _operation(paths, *key) is None:
            generated.append(operation)
    replaced = {(op.path, op.method.lower()) for op in generated}
    taken = {
        found["operationId"]
        for path, method, found in _operations(paths)
        if (path, method) not in replaced and isinstance(found.get("operationId"), str)
    }
    for operation in generated:
        item = paths.setdefault(operation.path, {})
        item[operation.method.lower()] = operation.operation(_unique_id(operation, taken))
    for path, method, found in _operations(paths):
        found[STATE_KEY] = states.get((path, method), State.MODERN.value)
    return document


class MergedDocument:
    """The merged document of one registry, as JSON bytes, kept per root_path for as
    long as the modern app's own document there stays the same.

    `path` is the modern app's openapi_url. `operations()` gives the legacy operations;
    it is called once, on first use, so a gateway that never serves its document never
    pays for it. A new registry is a new MergedDocument (the gateway's Routing has one).
    """

    __slots__ = ("path", "_source", "_operations", "_kept", "_lock")

    def __init__(self, path: str, operations: Callable[[], Sequence[LegacyOperation]]) -> None:
        self.path = path
        self._source = operations
        self._operations: Sequence[LegacyOperation] | None = None
        self._kept: OrderedDict[str, tuple[bytes, bytes]] = OrderedDict()
        # render runs in worker threads (the gateway merges off the event loop)
        self._lock = threading.Lock()

    @property
    def operations(self) -> Sequence[LegacyOperation]:
        if self._operations is None:
            self._operations = tuple(self._source())
        return self._operations

    def render(self, modern_body: bytes, root_path: str = "") -> bytes | None:
        """The merged document for the modern app's answer `modern_body` at `root_path`,
        or None when that answer is not an OpenAPI document (then it is served as is)."""
        with self._lock:
            kept = self._kept.get(root_path)
            if kept is not None and kept[0] == modern_body:
                self._kept.move_to_end(root_path)
                return kept[1]
        try:
            modern = json.loads(modern_body)
        except ValueError:
            return None
        if not isinstance(modern, dict) or not isinstance(modern.get("paths", {}), dict):
            return None
        merged = _json(merge_openapi(modern, self.operations))
        with self._lock:
            self._kept[root_path] = (modern_body, merged)
            self._kept.move_to_end(root_path)
            while len(self._kept) > _KEPT:
                self._kept.popitem(last=False)
        return merged

    def __repr__(self) -> str:
        return f"MergedDocument({self.path!r})"


def _arguments(
    converter: type | None, args: Sequence[Any], kwargs: Mapping[str, Any]
) -> dict[str, Any]:
    """The converter's arguments by name, as given in the rule; {} when they do not fit
    its signature (a custom subclass that takes others)."""
    if converter is None:
        return {}
    try:
        bound = inspect.signature(converter).bind(None, *args, **kwargs)
    except (TypeError, ValueError):
        return {}
    return dict(bound.arguments)


def _bounded(schema: dict[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
    """min and max of werkzeug's number converters; unsigned ones take no minus sign."""
    low, high = given.get("min"), given.get("max")
    if not given.get("signed", False):
        low = 0 if low is None else max(low, 0)
    if low is not None:
        schema["minimum"] = low
    if high is not None:
        schema["maximum"] = high
    return schema


def _parameter(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    titled = {**schema, "title": name.replace("_", " ").title()}
    return {"name": name, "in": "path", "required": True, "schema": titled}


def _operation(paths: Mapping[str, Any], path: str, method: str) -> dict[str, Any] | None:
    item = paths.get(path)
    found = item.get(method) if isinstance(item, dict) else None
    return found if isinstance(found, dict) else None


def _operations(paths: Mapping[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, found)
        for path, item in paths.items()
        if isinstance(item, dict)
        for method, found in item.items()
        if method in _OPERATIONS and isinstance(found, dict)
    ]


def _unique_id(operation: LegacyOperation, taken: set[str]) -> str:
    base = re.sub(r"\W", "_", f"legacy_{operation.endpoint}_{operation.method.lower()}")
    candidate, number = base, 1
    while candidate in taken:
        number += 1
        candidate = f"{base}_{number}"
    taken.add(candidate)
    return candidate


def _json(document: Mapping[str, Any]) -> bytes:
    """As Starlette's JSONResponse renders FastAPI's own document."""
    text = json.dumps(document, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return text.encode("utf-8")
