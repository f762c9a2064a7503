"""The example's own app, for the ports: its Flask-SQLAlchemy `db` (the one engine and
session of the app), JSON provider and error processor (APIFlask's JSON errors)."""

from typing import Annotated

from fastapi import Depends

from routeshift.compat import Legacy, LegacyContext

legacy = Legacy("app:app")
Context = Annotated[LegacyContext, Depends(legacy.context)]
