"""A partial FastAPI port of flask_shop, with routes of its own and a lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse

#: Lifespan events of every app created here, in order ("startup", "shutdown").
events: list[str] = []


def create_app() -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, str]]:
        events.append("startup")
        yield {"greeting": "hello from lifespan"}
        events.append("shutdown")

    app = FastAPI(lifespan=lifespan)
    items = APIRouter(prefix="/items")  # an included router, as real FastAPI apps have

    @items.get("/{item_id}")
    async def get_item(item_id: int) -> dict[str, object]:
        return {"side": "modern", "item_id": item_id, "method": "GET"}

    @items.post("/{item_id}")
    async def post_item(item_id: int) -> dict[str, object]:
        return {"side": "modern", "item_id": item_id, "method": "POST"}

    @items.patch("/{item_id}")
    async def patch_item(item_id: int) -> dict[str, object]:
        """Modern-only: the legacy app has no PATCH on this rule."""
        return {"side": "modern", "item_id": item_id, "method": "PATCH"}

    @items.get("/")
    async def listing() -> dict[str, object]:
        return {"side": "modern", "items": [1, 2]}

    app.include_router(items)

    @app.get("/items")
    async def listing_no_slash() -> dict[str, object]:
        return {"side": "modern", "items": "no-slash"}

    @app.get("/prices/{amount}")
    async def price(amount: str) -> dict[str, object]:
        return {"side": "modern", "amount": amount}

    @app.get("/files/{name:path}")
    async def file(name: str) -> dict[str, object]:
        return {"side": "modern", "name": name}

    @app.get("/pages/{name}")
    async def page(name: str) -> dict[str, object]:
        return {"side": "modern", "page": name}

    @app.get("/dirs/")
    async def dirs() -> dict[str, object]:
        return {"side": "modern", "dirs": True}

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("modern boom")

    @app.get("/both")
    async def both() -> dict[str, object]:
        return {"side": "modern", "method": "GET"}

    @app.get("/new-feature")
    async def new_feature(request: Request) -> dict[str, object]:
        return {"side": "modern", "greeting": request.state.greeting}

    @app.get("/headers")
    async def headers(request: Request) -> JSONResponse:
        response = JSONResponse({"side": "modern"})
        response.set_cookie("m1", "1")
        response.set_cookie("m2", "2")
        return response

    return app


app = create_app()
