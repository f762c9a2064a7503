"""The legacy context at its edges: overlapping `ctx.run` calls, a legacy app that
propagates exceptions, a body over the limit that Flask never reads, a chunked body,
and what Flask's teardown is told of an answered error.

No `from __future__ import annotations`: FastAPI reads the handlers' annotations.
"""

import asyncio
import threading
from typing import Annotated, Any

import httpx
import pytest
from compat_client import PortClient
from fastapi import Depends, FastAPI, HTTPException
from flask import Flask, abort, g, request

from routeshift.compat import Legacy, LegacyContext


def flask_app(**config: Any) -> Flask:
    app = Flask(__name__)
    app.config.update(SECRET_KEY="edges", **config)
    return app


def port(app: Flask, **options: Any) -> tuple[FastAPI, Legacy]:
    legacy = Legacy(app, **options)
    modern = FastAPI()
    legacy.install(modern)
    return modern, legacy


def test_overlapping_runs_of_one_context_each_pop_their_own() -> None:
    app = flask_app()
    torn: list[Any] = []
    app.teardown_request(lambda exc: torn.append(exc))
    modern, legacy = port(app)
    first_in = threading.Event()

    def slow(n: int) -> int:
        g.n = n
        if n == 0:
            first_in.set()
            threading.Event().wait(0.2)  # the second call starts and ends meanwhile
        else:
            first_in.wait(2)
        return int(g.n)

    @modern.get("/both")
    async def both(ctx: Annotated[LegacyContext, Depends(legacy.context)]) -> Any:
        return await asyncio.gather(ctx.run(slow, 0), ctx.run(slow, 1))

    answer = PortClient(modern).get("/both")
    assert (answer.status_code, answer.json()) == (200, [0, 1])
    assert torn == [None, None]  # both contexts torn down, in their own threads


def test_a_legacy_app_that_propagates_exceptions_lets_them_reach_the_server() -> None:
    """TESTING (or DEBUG, PROPAGATE_EXCEPTIONS): Flask re-raises a view's exception to
    its server; so does the port's, instead of a silent 500."""
    modern, _ = port(flask_app(TESTING=True))

    @modern.get("/boom")
    def boom() -> Any:
        raise RuntimeError("the port broke")

    with pytest.raises(RuntimeError, match="the port broke"):
        PortClient(modern, raise_app_exceptions=True).get("/boom")


def test_a_body_over_the_limit_that_flask_never_reads_is_not_refused() -> None:
    app = flask_app()
    modern, legacy = port(app, body_limit=1000)

    @modern.post("/upload")
    async def upload(ctx: Annotated[LegacyContext, Depends(legacy.context)]) -> Any:
        def method() -> str:
            return request.method

        return {"method": await ctx.run(method)}

    @modern.post("/read")
    async def read(ctx: Annotated[LegacyContext, Depends(legacy.context)]) -> Any:
        def size() -> int:
            return len(request.get_data())

        return {"size": await ctx.run(size)}

    client = PortClient(modern)
    assert client.post("/upload", content=b"x" * 5000).json() == {"method": "POST"}
    assert client.post("/read", content=b"x" * 5000).status_code == 500  # it reads: refused


def test_a_chunked_form_reaches_flask() -> None:
    app = flask_app()
    modern, legacy = port(app)

    @modern.post("/form")
    def form(ctx: Annotated[LegacyContext, Depends(legacy.context)]) -> Any:
        with ctx:
            return dict(request.form)

    async def chunks() -> Any:
        yield b"a=1&"
        yield b"b=2"

    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=modern)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            headers = {"Content-Type": "application/x-www-form-urlencoded"}
            return await client.post("/form", content=chunks(), headers=headers)

    answer = asyncio.run(send())
    assert answer.json() == {"a": "1", "b": "2"}


def test_teardown_is_told_of_no_error_for_an_answered_abort() -> None:
    """As for a Flask view: abort(404) is answered by the error handlers, so teardown
    gets None (a teardown that commits when exc is None does so); an exception nobody
    answers is passed on."""
    app = flask_app()
    torn: list[Any] = []
    app.teardown_request(lambda exc: torn.append(type(exc).__name__ if exc else None))
    modern, legacy = port(app)

    @modern.get("/abort")
    def aborted(ctx: Annotated[LegacyContext, Depends(legacy.context)]) -> Any:
        with ctx:
            abort(404)

    @modern.get("/http")
    def http(ctx: Annotated[LegacyContext, Depends(legacy.context)]) -> Any:
        with ctx:
            raise HTTPException(409)

    @modern.get("/crash")
    def crash(ctx: Annotated[LegacyContext, Depends(legacy.context)]) -> Any:
        with ctx:
            raise ValueError("no")

    client = PortClient(modern, raise_app_exceptions=False)
    assert client.get("/abort").status_code == 404
    assert client.get("/http").status_code == 409
    torn_by_answers = list(torn)
    assert client.get("/crash").status_code == 500
    # each answer also runs one request of the app for its page: those tear down clean
    assert set(torn_by_answers) == {None}
    assert "ValueError" in torn[len(torn_by_answers) :]


def test_headers_an_after_request_hook_adds_twice_arrive_twice() -> None:
    app = flask_app()

    @app.after_request
    def links(response: Any) -> Any:
        response.headers.add("Link", "</a>; rel=next")
        response.headers.add("Link", "</b>; rel=prev")
        return response

    modern, legacy = port(app)

    @modern.get("/links")
    def with_links(ctx: Annotated[LegacyContext, Depends(legacy.context)]) -> Any:
        with ctx:
            return {}

    answer = PortClient(modern).get("/links")
    assert answer.headers.get_list("link") == ["</a>; rel=next", "</b>; rel=prev"]
