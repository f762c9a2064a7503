"""The exceptions routeshift raises.

    RouteshiftError            anything the user supplied is wrong; the message says what,
    |                          where and what to do
    +-- FileError              a YAML file we read is invalid (one or more problems,
    |   |                      each with file:line)
    |   +-- RegistryError      migration_status.yaml
    |   +-- CaseFileError      a contract case file
    +-- AppImportError         an app named in the registry cannot be imported
    +-- EditError              an edit of the registry names a route it does not have

`assert` is kept for routeshift's own invariants; everything a user supplies raises one
of these.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


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
    """A file is invalid; `problems` lists every problem found."""

    what = "invalid file"

    def __init__(self, problems: Sequence[Problem]) -> None:
        assert problems, "a FileError needs at least one problem"
        self.problems = tuple(problems)
        count = len(self.problems)
        head = self.what if count == 1 else f"{self.what} ({count} problems)"
        super().__init__(head + ":\n" + "\n".join(f"  {p}" for p in self.problems))


class RegistryError(FileError):
    """The registry file is invalid."""

    what = "invalid registry"


class CaseFileError(FileError):
    """A contract case file is invalid."""

    what = "invalid case file"


class AppImportError(RouteshiftError):
    """An app named by an import string cannot be loaded."""


class EditError(RouteshiftError):
    """An edit of the registry (sync, promote, rollback) cannot be made as asked."""


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """' Did you mean 'x'?' for the closest candidate, or '' when none is close."""
    matches = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f" Did you mean {matches[0]!r}?" if matches else ""
