"""routeshift: move a Flask app to FastAPI one route at a time.

The gateway (`routeshift.gateway.build_gateway`) serves every route of a legacy Flask
app from the legacy or the modern side, as the registry (`migration_status.yaml`) says.
"""

from __future__ import annotations

from routeshift.errors import AppImportError, RegistryError, RouteshiftError

__version__ = "0.1.0"

__all__ = ["AppImportError", "RegistryError", "RouteshiftError", "__version__"]
