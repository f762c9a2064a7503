"""GET /pets: the port of the example's get_pets (`PetModel.query.all()`), as a Core
statement on the app's own engine through `LegacyDatabase(...).queries`: an async
handler, one worker-thread hop on the example's SQLite, no app context."""

from __future__ import annotations

from app import PetModel
from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import select

from modern_api.legacy import Queries
from routeshift.compat import FlaskJSONResponse


class Pet(BaseModel):
    """One pet as legacy's PetOut schema writes it."""

    category: str
    id: int
    name: str


router = APIRouter()

#: `PetModel.query.all()`: every pet, in the table's order (SQLite's rowid, the id)
PETS = select(PetModel.__table__).order_by(PetModel.__table__.c.id)


@router.get("/pets", response_model=list[Pet], response_class=FlaskJSONResponse)
async def get_pets(db: Queries) -> FlaskJSONResponse:
    """Every pet."""
    return FlaskJSONResponse([Pet.model_validate(row) for row in await db.fetch_all(PETS)])
