"""routeshift.track.history: the migration over time, from a real git repository of a
registry, from the store's daily snapshots, and which one wins; its burn-down in the html
page and its key in the status document."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from routeshift.registry.load import load_registry
from routeshift.registry.model import RegistryModel
from routeshift.store.records import Snapshot
from routeshift.store.sql import Store
from routeshift.track.history import (
    History,
    Point,
    count_registry,
    git_history,
    last_of_each_day,
    load_history,
    snapshot_counts,
)
from routeshift.track.report.html import format_status_html
from routeshift.track.report.progress import Tally, build_progress, status_document

GIT = shutil.which("git")
needs_git = pytest.mark.skipif(GIT is None, reason="no git binary")
NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)


def registry_text(*states: str, retired: int = 0, extra: str = "") -> str:
    """A registry of one entry per state (GET and HEAD each), and `retired` retired ones."""
    lines = ["legacy_app: legacy:app", "modern_app: modern:app", "routes:"]
    for number, state in enumerate(states):
        lines += [
            f"  - endpoint: view{number}",
            f"    rule: /r{number}",
            "    methods: [GET, HEAD]",
            f"    state: {state}",
            *(["    percent: 10"] if state == "canary" else []),
        ]
    for number in range(retired):
        lines += [
            f"  - endpoint: gone{number}",
            f"    rule: /gone{number}",
            "    methods: [GET]",
            "    state: legacy",
            "    retired: true",
        ]
    return "\n".join(lines) + "\n" + extra


def git(repo: Path, *args: str, when: str | None = None) -> str:
    env = dict(os.environ, GIT_CONFIG_NOSYSTEM="1", HOME=str(repo))
    if when is not None:
        env.update(GIT_AUTHOR_DATE=when, GIT_COMMITTER_DATE=when)
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def commit(repo: Path, text: str, when: str, name: str = "migration_status.yaml") -> str:
    (repo / name).write_text(text)
    git(repo, "add", name)
    git(repo, "commit", "-q", "-m", f"registry at {when}", when=when)
    return git(repo, "rev-parse", "HEAD").strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository of a registry: five commits on four days, the third one broken."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    commit(repo, registry_text("legacy", "legacy", "legacy"), "2026-03-01T10:00:00Z")
    commit(repo, registry_text("shadow", "legacy", "legacy"), "2026-03-02T09:00:00Z")
    commit(repo, registry_text("modern", "legacy", "legacy"), "2026-03-02T18:00:00Z")
    commit(repo, registry_text("modern", "bogus", "legacy"), "2026-03-04T10:00:00Z")
    commit(repo, registry_text("modern", "canary", "legacy", retired=1), "2026-03-06T10:00:00Z")
    return repo


def states(point: Point) -> list[int]:
    return [point.of(s) for s in ("legacy", "shadow", "canary", "modern", "retired")]


# --- counting ---------------------------------------------------------------------------------


def test_a_version_is_counted_as_progress_counts_it(tmp_path: Path) -> None:
    path = tmp_path / "migration_status.yaml"
    path.write_text(
        registry_text("modern", "shadow", retired=2)
        + "  - endpoint: static\n    rule: /static/<path:f>\n    methods: [GET]\n"
        "    state: legacy\n"
        "  - endpoint: view0\n    rule: /r0\n    methods: [POST, OPTIONS]\n    state: legacy\n"
    )
    tally, retired = count_registry(load_registry(path).model)
    # HEAD, OPTIONS and static are not counted; retired entries are apart
    assert tally == Tally(legacy=1, shadow=1, modern=1)
    assert retired == 2
    assert snapshot_counts(load_registry(path).model) == {
        "legacy": 1,
        "shadow": 1,
        "canary": 0,
        "modern": 1,
        "retired": 2,
    }


def test_one_point_a_day_the_last_of_it_and_at_most_so_many() -> None:
    at = [
        dt.datetime(2026, 1, day, hour, tzinfo=dt.UTC)
        for day, hour in ((3, 18), (3, 9), (2, 5), (1, 5))
    ]
    commits = [(f"c{i}", moment, "r.yaml") for i, moment in enumerate(at)]  # newest first
    assert [c for c, _, _ in last_of_each_day(commits, 10)] == ["c3", "c2", "c0"]
    assert [c for c, _, _ in last_of_each_day(commits, 2)] == ["c2", "c0"]


# --- the git source ---------------------------------------------------------------------------


@needs_git
def test_git_history_a_point_a_day_and_the_bad_version_skipped(repo: Path) -> None:
    history = git_history(repo / "migration_status.yaml", now=NOW)
    assert history is not None and history.source == "git"
    days = [point.at.date().isoformat() for point in history.points]
    assert days == ["2026-03-01", "2026-03-02", "2026-03-06"]
    assert [states(p) for p in history.points] == [
        [3, 0, 0, 0, 0],
        [2, 0, 0, 1, 0],  # the last commit of 2026-03-02, not the first
        [1, 0, 1, 1, 1],
    ]
    assert all(p.commit and len(p.commit) == 40 for p in history.points)
    (skipped,) = history.skipped
    assert skipped.commit is not None and "bogus" in skipped.reason


@needs_git
def test_the_working_copy_is_the_last_point(repo: Path) -> None:
    path = repo / "migration_status.yaml"
    path.write_text(registry_text("modern", "modern", "modern"))  # not committed
    history = git_history(path, current=load_registry(path), now=NOW)
    assert history is not None
    assert states(history.points[-1]) == [0, 0, 0, 3, 0]
    assert history.points[-1].commit is None and history.points[-1].at == NOW
    assert len(history.points) == 4


@needs_git
def test_a_renamed_registry_keeps_its_history(repo: Path) -> None:
    git(repo, "mv", "migration_status.yaml", "registry.yaml")
    git(repo, "commit", "-q", "-m", "rename", when="2026-03-08T10:00:00Z")
    history = git_history(repo / "registry.yaml", now=NOW)
    assert history is not None
    assert [p.at.date().day for p in history.points] == [1, 2, 6, 8]


@needs_git
def test_points_are_capped_to_the_latest_days(repo: Path) -> None:
    history = git_history(repo / "migration_status.yaml", now=NOW, max_points=2)
    assert history is not None
    # the two latest days are chosen: the 4th (which does not load) and the 6th
    assert [p.at.date().day for p in history.points] == [6]
    assert len(history.skipped) == 1


def test_no_git_or_no_repository_gives_no_git_history(tmp_path: Path) -> None:
    path = tmp_path / "migration_status.yaml"
    path.write_text(registry_text("legacy"))
    assert git_history(path, git=str(tmp_path / "no-such-git")) is None
    if GIT is not None:
        assert git_history(path) is None  # tmp_path is in no work tree


# --- the store source, and which one wins -------------------------------------------------------


def snapshots_store(tmp_path: Path) -> Store:
    store = Store(f"sqlite:///{tmp_path / 'routeshift.db'}")
    for day, counts in ((1, {"legacy": 3}), (2, {"legacy": 2, "modern": 1, "retired": 1})):
        moment = dt.datetime(2026, 3, day, 12, tzinfo=dt.UTC)
        store.record_snapshot(Snapshot(moment.date(), moment, counts))
    return store


def test_the_store_source_outside_git(tmp_path: Path) -> None:
    path = tmp_path / "migration_status.yaml"
    path.write_text(registry_text("legacy"))
    store = snapshots_store(tmp_path)
    history = load_history(load_registry(path), store, now=NOW)
    assert history.source == "store"
    assert [states(p) for p in history.points] == [[3, 0, 0, 0, 0], [2, 0, 0, 1, 1]]
    store.close()


@needs_git
def test_git_wins_over_the_store(repo: Path, tmp_path: Path) -> None:
    store = snapshots_store(tmp_path)
    history = load_history(load_registry(repo / "migration_status.yaml"), store, now=NOW)
    assert history.source == "git"
    # three commit days and the working copy now; none of the store's snapshots
    assert [p.at.date().day for p in history.points] == [1, 2, 6, 10]
    assert all(p.commit for p in history.points[:3])
    store.close()


def test_nothing_known_is_no_source(tmp_path: Path) -> None:
    path = tmp_path / "migration_status.yaml"
    path.write_text(registry_text("legacy"))
    store = Store(f"sqlite:///{tmp_path / 'none.db'}")
    assert load_history(load_registry(path), store) == History(None)
    assert not (tmp_path / "none.db").exists(), "reading the history creates no store"


# --- shown ------------------------------------------------------------------------------------


def progress_with(history: History | None) -> Any:
    registry = load_registry_model()
    return build_progress(
        registry,
        [],
        [],
        verifications={},
        case_endpoints=(),
        generated_at=NOW,
        history=history,
    )


def load_registry_model() -> Any:
    from routeshift.registry.model import Registry

    return Registry(Path("r.yaml"), RegistryModel(legacy_app="a:app", modern_app="b:app"))


HISTORY = History(
    "git",
    (
        Point(dt.datetime(2026, 3, 1, tzinfo=dt.UTC), Tally(legacy=4), commit="a" * 40),
        Point(dt.datetime(2026, 3, 5, tzinfo=dt.UTC), Tally(legacy=2, shadow=1, modern=1)),
    ),
)


def test_the_burn_down_in_the_html_page() -> None:
    page = format_status_html(progress_with(HISTORY))
    chart = re.search(r'<svg class="burn".*?</svg>', page, re.S)
    assert chart is not None
    drawn = set(re.findall(r'<path class="(\w+)"', chart.group()))
    assert drawn == {"legacy", "shadow", "modern"}  # canary was never used: not drawn
    assert "2 legacy, 1 shadow, 0 canary, 1 modern" in chart.group()
    assert "from the registry's git history, 2 points since 2026-03-01" in page
    assert "<script" not in page and "http" not in chart.group()


def test_the_live_page_has_it_too_and_an_empty_history_says_why() -> None:
    assert '<svg class="burn"' in format_status_html(progress_with(HISTORY), live=True)
    page = format_status_html(progress_with(History(None)), live=True)
    assert '<svg class="burn"' not in page and "No history yet" in page


def test_the_history_key_of_the_status_document() -> None:
    document = status_document(progress_with(HISTORY))
    assert document["history"]["source"] == "git"
    assert document["history"]["points"][1] == {
        "at": "2026-03-05T00:00:00+00:00",
        "commit": None,
        "legacy": 2,
        "shadow": 1,
        "canary": 0,
        "modern": 1,
        "retired": 0,
        "total": 4,
    }
    assert status_document(progress_with(None))["history"] is None
