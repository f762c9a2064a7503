"""routeshift.apps.importer: "module:attr" and "module:factory()" import strings, their errors."""

from __future__ import annotations

import importlib
import sys
import textwrap
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from routeshift.apps.importer import load_app
from routeshift.errors import AppImportError

SOURCE = """\
class Config:
    class Inner:
        app = "inner-app"
    app = "config-app"


app = "the-app"
application = "the-application"
not_callable = 42


def create_app(name="default", *, debug=False):
    return ("created", name, debug)


def broken_factory():
    raise ValueError("no database configured")
"""


@pytest.fixture(autouse=True)
def clean_imports(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """load_app puts search_dirs on sys.path and imports modules: undo both."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    before = set(sys.modules)
    yield
    for name in set(sys.modules) - before:
        if name.startswith(("mod_", "pkg_")):
            del sys.modules[name]


@pytest.fixture
def module(tmp_path: Path) -> Callable[[str], str]:
    """module(source) writes a module with a unique name into tmp_path; returns the name."""

    def write(source: str) -> str:
        name = f"mod_{uuid.uuid4().hex}"
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(source), encoding="utf-8")
        importlib.invalidate_caches()
        return name

    return write


def load(tmp_path: Path, import_string: str) -> object:
    return load_app(import_string, search_dirs=(tmp_path,))


def error(tmp_path: Path, import_string: str, what: str = "app") -> str:
    with pytest.raises(AppImportError) as info:
        load_app(import_string, search_dirs=(tmp_path,), what=what)
    return str(info.value)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        pytest.param("app", "the-app", id="attribute"),
        pytest.param("application", "the-application", id="another-attribute"),
        pytest.param("Config.app", "config-app", id="dotted"),
        pytest.param("Config.Inner.app", "inner-app", id="dotted-twice"),
        pytest.param("create_app()", ("created", "default", False), id="factory"),
        pytest.param(" create_app() ", ("created", "default", False), id="spaces"),
        pytest.param(
            "create_app('x', debug=True)", ("created", "x", True), id="factory-literal-args"
        ),
        pytest.param('create_app(name="prod")', ("created", "prod", False), id="factory-keyword"),
        pytest.param(
            "create_app(['a', 1])", ("created", ["a", 1], False), id="factory-list-literal"
        ),
    ],
)
def test_load_app(
    tmp_path: Path, module: Callable[[str], str], expression: str, expected: object
) -> None:
    name = module(SOURCE)
    assert load(tmp_path, f"{name}:{expression}") == expected


def test_load_app_from_a_package(tmp_path: Path) -> None:
    package = f"pkg_{uuid.uuid4().hex}"
    (tmp_path / package).mkdir()
    (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / package / "web.py").write_text("app = 'packaged'\n")
    assert load(tmp_path, f"{package}.web:app") == "packaged"


def test_search_dirs_go_first_on_sys_path(tmp_path: Path, module: Callable[[str], str]) -> None:
    name = module(SOURCE)
    load(tmp_path, f"{name}:app")
    assert sys.path[0] == str(tmp_path.resolve())
    load(tmp_path, f"{name}:app")
    assert sys.path.count(str(tmp_path.resolve())) == 1


@pytest.mark.parametrize(
    "import_string",
    [
        pytest.param("module.app", id="no-colon"),
        pytest.param("module:", id="nothing-after-colon"),
        pytest.param(":app", id="nothing-before-colon"),
        pytest.param("", id="empty"),
    ],
)
def test_not_an_import_string(tmp_path: Path, import_string: str) -> None:
    message = error(tmp_path, import_string, what="legacy_app in migration_status.yaml:2")
    assert message.startswith("legacy_app in migration_status.yaml:2: ")
    assert f"{import_string!r} is not an import string" in message
    assert '"package.module:attribute"' in message
    assert '"package.module:factory()"' in message


@pytest.mark.parametrize(
    "arguments",
    [
        pytest.param("create_app(name)", id="a-name"),
        pytest.param("create_app(os.environ['X'])", id="an-expression"),
        pytest.param("create_app(debug=not_callable)", id="keyword-from-a-name"),
        pytest.param("create_app(*['x'])", id="star-args"),
        pytest.param("create_app(**{'debug': True})", id="star-star-kwargs"),
        pytest.param("create_app({[]: 1})", id="unhashable-literal"),
    ],
)
def test_factory_arguments_must_be_literals(
    tmp_path: Path, module: Callable[[str], str], arguments: str
) -> None:
    name = module(SOURCE)
    message = error(tmp_path, f"{name}:{arguments}")
    assert f"the arguments of {arguments!r} must be literals" in message


def test_missing_module_says_what_to_do(tmp_path: Path) -> None:
    name = f"absent_{uuid.uuid4().hex}"
    message = error(tmp_path, f"{name}:app", what="legacy_app")
    assert message.startswith(f"legacy_app: cannot import module {name!r}")
    assert f"No module named {name!r}" in message
    assert "Run from the project's folder" in message
    assert "install the app's package" in message


def test_missing_submodule_of_a_package(tmp_path: Path) -> None:
    package = f"pkg_{uuid.uuid4().hex}"
    (tmp_path / package).mkdir()
    (tmp_path / package / "__init__.py").write_text("")
    message = error(tmp_path, f"{package}.absent:app")
    assert f"cannot import module '{package}.absent'" in message


@pytest.mark.parametrize(
    ("source", "line", "exception"),
    [
        pytest.param(
            "import os\n\nraise RuntimeError('no SECRET_KEY')\n",
            3,
            "RuntimeError: no SECRET_KEY",
            id="raises",
        ),
        pytest.param(
            "x = 1\nimport dependency_that_is_not_installed_xyz\n",
            2,
            "ModuleNotFoundError: No module named 'dependency_that_is_not_installed_xyz'",
            id="missing-dependency",
        ),
        pytest.param(
            "x = 1\n\ndef broken(:\n    pass\n",
            3,
            "SyntaxError: invalid syntax",
            id="syntax-error",
        ),
    ],
)
def test_a_module_that_fails_on_import(
    tmp_path: Path, module: Callable[[str], str], source: str, line: int, exception: str
) -> None:
    name = module(source)
    message = error(tmp_path, f"{name}:app")
    assert f"importing {name!r} raised {exception}" in message
    assert f"at {tmp_path / name}.py:{line}." in message
    assert f"python -c 'import {name}'" in message


def test_a_missing_dependency_whose_name_prefixes_the_module(tmp_path: Path) -> None:
    # the app module "mod_<hex>" imports "mod_<hex[:8]>", which does not exist: that is
    # the app failing on import, not the app's module missing
    name = f"mod_{uuid.uuid4().hex}"
    dependency = name[:12]
    (tmp_path / f"{name}.py").write_text(f"import {dependency}\n")
    message = error(tmp_path, f"{name}:app")
    assert f"importing {name!r} raised ModuleNotFoundError" in message
    assert f"at {tmp_path / name}.py:1." in message
    assert "cannot import module" not in message


@pytest.mark.parametrize(
    ("expression", "words"),
    [
        pytest.param("ap", ["{name!r} has no attribute 'ap'.", "Did you mean 'app'?"], id="typo"),
        pytest.param(
            "create_ap()",
            ["has no attribute 'create_ap'.", "Did you mean 'create_app'?"],
            id="factory-typo",
        ),
        pytest.param(
            "Config.ap",
            ["'{name}:Config' has no attribute 'ap'.", "Did you mean 'app'?"],
            id="dotted-typo",
        ),
        pytest.param("zzzzzz", ["has no attribute 'zzzzzz'."], id="no-near-name"),
    ],
)
def test_missing_attribute(
    tmp_path: Path, module: Callable[[str], str], expression: str, words: list[str]
) -> None:
    name = module(SOURCE)
    message = error(tmp_path, f"{name}:{expression}")
    for word in words:
        assert word.format(name=name) in message
    if expression == "zzzzzz":
        assert "Did you mean" not in message


def test_did_you_mean_ignores_private_names(tmp_path: Path, module: Callable[[str], str]) -> None:
    name = module("_app = 1\nother = 2\n")
    message = error(tmp_path, f"{name}:app")
    assert "Did you mean" not in message


@pytest.mark.parametrize(
    "expression",
    [
        pytest.param("app[0]", id="subscript"),
        pytest.param("'app'", id="string"),
        pytest.param("create_app()()", id="call-of-a-call"),
    ],
)
def test_not_an_attribute_name(
    tmp_path: Path, module: Callable[[str], str], expression: str
) -> None:
    name = module(SOURCE)
    assert "expected an attribute name after the colon" in error(tmp_path, f"{name}:{expression}")


def test_not_python_after_the_colon(tmp_path: Path, module: Callable[[str], str]) -> None:
    name = module(SOURCE)
    message = error(tmp_path, f"{name}:create_app(")
    assert "'create_app(' is not an attribute name or a factory call" in message


def test_calling_a_non_callable(tmp_path: Path, module: Callable[[str], str]) -> None:
    name = module(SOURCE)
    message = error(tmp_path, f"{name}:not_callable()")
    assert "'not_callable()' calls something that is not callable" in message


def test_a_factory_that_raises(tmp_path: Path, module: Callable[[str], str]) -> None:
    name = module(SOURCE)
    with pytest.raises(AppImportError) as info:
        load_app(f"{name}:broken_factory()", search_dirs=(tmp_path,))
    assert str(info.value) == (
        f"app: calling {name}:broken_factory() raised ValueError: no database configured"
    )
    assert isinstance(info.value.__cause__, ValueError)


def test_a_factory_called_with_wrong_arguments(
    tmp_path: Path, module: Callable[[str], str]
) -> None:
    name = module(SOURCE)
    message = error(tmp_path, f"{name}:create_app(1, 2, 3)")
    assert f"calling {name}:create_app(1, 2, 3) raised TypeError" in message
