"""The registry's records: the states, the settings, the entries and the loaded `Registry`.

Pydantic models with extra="forbid" (a typo is an error at its file:line, never a key
silently ignored), and `check_states`, what a state needs beyond its own keys. Loading
is routeshift.registry.load; holding the registry against the apps, .fit.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    field_validator,
    model_validator,
)

from routeshift._asgi import HTTP_METHODS, SAFE_METHODS
from routeshift.cohort import Cohort
from routeshift.compare import (
    Accepted,
    Rules,
    check_ignore,
    check_pointer,
    normalisers,
    tolerance,
)
from routeshift.errors import CompareError, Problem, did_you_mean
from routeshift.registry.source import Loc, describe, line_of
from routeshift.tolerance import Tolerance

__all__ = [
    "Accept",
    "Entry",
    "Registry",
    "RegistryModel",
    "Settings",
    "State",
    "check_states",
]


class State(enum.StrEnum):
    """Where a route stands: legacy -> shadow -> canary -> modern, and back."""

    LEGACY = "legacy"
    SHADOW = "shadow"
    CANARY = "canary"
    MODERN = "modern"


def _cohort(value: str | None) -> str | None:
    if value is not None:
        Cohort.parse(value)  # raises ValueError with the message
    return value


def _normaliser(value: Any) -> str | Tolerance:
    """One item of an entry's `normalise`: a name (dates, no-json) or a tolerance."""
    try:
        if isinstance(value, str):
            normalisers([value])
            return value
        if isinstance(value, Mapping):
            return tolerance(value)
    except CompareError as exc:
        raise ValueError(str(exc)) from None
    raise ValueError(
        f"{value!r} is not a normaliser: give a name (e.g. dates) or a tolerance, e.g. "
        "{within: 2s, at: /last_seen} or {within: 0.01, at: /price}."
    )


#: a name, or a Tolerance read from `{within, at}` (and written back as that mapping)
Normalise = Annotated[
    str | Tolerance,
    PlainValidator(_normaliser),
    PlainSerializer(lambda item: item if isinstance(item, str) else item.as_dict()),
]


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
    #: the gateway's openapi_url (and so /docs) covers both sides; false: modern's own
    merged_openapi: bool = True
    #: a ported route goes straight to its FastAPI route (routeshift.apps.dispatch);
    #: false: through the modern app's own router, live
    direct_dispatch: bool = True

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
    normalise: tuple[Normalise, ...] = ()
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
            return tuple(check_ignore(rule) for rule in value)
        except CompareError as exc:
            raise ValueError(str(exc)) from None

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


def check_states(registry: Registry) -> list[Problem]:
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
            safe = sorted(set(entry.methods) & SAFE_METHODS)
            split = (
                f"; or shadow only the safe methods (split the entry with `routeshift "
                f"promote {entry.endpoint} --method {safe[0]} --to shadow`)"
                if safe
                else ""
            )
            problems.append(
                registry.problem(
                    here + ("state",),
                    f"{label}: state shadow would run every {', '.join(writes)} request a "
                    "second time on the modern side, and a write done twice is a real "
                    "change. Shadow a write route only when its modern handler rolls back "
                    "under scope['state']['routeshift_shadow'], and say so with "
                    f"`shadow_writes: true` in its entry{split}.",
                )
            )
    return problems
