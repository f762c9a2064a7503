"""The `routeshift` command (also `python -m routeshift`). Thin: it loads, calls the
pure functions and sets the exit code (0 ok, 1 a check failed, 2 bad input or usage).

One module per command (or family of commands); each defines plain click commands and
imports only routeshift.cli.common of this package. `main` imports a command's module
only when that command runs (click's lazy group pattern), so `routeshift routes` does
not pay for the store or the contract machinery of the commands it does not run.
"""

from __future__ import annotations

import atexit
import gc
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
#: commands that read and report, then exit: no cyclic garbage collection while they run
#: (once a large app is imported, each full collection walks its hundreds of thousands of
#: objects, 0.1-0.3 s each at 5,000 routes, and they build no cycles worth collecting)
SHORT_LIVED = frozenset({"check", "diffs", "routes", "status"})


class _LazyGroup(click.Group):
    """A group whose commands are imported when asked for (by name, or for --help)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMANDS, *super().list_commands(ctx)})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = COMMANDS.get(cmd_name)
        if module is None:
            return super().get_command(ctx, cmd_name)
        if cmd_name in SHORT_LIVED:
            _pause_gc(ctx)
        command: Any = getattr(importlib.import_module(module), cmd_name.replace("-", "_"))
        assert isinstance(command, click.Command) and command.name == cmd_name
        return command


def _pause_gc(ctx: click.Context) -> None:
    """No cyclic collection until the command's context closes (a command run in a
    test process gets it back after); at exit, the objects still alive are frozen, so
    the interpreter's last collection does not walk the apps' objects either."""
    if not gc.isenabled():
        return
    gc.disable()
    ctx.call_on_close(gc.enable)
    atexit.unregister(gc.freeze)  # once, however many commands a test process runs
    atexit.register(gc.freeze)


@click.group(cls=_LazyGroup)
@click.version_option(package_name="routeshift")
def main() -> None:
    """Move a Flask app to FastAPI one route at a time."""
