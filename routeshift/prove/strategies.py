"""Hypothesis strategies for requests to a FastAPI route, from its OpenAPI operation.

    path parameters   values of their annotation at the edges (0, -1, 2**31, 2**63, ...),
                      odd spellings ("01", "-0", "+1"), one segment that needs
                      percent-encoding (never "", "." or ".."); `{x:path}` several segments
    query parameters  absent or present, with values of their type and junk
    JSON bodies       valid ones from the schema (objects and arrays built here, values by
                      hypothesis-jsonschema), and invalid ones: wrong type, missing key,
                      bounds, extra key, other JSON, not JSON, no body

Pure: knows no registry, legacy app or harness (routeshift.prove.generated adds those).

One module: the path, query and body strategies are drawn from one Operation and share
the schema helpers and the edge values (EDGE_INTS, ODD_TEXT, ...), and `strategy_for`
joins them into cases; reading the OpenAPI operation (`operation_of`) is here because
only these strategies use it.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from fastapi.openapi.utils import get_openapi

from routeshift.errors import GenerateError

__all__ = [
    "BOOLEANS",
    "CUSTOM_FORMATS",
    "EDGE_FLOATS",
    "EDGE_INTS",
    "JSON_HEADERS",
    "JSON_TYPES",
    "NOT_JSON",
    "ODD_NUMBERS",
    "ODD_SEGMENTS",
    "ODD_TEXT",
    "Body",
    "Operation",
    "Param",
    "Schema",
    "body_strategy",
    "edge_values",
    "integers",
    "invalid_bodies",
    "json_strategy",
    "operation_of",
    "path_strategy",
    "query_strategy",
    "segments",
    "strategy_for",
    "text_values",
]

try:
    from hypothesis import strategies as st
    from hypothesis.strategies import SearchStrategy
    from hypothesis_jsonschema import from_schema
except ImportError as exc:  # the `generate` extra is not installed
    raise GenerateError.extra_missing(exc) from None

from routeshift.prove.cases import Case, case

Schema = dict[str, Any]
Body = tuple[str, dict[str, Any]]  # (kind, options of `case()`)

#: Integers where ports go wrong: zero, signs, 32- and 64-bit limits, JSON's 2**53.
EDGE_INTS = (
    0,
    1,
    -1,
    2**31 - 1,
    2**31,
    -(2**31),
    2**53 + 1,
    2**63 - 1,
    2**63,
    -(2**63),
    -(2**63) - 1,
    2**64,
    10**30,
)
EDGE_FLOATS = (0.0, -0.0, 0.5, -1.5, 1e-07, 1e16, 1.7976931348623157e308)
#: Spellings of numbers that one parser takes and another refuses.
ODD_NUMBERS = ("01", "007", "-0", "+1", "1.0", "1e3", "0x10", "1_000", " 1", "")
BOOLEANS = ("true", "false", "True", "1", "0", "yes", "on", "")
#: One path segment each, odd but possible once percent-encoded.
ODD_SEGMENTS = (" ", "%", "%20", "?", "#", "+", "a b", "a.b", "...", "~", ";", ":", "@", "null")
#: Query values that are easy to get wrong: empty, blank, signs, words for null and true.
ODD_TEXT = ("", " ", "0", "-1", "1", "101", "true", "null", "a b", "%")
NOT_JSON = ("{", "nul", "[1,]", '{"a": }', "NaN", "'x'")
JSON_HEADERS = {"Content-Type": "application/json"}
JSON_TYPES = frozenset({"null", "boolean", "integer", "number", "string", "array", "object"})
CUSTOM_FORMATS: dict[str, SearchStrategy[str]] = {"uuid": st.uuids().map(str)}

_PARAMETER = re.compile(r"\{([a-zA-Z_][a-zA-Z0-9_]*)(?::([a-zA-Z_][a-zA-Z0-9_]*))?\}")
_SCALARS: SearchStrategy[Any] = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=10),
)
_ANY_JSON: SearchStrategy[Any] = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)


# --- the modern operation -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Param:
    """A path or query parameter: its name, JSON schema, and whether it is required."""

    name: str
    schema: Schema
    required: bool = True
    multi_segment: bool = False


@dataclass(frozen=True, slots=True)
class Operation:
    """What a request to one modern route holds, from the route's OpenAPI operation."""

    method: str
    path: str
    path_params: tuple[Param, ...]
    query_params: tuple[Param, ...]
    body: Schema | None  # the JSON body's schema, references resolved
    body_required: bool = False

    def __repr__(self) -> str:
        names = ", ".join(p.name for p in (*self.path_params, *self.query_params))
        body = ", body" if self.body is not None else ""
        return f"Operation({self.method} {self.path!r}: {names}{body})"


def operation_of(route: Any, method: str) -> Operation:
    """The operation of a FastAPI route (APIRoute or RouteContext) for one method."""
    path = getattr(route, "path", None)
    if not isinstance(path, str) or not getattr(route, "include_in_schema", False):
        raise GenerateError(
            f"route {path or route!r} is not in the modern app's OpenAPI schema "
            "(not an APIRoute, or include_in_schema=False); generated cases read the "
            "operation from it. Write cases by hand for this route."
        )
    document = get_openapi(title="routeshift", version="0", routes=[route])
    operations: dict[str, Any] = next(iter(document["paths"].values()), {})
    operation = operations.get(method.lower())
    if operation is None:
        raise GenerateError(f"the modern route {path} does not answer {method}.")
    components = document.get("components", {})
    declared = [_inline(p, components) for p in operation.get("parameters", ())]
    multi = {m.group(1) for m in _PARAMETER.finditer(path) if m.group(2) == "path"}
    path_params = tuple(
        Param(p["name"], p.get("schema", {}), True, p["name"] in multi)
        for p in declared
        if p.get("in") == "path"
    )
    query_params = tuple(
        Param(p["name"], p.get("schema", {}), bool(p.get("required")))
        for p in declared
        if p.get("in") == "query"
    )
    body: Schema | None = None
    request_body = operation.get("requestBody")
    if request_body is not None:
        content = request_body.get("content", {})
        if "application/json" not in content:
            kinds = ", ".join(content) or "none"
            raise GenerateError(
                f"the modern route {method} {path} takes a {kinds} body; generated cases "
                "cover JSON bodies only. Write cases by hand for this route."
            )
        body = _inline(content["application/json"].get("schema", {}), components)
    return Operation(
        method.upper(),
        path,
        path_params,
        query_params,
        body,
        bool(request_body and request_body.get("required")),
    )


def _inline(schema: Any, components: Mapping[str, Any], seen: tuple[str, ...] = ()) -> Any:
    """`schema` with every local $ref replaced by what it names."""
    if isinstance(schema, list):
        return [_inline(item, components, seen) for item in schema]
    if not isinstance(schema, dict):
        return schema
    ref = schema.get("$ref")
    if not isinstance(ref, str):
        return {key: _inline(value, components, seen) for key, value in schema.items()}
    name = ref.rpartition("/")[2]
    target = components.get("schemas", {}).get(name)
    if target is None:
        raise GenerateError(f"the OpenAPI schema refers to {ref}, which it does not define.")
    if name in seen:
        raise GenerateError(
            f"model {name} contains itself; generated cases do not cover recursive "
            "models. Write cases by hand for this route."
        )
    rest = {key: value for key, value in schema.items() if key != "$ref"}
    return {**_inline(target, components, (*seen, name)), **_inline(rest, components, seen)}


# --- values ---------------------------------------------------------------------------


def _json_types(schema: Schema) -> frozenset[str]:
    """The JSON types a schema allows (every type when it does not say)."""
    if "const" in schema:
        return frozenset({_type_of(schema["const"])})
    if isinstance(schema.get("enum"), list):
        return frozenset(_type_of(value) for value in schema["enum"])
    kind = schema.get("type")
    if isinstance(kind, str):
        found = {kind}
    elif isinstance(kind, list):
        found = set(kind)
    elif schema.get("anyOf") or schema.get("oneOf"):
        found = set()
        for sub in schema.get("anyOf") or schema.get("oneOf") or ():
            found |= _json_types(sub) if isinstance(sub, dict) else JSON_TYPES
    else:
        return JSON_TYPES
    if "number" in found:
        found.add("integer")
    return frozenset(found)


def _type_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _subschemas(schema: Schema) -> list[Schema]:
    """The schema and its anyOf/oneOf alternatives."""
    alternatives = [*schema.get("anyOf", ()), *schema.get("oneOf", ())]
    return [schema, *(s for s in alternatives if isinstance(s, dict))]


def _render(value: Any) -> str:
    """A JSON value as it is written in a path or a query string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(value)


def integers() -> SearchStrategy[int]:
    """Edge integers first (they shrink to 0), then any."""
    return st.one_of(st.sampled_from(EDGE_INTS), st.integers())


def text_values(schema: Schema, text: SearchStrategy[str]) -> SearchStrategy[str]:
    """Strings for a path or query value of `schema`: its type's values, then `text`."""
    kinds = _json_types(schema)
    options: list[SearchStrategy[str]] = []
    enum = [v for s in _subschemas(schema) for v in s.get("enum", ()) if v is not None]
    if enum:
        options.append(st.sampled_from([_render(v) for v in enum]))
    if kinds != JSON_TYPES:
        if "integer" in kinds:
            options.append(integers().map(str))
        if "number" in kinds:
            options.append(st.one_of(st.sampled_from(EDGE_FLOATS), st.floats()).map(repr))
        if "integer" in kinds or "number" in kinds:
            options.append(st.sampled_from(ODD_NUMBERS))
        if "boolean" in kinds:
            options.append(st.sampled_from(BOOLEANS))
    options.append(text)
    return st.one_of(options)


def segments(unicode: bool = False) -> SearchStrategy[str]:
    """One path segment, before percent-encoding: never "", "." nor ".."."""
    if unicode:
        alphabet = st.characters(codec="utf-8", exclude_categories=("Cc", "Cs"))
    else:
        alphabet = st.characters(min_codepoint=0x20, max_codepoint=0x7E)
    return st.one_of(st.sampled_from(ODD_SEGMENTS), st.text(alphabet, min_size=1, max_size=12))


def _is_segment(value: str) -> bool:
    return value not in ("", ".", "..") and "/" not in value


def path_strategy(operation: Operation, unicode: bool = False) -> SearchStrategy[str]:
    """Percent-encoded paths of the operation's template."""
    params = {p.name: p for p in operation.path_params}
    pieces: list[SearchStrategy[str]] = []
    position = 0
    for match in _PARAMETER.finditer(operation.path):
        pieces.append(st.just(_quote_static(operation.path[position : match.start()])))
        position = match.end()
        param = params.get(match.group(1), Param(match.group(1), {}))
        values = text_values(param.schema, segments(unicode)).filter(_is_segment)
        if param.multi_segment or match.group(2) == "path":
            pieces.append(st.lists(values, min_size=1, max_size=4).map(_join_segments))
        else:
            pieces.append(values.map(lambda value: quote(value, safe="")))
    pieces.append(st.just(_quote_static(operation.path[position:])))
    return st.tuples(*pieces).map("".join)


def _quote_static(part: str) -> str:
    return quote(part, safe="/:@!$&'()*+,;=-._~")


def _join_segments(parts: list[str]) -> str:
    return "/".join(quote(part, safe="") for part in parts)


def query_strategy(params: Sequence[Param]) -> SearchStrategy[dict[str, str | list[str]]]:
    """Query parameters: each absent or present (a required one absent too), any value."""
    if not params:
        return st.just({})
    parts: list[SearchStrategy[str | list[str] | None]] = []
    for param in params:
        value = _query_value(param.schema)
        parts.append(st.one_of(value, st.none()) if param.required else st.one_of(st.none(), value))

    def build(values: tuple[str | list[str] | None, ...]) -> dict[str, str | list[str]]:
        return {p.name: v for p, v in zip(params, values, strict=True) if v is not None}

    return st.tuples(*parts).map(build)


def _query_value(schema: Schema) -> SearchStrategy[str | list[str]]:
    """One value, or a list; a scalar one also twice (parsers keep the first or the last)."""
    text = st.one_of(st.sampled_from(ODD_TEXT), st.text(max_size=12))
    arrays = [s for s in _subschemas(schema) if s.get("type") == "array"]
    if arrays:
        item = arrays[0].get("items", {})
        return st.lists(text_values(item if isinstance(item, dict) else {}, text), max_size=3)
    value = text_values(schema, text)
    return st.one_of(value, st.lists(value, min_size=2, max_size=2))


# --- bodies ---------------------------------------------------------------------------


def body_strategy(schema: Schema | None, required: bool = True) -> SearchStrategy[Body]:
    """Valid JSON bodies of `schema` first, then invalid ones, each with its kind."""
    if schema is None:
        return st.just(("request", {}))
    valid = json_strategy(schema)
    options = [valid.map(_labelled("valid"))]
    if not required:
        options.append(st.just(("no-body", {})))
    options += [bodies.map(_labelled(kind)) for kind, bodies in invalid_bodies(schema, valid)]
    options.append(st.sampled_from(NOT_JSON).map(lambda t: ("not-json", _text_body(t))))
    if required:
        options.append(st.just(("no-body", {})))
    return st.one_of(options)


def json_strategy(schema: Schema) -> SearchStrategy[Any]:
    """Values valid for a JSON schema: objects and arrays built here, every other value
    by hypothesis-jsonschema's `from_schema`.

    (hypothesis-jsonschema 0.23 draws objects with a Hypothesis internal that newer
    Hypothesis releases no longer have, so objects never reach it.)
    """
    if "enum" in schema or "const" in schema:
        return from_schema(schema, custom_formats=CUSTOM_FORMATS)
    alternatives = schema.get("anyOf") or schema.get("oneOf")
    if isinstance(alternatives, list) and alternatives:
        rest = {k: v for k, v in schema.items() if k not in ("anyOf", "oneOf")}
        return st.one_of([json_strategy({**rest, **alt}) for alt in alternatives])
    kinds = _json_types(schema)
    if kinds == JSON_TYPES and "properties" not in schema:
        return _ANY_JSON
    if "properties" in schema or kinds == {"object"}:
        return _objects(schema)
    if kinds == {"array"}:
        return _arrays(schema)
    if kinds & {"object", "array"}:
        return st.one_of([json_strategy({**schema, "type": kind}) for kind in sorted(kinds)])
    return from_schema(schema, custom_formats=CUSTOM_FORMATS)


def _objects(schema: Schema) -> SearchStrategy[dict[str, Any]]:
    properties = schema.get("properties", {})
    required = set(schema.get("required", ()))
    values = {name: json_strategy(sub) for name, sub in properties.items()}
    fixed = st.fixed_dictionaries(
        {name: value for name, value in values.items() if name in required},
        optional={name: value for name, value in values.items() if name not in required},
    )
    additional = schema.get("additionalProperties", True)
    if additional is False:
        return fixed
    names = st.text(min_size=1, max_size=8).filter(lambda name: name not in properties)
    extra = json_strategy(additional) if isinstance(additional, dict) else _SCALARS
    extras = st.dictionaries(names, extra, max_size=2)
    return st.tuples(fixed, extras).map(lambda pair: {**pair[1], **pair[0]})


def _arrays(schema: Schema) -> SearchStrategy[list[Any]]:
    items = schema.get("items", {})
    element = json_strategy(items if isinstance(items, dict) else {})
    low = schema.get("minItems", 0)
    high = schema.get("maxItems", low + 3)
    if schema.get("uniqueItems"):
        unique = st.lists(element, min_size=low, max_size=high, unique_by=_canonical)
        return unique
    return st.lists(element, min_size=low, max_size=high)


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def invalid_bodies(
    schema: Schema, valid: SearchStrategy[Any]
) -> list[tuple[str, SearchStrategy[Any]]]:
    """(kind, bodies) that break `schema` one way each, starting from valid bodies."""
    properties = schema.get("properties")
    kinds: list[tuple[str, SearchStrategy[Any]]] = []
    if isinstance(properties, dict) and properties:
        objects = valid.filter(lambda body: isinstance(body, dict))
        wrong = [
            st.tuples(st.just(name), _wrong_type(sub))
            for name, sub in properties.items()
            if isinstance(sub, dict) and _json_types(sub) != JSON_TYPES
        ]
        if wrong:
            kinds.append(("wrong-type", st.tuples(objects, st.one_of(wrong)).map(_with_key)))
        required = [name for name in schema.get("required", ()) if isinstance(name, str)]
        if required:
            missing = st.tuples(objects, st.sampled_from(required)).map(_without_key)
            kinds.append(("missing-key", missing))
        edges = [
            st.tuples(st.just(name), st.sampled_from(values))
            for name, sub in properties.items()
            if isinstance(sub, dict) and (values := edge_values(sub))
        ]
        if edges:
            kinds.append(("bounds", st.tuples(objects, st.one_of(edges)).map(_with_key)))
        names = st.text(min_size=1, max_size=8).filter(lambda key: key not in properties)
        extra = st.tuples(objects, st.tuples(names, _SCALARS)).map(_with_key)
        kinds.append(("extra-key", extra))
    others = JSON_TYPES - {"object"} if properties else JSON_TYPES - _json_types(schema)
    if others:
        kinds.append(("other-json", st.one_of([_json_values(kind) for kind in sorted(others)])))
    return kinds


def edge_values(schema: Schema) -> list[Any]:
    """Values at and just past a schema's bounds: numbers, lengths and enums."""
    found: list[Any] = []
    for sub in _subschemas(schema):
        whole = sub.get("type") == "integer"
        for key, step in (("minimum", -1), ("maximum", 1)):
            if isinstance(sub.get(key), int | float):
                found += [_number(sub[key], whole), _number(sub[key] + step, whole)]
        for key in ("exclusiveMinimum", "exclusiveMaximum"):
            if isinstance(sub.get(key), int | float):
                found.append(_number(sub[key], whole))
        if isinstance(sub.get("minLength"), int) and sub["minLength"] > 0:
            found.append("x" * (sub["minLength"] - 1))
        if isinstance(sub.get("maxLength"), int):
            found += ["x" * sub["maxLength"], "x" * (sub["maxLength"] + 1)]
        words = [value for value in sub.get("enum", ()) if isinstance(value, str)]
        if words:
            found += [words[0].upper(), words[0] + " ", ""]
    unique: list[Any] = []
    for value in found:
        if not any(value == seen and type(value) is type(seen) for seen in unique):
            unique.append(value)
    return unique


def _number(value: float, whole: bool) -> int | float:
    return math.floor(value) if whole and math.isfinite(value) else float(value)


def _wrong_type(schema: Schema) -> SearchStrategy[Any]:
    allowed = _json_types(schema)
    return st.one_of([_json_values(kind) for kind in sorted(JSON_TYPES - allowed)])


def _json_values(kind: str) -> SearchStrategy[Any]:
    return {
        "null": st.none(),
        "boolean": st.booleans(),
        "integer": integers(),
        "number": st.floats(allow_nan=False, allow_infinity=False),
        "string": st.text(max_size=10),
        "array": st.lists(_SCALARS, max_size=3),
        "object": st.dictionaries(st.text(max_size=5), _SCALARS, max_size=3),
    }[kind]


def _with_key(pair: tuple[dict[str, Any], tuple[str, Any]]) -> dict[str, Any]:
    body, (key, value) = pair
    return {**body, key: value}


def _without_key(pair: tuple[dict[str, Any], str]) -> dict[str, Any]:
    body, key = pair
    return {name: value for name, value in body.items() if name != key}


def _labelled(kind: str) -> Callable[[Any], Body]:
    return lambda value: (kind, _json_body(value))


def _json_body(value: Any) -> dict[str, Any]:
    # httpx sends no body for json=None, so JSON null goes as text
    return _text_body("null") if value is None else {"json": value}


def _text_body(text: str) -> dict[str, Any]:
    return {"body": text, "headers": dict(JSON_HEADERS)}


# --- cases ----------------------------------------------------------------------------


def strategy_for(
    route: Any, endpoint: str, method: str, *, unicode_paths: bool = True
) -> SearchStrategy[Case]:
    """Cases for a FastAPI route (APIRoute or RouteContext), named after `endpoint`.

    Not filtered by the legacy app: `routeshift.prove.generated.generated_cases` is this plus
    that filter.
    """
    operation = operation_of(route, method)

    def build(parts: tuple[str, dict[str, str | list[str]], Body]) -> Case:
        path, query, (kind, options) = parts
        name = "generated" if kind == "request" else f"generated-{kind}"
        return case(endpoint, operation.method, path, id=name, query=query, **options)

    return st.tuples(
        path_strategy(operation, unicode_paths),
        query_strategy(operation.query_params),
        body_strategy(operation.body, operation.body_required),
    ).map(build)
