"""parse_yaml builds a plain document from the parser's events (source._build): the same
values and line marks as PyYAML's node tree (source._compose), and every document it does
not build, or that has a problem, goes to the node tree, so the messages are unchanged."""

from __future__ import annotations

from typing import Any

import pytest

from routeshift.errors import FileError
from routeshift.registry import source

REGISTRY = """\
legacy_app: app:app
modern_app: api:app
settings: {contracts_dir: contracts, bridge_threads: 8, force_legacy: false}
routes:
  - endpoint: users.get_user
    rule: "/users/<int:user_id>"
    methods: [GET, post]
    state: canary
    percent: 2.5
    notes: 'R&D team'
    accept:
      - {what: status, legacy: 200, modern: null, why: ~}
"""


def _both(text: str) -> tuple[Any, Any]:
    def run(parse: Any) -> Any:
        try:
            return parse(text, "f.yaml")
        except FileError as exc:
            return [str(problem) for problem in exc.problems]

    return run(source.parse_yaml), run(source._compose)


@pytest.mark.parametrize(
    ("text", "built"),
    [
        pytest.param(REGISTRY, True, id="registry"),
        pytest.param("", True, id="empty"),
        pytest.param("---\n", True, id="empty-document"),
        pytest.param("# only a comment\n", True, id="comment"),
        pytest.param("hello\n", True, id="scalar-root"),
        pytest.param("a: [1, 2.5, true, null, ~, 2020-01-01, 0x1f, .inf, '1']\n", True, id="types"),
        pytest.param("1: one\nnull: none\n", True, id="non-string-keys"),
        pytest.param("x: ! 1\n", True, id="non-specific-tag"),
        pytest.param("a:\n  - b\n  -\n  - c:\n", True, id="empty-values"),
        pytest.param("a: 1\na: 2\n", False, id="repeated-key"),
        pytest.param("1: a\n0x1: b\n", False, id="same-key-two-spellings"),
        pytest.param("a: &x [1]\nb: *x\n", False, id="alias"),
        pytest.param("base: {k: 1}\n<<: {a: 1}\n", False, id="merge-key"),
        pytest.param("=: x\n", False, id="value-key"),
        pytest.param("? [a]\n: b\n", False, id="list-key"),
        pytest.param("a: !!str 1\n", False, id="explicit-tag"),
        pytest.param("--- a\n--- b\n", False, id="two-documents"),
        pytest.param("a: [\n", False, id="malformed"),
        pytest.param("a: b: c\n", False, id="malformed-mapping"),
        pytest.param("a: " + "[" * 101 + "]" * 101 + "\n", False, id="too-deep"),
    ],
)
def test_built_from_events_as_the_node_tree_gives(text: str, built: bool) -> None:
    fast, slow = _both(text)
    assert fast == slow
    assert repr(fast) == repr(slow)  # 1 and True, 1.0 and 1 kept apart
    assert (source._build(text) is not None) is built
