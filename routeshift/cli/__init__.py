"""The `routeshift` command (also `python -m routeshift`). Thin: it loads, calls the
pure functions and sets the exit code (0 ok, 1 a check failed, 2 bad input or usage).

One module per command (or family of commands); each defines plain click commands and
imports only routeshift.cli.common of this package, and `main` adds them here.
"""

from __future__ import annotations

import click

from routeshift.cli.check import check
from routeshift.cli.contract import contract
from routeshift.cli.diffs import diffs
from routeshift.cli.edit import promote, rollback, sync
from routeshift.cli.init import init
from routeshift.cli.routes import routes
from routeshift.cli.scaffold import scaffold
from routeshift.cli.status import status

__all__ = ["main"]


@click.group()
@click.version_option(package_name="routeshift")
def main() -> None:
    """Move a Flask app to FastAPI one route at a time."""


for _command in (check, contract, diffs, init, promote, rollback, routes, scaffold, status, sync):
    main.add_command(_command)
