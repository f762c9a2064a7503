"""The migration over time: route methods per state at each version of the registry.

Two sources, the first that has points wins:

    git     the registry file's own history (`git log --follow`), when it is inside a
            git work tree: the last version of each day, each read with one
            `git cat-file --batch` (not a process per version); a version that does not
            load is skipped, with the reason kept, never fatal
    store   the daily snapshots the gateway keeps (routeshift.store.sql.Store.snapshots):
            the registry it served, at its last load or reload of each day

Either way one registry version is counted by `count_registry`, the way progress counts
(routeshift.track.report.progress.Tally): (entry, method) pairs, HEAD, OPTIONS and
`static` not counted, `retired` entries apart. Without the apps a past version cannot
know the routes it did not list, so a point has no `unregistered`. The last point is the
registry as it is now (the working copy, uncommitted edits included).

Pure but for `git_history` and `load_history`, the edges that run git and read the store.
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from routeshift._asgi import IMPLICIT_METHODS
from routeshift.errors import RouteshiftError, StoreError
from routeshift.registry.load import parse_registry
from routeshift.routes import is_static_endpoint
from routeshift.track.report.progress import Tally

if TYPE_CHECKING:
    from routeshift.registry.model import Registry, RegistryModel
    from routeshift.store.records import Snapshot
    from routeshift.store.sql import Store

__all__ = [
    "COUNTED",
    "MAX_POINTS",
    "RETIRED",
    "History",
    "Point",
    "Skipped",
    "count_registry",
    "git_history",
    "history_from_snapshots",
    "history_from_versions",
    "last_of_each_day",
    "load_history",
    "snapshot_counts",
]

log = logging.getLogger("routeshift.track")

#: the states a point counts, least advanced first (a burn-down stacks them so)
COUNTED = ("legacy", "shadow", "canary", "modern")
RETIRED = "retired"
#: at most this many points (days), the latest: a registry of thousands of commits
#: costs one `git log` and one `git cat-file` of so many versions
MAX_POINTS = 180
#: seconds git may take for the log, and for reading the versions
GIT_SECONDS = 20.0

Source = Literal["git", "store"]


@dataclass(frozen=True, slots=True)
class Point:
    """The registry at one moment: route methods per state (Tally), retired apart."""

    at: dt.datetime
    tally: Tally
    retired: int = 0
    commit: str | None = None  # the git commit; None for a snapshot or the working copy

    def of(self, state: str) -> int:
        return self.retired if state == RETIRED else self.tally.of(state)

    @property
    def total(self) -> int:
        """The route methods of the migration (retired ones are not)."""
        return sum(self.tally.of(state) for state in COUNTED)

    def as_dict(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "commit": self.commit,
            **{state: self.tally.of(state) for state in COUNTED},
            RETIRED: self.retired,
            "total": self.total,
        }

    def __repr__(self) -> str:
        counts = ", ".join(f"{state}={self.of(state)}" for state in (*COUNTED, RETIRED))
        return f"Point({self.at:%Y-%m-%d}, {counts})"


@dataclass(frozen=True, slots=True)
class Skipped:
    """A version of the registry left out of the history, and why."""

    commit: str | None
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"commit": self.commit, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class History:
    """The points of the migration, oldest first, and where they came from (None: none)."""

    source: Source | None
    points: tuple[Point, ...] = ()
    skipped: tuple[Skipped, ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        """The `history` key of routeshift.track.report.progress.status_document."""
        return {
            "source": self.source,
            "points": [point.as_dict() for point in self.points],
            "skipped": [skipped.as_dict() for skipped in self.skipped],
        }

    def __repr__(self) -> str:
        return f"History({self.source}, {len(self.points)} points, {len(self.skipped)} skipped)"


# --- counting one version ---------------------------------------------------------------------


def count_registry(model: RegistryModel) -> tuple[Tally, int]:
    """Route methods by state of one registry version, and how many are retired."""
    pairs = [
        (entry, method)
        for entry in model.routes
        if not is_static_endpoint(entry.endpoint)
        for method in entry.methods
        if method not in IMPLICIT_METHODS
    ]
    tally = Tally.count((entry.state.value, False) for entry, _ in pairs if not entry.retired)
    return tally, sum(entry.retired for entry, _ in pairs)


def snapshot_counts(model: RegistryModel) -> dict[str, int]:
    """What a daily snapshot keeps of a registry: its counts by state, retired apart."""
    tally, retired = count_registry(model)
    return {**{state: tally.of(state) for state in COUNTED}, RETIRED: retired}


# --- the sources, pure ------------------------------------------------------------------------


def history_from_versions(
    versions: Iterable[tuple[str, dt.datetime, str | None]],
    path: Path,
    *,
    current: Registry | None = None,
    now: dt.datetime | None = None,
    max_points: int = MAX_POINTS,
) -> History:
    """The git source's points from (commit, committed at, text) of the registry, oldest
    first; a text of None is a version git could not give. `current`: the registry as it
    is now, the last point (at `now`), in place of a commit of the same day."""
    points: list[Point] = []
    skipped: list[Skipped] = []
    for commit, at, text in versions:
        if text is None:
            skipped.append(Skipped(commit, f"{path.name} is not in commit {commit[:12]}"))
            continue
        try:
            model = parse_registry(text, path).model
        except RouteshiftError as exc:
            first = str(exc).strip().splitlines()
            skipped.append(Skipped(commit, first[-1].strip() if first else type(exc).__name__))
            continue
        tally, retired = count_registry(model)
        points.append(Point(at, tally, retired, commit))
    if current is not None:
        moment = now or dt.datetime.now(dt.UTC)
        if points and points[-1].at.date() == moment.date():
            points.pop()
        tally, retired = count_registry(current.model)
        points.append(Point(moment, tally, retired))
    return History("git", tuple(points[-max_points:]), tuple(skipped))


def history_from_snapshots(snapshots: Sequence[Snapshot]) -> History:
    """The store source's points: one a day, as the gateway counted the registry."""
    points = []
    for snapshot in snapshots:
        counts: Mapping[str, int] = snapshot.counts
        tally = Tally(**{state: int(counts.get(state, 0)) for state in COUNTED})
        points.append(Point(snapshot.taken_at, tally, int(counts.get(RETIRED, 0))))
    return History("store", tuple(points))


def last_of_each_day(
    commits: Iterable[tuple[str, dt.datetime, str]], max_points: int
) -> list[tuple[str, dt.datetime, str]]:
    """From (commit, at, path), newest first as `git log` gives them: the last commit of
    each (UTC) day, at most `max_points` of the latest days, oldest first."""
    chosen: dict[dt.date, tuple[str, dt.datetime, str]] = {}
    for commit, at, path in commits:
        day = at.astimezone(dt.UTC).date()
        if day not in chosen:
            if len(chosen) == max_points:
                break
            chosen[day] = (commit, at, path)
    return sorted(chosen.values(), key=lambda version: version[1])


# --- the edges: git and the store ---------------------------------------------------------------


def git_history(
    path: Path,
    *,
    current: Registry | None = None,
    now: dt.datetime | None = None,
    max_points: int = MAX_POINTS,
    git: str | None = None,
) -> History | None:
    """The registry file's git history; None when there is no git, the file is not in a
    git work tree, or git has no commit of it."""
    binary = git or shutil.which("git")
    if binary is None:
        return None
    path = path.resolve()
    try:
        top = _git(binary, path.parent, "rev-parse", "--show-toplevel").decode().strip()
        relative = path.relative_to(Path(top).resolve()).as_posix()
        log_text = _git(
            binary,
            Path(top),
            "log",
            "--follow",
            "--format=%x01%H %ct",
            "--name-only",
            "--",
            relative,
        ).decode("utf-8", "replace")
    except (OSError, ValueError, subprocess.SubprocessError) as exc:
        log.debug("no git history of %s: %s", path, exc)
        return None
    chosen = last_of_each_day(_parse_log(log_text, relative), max_points)
    if not chosen:
        return None
    try:
        texts = _read_versions(binary, Path(top), [(c, p) for c, _, p in chosen])
    except (OSError, subprocess.SubprocessError) as exc:
        log.warning("cannot read the versions of %s from git: %s", path, exc)
        return None
    versions = [(c, at, text) for (c, at, _), text in zip(chosen, texts, strict=True)]
    return history_from_versions(versions, path, current=current, now=now, max_points=max_points)


def load_history(
    registry: Registry,
    store: Store | None,
    *,
    now: dt.datetime | None = None,
    max_points: int = MAX_POINTS,
) -> History:
    """git when the registry is in a git work tree (it wins), else the store's snapshots;
    a store that cannot be read gives no points, with the reason in `skipped`."""
    found = git_history(registry.path, current=registry, now=now, max_points=max_points)
    if found is not None and found.points:
        return found
    if store is None:
        return History(None)
    try:
        snapshots = store.snapshots(max_points)
    except StoreError as exc:
        return History(None, skipped=(Skipped(None, str(exc)),))
    if not snapshots:
        return History(None)
    return history_from_snapshots(snapshots)


def _git(binary: str, where: Path, *args: str, stdin: bytes | None = None) -> bytes:
    done = subprocess.run(
        [binary, "-C", str(where), *args],
        input=stdin,
        capture_output=True,
        timeout=GIT_SECONDS,
        check=True,
    )
    return done.stdout


def _parse_log(text: str, relative: str) -> list[tuple[str, dt.datetime, str]]:
    """(commit, committed at, the file's path in it) from `git log --format=%x01%H %ct
    --name-only --follow`, newest first (a rename names the file as it was then)."""
    commits = []
    for record in text.split("\x01")[1:]:
        lines = [line for line in record.splitlines() if line.strip()]
        commit, _, stamp = lines[0].partition(" ")
        name = lines[1] if len(lines) > 1 else relative
        at = dt.datetime.fromtimestamp(int(stamp), dt.UTC)
        commits.append((commit, at, name))
    return commits


def _read_versions(binary: str, top: Path, wanted: Sequence[tuple[str, str]]) -> list[str | None]:
    """The text of each (commit, path), None where git has none, with one `git cat-file
    --batch` for all of them."""
    request = "".join(f"{commit}:{name}\n" for commit, name in wanted).encode()
    out = _git(binary, top, "cat-file", "--batch", stdin=request)
    texts: list[str | None] = []
    position = 0
    for _ in wanted:
        end = out.index(b"\n", position)
        header = out[position:end].split()
        position = end + 1
        if len(header) != 3 or header[1] != b"blob":
            texts.append(None)  # "<name> missing", or not a file
            continue
        size = int(header[2])
        texts.append(out[position : position + size].decode("utf-8", "replace"))
        position += size + 1
    return texts
