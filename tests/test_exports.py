"""routeshift's public surface: the names `import routeshift` gives, loaded lazily, and one
import path per name across the package (httpx's tests/test_exported_members.py)."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import routeshift

PACKAGE = Path(routeshift.__file__).parent

EXPORTED = [
    "AppImportError",
    "Case",
    "CaseFileError",
    "CompareError",
    "ContractMismatch",
    "EditError",
    "FileError",
    "Gateway",
    "GenerateError",
    "Harness",
    "LifespanError",
    "MetricsError",
    "Registry",
    "RegistryError",
    "RouteshiftError",
    "ScaffoldError",
    "ScaffoldExists",
    "StateHook",
    "StoreError",
    "__version__",
    "app_from_environment",
    "build_gateway",
    "case",
    "generated_test",
    "load_registry",
]


#: packages whose names are loaded on first use from the module that defines each
LAZY_PACKAGES = ("routeshift", "routeshift.compat")


def modules() -> list[str]:
    names = ["routeshift"]
    for info in pkgutil.walk_packages([str(PACKAGE)], prefix="routeshift."):
        names.append(info.name)
    return sorted(names)


def test_the_exported_names() -> None:
    assert routeshift.__all__ == EXPORTED
    assert sorted(dir(routeshift)) == sorted({*dir(routeshift), *EXPORTED})


@pytest.mark.parametrize("name", [n for n in EXPORTED if n != "__version__"])
def test_each_exported_name_is_the_one_of_its_module(name: str) -> None:
    value = getattr(routeshift, name)
    home = importlib.import_module(routeshift._EXPORTS[name])
    assert getattr(home, name) is value
    assert name in home.__all__
    if isinstance(value, type) or callable(value) and hasattr(value, "__code__"):
        assert value.__module__ == home.__name__


def test_compat_gives_each_name_of_the_module_that_defines_it() -> None:
    import routeshift.compat as compat

    assert sorted(compat.__all__) == sorted(compat._EXPORTS)
    for name, home_name in compat._EXPORTS.items():
        home = importlib.import_module(home_name)
        assert getattr(compat, name) is getattr(home, name)
        assert name in home.__all__


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'Gatway'"):
        routeshift.Gatway  # noqa: B018


def _top_level_names(tree: ast.Module) -> tuple[set[str], set[str]]:
    """(names defined in the module, names imported from other routeshift modules)"""
    defined: set[str] = set()
    imported: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            defined.add(node.name)
        elif isinstance(node, ast.Assign):
            defined.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            defined.add(node.target.id)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("routeshift"):
            imported.update(a.asname or a.name for a in node.names)
    return defined, imported


@pytest.mark.parametrize("module", modules())
def test_every_module_says_what_it_exports_and_defines_it(module: str) -> None:
    """`__all__` in every module, and only names the module defines: one import path
    per name (the lazy names of the root and of routeshift.compat are the exception,
    tested apart)."""
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin is not None
    tree = ast.parse(Path(spec.origin).read_text(encoding="utf-8"))
    defined, imported = _top_level_names(tree)
    assert "__all__" in defined, f"{module} has no __all__"
    if module in LAZY_PACKAGES:
        return
    exported = ast.literal_eval(
        next(
            n.value
            for n in tree.body
            if isinstance(n, ast.Assign | ast.AnnAssign)
            and "__all__" in ast.unparse(n.targets[0] if isinstance(n, ast.Assign) else n.target)
            and n.value is not None
        )
    )
    re_exported = sorted(set(exported) & imported)
    assert re_exported == [], f"{module} re-exports {re_exported}"
    assert set(exported) <= defined, sorted(set(exported) - defined)


def test_import_routeshift_imports_no_app_framework() -> None:
    code = (
        "import sys, routeshift\n"
        "heavy = {'fastapi', 'flask', 'sqlalchemy', 'httpx', 'uvicorn', 'hypothesis'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    found = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert found.stdout.strip() == "[]"


def test_what_one_module_takes_from_another_is_in_its_all() -> None:
    """No module reaches into another's private names: every routeshift name imported
    across the package (and by the tests, bench and the example) is in its __all__."""
    repo = PACKAGE.parent
    missing: list[str] = []
    files = [
        *PACKAGE.rglob("*.py"),
        *(repo / "tests").rglob("*.py"),
        *(repo / "bench").glob("*.py"),
    ]
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ImportFrom) or node.level or node.module == "routeshift":
                continue
            if not (node.module or "").startswith("routeshift."):
                continue
            module = importlib.import_module(node.module)
            exported = getattr(module, "__all__", [])
            for alias in node.names:
                is_module = hasattr(module, "__path__") and (
                    importlib.util.find_spec(f"{node.module}.{alias.name}") is not None
                )
                if alias.name not in exported and not is_module:
                    missing.append(f"{path.relative_to(repo)}: {node.module}.{alias.name}")
    assert missing == []
