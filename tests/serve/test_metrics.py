"""routeshift.serve.metrics: what the gateway records, as /metrics shows it and as the admin pages
read it back; multiprocess mode across real processes (subprocesses, bounded in time)."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from routeshift.errors import MetricsError
from routeshift.serve.metrics import Metrics, multiprocess_dir
from routeshift.track.report.progress import Traffic

TIMEOUT = 60


def rendered(metrics: Metrics, accept: str | None = None) -> str:
    body, _ = metrics.render(accept)
    return body.decode()


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample in the text exposition (labels in any order)."""
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        found = re.fullmatch(r"([a-z_]+)(?:\{(.*)\})? (\S+)", line)
        if not found or found.group(1) != name:
            continue
        have = dict(re.findall(r'(\w+)="([^"]*)"', found.group(2) or ""))
        if have == labels:
            return float(found.group(3))
    raise AssertionError(f"no sample {name}{labels} in:\n{text}")


# --- recording and exposition ---------------------------------------------------------


def test_requests_by_endpoint_method_side_and_status() -> None:
    metrics = Metrics()
    metrics.request("items.item", "GET", "modern", 200, 0.002)
    metrics.request("items.item", "GET", "modern", 200, 0.004)
    metrics.request("items.item", "POST", "legacy", 500, 0.1)
    text = rendered(metrics)
    assert "# TYPE routeshift_requests_total counter" in text
    total = "routeshift_requests_total"
    labels = {"endpoint": "items.item", "method": "GET", "side": "modern", "status": "200"}
    assert sample(text, total, **labels) == 2
    labels = {"endpoint": "items.item", "method": "POST", "side": "legacy", "status": "500"}
    assert sample(text, total, **labels) == 1


def test_a_method_outside_http_is_counted_as_other() -> None:
    metrics = Metrics()
    for method in ("BREW", "X" * 200, "get"):
        metrics.request("unmatched", method, "legacy", 405, 0.001)
    text = rendered(metrics)
    labels = {"endpoint": "unmatched", "method": "other", "side": "legacy", "status": "405"}
    assert sample(text, "routeshift_requests_total", **labels) == 3
    assert "BREW" not in text


def test_latency_histogram_by_side() -> None:
    metrics = Metrics()
    metrics.request("price", "GET", "modern", 200, 0.003)
    metrics.request("price", "GET", "modern", 200, 0.2)
    metrics.request("price", "GET", "legacy", 200, 3.0)
    text = rendered(metrics)
    name = "routeshift_request_duration_seconds"
    assert f"# TYPE {name} histogram" in text
    assert sample(text, f"{name}_bucket", side="modern", le="0.0025") == 0
    assert sample(text, f"{name}_bucket", side="modern", le="0.005") == 1
    assert sample(text, f"{name}_bucket", side="modern", le="0.25") == 2
    assert sample(text, f"{name}_bucket", side="legacy", le="2.5") == 0
    assert sample(text, f"{name}_bucket", side="legacy", le="+Inf") == 1
    assert sample(text, f"{name}_count", side="modern") == 2
    assert sample(text, f"{name}_sum", side="modern") == pytest.approx(0.203)


def test_shadow_runs_by_result() -> None:
    metrics = Metrics()
    for result in ("match", "match", "mismatch", "timeout", "skipped"):
        metrics.shadow("items.item", result)
    metrics.shadow("price", "error")
    text = rendered(metrics)
    name = "routeshift_shadow_runs_total"
    assert sample(text, name, endpoint="items.item", result="match") == 2
    assert sample(text, name, endpoint="price", result="error") == 1
    assert metrics.shadow_counts() == {
        "items.item": {"match": 2, "mismatch": 1, "timeout": 1, "skipped": 1},
        "price": {"error": 1},
    }


def test_bridge_threads_busy_and_pool_size() -> None:
    metrics = Metrics()
    metrics.bridge_threads(64)
    metrics.thread_busy(1)
    metrics.thread_busy(1)
    metrics.thread_busy(-1)
    assert sample(rendered(metrics), "routeshift_bridge_threads_busy") == 1
    metrics.thread_busy(1)
    assert sample(rendered(metrics), "routeshift_bridge_threads_busy") == 2
    metrics.thread_busy(-1)
    text = rendered(metrics)
    assert sample(text, "routeshift_bridge_threads_busy") == 1
    assert sample(text, "routeshift_bridge_threads") == 64


def test_traffic_sums_methods_and_statuses_by_side() -> None:
    metrics = Metrics()
    assert metrics.traffic() == {}
    metrics.request("items.item", "GET", "modern", 200, 0.001)
    metrics.request("items.item", "GET", "modern", 404, 0.001)
    metrics.request("items.item", "POST", "legacy", 200, 0.001)
    metrics.request("items.item", "GET", "legacy", 200, 0.001)  # a canary's other cohort
    metrics.request("modern-only", "PATCH", "modern", 200, 0.001)
    assert metrics.traffic() == {
        "items.item": Traffic(legacy=2, modern=2),
        "modern-only": Traffic(legacy=0, modern=1),
    }


def test_each_metrics_has_its_own_registry() -> None:
    first, second = Metrics(), Metrics()
    first.request("price", "GET", "legacy", 200, 0.001)
    assert first.traffic() == {"price": Traffic(legacy=1)}
    assert second.traffic() == {}
    assert "routeshift_requests_total{" not in rendered(second)


@pytest.mark.parametrize(
    ("accept", "content_type", "ending"),
    [
        pytest.param(None, "text/plain; version=0.0.4", "", id="no-accept"),
        pytest.param("*/*", "text/plain; version=0.0.4", "", id="any"),
        pytest.param(
            "application/openmetrics-text; version=1.0.0,text/plain;version=0.0.4;q=0.5",
            "application/openmetrics-text; version=1.0.0",
            "# EOF\n",
            id="prometheus-scraper",
        ),
    ],
)
def test_exposition_format_follows_accept(
    accept: str | None, content_type: str, ending: str
) -> None:
    metrics = Metrics()
    metrics.request("price", "GET", "legacy", 200, 0.001)
    body, got = metrics.render(accept)
    assert got.startswith(content_type)
    assert body.decode().endswith(ending)
    if ending:  # openmetrics names the counter family without _total
        assert "# TYPE routeshift_requests counter" in body.decode()


def test_recording_is_cheap() -> None:
    """The request path pays this per request: a few microseconds, not a lock-fest."""
    metrics = Metrics()
    started = time.perf_counter()
    for _ in range(20_000):
        metrics.request("items.item", "GET", "modern", 200, 0.002)
    per_call = (time.perf_counter() - started) / 20_000
    assert per_call < 50e-6  # generous for a slow CI machine; about 2 µs here


# --- multiprocess mode ------------------------------------------------------------------


def test_single_process_without_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    assert multiprocess_dir() is None
    assert not Metrics.for_process().multiprocess


def test_the_variable_names_the_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "made" / "for-metrics"
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(target))
    assert multiprocess_dir() == target and target.is_dir()


def test_an_unusable_directory_says_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(blocker / "metrics"))
    with pytest.raises(MetricsError, match="set PROMETHEUS_MULTIPROC_DIR to a writable directory"):
        multiprocess_dir()


def run_python(script: str, tmp_path: Path, **env: str) -> str:
    path = tmp_path / f"script_{len(list(tmp_path.glob('script_*')))}.py"
    path.write_text(textwrap.dedent(script))
    environment = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    environment.update(env)
    done = subprocess.run(
        [sys.executable, str(path)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=environment,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


WRITER = """
import sys
from routeshift.serve.metrics import Metrics

metrics = Metrics.for_process()
assert metrics.multiprocess, metrics
side, count = sys.argv[1], int(sys.argv[2])
for _ in range(count):
    metrics.request("items.item", "GET", side, 200, 0.003)
metrics.shadow("items.item", "match")
metrics.thread_busy(1)
if sys.argv[3:] == ["close"]:
    metrics.close()
"""

READER = """
import json
from routeshift.serve.metrics import Metrics

metrics = Metrics.for_process()
body, content_type = metrics.render(None)
print(json.dumps({
    "text": body.decode(),
    "traffic": {k: [v.legacy, v.modern] for k, v in metrics.traffic().items()},
    "shadow": metrics.shadow_counts(),
}))
"""


def test_workers_writing_one_directory_are_summed(tmp_path: Path) -> None:
    """Two processes write with PROMETHEUS_MULTIPROC_DIR; a third's render sees both."""
    folder = tmp_path / "prom"
    folder.mkdir()
    writer = tmp_path / "writer.py"
    writer.write_text(WRITER)
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    env["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
    workers = [
        subprocess.Popen([sys.executable, str(writer), "legacy", "3"], env=env),
        subprocess.Popen([sys.executable, str(writer), "modern", "5", "close"], env=env),
    ]
    for worker in workers:
        assert worker.wait(timeout=TIMEOUT) == 0
    seen = json.loads(run_python(READER, tmp_path, PROMETHEUS_MULTIPROC_DIR=str(folder)))
    assert seen["traffic"] == {"items.item": [3, 5]}
    assert seen["shadow"] == {"items.item": {"match": 2}}
    text = seen["text"]
    labels = {"endpoint": "items.item", "method": "GET", "side": "modern", "status": "200"}
    assert sample(text, "routeshift_requests_total", **labels) == 5
    assert sample(text, "routeshift_request_duration_seconds_count", side="legacy") == 3
    # the writer that closed left the live sum; the one that did not is still counted
    assert sample(text, "routeshift_bridge_threads_busy") == 1


SUPERVISOR = """
import json
import multiprocessing
import os
import tempfile
from pathlib import Path


def worker(side, queue):
    # prometheus_client is imported before routeshift chooses the mode, as a user's
    # own app might do: the switch must still happen
    import prometheus_client  # noqa: F401
    from routeshift.serve.metrics import Metrics

    metrics = Metrics.for_process()
    for _ in range(4 if side == "legacy" else 6):
        metrics.request("price", "GET", side, 200, 0.01)
    queue.put(str(metrics.multiprocess_dir))


def reader(queue):
    from routeshift.serve.metrics import Metrics

    metrics = Metrics.for_process()
    traffic = {k: [v.legacy, v.modern] for k, v in metrics.traffic().items()}
    queue.put(json.dumps({"dir": str(metrics.multiprocess_dir), "traffic": traffic}))


def gone_pid(context):
    process = context.Process(target=print, args=("",))
    process.start()
    process.join()
    return process.pid


if __name__ == "__main__":
    from routeshift.serve.metrics import multiprocess_dir

    context = multiprocessing.get_context("spawn")
    base = Path(tempfile.gettempdir()) / f"routeshift-metrics-{os.getuid()}"
    stale = base / f"{gone_pid(context)}-0123456789abcdef"
    stale.mkdir(parents=True)
    queue = context.Queue()
    workers = [context.Process(target=worker, args=(s, queue)) for s in ("legacy", "modern")]
    for process in workers:
        process.start()
    for process in workers:
        process.join(30)
        assert process.exitcode == 0, process.exitcode
    dirs = {queue.get(timeout=5), queue.get(timeout=5)}
    last = context.Process(target=reader, args=(queue,))
    last.start()
    last.join(30)
    result = json.loads(queue.get(timeout=5))
    print(json.dumps({
        "supervisor": str(multiprocess_dir()),
        "workers": sorted(dirs),
        "reader": result,
        "stale_removed": not stale.exists(),
    }))
"""


def test_a_spawned_worker_switches_to_its_supervisors_directory(tmp_path: Path) -> None:
    """What `uvicorn --workers N` does: every worker of one supervisor shares a directory
    of its own; the supervisor itself stays single-process; gone supervisors' go."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    seen = json.loads(run_python(SUPERVISOR, tmp_path, TMPDIR=str(temp)))
    assert seen["supervisor"] == "None"
    (shared,) = seen["workers"]
    assert Path(shared).parent == temp / f"routeshift-metrics-{os.getuid()}"
    assert re.fullmatch(r"\d+-[0-9a-f]{16}", Path(shared).name)
    assert seen["reader"] == {"dir": shared, "traffic": {"price": [4, 6]}}
    assert seen["stale_removed"]


WORKER_APP = """
import os
import time

from routeshift.serve.metrics import Metrics

metrics = Metrics.for_process()


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    if scope["path"] == "/metrics":
        body, content_type = metrics.render(None)
        headers = [(b"content-type", content_type.encode())]
    else:
        time.sleep(0.02)  # hold this worker's loop: the next connection goes to the other
        metrics.request("price", "GET", "modern", 200, 0.02)
        body, headers = str(os.getpid()).encode(), []
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})
"""


def listening(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(str(path))
        except OSError:
            return False
    return True


@pytest.mark.live
def test_uvicorn_workers_report_one_sum(tmp_path: Path) -> None:
    """`uvicorn --workers 2`, no PROMETHEUS_MULTIPROC_DIR: either worker's /metrics counts
    the requests both answered."""
    from concurrent.futures import ThreadPoolExecutor

    import httpx

    (tmp_path / "workerapp.py").write_text(WORKER_APP)
    (tmp_path / "tmp").mkdir()
    socket_path = tmp_path / "uvicorn.sock"
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    env["TMPDIR"] = str(tmp_path / "tmp")
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "workerapp:app", "--workers", "2"]
        + ["--uds", str(socket_path), "--lifespan", "off", "--log-level", "warning"],
        cwd=tmp_path,
        env=env,
    )
    transport = httpx.HTTPTransport(uds=str(socket_path))

    def hit(_: int) -> str:
        with httpx.Client(transport=httpx.HTTPTransport(uds=str(socket_path))) as http:
            return http.get("http://workers/hit", headers={"Connection": "close"}).text

    try:
        deadline = time.monotonic() + 30
        while not listening(socket_path):
            assert server.poll() is None and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.1)
        with httpx.Client(transport=transport, base_url="http://workers") as http:
            pids: set[str] = set()
            hits = 0
            with ThreadPoolExecutor(8) as pool:
                while len(pids) < 2 and hits < 400:
                    pids.update(pool.map(hit, range(16)))
                    hits += 16
            assert len(pids) == 2, "both workers answered"
            for _ in range(4):  # whichever worker answers, the sum is the same
                text = http.get("/metrics").text
                labels = {"endpoint": "price", "method": "GET", "side": "modern", "status": "200"}
                assert sample(text, "routeshift_requests_total", **labels) == hits
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=5)
