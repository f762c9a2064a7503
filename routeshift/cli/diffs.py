"""routeshift diffs: the latest shadow mismatches, errors and timeouts the gateway stored,
newest first. The table escapes control characters: what it shows came from clients."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import click

from routeshift.apps.pair import load_apps
from routeshift.cli.common import load_or_exit, read_store_or_exit, registry_option
from routeshift.errors import RouteshiftError, did_you_mean
from routeshift.registry.model import Registry
from routeshift.store.records import StoredExchange, StoredMismatch
from routeshift.store.redact import printable
from routeshift.store.sql import FAILED_RESULTS, Store

__all__ = [
    "LINE_LIMIT",
    "SCHEMA",
    "counts",
    "diffs",
    "diffs_document",
    "format_diffs",
    "summary",
]

SCHEMA = "routeshift.diffs/1"
#: characters of a difference line in the table (--full shows them whole)
LINE_LIMIT = 300
#: what `diffs` lists: every run where the modern side failed the port


@click.command()
@registry_option
@click.option("--route", "route", metavar="ENDPOINT", help="Only this endpoint's failed runs.")
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=20,
    show_default=True,
    help="How many (the newest).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
)
@click.option(
    "--full",
    is_flag=True,
    help="Show each request and both replies as stored (redacted, bodies capped).",
)
def diffs(registry_option: str | None, route: str | None, limit: int, fmt: str, full: bool) -> None:
    """Recent shadow mismatches, errors and timeouts of the modern side, newest first.

    The gateway stores them for routes in state shadow; each difference reads
    `POINTER: legacy X != modern Y`. Sensitive values are stored "[redacted]"
    (settings.redact). Exit 0 when there is none, 1 when it lists some, 2 on bad input
    (registry, unknown route, no store).
    """
    registry = load_or_exit(registry_option)
    if route is not None:
        _check_route(registry, route)

    def read(store: Store) -> tuple[list[StoredMismatch], dict[int, StoredExchange], str]:
        if not store.has_observations():
            _no_observations(store, registry)
        found = store.mismatches(route, limit)
        exchanges = store.exchanges(m.id for m in found) if full or fmt == "json" else {}
        return found, exchanges, store.display_url

    found, exchanges, where = read_store_or_exit(registry, read)
    if fmt == "json":
        document = diffs_document(found, exchanges, route=route, store=where)
        click.echo(json.dumps(document, indent=2, ensure_ascii=False))
    else:
        click.echo(format_diffs(found, exchanges, route=route, full=full), nl=False)
    sys.exit(1 if found else 0)


def _check_route(registry: Registry, route: str) -> None:
    """Exit 2 when `route` is neither in the registry nor an endpoint of the legacy app."""
    known = {entry.endpoint for entry in registry.routes}
    if route in known:
        return
    with contextlib.suppress(RouteshiftError):  # an app that fails: the registry's names
        known |= {legacy.endpoint for legacy in load_apps(registry).legacy_routes}
        if route in known:
            return
    click.echo(
        f"error: unknown route {route!r} in --route: it is not in {registry.path} nor an "
        f"endpoint of the legacy app.{did_you_mean(route, known)} "
        "`routeshift routes` lists the endpoints.",
        err=True,
    )
    sys.exit(2)


def _no_observations(store: Store, registry: Registry) -> None:
    database = store.engine.url.database
    if store.engine.dialect.name == "sqlite" and database and not Path(database).is_file():
        what = f"{store.display_url} does not exist"
    else:
        what = f"{store.display_url} has no shadow runs"
    click.echo(
        f"error: no observations yet: {what}; the gateway writes it with the first shadow "
        f"run. Put a route in state shadow in {registry.path} and send it requests through "
        "the gateway, or point ROUTESHIFT_STORE_URL (settings.store_url) at the gateway's "
        "store.",
        err=True,
    )
    sys.exit(2)


# --- formats ----------------------------------------------------------------------------


def diffs_document(
    found: Sequence[StoredMismatch],
    exchanges: Mapping[int, StoredExchange],
    *,
    route: str | None,
    store: str,
) -> dict[str, Any]:
    """The JSON of `diffs --format json`: the mismatches, errors and timeouts, newest
    first, with their stored requests and replies (null when none was kept), and how many
    of each result it lists."""
    return {
        "schema": SCHEMA,
        "store": store,
        "route": route,
        "counts": counts(found),
        "mismatches": [
            {
                **mismatch.as_dict(),
                "exchange": _exchange_dict(exchanges.get(mismatch.id)),
            }
            for mismatch in found
        ],
    }


def _exchange_dict(exchange: StoredExchange | None) -> dict[str, Any] | None:
    return None if exchange is None else exchange.as_dict()


def format_diffs(
    found: Sequence[StoredMismatch],
    exchanges: Mapping[int, StoredExchange],
    *,
    route: str | None = None,
    full: bool = False,
) -> str:
    """The table of `diffs`: a block per failed run, newest first, then how many of each
    result it lists. Control characters in what clients sent are escaped."""
    if not found:
        where = f" for {printable(route)}" if route else ""
        return f"No shadow mismatches, errors or timeouts recorded{where}.\n"
    blocks = [_block(m, exchanges.get(m.id), full) for m in found]
    footer = f"{summary(found)}, newest first."
    if not full:
        footer += " --full shows the requests and replies."
    return "\n\n".join(blocks) + "\n\n" + footer + "\n"


def counts(found: Sequence[StoredMismatch]) -> dict[str, int]:
    """How many of `found` each listed result has (zeros included)."""
    return {result.value: sum(m.result is result for m in found) for result in FAILED_RESULTS}


_PLURALS = {"mismatch": "mismatches", "error": "errors", "timeout": "timeouts"}


def summary(found: Sequence[StoredMismatch]) -> str:
    """ "2 mismatches, 1 timeout": the results `found` holds, by count."""
    return ", ".join(
        f"{count} {name if count == 1 else _PLURALS[name]}"
        for name, count in counts(found).items()
        if count
    )


def _block(mismatch: StoredMismatch, exchange: StoredExchange | None, full: bool) -> str:
    when = mismatch.at.astimezone(dt.UTC)
    modern = "none" if mismatch.modern_status is None else str(mismatch.modern_status)
    lines = [
        f"#{mismatch.id}  {when:%Y-%m-%d %H:%M:%S} UTC  worker {mismatch.worker}  "
        f"{mismatch.result.value}",
        printable(f"{mismatch.method} {mismatch.target}"),
        printable(f"  route   {mismatch.endpoint}  {mismatch.rule}"),
        f"  status  legacy {mismatch.legacy_status}, modern {modern}",
    ]
    if mismatch.error:
        lines.append(printable(f"  error   {mismatch.error}"))
    for difference in mismatch.differences:
        text = str(difference.get("text") or difference.get("where"))
        if not full and len(text) > LINE_LIMIT:
            text = text[:LINE_LIMIT] + " …"
        lines.append(printable(f"  {text}"))
    if full and exchange is not None:
        lines += _exchange_lines(exchange)
    return "\n".join(lines)


def _exchange_lines(exchange: StoredExchange) -> list[str]:
    lines = ["  request"]
    lines += _message_lines(exchange.request_headers, exchange.request_body)
    lines.append("  legacy reply")
    lines += _message_lines(exchange.legacy_headers, exchange.legacy_body)
    if exchange.modern_headers is None:
        lines.append("  modern reply: none (it raised or timed out)")
    else:
        lines.append("  modern reply")
        lines += _message_lines(exchange.modern_headers, exchange.modern_body or "")
    return lines


def _message_lines(headers: Sequence[tuple[str, str]], body: str) -> list[str]:
    lines = [printable(f"    {name}: {value}") for name, value in headers]
    if body:
        lines.append("")
        lines += [printable(f"    {line}") for line in body.splitlines()]
    return lines
