"""One SQLAlchemy session per request, kept on `g` and closed at teardown."""

from __future__ import annotations

from flask import Flask, current_app, g
from sqlalchemy.orm import Session

from legacy_flask.database import open_session


def get_db() -> Session:
    """The request's session, opened on first use."""
    if "db" not in g:
        g.db = open_session(current_app.config["DATABASE_URL"])
    db: Session = g.db
    return db


def close_db(exc: BaseException | None = None) -> None:
    db: Session | None = g.pop("db", None)
    if db is not None:
        if exc is not None:
            db.rollback()
        db.close()


def init_app(app: Flask) -> None:
    app.teardown_appcontext(close_db)
