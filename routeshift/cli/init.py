"""`routeshift init`: start the migration of a project's Flask app.

Finds the Flask app as the `flask` command does (or takes --legacy), then writes the
registry with every route `legacy`, the gateway, an empty FastAPI app when --modern names
none, and the contract tests' conftest.py; checks the result as the gateway would load it
and prints the next commands. Never replaces a file that differs without --force.
"""

from __future__ import annotations

import dataclasses
import sys
from typing import NoReturn

import click

from routeshift.apps.discover import find_flask_app
from routeshift.apps.pair import check_apps, load_apps
from routeshift.cli.common import registry_option
from routeshift.errors import RouteshiftError, display_path
from routeshift.registry.load import load_registry, registry_path
from routeshift.routes import legacy_routes
from routeshift.scaffold.plan import OutputFile
from routeshift.scaffold.project import DEFAULT_MODERN, Outcome, plan_init, write_init

__all__ = ["init"]

NEXT_STEPS = (
    ("uvicorn gateway:app", "serve every route through the gateway (all legacy for now)"),
    ("routeshift status", "where the migration stands"),
    ("$EDITOR {conftest}", "give both sides the same starting state (a test database)"),
    ("routeshift scaffold ENDPOINT", "a start for the port of one route (sent through it)"),
)


@click.command()
@registry_option
@click.option(
    "--legacy",
    metavar="MODULE:APP",
    help="The Flask app, e.g. 'myapp:app' or 'myapp:create_app()' "
    "(default: FLASK_APP, else wsgi.py or app.py, as the flask command finds it).",
)
@click.option(
    "--modern",
    metavar="MODULE:APP",
    help="An existing FastAPI app (default: write an empty one in modern_api/).",
)
@click.option("--force", is_flag=True, help="Replace files that exist with other text.")
def init(registry_option: str | None, legacy: str | None, modern: str | None, force: bool) -> None:
    """Start a migration: the registry (every route legacy), gateway.py, a FastAPI app and
    tests/contracts/conftest.py. Running it again changes nothing."""
    path = registry_path(registry_option)
    folder = path.parent
    try:
        again = legacy is None and path.is_file()
        if again:  # init once more: the registry names the apps
            existing = load_registry(path)
            legacy = existing.model.legacy_app
            modern = modern or existing.model.modern_app
        found = find_flask_app(folder.resolve(), legacy)
    except RouteshiftError as exc:
        _fail(str(exc))
    if again:
        found = dataclasses.replace(found, how=display_path(path))
    if modern == DEFAULT_MODERN:
        modern = None  # the app init writes: planned again, so a second run is unchanged
    routes = legacy_routes(found.app)
    files = plan_init(folder, found.import_string, modern, routes)
    if files[0].path != path:  # --registry names another file than the default
        files[0] = OutputFile(path, files[0].text, files[0].what)
    try:
        done = write_init(files, force=force)
    except OSError as exc:
        _fail(f"cannot write {exc.filename}: {exc.strerror}.")
    counted = sum(1 for line in files[0].text.splitlines() if line.startswith("  - endpoint:"))
    click.echo(
        f"routeshift init: the legacy app is {found.import_string} (found by {found.how}); "
        f"{counted} routes."
    )
    width = max(len(display_path(item.path)) for item, _ in done)
    for item, outcome in done:
        note = ""
        if outcome is Outcome.KEPT:
            note = (
                " (kept: `routeshift sync` adds the routes the app gained; --force starts "
                "it over, every route legacy)"
                if item is files[0]
                else " (kept: --force replaces it)"
            )
        click.echo(f"  {outcome.value:<9} {display_path(item.path):<{width}}  {item.what}{note}")
    try:  # the result as the gateway will load it
        registry = load_registry(path)
        check_apps(registry, load_apps(registry))
    except RouteshiftError as exc:
        _fail(f"{exc}\nThe files are written; fix the above, then run `routeshift check`.")
    conftest = display_path(files[-1].path)
    steps = [(command.format(conftest=conftest), why) for command, why in NEXT_STEPS]
    width = max(len(command) for command, _ in steps)
    click.echo("\nnext:")
    for command, why in steps:
        click.echo(f"  {command:<{width}}  {why}")


def _fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(2)
