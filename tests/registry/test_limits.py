"""routeshift.registry.source.check_limits: a YAML file built to exhaust the loader (an
alias bomb, nesting too deep, a file too long) is refused at its line before anything
walks it, by every reader: the registry (PyYAML), the round trip of the commands that
write (ruamel.yaml) and contract case files.

The bombs here are small (six levels: 672,588 nodes that the aliases add), so that a broken guard
makes a test slow, not endless; tests/cli/test_cli_check_at_scale.py runs the nine-level
one in a subprocess with a timeout.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from routeshift.errors import CaseFileError, EditError, FileError, Problem, RegistryError
from routeshift.prove.cases import load_cases
from routeshift.registry import load, source
from routeshift.registry.edit import set_state_text, sync_text
from routeshift.registry.load import load_registry, parse_registry
from routeshift.registry.roundtrip import Document
from routeshift.registry.source import MAX_ALIAS_NODES, MAX_DEPTH, check_limits, parse_yaml

HEAD = "legacy_app: legacy:app\nmodern_app: modern:app\n"
ENTRY = "  - endpoint: home\n    rule: /\n    methods: [GET]\n    state: legacy\n"


def bomb(levels: int, key: str = "lol") -> str:
    """The "billion laughs": anchor k is a list of nine aliases of anchor k - 1."""
    lines = [f"{key}0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"{key}{k}: &a{k} [{', '.join([f'*a{k - 1}'] * 9)}]" for k in range(1, levels)]
    return "\n".join(lines) + "\n"


BOMB = HEAD + bomb(6) + "routes:\n" + ENTRY
#: the line of the alias that takes the expansion past MAX_ALIAS_NODES
BOMB_LINE = 8


def refused(read: object, *args: object) -> tuple[BaseException, float]:
    """The exception `read(*args)` raises, and how long it took."""
    started = time.perf_counter()
    with pytest.raises((FileError, EditError)) as info:
        read(*args)  # type: ignore[operator]
    return info.value, time.perf_counter() - started


def test_an_alias_bomb_is_refused_at_its_line() -> None:
    error, took = refused(parse_yaml, BOMB, "migration_status.yaml")
    assert isinstance(error, FileError)
    (problem,) = error.problems
    assert problem.line == BOMB_LINE, f"{problem} (refused in {took * 1000:.1f} ms)"
    assert problem.file == "migration_status.yaml"
    assert "repeats its aliases" in problem.message
    assert f"refuses more than {MAX_ALIAS_NODES:,}" in problem.message, problem.message
    assert "672,588 nodes" in problem.message, f"{problem} (refused in {took * 1000:.1f} ms)"


def test_the_registry_refuses_an_alias_bomb(tmp_path: Path) -> None:
    path = tmp_path / "migration_status.yaml"
    path.write_text(BOMB, encoding="utf-8")
    error, took = refused(load_registry, path)
    assert isinstance(error, RegistryError), error
    assert str(error).startswith("invalid registry:\n  "), str(error)
    assert f"{path}:{BOMB_LINE}: the file repeats its aliases" in str(error), (
        f"{error} (refused in {took * 1000:.1f} ms)"
    )


def test_a_case_file_refuses_an_alias_bomb(tmp_path: Path) -> None:
    path = tmp_path / "home.yaml"
    path.write_text(bomb(6) + "cases:\n  - id: one\n    path: /\n", encoding="utf-8")
    error, took = refused(load_cases, path)
    assert isinstance(error, CaseFileError), error
    assert error.problems[0].line == BOMB_LINE - 2, f"{error} (refused in {took * 1000:.1f} ms)"


@pytest.mark.parametrize(
    "edit",
    [
        pytest.param(lambda text: Document(text, "the registry"), id="round-trip"),
        pytest.param(lambda text: sync_text(text, ()), id="sync"),
        pytest.param(lambda text: set_state_text(text, "home", "modern"), id="promote"),
    ],
)
def test_the_commands_that_write_refuse_an_alias_bomb(edit: object) -> None:
    error, took = refused(edit, BOMB)
    assert isinstance(error, EditError), error
    assert str(error).startswith(f"the registry:{BOMB_LINE}: the file repeats its aliases"), (
        f"{error} (refused in {took * 1000:.1f} ms)"
    )


def test_aliases_within_the_limit_load() -> None:
    ignore = "x-ignore: &ignore [/id, /created_at, /updated_at]\n"
    entries = "".join(
        f"  - endpoint: view{i}\n    rule: /v{i}\n    methods: [GET]\n    state: legacy\n"
        f"    ignore: *ignore\n"
        for i in range(200)
    )
    data, marks = parse_yaml(HEAD + ignore + "routes:\n" + entries, "f.yaml")
    assert data["routes"][199]["ignore"] == ["/id", "/created_at", "/updated_at"]
    assert marks[("routes", 199, "ignore")] == 4 + 199 * 5 + 5


def test_an_alias_of_a_node_that_contains_it_is_refused() -> None:
    with pytest.raises(FileError) as info:
        check_limits("a: &x [1, *x]\n", "f.yaml")
    assert "recursive alias" in str(info.value)
    assert info.value.problems[0].line == 1


def nested(depth: int, flow: bool) -> str:
    if flow:
        return "deep: " + "[" * depth + "1" + "]" * depth + "\n"
    return (
        "deep:\n"
        + "".join(" " * (2 * i + 2) + "- \n" for i in range(depth - 1))
        + (" " * (2 * depth) + "- 1\n")
    )


@pytest.mark.parametrize("flow", [True, False], ids=["flow", "block"])
def test_nesting_within_the_limit_loads(flow: bool) -> None:
    data, _ = parse_yaml(nested(MAX_DEPTH - 1, flow), "f.yaml")
    assert data["deep"] is not None


@pytest.mark.parametrize("anchored", [False, True], ids=["plain", "with-an-anchor"])
@pytest.mark.parametrize("flow", [True, False], ids=["flow", "block"])
def test_nesting_too_deep_is_refused(flow: bool, anchored: bool) -> None:
    text = nested(MAX_DEPTH + 1, flow) + ("other: &x 1\n" if anchored else "")
    with pytest.raises(FileError) as info:
        parse_yaml(text, "f.yaml")
    (problem,) = info.value.problems
    assert f"nest more than {MAX_DEPTH} deep" in problem.message, problem
    assert problem.line >= 1


def test_nesting_too_deep_through_an_alias_is_refused() -> None:
    half = MAX_DEPTH // 2 + 1
    text = "a: &x " + "[" * half + "1" + "]" * half + "\nb: " + "[" * half + "*x" + "]" * half
    with pytest.raises(FileError) as info:
        parse_yaml(text + "\n", "f.yaml")
    assert info.value.problems[0].line == 2
    assert "aliases expanded" in str(info.value)


def test_a_file_too_long_is_refused_before_it_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(source, "MAX_CHARS", 100)
    monkeypatch.setattr(load, "MAX_CHARS", 100)
    text = HEAD + "routes:\n" + ENTRY * 3
    with pytest.raises(FileError) as info:
        parse_yaml(text, "f.yaml")
    assert f"is {len(text):,} characters long; routeshift refuses more than 100" in str(info.value)
    path = tmp_path / "migration_status.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RegistryError) as registry_info:
        load_registry(path)
    assert f"is {len(text):,} bytes long" in str(registry_info.value)


def test_a_malformed_file_is_still_said_as_malformed() -> None:
    with pytest.raises(RegistryError) as info:
        parse_registry(HEAD + "x: &a [1\n", Path("f.yaml"))
    assert "malformed YAML" in str(info.value)
    with pytest.raises(EditError, match="not YAML that can be edited"):
        Document(HEAD + "x: &a [1\n", "the registry")


# --- the message of many problems ----------------------------------------------------------


def test_many_problems_of_one_kind_are_one_line() -> None:
    problems = [
        Problem("m.yaml", 10 + 12 * i, f"routes[{i}].rule: '<uuid:key>' has no equivalent.")
        for i in range(200)
    ]
    error = RegistryError(problems)
    lines = str(error).splitlines()
    assert lines == [
        "invalid registry (200 problems):",
        "  m.yaml:10: routes[0].rule: '<uuid:key>' has no equivalent. "
        "(199 more like it, at lines 22, 34, 46 and 196 more)",
    ]
    assert error.problems == tuple(problems)


def test_at_most_twenty_lines_then_and_n_more() -> None:
    problems = [Problem("m.yaml", i + 1, f"problem number {i} {'x' * i}.") for i in range(45)]
    lines = str(RegistryError(problems)).splitlines()
    assert len(lines) == 1 + 20 + 1
    assert lines[20] == f"  m.yaml:20: problem number 19 {'x' * 19}."
    assert lines[-1] == "  and 25 more (routeshift check --format json lists them all)"
    assert str(CaseFileError(problems)).splitlines()[-1] == "  and 25 more"


def test_twenty_problems_or_fewer_are_each_listed() -> None:
    problems = [Problem("m.yaml", i + 1, f"routes[{i}]: bad.") for i in range(20)]
    lines = str(RegistryError(problems)).splitlines()
    assert lines[1:] == [f"  {p}" for p in problems]


def test_a_large_registry_that_shares_a_block_is_not_a_bomb() -> None:
    """10,000 entries each merging a 5-key `<<: *defaults` add about 110,000 nodes: over
    the flat limit, but less than ALIAS_RATIO times what the file writes itself."""
    from routeshift.registry.source import ALIAS_RATIO, MAX_ALIAS_NODES, check_limits

    entries = "".join(
        f"  - {{<<: *defaults, endpoint: e{n}, rule: /r{n}}}\n" for n in range(10_000)
    )
    text = (
        "defaults: &defaults {methods: [GET], state: legacy, owner: a, notes: b, sample: 1}\n"
        f"routes:\n{entries}"
    )
    check_limits(text, "big.yaml")  # no error
    assert ALIAS_RATIO * 10_000 * 5 > MAX_ALIAS_NODES  # the case is past the flat limit
