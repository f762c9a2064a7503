"""The exceptions routeshift raises: one tree, every one of them here.

    RouteshiftError            something routeshift was given or found is wrong; the
    |                          message says what, where and what to do
    +-- FileError              a YAML file we read is invalid (one or more problems,
    |   |                      each with file:line)
    |   +-- RegistryError      migration_status.yaml
    |   +-- CaseFileError      a contract case file
    +-- AppImportError         an app named in the registry cannot be imported
    +-- LifespanError          the modern app's lifespan startup or shutdown failed
    +-- EditError              an edit of the registry cannot be made as asked
    +-- CompareError           a comparison rule is malformed (normaliser, JSON pointer)
    +-- StoreError             the observation store cannot be opened, read or written
    +-- MetricsError           the multiprocess metrics directory cannot be used
    +-- GenerateError          a route cannot be generated for (the `generate` extra)
    +-- ScaffoldError          the route to scaffold, or an option, does not fit
    |   +-- ScaffoldExists     a file to write exists and --force was not given
    +-- CrossingError          a port uses routeshift.compat in a way that cannot work
    |   |                      (not installed on the app, no legacy app, a missing driver)
    |   +-- ShadowCommitError  a shadow copy's work committed its connection
    +-- ContractMismatch       a contract case whose replies differ; also an
                               AssertionError, so pytest shows it as a failed check

`assert` is kept for routeshift's own invariants; everything a user supplies raises one
of these.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

__all__ = [
    "AppImportError",
    "CaseFileError",
    "CompareError",
    "ContractMismatch",
    "CrossingError",
    "EditError",
    "FileError",
    "GenerateError",
    "LifespanError",
    "MetricsError",
    "Problem",
    "RegistryError",
    "RouteshiftError",
    "ScaffoldError",
    "ScaffoldExists",
    "ShadowCommitError",
    "StoreError",
    "did_you_mean",
    "display_path",
]


class RouteshiftError(Exception):
    """Base class of every error routeshift reports to a user."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong in a file, at a line (1-based; 0 when unknown)."""

    file: str
    line: int
    message: str
    #: where in the document, e.g. ("routes", 3, "state"), when known
    loc: tuple[str | int, ...] = ()

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.message}"


class FileError(RouteshiftError):
    """A file is invalid; `problems` lists every problem found.

    The message shows at most SHOWN lines of them: past that, problems that share a
    cause (the same message but for names and numbers) are one line, with the places of
    the first few, and what does not fit ends in "and N more" and `more_hint`.
    """

    what = "invalid file"
    #: how many lines of problems the message shows at most
    SHOWN = 20
    #: where all of them are listed, said after "and N more" (e.g. "(... lists them all)")
    more_hint = ""

    def __init__(self, problems: Sequence[Problem]) -> None:
        assert problems, "a FileError needs at least one problem"
        self.problems = tuple(problems)
        count = len(self.problems)
        head = self.what if count == 1 else f"{self.what} ({count} problems)"
        lines = _summary(self.problems, self.SHOWN, self.more_hint)
        super().__init__(head + ":\n" + "\n".join(f"  {line}" for line in lines))


class RegistryError(FileError):
    """The registry file is invalid."""

    what = "invalid registry"
    more_hint = "(routeshift check --format json lists them all)"


class CaseFileError(FileError):
    """A contract case file is invalid."""

    what = "invalid case file"


#: what a message says beyond its cause: quoted names and numbers
_PARTICULARS = re.compile(r"'[^']*'|\"[^\"]*\"|`[^`]*`|\d+")
#: how many places a grouped line names
_PLACES = 3


def _summary(problems: Sequence[Problem], shown: int, more_hint: str) -> list[str]:
    """At most `shown` lines: every problem, or past `shown` of them, one line per cause
    (the first few places of each) and "and N more"."""
    if len(problems) <= shown:
        return [str(p) for p in problems]
    groups: dict[tuple[str, str], list[Problem]] = {}
    for problem in problems:
        cause = (problem.file, _PARTICULARS.sub("_", problem.message))
        groups.setdefault(cause, []).append(problem)
    lines = [_grouped(group) for group in list(groups.values())[:shown]]
    left = sum(len(group) for group in list(groups.values())[shown:])
    if left:
        lines.append(f"and {left} more {more_hint}".rstrip())
    return lines


def _grouped(group: list[Problem]) -> str:
    """'file:12: message (199 more like it, at lines 24, 36, 48 and 196 more)'."""
    first, rest = group[0], group[1:]
    if not rest:
        return str(first)
    places = [str(p.line) for p in rest[:_PLACES] if p.line]
    word = "line" if len(places) == 1 else "lines"
    at = f", at {word} {', '.join(places)}" if places else ""
    more = f" and {len(rest) - _PLACES} more" if len(rest) > _PLACES else ""
    return f"{first} ({len(rest)} more like it{at}{more})"


class AppImportError(RouteshiftError):
    """An app named by an import string cannot be loaded."""


class LifespanError(RouteshiftError):
    """The child app reported lifespan.startup.failed or lifespan.shutdown.failed."""


class EditError(RouteshiftError):
    """An edit of the registry (sync, promote, rollback) cannot be made as asked."""


class CompareError(RouteshiftError):
    """A comparison rule is malformed (an unknown normaliser, a bad JSON pointer)."""


class StoreError(RouteshiftError):
    """The store cannot be opened or written."""


class MetricsError(RouteshiftError):
    """The multiprocess metrics directory cannot be used."""


class GenerateError(RouteshiftError):
    """A route cannot be generated for: unknown entry, no modern route, unusable body,
    or the `generate` extra (hypothesis) is not installed."""

    @classmethod
    def extra_missing(cls, exc: ImportError) -> GenerateError:
        """The error for an import of routeshift.prove.generated without its extra."""
        return cls(
            f"generated contract cases need hypothesis and hypothesis-jsonschema ({exc}). "
            "Install them with `pip install 'routeshift[generate]'`."
        )


class ScaffoldError(RouteshiftError):
    """The route to scaffold, or an option, does not fit the apps."""


class ScaffoldExists(ScaffoldError):
    """A file to write exists and --force was not given."""

    def __init__(self, paths: Sequence[Path]) -> None:
        self.paths = tuple(paths)
        names = ", ".join(display_path(p) for p in self.paths)
        super().__init__(
            f"{names} exists; scaffold never overwrites a file. Pass --force to replace it, "
            "or --out FILE to write the module elsewhere."
        )


class CrossingError(RouteshiftError):
    """routeshift.compat cannot do what a port asks: the crossing is not installed on
    the modern app, the legacy app cannot be found, or a driver is missing."""


class ShadowCommitError(CrossingError):
    """Work given to `RequestQueries.run` in a shadow copy committed its connection, which
    would keep what it wrote (routeshift.compat.queries)."""


class _Reported(Protocol):
    def report(self) -> str: ...


class ContractMismatch(RouteshiftError, AssertionError):
    """A case whose replies differ; str() is the readable report, `result` the harness's
    CaseResult."""

    def __init__(self, result: _Reported) -> None:
        self.result = result
        super().__init__(result.report())


def display_path(path: Path) -> str:
    """`path` relative to the working directory where it is under it, else as given."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """' Did you mean 'x'?' for the closest candidate, or '' when none is close."""
    matches = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f" Did you mean {matches[0]!r}?" if matches else ""
