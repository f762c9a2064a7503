"""The FastAPI side of flaskr's migration: the ports of GET / and GET /auth/login."""

from fastapi import FastAPI

from modern_api import auth_login, blog_index
from modern_api.legacy import legacy

app = FastAPI(title="modern")
legacy.install(app)
app.include_router(blog_index.router)
app.include_router(auth_login.router)
