"""The FastAPI side of the token example's migration: the ports of its two routes."""

from fastapi import FastAPI

from modern_api import get_secret, get_token
from modern_api.legacy import legacy

# The legacy app has routes at FastAPI's docs paths, so they are off here.
app = FastAPI(title="modern", docs_url=None, openapi_url=None)
legacy.install(app)
app.include_router(get_token.router)
app.include_router(get_secret.router)
