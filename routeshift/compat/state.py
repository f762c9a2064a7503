"""The contract tests' state hook for an app on Flask-SQLAlchemy: `fresh_database`.

Both sides of a contract case read and write the legacy app's database (the port through
routeshift.compat.database, on the same engine), so each side must start from the same
rows: before each side of each case the hook drops and recreates the tables in the app's
context and seeds them, and it checks that the app the harness served used that same
database (an app factory called again builds a second app; with in-memory SQLite that is
a second, empty database).

    @pytest.fixture
    def routeshift_state(routeshift_harness):
        return fresh_database(routeshift_harness.apps.legacy, db, seed=add_fixtures)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from flask import Flask
from flask.signals import request_started
from sqlalchemy import Engine

from routeshift.compat.database import SQLAlchemyExtension, engines_of, is_memory
from routeshift.compat.legacy import require_flask, source_name
from routeshift.errors import CrossingError

__all__ = ["fresh_database"]


def fresh_database(
    app: Flask | Callable[..., Flask],
    db: SQLAlchemyExtension,
    *,
    seed: Callable[[Any], object] | None = None,
    config: Mapping[str, Any] | None = None,
) -> Callable[[str], AbstractContextManager[object]]:
    """A contract state hook: before each side of each case, the app's tables are
    dropped and created again (`db.drop_all(); db.create_all()` in its app context) and
    `seed(db)` runs there, so both sides start from the same rows.

    `app` is the Flask app the harness serves (in a conftest.py:
    `fresh_database(routeshift_harness.apps.legacy, db, seed=...)`), or the app factory,
    called once on first use as `app(config)` (`app()` without `config`): its app has its
    own engine on the URL its config gives, which must be the served app's database. An
    in-memory SQLite URL is refused then (each engine has its own), and every app the
    harness serves while the hook is active is checked: one whose engines are on another
    database is a CrossingError after its request, naming both URLs.
    """
    return _FreshDatabase(app, db, seed, config)


class _FreshDatabase:
    """The hook fresh_database returns: `hook(side)` is the context manager."""

    def __init__(
        self,
        app: Flask | Callable[..., Flask],
        db: SQLAlchemyExtension,
        seed: Callable[[Any], object] | None,
        config: Mapping[str, Any] | None,
    ) -> None:
        self._source = app
        self._config = config
        self.db = db
        self.seed = seed
        self._app: Flask | None = None
        self._engines: dict[str | None, Engine] = {}
        self._checked: list[Flask] = []  # apps already found on the same database

    def __repr__(self) -> str:
        urls = ", ".join(repr(engine.url) for engine in self._engines.values())
        return f"fresh_database({urls or self._source!r})"

    def __call__(self, side: str) -> AbstractContextManager[object]:
        return self._fresh(side)

    @contextmanager
    def _fresh(self, side: str) -> Iterator[object]:
        app = self.app
        with app.app_context():
            self.db.drop_all()
            self.db.create_all()
            if self.seed is not None:
                self.seed(self.db)
        problems: list[str] = []

        def served(sender: Any, **extra: Any) -> None:
            # in the served app's own app context: its engines are db.engines
            problem = self._elsewhere(sender, side)
            if problem is not None:
                problems.append(problem)

        request_started.connect(served, weak=False)
        try:
            yield app
        finally:
            request_started.disconnect(served)
        if problems:
            raise CrossingError(problems[0])

    @property
    def app(self) -> Flask:
        """The app whose context the tables are reset in (the factory called once)."""
        if self._app is None:
            source = self._source
            if isinstance(source, Flask):
                app = source
            else:
                app = source() if self._config is None else source(self._config)
                require_flask(app, f"fresh_database's factory {source_name(source)}")
            with app.app_context():
                engines = dict(engines_of(app, self.db))
            if app is not source:
                for engine in engines.values():
                    if is_memory(engine.url):
                        raise CrossingError(
                            f"fresh_database: the database of the app {source_name(source)} "
                            f"builds is {engine.url} (SQLite in memory): every engine has "
                            "its own empty one, so resetting this app's would not reset "
                            "the app the harness serves. Point SQLALCHEMY_DATABASE_URI at "
                            "a file (under pytest's tmp_path, say), or pass the served app "
                            "itself: fresh_database(routeshift_harness.apps.legacy, db)."
                        )
            self._app, self._engines = app, engines
            self._checked.append(app)
        return self._app

    def _elsewhere(self, served: Any, side: str) -> str | None:
        """Why the app that served a request is not on the reset database, or None."""
        if any(served is app for app in self._checked):
            return None
        try:
            engines = self.db.engines
        except RuntimeError:
            return (
                f"fresh_database: the app that served the {side} request ({served!r}) is "
                f"not registered with this SQLAlchemy instance, so the database the hook "
                "reset is not the one it uses. Pass the app's own `db`."
            )
        for key, engine in self._engines.items():
            theirs = engines.get(key)
            if theirs is None or not _same_database(engine, theirs):
                where = "its default engine" if key is None else f"its bind {key!r}"
                uses = "no such bind" if theirs is None else theirs.url
                return (
                    f"fresh_database reset {engine.url} ({where}), but the app that served "
                    f"the {side} request ({served!r}) uses {uses}: its requests did not "
                    "start from the fresh state. Build the hook on the app the harness "
                    "serves, fresh_database(routeshift_harness.apps.legacy, db, ...), or "
                    "give the factory the config that gives the served app's URL."
                )
        self._checked.append(served)
        return None


def _same_database(ours: Engine, theirs: Engine) -> bool:
    return ours is theirs or (ours.url == theirs.url and not is_memory(ours.url))
