"""Find a project's Flask app the way the `flask` command does, for `routeshift init`.

The candidates, in Flask's order: the import string given (`--legacy`), else FLASK_APP,
else `wsgi.py`, then `app.py` in the project's folder. Each is resolved with Flask's own
machinery (`flask.cli.prepare_import`, `find_best_app`: an `app` or `application`, the
one Flask instance of the module, or a `create_app` / `make_app` factory), and the result
is an import string the registry can name (`module:attr` or `module:create_app()`),
loaded once more through routeshift's importer to be sure the gateway can load it.
"""

from __future__ import annotations

import inspect
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from routeshift.apps.importer import import_module, load_app
from routeshift.errors import AppImportError

__all__ = ["ENV_FLASK_APP", "FoundApp", "find_flask_app"]

ENV_FLASK_APP = "FLASK_APP"
#: the files the `flask` command tries when FLASK_APP is not set, in its order
DEFAULT_FILES = ("wsgi.py", "app.py")
_FACTORIES = ("create_app", "make_app")
#: the colon of "module:app", not of a Windows drive ("C:\\app.py")
_IMPORT_COLON = re.compile(r":(?![\\/])")


@dataclass(frozen=True, slots=True)
class FoundApp:
    """A Flask app found in a project: its import string, the app, and how it was found."""

    import_string: str
    app: Any
    how: str  # "--legacy", "FLASK_APP", "wsgi.py" or "app.py"

    def __repr__(self) -> str:
        return f"FoundApp({self.import_string!r}, from {self.how})"


def find_flask_app(
    folder: Path, explicit: str | None = None, environ: Mapping[str, str] = os.environ
) -> FoundApp:
    """The project's Flask app; AppImportError says where it looked, or where the
    import failed (file:line)."""
    if explicit:
        return _resolve(folder, explicit, "--legacy")
    from_env = environ.get(ENV_FLASK_APP, "").strip()
    if from_env:
        return _resolve(folder, from_env, ENV_FLASK_APP)
    for name in DEFAULT_FILES:
        if (folder / name).is_file():
            return _resolve(folder, name, name)
    raise AppImportError(
        f"no Flask app found: {ENV_FLASK_APP} is not set, and {folder} has neither "
        f"{' nor '.join(DEFAULT_FILES)} (where the `flask` command looks). Run from the "
        "project's folder, set FLASK_APP, or name the app: "
        "`routeshift init --legacy 'package.module:app'` (or 'package:create_app()')."
    )


def _resolve(folder: Path, given: str, how: str) -> FoundApp:
    import flask.cli

    what = f"the Flask app from {how} ({given!r})"
    path, name = [*_IMPORT_COLON.split(given, maxsplit=1), ""][:2]
    target = Path(path) if Path(path).is_absolute() else folder / path
    if path.endswith(".py") and not target.is_file():
        raise AppImportError(f"{what}: {target} does not exist.")
    # a file or a module name, as FLASK_APP allows: Flask's own reading of it
    module_name = flask.cli.prepare_import(str(target))
    if name:
        import_string = f"{module_name}:{name}"
    else:
        module = import_module(module_name, what, search_dirs=(folder,))
        try:
            app = flask.cli.find_best_app(module)
        except flask.cli.NoAppException as exc:
            raise AppImportError(f"{what}: {exc}") from None
        import_string = f"{module_name}:{_name_of(module, app)}"
    app = load_app(import_string, search_dirs=(folder,), what=what)
    if not hasattr(app, "url_map"):
        raise AppImportError(f"{what}: {import_string!r} is a {type(app).__name__}, not Flask.")
    return FoundApp(import_string, app, how)


def _name_of(module: Any, app: Any) -> str:
    """How the registry names `app` of `module`: its attribute, else the factory call."""
    attributes: dict[str, Any] = vars(module)
    for attr, value in attributes.items():
        if value is app and not attr.startswith("_"):
            return attr
    for factory in _FACTORIES:
        if inspect.isfunction(getattr(module, factory, None)):
            return f"{factory}()"
    raise AppImportError(f"cannot tell how module {module.__name__!r} gives its Flask app.")
