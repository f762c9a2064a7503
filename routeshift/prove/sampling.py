"""Requests sent to the legacy app alone, as the contract cases send them: for `routeshift
scaffold`, which infers a port's response model from legacy's real answers.

Each request goes through the harness's legacy side inside the contracts folder's state
hook (the `routeshift_state` fixture of its conftest.py: seeded tokens, a test database),
so a route behind auth or a database answers as it does in the contract tests. The hook
is a pytest fixture, so the requests run in a pytest session of their own (in process,
as `routeshift contract` runs), with that conftest.py loaded; without one they are sent
directly. Only safe requests are ever sent (the caller's rule).
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from routeshift.compare import Reply
from routeshift.errors import RouteshiftError
from routeshift.prove.cases import Case
from routeshift.prove.harness import Harness, StateHook
from routeshift.registry.model import Registry

__all__ = ["send_to_legacy"]

#: the pytest option that matches no Python file: the session runs only these requests
_NO_PYTHON_TESTS = "python_files=routeshift-sampling-collects-no-python-tests"


def send_to_legacy(registry: Registry, harness: Harness, cases: Sequence[Case]) -> list[Reply]:
    """Legacy's answer to each case, inside the contracts folder's state hook."""
    folder = registry.contracts_dir
    if not cases:
        return []
    if not (folder / "conftest.py").is_file():
        return [harness.send_legacy(case) for case in cases]
    return _through_pytest(registry, harness, folder, cases)


def _through_pytest(
    registry: Registry, harness: Harness, folder: Path, cases: Sequence[Case]
) -> list[Reply]:
    import pytest

    from routeshift.prove.pytest_plugin import CASE, CaseFile, CaseItem, RouteCases

    replies: dict[int, Reply] = {}

    def send(routeshift_case: Case, routeshift_state: StateHook) -> None:
        with routeshift_state("legacy"):
            replies[id(routeshift_case)] = harness.send_legacy(routeshift_case)

    class Sampler:
        """Replaces the session's items by one per case, below the contracts folder's
        own node (taken as its files are collected), so its conftest.py applies."""

        folder_node: Any = None

        def pytest_collect_file(self, file_path: Path, parent: Any) -> None:
            if self.folder_node is None and file_path.parent == folder.resolve():
                self.folder_node = parent

        @pytest.hookimpl(trylast=True)
        def pytest_collection_modifyitems(self, session: Any, items: list[Any]) -> None:
            assert self.folder_node is not None, "the contracts folder was not collected"
            path = folder / "routeshift-samples.yaml"
            node = CaseFile.from_parent(self.folder_node, path=path)
            group = RouteCases.from_parent(node, name="samples", cases=tuple(cases))
            items[:] = []
            for index, case in enumerate(cases):
                item = CaseItem.from_parent(group, name=f"sample-{index}", callobj=send)
                item.stash[CASE] = case
                items.append(item)

    args = [
        str(folder),
        "--routeshift-registry",
        str(registry.path.resolve()),
        "-q",
        "-p",
        "no:cacheprovider",
        "--assert=plain",
        "-o",
        _NO_PYTHON_TESTS,
        "--rootdir",
        str(registry.folder.resolve()),
    ]
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        code = pytest.main(args, plugins=[Sampler()])
    if code != pytest.ExitCode.OK or len(replies) != len(cases):
        raise RouteshiftError(
            "sending the samples to legacy through the state hook of "
            f"{folder / 'conftest.py'} failed:\n{output.getvalue().strip()}"
        )
    return [replies[id(case)] for case in cases]
