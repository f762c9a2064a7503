"""What JSON samples look like: shapes merged across samples, planned as Pydantic models.

Pure: `infer_shape(samples)` merges the JSON values a route answered into one `Shape`;
`plan_models(shape, hint)` names the objects in it and returns the annotation of the
whole with the models to declare, children first. The rules:

- bool, int, float, str as seen; int and float together are float; null adds `| None`;
- an object is a model (nested objects are nested models); a key missing from some of
  the objects is optional with the default None;
- a list is `list[...]` of its items merged; a list that was always empty is `list[Any]`;
- a string that is always an RFC 822 date ("Tue, 02 Jan 2024 03:04:05 GMT", what Flask
  writes for a datetime) stays `str`, with a comment that a datetime needs a serializer.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import reduce
from typing import Any

from pydantic import BaseModel

__all__ = [
    "DATE_COMMENT",
    "RESERVED_FIELDS",
    "SCALARS",
    "FieldShape",
    "Model",
    "ModelField",
    "ModelPlanner",
    "Shape",
    "camel",
    "field_name",
    "infer_shape",
    "is_http_date",
    "item_name",
    "merge",
    "plan_models",
    "shape_of",
]

#: Scalar kinds in the order they are written in a union; "date" is written as str.
SCALARS = ("bool", "int", "float", "str", "date")

_RFC822 = re.compile(
    r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} "
    r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} (GMT|[+-]\d{4})$"
)

#: Names a field cannot take in a generated module: BaseModel's own attributes (Pydantic
#: warns), and the names the module's annotations use.
RESERVED_FIELDS = frozenset(dir(BaseModel)) | {
    "Any",
    "BaseModel",
    "ConfigDict",
    "Field",
    "Literal",
    "bool",
    "dict",
    "float",
    "int",
    "list",
    "str",
    "uuid",
}


def is_http_date(value: str) -> bool:
    """True for a date as Flask's JSON provider writes a datetime (RFC 822)."""
    return _RFC822.match(value) is not None


@dataclass(frozen=True, slots=True)
class FieldShape:
    """One key of the objects merged into a Shape, and in how many of them it was."""

    name: str
    shape: Shape
    seen: int = 1


@dataclass(frozen=True, slots=True)
class Shape:
    """Every kind of value seen at one place of the samples.

    `items` is None when no list was seen, `Shape()` when only empty lists were;
    `fields` is None when no object was seen; `objects` counts the objects merged.
    `Shape()` is the empty shape: merging it changes nothing.
    """

    scalars: frozenset[str] = frozenset()
    nullable: bool = False
    items: Shape | None = None
    fields: tuple[FieldShape, ...] | None = None
    objects: int = 0

    @property
    def is_empty(self) -> bool:
        return self == Shape()

    @property
    def is_date(self) -> bool:
        return self.scalars == {"date"} and self.items is None and self.fields is None

    def field(self, name: str) -> FieldShape:
        for found in self.fields or ():
            if found.name == name:
                return found
        raise KeyError(name)

    def required(self, name: str) -> bool:
        """True when every object merged here had the key."""
        return self.field(name).seen == self.objects

    def __repr__(self) -> str:
        parts = [kind for kind in SCALARS if kind in self.scalars]
        if self.items is not None:
            parts.append(f"list[{self.items!r}]")
        if self.fields is not None:
            inner = ", ".join(
                f"{f.name}{'' if f.seen == self.objects else '?'}: {f.shape!r}" for f in self.fields
            )
            parts.append("{" + inner + "}")
        if self.nullable:
            parts.append("None")
        return " | ".join(parts) or "nothing"


def shape_of(value: Any) -> Shape:
    """The shape of one JSON value."""
    if value is None:
        return Shape(nullable=True)
    if isinstance(value, bool):
        return Shape(scalars=frozenset({"bool"}))
    if isinstance(value, int):
        return Shape(scalars=frozenset({"int"}))
    if isinstance(value, float):
        return Shape(scalars=frozenset({"float"}))
    if isinstance(value, str):
        return Shape(scalars=frozenset({"date" if is_http_date(value) else "str"}))
    if isinstance(value, list):
        return Shape(items=reduce(merge, map(shape_of, value), Shape()))
    if isinstance(value, dict):
        fields = tuple(FieldShape(str(key), shape_of(item)) for key, item in value.items())
        return Shape(fields=fields, objects=1)
    raise TypeError(f"not a JSON value: {type(value).__name__}")


def merge(a: Shape, b: Shape) -> Shape:
    """The shape of values that are either `a` or `b`."""
    scalars = set(a.scalars | b.scalars)
    if "float" in scalars:
        scalars.discard("int")
    if "str" in scalars:
        scalars.discard("date")
    if a.items is None or b.items is None:
        items = a.items if b.items is None else b.items
    else:
        items = merge(a.items, b.items)
    return Shape(
        scalars=frozenset(scalars),
        nullable=a.nullable or b.nullable,
        items=items,
        fields=_merge_fields(a.fields, b.fields),
        objects=a.objects + b.objects,
    )


def _merge_fields(
    a: tuple[FieldShape, ...] | None, b: tuple[FieldShape, ...] | None
) -> tuple[FieldShape, ...] | None:
    if a is None or b is None:
        return a if b is None else b
    merged = {f.name: f for f in a}
    for other in b:
        known = merged.get(other.name)
        merged[other.name] = (
            other
            if known is None
            else FieldShape(other.name, merge(known.shape, other.shape), known.seen + other.seen)
        )
    return tuple(merged.values())


def infer_shape(samples: Iterable[Any]) -> Shape:
    """The shape of every sample merged; `Shape()` when there are none."""
    return reduce(merge, map(shape_of, samples), Shape())


# --- models --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ModelField:
    """One line of a generated model: `name: annotation [= default]`, with comments."""

    name: str
    annotation: str
    alias: str | None = None
    optional: bool = False
    comments: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Model:
    """A Pydantic model to declare."""

    name: str
    fields: tuple[ModelField, ...]

    @property
    def has_aliases(self) -> bool:
        return any(f.alias is not None for f in self.fields)

    @property
    def has_optional(self) -> bool:
        return any(f.optional for f in self.fields)

    def __repr__(self) -> str:
        return f"Model({self.name!r}, [{', '.join(f.name for f in self.fields)}])"


DATE_COMMENT = (
    "Flask writes datetimes as RFC 822 strings; a datetime field here needs a",
    "serializer that writes them so",
)
#: without a helper of the project's: the toolkit's way, Flask's own provider
TOOLKIT_DATE_COMMENT = (
    "Flask writes datetimes as RFC 822 strings: make it a datetime and return",
    "routeshift.compat.FlaskJSONResponse(model), which the legacy app's JSON writes.",
)


@dataclass
class ModelPlanner:
    """Names the objects of shapes as models, unique in one module.

    `date_helper` (e.g. "modern_api.compat.http_date") is named in the comment on date
    fields when the target package has one.
    """

    date_helper: str | None = None
    taken: set[str] = field(default_factory=set)
    models: list[Model] = field(default_factory=list)

    def annotation(self, shape: Shape, hint: str, parent: str = "") -> str:
        """The annotation of `shape`; the models it needs are added to `models`."""
        parts = []
        if shape.fields is not None:
            parts.append(self._model(shape, hint, parent))
        if shape.items is not None:
            inner = "Any" if shape.items.is_empty else None
            parts.append(f"list[{inner or self.annotation(shape.items, item_name(hint), parent)}]")
        for kind in ("bool", "int", "float", "str"):
            if kind in shape.scalars or (kind == "str" and "date" in shape.scalars):
                parts.append(kind)
        if not parts:
            return "Any"
        if shape.nullable:
            parts.append("None")
        return " | ".join(parts)

    def _model(self, shape: Shape, hint: str, parent: str) -> str:
        name = self._unique(hint, parent)
        fields = []
        used: set[str] = set()
        for found in shape.fields or ():
            child = camel(found.name) or "Value"
            py_name = field_name(found.name, used | self.taken | {child})
            used.add(py_name)
            annotation = self.annotation(found.shape, child, name)
            fields.append(
                ModelField(
                    name=py_name,
                    annotation=annotation,
                    alias=None if py_name == found.name else found.name,
                    optional=not shape.required(found.name),
                    comments=self._comments(found, shape),
                )
            )
        self.models.append(Model(name, tuple(fields)))
        return name

    def _comments(self, found: FieldShape, owner: Shape) -> tuple[str, ...]:
        shape = found.shape
        comments: list[str] = []
        if shape.is_date:
            if self.date_helper:
                comments += [DATE_COMMENT[0], f"{DATE_COMMENT[1]} ({self.date_helper})."]
            else:
                comments += list(TOOLKIT_DATE_COMMENT)
        if not shape.scalars and shape.items is None and shape.fields is None:
            comments.append("TODO: only null in the samples; give it its type.")
        kinds = len(shape.scalars) + (shape.items is not None) + (shape.fields is not None)
        if kinds > 1:
            comments.append("TODO: more than one type in the samples; check which are real.")
        if found.seen != owner.objects:
            missing = owner.objects - found.seen
            comments.append(f"missing from {missing} of the {owner.objects} objects in the samples")
        return tuple(comments)

    def _unique(self, hint: str, parent: str) -> str:
        for candidate in (hint, parent + hint):
            if candidate and candidate not in self.taken:
                self.taken.add(candidate)
                return candidate
        number = 2
        while f"{hint}{number}" in self.taken:
            number += 1
        self.taken.add(f"{hint}{number}")
        return f"{hint}{number}"


def plan_models(shape: Shape, hint: str, date_helper: str | None = None) -> tuple[str, list[Model]]:
    """The annotation of `shape` and the models it needs, children before parents."""
    planner = ModelPlanner(date_helper)
    annotation = planner.annotation(shape, hint)
    return annotation, planner.models


def camel(name: str) -> str:
    """ "created_at" -> "CreatedAt"; "" when nothing of `name` is a letter or digit."""
    words = re.split(r"[^A-Za-z0-9]+", re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name))
    text = "".join(word[:1].upper() + word[1:] for word in words if word)
    return "N" + text if text[:1].isdigit() else text


def item_name(hint: str) -> str:
    """The model name of one item of a list named `hint`: Items -> Item."""
    if hint.endswith("Response"):
        return hint.removesuffix("Response") + "Item"
    if hint.endswith("s") and not hint.endswith("ss") and len(hint) > 1:
        return hint[:-1]
    return hint + "Item"


def field_name(key: str, taken: Iterable[str] = ()) -> str:
    """A Python name for the JSON key (the key itself when it can be one)."""
    name = re.sub(r"\W", "_", key, flags=re.ASCII)
    if not name or name[0].isdigit() or name.startswith("_"):
        name = "field_" + name.lstrip("_")
    if keyword.iskeyword(name) or keyword.issoftkeyword(name) or name in RESERVED_FIELDS:
        name += "_"
    unavailable = set(taken)
    base, number = name, 2
    while name in unavailable:
        name = f"{base}_{number}"
        number += 1
    return name
