"""routeshift.registry.model: an entry's `normalise` takes names and tolerances
(`{within: 2s, at: /last_seen}`), each checked at its file:line, and Entry.rules() (what
contract and shadow compare with) carries them."""

from __future__ import annotations

from pathlib import Path

import pytest

from routeshift.compare import Reply
from routeshift.compare import compare as compare_replies
from routeshift.errors import RegistryError
from routeshift.registry.load import parse_registry
from routeshift.registry.model import Entry
from routeshift.tolerance import Tolerance, Within

ENTRY = (
    "legacy_app: a:app\nmodern_app: b:app\nroutes:\n  - endpoint: x\n    rule: /x\n"
    "    methods: [GET]\n    state: legacy\n"
)


def entry(normalise_lines: str) -> Entry:
    (loaded,) = parse_registry(ENTRY + normalise_lines, Path("migration_status.yaml")).routes
    return loaded


def problem_of(normalise_lines: str) -> tuple[int, str]:
    with pytest.raises(RegistryError) as caught:
        parse_registry(ENTRY + normalise_lines, Path("migration_status.yaml"))
    (problem,) = caught.value.problems
    assert problem.file == "migration_status.yaml"
    return problem.line, problem.message


def test_normalise_takes_names_and_tolerances() -> None:
    loaded = entry(
        "    normalise:\n      - dates\n      - {within: 2s, at: /last_seen}\n"
        "      - within: 0.01\n        at: /items/*/price\n"
    )
    assert loaded.normalise == (
        "dates",
        Tolerance("/last_seen", 2.0, Within.TIME),
        Tolerance("/items/*/price", 0.01),
    )
    assert loaded.model_dump(mode="json")["normalise"] == [  # as the registry writes them
        "dates",
        {"within": "2s", "at": "/last_seen"},
        {"within": 0.01, "at": "/items/*/price"},
    ]


def test_entry_rules_carry_the_tolerances() -> None:
    """Entry.rules() is what the contract harness and the shadow runner compare with."""
    rules = entry("    normalise: [{within: 2s, at: /last_seen}]\n").rules()
    assert Tolerance("/last_seen", 2.0, Within.TIME) in rules.normalise
    assert "dates" not in rules.normalise  # a tolerance does not turn the dates normaliser on
    json = (("content-type", "application/json"),)
    legacy = Reply(200, json, b'{"last_seen": "Tue, 02 Jan 2024 03:04:05 GMT"}')
    near = Reply(200, json, b'{"last_seen": "2024-01-02T03:04:06Z"}')
    far = Reply(200, json, b'{"last_seen": "2024-01-02T03:04:08Z"}')
    assert compare_replies(legacy, near, rules).equal
    assert [d.where for d in compare_replies(legacy, far, rules).differences] == ["/last_seen"]


@pytest.mark.parametrize(
    ("lines", "line", "words"),
    [
        pytest.param(
            "    normalise:\n      - dates\n      - {within: 2s, at: /a, every: 1m}\n",
            10,
            "routes[0].normalise[1]: unknown key 'every' in a tolerance.",
            id="extra-key",
        ),
        pytest.param(
            "    normalise: [{within: 2, at: /a, wihtin: 1}]\n",
            8,
            "Did you mean 'within'?",
            id="extra-key-hint",
        ),
        pytest.param(
            "    normalise:\n      - within: 2 weeks\n        at: /a\n",
            9,
            "routes[0].normalise[0]: within: '2 weeks' is neither a duration",
            id="bad-duration",
        ),
        pytest.param(
            "    normalise: [{within: 2s, at: last_seen}]\n",
            8,
            "at: 'last_seen' is not a JSON pointer: it must start with '/'",
            id="bad-pointer",
        ),
        pytest.param(
            "    normalise: [{within: -2s, at: /a}]\n", 8, "'-2s' is negative", id="negative-time"
        ),
        pytest.param(
            "    normalise: [{within: -0.5, at: /a}]\n", 8, "-0.5 is negative", id="negative"
        ),
        pytest.param(
            "    normalise: [{at: /a}]\n", 8, "a tolerance needs within", id="missing-within"
        ),
        pytest.param(
            "    normalise: [[dates]]\n", 8, "is not a normaliser: give a name", id="a-list"
        ),
        pytest.param(
            "    normalise: [dates, date]\n", 8, "Did you mean 'dates'?", id="unknown-name"
        ),
    ],
)
def test_a_bad_normaliser_is_an_error_at_its_line(lines: str, line: int, words: str) -> None:
    found_line, message = problem_of(lines)
    assert (found_line, words in message) == (line, True), message
