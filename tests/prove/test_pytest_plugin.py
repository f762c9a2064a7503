"""routeshift.prove.pytest_plugin, run on small projects through pytest's own `pytester`.

The plugin is loaded in each run the way users get it: through the `pytest11` entry
point, not through `-p`.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

# The plugin imports the harness and the store on first use. pytester's in-process runs
# drop the modules a run imported; sqlalchemy imported twice breaks, so load them here.
import routeshift.prove.generated  # noqa: F401  (and hypothesis, for generated tests)
import routeshift.prove.harness  # noqa: F401
import routeshift.store.sql  # noqa: F401

pytest_plugins = ["pytester"]

LEGACY = """
from flask import Flask, jsonify

app = Flask(__name__)


@app.get("/greet/<name>")
def greet(name):
    return jsonify(greeting=f"Hello {name}")


@app.get("/count")
def count():
    return jsonify(count=1, unit="item")
"""

MODERN = """
from fastapi import FastAPI

app = FastAPI()


@app.get("/greet/{name}")
def greet(name: str):
    return {"greeting": f"Hello {name}"}


@app.get("/count")
def count():
    return {"count": 2, "unit": "item"}  # the deliberate slip
"""

ROUTES = [
    {"endpoint": "greet", "rule": "/greet/<name>", "methods": ["GET"], "state": "legacy"},
    {"endpoint": "count", "rule": "/count", "methods": ["GET"], "state": "legacy"},
]

GREET_CASES = """\
cases:
  - id: ann
    path: /greet/ann
  - id: bob
    path: /greet/bob
"""

COUNT_CASES = """\
cases:
  - id: differs
    path: /count
"""


@pytest.fixture(autouse=True)
def _environment(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """No registry from the environment; and no hypothesis plugin in the inner runs: it
    would import (and assert-rewrite) all of hypothesis again in each one. (After
    `pytester`, which clears PYTEST_ADDOPTS.)"""
    for name in ("MIGRATION_STATUS", "ROUTESHIFT_REGISTRY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PYTEST_ADDOPTS", "-p no:hypothesispytest")


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    """A project with a registry, both apps and the case files of greet and count."""
    pytester.makepyfile(legacy_side=LEGACY, modern_side=MODERN)
    registry = {"legacy_app": "legacy_side:app", "modern_app": "modern_side:app", "routes": ROUTES}
    pytester.makefile(".yaml", migration_status=yaml.safe_dump(registry, sort_keys=False))
    contracts = pytester.mkdir("tests") / "contracts"
    contracts.mkdir()
    (contracts / "greet.yaml").write_text(GREET_CASES)
    (contracts / "count.yaml").write_text(COUNT_CASES)
    return pytester


def write_case_file(project: pytest.Pytester, endpoint: str, text: str) -> Path:
    path = project.path / "tests" / "contracts" / f"{endpoint}.yaml"
    path.write_text(textwrap.dedent(text))
    return path


# --- collection ----------------------------------------------------------------------------


def test_case_files_are_collected_as_endpoint_and_case_id(project: pytest.Pytester) -> None:
    result = project.runpytest("--collect-only")
    result.stdout.fnmatch_lines(["plugins:*routeshift-*"])  # loaded by its entry point
    result = project.runpytest("--collect-only", "-q")
    result.stdout.fnmatch_lines(
        [
            "tests/contracts/count.yaml::count::differs",
            "tests/contracts/greet.yaml::greet::ann",
            "tests/contracts/greet.yaml::greet::bob",
            "3 tests collected*",
        ]
    )
    assert result.ret == pytest.ExitCode.OK


def test_passing_and_failing_cases(project: pytest.Pytester) -> None:
    result = project.runpytest("-v")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*greet.yaml::greet::ann PASSED*",
            "*__ count::differs __*",
            "count::differs: GET /count (*count.yaml:2): 1 difference(s)",
            "  /count: legacy 1 != modern 2",
            "FAILED tests/contracts/count.yaml::count::differs*",
        ]
    )
    # the report is shown once, not again as "During handling of the above exception"
    # (the short summary may repeat it whole: pytest does not truncate it when CI is set)
    failures = result.stdout.str().partition("short test summary info")[0]
    assert failures.count("/count: legacy 1 != modern 2") == 1
    assert "During handling" not in result.stdout.str()


def test_a_failed_case_reruns_by_its_node_id(project: pytest.Pytester) -> None:
    result = project.runpytest("tests/contracts/count.yaml::count::differs")
    result.assert_outcomes(failed=1)
    result = project.runpytest("tests/contracts/greet.yaml::greet::bob", "-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*greet.yaml::greet::bob PASSED*"])


def test_keyword_selects_by_endpoint(project: pytest.Pytester) -> None:
    result = project.runpytest("-k", "greet")
    result.assert_outcomes(passed=2, deselected=1)


def test_route_option_filters(project: pytest.Pytester) -> None:
    result = project.runpytest("--routeshift-route", "greet", "--collect-only", "-q")
    result.stdout.fnmatch_lines(["tests/contracts/greet.yaml::greet::ann", "2 tests collected*"])
    result.stdout.no_fnmatch_line("*count*")
    both = project.runpytest("--routeshift-route", "greet", "--routeshift-route", "count")
    both.assert_outcomes(passed=2, failed=1)


def test_yaml_outside_the_contracts_folder_is_not_collected(project: pytest.Pytester) -> None:
    project.makefile(".yaml", other="cases:\n  - id: x\n    path: /count\n")
    (project.path / "tests" / "contracts" / "nested").mkdir()
    (project.path / "tests" / "contracts" / "nested" / "count.yaml").write_text(COUNT_CASES)
    result = project.runpytest("--collect-only", "-q")
    result.stdout.fnmatch_lines(["3 tests collected*"])


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        pytest.param(
            """\
            cases:
              - id: ann
                path: /greet/ann
                methd: GET
            """,
            4,
            "cases[0]: unknown key 'methd'. Did you mean 'method'?*",
            id="unknown-key",
        ),
        pytest.param(
            """\
            cases:
              - id: ann
                path: /greet/ann
              - id: ann
                path: /greet/bob
            """,
            4,
            "cases[1]: id 'ann' is used twice (first at line 2)*",
            id="duplicate-id",
        ),
        pytest.param(
            """\
            cases:
              - id: ann
                path: /greet/ann
              - id: two-bodies
                method: POST
                path: /greet/ann
                json: {a: 1}
                body: text
            """,
            4,
            "*at most one body; this one has json, body*",
            id="two-bodies",
        ),
    ],
)
def test_bad_case_file_is_a_collection_error_at_file_line(
    project: pytest.Pytester, text: str, line: int, message: str
) -> None:
    write_case_file(project, "greet", text)
    result = project.runpytest()
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR collecting tests/contracts/greet.yaml*",
            f"*tests/contracts/greet.yaml:{line}: " + message.replace("[", "[[]"),
        ]
    )


def test_bad_registry_is_a_usage_error_at_file_line(project: pytest.Pytester) -> None:
    registry = project.path / "migration_status.yaml"
    registry.write_text(registry.read_text().replace("state: legacy", "state: legasy", 1))
    result = project.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*migration_status.yaml:*legasy*Did you mean 'legacy'?*"])


def test_someone_elses_migration_status_is_left_alone(pytester: pytest.Pytester) -> None:
    """A rootdir file of that name that names none of the registry's keys is not
    routeshift's: the run goes on, and the header says the cases were not collected."""
    pytester.makefile(".yaml", migration_status="migrations: [001_init.sql]\n")
    pytester.makepyfile(test_theirs="def test_it():\n    assert True\n")
    result = pytester.runpytest("-W", "error")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["routeshift: *migration_status.yaml was not read*"])


def test_a_routeshift_registry_named_by_the_environment_must_load(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makefile(".yaml", elsewhere="migrations: [001_init.sql]\n")
    pytester.makepyfile(test_theirs="def test_it():\n    assert True\n")
    monkeypatch.setenv("MIGRATION_STATUS", str(pytester.path / "elsewhere.yaml"))
    assert pytester.runpytest().ret == pytest.ExitCode.USAGE_ERROR


def test_registry_given_by_option(project: pytest.Pytester) -> None:
    elsewhere = project.mkdir("config")
    (project.path / "migration_status.yaml").rename(elsewhere / "migration_status.yaml")
    # contracts_dir and the app modules are found relative to the registry's folder
    (project.path / "tests").rename(elsewhere / "tests")
    for module in ("legacy_side.py", "modern_side.py"):
        (project.path / module).rename(elsewhere / module)
    assert project.runpytest().ret == pytest.ExitCode.NO_TESTS_COLLECTED
    result = project.runpytest("--routeshift-registry", "config/migration_status.yaml")
    result.assert_outcomes(passed=2, failed=1)


# --- a project without a registry ----------------------------------------------------------


def test_without_a_registry_nothing_is_collected_and_nothing_fails(
    pytester: pytest.Pytester,
) -> None:
    contracts = pytester.mkdir("tests") / "contracts"
    contracts.mkdir()
    (contracts / "greet.yaml").write_text(GREET_CASES)
    (contracts / "broken.yaml").write_text("cases: [{id: x, bogus: 1}]\n")
    pytester.makefile(".yaml", config="key: value\n")
    pytester.makepyfile(test_plain="def test_plain():\n    assert True\n")
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=1)
    result.stdout.no_fnmatch_line("*greet*")


def test_contract_fixture_without_a_registry_says_how_to_give_one(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_uses="def test_uses(contract):\n    pass\n")
    result = pytester.runpytest()
    result.stdout.fnmatch_lines(["*no registry found for the contract fixtures*"])
    assert result.ret != pytest.ExitCode.OK


# --- fixtures in hand-written tests --------------------------------------------------------


def test_contract_fixture_in_a_hand_written_test(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_hand="""
        import pytest

        from routeshift.errors import ContractMismatch


        def test_greet(contract):
            result = contract.check("GET", "/greet/zoe")
            assert result.case.endpoint == "greet"
            assert result.legacy.status == result.modern.status == 200


        def test_count_is_caught(contract):
            with pytest.raises(ContractMismatch, match="/count: legacy 1 != modern 2"):
                contract.check("GET", "/count")


        def test_run_does_not_raise(contract):
            from routeshift.prove.cases import case

            result = contract.run(case("count", "GET", "/count"))
            assert not result.passed
            assert [d.where for d in result.comparison.differences] == ["/count"]
        """
    )
    result = project.runpytest("test_hand.py", "-v")
    result.assert_outcomes(passed=3)


def test_parametrize_with_python_cases(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_param="""
        import pytest

        from routeshift.prove.cases import case


        @pytest.mark.parametrize(
            "checked",
            [
                case("greet", "GET", "/greet/ann"),
                case("greet", "GET", "/greet/bob", id="bob", query={"x": "1"}),
                pytest.param(case("count", "GET", "/count"), marks=pytest.mark.xfail(strict=True)),
            ],
            ids=lambda c: c.id,
        )
        def test_case(contract, checked):
            contract.assert_case(checked)
        """
    )
    result = project.runpytest("test_param.py", "-v")
    result.assert_outcomes(passed=2, xfailed=1)
    result.stdout.fnmatch_lines(["*test_case[[]GET /greet/ann[]] PASSED*", "*test_case[[]bob[]]*"])


def test_state_fixture_override_applies_to_case_files(project: pytest.Pytester) -> None:
    project.makeconftest(
        """
        from contextlib import contextmanager
        from pathlib import Path

        import pytest


        @pytest.fixture
        def routeshift_state():
            @contextmanager
            def record(side):
                with Path("sides.txt").open("a") as out:
                    out.write(side + "\\n")
                yield

            return record
        """
    )
    result = project.runpytest("tests/contracts/greet.yaml::greet::ann")
    result.assert_outcomes(passed=1)
    # a GET goes to legacy twice (to find noise), then to modern
    assert (project.path / "sides.txt").read_text().split() == ["legacy", "legacy", "modern"]


# --- recording -----------------------------------------------------------------------


def test_record_option_stores_the_run_for_status(project: pytest.Pytester) -> None:
    from routeshift.store.sql import Store

    store = Store(f"sqlite:///{project.path / 'routeshift.db'}")
    project.runpytest().assert_outcomes(passed=2, failed=1)
    assert store.verifications() == {}  # not recorded without the option
    project.runpytest("--routeshift-record").assert_outcomes(passed=2, failed=1)
    verifications = store.verifications()
    store.close()
    assert verifications["greet"].ok and verifications["greet"].passed == 2
    assert not verifications["count"].ok


def test_record_option_closes_the_store(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    from routeshift.store.sql import Store

    closed: list[str] = []
    close = Store.close

    def recording_close(self: Store) -> None:
        closed.append(self.url)
        close(self)

    monkeypatch.setattr(Store, "close", recording_close)
    project.runpytest("--routeshift-record").assert_outcomes(passed=2, failed=1)
    assert closed == [f"sqlite:///{project.path / 'routeshift.db'}"]


def verifications_of(project: pytest.Pytester) -> dict[str, Any]:
    from routeshift.store.sql import Store

    store = Store(f"sqlite:///{project.path / 'routeshift.db'}")
    try:
        return dict(store.verifications())
    finally:
        store.close()


def test_record_option_records_the_contract_fixtures_checks(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_hand="""
        import pytest

        from routeshift.errors import ContractMismatch
        from routeshift.prove.cases import case


        def test_greet(contract):
            contract.check("GET", "/greet/zoe")
            contract.assert_case(case("greet", "GET", "/greet/amy", id="amy"))


        def test_count(contract):
            with pytest.raises(ContractMismatch):
                contract.check("GET", "/count")
        """
    )
    project.runpytest("test_hand.py", "--routeshift-record").assert_outcomes(passed=2)
    verifications = verifications_of(project)
    assert (verifications["greet"].passed, verifications["greet"].failed) == (2, 0)
    assert (verifications["count"].passed, verifications["count"].failed) == (0, 1)


GENERATED = """
from routeshift.prove.generated import generated_test

test_greet_generated = generated_test("greet", "GET", max_examples=5)
test_count_generated = generated_test("count", "GET", max_examples=5)
"""


def test_record_option_records_each_generated_test_with_its_verdict(
    project: pytest.Pytester,
) -> None:
    from routeshift.store.sql import Store

    project.makepyfile(test_gen=GENERATED)
    result = project.runpytest("test_gen.py", "--routeshift-record")
    result.assert_outcomes(passed=1, failed=1)
    verifications = verifications_of(project)
    assert (verifications["greet"].passed, verifications["greet"].failed) == (1, 0)
    assert (verifications["count"].passed, verifications["count"].failed) == (0, 1)
    store = Store(f"sqlite:///{project.path / 'routeshift.db'}")
    try:
        with store.engine.connect() as connection:
            rows = connection.exec_driver_sql(
                "SELECT endpoint, case_id, method, path, passed, differences "
                "FROM routeshift_contract_results ORDER BY endpoint"
            ).all()
    finally:
        store.close()
    assert [tuple(row[:5]) for row in rows] == [
        ("count", "generated", "GET", "/count", False),
        ("greet", "generated", "GET", "/greet/<name>", True),
    ]
    assert json.loads(rows[0][5]) == [
        "generated request: GET /count",
        "/count: legacy 1 != modern 2",
    ]


def test_a_run_that_skips_an_endpoint_leaves_its_verification(project: pytest.Pytester) -> None:
    """Verified is the latest run that ran the endpoint's cases: `-k` runs of the other
    endpoints (case files, generated tests) record runs that do not include it."""
    project.makepyfile(test_gen=GENERATED)
    project.runpytest("--routeshift-record").assert_outcomes(passed=3, failed=2)
    first = verifications_of(project)
    assert not first["count"].ok and (first["count"].passed, first["count"].failed) == (0, 2)
    assert first["greet"].ok and first["greet"].passed == 3
    project.runpytest("--routeshift-record", "-k", "greet").assert_outcomes(passed=3, deselected=2)
    second = verifications_of(project)
    assert second["count"] == first["count"]  # as it was: the run did not check it
    assert second["greet"].run_at > first["greet"].run_at
    project.runpytest("--routeshift-record", "-k", "nothing_has_this_name").assert_outcomes(
        deselected=5
    )
    assert verifications_of(project) == second  # no case ran: no run recorded
