from __future__ import annotations

from routeshift.cli import main

__all__: list[str] = []

main()
