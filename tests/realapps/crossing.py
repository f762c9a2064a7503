"""The crossing from a FastAPI handler into the legacy Flask app, for the ports of the
real apps (copied into each project as modern_api/crossing.py).

A port does its work inside the Flask app's own request context, built from the ASGI
request: the app's before_request hooks have run (flaskr's g.user), and the session,
url_for, templates, error handlers and JSON provider are the app's own. The answer is
what Flask makes of the work's return value (after_request hooks, the session saved
into Set-Cookie), or of what it raised (the app's error handlers), as Flask's own
full_dispatch_request does. The whole request runs in one worker thread, so Flask's
context never crosses a thread hop.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from a2wsgi.wsgi import build_environ
from fastapi import Request, Response
from fastapi.concurrency import run_in_threadpool
from flask import Flask
from flask import Response as FlaskResponse


async def answer(app: Flask, request: Request, work: Callable[[], Any]) -> Response:
    """Run `work` in `app`'s context of this request; Flask's answer, as Starlette's."""
    environ = build_environ(request.scope, io.BytesIO(await request.body()))  # type: ignore[arg-type]
    finished = await run_in_threadpool(_dispatch, app, environ, work)
    response = Response(finished.get_data(), status_code=finished.status_code)
    response.raw_headers = [
        (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in finished.headers.items()
    ]
    return response


def _dispatch(app: Flask, environ: dict[str, Any], work: Callable[[], Any]) -> FlaskResponse:
    with app.request_context(environ):
        try:
            try:
                rv = app.preprocess_request()
                if rv is None:
                    rv = work()
            except Exception as exc:
                rv = app.handle_user_exception(exc)
            return app.finalize_request(rv)
        except Exception as exc:
            return app.handle_exception(exc)
