"""routeshift.store.writer: observations written from a thread, in batches, never failing."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.pool import StaticPool

from routeshift.compare import Difference
from routeshift.store.records import Observation, ShadowResult
from routeshift.store.redact import Redactor
from routeshift.store.sql import Store
from routeshift.store.writer import ObservationWriter


def observation(
    n: int = 0, result: ShadowResult = ShadowResult.MISMATCH, **extra: Any
) -> Observation:
    return Observation(
        endpoint=extra.pop("endpoint", "e"),
        method="GET",
        rule="/r",
        path=f"/r/{n}",
        result=result,
        legacy_status=200,
        modern_status=201,
        legacy_ms=1.0,
        modern_ms=2.0,
        differences=extra.pop("differences", (Difference("status", 200, 201),)),
        **extra,
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    yield store
    store.close()


def writer_for(store: Any, redactor: Redactor | None = None, **options: Any) -> ObservationWriter:
    options.setdefault("retention_rows", 0)
    options.setdefault("retention_days", 0)
    return ObservationWriter(store, redactor or Redactor(), **options)


class GatedStore:
    """Stands in for a Store: record_observations waits for `gate`, and remembers batches."""

    display_url = "gated://"

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.entered = threading.Event()
        self.batches: list[int] = []

    def record_observations(self, observations: Iterable[Observation], redactor: Redactor) -> int:
        self.entered.set()
        assert self.gate.wait(5)
        batch = list(observations)
        self.batches.append(len(batch))
        return len(batch)

    def prune(self, rows: int, days: float) -> int:
        return 0


def test_submitted_observations_are_written(store: Store) -> None:
    writer = writer_for(store)
    assert not writer.running  # started by the first submit
    assert all(writer.submit(observation(n)) for n in range(5))
    assert writer.running
    assert writer.flush(timeout=5)
    assert (writer.written, writer.dropped, writer.failed, writer.pending) == (5, 0, 0, 0)
    assert [m.path for m in store.mismatches()] == [f"/r/{n}" for n in reversed(range(5))]
    assert writer.close(timeout=5) and not writer.running


def test_close_writes_everything_queued(store: Store) -> None:
    writer = writer_for(store, batch_size=7)
    for n in range(300):
        writer.submit(observation(n))
    assert writer.close(timeout=10)
    assert writer.written == 300 and len(store.mismatches(limit=1000)) == 300
    assert not writer.submit(observation())  # closed: dropped, not raised
    assert writer.dropped == 1


def test_close_without_a_submit_is_fine(store: Store) -> None:
    writer = writer_for(store)
    assert writer.close(timeout=1)
    assert not writer.running and not store.has_observations()


def test_a_full_queue_drops_without_blocking() -> None:
    gated = GatedStore()
    writer = writer_for(gated, queue_size=2, batch_size=100)
    assert writer.submit(observation(0))
    assert gated.entered.wait(5)  # the thread holds the first one, writing
    assert writer.submit(observation(1)) and writer.submit(observation(2))
    assert not writer.submit(observation(3))
    assert (writer.dropped, writer.pending) == (1, 2)
    gated.gate.set()
    assert writer.close(timeout=5)
    assert writer.written == 3 and gated.batches == [1, 2]


def test_batches_take_all_that_is_queued_up_to_batch_size() -> None:
    gated = GatedStore()
    writer = writer_for(gated, batch_size=3)
    writer.submit(observation(0))
    assert gated.entered.wait(5)
    for n in range(1, 8):
        writer.submit(observation(n))
    gated.gate.set()
    assert writer.close(timeout=5)
    assert gated.batches == [1, 3, 3, 1]


def test_an_unavailable_store_is_logged_once_and_counted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    broken = Store("sqlite:////proc/routeshift-test/no.db")
    writer = writer_for(broken, batch_size=1)
    with caplog.at_level(logging.WARNING, logger="routeshift.store"):
        for n in range(3):
            assert writer.submit(observation(n))
        assert writer.flush(timeout=5)
    assert (writer.written, writer.failed) == (0, 3)
    assert writer.running  # it carries on
    warnings = [r for r in caplog.records if r.name == "routeshift.store"]
    assert len(warnings) == 1  # rate-limited
    assert (
        warnings[0]
        .getMessage()
        .startswith(
            "cannot store 1 shadow observations (not kept; the gateway serves on) "
            "in sqlite:////proc/routeshift-test/no.db: cannot"
        )
    )
    assert writer.close(timeout=5)


class PickyRedactor(Redactor):
    """Fails on one place, and notes the threads it ran in."""

    def __init__(self) -> None:
        super().__init__()
        self.threads: set[int] = set()

    def difference(self, difference: Difference) -> Difference:
        self.threads.add(threading.get_ident())
        if difference.where == "/boom":
            raise ValueError("cannot redact")
        return super().difference(difference)


class HeldStore:
    """A real store whose first write waits for `gate`: what comes meanwhile is one batch."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.display_url = store.display_url
        self.gate = threading.Event()
        self.entered = threading.Event()

    def record_observations(self, observations: Iterable[Observation], redactor: Redactor) -> int:
        self.entered.set()
        assert self.gate.wait(5)
        return self.store.record_observations(observations, redactor)

    def prune(self, rows: int, days: float) -> int:
        return 0


def test_one_bad_observation_fails_alone_and_redaction_runs_in_the_thread(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    redactor = PickyRedactor()
    held = HeldStore(store)
    writer = writer_for(held, redactor)
    writer.submit(observation(0))
    assert held.entered.wait(5)
    with caplog.at_level(logging.WARNING, logger="routeshift.store"):
        writer.submit(observation(1))
        writer.submit(observation(2, differences=(Difference("/boom", 1, 2),)))
        writer.submit(observation(3))
        held.gate.set()
        assert writer.close(timeout=5)
    assert (writer.written, writer.failed) == (3, 1)
    assert sorted(m.path for m in store.mismatches()) == ["/r/0", "/r/1", "/r/3"]
    assert threading.get_ident() not in redactor.threads and len(redactor.threads) == 1
    assert "cannot redact" in caplog.text


class LeakyRedactor(Redactor):
    """Fails on one place with a message that quotes the value it held."""

    def difference(self, difference: Difference) -> Difference:
        if difference.where == "/pin":
            raise ValueError(f"cannot redact {difference.legacy!r} for password=hunter2")
        return super().difference(difference)


def test_a_failed_observation_is_logged_without_its_values(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    writer = writer_for(store, LeakyRedactor(["password"]))
    with caplog.at_level(logging.WARNING, logger="routeshift.store"):
        writer.submit(observation(0, differences=(Difference("/pin", "9876x", "1"),)))
        assert writer.close(timeout=5)
    assert writer.failed == 1
    assert "9876x" not in caplog.text and "hunter2" not in caplog.text
    assert "ValueError: cannot redact [redacted] for password=[redacted]" in caplog.text


def test_a_store_s_password_is_never_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "not-a-database.db"
    path.write_bytes(b"this is not a SQLite file" * 100)
    broken = Store(f"sqlite:///{path}")
    broken.url = "postgresql://ann:s3cret@db.example/shop"  # as configured
    writer = writer_for(broken, retention_rows=10, warn_interval=0)
    with caplog.at_level(logging.WARNING, logger="routeshift.store"):
        writer.submit(observation(0))
        assert writer.close(timeout=5)
    assert writer.failed == 1
    assert "s3cret" not in caplog.text and "s3cret" not in repr(writer)
    assert f"in {broken.display_url}: cannot create the tables" in caplog.text
    assert "cannot prune shadow observations" in caplog.text


def test_errors_are_stored_redacted_through_the_writer(store: Store) -> None:
    writer = writer_for(store, Redactor(["pin"]))
    writer.submit(
        observation(
            0,
            ShadowResult.ERROR,
            error="ValueError: invalid literal for int() with base 10: '9876x' (pin=9876x)",
        )
    )
    assert writer.close(timeout=5)
    (stored,) = store.mismatches()
    assert stored.error == (
        "ValueError: invalid literal for int() with base 10: [redacted] (pin=[redacted]"
    )


def test_the_writer_prunes_to_the_retention(store: Store) -> None:
    writer = writer_for(store, retention_rows=4, retention_days=14, prune_interval=3600)
    for n in range(10):
        writer.submit(observation(n))
    assert writer.close(timeout=5)
    assert writer.written == 10 and writer.pruned == 6
    assert [m.path for m in store.mismatches()] == ["/r/9", "/r/8", "/r/7", "/r/6"]


def test_matches_and_skipped_runs(store: Store) -> None:
    writer = writer_for(store)
    writer.submit(observation(0, ShadowResult.MATCH))
    writer.submit(observation(1, ShadowResult.SKIPPED))
    assert writer.close(timeout=5)
    assert writer.written == 1 and writer.failed == 0
    assert store.shadow_summaries()["e"].runs == 1


def test_an_in_memory_store_through_the_thread() -> None:
    memory = Store("sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False})
    writer = writer_for(memory)
    writer.submit(observation())
    assert writer.close(timeout=5)
    assert len(memory.mismatches()) == 1
    assert repr(writer) == "ObservationWriter('sqlite://', written=1, dropped=0, failed=0)"
    memory.close()
