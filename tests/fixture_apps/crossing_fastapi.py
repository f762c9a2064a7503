"""The FastAPI port of tests/fixture_apps/crossing_flask.py, crossing with routeshift.compat:
each route does what its legacy view did, on the legacy app's own machinery.

No `from __future__ import annotations`: the dependencies are local names that FastAPI
must see as objects, not strings.
"""

from typing import Annotated, Any

from fastapi import Depends, FastAPI, Form, HTTPException
from flask import current_app, g, url_for
from flask_login import current_user, login_required, logout_user

from fixture_apps import crossing_flask
from routeshift.compat import FlaskJSONResponse, Legacy, LegacyContext


def create_port(flask_app: Any, *, registry: str | None = None) -> FastAPI:
    legacy = Legacy(flask_app, registry=registry)
    app = FastAPI(title="crossing port")
    legacy.install(app)
    Context = Annotated[LegacyContext, Depends(legacy.context)]
    Session = Annotated[Any, Depends(legacy.session)]
    LoggedIn = Annotated[LegacyContext, Depends(legacy.guard(login_required))]

    @app.get("/api/profile", response_class=FlaskJSONResponse)
    def profile(ctx: LoggedIn) -> Any:
        with ctx:
            return FlaskJSONResponse(
                {"id": current_user.id, "name": current_user.name, "locale": g.locale}
            )

    @app.get("/api/items/{item_id}", response_class=FlaskJSONResponse)
    def item(item_id: int, ctx: Context) -> Any:
        if item_id > 10:
            raise HTTPException(410, detail=f"item {item_id} is gone")
        with ctx:
            url = url_for("api.item", item_id=item_id, _external=True)
        return FlaskJSONResponse({"id": item_id, "url": url})

    @app.get("/session", response_class=FlaskJSONResponse)
    async def show_session(session: Session) -> Any:
        return FlaskJSONResponse({k: v for k, v in session.items() if not k.startswith("_")})

    @app.post("/session/greeting")
    async def greet(session: Session, greeting: Annotated[str, Form()]) -> Any:
        session["greeting"] = greeting
        return FlaskJSONResponse({"ok": True})

    @app.post("/session/clear")
    async def clear(session: Session) -> Any:
        session.clear()
        return FlaskJSONResponse({"ok": True})

    @app.post("/notes")
    def notes(ctx: Context, text: Annotated[str, Form()]) -> Any:
        with ctx:
            form = crossing_flask.NoteForm()
            if form.validate_on_submit():
                return FlaskJSONResponse({"saved": form.text.data})
            raise HTTPException(400, detail="The CSRF token is missing.")

    @app.post("/logout")
    async def logout(ctx: Context) -> Any:
        await ctx.run(logout_user)
        return FlaskJSONResponse({"ok": True})

    @app.get("/hooks")
    async def hooks(ctx: Context) -> Any:
        def read() -> dict[str, Any]:
            return {"hooks": g.hooks, "app": current_app.name}

        return FlaskJSONResponse(await ctx.run(read))

    @app.get("/boom")
    def boom() -> Any:
        raise RuntimeError("the port broke")

    return app
