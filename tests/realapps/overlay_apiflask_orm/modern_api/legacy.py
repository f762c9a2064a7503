"""The example's own app, for the ports: its Flask-SQLAlchemy `db` (the one engine and
session of the app), JSON provider and error processor (APIFlask's JSON errors)."""

from typing import Annotated

from app import db
from fastapi import Depends

from routeshift.compat import Legacy, LegacyContext, LegacyDatabase, RequestQueries

legacy = Legacy("app:app")
Context = Annotated[LegacyContext, Depends(legacy.context)]

database = LegacyDatabase(legacy, db)
#: Core statements on the app's own engine (its in-memory SQLite: one thread hop each)
Queries = Annotated[RequestQueries, Depends(database.queries)]
