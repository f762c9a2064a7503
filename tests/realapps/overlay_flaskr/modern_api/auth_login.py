"""GET /auth/login: the port of flaskr's auth.login form (started with `routeshift
scaffold auth.login --method GET`; POST, the login itself, stays legacy)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from flask import render_template

from modern_api import legacy
from modern_api.crossing import answer

router = APIRouter(tags=["auth"])


@router.get("/auth/login", response_class=HTMLResponse)
async def login(request: Request) -> Response:
    """The login form."""
    return await answer(legacy.app, request, lambda: render_template("auth/login.html"))
