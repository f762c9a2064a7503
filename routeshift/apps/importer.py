"""Load the apps the registry names: "package.module:attribute" or "module:factory()".

The import string follows uvicorn's and Flask's forms: the part after the colon is an
attribute path (`app`, `apps.legacy`) or a call of a factory with literal arguments
(`create_app()`, `create_app("production")`). Modules are looked up from the registry's
folder and the working directory, so a registry beside the project finds its apps.
"""

from __future__ import annotations

import ast
import importlib
import sys
import traceback
from pathlib import Path
from typing import Any

from routeshift.errors import AppImportError, did_you_mean

__all__ = ["add_to_path", "import_module", "load_app"]


def load_app(import_string: str, *, search_dirs: tuple[Path, ...] = (), what: str = "app") -> Any:
    """Import and return the object `import_string` names.

    `what` names the setting in messages ("legacy_app in migration_status.yaml:2").
    """
    module_name, sep, expression = import_string.partition(":")
    if not sep or not module_name or not expression:
        raise AppImportError(
            f"{what}: {import_string!r} is not an import string. "
            'Write "package.module:attribute" or "package.module:factory()".'
        )
    add_to_path(search_dirs)
    module = _import_module(module_name, what)
    return _evaluate(module, module_name, expression, what)


def add_to_path(folders: tuple[Path, ...]) -> None:
    """Put `folders` first on sys.path (the first of them first), once each."""
    for folder in reversed(folders):
        entry = str(folder.resolve())
        if entry not in sys.path:
            sys.path.insert(0, entry)


def import_module(module_name: str, what: str, *, search_dirs: tuple[Path, ...] = ()) -> Any:
    """Import `module_name` from `search_dirs` first; AppImportError says what failed,
    and where (file:line) when the module raised."""
    add_to_path(search_dirs)
    return _import_module(module_name, what)


def _import_module(module_name: str, what: str) -> Any:
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and (module_name + ".").startswith(exc.name + "."):
            raise AppImportError(
                f"{what}: cannot import module {module_name!r} ({exc}). Run from the project's "
                "folder, put the registry beside the app, or install the app's package."
            ) from exc
        raise AppImportError(_raised_while_importing(module_name, what, exc)) from exc
    except Exception as exc:
        raise AppImportError(_raised_while_importing(module_name, what, exc)) from exc


def _raised_while_importing(module_name: str, what: str, exc: BaseException) -> str:
    last = traceback.extract_tb(exc.__traceback__)[-1:]
    where = f" at {last[0].filename}:{last[0].lineno}" if last else ""
    if isinstance(exc, SyntaxError) and exc.filename:  # raised by the compiler, not the app
        where = f" at {exc.filename}:{exc.lineno}"
    return (
        f"{what}: importing {module_name!r} raised {type(exc).__name__}: {exc}{where}. "
        "Fix the app so that it imports on its own (python -c 'import "
        f"{module_name}')."
    )


def _evaluate(module: Any, module_name: str, expression: str, what: str) -> Any:
    try:
        node = ast.parse(expression.strip(), mode="eval").body
    except SyntaxError as exc:
        raise AppImportError(
            f"{what}: {expression!r} is not an attribute name or a factory call."
        ) from exc
    if isinstance(node, ast.Call):
        factory = _attribute(module, module_name, node.func, what)
        try:
            args = [ast.literal_eval(arg) for arg in node.args]
            if any(kw.arg is None for kw in node.keywords):
                raise ValueError("**mapping is not a literal argument")
            kwargs = {kw.arg: ast.literal_eval(kw.value) for kw in node.keywords if kw.arg}
        except (ValueError, TypeError) as exc:
            raise AppImportError(
                f"{what}: the arguments of {expression!r} must be literals (strings, numbers)."
            ) from exc
        if not callable(factory):
            raise AppImportError(f"{what}: {expression!r} calls something that is not callable.")
        try:
            return factory(*args, **kwargs)
        except Exception as exc:
            raise AppImportError(
                f"{what}: calling {module_name}:{expression} raised {type(exc).__name__}: {exc}"
            ) from exc
    return _attribute(module, module_name, node, what)


def _attribute(module: Any, module_name: str, node: ast.expr, what: str) -> Any:
    names: list[str] = []
    while isinstance(node, ast.Attribute):
        names.insert(0, node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        raise AppImportError(f"{what}: expected an attribute name after the colon.")
    names.insert(0, node.id)
    target: Any = module
    path = module_name
    for name in names:
        if not hasattr(target, name):
            public = [n for n in dir(target) if not n.startswith("_")]
            raise AppImportError(
                f"{what}: {path!r} has no attribute {name!r}.{did_you_mean(name, public)}"
            )
        target = getattr(target, name)
        path = f"{path}:{name}" if path == module_name else f"{path}.{name}"
    return target
