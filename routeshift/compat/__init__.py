"""The crossing between the apps: ported routes reusing the legacy app's session, auth,
errors, JSON and URLs, on the legacy app's own machinery (its session_interface, error
handlers, `app.json` provider and url_map), never a second implementation.

    from routeshift.compat import Legacy, LegacyContext, FlaskJSONResponse

Every name below is loaded on first use (as the package root does), so importing
`routeshift.compat` imports neither Flask nor FastAPI until a name is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

#: public name -> the module that defines it (one import path per name)
_EXPORTS = {
    "Legacy": "routeshift.compat.legacy",
    "LegacyContext": "routeshift.compat.context",
    "LegacyAnswered": "routeshift.compat.context",
    "FlaskJSONResponse": "routeshift.compat.flask_json",
    "LegacyBodyErrors": "routeshift.compat.envelope",
    "legacy_body_errors": "routeshift.compat.envelope",
    "legacy_url_for": "routeshift.compat.urls",
    "add_build_only_rules": "routeshift.compat.urls",
    "query_arg": "routeshift.compat.query",
    "query_list": "routeshift.compat.query",
    "LegacyDatabase": "routeshift.compat.database",
    "Queries": "routeshift.compat.queries",
    "RequestQueries": "routeshift.compat.queries",
    "fresh_database": "routeshift.compat.state",
    "is_shadow": "routeshift.compat.crossing",
}

__all__ = [
    "FlaskJSONResponse",
    "Legacy",
    "LegacyDatabase",
    "LegacyAnswered",
    "LegacyBodyErrors",
    "LegacyContext",
    "Queries",
    "RequestQueries",
    "add_build_only_rules",
    "fresh_database",
    "is_shadow",
    "legacy_body_errors",
    "legacy_url_for",
    "query_arg",
    "query_list",
]

if TYPE_CHECKING:
    from routeshift.compat.context import LegacyAnswered, LegacyContext
    from routeshift.compat.crossing import is_shadow
    from routeshift.compat.database import LegacyDatabase
    from routeshift.compat.envelope import LegacyBodyErrors, legacy_body_errors
    from routeshift.compat.flask_json import FlaskJSONResponse
    from routeshift.compat.legacy import Legacy
    from routeshift.compat.queries import Queries, RequestQueries
    from routeshift.compat.query import query_arg, query_list
    from routeshift.compat.state import fresh_database
    from routeshift.compat.urls import add_build_only_rules, legacy_url_for


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'routeshift.compat' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
