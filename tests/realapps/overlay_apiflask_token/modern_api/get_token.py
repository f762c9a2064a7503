"""POST /token/<int:id>: the port of the example's get_token (started with `routeshift
scaffold get_token`): a bearer token for a known user, dumped by the app's Token schema
and sent by its JSON provider.

Bug for bug: the example's get_user_by_id raises IndexError for an unknown id (its
`is None` check never fires), which the app answers with APIFlask's JSON 500; so does
the port, until the legacy view is fixed.
"""

from __future__ import annotations

import app as legacy
from fastapi import APIRouter, Request, Response

from modern_api.crossing import answer

router = APIRouter()


@router.post("/token/{id}")
async def get_token(id: int, request: Request) -> Response:
    """A bearer token for user `id`."""
    return await answer(legacy.app, request, lambda: _token(id))


def _token(id: int) -> dict[str, str]:
    user = legacy.get_user_by_id(id)
    return legacy.Token().dump({"token": f"Bearer {user.get_token()}"})
