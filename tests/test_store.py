"""routeshift.store: contract runs in SQL, and the latest verification per endpoint."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import write_registry

from routeshift.cases import case
from routeshift.compare import Comparison, Difference, Reply
from routeshift.contract import CaseResult
from routeshift.registry import load_registry
from routeshift.store import Store, StoreError, store_url

OK = Reply(200, (), b"")


def result(endpoint: str, passed: bool, case_id: str = "c") -> CaseResult:
    differences = () if passed else (Difference("status", 200, 500),)
    return CaseResult(case(endpoint, "GET", "/x", id=case_id), Comparison(differences), OK, OK)


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


def test_reading_an_empty_store_creates_nothing(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'never.db'}")
    assert store.verifications() == {}
    assert list(tmp_path.iterdir()) == []
