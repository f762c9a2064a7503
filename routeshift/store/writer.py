"""ObservationWriter: shadow observations into the store from a thread, never from the
event loop.

The gateway calls `submit(observation)`, which only puts it on a bounded queue: it never
blocks and never raises (a full queue drops the observation and counts it). One daemon
thread takes everything queued, redacts it and writes it in batches, one transaction
each, and now and then prunes the store to its retention. A store that cannot be written
is logged (rate-limited, logger "routeshift.store"; the store's URL without its
password, an observation's error redacted) and counted; the gateway carries on.
`close()` writes what is queued and stops the thread: nothing is lost at a clean
shutdown. The same thread keeps the registry's daily snapshot (`submit_snapshot`, on the
gateway's start and each reload): a snapshot that cannot be written is logged, never
retried.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
from typing import TYPE_CHECKING

from routeshift.errors import StoreError
from routeshift.store.records import Observation, Snapshot
from routeshift.store.redact import Redactor

if TYPE_CHECKING:
    from routeshift.registry.model import Settings
    from routeshift.store.sql import Store

__all__ = ["ObservationWriter"]

log = logging.getLogger("routeshift.store")

_STOP = object()


class ObservationWriter:
    """Writes observations to `store` in batches from a daemon thread.

    `retention_rows` and `retention_days` are the registry's settings (0: no limit on
    that axis); the store is pruned to them on the first batch and then every
    `prune_interval` seconds. Counters: `written` (rows stored), `dropped` (the queue
    was full, or the writer closed), `failed` (the store refused them).
    """

    def __init__(
        self,
        store: Store,
        redactor: Redactor,
        *,
        retention_rows: int,
        retention_days: float,
        queue_size: int = 10_000,
        batch_size: int = 250,
        prune_interval: float = 60.0,
        warn_interval: float = 60.0,
    ) -> None:
        assert batch_size > 0 and queue_size > 0
        self.store = store
        self.redactor = redactor
        self.retention_rows = retention_rows
        self.retention_days = retention_days
        self.batch_size = batch_size
        self.prune_interval = prune_interval
        self.warn_interval = warn_interval
        self._queue: queue.Queue[object] = queue.Queue(maxsize=queue_size)
        self._lock = threading.Lock()
        self._done = threading.Condition(self._lock)
        self._thread: threading.Thread | None = None
        self._closed = False
        self._accepted = 0  # put on the queue
        self._handled = 0  # taken off it and written, failed or left out
        self._written = 0
        self._dropped = 0
        self._failed = 0
        self._pruned = 0
        self._last_prune: float | None = None
        self._last_warning = -math.inf
        self._unreported = 0

    @classmethod
    def for_settings(cls, store: Store, settings: Settings) -> ObservationWriter:
        """A writer with the redaction and retention of the registry's settings."""
        return cls(
            store,
            Redactor(settings.redact),
            retention_rows=settings.retention_rows,
            retention_days=settings.retention_days,
        )

    def configure(self, settings: Settings) -> None:
        """Take the redaction and retention of the registry's settings (on a reload)."""
        self.redactor = Redactor(settings.redact)
        self.retention_rows = settings.retention_rows
        self.retention_days = settings.retention_days

    def redact_error(self, text: str) -> str:
        """An error's text with the request's values taken out, before it is logged."""
        return self.redactor.error(text)

    def __repr__(self) -> str:
        return (
            f"ObservationWriter({self.store.display_url!r}, written={self._written}, "
            f"dropped={self._dropped}, failed={self._failed})"
        )

    # --- counters ----------------------------------------------------------------------

    @property
    def written(self) -> int:
        return self._written

    @property
    def dropped(self) -> int:
        return self._dropped

    @property
    def failed(self) -> int:
        return self._failed

    @property
    def pruned(self) -> int:
        return self._pruned

    @property
    def pending(self) -> int:
        """Observations queued and not written yet."""
        return self._queue.qsize()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # --- the caller's side ---------------------------------------------------------------

    def start(self) -> None:
        """Start the thread (submit starts it too); once, and never after close."""
        with self._lock:
            if self._thread is not None or self._closed:
                return
            thread = threading.Thread(target=self._run, name="routeshift-observations", daemon=True)
            thread.start()
            self._thread = thread

    def submit_snapshot(self, snapshot: Snapshot) -> bool:
        """Queue the registry's snapshot of the day, as `submit` does an observation."""
        return self._put(snapshot)

    def submit(self, observation: Observation) -> bool:
        """Queue one observation; False (and counted as dropped) when the queue is full or
        the writer is closed. Never blocks, never raises."""
        return self._put(observation)

    def _put(self, item: Observation | Snapshot) -> bool:
        try:
            if self._thread is None:
                self.start()
            if self._closed:
                raise queue.Full
            self._queue.put_nowait(item)
        except Exception:  # queue.Full, or a thread that cannot start: drop, never raise
            with self._lock:
                self._dropped += 1
            return False
        with self._lock:
            self._accepted += 1
        return True

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything submitted so far is written (or failed); False when
        `timeout` seconds passed first."""
        with self._done:
            target = self._accepted
            return self._done.wait_for(lambda: self._handled >= target, timeout)

    def close(self, timeout: float = 10.0) -> bool:
        """Write what is queued, then stop the thread; True when it stopped in time.
        Submitting after close drops."""
        deadline = time.monotonic() + timeout
        with self._lock:
            self._closed = True
            thread = self._thread
        if thread is None or not thread.is_alive():
            return True
        try:
            self._queue.put(_STOP, timeout=max(deadline - time.monotonic(), 0.0))
        except queue.Full:
            log.warning("the shadow observation queue did not drain in %.1f s", timeout)
            return False
        thread.join(max(deadline - time.monotonic(), 0.0))
        return not thread.is_alive()

    # --- the thread ----------------------------------------------------------------------

    def _run(self) -> None:
        stopping = False
        while True:
            if stopping:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    return
            else:
                item = self._queue.get()
            batch: list[Observation] = []
            snapshots: list[Snapshot] = []
            while True:
                if item is _STOP:
                    stopping = True
                elif isinstance(item, Observation):
                    batch.append(item)
                elif isinstance(item, Snapshot):
                    snapshots.append(item)
                if len(batch) >= self.batch_size:
                    break
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            if batch:
                self._write(batch)
            if snapshots:
                self._snapshot(snapshots)
            self._maybe_prune()

    def _write(self, batch: list[Observation]) -> None:
        written = failed = 0
        try:
            written = self.store.record_observations(batch, self.redactor)
        except Exception as exc:  # the store is down, locked, or one observation is bad
            written, failed = self._write_one_by_one(batch, exc)
        with self._done:
            self._written += written
            self._failed += failed
            self._handled += len(batch)
            self._done.notify_all()

    def _snapshot(self, snapshots: list[Snapshot]) -> None:
        """The last snapshot of each day queued (an earlier one of the day is replaced)."""
        latest = {snapshot.day: snapshot for snapshot in snapshots}
        for snapshot in latest.values():
            try:
                self.store.record_snapshot(snapshot)
            except Exception as exc:
                log.warning(
                    "cannot keep the registry's daily snapshot in %s (the gateway serves on): %s",
                    self.store.display_url,
                    self._describe(exc),
                )
        with self._done:
            self._handled += len(snapshots)
            self._done.notify_all()

    def _write_one_by_one(self, batch: list[Observation], exc: Exception) -> tuple[int, int]:
        if isinstance(exc, StoreError):  # the store itself failed: the whole batch did
            self._warn(len(batch), exc)
            return 0, len(batch)
        written = failed = 0
        for observation in batch:  # an observation that cannot be encoded: only it fails
            try:
                written += self.store.record_observations([observation], self.redactor)
            except Exception as one:
                failed += 1
                self._warn(1, one)
        return written, failed

    def _maybe_prune(self) -> None:
        if self.retention_rows <= 0 and self.retention_days <= 0:
            return
        now = time.monotonic()
        if self._last_prune is not None and now - self._last_prune < self.prune_interval:
            return
        self._last_prune = now
        try:
            deleted = self.store.prune(self.retention_rows, self.retention_days)
        except Exception as exc:
            self._warn(0, exc, "cannot prune shadow observations")
            return
        with self._lock:
            self._pruned += deleted

    def _warn(self, count: int, exc: Exception, what: str = "") -> None:
        self._unreported += count
        now = time.monotonic()
        if now - self._last_warning < self.warn_interval:
            return
        self._last_warning = now
        message = what or (
            f"cannot store {self._unreported} shadow observations (not kept; the gateway serves on)"
        )
        log.warning("%s in %s: %s", message, self.store.display_url, self._describe(exc))
        self._unreported = 0

    def _describe(self, exc: Exception) -> str:
        """A StoreError as it is (it shows the store's URL without its password); any
        other exception came from an observation, and may quote its values: redacted."""
        if isinstance(exc, StoreError):
            return str(exc)
        return self.redactor.error(f"{type(exc).__name__}: {exc}")
