"""The `routeshift` command (also `python -m routeshift`). Thin: it loads, calls the
pure functions and sets the exit code (0 ok, 1 a check failed, 2 bad input or usage).

One module per command (or family of commands); each defines plain click commands and
imports only routeshift.cli.common of this package. `main` imports a command's module
only when that command runs (click's lazy group pattern), so `routeshift routes` does
not pay for the store or the contract machinery of the commands it does not run.
"""

from __future__ import annotations

import importlib
from typing import Any

import click

__all__ = ["COMMANDS", "main"]

#: command name -> the module that defines it (its attribute of the same name, `-` as `_`)
COMMANDS = {
    "check": "routeshift.cli.check",
    "contract": "routeshift.cli.contract",
    "diffs": "routeshift.cli.diffs",
    "init": "routeshift.cli.init",
    "promote": "routeshift.cli.edit",
    "rollback": "routeshift.cli.edit",
    "routes": "routeshift.cli.routes",
    "scaffold": "routeshift.cli.scaffold",
    "status": "routeshift.cli.status",
    "sync": "routeshift.cli.edit",
}


class _LazyGroup(click.Group):
    """A group whose commands are imported when asked for (by name, or for --help)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMANDS, *super().list_commands(ctx)})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = COMMANDS.get(cmd_name)
        if module is None:
            return super().get_command(ctx, cmd_name)
        command: Any = getattr(importlib.import_module(module), cmd_name.replace("-", "_"))
        assert isinstance(command, click.Command) and command.name == cmd_name
        return command


@click.group(cls=_LazyGroup)
@click.version_option(package_name="routeshift")
def main() -> None:
    """Move a Flask app to FastAPI one route at a time."""
