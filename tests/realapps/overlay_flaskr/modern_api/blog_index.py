"""GET /: the port of flaskr's blog.index (started with `routeshift scaffold blog.index`).

The posts come through flaskr's database connection and the page from its template,
inside flaskr's request context: g.user, url_for and the flashed messages are Flask's,
and so is the session cookie that showing a flash rewrites.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from flask import render_template
from flaskr.db import get_db

from modern_api.legacy import Context

router = APIRouter(tags=["blog"])

POSTS = (
    "SELECT p.id, title, body, created, author_id, username"
    " FROM post p JOIN user u ON p.author_id = u.id"
    " ORDER BY created DESC"
)


@router.get("/", response_class=HTMLResponse)
def index(ctx: Context) -> HTMLResponse:
    """Every post, newest first."""
    with ctx:
        posts = get_db().execute(POSTS).fetchall()
        return HTMLResponse(render_template("blog/index.html", posts=posts))
