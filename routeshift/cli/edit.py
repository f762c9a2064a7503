"""routeshift sync, promote, rollback: the commands that write the registry.

Each reads the registry's text, edits it with routeshift.registry.edit (comments, order and
formatting kept), validates the result and replaces the file atomically; a running
gateway picks the change up. `rollback` is the emergency path: it needs neither the apps
nor the store, only a registry that loads.
"""

from __future__ import annotations

import difflib
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

import click

from routeshift.apps.pair import load_apps, load_legacy_app
from routeshift.cli.common import load_or_exit, registry_option, verifications_or_exit
from routeshift.cohort import Cohort
from routeshift.errors import EditError, RegistryError, RouteshiftError
from routeshift.prove.cases import case_endpoints
from routeshift.registry.edit import Change, save_registry, set_state_text, sync_text
from routeshift.registry.fit import handler_path
from routeshift.registry.load import parse_registry
from routeshift.registry.model import Registry, State
from routeshift.registry.readiness import Lack, needs_proof, readiness
from routeshift.routes import LegacyRoute, legacy_routes
from routeshift.store.records import Verification

__all__ = [
    "format_option",
    "method_option",
    "promote",
    "rollback",
    "rule_option",
    "sync",
]

format_option = click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)
method_option = click.option(
    "--method", metavar="M", help="Only this method (an entry with more methods is split)."
)
rule_option = click.option(
    "--rule", metavar="RULE", help="Only the entry at this rule (for an endpoint with several)."
)


@click.command()
@registry_option
@click.option("--dry-run", is_flag=True, help="Show what would change; write nothing.")
@format_option
def sync(registry_option: str | None, dry_run: bool, fmt: str) -> None:
    """Register the legacy routes the registry lacks (as legacy) and retire removed ones.

    New entries go at the end of `routes`, in the legacy app's order; comments and
    formatting of the file are kept. Running it again changes nothing.
    """
    registry, text = _read(registry_option)
    found = _legacy_routes(registry)
    new_text, changes = _edit(lambda: sync_text(text, found))
    written = False
    if changes and not dry_run:
        written = _save(registry.path, new_text, text)
    if fmt == "json":
        document = _document("sync", registry, changes, written)
        if dry_run:
            document["diff"] = _diff(registry.path, text, new_text)
        click.echo(json.dumps(document, indent=2))
        return
    for change in changes:
        click.echo(str(change))
    counts = ", ".join(
        f"{sum(c.action == action for c in changes)} {action}"
        for action in ("added", "retired", "restored")
        if any(c.action == action for c in changes)
    )
    if not changes:
        click.echo(
            f"sync: {registry.path} lists every route of {registry.model.legacy_app}; "
            "nothing to do."
        )
    elif dry_run:
        click.echo(f"sync --dry-run: {counts}; nothing written. The edit:")
        click.echo(_diff(registry.path, text, new_text), nl=False)
    else:
        click.echo(f"sync: {counts}; wrote {registry.path}.")


@click.command()
@registry_option
@click.argument("endpoint")
@method_option
@rule_option
@click.option("--to", "to", type=click.Choice([state.value for state in State]), required=True)
@click.option(
    "--percent", type=click.FloatRange(0, 100), help="Share of cohorts for modern (canary)."
)
@click.option(
    "--cohort",
    metavar="KEY",
    help="Who sticks to a side (canary): header:NAME, cookie:NAME or client.",
)
@click.option("--force", is_flag=True, help="Skip the modern handler and contract checks.")
@format_option
def promote(
    registry_option: str | None,
    endpoint: str,
    method: str | None,
    rule: str | None,
    to: str,
    percent: float | None,
    cohort: str | None,
    force: bool,
    fmt: str,
) -> None:
    """Move ENDPOINT (all its entries, or --rule, --method) to the state --to.

    Refused (exit 1) when the modern app has no handler for the route, or when the
    latest contract run of the endpoint did not pass, unless --force.
    """
    for option, value in (("--percent", percent), ("--cohort", cohort)):
        if value is not None and to != State.CANARY.value:
            raise click.UsageError(f"{option} goes with --to canary only.")
    if cohort is not None:
        try:
            Cohort.parse(cohort)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="'--cohort'") from None
    registry, text = _read(registry_option)
    new_text, changes = _edit(
        lambda: set_state_text(text, endpoint, to, method, rule, percent, cohort)
    )
    if not changes:
        _nothing_to_do("promote", registry, endpoint, to, fmt)
        return
    try:
        edited = parse_registry(new_text, registry.path)
    except RegistryError as exc:  # the state asks for what the entry lacks: refused
        for problem in exc.problems:
            click.echo(f"refused: {problem}", err=True)
        click.echo(f"{registry.path} is unchanged.", err=True)
        sys.exit(1)
    if to != State.LEGACY.value and not force:
        reasons = _refusals(registry, edited, endpoint, changes)
        if reasons:
            for reason in reasons:
                click.echo(f"refused: {reason}", err=True)
            click.echo(
                f"{registry.path} is unchanged. Fix the above, or pass --force to promote anyway.",
                err=True,
            )
            sys.exit(1)
    _save(registry.path, new_text, text)
    _report("promote", registry, changes, fmt, forced=force and to != State.LEGACY.value)


@click.command()
@registry_option
@click.argument("endpoint")
@method_option
@rule_option
@format_option
def rollback(
    registry_option: str | None,
    endpoint: str,
    method: str | None,
    rule: str | None,
    fmt: str,
) -> None:
    """Send ENDPOINT (all its entries, or --rule, --method) back to legacy.

    The emergency path: it reads neither the apps nor the store, only the registry.
    """
    registry, text = _read(registry_option)
    new_text, changes = _edit(lambda: set_state_text(text, endpoint, State.LEGACY, method, rule))
    if not changes:
        _nothing_to_do("rollback", registry, endpoint, State.LEGACY.value, fmt)
        return
    _save(registry.path, new_text, text)
    _report("rollback", registry, changes, fmt)


# --- the checks before a promotion ----------------------------------------------------


def _refusals(
    registry: Registry, edited: Registry, endpoint: str, changes: Sequence[Change]
) -> list[str]:
    """Why the promotion in `changes` must not happen (none: it may)."""
    try:
        apps = load_apps(registry)
    except RouteshiftError as exc:
        _fail(f"{exc} Promotion looks for the modern handler; --force skips that.")
    legacy = {(route.endpoint, route.rule): route for route in apps.legacy_routes}
    modern_app = registry.model.modern_app
    proof = any(needs_proof(State(change.state)) for change in changes)
    # a shadow serves no client from modern: its handler is enough, and the store unread
    run = _verifications(registry).get(endpoint) if proof else None
    has_cases = endpoint in case_endpoints(registry.contracts_dir)
    reasons = []
    lacks: set[Lack] = set()
    for change in changes:
        route = legacy.get((change.endpoint, change.rule))
        if route is None:
            reasons.append(
                f"{registry.model.legacy_app} has no rule {change.rule!r} for {endpoint}; "
                "run `routeshift sync` and promote the route at its current rule."
            )
            continue
        for method in change.methods:
            entry = next(
                e
                for e in edited.routes
                if (e.endpoint, e.rule) == (change.endpoint, change.rule) and method in e.methods
            )
            ready = readiness(
                State(change.state),
                handler_path(entry, route),
                [method],
                apps.handlers,
                has_cases=has_cases,
                run=run,
            )
            if Lack.NO_HANDLER in ready.lacks:
                reasons.append(
                    f"{modern_app} has no handler for {method} {ready.path} ({endpoint}). Port "
                    f"it first (routeshift scaffold {endpoint} --method {method}), or set "
                    "modern_path when the handler lives at another path."
                )
            lacks.update(ready.lacks)
    cases = f"{registry.settings.contracts_dir}/{endpoint}.yaml"
    if run is None and lacks & {Lack.NO_CASES, Lack.NEVER_RUN}:
        reasons.append(
            f"no contract run has checked {endpoint}. Write its cases in {cases} and run "
            f"`routeshift contract --route {endpoint}` until they pass."
        )
    elif Lack.NO_CASES in lacks:
        reasons.append(
            f"{endpoint} has no contract cases ({cases} does not exist). Write them and run "
            f"`routeshift contract --route {endpoint}` until they pass."
        )
    elif run is not None and Lack.RUN_FAILED in lacks:
        run_at = run.run_at.strftime("%Y-%m-%d %H:%M UTC")
        what = (
            f"failed {run.failed} of {run.passed + run.failed} cases"
            if run.failed
            else "ran no case"
        )
        reasons.append(
            f"the latest contract run of {endpoint} ({run_at}) {what}. Fix the port (or "
            f"the cases in {cases}) and run `routeshift contract --route {endpoint}` again."
        )
    return reasons


def _verifications(registry: Registry) -> dict[str, Verification]:
    return verifications_or_exit(
        registry, "Promotion reads the contract runs from the store; --force skips that."
    )


# --- reading, editing, writing ----------------------------------------------------------


def _read(registry_option: str | None) -> tuple[Registry, str]:
    registry = load_or_exit(registry_option)
    try:
        return registry, registry.path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        _fail(f"cannot read {registry.path}: {exc}")


def _legacy_routes(registry: Registry) -> tuple[LegacyRoute, ...]:
    """The legacy app's routes; sync needs the legacy app only."""
    try:
        return legacy_routes(load_legacy_app(registry))
    except RouteshiftError as exc:
        _fail(str(exc))


def _edit(edit: Callable[[], tuple[str, tuple[Change, ...]]]) -> tuple[str, tuple[Change, ...]]:
    try:
        return edit()
    except EditError as exc:
        _fail(str(exc))


def _save(path: Path, text: str, read: str) -> bool:
    try:
        save_registry(path, text, expected=read)
    except EditError as exc:
        _fail(str(exc))
    except RegistryError as exc:
        _fail(f"the edit would leave an invalid registry; nothing was written.\n{exc}")
    except OSError as exc:
        _fail(f"cannot write {path}: {exc}. Nothing was written.")
    return True


def _fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


# --- output ---------------------------------------------------------------------------


def _document(
    command: str, registry: Registry, changes: Sequence[Change], written: bool
) -> dict[str, object]:
    return {
        "command": command,
        "registry": str(registry.path),
        "written": written,
        "changes": [change.as_dict() for change in changes],
    }


def _report(
    command: str, registry: Registry, changes: Sequence[Change], fmt: str, forced: bool = False
) -> None:
    if fmt == "json":
        document = _document(command, registry, changes, True)
        document["forced"] = forced
        click.echo(json.dumps(document, indent=2))
        return
    for change in changes:
        click.echo(str(change))
    if forced:
        click.echo("--force: the handler and contract checks were skipped.")
    click.echo(f"wrote {registry.path}; a running gateway picks it up within a second.")


def _nothing_to_do(command: str, registry: Registry, endpoint: str, state: str, fmt: str) -> None:
    if fmt == "json":
        click.echo(json.dumps(_document(command, registry, (), False), indent=2))
    else:
        click.echo(f"{endpoint} is already {state} in {registry.path}; nothing to do.")


def _diff(path: Path, old: str, new: str) -> str:
    return "".join(
        difflib.unified_diff(
            old.splitlines(keepends=True),
            new.splitlines(keepends=True),
            fromfile=str(path),
            tofile=f"{path} (after sync)",
        )
    )
