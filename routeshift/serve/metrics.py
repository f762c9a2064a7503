"""The gateway's Prometheus metrics, and the figures the admin pages read back from them.

    routeshift_requests_total{endpoint, method, side, status}
    routeshift_request_duration_seconds{side}                  histogram
    routeshift_shadow_runs_total{endpoint, result}             match mismatch error timeout skipped
    routeshift_bridge_threads_busy                             gauge
    routeshift_bridge_threads                                  gauge: the bridge's pool size

`endpoint` is the legacy app's endpoint, `modern-only` or `unmatched`, never a raw path;
a method outside the HTTP ones is counted as `other`, so a client cannot grow the series.

Each `Metrics` owns its CollectorRegistry (never prometheus_client's global one), so that
several gateways can live in one process. With several worker processes (`uvicorn
gateway:app --workers 4`) each worker counts only its own requests, so the metrics go
to prometheus_client's multiprocess mode, where every worker writes its values to files
in one directory and any worker's /metrics sums them. `Metrics.for_process()` picks it:

- PROMETHEUS_MULTIPROC_DIR set: that directory. Wipe it before the server starts, as
  prometheus_client requires; gunicorn (which forks its workers) needs this.
- a process that multiprocessing started (uvicorn's --workers and --reload): a directory
  of its supervisor's own, `<tmp>/routeshift-metrics-<uid>/<supervisor pid>-<run>`. The
  run part is a digest of multiprocessing's authkey, which a spawned worker inherits
  from its supervisor and which is random per supervisor start: every worker of one
  server finds the same directory, and a new start gets a fresh one, so nothing needs
  wiping. Directories of supervisors that are gone are removed.
- otherwise one process: plain in-memory metrics.

prometheus_client picks its value class when it is first imported; a worker switches to
the file-backed class before it creates its metrics (`values.ValueClass`, as
prometheus_client's own tests do), so the order of imports does not matter.
"""

from __future__ import annotations

import contextlib
import functools
import glob
import hashlib
import multiprocessing
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, values
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

from routeshift._asgi import HTTP_METHODS
from routeshift.errors import MetricsError
from routeshift.track.report.progress import Traffic

__all__ = [
    "BUCKETS",
    "ENV_MULTIPROC_DIR",
    "SIDES",
    "Metrics",
    "multiprocess_dir",
]

ENV_MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"
SIDES = ("legacy", "modern")
#: request latency buckets, in seconds: a gateway answers in milliseconds
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_RUN_DIR = re.compile(r"(\d+)-[0-9a-f]{16}")


# --- where the metrics live -----------------------------------------------------------


def multiprocess_dir() -> Path | None:
    """The directory for multiprocess metrics, created; None for a single process.

    PROMETHEUS_MULTIPROC_DIR when set, else a directory of the supervisor's own when a
    multiprocessing supervisor started this process (see the module docstring)."""
    configured = os.environ.get(ENV_MULTIPROC_DIR)
    if configured:
        return _ready(Path(configured), "PROMETHEUS_MULTIPROC_DIR")
    parent = multiprocessing.parent_process()
    if parent is None or parent.pid is None:
        return None
    base = _own_base()
    _ready(base, "the temporary directory")
    _remove_gone(base)
    run = hashlib.sha256(bytes(multiprocessing.current_process().authkey)).hexdigest()[:16]
    return _ready(base / f"{parent.pid}-{run}", "the temporary directory")


def _own_base() -> Path:
    """Where routeshift keeps the directories it chooses itself (one per user)."""
    getuid = getattr(os, "getuid", None)
    user = str(getuid()) if getuid is not None else "user"
    return Path(tempfile.gettempdir()) / f"routeshift-metrics-{user}"


def _ready(path: Path, what: str) -> Path:
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        probe = path / f".probe-{os.getpid()}"
        probe.touch()
        probe.unlink()
    except OSError as exc:
        raise MetricsError(
            f"cannot keep the multiprocess metrics in {path} ({what}): {exc.strerror or exc}; "
            f"set {ENV_MULTIPROC_DIR} to a writable directory, emptied before each start."
        ) from exc
    return path


def _remove_gone(base: Path) -> None:
    """Remove the directories of supervisors that no longer run."""
    with contextlib.suppress(OSError):
        for child in base.iterdir():
            found = _RUN_DIR.fullmatch(child.name)
            if found and not _alive(int(found.group(1))):
                shutil.rmtree(child, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. another user's process: it exists
        return True
    return True


def _use_files(path: Path) -> None:
    """Send the values of metrics created from now on in this process to files in `path`."""
    current = os.environ.get(ENV_MULTIPROC_DIR)
    if current and Path(current) != path:
        raise MetricsError(
            f"this process keeps its metrics in {current} ({ENV_MULTIPROC_DIR}); "
            f"it cannot also keep them in {path}."
        )
    os.environ[ENV_MULTIPROC_DIR] = str(path)
    if values.ValueClass is values.MutexValue:  # prometheus_client was imported before
        values.ValueClass = values.MultiProcessValue()  # type: ignore[no-untyped-call]


# --- the collectors -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Collectors:
    requests: Counter
    duration: Histogram
    shadow: Counter
    busy: Gauge
    threads: Gauge


def _collectors(registry: CollectorRegistry | None) -> _Collectors:
    return _Collectors(
        requests=Counter(
            "routeshift_requests",
            "Requests the gateway answered, by legacy endpoint, method, serving side and status.",
            ("endpoint", "method", "side", "status"),
            registry=registry,
        ),
        duration=Histogram(
            "routeshift_request_duration_seconds",
            "Time from a request's arrival to its response's end, by serving side.",
            ("side",),
            buckets=BUCKETS,
            registry=registry,
        ),
        shadow=Counter(
            "routeshift_shadow_runs",
            "Shadow comparisons, by legacy endpoint and result.",
            ("endpoint", "result"),
            registry=registry,
        ),
        busy=Gauge(
            "routeshift_bridge_threads_busy",
            "Threads of the legacy bridge running a request now.",
            registry=registry,
            multiprocess_mode="livesum",
        ),
        threads=Gauge(
            "routeshift_bridge_threads",
            "Threads in the legacy bridge's pool (busy / this is its saturation).",
            registry=registry,
            multiprocess_mode="livesum",
        ),
    )


@functools.cache
def _process_collectors() -> _Collectors:
    """Multiprocess mode: one set per process. Two sets of one name would each cache the
    value and overwrite the other's in the process's file."""
    return _collectors(None)


# --- Metrics --------------------------------------------------------------------------


class Metrics:
    """The gateway's metrics: cheap recording on the request path, exposition for
    /metrics, and the totals the admin pages show."""

    def __init__(self, multiprocess_dir: str | os.PathLike[str] | None = None) -> None:
        """In memory, or in prometheus_client's multiprocess files under `multiprocess_dir`
        (which then is this process's for good). Most callers want `for_process()`."""
        self.multiprocess_dir = None if multiprocess_dir is None else Path(multiprocess_dir)
        self.registry = CollectorRegistry()
        if self.multiprocess_dir is None:
            self._c = _collectors(self.registry)
        else:
            _use_files(self.multiprocess_dir)
            self._c = _process_collectors()
            MultiProcessCollector(self.registry, path=str(self.multiprocess_dir))  # type: ignore[no-untyped-call]
        self._requests: dict[tuple[str, str, str, int], Any] = {}
        self._durations = {side: self._c.duration.labels(side) for side in SIDES}
        self._shadow: dict[tuple[str, str], Any] = {}
        self._closed = False

    @classmethod
    def for_process(cls) -> Metrics:
        """Multiprocess metrics in a worker process (or with PROMETHEUS_MULTIPROC_DIR),
        in memory otherwise: see the module docstring. Raises MetricsError."""
        return cls(multiprocess_dir())

    @property
    def multiprocess(self) -> bool:
        return self.multiprocess_dir is not None

    # --- recording: the gateway's request path ------------------------------------

    def request(self, endpoint: str, method: str, side: str, status: int, seconds: float) -> None:
        """One answered request."""
        if method not in HTTP_METHODS:
            method = "other"
        key = (endpoint, method, side, status)
        child = self._requests.get(key)
        if child is None:
            child = self._requests[key] = self._c.requests.labels(
                endpoint, method, side, str(status)
            )
        child.inc()
        self._durations[side].observe(seconds)

    def shadow(self, endpoint: str, result: str) -> None:
        """One shadow run: match, mismatch, error, timeout or skipped."""
        key = (endpoint, result)
        child = self._shadow.get(key)
        if child is None:
            child = self._shadow[key] = self._c.shadow.labels(endpoint, result)
        child.inc()

    def thread_busy(self, delta: int) -> None:
        """A bridge thread took up (+1) or finished (-1) a request."""
        self._c.busy.inc(delta)

    def bridge_threads(self, size: int) -> None:
        """The bridge's pool size (set once at start)."""
        self._c.threads.set(size)

    # --- reading ------------------------------------------------------------------

    def render(self, accept_header: str | None) -> tuple[bytes, str]:
        """The exposition for /metrics, and its content type: OpenMetrics when the
        Accept header asks for it, Prometheus text otherwise."""
        self._forget_dead_workers()
        encoder, content_type = choose_encoder(accept_header or "")
        return encoder(self.registry), content_type

    def traffic(self) -> dict[str, Traffic]:
        """Requests per endpoint by side, over all methods and statuses (and workers)."""
        return {
            endpoint: Traffic(legacy=sides.get("legacy", 0), modern=sides.get("modern", 0))
            for endpoint, sides in self._totals("routeshift_requests", "side").items()
        }

    def shadow_counts(self) -> dict[str, dict[str, int]]:
        """endpoint -> result -> shadow runs (skipped included; the store has no skips)."""
        return self._totals("routeshift_shadow_runs", "result")

    def _totals(self, family: str, label: str) -> dict[str, dict[str, int]]:
        """endpoint -> value of `label` -> the counter's total over the other labels."""
        counts: dict[str, dict[str, int]] = {}
        for labels, value in self._samples(family):
            by_value = counts.setdefault(labels["endpoint"], {})
            by_value[labels[label]] = by_value.get(labels[label], 0) + int(value)
        return counts

    def _samples(self, family: str) -> Iterator[tuple[dict[str, str], float]]:
        total = family + "_total"
        for metric in self.registry.collect():
            if metric.name == family:
                for sample in metric.samples:
                    if sample.name == total:
                        yield sample.labels, sample.value

    def _forget_dead_workers(self) -> None:
        """A worker that was killed never closed: drop its live gauges (busy threads).
        Only in a directory routeshift chose: a shared PROMETHEUS_MULTIPROC_DIR may hold
        the files of processes that this one cannot see."""
        if self.multiprocess_dir is None or self.multiprocess_dir.parent != _own_base():
            return
        pattern = str(self.multiprocess_dir / "gauge_live*_*.db")
        for name in glob.glob(pattern):
            pid = Path(name).stem.rpartition("_")[2]
            if pid.isdigit() and not _alive(int(pid)):
                with contextlib.suppress(OSError):
                    mark_process_dead(int(pid), str(self.multiprocess_dir))  # type: ignore[no-untyped-call]

    def close(self) -> None:
        """At the worker's shutdown: its live gauges leave the sums; counters stay."""
        if self._closed:
            return
        self._closed = True
        if self.multiprocess_dir is not None:
            mark_process_dead(os.getpid(), str(self.multiprocess_dir))  # type: ignore[no-untyped-call]

    def __repr__(self) -> str:
        where = f"files in {self.multiprocess_dir}" if self.multiprocess_dir else "in memory"
        return f"Metrics({where})"
