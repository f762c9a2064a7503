"""The store's daily snapshots (routeshift_daily_snapshots, schema version 2): one row a
day, the last one of a day wins, written by the observation writer's thread, and a store
that cannot keep one is logged, never raised."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import pytest

from routeshift.store.records import Snapshot
from routeshift.store.redact import Redactor
from routeshift.store.sql import Store
from routeshift.store.writer import ObservationWriter

DAY = dt.date(2026, 3, 2)


def snapshot(day: dt.date, hour: int, **counts: int) -> Snapshot:
    return Snapshot(day, dt.datetime(day.year, day.month, day.day, hour, tzinfo=dt.UTC), counts)


def test_the_last_snapshot_of_a_day_wins(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    store.record_snapshot(snapshot(DAY, 9, legacy=3))
    store.record_snapshot(snapshot(DAY, 17, legacy=2, modern=1))
    store.record_snapshot(snapshot(DAY - dt.timedelta(days=1), 9, legacy=4))
    found = store.snapshots(10)
    assert [(s.day, s.counts) for s in found] == [
        (DAY - dt.timedelta(days=1), {"legacy": 4}),
        (DAY, {"legacy": 2, "modern": 1}),
    ]
    assert found[1].taken_at == dt.datetime(2026, 3, 2, 17, tzinfo=dt.UTC)
    assert [s.day for s in store.snapshots(1)] == [DAY], "the latest ones"
    store.close()


def test_no_store_no_snapshots_and_none_created(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'none.db'}")
    assert store.snapshots(10) == []
    assert not (tmp_path / "none.db").exists()


def test_the_writer_keeps_the_last_snapshot_queued_of_a_day(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    writer = ObservationWriter(store, Redactor(), retention_rows=0, retention_days=0)
    assert writer.submit_snapshot(snapshot(DAY, 9, legacy=3))
    assert writer.submit_snapshot(snapshot(DAY, 10, modern=3))
    assert writer.flush(5)
    assert [s.counts for s in store.snapshots(10)] == [{"modern": 3}]
    assert writer.written == 0, "a snapshot is no observation"
    writer.close()
    store.close()


class BrokenStore:
    display_url = "broken://"

    def record_snapshot(self, snapshot: Snapshot) -> None:
        from routeshift.errors import StoreError

        raise StoreError("the disk is full")


def test_a_store_that_cannot_keep_it_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    writer = ObservationWriter(
        BrokenStore(),  # type: ignore[arg-type]
        Redactor(),
        retention_rows=0,
        retention_days=0,
    )
    with caplog.at_level(logging.WARNING, logger="routeshift.store"):
        assert writer.submit_snapshot(snapshot(DAY, 9, legacy=1))
        assert writer.flush(5)
    assert writer.close()
    assert "cannot keep the registry's daily snapshot in broken://" in caplog.text
    assert "the disk is full" in caplog.text
