"""GET /: the port of flaskr's blog.index (started with `routeshift scaffold blog.index`).

The posts come through flaskr's database connection and the page from its template,
inside flaskr's request context: g.user, url_for and the flashed messages are Flask's,
and so is the session cookie that showing a flash rewrites.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from flask import render_template
from flaskr.db import get_db

from modern_api import legacy
from modern_api.crossing import answer

router = APIRouter(tags=["blog"])

POSTS = (
    "SELECT p.id, title, body, created, author_id, username"
    " FROM post p JOIN user u ON p.author_id = u.id"
    " ORDER BY created DESC"
)


@router.get("/", response_class=HTMLResponse)
async def index(request: Request) -> Response:
    """Every post, newest first."""
    return await answer(legacy.app, request, _page)


def _page() -> str:
    return render_template("blog/index.html", posts=get_db().execute(POSTS).fetchall())
