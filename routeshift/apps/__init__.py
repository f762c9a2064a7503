"""The two apps a registry names: importing them (importer), what routeshift sees of
them (pair) and running a child app's lifespan (lifespan)."""

__all__: list[str] = []
