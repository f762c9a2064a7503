"""YAML files read with their line marks, so every problem says file:line.

PyYAML's C parser builds the node tree; the marks of keys and values are indexed by
their location (("routes", 3, "state")) before the document is constructed. A key given
twice in one mapping, which PyYAML would silently resolve, is a problem here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import yaml
from pydantic import BaseModel

from routeshift.errors import FileError, Problem, did_you_mean

__all__ = [
    "Loc",
    "by_line",
    "describe",
    "line_of",
    "parse_yaml",
    "validation_message",
]

Loc = tuple[str | int, ...]


def parse_yaml(text: str, file: str) -> tuple[Any, dict[Loc, int]]:
    """The document and the line of every location in it; raises FileError."""
    loader_class = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    loader = loader_class(text)
    marks: dict[Loc, int] = {}
    problems: list[Problem] = []
    try:
        node = loader.get_single_node()
        if node is None:
            return None, {}
        _index(node, (), marks, problems, file)
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 0
        what = " ".join(part for part in (exc.context, exc.problem) if part)
        raise FileError([Problem(file, line, f"malformed YAML: {what}.")]) from None
    except yaml.YAMLError as exc:
        raise FileError([Problem(file, 0, f"malformed YAML: {exc}.")]) from None
    finally:
        loader.dispose()
    if problems:
        raise FileError(problems)
    return data, marks


def _index(
    node: yaml.Node,
    loc: Loc,
    marks: dict[Loc, int],
    problems: list[Problem],
    file: str,
    above: frozenset[int] = frozenset(),
) -> None:
    """Record the line of every value (and of every key, under loc + (key,)) in `marks`."""
    if id(node) in above:  # an alias of a node that contains it: `a: &x [*x]`
        raise FileError(
            [
                Problem(
                    file,
                    node.start_mark.line + 1,
                    "an alias refers to a node that contains "
                    "it (a recursive alias); write the value out.",
                )
            ]
        )
    above = above | {id(node)}
    marks.setdefault(loc, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            line = key_node.start_mark.line + 1
            if key in seen:
                problems.append(
                    Problem(
                        file,
                        line,
                        f"key {key!r} appears twice in one mapping (first at "
                        f"line {seen[key]}); keep one.",
                    )
                )
            seen[key] = line
            marks[loc + (key,)] = line
            _index(value_node, loc + (key,), marks, problems, file, above)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            marks[loc + (index,)] = item.start_mark.line + 1
            _index(item, loc + (index,), marks, problems, file, above)


def line_of(marks: Mapping[Loc, int], loc: Loc) -> int:
    """The line of `loc`, or of its nearest parent that has one."""
    while loc:
        if loc in marks:
            return marks[loc]
        loc = loc[:-1]
    return marks.get((), 1)


def describe(loc: Loc, root: str = "the file") -> str:
    """('routes', 3, 'state') -> 'routes[3].state'; () -> `root`."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text or root


def by_line(problem: Problem) -> int:
    return problem.line


def validation_message(
    error: Any, model_at: Callable[[Loc], type[BaseModel] | None], root: str = "the file"
) -> str:
    """One Pydantic error as a sentence: what is wrong, where, and what to do.

    `model_at(loc)` names the model at a location, for "unknown key, did you mean".
    """
    loc: Loc = tuple(error["loc"])
    kind = error["type"]
    parent = loc[:-1]
    where = describe(loc, root)
    model = model_at(parent)
    if kind == "extra_forbidden" and model is not None:
        name = str(loc[-1])
        keys = [field.alias or key for key, field in model.model_fields.items()]
        allowed = ", ".join(keys)
        hint = did_you_mean(name, keys)
        return f"{describe(parent, root)}: unknown key {name!r}.{hint} Allowed keys: {allowed}."
    if kind == "missing":
        return f"{describe(parent, root)}: required key {str(loc[-1])!r} is missing."
    if kind in ("enum", "literal_error"):
        value = str(error.get("input"))
        expected = str(error.get("ctx", {}).get("expected", ""))
        options = [part.strip(" '\"") for part in expected.replace(" or ", ", ").split(",")]
        return (
            f"{where}: unknown {loc[-1]} {value!r}.{did_you_mean(value, options)} "
            f"Use one of {', '.join(options)}."
        )
    if kind == "value_error":
        return f"{where}: {error['ctx']['error']}"
    return f"{where}: {error['msg']} (got {error.get('input')!r})."
