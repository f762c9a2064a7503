"""Open-loop HTTP/1.1 load at a fixed request rate, with latency free of coordinated
omission.

wrk is closed-loop (a connection sends its next request when the last one answered), so
a slow server is offered less load and its stalls are hidden; wrk2, vegeta and oha are
not Debian packages (`hey` is, but its rate limit is per worker and closed-loop too).
This generator sends request i at the scheduled time `start + i / rate` whatever
happened before, and measures each request's latency from its *scheduled* time to the
last byte of its reply: time spent waiting for a free connection counts, as it would
for a real client.

    python bench/loadgen.py --port 8000 --path /users/1 --rate 200 --duration 10 \
        [--expect-served-by legacy] [--connections 16] [--max-connections 256]

prints one JSON object (see `LoadResult`). bench/shadow.py runs it pinned to its own CPU
with `taskset`.

How: a scheduler thread sleeps until each scheduled time (`time.sleep`, i.e.
clock_nanosleep: ~0.1 ms late at the median, where an event loop's timers are only
good to 1 ms) and puts the time on a queue; worker threads, each with one blocking
keep-alive connection opened before the clock starts, take a time, send the request
and read the reply. When every worker is busy, a new one is started (it opens its
connection then, and that counts) up to `--max-connections`. A request counts as an
error when it fails on the socket, times out (`--timeout`, default 5 s), answers other
than 200, or, with `--expect-served-by`, has another `X-Served-By`.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import queue
import socket
import sys
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field


@dataclass
class LoadResult:
    rate: float  # requests per second offered
    duration_s: float  # length of the schedule
    scheduled: int  # requests in the schedule
    completed: int  # answered 200 with the expected X-Served-By
    achieved_rate: float  # completed / (last reply - first scheduled send)
    errors: dict[str, int]  # kind -> count
    p50_ms: float  # latency from the scheduled send time to the reply's last byte
    p90_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float
    service_p50_ms: float  # from the actual send instead (for reference)
    send_lag_p50_ms: float  # how late the request left after its scheduled time
    send_lag_p99_ms: float
    connections_opened: int
    served_by: dict[str, int] = field(default_factory=dict)

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of an ascending sequence; nan when empty."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


class BadReply(Exception):
    """The reply cannot be read as HTTP/1.1 with a length."""


class Connection:
    """One blocking keep-alive HTTP/1.1 connection."""

    def __init__(self, host: str, port: int, timeout: float) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""

    def close(self) -> None:
        self.sock.close()

    def _fill(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise BadReply("the server closed the connection")
        self.buffer += chunk

    def _take(self, size: int) -> bytes:
        while len(self.buffer) < size:
            self._fill()
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data

    def _line(self, end: bytes = b"\r\n") -> bytes:
        while (at := self.buffer.find(end)) < 0:
            self._fill()
        return self._take(at + len(end))

    def exchange(self, request: bytes) -> tuple[int, str | None]:
        """Send `request`, read the whole reply: (status, X-Served-By)."""
        self.sock.sendall(request)
        head = self._line(b"\r\n\r\n").decode("latin-1").split("\r\n")
        try:
            status = int(head[0].split(" ", 2)[1])
        except (IndexError, ValueError):
            raise BadReply(f"bad status line {head[0]!r}") from None
        length: int | None = None
        chunked = False
        served_by = None
        for line in head[1:]:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding" and "chunked" in value.lower():
                chunked = True
            elif name == "x-served-by":
                served_by = value.strip()
        if chunked:
            while (size := int(self._line().split(b";")[0], 16)) > 0:
                self._take(size + 2)
            self._line()  # the empty trailer
        elif length is not None:
            self._take(length)
        else:
            raise BadReply("a reply with neither Content-Length nor chunks")
        return status, served_by


class OpenLoop:
    """One run: `rate` requests per second for `duration_s` seconds."""

    def __init__(
        self,
        host: str,
        port: int,
        path: str,
        *,
        expect_served_by: str | None,
        connections: int,
        max_connections: int,
        timeout: float,
    ) -> None:
        self.host = host
        self.port = port
        self.request = f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode("ascii")
        self.expect_served_by = expect_served_by
        self.initial = max(1, connections)
        self.max_connections = max(self.initial, max_connections)
        self.timeout = timeout
        self.jobs: queue.SimpleQueue[float | None] = queue.SimpleQueue()
        self.lock = threading.Lock()
        self.workers: list[threading.Thread] = []
        self.idle = 0  # workers waiting for a job
        self.opened = 0
        self.latencies: list[float] = []
        self.service: list[float] = []
        self.lags: list[float] = []
        self.errors: Counter[str] = Counter()
        self.served_by: Counter[str] = Counter()
        self.last_reply = 0.0

    def _connect(self) -> Connection:
        with self.lock:
            self.opened += 1
        return Connection(self.host, self.port, self.timeout)

    def _start_worker(self, connection: Connection | None) -> None:
        thread = threading.Thread(target=self._work, args=(connection,), daemon=True)
        self.workers.append(thread)
        with self.lock:
            self.idle += 1
        thread.start()

    def _work(self, connection: Connection | None) -> None:
        while True:
            scheduled = self.jobs.get()
            with self.lock:
                self.idle -= 1
            if scheduled is None:
                break
            connection = self._one(connection, scheduled)
            with self.lock:
                self.idle += 1
        if connection is not None:
            connection.close()

    def _one(self, connection: Connection | None, scheduled: float) -> Connection | None:
        """One request; returns the connection to keep (None after a failure)."""
        try:
            if connection is None:
                connection = self._connect()
            sent = time.perf_counter()
            status, served_by = connection.exchange(self.request)
            done = time.perf_counter()
        except (TimeoutError, OSError, BadReply, ValueError) as exc:
            kind = "timeout" if isinstance(exc, TimeoutError) else "socket"
            with self.lock:
                self.errors[kind] += 1
            if connection is not None:
                connection.close()
            return None
        with self.lock:
            self.lags.append(sent - scheduled)
            self.served_by[served_by or "-"] += 1
            if status != 200:
                self.errors[f"status {status}"] += 1
            elif self.expect_served_by is not None and served_by != self.expect_served_by:
                self.errors[f"X-Served-By {served_by}"] += 1
            else:
                self.latencies.append(done - scheduled)
                self.service.append(done - sent)
                self.last_reply = max(self.last_reply, done)
        return connection

    def run(self, rate: float, duration_s: float) -> LoadResult:
        for _ in range(self.initial):
            self._start_worker(self._connect())
        count = round(rate * duration_s)
        interval = 1.0 / rate
        start = time.perf_counter() + 0.05
        for i in range(count):
            scheduled = start + i * interval
            delay = scheduled - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            with self.lock:
                busy = self.idle - self.jobs.qsize() <= 0  # queued jobs have a taker each
            if busy and len(self.workers) < self.max_connections:
                self._start_worker(None)
            self.jobs.put(scheduled)
        for _ in self.workers:
            self.jobs.put(None)
        for thread in self.workers:
            thread.join(self.timeout + 1)
        return self._result(rate, duration_s, count, start)

    def _result(self, rate: float, duration_s: float, count: int, start: float) -> LoadResult:
        latencies = sorted(x * 1000 for x in self.latencies)
        service = sorted(x * 1000 for x in self.service)
        lags = sorted(x * 1000 for x in self.lags)
        span = self.last_reply - start
        errors = dict(self.errors)
        if missing := count - len(lags) - sum(errors.values()):
            errors["unfinished"] = missing  # a worker still stuck after the timeout
        return LoadResult(
            rate=rate,
            duration_s=duration_s,
            scheduled=count,
            completed=len(latencies),
            achieved_rate=len(latencies) / span if latencies and span > 0 else math.nan,
            errors=errors,
            p50_ms=percentile(latencies, 50),
            p90_ms=percentile(latencies, 90),
            p99_ms=percentile(latencies, 99),
            max_ms=latencies[-1] if latencies else math.nan,
            mean_ms=sum(latencies) / len(latencies) if latencies else math.nan,
            service_p50_ms=percentile(service, 50),
            send_lag_p50_ms=percentile(lags, 50),
            send_lag_p99_ms=percentile(lags, 99),
            connections_opened=self.opened,
            served_by=dict(self.served_by),
        )


def generate(
    host: str,
    port: int,
    path: str,
    rate: float,
    duration_s: float,
    *,
    expect_served_by: str | None = None,
    connections: int = 16,
    max_connections: int = 256,
    timeout: float = 5.0,
) -> LoadResult:
    """Run one open-loop load in this process and return its result."""
    load = OpenLoop(
        host,
        port,
        path,
        expect_served_by=expect_served_by,
        connections=connections,
        max_connections=max_connections,
        timeout=timeout,
    )
    switch = sys.getswitchinterval()
    sys.setswitchinterval(0.0002)  # the scheduler thread gets the GIL back quickly
    gc.disable()  # no collector pauses inside the measurement; a run is short
    try:
        return load.run(rate, duration_s)
    finally:
        gc.enable()
        sys.setswitchinterval(switch)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Open-loop HTTP load at a fixed rate.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", default="/")
    parser.add_argument("--rate", type=float, required=True, help="requests per second")
    parser.add_argument("--duration", type=float, required=True, help="seconds of schedule")
    parser.add_argument("--expect-served-by", help="an X-Served-By other than this is an error")
    parser.add_argument("--connections", type=int, default=16, help="opened up front (16)")
    parser.add_argument("--max-connections", type=int, default=256, help="at most (256)")
    parser.add_argument("--timeout", type=float, default=5.0, help="per request, s (5)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.rate <= 0 or args.duration <= 0:
        print("loadgen: --rate and --duration must be positive", file=sys.stderr)
        return 2
    started = time.perf_counter()
    try:
        result = generate(
            args.host,
            args.port,
            args.path,
            args.rate,
            args.duration,
            expect_served_by=args.expect_served_by,
            connections=args.connections,
            max_connections=args.max_connections,
            timeout=args.timeout,
        )
    except OSError as exc:
        print(f"loadgen: cannot connect to {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 2
    document = asdict(result) | {"wall_s": round(time.perf_counter() - started, 3)}
    print(json.dumps(document))
    return 0


if __name__ == "__main__":
    sys.exit(main())
