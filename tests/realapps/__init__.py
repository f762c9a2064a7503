"""routeshift on real Flask apps (see support.py)."""
