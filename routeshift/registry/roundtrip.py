"""A YAML file edited in place: comments, blank lines, key order, flow lists, quoting and
indentation kept, and every line an edit does not touch kept byte for byte.

The text goes through ruamel.yaml's round trip: loaded into its commented tree
(`Document.data`), changed there, dumped. ruamel.yaml keeps comments and quotes, yet
still tidies a few things on the way out (folded scalars, flow lists over several
lines, spacing). So its dump is not the result: the difference between the dump of the
untouched tree and the dump of the changed tree is carried over to the user's own text
(`carry_over`).

ruamel.yaml keeps the blank and comment lines that follow a node on the comment token of
the last scalar before them. A key or an item added after that scalar must take those
lines along (`take_trailing`, `give_trailing`), or they would end up above it;
`set_after` and `delete_key` do so.

Before ruamel.yaml reads a text, `check_limits` (routeshift.registry.source) refuses one
built to exhaust a loader (an alias bomb, too deep, too long): EditError, at its line.
"""

from __future__ import annotations

import bisect
import difflib
import io
from collections.abc import Sequence
from typing import Any

import yaml as pyyaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import CommentMark, YAMLError
from ruamel.yaml.scalarstring import ScalarString, SingleQuotedScalarString
from ruamel.yaml.tokens import CommentToken

from routeshift.errors import EditError, FileError
from routeshift.registry.source import check_limits

__all__ = [
    "Document",
    "Group",
    "carry_over",
    "delete_item",
    "delete_key",
    "give_trailing",
    "is_block",
    "like",
    "plain",
    "set_after",
    "set_string",
    "take_after_key",
    "take_trailing",
]


class Document:
    """One YAML text loaded for editing (`data`), and the text it becomes (`result()`).

    Call `start()` before changing `data`, so that a document with nothing to change
    costs one load and no dump.
    """

    def __init__(self, text: str, what: str = "the file") -> None:
        self.what = what
        self.newline = "\r\n" if "\r\n" in text else "\n"
        self.text = text if text.endswith("\n") else text + self.newline
        self.yaml = YAML(typ="rt")
        self.yaml.preserve_quotes = True
        self.yaml.width = 4096  # never fold a long line
        self.data = self._load()
        self.yaml.indent(**_indentation(self.data, self.text))
        self._before: str | None = None

    def _load(self) -> CommentedMap:
        try:
            check_limits(self.text, self.what)
        except FileError as exc:
            raise EditError("; ".join(map(str, exc.problems))) from None
        except pyyaml.YAMLError as exc:  # the registry is read with PyYAML everywhere else
            raise EditError(f"{self.what} is not YAML that can be edited: {exc}") from None
        try:
            data = self.yaml.load(self.text)
        except YAMLError as exc:
            raise EditError(f"{self.what} is not YAML that can be edited: {exc}") from None
        if not isinstance(data, CommentedMap):
            raise EditError(f"{self.what} must be a mapping.")
        return data

    def start(self) -> None:
        """Call once before the first change to `data`: it notes the untouched tree."""
        assert self._before is None, "start() is called once"
        self._before = self._dump(self.data)

    def result(self) -> str:
        """The text with the changes made to `data` since start()."""
        assert self._before is not None, "start() comes before the first change"
        return carry_over(self.text, self._before, self._dump(self.data), self.newline)

    def _dump(self, data: CommentedMap) -> str:
        out = io.StringIO()
        self.yaml.dump(data, out)
        return out.getvalue()


# --- edits of the tree -----------------------------------------------------------------


def set_string(mapping: CommentedMap, key: str, value: str) -> None:
    """Set a string value, in the quotes the old value was written in."""
    old = mapping.get(key)
    if isinstance(old, ScalarString):
        mapping[key] = type(old)(value)
    elif key in mapping:
        mapping[key] = plain(value)
    else:
        set_after(mapping, list(mapping)[-1] if mapping else key, key, plain(value))


def plain(value: str) -> str:
    """`value` as written; quoted when a YAML 1.1 loader (PyYAML, which loads the
    registry) would not read it back as this string (`on`, `no`, `1.5`, `null`)."""
    tag = _RESOLVER.resolve(pyyaml.ScalarNode, value, (True, False))  # type: ignore[no-untyped-call]
    return value if tag == "tag:yaml.org,2002:str" else SingleQuotedScalarString(value)


_RESOLVER = pyyaml.resolver.Resolver()


def set_after(mapping: CommentedMap, anchor: str, key: str, value: object) -> None:
    """Set `key`, as a new key right after `anchor` (or last) when the mapping has none."""
    if key in mapping:
        mapping[key] = value
        return
    keys = list(mapping)
    position = keys.index(anchor) + 1 if anchor in mapping else len(keys)
    if position < len(keys):
        mapping.insert(position, key, value)
        return
    rest = take_trailing(mapping)
    mapping.insert(position, key, value)
    give_trailing(mapping, rest)


def delete_key(mapping: CommentedMap, key: str) -> None:
    rest = take_trailing(mapping)
    del mapping[key]
    mapping.ca.items.pop(key, None)
    give_trailing(mapping, rest)


def delete_item(sequence: CommentedSeq, index: int) -> None:
    """del sequence[index], with the comments of the items after it moved along."""
    del sequence[index]
    items = sequence.ca.items
    for i in sorted(items):
        if i == index:
            del items[i]
        elif i > index:
            items[i - 1] = items.pop(i)


def like(model: CommentedSeq, items: Sequence[Any]) -> CommentedSeq:
    """A list of `items` written as `model` is (flow `[a, b]` or block)."""
    made = CommentedSeq(items)
    if model.fa.flow_style():
        made.fa.set_flow_style()
    else:
        made.fa.set_block_style()
    return made


def is_block(value: Any) -> bool:
    """A non-empty mapping or list written in block style."""
    return (
        isinstance(value, CommentedMap | CommentedSeq) and bool(value) and not value.fa.flow_style()
    )


# --- the lines after a node ------------------------------------------------------------


def take_trailing(node: Any) -> str:
    """Detach the lines after the last line of `node` (blank or comment); return them."""
    found = _last_token(node)
    return _split_token(*found) if found is not None else ""


def take_after_key(mapping: CommentedMap, key: str) -> str:
    """Like take_trailing, for a key whose value is a scalar or written in flow style."""
    slot = mapping.ca.items.get(key)
    return _split_token(slot, 2) if slot else ""


def give_trailing(node: Any, rest: str) -> None:
    """Attach `rest` (from take_trailing) after the last line of `node`."""
    if not rest:
        return
    found = _last_token(node)
    assert found is not None, "trailing lines go after a block node"
    slot, index = found
    token = slot[index]
    if token is None:
        slot[index] = CommentToken("\n" + rest, CommentMark(0), None)
    else:
        token.value = token.value + rest


def _last_token(node: Any) -> tuple[list[Any], int] | None:
    """The comment slot (list, index) of the last scalar in a block node."""
    if not is_block(node):
        return None
    last: Any = list(node)[-1] if isinstance(node, CommentedMap) else len(node) - 1
    found = _last_token(node[last])
    if found is not None:
        return found
    if isinstance(node, CommentedMap):
        return node.ca.items.setdefault(last, [None, None, None, None]), 2
    return node.ca.items.setdefault(last, [None, None]), 0


def _split_token(slot: list[Any], index: int) -> str:
    """Keep the end-of-line comment in slot[index]; detach and return the lines after it."""
    token = slot[index]
    if token is None:
        return ""
    value = token.value
    end = value.find("\n") + 1
    if end == 0 or end == len(value):
        return ""
    token.value = value[:end]
    return str(value[end:])


# --- indentation -----------------------------------------------------------------------


def _indentation(data: CommentedMap, text: str) -> dict[str, int]:
    """ruamel.yaml's indent settings that reproduce the file's own, as far as it shows."""
    found = {"mapping": 2, "sequence": 4, "offset": 2}  # the example registry's style
    sequence = _sequence_indent(data, text.splitlines())
    if sequence is not None:
        found["sequence"], found["offset"] = sequence
    mapping = _mapping_indent(data)
    if mapping is not None:
        found["mapping"] = mapping
    return found


def _sequence_indent(node: Any, lines: list[str]) -> tuple[int, int] | None:
    """(indent of an item's content, indent of its dash) in the first block list under a
    key, both from the key's column."""
    for key, value in _children(node):
        if isinstance(node, CommentedMap) and isinstance(value, CommentedSeq) and is_block(value):
            key_column = node.lc.key(key)[1]
            line, column = value.lc.item(0)
            dash = lines[line].rfind("-", 0, column)
            if key_column <= dash < column:
                return column - key_column, dash - key_column
        found = _sequence_indent(value, lines)
        if found is not None:
            return found
    return None


def _mapping_indent(node: Any) -> int | None:
    """How far the keys of a block mapping nested under a key are indented."""
    for key, value in _children(node):
        if isinstance(node, CommentedMap) and isinstance(value, CommentedMap) and is_block(value):
            indent = int(value.lc.key(next(iter(value)))[1] - node.lc.key(key)[1])
            if indent > 0:
                return indent
        found = _mapping_indent(value)
        if found is not None:
            return found
    return None


def _children(node: Any) -> list[tuple[Any, Any]]:
    if isinstance(node, CommentedMap):
        return list(node.items())
    if isinstance(node, CommentedSeq):
        return list(enumerate(node))
    return []


# --- carrying the change over to the user's text ------------------------------------------

Group = tuple[int, int, list[str]]


def carry_over(original: str, before: str, after: str, newline: str = "\n") -> str:
    """Apply the change from `before` to `after` (two dumps) to `original`.

    `before` is ruamel.yaml's dump of `original` untouched: the same document, a few lines
    tidied. The lines of `original` are aligned to those of `before` (whitespace aside);
    wherever the change leaves `before` alone, the `original` lines that stand for it are
    kept as they are. Should the result not mean what `after` means, `after` is returned.
    """
    mine = original.splitlines(keepends=True)
    base = before.splitlines(keepends=True)
    dumped = after.splitlines(keepends=True)
    theirs = [line.rstrip("\r\n") + newline for line in dumped]
    head, groups = _stand_ins(base, mine)
    out = list(head)
    change = difflib.SequenceMatcher(None, base, dumped)
    for tag, i1, i2, j1, j2 in change.get_opcodes():
        if tag != "equal":
            out.extend(theirs[j1:j2])
            continue
        for start, end, lines in groups[_first_group(groups, i1) :]:
            if start >= i2:
                break
            if i1 <= start and end <= i2:
                out.extend(lines)
            else:  # the change cuts through lines the dump tidied: take the dump's
                out.extend(theirs[j1 + max(start, i1) - i1 : j1 + min(end, i2) - i1])
    merged = "".join(out)
    if merged != after and _meaning(merged) != _meaning(after):
        return "".join(theirs)
    return merged


def _stand_ins(base: list[str], mine: list[str]) -> tuple[list[str], list[Group]]:
    """Lines of `mine` before any of `base`, and groups (start, end, lines): the lines of
    `mine` that stand for base[start:end], in order, covering all of `base`."""
    head: list[str] = []
    groups: list[Group] = []
    if _squeezed(base) == _squeezed(mine):
        return head, [(i, i + 1, [line]) for i, line in enumerate(mine)]
    align = difflib.SequenceMatcher(None, _squeezed(base), _squeezed(mine))
    for tag, i1, i2, j1, j2 in align.get_opcodes():
        if tag == "equal":
            groups.extend((i1 + k, i1 + k + 1, [mine[j1 + k]]) for k in range(i2 - i1))
        elif i1 == i2:  # lines only the original has: they go with the line before
            if groups:
                start, end, lines = groups[-1]
                groups[-1] = (start, end, lines + mine[j1:j2])
            else:
                head.extend(mine[j1:j2])
        else:
            groups.append((i1, i2, mine[j1:j2]))
    return head, groups


def _first_group(groups: list[Group], line: int) -> int:
    """The index of the group that holds base line `line`."""
    return max(0, bisect.bisect_right(groups, line, key=lambda group: group[0]) - 1)


def _squeezed(lines: Sequence[str]) -> list[str]:
    return [" ".join(line.split()) for line in lines]


def _meaning(text: str) -> object:
    try:
        return pyyaml.load(text, Loader=getattr(pyyaml, "CSafeLoader", pyyaml.SafeLoader))
    except pyyaml.YAMLError:
        return _Unreadable()


class _Unreadable:
    """Equal to nothing: text that does not parse never stands for another."""
