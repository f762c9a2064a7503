"""GET /name: the port of the example's get_secret (started with `routeshift scaffold
get_secret --header "Authorization:Bearer ..."`): the secret of the token's user.

The token is checked by the app's own HTTPTokenAuth (its verify_token callback), whose
401 is APIFlask's JSON error with `WWW-Authenticate: Bearer`.
"""

from __future__ import annotations

import app as legacy
from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from modern_api.crossing import answer

router = APIRouter()


@router.get("/name", response_class=HTMLResponse)
async def get_secret(request: Request) -> Response:
    """The secret of the user whose token the request carries."""
    return await answer(legacy.app, request, _secret)


@legacy.auth.login_required
def _secret() -> str:
    return str(legacy.auth.current_user.secret)
