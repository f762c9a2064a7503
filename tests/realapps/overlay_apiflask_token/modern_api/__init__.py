"""The FastAPI side of the token example's migration: the ports of its two routes."""

from fastapi import FastAPI

from modern_api import get_secret, get_token
from modern_api.legacy import legacy

# The legacy app has routes at FastAPI's docs paths, so they are off here.
app = FastAPI(title="modern", docs_url=None, openapi_url=None)
legacy.install(app)
# WORKAROUND, until routeshift.compat answers it itself (reported to the lead): install's
# handler of Exception sits in Starlette's ServerErrorMiddleware, which sends the app's
# 500 and then re-raises, so a port with the example's own 500s (IndexError, KeyError)
# fails its contract as "the modern app raised". The same handler for LookupError sits
# in ExceptionMiddleware, which answers without re-raising.
app.add_exception_handler(LookupError, app.exception_handlers[Exception])
app.include_router(get_token.router)
app.include_router(get_secret.router)
