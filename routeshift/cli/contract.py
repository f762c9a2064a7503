"""routeshift contract: run the contract case files through pytest and report."""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import click

from routeshift.apps.importer import add_to_path
from routeshift.apps.pair import search_dirs
from routeshift.cli.common import load_or_exit, registry_option
from routeshift.errors import CaseFileError, StoreError, display_path
from routeshift.prove.cases import case_files, endpoint_of
from routeshift.registry.load import registry_path
from routeshift.store.sql import Store

__all__ = [
    "contract",
    "format_contract_table",
]


class _ContractResults:
    """A pytest plugin object that takes the case results at the end of the session."""

    def __init__(self) -> None:
        self.results: list[Any] = []
        self.misrouted: list[Any] = []

    def pytest_sessionfinish(self, session: Any) -> None:
        from routeshift.prove.pytest_plugin import MISROUTED, RESULTS

        self.results = list(session.config.stash.get(RESULTS, []))
        self.misrouted = list(session.config.stash.get(MISROUTED, []))


def format_contract_table(results: list[Any]) -> str:
    lines = []
    for result in results:
        mark = "ok  " if result.passed else "FAIL"
        lines.append(f"{mark} {result.case.test_id}  {result.case.method} {result.case.path}")
        if not result.passed:
            lines += [f"       {difference}" for difference in result.comparison.differences]
            lines += result.raised_lines("       ")
            case = result.case
            where = f"{display_path(Path(case.file))}:{case.line}" if case.file else case.where
            lines.append(f"       ({where})")
        if result.suggested_ignore:
            lines.append(f"       noise: add ignore: [{', '.join(result.suggested_ignore)}]")
    failed = sum(not r.passed for r in results)
    lines.append(f"\n{len(results) - failed} passed, {failed} failed")
    return "\n".join(lines)


@click.command()
@registry_option
@click.option(
    "--route",
    "routes_filter",
    multiple=True,
    metavar="ENDPOINT",
    help="Only the cases of this endpoint (repeatable).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "junit"]),
    default="table",
    show_default=True,
)
def contract(registry_option: str | None, routes_filter: tuple[str, ...], fmt: str) -> None:
    """Run the contract cases: each request to both apps, differences as JSON pointers.

    Runs through pytest with routeshift's plugin, so the conftest.py fixtures of the
    contracts folder (the state hook) apply exactly as under `pytest`. The run is recorded
    in the store, where `status` reads "verified". Exit 0 when every case passes, 1 on a
    mismatch, 2 on bad input.
    """
    import pytest

    path = registry_path(registry_option)
    registry = load_or_exit(registry_option)
    folder = registry.contracts_dir
    missing = [r for r in routes_filter if not (folder / f"{r}.yaml").is_file()]
    if not folder.is_dir() or missing:
        what = f"no case file for {', '.join(missing)}" if missing else "no contracts folder"
        click.echo(
            f"error: {what} in {folder}. Write <endpoint>.yaml case files there "
            "(see settings.contracts_dir).",
            err=True,
        )
        sys.exit(2)
    files = [f for f in case_files(folder) if not routes_filter or endpoint_of(f) in routes_filter]
    if not files:
        click.echo(f"error: no case files (<endpoint>.yaml) in {folder}.", err=True)
        sys.exit(2)
    # the case files only: other tests in the folder are pytest's business, not a contract
    args = [
        *map(str, files),
        "--routeshift-registry",
        str(path.resolve()),
        "-q",
        "-p",
        "no:cacheprovider",
        "--assert=plain",
        "--rootdir",
        str(registry.folder.resolve()),
    ]
    if os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD"):
        args += ["-p", "routeshift.prove.pytest_plugin"]
    # the cases' conftest.py imports the apps' modules: found as the registry finds them
    add_to_path(search_dirs(registry))
    with contextlib.ExitStack() as stack:
        junit: Path | None = None
        if fmt == "junit":
            junit = Path(stack.enter_context(tempfile.TemporaryDirectory())) / "contract.xml"
            args += ["--junitxml", str(junit)]
        collector = _ContractResults()
        output = io.StringIO()
        with contextlib.redirect_stdout(output):
            code = pytest.main(args, plugins=[collector])
        # read before the folder goes; a run that broke off may have written none
        junit_xml = junit.read_text(encoding="utf-8") if junit and junit.is_file() else ""
    results, misrouted = collector.results, collector.misrouted
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED) or (
        code == pytest.ExitCode.TESTS_FAILED
        and not misrouted
        and not any(not r.passed for r in results)
    ):
        click.echo(output.getvalue(), err=True)
        if code == pytest.ExitCode.NO_TESTS_COLLECTED:
            click.echo(f"error: no contract cases in {folder}.", err=True)
        sys.exit(2 if code != pytest.ExitCode.TESTS_FAILED else 1)
    try:
        with contextlib.closing(Store.for_registry(registry)) as store:
            outcomes = [r.outcome() for r in results] + [m.outcome() for m in misrouted]
            store.record_contract_run(outcomes)
    except StoreError as exc:
        click.echo(f"error: {exc} (the run is not recorded; status cannot see it).", err=True)
        sys.exit(2)
    if fmt == "json":
        failed = sum(not r.passed for r in results)
        summary = {
            "cases": len(results),
            "passed": len(results) - failed,
            "failed": failed,
            "case_file_errors": len(misrouted),
        }
        document = {
            "summary": summary,
            "cases": [r.as_dict() for r in results],
            "case_file_errors": [
                {"id": m.case.test_id, "where": m.case.where, "message": m.problem.message}
                for m in misrouted
            ],
        }
        click.echo(json.dumps(document, indent=2))
    elif fmt == "junit":
        click.echo(junit_xml)
    else:
        click.echo(format_contract_table(results))
    if misrouted:  # the other cases ran; the case file is wrong, which is bad input
        problems = [m.problem for m in misrouted]
        click.echo(f"error: {CaseFileError(problems)}", err=True)
        sys.exit(2)
    sys.exit(0 if code == pytest.ExitCode.OK else 1)
