"""YAML files read with their line marks, so every problem says file:line.

The marks of keys and values are indexed by their location (("routes", 3, "state")).
A key given twice in one mapping, which PyYAML would silently resolve, is a problem here.
A plain document (no anchor, alias, explicit tag, merge key or repeated key: every
registry routeshift writes) is built in one pass over the C parser's events, the values
and their marks together (`_build`, about a third of composing PyYAML's node tree and
constructing it); any other document, and any document with a problem, is composed into
the node tree, indexed (`_index`) and constructed by PyYAML, so that every value and
every message is PyYAML's own.

Before anything walks a document, `check_limits` reads its events once (linear in the
text) and refuses one built to exhaust the loader: more than MAX_CHARS characters,
nesting deeper than MAX_DEPTH, aliases that expand it by more than MAX_ALIAS_NODES nodes
or ALIAS_RATIO times the nodes it writes, whichever is more (the "billion laughs": nine
anchors, each a list of nine aliases of the one before, make a few hundred bytes stand
for 387 million values), or an alias inside its own anchor.
The ruamel.yaml round trip (routeshift.registry.roundtrip) calls it too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import yaml
from pydantic import BaseModel

from routeshift.errors import FileError, Problem, did_you_mean

__all__ = [
    "ALIAS_RATIO",
    "MAX_ALIAS_NODES",
    "MAX_CHARS",
    "MAX_DEPTH",
    "Loc",
    "by_line",
    "check_limits",
    "describe",
    "line_of",
    "parse_yaml",
    "validation_message",
]

Loc = tuple[str | int, ...]

#: the longest file read (a registry of 5,000 routes is well under 1 MB)
MAX_CHARS = 16 * 1024 * 1024
#: the deepest nesting of mappings and lists, aliases expanded
MAX_DEPTH = 100
#: the most nodes that aliases may add to a document once they are expanded
MAX_ALIAS_NODES = 100_000
#: ... or this many times the nodes the text writes itself, whichever is more: a large
#: registry whose entries share a block (`<<: *defaults`) adds in proportion to its size
ALIAS_RATIO = 4

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_yaml(text: str, file: str) -> tuple[Any, dict[Loc, int]]:
    """The document and the line of every location in it; raises FileError.

    The document is held to `check_limits` before it is built or composed; a text
    without an anchor (`&name`) has no alias to expand, and its depth is checked as it
    is built or indexed (the parser's own limit, 1,000, holds until then), so it costs
    no second pass. A plain document is built from the parser's events (`_build`); any
    other, or one with a problem, is composed by PyYAML (`_compose`)."""
    if "&" in text or len(text) > MAX_CHARS:
        try:
            check_limits(text, file)
        except yaml.YAMLError as exc:
            raise _malformed(exc, file) from None
    built = _build(text)
    if built is not None:
        return built
    return _compose(text, file)


def _compose(text: str, file: str) -> tuple[Any, dict[Loc, int]]:
    """parse_yaml through PyYAML's node tree: any document, and every problem."""
    loader = _LOADER(text)
    marks: dict[Loc, int] = {}
    problems: list[Problem] = []
    try:
        node = loader.get_single_node()
        if node is None:
            return None, {}
        _index(node, (), marks, problems, file)
        data = loader.construct_document(node)
    except yaml.YAMLError as exc:
        raise _malformed(exc, file) from None
    finally:
        loader.dispose()
    if problems:
        raise FileError(problems)
    return data, marks


def _malformed(exc: yaml.YAMLError, file: str) -> FileError:
    """PyYAML's syntax error as a problem at its line."""
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 0
        what = " ".join(part for part in (exc.context, exc.problem) if part)
        return FileError([Problem(file, line, f"malformed YAML: {what}.")])
    return FileError([Problem(file, 0, f"malformed YAML: {exc}.")])


_STR = "tag:yaml.org,2002:str"
#: the tags a plain scalar may resolve to in `_build` (merge `<<` and value `=` may not)
_PLAIN_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}" for name in ("str", "int", "float", "bool", "null", "timestamp")
)


class _Open:
    """A mapping or list being built by `_build`: its location and, in a mapping, the key
    whose value comes next (`key`, constructed; `name`, as written: marks use it)."""

    __slots__ = ("container", "key", "loc", "name")

    def __init__(self, container: dict[Any, Any] | list[Any], loc: Loc) -> None:
        self.container = container
        self.loc = loc
        self.key: Any = _NO_KEY
        self.name = ""


_NO_KEY: Any = object()


def _build(text: str) -> tuple[Any, dict[Loc, int]] | None:
    """The document and its marks from one pass over the parser's events, exactly as
    `_compose` gives them, or None when the document is not plain: an anchor, alias,
    explicit tag, merge key, non-scalar key or repeated key, nesting past MAX_DEPTH, more
    than one document, or a syntax error (then `_compose` says what PyYAML says)."""
    loader = _LOADER(text)
    try:
        return _build_events(loader)
    except yaml.YAMLError:
        return None
    finally:
        loader.dispose()


def _build_events(loader: Any) -> tuple[Any, dict[Loc, int]] | None:
    marks: dict[Loc, int] = {}
    tags: dict[str, str] = {}  # plain scalar -> its resolved tag (it depends on the text only)
    stack: list[_Open] = []
    root: Any = None
    loc: Loc
    done = False  # the document's root value is complete
    get_event, resolve = loader.get_event, loader.resolve
    scalar_event, alias_event = yaml.ScalarEvent, yaml.AliasEvent
    mapping_start, sequence_start = yaml.MappingStartEvent, yaml.SequenceStartEvent
    while True:
        event = get_event()
        kind = type(event)
        if kind is scalar_event:
            if event.anchor is not None or event.tag not in (None, "!"):
                return None
            value = event.value
            if event.implicit[0]:
                tag = tags.get(value)
                if tag is None:
                    tag = tags[value] = resolve(yaml.ScalarNode, value, (True, False))
                if tag != _STR:
                    if tag not in _PLAIN_TAGS:
                        return None
                    node = yaml.ScalarNode(tag, value, event.start_mark, event.end_mark)
                    value = loader.yaml_constructors[tag](loader, node)
        elif kind is mapping_start or kind is sequence_start:
            if event.anchor is not None or event.tag not in (None, "!"):
                return None
            if len(stack) >= MAX_DEPTH:
                return None
            value = {} if kind is mapping_start else []
        elif kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
            stack.pop()
            done = not stack
            continue
        elif kind is alias_event:
            return None
        elif kind is yaml.StreamEndEvent:
            return root, marks
        elif kind is yaml.DocumentStartEvent and done:
            return None  # a second document: PyYAML's error
        else:  # stream start, document start and end
            continue
        line = event.start_mark.line + 1
        if not stack:
            root, loc, done = value, (), True
            marks[loc] = line
        else:
            top = stack[-1]
            container = top.container
            if type(container) is list:
                loc = top.loc + (len(container),)
                container.append(value)
                marks[loc] = line
            elif top.key is _NO_KEY:  # a key
                if kind is not scalar_event or value in container:
                    return None
                top.key, top.name = value, str(event.value)
                marks[top.loc + (top.name,)] = line
                continue
            else:
                loc = top.loc + (top.name,)
                container[top.key] = value
                top.key = _NO_KEY
                marks.setdefault(loc, line)
        if kind is not scalar_event:
            stack.append(_Open(value, loc))
            done = False


def check_limits(text: str, file: str) -> None:
    """Raise FileError, at its line, for a document that would exhaust a YAML loader.

    One pass over the parser's events, none over the document: each anchor's size (its
    nodes, aliases expanded) and height are summed as the events arrive, so a bomb costs
    what its text costs. A syntax error is the parser's yaml.YAMLError, as from a load.
    """
    if len(text) > MAX_CHARS:
        raise FileError(
            [
                Problem(
                    file,
                    0,
                    f"the file is {len(text):,} characters long; routeshift refuses more "
                    f"than {MAX_CHARS:,}. Split it, or remove what it repeats.",
                )
            ]
        )
    parser = _LOADER(text)
    try:
        _check_events(parser, file)
    finally:
        parser.dispose()


class _Frame:
    """An open mapping or list: its anchor, its nodes so far and its height."""

    __slots__ = ("anchor", "height", "size")

    def __init__(self, anchor: str | None) -> None:
        self.anchor = anchor
        self.size = 1
        self.height = 1


def _check_events(parser: Any, file: str) -> None:
    anchors: dict[str, tuple[int, int]] = {}  # anchor -> (size, height), once closed
    stack: list[_Frame] = []
    added = 0  # nodes the aliases add, expanded (stopped at _CEILING)
    written = 0  # nodes the text writes itself
    # (nodes added so far, line) at each alias past MAX_ALIAS_NODES: where it went over
    # once the limit (which grows with `written`) is known at the end
    past: list[tuple[int, int]] = []
    get_event = parser.get_event
    while True:
        event = get_event()
        kind = type(event)
        if kind is yaml.ScalarEvent:  # the most of them: first, and quick
            size = height = 1
            written += 1
            if event.anchor is not None:
                anchors[event.anchor] = (1, 1)
        elif kind is yaml.MappingStartEvent or kind is yaml.SequenceStartEvent:
            written += 1
            stack.append(_Frame(event.anchor))
            if len(stack) > MAX_DEPTH:
                raise FileError([_too_deep(file, _line(event))])
            continue
        elif kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
            frame = stack.pop()
            size, height = frame.size, frame.height
            if frame.anchor is not None:
                anchors[frame.anchor] = (size, height)
        elif kind is yaml.AliasEvent:
            if any(frame.anchor == event.anchor for frame in stack):
                raise FileError([_recursive(file, _line(event))])
            size, height = anchors.get(event.anchor, (1, 1))
            added = min(added + size, _CEILING)
            if added > MAX_ALIAS_NODES:
                past.append((added, _line(event)))  # counted on to the end: linear
            if len(stack) + height > MAX_DEPTH:
                raise FileError([_too_deep(file, _line(event))])
        elif kind is yaml.StreamEndEvent:
            break
        else:  # stream start, document start and end
            continue
        if stack:
            top = stack[-1]
            top.size = min(top.size + size, _CEILING)
            if height >= top.height:
                top.height = height + 1
    limit = max(MAX_ALIAS_NODES, ALIAS_RATIO * written)
    if added > limit:
        line = next(line for so_far, line in past if so_far > limit)
        raise FileError([_bomb(file, line, added, limit)])


#: counts stop here: a figure past it says enough, and sums stay small integers
_CEILING = 10**15


def _bomb(file: str, line: int, added: int, limit: int) -> Problem:
    """Aliases that expand past the limit, at the alias that went past."""
    return Problem(
        file,
        line,
        f"the file repeats its aliases (`*name`) until they stand for {_figure(added)} "
        f'nodes (a YAML "billion laughs"); routeshift refuses more than {limit:,} '
        f"({MAX_ALIAS_NODES:,}, or {ALIAS_RATIO} times the nodes the file writes). Write "
        "the repeated values out, or alias fewer of them.",
    )


def _figure(count: int) -> str:
    return f"{count:,}" if count < _CEILING else f"more than {_CEILING:,}"


def _line(event: Any) -> int:
    return int(event.start_mark.line) + 1


def _too_deep(file: str, line: int) -> Problem:
    return Problem(
        file,
        line,
        f"mappings and lists nest more than {MAX_DEPTH} deep here (aliases expanded); "
        f"routeshift refuses deeper ones. Flatten the value.",
    )


def _recursive(file: str, line: int) -> Problem:
    return Problem(
        file,
        line,
        "an alias refers to a node that contains it (a recursive alias); write the value out.",
    )


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
        raise FileError([_recursive(file, node.start_mark.line + 1)])
    if len(above) >= MAX_DEPTH and isinstance(node, yaml.CollectionNode):
        raise FileError([_too_deep(file, node.start_mark.line + 1)])
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
