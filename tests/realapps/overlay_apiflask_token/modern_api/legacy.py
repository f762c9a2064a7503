"""The example's own app, for the ports: its token auth, JSON provider and error
processor (APIFlask's JSON errors)."""

from typing import Annotated

from fastapi import Depends

from routeshift.compat import Legacy, LegacyContext

legacy = Legacy("app:app")
Context = Annotated[LegacyContext, Depends(legacy.context)]
