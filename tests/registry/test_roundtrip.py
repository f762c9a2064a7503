"""routeshift.registry.roundtrip: YAML edited in place, every untouched line kept byte for byte."""

from __future__ import annotations

import pytest

from routeshift.errors import EditError
from routeshift.registry.roundtrip import Document, carry_over, delete_key, set_after, set_string


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("top:\n  - a: 1\n    b: [x, y]   # why\n", id="indented-dash"),
        pytest.param("top:\n- a: 1\n  b:\n  - x\n", id="dash-at-key-column"),
        pytest.param("top:\n    -   a: 1\n        b: 2\nnext:\n    c: 3\n", id="four-spaces"),
        pytest.param("top:\n  - a: 1\n    b: 2\nnext:\n    c: 3\n", id="mixed"),
    ],
)
def test_a_new_item_follows_the_files_indentation(text: str) -> None:
    document = Document(text)
    document.start()
    first = document.data["top"][0]
    added = type(first)()
    added["a"] = 2
    document.data["top"].append(added)
    new = document.result()
    assert new.startswith(text.partition("next:")[0])
    item = new[len(text.partition("next:")[0]) :].partition("next:")[0]
    dash = text.splitlines()[1].partition("-")[0] + "-"
    assert item.startswith(dash) and item.rstrip().endswith("a: 2")


def test_a_key_added_after_the_last_one_goes_above_the_lines_that_follow() -> None:
    text = "a:\n  x: 1   # one\n\n# about b\nb: 2\n"
    document = Document(text)
    document.start()
    set_after(document.data["a"], "x", "y", 2)
    assert document.result() == "a:\n  x: 1   # one\n  y: 2\n\n# about b\nb: 2\n"


def test_deleting_the_last_key_keeps_the_lines_that_follow() -> None:
    text = "a:\n  x: 1\n  y: 2   # gone\n\n# about b\nb: 2\n"
    document = Document(text)
    document.start()
    delete_key(document.data["a"], "y")
    assert document.result() == "a:\n  x: 1\n\n# about b\nb: 2\n"


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        pytest.param("'old'", "'new'", id="single"),
        pytest.param('"old"', '"new"', id="double"),
        pytest.param("old", "new", id="plain"),
    ],
)
def test_a_string_keeps_its_quotes(written: str, expected: str) -> None:
    document = Document(f"k: {written}   # note\n")
    document.start()
    set_string(document.data, "k", "new")
    assert document.result() == f"k: {expected}   # note\n"


@pytest.mark.parametrize("word", ["on", "no", "yes", "null", "1.5", "~"])
def test_a_new_string_yaml_1_1_would_misread_is_quoted(word: str) -> None:
    document = Document("a: 1\n")
    document.start()
    set_string(document.data, "k", word)
    assert document.result() == f"a: 1\nk: '{word}'\n"


def test_lines_ruamel_would_tidy_are_kept() -> None:
    text = (
        "items:   # spaced\n"
        "  - name:    a\n"
        "    note: a plain scalar\n      over two lines\n"
        "    tags: [\n      x,\n      y,\n    ]\n"
        "  - name: b\n"
    )
    document = Document(text)
    document.start()
    set_string(document.data["items"][1], "name", "c")
    assert document.result() == text.replace("name: b", "name: c")


def test_carry_over_takes_the_dump_when_the_change_meets_a_tidied_line() -> None:
    assert carry_over("a: 1\n", "a: 1\n", "a: 2\n") == "a: 2\n"
    assert carry_over("a:   1\nb: 2\n", "a: 1\nb: 2\n", "a: 1\nb: 3\n") == "a:   1\nb: 3\n"
    assert carry_over("a:   1\nb: 2\n", "a: 1\nb: 2\n", "a: 9\nb: 2\n") == "a: 9\nb: 2\n"


def test_carry_over_falls_back_to_the_dump_when_the_meaning_would_differ() -> None:
    # an original that does not align with its dump at all: the dump is the answer
    assert carry_over("{a: 1}\n", "a: 1\n", "a: 2\n") == "a: 2\n"


@pytest.mark.parametrize(
    "text", [pytest.param("a: [\n", id="malformed"), pytest.param("- a\n", id="a-list")]
)
def test_text_that_is_not_an_editable_mapping_is_an_edit_error(text: str) -> None:
    with pytest.raises(EditError, match="the registry"):
        Document(text, "the registry")
