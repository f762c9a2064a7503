"""POST /token/<int:id>: the port of the example's get_token (started with `routeshift
scaffold get_token`): a bearer token for a known user, dumped by the app's Token schema
and sent by its JSON provider.

Bug for bug: the example's get_user_by_id raises IndexError for an unknown id (its
`is None` check never fires), which the app answers with APIFlask's JSON 500; so does
the port, until the legacy view is fixed.
"""

from __future__ import annotations

from app import Token, get_user_by_id
from fastapi import APIRouter

from modern_api.legacy import Context
from routeshift.compat import FlaskJSONResponse

router = APIRouter()


@router.post("/token/{id}", response_class=FlaskJSONResponse)
def get_token(id: int, ctx: Context) -> FlaskJSONResponse:
    """A bearer token for user `id`."""
    with ctx:
        user = get_user_by_id(id)
        return FlaskJSONResponse(Token().dump({"token": f"Bearer {user.get_token()}"}))
