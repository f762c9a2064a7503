"""What the commands share: loading the registry and its apps, reading the store, each
exiting 2 with the reason when it cannot, and the --registry option.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

import click

from routeshift.apps.pair import Apps, load_apps
from routeshift.errors import RouteshiftError, StoreError
from routeshift.registry.load import load_registry, registry_path
from routeshift.registry.model import Registry
from routeshift.store.records import ShadowSummary, Verification

if TYPE_CHECKING:  # imported where the store is read: SQLAlchemy is ~0.35 s of imports
    from routeshift.store.sql import Store

__all__ = [
    "load_or_exit",
    "load_with_apps",
    "read_store_or_exit",
    "registry_option",
    "store_figures",
    "store_figures_or_exit",
    "verifications_or_exit",
]

T = TypeVar("T")


def load_or_exit(registry_option: str | None) -> Registry:
    """The registry, or exit 2 with its problems."""
    try:
        return load_registry(registry_path(registry_option))
    except RouteshiftError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)


def load_with_apps(registry_option: str | None) -> tuple[Registry, Apps]:
    """The registry and its apps, or exit 2 with what is wrong."""
    registry = load_or_exit(registry_option)
    try:
        apps = load_apps(registry)
    except RouteshiftError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    return registry, apps


def read_store_or_exit(registry: Registry, read: Callable[[Store], T], hint: str = "") -> T:
    """`read(store)` on the registry's store (reading never creates it), or exit 2 when
    the store cannot be read."""
    from routeshift.store.sql import Store

    try:
        with contextlib.closing(Store.for_registry(registry)) as store:
            return read(store)
    except StoreError as exc:
        click.echo(f"error: {exc}{' ' + hint if hint else ''}", err=True)
        sys.exit(2)


def store_figures(store: Store) -> tuple[dict[str, Verification], dict[str, ShadowSummary]]:
    """The latest contract result and the shadow runs per endpoint."""
    return store.verifications(), store.shadow_summaries()


def store_figures_or_exit(
    registry: Registry,
) -> tuple[dict[str, Verification], dict[str, ShadowSummary]]:
    """The latest contract result and the shadow runs per endpoint, or exit 2."""
    return read_store_or_exit(registry, store_figures)


def verifications_or_exit(registry: Registry, hint: str = "") -> dict[str, Verification]:
    """The latest contract result per endpoint (none when nothing was ever recorded), or
    exit 2 when the store cannot be read."""
    return read_store_or_exit(registry, lambda store: store.verifications(), hint)


#: --registry PATH, on every command that reads the registry
registry_option = click.option(
    "--registry",
    "registry_option",
    metavar="PATH",
    help="The registry (default: $MIGRATION_STATUS or ./migration_status.yaml).",
)
