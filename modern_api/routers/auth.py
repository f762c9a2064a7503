"""/me and /logout: the port of blueprint `auth`, on the legacy app's own signed session.

`POST /login` stays in legacy: the session cookie it sets is read here with Flask's
session interface (`FlaskSession`), and what a port changes in the session is saved as
Flask saves it, so legacy views see a logout made here.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException

from modern_api.deps import Database, FlaskSession
from modern_api.routers.users import user_by_id
from modern_api.schemas import LoggedOut, UserOut
from routeshift.compat import FlaskJSONResponse

router = APIRouter(tags=["auth"])


@router.get("/me", response_model=UserOut, response_class=FlaskJSONResponse)
async def me(login: FlaskSession, database: Database) -> FlaskJSONResponse:
    """The logged-in user; legacy's 401 page "Not logged in" without a login."""
    user_id = login.get("user_id")
    user = await user_by_id(database, user_id) if user_id is not None else None
    if user is None:
        raise HTTPException(401, detail="Not logged in")
    return FlaskJSONResponse(user)


@router.post("/logout", response_model=LoggedOut, response_class=FlaskJSONResponse)
async def logout(login: FlaskSession) -> FlaskJSONResponse:
    """Forget the login: the session emptied, its cookie deleted as Flask deletes it."""
    login.clear()
    return FlaskJSONResponse(LoggedOut())
