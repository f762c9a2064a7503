"""Edits of migration_status.yaml for sync, promote and rollback: functions from text to
text that keep the user's file (comments, blank lines, key order, flow lists, quoting;
see routeshift.registry.roundtrip), and the atomic write.

    sync_text(text, legacy_routes)              -> (text, changes)  new and retired routes
    set_state_text(text, endpoint, state, ...)  -> (text, changes)  promote, rollback
    save_registry(path, text)                   validate (parse_registry), then write_atomic

Both edits return the text itself when there is nothing to do, so that running one twice
changes nothing. They raise EditError for a route the registry does not have.

One module: the two edits read and change the same `routes` list through the same
helpers (an entry's endpoint, rule, methods and state), and save_registry is how either
is written.
"""

from __future__ import annotations

import contextlib
import copy
import enum
import os
import re
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from routeshift.cohort import Cohort
from routeshift.errors import EditError, RouteshiftError, did_you_mean
from routeshift.registry.load import parse_registry
from routeshift.registry.model import Registry, State
from routeshift.registry.roundtrip import (
    Document,
    delete_item,
    delete_key,
    give_trailing,
    is_block,
    like,
    plain,
    set_after,
    set_string,
    take_after_key,
    take_trailing,
)
from routeshift.registry.source import parse_yaml
from routeshift.routes import LegacyRoute

__all__ = [
    "METHOD_ORDER",
    "Action",
    "Change",
    "save_registry",
    "set_state_text",
    "sync_text",
    "write_atomic",
]

#: The order methods are written in, for new entries.
METHOD_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT")


class Action(enum.StrEnum):
    ADDED = "added"
    RETIRED = "retired"
    RESTORED = "restored"
    STATE = "state"


@dataclass(frozen=True, slots=True)
class Change:
    """One thing an edit did to one entry: the route, and its state after the edit."""

    action: Action
    endpoint: str
    rule: str
    methods: tuple[str, ...]
    state: str
    before: str | None = None  # Action.STATE: the state before
    split: bool = False  # Action.STATE: the methods were split off an entry with more

    def __str__(self) -> str:
        route = f"{self.endpoint} {','.join(self.methods)} {self.rule}"
        if self.action is Action.ADDED:
            return f"added {route} as {self.state}"
        if self.action is Action.RETIRED:
            return f"retired {route} (the legacy app no longer has it)"
        if self.action is Action.RESTORED:
            return f"restored {route} (the legacy app has it again)"
        split = " (split off its entry)" if self.split else ""
        return f"{route}: {self.before} -> {self.state}{split}"

    def __repr__(self) -> str:
        return f"Change({str(self)!r})"

    def as_dict(self) -> dict[str, object]:
        return {
            "action": self.action.value,
            "endpoint": self.endpoint,
            "rule": self.rule,
            "methods": list(self.methods),
            "state": self.state,
            "before": self.before,
            "split": self.split,
        }


# --- the two edits ----------------------------------------------------------------------


def sync_text(text: str, legacy_routes: Iterable[LegacyRoute]) -> tuple[str, tuple[Change, ...]]:
    """Register every legacy route the registry lacks, and retire the vanished ones.

    New entries (state legacy, one per endpoint and rule with all its methods; HEAD,
    OPTIONS, static and rules without a view left out) go at the end of `routes` in the
    url_map's order. An entry whose endpoint and rule the app no longer has gets
    `retired: true`; a retired entry whose route is back loses it. Returns the text
    unchanged when nothing is to do.
    """
    document = Document(text, "the registry")
    found: dict[tuple[str, str], list[str]] = {}
    for route in legacy_routes:
        if not route.is_counted or not route.methods:
            continue
        methods = found.setdefault((route.endpoint, route.rule), [])
        methods.extend(m for m in _in_order(route.methods) if m not in methods)
    changes: list[Change] = []
    flips: list[CommentedMap] = []  # entries to retire or to restore
    listed: set[tuple[str, str, str]] = set()
    for entry in _routes(document.data):
        endpoint, rule, written = _route_of(entry)
        listed.update((endpoint, rule, method) for method in written)
        here = (endpoint, rule) in found
        if here == bool(entry.get("retired")):
            action = Action.RESTORED if here else Action.RETIRED
            flips.append(entry)
            changes.append(Change(action, endpoint, rule, written, _state(entry)))
    added: list[tuple[str, str, tuple[str, ...]]] = []
    for (endpoint, rule), methods in found.items():
        missing = tuple(m for m in methods if (endpoint, rule, m) not in listed)
        if missing:
            added.append((endpoint, rule, missing))
            changes.append(Change(Action.ADDED, endpoint, rule, missing, State.LEGACY.value))
    if not changes:
        return text, ()
    document.start()
    for entry in flips:
        if entry.get("retired"):
            delete_key(entry, "retired")
        else:
            set_after(entry, "state", "retired", True)
    if added:
        routes = _routes(document.data, create=True)
        flow = _flow_methods(routes)
        if is_block(routes):
            rest = take_trailing(routes)
        else:  # `routes: []`, or no routes yet
            rest = take_after_key(document.data, "routes")
        routes.fa.set_block_style()
        routes.extend(_new_entry(*route, flow=flow) for route in added)
        give_trailing(routes, rest)
    return document.result(), tuple(changes)


def set_state_text(
    text: str,
    endpoint: str,
    state: State | str,
    method: str | None = None,
    rule: str | None = None,
    percent: float | None = None,
    cohort: str | None = None,
) -> tuple[str, tuple[Change, ...]]:
    """Set the state of an endpoint's entries (all of them, or the one at `rule`).

    With `method`, only that method moves: an entry that lists more methods is split in
    two, the method with the new state right after the rest (which keep theirs); both
    keep every other key. Only `state` (and `percent` and `cohort`, with canary)
    changes. Raises EditError for an endpoint, rule or method the registry does not
    list, and for a cohort that is not `client`, `header:NAME` or `cookie:NAME`.
    """
    state = State(state)
    method = method.upper() if method else None
    for key, value in (("percent", percent), ("cohort", cohort)):
        if value is not None and state is not State.CANARY:
            raise EditError(f"a {key} goes with state canary only, not {state.value}.")
    if cohort is not None:
        cohort = _cohort(cohort)
    if percent is None and cohort is None:
        fast = _set_state_in_place(text, endpoint, state, method, rule)
        if fast is not None:
            return fast
    document = Document(text, "the registry")
    routes = _routes(document.data)
    moving = [
        index
        for index in _choose(routes, endpoint, method, rule)
        if _state(routes[index]) != state.value
        or (percent is not None and routes[index].get("percent") != percent)
        or (cohort is not None and not _same_cohort(routes[index].get("cohort"), cohort))
    ]
    if not moving:
        return text, ()
    document.start()
    changes: list[Change] = []
    for index in reversed(moving):  # from the end, so that a split moves no other index
        entry = routes[index]
        _, entry_rule, methods = _route_of(entry)
        split = method is not None and len(methods) > 1
        if split:
            assert method is not None
            entry = _split(routes, index, method)
            methods = (method,)
        before = _state(entry)
        set_string(entry, "state", state.value)
        if percent is not None:
            set_after(entry, "state", "percent", _number(percent))
        if cohort is not None and "cohort" in entry:
            set_string(entry, "cohort", cohort)
        elif cohort is not None:
            set_after(entry, "percent" if "percent" in entry else "state", "cohort", plain(cohort))
        changes.append(
            Change(Action.STATE, endpoint, entry_rule, methods, state.value, before, split)
        )
    return document.result(), tuple(reversed(changes))


_STATE_LINE = re.compile(
    r"^(?P<head>\s*(?:-\s+)?state:\s*)(?P<quote>['\"]?)(?P<value>[a-z]+)(?P=quote)"
    r"(?P<tail>\s*(?:#.*)?)$"
)


def _set_state_in_place(
    text: str, endpoint: str, state: State, method: str | None, rule: str | None
) -> tuple[str, tuple[Change, ...]] | None:
    """The common edit, a state and nothing else, as a change of those lines alone.

    Read with PyYAML's C parser and its line marks: this is what keeps a rollback fast on
    a registry of thousands of routes (ruamel's round trip reads it in seconds). Returns
    None, for the round trip to do it, when the edit is anything more: a split by
    method, an unknown endpoint, rule or method, or a state not on a line of its own.
    """
    try:
        data, marks = parse_yaml(text, "the registry")
    except RouteshiftError:
        return None
    routes = data.get("routes") if isinstance(data, dict) else None
    if not isinstance(routes, list):
        return None
    lines = text.splitlines(keepends=True)
    changes: list[Change] = []
    found = False
    for index, entry in enumerate(routes):
        if not isinstance(entry, dict) or entry.get("endpoint") != endpoint:
            continue
        if entry.get("retired") or (rule is not None and entry.get("rule") != rule):
            continue
        methods = entry.get("methods")
        if not isinstance(methods, list) or not all(isinstance(m, str) for m in methods):
            return None
        methods = [m.upper() for m in methods]
        if method is not None and method not in methods:
            continue
        if method is not None and len(methods) > 1:
            return None  # a split: the round trip's work
        found = True
        before = str(entry.get("state", ""))
        if before == state.value:
            continue
        line = marks.get(("routes", index, "state"), 0) - 1
        match = _STATE_LINE.match(lines[line].rstrip("\r\n")) if 0 <= line < len(lines) else None
        if match is None or match["value"] != before:
            return None
        ending = lines[line][len(lines[line].rstrip("\r\n")) :]
        lines[line] = f"{match['head']}{match['quote']}{state.value}{match['quote']}"
        lines[line] += f"{match['tail']}{ending}"
        changes.append(
            Change(
                Action.STATE,
                endpoint,
                str(entry.get("rule", "")),
                tuple(methods),
                state.value,
                before,
            )
        )
    if not found:
        return None
    return "".join(lines), tuple(changes)


def _routes(data: CommentedMap, *, create: bool = False) -> CommentedSeq:
    """The `routes` list of the registry (an empty one if it has none, added if `create`)."""
    routes = data.get("routes")
    if routes is None:
        routes = CommentedSeq()
        if create:
            set_after(data, "routes", "routes", routes)
    if not isinstance(routes, CommentedSeq):
        raise EditError("`routes` in the registry must be a list of entries.")
    return routes


def _choose(routes: CommentedSeq, endpoint: str, method: str | None, rule: str | None) -> list[int]:
    """Indexes of the entries an action on (endpoint, method, rule) changes."""
    everything = [(i, *_route_of(entry)) for i, entry in enumerate(routes)]
    chosen = [(i, r, ms) for i, e, r, ms in everything if e == endpoint]
    if not chosen:
        hint = did_you_mean(endpoint, sorted({e for _, e, _, _ in everything}))
        raise EditError(
            f"the registry has no entry for endpoint {endpoint!r}.{hint} `routeshift routes` "
            "lists the legacy app's endpoints; `routeshift sync` registers the missing ones."
        )
    if rule is not None:
        rules = sorted({r for _, r, _ in chosen})
        chosen = [c for c in chosen if c[1] == rule]
        if not chosen:
            raise EditError(
                f"{endpoint} has no entry with rule {rule!r}.{did_you_mean(rule, rules)} "
                f"Its rules: {', '.join(rules)}."
            )
    live = [c for c in chosen if not routes[c[0]].get("retired")]
    if not live:
        raise EditError(
            f"{endpoint} is retired (the legacy app no longer has it); there is nothing to move."
        )
    if method is not None:
        served = sorted({m for _, _, ms in live for m in ms})
        live = [c for c in live if method in c[2]]
        if not live:
            raise EditError(
                f"{endpoint} has no entry for method {method}.{did_you_mean(method, served)} "
                f"Its methods: {', '.join(served)}."
            )
    return [index for index, _, _ in live]


# --- entries ------------------------------------------------------------------------------


def _route_of(entry: Any) -> tuple[str, str, tuple[str, ...]]:
    if not isinstance(entry, CommentedMap):
        raise EditError(
            "every item of `routes` must be a mapping (endpoint, rule, methods, state)."
        )
    methods = entry.get("methods", ())
    if isinstance(methods, str):
        methods = [methods]
    return (
        str(entry.get("endpoint", "")),
        str(entry.get("rule", "")),
        tuple(str(m).upper() for m in methods),
    )


def _state(entry: CommentedMap) -> str:
    return str(entry.get("state", ""))


def _in_order(methods: Iterable[str]) -> list[str]:
    rank = {name: index for index, name in enumerate(METHOD_ORDER)}
    return sorted(methods, key=lambda m: (rank.get(m, len(rank)), m))


def _flow_methods(routes: CommentedSeq) -> bool:
    """Whether new entries write `methods: [GET]` (as the last entry does; yes when none)."""
    for entry in reversed(routes):
        methods = entry.get("methods") if isinstance(entry, CommentedMap) else None
        if isinstance(methods, CommentedSeq):
            return bool(methods.fa.flow_style())
    return True


def _new_entry(endpoint: str, rule: str, methods: Sequence[str], *, flow: bool) -> CommentedMap:
    listed = CommentedSeq(plain(method) for method in methods)
    if flow:
        listed.fa.set_flow_style()
    else:
        listed.fa.set_block_style()
    entry = CommentedMap()
    entry["endpoint"] = plain(endpoint)
    entry["rule"] = plain(rule)
    entry["methods"] = listed
    entry["state"] = State.LEGACY.value
    entry.fa.set_block_style()
    return entry


def _split(routes: CommentedSeq, index: int, method: str) -> CommentedMap:
    """Move `method` of routes[index] into a copy of the entry right after it; return it."""
    entry = routes[index]
    rest = take_trailing(entry)  # the lines after the entry stay after the pair
    twin: CommentedMap = copy.deepcopy(entry)
    methods = entry["methods"]
    delete_item(methods, next(i for i, m in enumerate(methods) if str(m).upper() == method))
    twin["methods"] = like(methods, [_item_named(method, twin["methods"])])
    routes.insert(index + 1, twin)
    give_trailing(twin, rest)
    return twin


def _item_named(method: str, methods: CommentedSeq) -> Any:
    """The item of `methods` that names `method`, as written (its quotes kept)."""
    return next(m for m in methods if str(m).upper() == method)


def _cohort(text: str) -> str:
    """A cohort key as the registry checks it (`client`, `header:NAME`, `cookie:NAME`)."""
    try:
        Cohort.parse(text)
    except ValueError as exc:
        raise EditError(str(exc)) from None
    return text.strip()


def _same_cohort(written: Any, wanted: str) -> bool:
    """Whether the entry's cohort already is `wanted` (header names in any case)."""
    try:
        return isinstance(written, str) and Cohort.parse(written) == Cohort.parse(wanted)
    except ValueError:  # the entry's own is malformed: write the new one
        return False


def _number(value: float) -> int | float:
    """5.0 as 5, so that the file reads `percent: 5`."""
    return int(value) if float(value).is_integer() else float(value)


# --- writing ---------------------------------------------------------------------------


def save_registry(
    path: str | os.PathLike[str], text: str, *, expected: str | None = None
) -> Registry:
    """Validate `text` as a registry (RegistryError if it is not), then write it atomically.

    The file is replaced only by a registry that loads, so a failed edit never leaves a
    broken one behind for the gateway. With `expected` (the text the edit was made from),
    a file that changed meanwhile (another edit, by hand or a second command) is left as
    it is: EditError, rather than one edit silently undoing the other.
    """
    path = Path(path)
    registry = parse_registry(text, path)
    if expected is not None:
        try:
            now = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise EditError(f"cannot read {path} again before writing: {exc}") from exc
        if now != expected:
            raise EditError(
                f"{path} changed while this command ran (another edit?); nothing was "
                "written. Run the command again."
            )
    write_atomic(path, text)
    return registry


def write_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write `text` to a temporary file in the same folder, then os.replace it over `path`.

    A reader sees the old file or the new one, never half of one. The file's permission
    bits are kept; a symlink is followed, so the file it points to is the one replaced.
    """
    path = Path(os.path.realpath(path))
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        with contextlib.suppress(FileNotFoundError):
            os.chmod(temporary, path.stat().st_mode & 0o7777)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
