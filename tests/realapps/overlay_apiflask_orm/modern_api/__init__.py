"""The FastAPI side of the ORM example's migration: the ports of GET /pets/<int:pet_id>
(in the app context) and GET /pets (Core statements on the app's engine)."""

from fastapi import FastAPI

from modern_api import get_pet, get_pets
from modern_api.legacy import legacy

# The legacy app has routes at FastAPI's docs paths, so they are off here.
app = FastAPI(title="modern", docs_url=None, openapi_url=None)
legacy.install(app)
app.include_router(get_pet.router)
app.include_router(get_pets.router)
