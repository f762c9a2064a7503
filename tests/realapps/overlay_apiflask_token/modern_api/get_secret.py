"""GET /name: the port of the example's get_secret (started with `routeshift scaffold
get_secret --header "Authorization:Bearer ..."`): the secret of the token's user.

The token is checked by the app's own HTTPTokenAuth (its verify_token callback), whose
401 is APIFlask's JSON error with `WWW-Authenticate: Bearer`.
"""

from __future__ import annotations

from typing import Annotated

from app import auth
from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse

from modern_api.legacy import legacy
from routeshift.compat import LegacyContext

router = APIRouter()
TokenUser = Annotated[LegacyContext, Depends(legacy.guard(auth.login_required))]


@router.get("/name", response_class=HTMLResponse)
def get_secret(ctx: TokenUser) -> HTMLResponse:
    """The secret of the user whose token the request carries."""
    with ctx:
        return HTMLResponse(auth.current_user.secret)
