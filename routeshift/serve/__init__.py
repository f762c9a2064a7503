"""The request path: the gateway assembled from its parts (assemble), the ASGI app
(gateway), the registry watcher (reload), the legacy bridge (bridge), shadow copies
(shadow), metrics (metrics) and the admin pages (admin)."""

__all__: list[str] = []
