"""The registry, migration_status.yaml: which legacy route is in which state.

Loading goes through PyYAML's C parser (with line marks kept from the node tree) and
Pydantic models with extra="forbid", so a typo is an error at its file:line, never a key
silently ignored. `check_routes` then holds the registry against the apps themselves.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from routeshift.cohort import Cohort
from routeshift.compare import Accepted, CompareError, Rules, check_pointer, normalisers
from routeshift.discovery import LegacyRoute, ModernRoute, handler_index
from routeshift.errors import FileError, Problem, RegistryError, did_you_mean
from routeshift.yamlsource import (
    Loc,
    by_line,
    describe,
    line_of,
    parse_yaml,
    validation_message,
)

DEFAULT_PATH = "migration_status.yaml"
ENV_PATH = "MIGRATION_STATUS"
ENV_PATH_ALIAS = "ROUTESHIFT_REGISTRY"

HTTP_METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"}
)


class State(enum.StrEnum):
    """Where a route stands: legacy -> shadow -> canary -> modern, and back."""

    LEGACY = "legacy"
    SHADOW = "shadow"
    CANARY = "canary"
    MODERN = "modern"


#: Methods a shadow copy may repeat on the modern side without `shadow_writes: true`.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _cohort(value: str | None) -> str | None:
    if value is not None:
        Cohort.parse(value)  # raises ValueError with the message
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Settings(_Strict):
    store_url: str | None = None
    bridge_threads: int = Field(64, ge=1, le=4096)
    shadow_timeout_s: float = Field(2.0, gt=0)
    shadow_max_in_flight: int = Field(32, ge=0)
    shadow_body_limit: int = Field(1024 * 1024, ge=0)
    retention_rows: int = Field(100_000, ge=0)
    retention_days: float = Field(14, ge=0)
    default_cohort: str = "client"
    redact: tuple[str, ...] = ()
    contracts_dir: str = "tests/contracts"
    admin_prefix: str = "/_routeshift"
    metrics_path: str = "/metrics"
    force_legacy: bool = False

    _cohort = field_validator("default_cohort")(_cohort)

    @field_validator("admin_prefix", "metrics_path")
    @classmethod
    def _own_path(cls, value: str) -> str:
        """The gateway's own paths take requests before the apps: never the root."""
        if not value.startswith("/") or value.rstrip("/") == "":
            raise ValueError(
                f"{value!r} must be a path below the root, e.g. /_routeshift or /metrics "
                "(the gateway answers it before either app)."
            )
        return value

    @field_validator("redact")
    @classmethod
    def _redact(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        """Names (any header, query parameter, form field or JSON key) or JSON pointers."""
        for item in value:
            if not item.strip():
                raise ValueError("an empty name redacts nothing; remove it.")
            if item.startswith("/"):
                try:
                    check_pointer(item)
                except CompareError as exc:
                    raise ValueError(str(exc)) from None
        return value


class Accept(_Strict):
    """A declared contract change: at `what`, legacy's value may become modern's.

    `legacy` and `modern` are required: "*" stands for any value, null for a value that
    is missing (a key, a header), so every accepted break is written out in full.
    """

    what: str
    legacy: Any
    modern: Any
    why: str = Field(min_length=1)

    @model_validator(mode="after")
    def _known_place(self) -> Accept:
        try:
            Accepted(self.what, self.legacy, self.modern, self.why)
        except CompareError as exc:
            raise ValueError(str(exc)) from None
        return self


class Entry(_Strict):
    endpoint: str = Field(min_length=1)
    rule: str = Field(min_length=1)
    methods: tuple[str, ...] = Field(min_length=1)
    state: State
    owner: str | None = None
    notes: str | None = None
    percent: float | None = Field(None, ge=0, le=100)
    sample: float = Field(1.0, ge=0, le=1)
    cohort: str | None = None
    shadow_writes: bool = False
    ignore: tuple[str, ...] = ()
    accept: tuple[Accept, ...] = ()
    normalise: tuple[str, ...] = ()
    error_format: Literal["legacy", "fastapi"] = "legacy"
    modern_path: str | None = None
    retired: bool = False

    @field_validator("methods", mode="before")
    @classmethod
    def _upper_methods(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [value]
        if isinstance(value, list | tuple):
            return tuple(m.upper() if isinstance(m, str) else m for m in value)
        return value

    _cohort = field_validator("cohort")(_cohort)

    @field_validator("ignore")
    @classmethod
    def _pointers(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        try:
            return tuple(check_pointer(pointer) for pointer in value)
        except CompareError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("normalise")
    @classmethod
    def _normalisers(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        try:
            normalisers(value)
        except CompareError as exc:
            raise ValueError(str(exc)) from None
        return value

    @field_validator("methods")
    @classmethod
    def _known_methods(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for method in value:
            if method not in HTTP_METHODS:
                hint = did_you_mean(method, HTTP_METHODS)
                raise ValueError(f"{method!r} is not an HTTP method.{hint}")
        return value

    def rules(self) -> Rules:
        """How the route's replies are compared (contract tests and shadow runs alike)."""
        return Rules.build(
            ignore=self.ignore,
            normalise=self.normalise,
            accept=[Accepted(a.what, a.legacy, a.modern, a.why) for a in self.accept],
        )

    def __repr__(self) -> str:
        return f"Entry({self.endpoint!r}, {self.rule!r}, {list(self.methods)}, {self.state.value})"


class RegistryModel(_Strict):
    legacy_app: str = Field(min_length=1)
    modern_app: str = Field(min_length=1)
    routes: tuple[Entry, ...] = ()
    settings: Settings = Settings()


@dataclass(frozen=True, slots=True)
class Registry:
    """A loaded registry: the validated model, where it came from, and its line marks."""

    path: Path
    model: RegistryModel
    marks: Mapping[Loc, int] = field(repr=False, default_factory=dict)

    @property
    def routes(self) -> tuple[Entry, ...]:
        return self.model.routes

    @property
    def settings(self) -> Settings:
        return self.model.settings

    @property
    def folder(self) -> Path:
        return self.path.parent

    @property
    def contracts_dir(self) -> Path:
        """Where the contract case files are: settings.contracts_dir, from the folder."""
        return self.folder / self.settings.contracts_dir

    def line(self, loc: Loc) -> int:
        """The line of `loc` (e.g. ("routes", 3, "state")), or of its nearest parent."""
        return line_of(self.marks, loc)

    def problem(self, loc: Loc, message: str) -> Problem:
        return Problem(str(self.path), self.line(loc), message, loc)


def registry_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """--registry, else MIGRATION_STATUS (or ROUTESHIFT_REGISTRY), else ./migration_status.yaml"""
    chosen = explicit or os.environ.get(ENV_PATH) or os.environ.get(ENV_PATH_ALIAS) or DEFAULT_PATH
    return Path(chosen)


def load_registry(path: str | os.PathLike[str]) -> Registry:
    """Read, parse and validate a registry file; raise RegistryError with every problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RegistryError(
            [
                Problem(
                    str(path),
                    0,
                    "no such file. Create it (routeshift sync writes one from the legacy app), "
                    f"or point {ENV_PATH} at it.",
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
    try:
        model = RegistryModel.model_validate(data)
    except ValidationError as exc:
        unchecked = RegistryModel.model_construct(legacy_app="", modern_app="")
        registry = Registry(path, unchecked, marks)
        problems = sorted((_problem_from(registry, err) for err in exc.errors()), key=by_line)
        raise RegistryError(problems) from None
    registry = Registry(path, model, marks)
    problems = _check_states(registry)
    if problems:
        raise RegistryError(problems)
    return registry


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


def _check_states(registry: Registry) -> list[Problem]:
    """What a state needs beyond its own keys: canary a percent, shadow of a write
    method an explicit shadow_writes."""
    problems = []
    for index, entry in enumerate(registry.routes):
        here = ("routes", index)
        label = f"{describe(here)} ({entry.endpoint})"
        if entry.state is State.CANARY and entry.percent is None:
            problems.append(
                registry.problem(
                    here + ("state",),
                    f"{label}: state canary needs percent, the share of cohorts modern "
                    "serves (0-100); add e.g. `percent: 5`.",
                )
            )
        writes = sorted(set(entry.methods) - SAFE_METHODS)
        if entry.state is State.SHADOW and writes and not entry.shadow_writes:
            problems.append(
                registry.problem(
                    here + ("state",),
                    f"{label}: state shadow would run every {', '.join(writes)} request a "
                    "second time on the modern side, and a write done twice is a real "
                    "change. Shadow a write route only when its modern handler rolls back "
                    "under scope['state']['routeshift_shadow'], and say so with "
                    "`shadow_writes: true`; or shadow only the safe methods (split the "
                    "entry with `routeshift promote ENDPOINT --method GET --to shadow`).",
                )
            )
    return problems


def handler_path(entry: Entry | None, route: LegacyRoute) -> str | None:
    """The FastAPI path of a route's port: the entry's modern_path, else the rule's
    translation (None when a converter has none)."""
    return (entry.modern_path if entry is not None else None) or route.fastapi_path


def check_routes(
    registry: Registry,
    legacy: Sequence[LegacyRoute],
    modern: Sequence[ModernRoute],
) -> list[Problem]:
    """Hold the registry against the apps: endpoints, rules, methods and modern handlers."""
    problems: list[Problem] = []
    by_endpoint: dict[str, list[LegacyRoute]] = {}
    for route in legacy:
        by_endpoint.setdefault(route.endpoint, []).append(route)
    handlers = handler_index(modern)
    seen: dict[tuple[str, str, str], int] = {}
    legacy_name = registry.model.legacy_app
    for index, entry in enumerate(registry.routes):
        here = ("routes", index)
        label = f"{describe(here)} ({entry.endpoint})"
        for method in entry.methods:
            key = (entry.endpoint, entry.rule, method)
            if key in seen:
                problems.append(
                    registry.problem(
                        here + ("methods",),
                        f"{label}: {method} {entry.rule} is listed twice (first at line "
                        f"{seen[key]}). Keep one entry per (endpoint, rule, method).",
                    )
                )
            else:
                seen[key] = registry.line(here)
        if entry.retired:
            continue
        rules = by_endpoint.get(entry.endpoint)
        if rules is None:
            problems.append(
                registry.problem(
                    here + ("endpoint",),
                    f"{label}: endpoint {entry.endpoint!r} is not a route of {legacy_name}."
                    f"{did_you_mean(entry.endpoint, by_endpoint)} If the view was removed on "
                    "purpose, run `routeshift sync` to mark the entry retired.",
                )
            )
            continue
        match = next((r for r in rules if r.rule == entry.rule), None)
        if match is None:
            known = ", ".join(repr(r.rule) for r in rules)
            problems.append(
                registry.problem(
                    here + ("rule",),
                    f"{label}: {entry.endpoint} has no rule {entry.rule!r} in {legacy_name} "
                    f"(its rules: {known}). The app changed: fix the rule, or run "
                    "`routeshift sync`.",
                )
            )
            continue
        extra = [m for m in entry.methods if m not in match.methods]
        if extra:
            problems.append(
                registry.problem(
                    here + ("methods",),
                    f"{label}: {entry.rule} does not serve {', '.join(extra)} in {legacy_name} "
                    f"(it serves {', '.join(sorted(match.methods))}).",
                )
            )
        if entry.state is State.LEGACY:
            continue
        problems.extend(_check_handler(registry, index, entry, match, handlers))
    return problems


def _check_handler(
    registry: Registry,
    index: int,
    entry: Entry,
    route: LegacyRoute,
    handlers: frozenset[tuple[str, str]],
) -> list[Problem]:
    here = ("routes", index)
    label = f"{describe(here)} ({entry.endpoint})"
    path = handler_path(entry, route)
    if path is None:
        return [
            registry.problem(
                here + ("rule",),
                f"{label}: rule {entry.rule!r} uses a converter FastAPI has no equivalent for; "
                "set modern_path to the FastAPI path of its handler.",
            )
        ]
    problems = []
    for method in entry.methods:
        if (path, method) in handlers:
            continue
        near = did_you_mean(path, sorted({p for p, m in handlers if m == method}))
        problems.append(
            registry.problem(
                here + ("state",),
                f"{label}: state is {entry.state.value} but {registry.model.modern_app} has no "
                f"handler for {method} {path}.{near} Port the route first (routeshift scaffold "
                f"{entry.endpoint}), set modern_path, or set the state back to legacy.",
            )
        )
    return problems
