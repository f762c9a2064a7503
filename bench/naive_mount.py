"""Reference point for the benchmark: the legacy Flask app mounted with a2wsgi as it comes.

`uvicorn bench.naive_mount:app` (working directory: the repository root). This is what
routeshift's bridge is measured against: a FastAPI app with
`app.mount("/", WSGIMiddleware(flask_app))` and a2wsgi's defaults (10 worker threads).
"""

from __future__ import annotations

from a2wsgi import WSGIMiddleware
from fastapi import FastAPI

import legacy_flask

app = FastAPI()
app.mount("/", WSGIMiddleware(legacy_flask.app))  # type: ignore[arg-type]
