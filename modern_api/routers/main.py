"""The port of blueprint `main`'s JSON route (the HTML page stays in legacy)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter

from routeshift.compat import FlaskJSONResponse

router = APIRouter(tags=["main"])


@router.get("/slow", response_class=FlaskJSONResponse)
async def slow() -> dict[str, str]:
    await asyncio.sleep(0.05)  # the 50 ms report query, awaited instead of blocking
    return {"result": "done"}
