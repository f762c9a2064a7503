"""routeshift check: the CI gate (exit 0 ok, 1 a finding fails the gate, 2 bad input).

The table shows at most SHOWN lines of findings: past that, findings that share a cause
(level, code, and message but for names and numbers) are one line with the first few
places, and the rest is "and N more (routeshift check --format json lists them all)".
`--format json` lists every finding, and every problem of a registry that does not load.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable

import click

from routeshift.apps.pair import Apps, load_apps
from routeshift.cli.common import (
    load_or_exit,
    registry_option,
    store_figures_or_exit,
)
from routeshift.errors import Problem, RegistryError, RouteshiftError
from routeshift.prove.cases import case_endpoints
from routeshift.registry.load import load_registry, registry_path
from routeshift.registry.model import Registry
from routeshift.track.gate import (
    Code,
    Finding,
    Level,
    check_migration,
    fails,
    findings_json,
    format_findings,
    summary,
)

__all__ = [
    "check",
]

#: the most lines of findings the table shows; `--format json` lists every one
SHOWN = 20
#: what a message says beyond its cause: quoted names and numbers
_PARTICULARS = re.compile(r"'[^']*'|\"[^\"]*\"|`[^`]*`|\d+")
#: how many more places a grouped line names
_PLACES = 3


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
    registry = _registry(registry_option) if fmt == "json" else load_or_exit(registry_option)
    apps = _apps(registry)
    verifications, shadow = store_figures_or_exit(registry)
    findings = check_migration(
        registry, apps, case_endpoints(registry.contracts_dir), verifications, shadow
    )
    if fmt == "json":
        click.echo(json.dumps(findings_json(findings, strict), indent=2))
    else:
        click.echo(_table(findings, strict))
    sys.exit(1 if fails(findings, strict) else 0)


def _registry(registry_option: str | None) -> Registry:
    """The registry, or exit 2 with its problems: every one in JSON on stdout (the
    message on stderr shows the first few)."""
    try:
        return load_registry(registry_path(registry_option))
    except RegistryError as exc:
        click.echo(json.dumps(findings_json(_load_findings(exc.problems)), indent=2))
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)


def _apps(registry: Registry) -> Apps:
    try:
        return load_apps(registry)
    except RouteshiftError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)


def _table(findings: list[Finding], strict: bool) -> str:
    """format_findings, in at most SHOWN lines of findings (grouped by cause past that)."""
    if len(findings) <= SHOWN:
        return format_findings(findings, strict)
    groups: dict[tuple[str, str, str], list[Finding]] = {}
    for finding in findings:
        cause = (finding.level, finding.code, _PARTICULARS.sub("_", finding.message))
        groups.setdefault(cause, []).append(finding)
    lines = [_grouped(group) for group in list(groups.values())[:SHOWN]]
    left = sum(len(group) for group in list(groups.values())[SHOWN:])
    if left:
        lines.append(f"and {left} more (routeshift check --format json lists them all)")
    return "\n".join([*lines, summary(findings, strict)])


def _grouped(group: list[Finding]) -> str:
    """'f.yaml:12: error: ... (199 more like it, at f.yaml:24, f.yaml:36, ... and 196 more)'."""
    first, rest = group[0], group[1:]
    if not rest:
        return str(first)
    at = ", ".join(finding.where for finding in rest[:_PLACES])
    more = f" and {len(rest) - _PLACES} more" if len(rest) > _PLACES else ""
    return f"{first} ({len(rest)} more like it, at {at}{more})"


def _load_findings(problems: Iterable[Problem]) -> list[Finding]:
    """The problems of a registry that does not load, as error findings."""
    return [
        Finding(
            Level.ERROR,
            Code.REGISTRY,
            f"{problem.file}:{problem.line}" if problem.line else problem.file,
            problem.message,
            "correct the registry there, as the message says; every command refuses it until then",
        )
        for problem in problems
    ]
