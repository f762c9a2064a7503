"""The files `routeshift init` writes into a project: the registry, the gateway's
composition root, an empty FastAPI app when none is named, and the contract tests'
conftest.py with the state hook to fill in.

Rendering is pure (`plan_init` returns the files); `write_init` is the edge, and it never
replaces a file that differs unless forced, so running init twice changes nothing.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from pathlib import Path

from routeshift._asgi import IMPLICIT_METHODS
from routeshift.registry.load import DEFAULT_PATH
from routeshift.routes import LegacyRoute
from routeshift.scaffold.plan import OutputFile
from routeshift.scaffold.render import yaml_scalar

__all__ = [
    "DEFAULT_MODERN",
    "Outcome",
    "plan_init",
    "render_conftest",
    "render_gateway",
    "render_modern_app",
    "render_registry",
    "write_init",
]

#: the FastAPI app init writes when none is named
DEFAULT_MODERN = "modern_api:app"
#: a method's order in an entry, as `routeshift sync` writes them
_METHOD_ORDER = ("GET", "POST", "PUT", "PATCH", "DELETE")
#: FastAPI's own paths, and the keyword that turns each off
_DOCS_PATHS = {"/docs": "docs_url", "/redoc": "redoc_url", "/openapi.json": "openapi_url"}

REGISTRY_HEADER = """\
# routeshift registry: which route of the legacy app is served by which side.
#
# state: legacy (Flask serves it) | shadow (Flask serves it; each request is also run
# on FastAPI and the answers compared: `routeshift diffs`) | canary (percent: a share
# of the users goes to FastAPI) | modern (FastAPI serves it).
# Rollback of a route: set its state back to legacy and save; the running gateway
# picks the change up within a second, no restart and no deploy.
# `routeshift sync` adds the routes the app gains; `routeshift status` shows progress.
"""


class Outcome(enum.StrEnum):
    """What init did with one file."""

    WRITTEN = "written"
    UNCHANGED = "unchanged"  # there already, with this very text
    KEPT = "kept"  # there already, with other text: --force replaces it
    REPLACED = "replaced"


def render_registry(legacy_app: str, modern_app: str, routes: Iterable[LegacyRoute]) -> str:
    """Every route of the legacy app as `legacy`, grouped by blueprint in url_map order."""
    groups: dict[str, list[tuple[str, str, list[str]]]] = {}
    seen: dict[tuple[str, str], list[str]] = {}
    for route in routes:
        methods = [m for m in route.methods if m not in IMPLICIT_METHODS]
        if not route.is_counted or not methods:
            continue
        key = (route.endpoint, route.rule)
        if key not in seen:
            seen[key] = []
            groups.setdefault(route.endpoint.rpartition(".")[0], []).append(
                (route.endpoint, route.rule, seen[key])
            )
        seen[key].extend(m for m in methods if m not in seen[key])
    lines = [REGISTRY_HEADER.rstrip("\n"), f"legacy_app: {yaml_scalar(legacy_app)}"]
    lines.append(f"modern_app: {yaml_scalar(modern_app)}")
    lines.append("")
    if not groups:
        lines.append("routes: []")
    else:
        lines.append("routes:")
    for blueprint, entries in groups.items():
        title = f"blueprint {blueprint}" if blueprint else "the app's own routes"
        lines.append(f"  # --- {title} " + "-" * max(3, 77 - len(title)))
        for endpoint, rule, methods in entries:
            ordered = sorted(methods, key=_method_position)
            lines += [
                f"  - endpoint: {yaml_scalar(endpoint)}",
                f"    rule: {yaml_scalar(rule)}",
                f"    methods: [{', '.join(ordered)}]",
                "    state: legacy",
            ]
    return "\n".join(lines) + "\n"


def render_gateway() -> str:
    return '''\
"""Composition root: `uvicorn gateway:app` serves every route of the legacy app from
Flask or from its FastAPI port, as migration_status.yaml says (MIGRATION_STATUS names
another registry)."""

from routeshift import app_from_environment

app = app_from_environment()
'''


def render_modern_app(legacy_routes: Sequence[LegacyRoute]) -> str:
    """An empty FastAPI app; its docs move aside where the legacy app has those paths."""
    taken = {r.rule for r in legacy_routes}
    off = [f"{keyword}=None" for path, keyword in _DOCS_PATHS.items() if path in taken]
    note = ""
    if off:
        note = (
            "\n# The legacy app has routes at FastAPI's docs paths, so they are off here;\n"
            "# give them other paths (docs_url=..., openapi_url=...) to have them.\n"
        )
    arguments = ", ".join(['title="modern"', *off])
    return f'''\
"""The FastAPI side of the migration. Ported routes go here: `routeshift scaffold
ENDPOINT` writes a start for one, at the rule's path and with its parameter names."""

from fastapi import FastAPI
{note}
app = FastAPI({arguments})
'''


def render_conftest() -> str:
    return '''\
"""Contract tests: routeshift's pytest plugin collects the case files of this folder
(<endpoint>.yaml, one request per case) and sends each request to the legacy app and
to its port, in process, comparing what a client would see.

Both sides must start each request from the same state. Fill in `routeshift_state`: it
is called around every request with the side ("legacy" or "modern") and returns a
context manager; e.g. point both apps at a fresh copy of a seeded test database.
"""

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from routeshift import StateHook


@pytest.fixture
def routeshift_state() -> StateHook:
    @contextmanager
    def state(side: str) -> Iterator[None]:
        # set up the starting state of `side` here (a database copy, fixtures, a login)
        yield

    return state
'''


def plan_init(
    folder: Path,
    legacy_app: str,
    modern_app: str | None,
    legacy_routes: Sequence[LegacyRoute],
    contracts_dir: str = "tests/contracts",
) -> list[OutputFile]:
    """The files of a new migration in `folder` (a FastAPI app only when none is named)."""
    modern = modern_app or DEFAULT_MODERN
    files = [
        OutputFile(
            folder / DEFAULT_PATH,
            render_registry(legacy_app, modern, legacy_routes),
            "the registry",
        ),
        OutputFile(folder / "gateway.py", render_gateway(), "the gateway"),
    ]
    if modern_app is None:
        package = DEFAULT_MODERN.partition(":")[0]
        files.append(
            OutputFile(
                folder / package / "__init__.py",
                render_modern_app(legacy_routes),
                "the FastAPI app",
            )
        )
    files.append(
        OutputFile(folder / contracts_dir / "conftest.py", render_conftest(), "the state hook")
    )
    return files


def write_init(files: Sequence[OutputFile], *, force: bool) -> list[tuple[OutputFile, Outcome]]:
    """Write each file that is missing (or differs, with `force`); never another."""
    done: list[tuple[OutputFile, Outcome]] = []
    for item in files:
        if item.path.is_file():
            if item.path.read_text(encoding="utf-8") == item.text:
                done.append((item, Outcome.UNCHANGED))
                continue
            if not force:
                done.append((item, Outcome.KEPT))
                continue
            outcome = Outcome.REPLACED
        else:
            outcome = Outcome.WRITTEN
        item.path.parent.mkdir(parents=True, exist_ok=True)
        item.path.write_text(item.text, encoding="utf-8")
        done.append((item, outcome))
    return done


def _method_position(method: str) -> int:
    return _METHOD_ORDER.index(method) if method in _METHOD_ORDER else len(_METHOD_ORDER)
