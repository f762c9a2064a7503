from __future__ import annotations

from routeshift.cli import main

main()
