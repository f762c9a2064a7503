"""Reading migration_status.yaml: PyYAML's C parser, line marks kept from the node tree
(routeshift.registry.source), then the models of routeshift.registry.model.

Every problem found is raised at once, each at its file:line.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from routeshift.errors import FileError, Problem, RegistryError
from routeshift.registry.model import Accept, Entry, Registry, RegistryModel, Settings, check_states
from routeshift.registry.source import (
    MAX_CHARS,
    Loc,
    by_line,
    describe,
    parse_yaml,
    validation_message,
)

__all__ = [
    "DEFAULT_PATH",
    "ENTRY_CHUNK",
    "ENV_PATH",
    "ENV_PATH_ALIAS",
    "load_registry",
    "parse_registry",
    "registry_path",
]

#: entries validated in one pydantic call (the GIL can change hands between two)
ENTRY_CHUNK = 250
_ENTRIES: TypeAdapter[list[Entry]] = TypeAdapter(list[Entry])

DEFAULT_PATH = "migration_status.yaml"
ENV_PATH = "MIGRATION_STATUS"
ENV_PATH_ALIAS = "ROUTESHIFT_REGISTRY"


def registry_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """--registry, else MIGRATION_STATUS (or ROUTESHIFT_REGISTRY), else ./migration_status.yaml"""
    chosen = explicit or os.environ.get(ENV_PATH) or os.environ.get(ENV_PATH_ALIAS) or DEFAULT_PATH
    return Path(chosen)


def load_registry(path: str | os.PathLike[str]) -> Registry:
    """Read, parse and validate a registry file; raise RegistryError with every problem."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_CHARS:  # refused before it is read (bytes; at least its characters)
            message = (
                f"the file is {size:,} bytes long; routeshift refuses more than "
                f"{MAX_CHARS:,}. Split it, or remove what it repeats."
            )
            raise RegistryError([Problem(str(path), 0, message)])
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RegistryError(
            [
                Problem(
                    str(path),
                    0,
                    "no such file. Create it with `routeshift init` (it finds the Flask app "
                    f"and lists every route as legacy), or point {ENV_PATH} at it.",
                )
            ]
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RegistryError([Problem(str(path), 0, f"cannot read the file: {exc}")]) from exc
    return parse_registry(text, path)


def parse_registry(text: str, path: Path) -> Registry:
    try:
        data, marks = parse_yaml(text, str(path))
    except FileError as exc:
        raise RegistryError(exc.problems) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise RegistryError(
            [
                Problem(
                    str(path),
                    marks.get((), 1),
                    "the registry must be a mapping with legacy_app, modern_app and routes.",
                )
            ]
        )
    model, errors = _validated(data)
    if model is None:
        unchecked = RegistryModel.model_construct(legacy_app="", modern_app="")
        registry = Registry(path, unchecked, marks)
        problems = sorted((_problem_from(registry, err) for err in errors), key=by_line)
        raise RegistryError(problems) from None
    registry = Registry(path, model, marks)
    problems = check_states(registry)
    if problems:
        raise RegistryError(problems)
    return registry


def _validated(data: dict[str, Any]) -> tuple[RegistryModel | None, list[Any]]:
    """The model of `data`, or None and every validation error (pydantic's dicts).

    The entries are validated ENTRY_CHUNK at a time, from Python: pydantic validates a
    whole document in one call that holds the GIL (12-25 ms for 5,000 entries), so a
    reload on the gateway's thread would stall the event loop that long; between two
    chunks the interpreter can hand the GIL over."""
    routes = data.get("routes")
    if not isinstance(routes, list) or len(routes) <= ENTRY_CHUNK:
        try:
            return RegistryModel.model_validate(data), []
        except ValidationError as exc:
            return None, exc.errors()
    errors: list[Any] = []
    head: RegistryModel | None = None
    try:
        head = RegistryModel.model_validate({**data, "routes": []})
    except ValidationError as exc:
        errors.extend(exc.errors())
    entries: list[Entry] = []
    for start in range(0, len(routes), ENTRY_CHUNK):
        try:
            entries.extend(_ENTRIES.validate_python(routes[start : start + ENTRY_CHUNK]))
        except ValidationError as exc:
            for error in exc.errors():
                index, *rest = error["loc"]
                errors.append({**error, "loc": ("routes", start + int(index), *rest)})
    if errors or head is None:
        return None, errors
    return head.model_copy(update={"routes": tuple(entries)}), []


def _model_at(loc: Loc) -> type[BaseModel] | None:
    if loc == ():
        return RegistryModel
    if loc == ("settings",):
        return Settings
    if len(loc) == 2 and loc[0] == "routes":
        return Entry
    if len(loc) == 4 and loc[0] == "routes" and loc[2] == "accept":
        return Accept
    return None


def _problem_from(registry: Registry, error: Any) -> Problem:
    loc: Loc = tuple(error["loc"])
    if error.get("input") is None and error["type"].endswith("_type"):
        example = " (`routes: []` for none)" if loc == ("routes",) else ""
        return registry.problem(
            loc, f"{describe(loc)}: has no value; give it one{example} or remove the key."
        )
    return registry.problem(loc, validation_message(error, _model_at, "the registry"))
