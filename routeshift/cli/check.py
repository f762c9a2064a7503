"""routeshift check: the CI gate (exit 0 ok, 1 a finding fails the gate, 2 bad input)."""

from __future__ import annotations

import json
import sys

import click

from routeshift.cli.common import load_with_apps, registry_option, store_figures_or_exit
from routeshift.prove.cases import case_endpoints
from routeshift.track.gate import check_migration, fails, findings_json, format_findings

__all__ = [
    "check",
]


@click.command()
@registry_option
@click.option("--strict", is_flag=True, help="Fail on warnings too, not only on errors.")
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)
def check(registry_option: str | None, strict: bool, fmt: str) -> None:
    """Fail when the registry and the apps disagree or a ported route is unproven.

    Errors: a Flask route missing from the registry, an entry whose route is gone (and
    not retired), a route past legacy with no modern handler or no contract cases, an
    entry that does not fit the apps. Warnings (they fail with --strict): a ported route
    whose latest contract run failed or never ran, a route in shadow whose live runs
    differed, a retired entry. Notes never fail: legacy routes ready to promote, shadow
    routes whose runs all matched. Each line says how to fix it.
    """
    registry, apps = load_with_apps(registry_option)
    verifications, shadow = store_figures_or_exit(registry)
    findings = check_migration(
        registry, apps, case_endpoints(registry.contracts_dir), verifications, shadow
    )
    if fmt == "json":
        click.echo(json.dumps(findings_json(findings, strict), indent=2))
    else:
        click.echo(format_findings(findings, strict))
    sys.exit(1 if fails(findings, strict) else 0)
