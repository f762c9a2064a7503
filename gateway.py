"""Composition root: `uvicorn gateway:app` serves the app the registry describes.

The registry is migration_status.yaml in the working directory, or the file that
MIGRATION_STATUS names.
"""

from __future__ import annotations

from routeshift import app_from_environment

app = app_from_environment()
