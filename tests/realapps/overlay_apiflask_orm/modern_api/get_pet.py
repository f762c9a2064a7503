"""GET /pets/<int:pet_id>: the port of the example's get_pet (started with `routeshift
scaffold get_pet`, whose response model it keeps): one pet, read with the app's own
Flask-SQLAlchemy `db` inside its app context, so the port sees every write the legacy
views made; an unknown id is `db.get_or_404`'s 404, which APIFlask answers in JSON.
"""

from __future__ import annotations

from app import PetModel, db
from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from modern_api.legacy import Context
from routeshift.compat import FlaskJSONResponse


class GetPetResponse(BaseModel):
    """What legacy answers to GET /pets/<int:pet_id>."""

    model_config = ConfigDict(from_attributes=True)

    category: str
    id: int
    name: str


router = APIRouter()


@router.get("/pets/{pet_id}", response_model=GetPetResponse, response_class=FlaskJSONResponse)
def get_pet(pet_id: int, ctx: Context) -> FlaskJSONResponse:
    """The pet `pet_id`."""
    with ctx:
        pet = db.get_or_404(PetModel, pet_id)
        return FlaskJSONResponse(GetPetResponse.model_validate(pet))
