"""A werkzeug rule as a FastAPI path with typed parameters (pure)."""

from __future__ import annotations

import json
import keyword
import re
import uuid
from dataclasses import dataclass

from werkzeug.routing import parse_converter_args

from routeshift.routes import RULE_VARIABLE, to_fastapi_path

__all__ = [
    "PathParameter",
    "PathTranslation",
    "example_values",
    "py_str",
    "translate_rule",
]

#: a value of each converter that its rule accepts (werkzeug builds the path from it)
_EXAMPLES: dict[str, object] = {
    "int": 1,
    "float": 1.5,
    "uuid": uuid.UUID("00000000-0000-4000-8000-000000000001"),
    "path": "a/b",
}

_CONVERTER_TYPES = {
    "default": "str",
    "string": "str",
    "path": "str",
    "int": "int",
    "float": "float",
    "uuid": "uuid.UUID",
}


@dataclass(frozen=True, slots=True)
class PathParameter:
    """One variable of a rule: werkzeug's converter and the handler's type for it."""

    name: str
    converter: str
    arguments: str = ""
    annotation: str = "str"

    @property
    def python_name(self) -> str:
        return self.name + "_" if keyword.iskeyword(self.name) else self.name

    @property
    def werkzeug(self) -> str:
        """The converter as written in the rule: `int`, `int(min=1)`, `any(a, b)`."""
        return f"{self.converter}({self.arguments})" if self.arguments else self.converter

    def __repr__(self) -> str:
        return f"PathParameter({self.name!r}, {self.werkzeug} -> {self.annotation})"


@dataclass(frozen=True, slots=True)
class PathTranslation:
    """A werkzeug rule as a FastAPI path with its typed parameters."""

    rule: str
    path: str
    parameters: tuple[PathParameter, ...]


def translate_rule(rule: str, path: str | None = None) -> PathTranslation:
    """`/users/<int:user_id>` -> `/users/{user_id}` with `user_id: int`.

    int -> int, float -> float, string and plain `<x>` -> str, path -> str as `{x:path}`,
    uuid -> uuid.UUID, any(a, b) -> Literal["a", "b"]; other converters -> str.
    `path` is the rule's FastAPI path as discovery translated it
    (`LegacyRoute.fastapi_path`, which knows the app's custom converters); without it,
    `routeshift.routes.to_fastapi_path(rule)`.
    """
    parameters = tuple(_parameter(match) for match in RULE_VARIABLE.finditer(rule))
    return PathTranslation(rule, path if path is not None else to_fastapi_path(rule), parameters)


def _parameter(match: re.Match[str]) -> PathParameter:
    converter = match.group("converter") or "default"
    arguments = (match.group("args") or "").strip()
    annotation = _annotation(converter, arguments)
    return PathParameter(match.group("name"), converter, arguments, annotation)


def _annotation(converter: str, arguments: str) -> str:
    if converter == "any":
        try:
            options, _ = parse_converter_args(arguments)
        except ValueError:
            options = ()
        if options:
            return "Literal[" + ", ".join(py_str(str(o)) for o in options) + "]"
    return _CONVERTER_TYPES.get(converter, "str")


def py_str(text: str) -> str:
    """A Python string literal in double quotes (ruff format's choice)."""
    return json.dumps(text, ensure_ascii=False)


def example_values(translation: PathTranslation) -> dict[str, object]:
    """A value for each variable of the rule, of its converter's kind: 1, 1.5, a UUID,
    `a/b` for a path, an `any` converter's first choice, `example` for a string (of the
    `length` it asks). The caller builds the path with werkzeug and checks it routes."""
    values: dict[str, object] = {}
    for parameter in translation.parameters:
        args: tuple[object, ...] = ()
        kwargs: dict[str, object] = {}
        if parameter.arguments:
            try:
                args, kwargs = parse_converter_args(parameter.arguments)
            except ValueError:
                pass
        if parameter.converter == "any" and args:
            values[parameter.name] = str(args[0])
        elif parameter.converter in _EXAMPLES:
            values[parameter.name] = _EXAMPLES[parameter.converter]
        else:
            length = kwargs.get("length") or kwargs.get("minlength")
            values[parameter.name] = "x" * length if isinstance(length, int) else "example"
    return values
