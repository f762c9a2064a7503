"""URLs both ways between the apps, on the legacy app's own url_map: never a second
router that could build a URL werkzeug would not.

Legacy code keeps building URLs with `url_for` while its routes move, templates and
views alike. A route stays in the url_map while legacy still has its view, whichever
side serves it; once the view is removed (the port took over, or the route was dropped,
and `routeshift sync` marked its entry retired), the rule goes with it, and every
`url_for` that still names the endpoint would raise BuildError.
`add_build_only_rules` puts such rules back as werkzeug build-only rules: `url_for`
builds them as before, and no request ever matches them (werkzeug keeps them out of its
matcher), so the gateway's classification is the same with them as without. Having no
view, they are not routes of the migration for routeshift's listings either
(`LegacyRoute.has_view`).
"""

from __future__ import annotations

import logging
from typing import Any

from werkzeug.routing import Rule

from routeshift.registry.model import Registry

__all__ = ["add_build_only_rules"]

logger = logging.getLogger("routeshift.compat")


def add_build_only_rules(flask_app: Any, registry: Registry) -> tuple[str, ...]:
    """Add a build-only rule to `flask_app.url_map` for each (endpoint, rule) the
    registry lists whose endpoint the url_map lacks (the retired entries are exactly the
    removed views); return the endpoints added, in the registry's order.

    An endpoint the url_map has is left alone, so a second call adds nothing. A rule
    the map cannot take (a converter the app no longer registers) is logged and skipped:
    `url_for` of it fails as it did before.
    """
    url_map = flask_app.url_map
    present = {rule.endpoint for rule in url_map.iter_rules()}
    wanted: dict[tuple[str, str], set[str]] = {}
    for entry in registry.routes:
        if entry.endpoint not in present:
            wanted.setdefault((entry.endpoint, entry.rule), set()).update(entry.methods)
    added: dict[str, None] = {}
    for (endpoint, rule), methods in wanted.items():
        try:
            url_map.add(Rule(rule, endpoint=endpoint, methods=sorted(methods), build_only=True))
        except (LookupError, ValueError) as exc:  # werkzeug: unknown converter, bad rule
            logger.warning("url_for cannot build %s of the registry (%s): %s", endpoint, rule, exc)
            continue
        added[endpoint] = None
    return tuple(added)
