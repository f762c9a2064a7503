"""routeshift.store.sql: contract runs and shadow observations in SQL, read back."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from conftest import write_registry
from sqlalchemy import func, select
from sqlalchemy.pool import StaticPool

from routeshift.compare import MISSING, Comparison, Difference, Reply, compare
from routeshift.errors import StoreError
from routeshift.prove.cases import case
from routeshift.prove.results import CaseResult
from routeshift.registry.load import load_registry
from routeshift.store.records import CaseOutcome, Exchange, Observation, ShadowResult
from routeshift.store.redact import Redactor
from routeshift.store.schema import shadow_observations
from routeshift.store.sql import Store, hide_password, store_url

OK = Reply(200, (), b"")


def result(endpoint: str, passed: bool, case_id: str = "c") -> CaseOutcome:
    differences = () if passed else (Difference("status", 200, 500),)
    found = CaseResult(case(endpoint, "GET", "/x", id=case_id), Comparison(differences), OK, OK)
    return found.outcome()


@pytest.fixture
def store(tmp_path: Path) -> Store:
    store = Store(f"sqlite:///{tmp_path / 'nested' / 'store.db'}")
    yield store
    store.close()


def test_latest_run_per_endpoint_wins(store: Store) -> None:
    store.record_contract_run([result("a", False), result("b", True)])
    store.record_contract_run([result("a", True, "one"), result("a", True, "two")])
    verifications = store.verifications()
    assert (verifications["a"].passed, verifications["a"].failed) == (2, 0)
    assert verifications["a"].ok
    # b was not in the second run: its latest is still the first
    assert verifications["b"].ok and verifications["b"].passed == 1
    assert verifications["b"].run_at <= verifications["a"].run_at
    assert verifications["a"].run_at.tzinfo is not None


def test_a_failure_in_the_latest_run_is_not_ok(store: Store) -> None:
    store.record_contract_run([result("a", True)])
    store.record_contract_run([result("a", True, "one"), result("a", False, "two")])
    verification = store.verifications()["a"]
    assert (verification.passed, verification.failed, verification.ok) == (1, 1, False)


def test_an_empty_store_has_no_verifications(store: Store) -> None:
    assert store.verifications() == {}
    assert store.record_contract_run([]) == 1


def test_store_url_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    registry = load_registry(write_registry(tmp_path, []))
    assert store_url(registry) == f"sqlite:///{(tmp_path / 'routeshift.db').resolve()}"
    configured = load_registry(
        write_registry(tmp_path, [], settings={"store_url": "sqlite:///configured.db"})
    )
    assert store_url(configured) == "sqlite:///configured.db"
    monkeypatch.setenv("ROUTESHIFT_STORE_URL", "sqlite:///from-env.db")
    assert store_url(configured) == "sqlite:///from-env.db"


@pytest.mark.parametrize(
    ("url", "words"),
    [
        pytest.param("nosuchdialect://x", "cannot open the store", id="unknown-dialect"),
        pytest.param("sqlite:////proc/routeshift-test/x.db", "cannot", id="unwritable"),
    ],
)
def test_an_unusable_store_says_so(url: str, words: str) -> None:
    with pytest.raises(StoreError, match=words):
        Store(url).record_contract_run([result("a", True)])


def test_a_store_that_cannot_be_opened_hides_its_password() -> None:
    with pytest.raises(StoreError) as raised:
        Store("nosuchdialect://ann:s3cr%3At@db.example/shop")
    assert "s3cr" not in str(raised.value)
    assert "cannot open the store 'nosuchdialect://ann:***@db.example/shop'" in str(raised.value)


def test_hide_password_also_in_urls_sqlalchemy_cannot_parse() -> None:
    assert hide_password("postgresql://ann:s3cret@db/shop") == "postgresql://ann:***@db/shop"
    assert hide_password("weird+://ann:s3cret@db:x/shop") == "weird+://ann:***@db:x/shop"


def test_store_errors_never_show_the_raw_url(tmp_path: Path) -> None:
    """Each message names the store by display_url, never by the URL as configured (a
    server's URL holds its password)."""
    path = tmp_path / "not-a-database.db"
    path.write_bytes(b"this is not a SQLite file" * 100)
    store = Store(f"sqlite:///{path}")
    store.url = "postgresql://ann:s3cret@db.example/shop"  # as configured: with a password
    messages = []
    for call in (
        store.verifications,
        store.has_observations,
        lambda: store.record_contract_run([result("a", True)]),
        lambda: store.record_observations([observation()], Redactor()),
    ):
        with pytest.raises(StoreError) as raised:
            call()
        messages.append(str(raised.value))
    store._ready = True  # the tables "exist": the reads and writes themselves fail
    for call in (
        store.verifications,
        lambda: store.record_contract_run([result("a", True)]),
        store.mismatches,
    ):
        with pytest.raises(StoreError) as raised:
            call()
        messages.append(str(raised.value))
    store.close()
    assert all(store.display_url in message for message in messages), messages
    assert not any("s3cret" in message for message in messages)


def test_reading_an_empty_store_creates_nothing(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'never.db'}")
    assert store.verifications() == {}
    assert list(tmp_path.iterdir()) == []


# --- shadow observations ------------------------------------------------------------------

T0 = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)


def observation(
    endpoint: str = "users.get_user",
    result: ShadowResult = ShadowResult.MATCH,
    *,
    legacy_ms: float = 10.0,
    modern_ms: float | None = 5.0,
    at: dt.datetime | None = None,
    differences: tuple[Difference, ...] = (),
    exchange: Exchange | None = None,
    path: str = "/users/1",
) -> Observation:
    failed = result is not ShadowResult.MATCH
    return Observation(
        endpoint=endpoint,
        method="GET",
        rule="/users/<int:user_id>",
        path=path,
        result=result,
        legacy_status=200,
        modern_status=None if result in (ShadowResult.ERROR, ShadowResult.TIMEOUT) else 200,
        legacy_ms=legacy_ms,
        modern_ms=modern_ms,
        differences=differences or ((Difference("/name", "a", "b"),) if failed else ()),
        error="modern raised KeyError" if result is ShadowResult.ERROR else None,
        at=at or T0,
        worker=4242,
        exchange=exchange,
    )


JSON = (("content-type", "application/json"),)


def exchange(password: str = "hunter2") -> Exchange:
    return Exchange(
        query=f"verbose=1&password={password}",
        request_headers=(("authorization", "Bearer tok"), ("accept", "application/json")),
        request_body=b"",
        legacy=Reply(200, JSON, b'{"name": "a"}'),
        modern=Reply(200, JSON, b'{"name": "b"}'),
    )


def count_rows(store: Store) -> int:
    with store.engine.connect() as connection:
        return int(
            connection.execute(select(func.count()).select_from(shadow_observations)).scalar_one()
        )


def test_reading_observations_creates_nothing(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'never.db'}")
    assert store.shadow_summaries() == {}
    assert store.mismatches() == [] and store.exchanges([1]) == {}
    assert store.prune(10, 1) == 0 and not store.has_observations()
    assert list(tmp_path.iterdir()) == []


def test_a_store_from_before_shadow_runs_has_no_observations(store: Store) -> None:
    store.record_contract_run([result("a", True)])
    with store.engine.begin() as connection:
        shadow_observations.drop(connection)
    fresh = Store(store.url)  # an older routeshift created the contract tables only
    assert not fresh.has_observations() and fresh.shadow_summaries() == {}
    fresh.close()


def test_observations_round_trip_redacted(store: Store) -> None:
    written = store.record_observations(
        [
            observation(),
            observation(result=ShadowResult.SKIPPED),  # counted by metrics, never stored
            observation(
                result=ShadowResult.MISMATCH,
                differences=(Difference("/password", "x", MISSING), Difference("status", 200, 201)),
                exchange=exchange(),
                path="/users/2",
            ),
        ],
        Redactor(["password"]),
    )
    assert written == 2 and count_rows(store) == 2
    (mismatch,) = store.mismatches()
    assert (mismatch.endpoint, mismatch.method, mismatch.path, mismatch.worker) == (
        "users.get_user",
        "GET",
        "/users/2",
        4242,
    )
    assert mismatch.at == T0 and mismatch.result is ShadowResult.MISMATCH
    assert mismatch.target == "/users/2?verbose=1&password=[redacted]"
    assert mismatch.differences == (
        {
            "where": "/password",
            "legacy": "[redacted]",
            "modern": None,
            "missing": ["modern"],
            "text": '/password: legacy "[redacted]" != modern (missing)',
        },
        {
            "where": "status",
            "legacy": 200,
            "modern": 201,
            "missing": [],
            "text": "status: legacy 200 != modern 201",
        },
    )
    stored = store.exchange(mismatch.id)
    assert stored is not None
    assert stored.request_headers == (
        ("authorization", "[redacted]"),
        ("accept", "application/json"),
    )
    assert (stored.legacy_body, stored.modern_body) == ('{"name": "a"}', '{"name": "b"}')
    assert stored.modern_headers == JSON
    assert store.exchange(mismatch.id - 1) is None  # the match kept no exchange


def test_a_pointed_value_in_a_text_body_never_reaches_the_summary(store: Store) -> None:
    """JSON sent as text/html differs as a text excerpt; /card/number still applies."""
    html = (("content-type", "text/html"),)
    card = json.dumps({"card": {"number": "4111111111111111"}, "filler": "x" * 400})
    legacy, modern = Reply(200, html, card.encode()), Reply(200, html, card[:-1].encode() + b"!")
    differences = compare(legacy, modern).differences
    assert "4111111111111111" in str(differences)
    store.record_observations(
        [observation(result=ShadowResult.MISMATCH, differences=differences)],
        Redactor(["/card/number"]),
    )
    latest = store.shadow_summaries()["users.get_user"].latest_mismatch
    assert latest is not None
    assert "4111111111111111" not in json.dumps(latest.as_dict())
    assert latest.differences[0]["legacy"] == "[redacted]"


def test_an_error_is_stored_with_its_type_and_without_the_values(store: Store) -> None:
    error = observation(result=ShadowResult.ERROR)
    error = dataclasses.replace(
        error, error="ValueError: invalid literal for int() with base 10: '9876x'"
    )
    store.record_observations([error], Redactor())
    (stored,) = store.mismatches()
    assert stored.error == "ValueError: invalid literal for int() with base 10: [redacted]"


def test_a_local_time_is_stored_as_utc(store: Store) -> None:
    local = T0.astimezone(dt.timezone(dt.timedelta(hours=2)))
    store.record_observations([observation(result=ShadowResult.MISMATCH, at=local)], Redactor())
    assert store.mismatches()[0].at == T0


def test_mismatches_newest_first_by_endpoint_and_limit(store: Store) -> None:
    store.record_observations(
        [
            observation("a", ShadowResult.MISMATCH, path="/1"),
            observation("b", ShadowResult.MISMATCH, path="/2"),
            observation("a", ShadowResult.MATCH, path="/3"),
            observation("a", ShadowResult.TIMEOUT, path="/4"),
            observation("a", ShadowResult.ERROR, path="/5"),
            observation("a", ShadowResult.MISMATCH, path="/6"),
        ],
        Redactor(),
    )
    assert [m.path for m in store.mismatches()] == ["/6", "/5", "/4", "/2", "/1"]
    assert [m.path for m in store.mismatches("a")] == ["/6", "/5", "/4", "/1"]
    assert [m.path for m in store.mismatches("a", limit=1)] == ["/6"]
    assert [m.path for m in store.mismatches(results=[ShadowResult.TIMEOUT])] == ["/4"]
    assert [m.path for m in store.mismatches(results=[ShadowResult.MISMATCH])] == [
        "/6",
        "/2",
        "/1",
    ]
    assert store.mismatches("nobody") == []
    error = store.mismatches("a")[1]
    assert (error.result, error.error, error.modern_status) == (
        ShadowResult.ERROR,
        "modern raised KeyError",
        None,
    )


def test_shadow_summaries(store: Store) -> None:
    runs = [observation("a", legacy_ms=ms, modern_ms=ms / 2) for ms in (10.0, 30.0, 20.0)]
    runs += [
        observation("a", ShadowResult.MISMATCH, legacy_ms=40.0, modern_ms=None, path="/old"),
        observation("a", ShadowResult.MISMATCH, legacy_ms=50.0, modern_ms=25.0, path="/new"),
        observation("a", ShadowResult.TIMEOUT, legacy_ms=60.0, modern_ms=None),
        observation("b", ShadowResult.ERROR, legacy_ms=1.0, modern_ms=None),
    ]
    store.record_observations(runs, Redactor())
    summaries = store.shadow_summaries()
    assert set(summaries) == {"a", "b"}
    a, b = summaries["a"], summaries["b"]
    assert (a.runs, a.match, a.mismatch, a.error, a.timeout) == (6, 3, 2, 0, 1)
    assert a.match_rate == 50.0
    assert a.legacy_ms_p50 == 35.0  # of 10, 20, 30, 40, 50, 60
    assert a.modern_ms_p50 == 12.5  # of 5, 15, 10, 25: the modern side ran four times
    assert a.latest_mismatch is not None and a.latest_mismatch.path == "/new"
    assert (b.runs, b.error, b.match_rate, b.latest_mismatch, b.modern_ms_p50) == (
        1,
        1,
        0.0,
        None,
        None,
    )


def test_latency_is_taken_over_the_latest_runs(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    import routeshift.store.sql as module

    monkeypatch.setattr(module, "LATENCY_WINDOW", 2)
    slow = [observation(legacy_ms=1000.0) for _ in range(3)]
    store.record_observations(
        slow + [observation(legacy_ms=1.0), observation(legacy_ms=3.0)], Redactor()
    )
    summary = store.shadow_summaries()["users.get_user"]
    assert summary.runs == 5 and summary.legacy_ms_p50 == 2.0


def test_prune_keeps_the_newest_rows(store: Store) -> None:
    store.record_observations(
        [observation(path=f"/{i}", result=ShadowResult.MISMATCH) for i in range(10)], Redactor()
    )
    assert store.prune(rows=4, days=0) == 6
    assert [m.path for m in store.mismatches()] == ["/9", "/8", "/7", "/6"]
    assert store.prune(rows=4, days=0) == 0
    assert store.prune(rows=0, days=0) == 0


def test_prune_drops_what_is_older_than_days(store: Store) -> None:
    now = dt.datetime.now(dt.UTC)
    store.record_observations(
        [
            observation(result=ShadowResult.MISMATCH, at=now - dt.timedelta(days=3), path="/old"),
            observation(result=ShadowResult.MISMATCH, at=now - dt.timedelta(hours=1), path="/new"),
        ],
        Redactor(),
    )
    assert store.prune(rows=0, days=2) == 1
    assert [m.path for m in store.mismatches()] == ["/new"]
    assert store.prune(rows=100_000, days=0.5) == 0


def test_any_sqlalchemy_url(tmp_path: Path) -> None:
    memory = Store("sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False})
    assert memory.shadow_summaries() == {}
    assert (
        memory.record_observations(
            [observation(), observation(result=ShadowResult.MISMATCH)], Redactor()
        )
        == 2
    )
    assert memory.shadow_summaries()["users.get_user"].runs == 2
    assert len(memory.mismatches()) == 1
    memory.close()


WRITER_SCRIPT = """
import sys, time
from pathlib import Path
from routeshift.store.records import Observation, ShadowResult
from routeshift.store.redact import Redactor
from routeshift.store.sql import Store

store = Store(sys.argv[1])
print("ready", flush=True)
go = Path(sys.argv[4])
deadline = time.monotonic() + 20
while not go.exists() and time.monotonic() < deadline:  # both start writing at once
    time.sleep(0.002)
for batch in range(int(sys.argv[3])):
    store.record_observations(
        [Observation(sys.argv[2], "GET", "/r", "/r", ShadowResult.MISMATCH, 200, 201, 1.0, 1.0)
         for _ in range(20)],
        Redactor(),
    )
    store.prune(100_000, 14)
"""


def test_two_processes_write_one_sqlite_file_at_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    go = tmp_path / "go"
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER_SCRIPT, url, f"worker{n}", "40", str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(2)
    ]
    for worker in workers:
        assert worker.stdout is not None and worker.stdout.readline() == "ready\n"
    go.touch()
    for worker in workers:
        _, err = worker.communicate(timeout=60)
        assert worker.returncode == 0, err
    summaries = Store(url).shadow_summaries()
    assert {name: s.runs for name, s in summaries.items()} == {"worker0": 800, "worker1": 800}


def test_threads_with_their_own_engines_write_at_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'threads.db'}"
    errors: list[BaseException] = []

    def write(name: str) -> None:
        store = Store(url)
        try:
            for _ in range(30):
                store.record_observations([observation(name) for _ in range(10)], Redactor())
        except BaseException as exc:
            errors.append(exc)
        finally:
            store.close()

    threads = [threading.Thread(target=write, args=(f"t{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert {name: s.runs for name, s in Store(url).shadow_summaries().items()} == {
        f"t{n}": 300 for n in range(4)
    }
