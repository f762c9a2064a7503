"""URLs both ways between the apps, on the legacy app's own url_map: never a second
router that could build a URL werkzeug would not.

Modern code builds legacy URLs with `legacy_url_for(endpoint, **values)`: the string
Flask's `url_for` gives for the request being answered (its root path, host and scheme;
`_external`, `_anchor`, `_method`, `_scheme`, query arguments for values the rule does not
take, and the app's `url_defaults`), so a port's `_links` or `Location` match legacy's.

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

import flask
from flask.ctx import RequestContext
from werkzeug.routing import Rule

from routeshift.compat.crossing import current_crossing
from routeshift.registry.model import Registry

__all__ = ["add_build_only_rules", "legacy_url_for"]

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


def legacy_url_for(endpoint: str, **values: Any) -> str:
    """Flask's `url_for(endpoint, **values)` for the request being answered: the legacy
    app's url_map, under the request's root path and host. Inside a `LegacyContext` it
    is Flask's own call; elsewhere in a port (sync or async; `Legacy.install` on the app)
    a request context of the request is pushed for the call, with no session opened.
    werkzeug's BuildError, with its "Did you mean", when the endpoint cannot be built."""
    crossing = current_crossing()
    app = crossing.flask_app
    if flask.has_request_context() and _current_app() is app:
        return flask.url_for(endpoint, **values)
    null_session = app.session_interface.make_null_session(app)
    with RequestContext(app, crossing.environ(), session=null_session):
        return flask.url_for(endpoint, **values)


def _current_app() -> Any:
    """The app behind Flask's `current_app` proxy (werkzeug's LocalProxy)."""
    return flask.current_app._get_current_object()  # type: ignore[attr-defined]
