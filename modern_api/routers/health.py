"""Modern-only: not the port of any legacy rule."""

from __future__ import annotations

from fastapi import APIRouter

from modern_api.schemas import Health

router = APIRouter(tags=["ops"])


@router.get("/health", response_model=Health)
async def health() -> Health:
    return Health()
