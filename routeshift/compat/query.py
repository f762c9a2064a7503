"""werkzeug's query semantics as FastAPI dependencies, so a port never answers 422 where
the legacy view used a default.

A legacy view reads `request.args.get("page", 1, type=int)`: a missing or unconvertible
value gives the default and the first of repeated keys wins. A port that declares
`page: int = 1` answers `?page=x` with a 422 and takes the last of repeated keys
(Starlette's parser): differences a client sees. `query_arg` and `query_list` give the
port werkzeug's own answer, `request.args.get(name, default, type=type)` and
`request.args.getlist(name, type=type)`, with the query parsed by werkzeug itself from
the ASGI scope's raw `query_string` (decoded latin-1, as a WSGI server fills
QUERY_STRING). So blank values, `+`, percent-escapes and bad UTF-8 come out as the
installed Werkzeug makes them (3.x keeps `%FF`, 2.x gives U+FFFD), as in the legacy app.

The parameter still belongs in the OpenAPI document. The dependency's signature declares
it to FastAPI as an optional `Any` (a list of strings for `query_list`), which no query and
no default can fail to validate (FastAPI 0.115 validates a default too), with the schema of
`type` attached by pydantic's `WithJsonSchema` for the docs; FastAPI's parsed value is then
ignored and the raw query read instead.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Query
from pydantic import WithJsonSchema
from starlette.requests import HTTPConnection
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Request

__all__ = [
    "query_arg",
    "query_list",
]

#: the JSON schema types of the conversions a legacy view names; any other callable is
#: documented as the string the query carries
_SCHEMA_TYPES: dict[object, str] = {None: "string", str: "string", int: "integer", float: "number"}
#: defaults that can stand in the document (pydantic warns about any other)
_JSON_SCALARS = (str, int, float, bool)


@functools.lru_cache(maxsize=256)
def _args(query_string: bytes) -> MultiDict[str, str]:
    """`request.args` of a legacy request with this raw query string (immutable, so one
    parse serves every dependency of a request and every request with the same query)."""
    return Request({"QUERY_STRING": query_string.decode("latin-1")}).args


def _schema(type: Callable[[str], Any] | None) -> dict[str, Any]:
    return {"type": _SCHEMA_TYPES.get(type, "string")}


class _QueryDependency:
    """One query parameter read werkzeug's way; FastAPI sees `__signature__` only."""

    __slots__ = ("name", "default", "type", "many", "description")

    def __init__(
        self,
        name: str,
        default: Any,
        type: Callable[[str], Any] | None,
        *,
        many: bool,
        description: str | None,
    ) -> None:
        self.name = name
        self.default = default
        self.type = type
        self.many = many
        self.description = description

    async def __call__(self, connection: HTTPConnection, declared: object = None) -> Any:
        args = _args(connection.scope.get("query_string", b""))
        if self.type is None:
            return args.getlist(self.name) if self.many else args.get(self.name, self.default)
        if self.many:
            return args.getlist(self.name, type=self.type)
        return args.get(self.name, self.default, type=self.type)

    @property
    def __signature__(self) -> inspect.Signature:
        schema = _schema(self.type)
        if self.many:
            schema = {"type": "array", "items": schema}
        declared: Any = list[str] | None if self.many else Any
        documented = self.default if isinstance(self.default, _JSON_SCALARS) else None
        annotation = Annotated[
            declared,
            Query(alias=self.name, description=self.description),
            WithJsonSchema(schema),
        ]
        return inspect.Signature(
            [
                inspect.Parameter(
                    "connection", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=HTTPConnection
                ),
                inspect.Parameter(
                    "declared",
                    inspect.Parameter.KEYWORD_ONLY,
                    default=documented,
                    annotation=annotation,
                ),
            ]
        )

    def __repr__(self) -> str:
        type_name = getattr(self.type, "__name__", repr(self.type))
        if self.many:
            return f"query_list({self.name!r}, type={type_name})"
        return f"query_arg({self.name!r}, {self.default!r}, type={type_name})"


def query_arg(
    name: str,
    default: Any = None,
    type: Callable[[str], Any] | None = None,
    *,
    description: str | None = None,
) -> Callable[..., Any]:
    """A dependency giving `request.args.get(name, default, type=type)` as werkzeug does:
    the first value of a repeated key, `default` when the key is missing or `type` raises
    ValueError (or TypeError, from Werkzeug 3.0.2). Use it as
    `page: Annotated[int, Depends(query_arg("page", 1, type=int))]`."""
    return _QueryDependency(name, default, type, many=False, description=description)


def query_list(
    name: str,
    type: Callable[[str], Any] | None = None,
    *,
    description: str | None = None,
) -> Callable[..., Any]:
    """A dependency giving `request.args.getlist(name, type=type)` as werkzeug does: every
    value in order, those that `type` cannot convert (ValueError; TypeError too from
    Werkzeug 3.1) skipped, `[]` when the key is missing."""
    return _QueryDependency(name, None, type, many=True, description=description)
