"""pytest plugin (entry point `pytest11: routeshift`): contract case files become tests.

With a registry found (--routeshift-registry, the `routeshift_registry` ini option,
MIGRATION_STATUS, or migration_status.yaml in the rootdir), every case file in its
`contracts_dir` is collected: one test per case, with the id `<endpoint>::<case id>`.
Without a registry the plugin collects nothing, so it is harmless in other projects.

The plugin is loaded in every project that has routeshift installed, so it never breaks
a test run it has no part in: at import it needs only pytest and routeshift's registry
reader (the harness, httpx and the store are imported when a contract test runs), it
warns of nothing, and a migration_status.yaml in the rootdir that is not routeshift's
(it names none of legacy_app, modern_app, routes) is reported in the header and collects
nothing. A registry that is routeshift's, or one named on purpose (--routeshift-registry,
the ini option, MIGRATION_STATUS), that cannot be read stops the run with its problems.

Fixtures:
    contract          check requests against both sides: contract.check("GET", "/users/1")
    routeshift_state  the state hook; override it in a conftest.py to give each side the
                      same starting state (default: none)
    routeshift_harness  the session's Harness (both apps in-process)
    routeshift_outcomes  the session's list of CaseOutcome to record besides the cases
                      the contract fixture ran (a generated_test appends its verdict)

With --routeshift-record, every contract check the session ran is recorded as one run,
as `routeshift contract` records one: the case-file items, the contract fixture's checks
(check, assert_case, run) and the generated tests. An endpoint is verified by the latest
run that ran its cases, so a run that selects other tests (-k) leaves it as it was.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from routeshift.errors import CaseFileError, RouteshiftError
from routeshift.registry.load import DEFAULT_PATH, ENV_PATH, ENV_PATH_ALIAS, load_registry

if TYPE_CHECKING:
    from routeshift.prove.cases import Case
    from routeshift.prove.harness import ContractClient, Harness, StateHook
    from routeshift.prove.results import CaseResult, Misrouted
    from routeshift.store.records import CaseOutcome

__all__ = ["CASE", "MISROUTED", "OUTCOMES", "RESULTS", "CaseFile", "CaseItem", "RouteCases"]

RESULTS = pytest.StashKey[list["CaseResult"]]()
#: cases the gateway would never send to their endpoint: errors of their case files
MISROUTED = pytest.StashKey[list["Misrouted"]]()
#: outcomes recorded as they are (a generated test's verdict), beside RESULTS
OUTCOMES = pytest.StashKey[list["CaseOutcome"]]()
REGISTRY = pytest.StashKey[Path | None]()
CONTRACTS_DIR = pytest.StashKey[Path | None]()
CASE = pytest.StashKey["Case"]()
#: why a registry found in the rootdir was not used (shown in the report header)
SKIPPED = pytest.StashKey[str | None]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("routeshift")
    group.addoption(
        "--routeshift-registry",
        metavar="PATH",
        help="migration_status.yaml whose contract cases to collect.",
    )
    group.addoption(
        "--routeshift-route",
        action="append",
        default=[],
        metavar="ENDPOINT",
        help="collect only the cases of this endpoint (repeatable).",
    )
    group.addoption(
        "--routeshift-record",
        action="store_true",
        help="record the contract results in the store (as `routeshift contract` does), "
        "where `routeshift status` reads verified routes.",
    )
    parser.addini("routeshift_registry", "path of migration_status.yaml", default="")


def pytest_configure(config: pytest.Config) -> None:
    config.stash[RESULTS] = []
    config.stash[MISROUTED] = []
    config.stash[OUTCOMES] = []
    config.stash[SKIPPED] = None
    config.stash[CONTRACTS_DIR] = None
    path, chosen = _registry_path(config)
    config.stash[REGISTRY] = path
    if path is None:
        return
    try:
        registry = load_registry(path)
    except RouteshiftError as exc:
        if chosen or _names_routeshifts_keys(path):
            raise pytest.UsageError(str(exc)) from None
        # found, not asked for, and someone else's file: not a routeshift project
        config.stash[REGISTRY] = None
        config.stash[SKIPPED] = (
            f"routeshift: {path} was not read, so no contract cases are collected "
            f"({str(exc).splitlines()[0]} `routeshift check` shows why)"
        )
        return
    config.stash[CONTRACTS_DIR] = registry.contracts_dir.resolve()


def pytest_report_header(config: pytest.Config) -> str | None:
    return config.stash.get(SKIPPED, None)


def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    outcomes = [r.outcome() for r in config.stash.get(RESULTS, [])]
    outcomes += [m.outcome() for m in config.stash.get(MISROUTED, [])]
    recorded: list[CaseOutcome] = config.stash.get(OUTCOMES, [])
    outcomes += recorded
    path = config.stash.get(REGISTRY, None)
    if not config.getoption("routeshift_record") or not outcomes or path is None:
        return
    from routeshift.store.sql import Store

    try:
        with closing(Store.for_registry(load_registry(path))) as store:
            store.record_contract_run(outcomes)
    except RouteshiftError as exc:
        raise pytest.UsageError(f"routeshift: {exc}") from None


#: a line that gives one of the registry's own top-level keys
_REGISTRY_KEY = re.compile(rb"^(legacy_app|modern_app|routes)\s*:", re.MULTILINE)


def _names_routeshifts_keys(path: Path) -> bool:
    """Whether the file gives a top-level key of routeshift's registry (so it is one)."""
    try:
        return _REGISTRY_KEY.search(path.read_bytes()) is not None
    except OSError:
        return False


def _registry_path(config: pytest.Config) -> tuple[Path | None, bool]:
    """The registry, and whether it was named on purpose (not found in the rootdir)."""
    chosen = (
        config.getoption("routeshift_registry")
        or config.getini("routeshift_registry")
        or os.environ.get(ENV_PATH)
        or os.environ.get(ENV_PATH_ALIAS)
    )
    if chosen:
        return Path(chosen), True
    default = Path(config.rootpath) / DEFAULT_PATH
    return (default if default.is_file() else None), False


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    folder = parent.config.stash.get(CONTRACTS_DIR, None)
    if folder is None or file_path.suffix not in (".yaml", ".yml"):
        return None
    if file_path.resolve().parent != folder:
        return None
    routes = parent.config.getoption("routeshift_route")
    if routes and file_path.stem not in routes:
        return None
    return CaseFile.from_parent(parent, path=file_path)


class CaseFile(pytest.File):
    """A case file: one test per case, under a node named by the endpoint, so that the
    node id `<file>::<endpoint>::<case id>` can be given back to pytest to rerun one."""

    def collect(self) -> Iterator[pytest.Collector]:
        from routeshift.prove.cases import load_cases

        cases = load_cases(self.path)
        if cases:
            yield RouteCases.from_parent(self, name=cases[0].endpoint, cases=cases)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, CaseFileError):
            return str(excinfo.value)
        return super().repr_failure(excinfo)


class RouteCases(pytest.Collector):
    """The cases of one endpoint."""

    def __init__(self, *, cases: tuple[Case, ...], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cases = cases

    def collect(self) -> Iterator[pytest.Item]:
        for case in self.cases:
            item = CaseItem.from_parent(self, name=case.id, callobj=_run_case)
            item.stash[CASE] = case
            yield item


class CaseItem(pytest.Function):
    """One case; reported at its line in the case file, as `<endpoint>::<case id>`."""

    def reportinfo(self) -> tuple[Path, int, str]:
        case = self.stash[CASE]
        return self.path, max(case.line - 1, 0), case.test_id


def _run_case(routeshift_case: Case, contract: ContractClient) -> None:
    try:
        result = contract.run(routeshift_case)
    except CaseFileError as exc:  # the case, not the port, is wrong: said at its line
        pytest.fail(str(exc), pytrace=False)
    if not result.passed:  # failed outside an `except`, so the report is shown once
        pytest.fail(result.report(), pytrace=False)


@pytest.fixture
def routeshift_case(request: pytest.FixtureRequest) -> Case:
    """The case of a collected case-file test."""
    case: Case = request.node.stash[CASE]
    return case


@pytest.fixture
def routeshift_state() -> StateHook:
    """Override in a conftest.py to give each side the same starting state."""
    from routeshift.prove.harness import no_state

    return no_state


@pytest.fixture(scope="session")
def routeshift_harness(request: pytest.FixtureRequest) -> Iterator[Harness]:
    path = request.config.stash.get(REGISTRY, None)
    if path is None:
        raise pytest.UsageError(
            "routeshift: no registry found for the contract fixtures; pass "
            f"--routeshift-registry, set {ENV_PATH}, or put {DEFAULT_PATH} in the rootdir."
        )
    from routeshift.prove.harness import Harness

    try:
        harness = Harness.from_registry(path)
    except RouteshiftError as exc:
        raise pytest.UsageError(str(exc)) from None
    yield harness
    harness.close()


@pytest.fixture
def routeshift_outcomes(request: pytest.FixtureRequest) -> list[CaseOutcome]:
    """Outcomes to record with --routeshift-record, besides the contract fixture's."""
    return request.config.stash[OUTCOMES]


@pytest.fixture
def contract(
    request: pytest.FixtureRequest, routeshift_harness: Harness, routeshift_state: StateHook
) -> ContractClient:
    """contract.check(method, path, ...) sends one request to both sides and fails the
    test with every difference; contract.run(case) returns the result without failing."""
    from routeshift.prove.harness import ContractClient

    client = ContractClient(routeshift_harness, routeshift_state)
    client.results = request.config.stash[RESULTS]
    client.misrouted = request.config.stash[MISROUTED]
    return client
