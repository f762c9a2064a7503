"""GET /auth/login: the port of flaskr's auth.login form (started with `routeshift
scaffold auth.login --method GET`; POST, the login itself, stays legacy)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from flask import render_template

from modern_api.legacy import Context

router = APIRouter(tags=["auth"])


@router.get("/auth/login", response_class=HTMLResponse)
def login(ctx: Context) -> HTMLResponse:
    """The login form."""
    with ctx:
        return HTMLResponse(render_template("auth/login.html"))
