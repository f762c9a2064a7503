"""The guards of a legacy view, and the case that proves its port keeps them.

A view behind Flask-Login's `login_required`, Flask-HTTPAuth's `auth.login_required` or
an app's own decorator (flaskr's) refuses a request without credentials: 401, 403, or a
redirect to the login page. Such decorators use functools.wraps, so the function in
`view_functions[endpoint]` has `__wrapped__`; the code object of each wrapper names the
decorator that made it (`login_required.<locals>.decorated_view`). The samples scaffold
sends carry the `--header` credentials and say nothing of the refusal, so a guarded
view's case file also gets an `unauthenticated` case: the first sample request without
them and without cookies. The contract fails when the port answers it with success
where legacy refused (routeshift.compare.GuardBreach). Pure: reads function objects only.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from routeshift.prove.cases import Case

__all__ = [
    "GUARD_WORDS",
    "UNAUTHENTICATED",
    "decorator_name",
    "guard_comment",
    "is_guard",
    "unauthenticated_case",
    "view_guards",
]

#: the id of the case sent without credentials
UNAUTHENTICATED = "unauthenticated"
#: words in a decorator's name that make it a guard (Flask-Login, Flask-HTTPAuth,
#: Flask-Security, Flask-JWT-Extended, Flask-Principal and apps' own decorators)
GUARD_WORDS = (
    "login",
    "auth",
    "permission",
    "role",
    "require",
    "token",
    "jwt",
    "admin",
    "access",
    "protect",
    "signed",
    "user",
)
#: a chain of wrappers longer than this is a cycle (inspect.unwrap's own bound is larger)
_MAX_DEPTH = 100


def view_guards(view: Any) -> tuple[str, ...]:
    """The guards around `view`, outermost first: the decorators that leave
    `__wrapped__` (as functools.wraps does) and whose name says they check who asks
    (`is_guard`); () for a view that has none. APIFlask's `output` or a cache
    decorator wraps a view too, and guards nothing."""
    names: list[str] = []
    depth = 0
    while hasattr(view, "__wrapped__") and depth < _MAX_DEPTH:
        name = decorator_name(view)
        if is_guard(name):
            names.append(name)
        view = view.__wrapped__
        depth += 1
    return tuple(dict.fromkeys(names))


def is_guard(name: str) -> bool:
    """A decorator's name that says it checks who asks: login_required, auth_required,
    roles_accepted, permission_required, token_required, admin_only, ..."""
    lowered = name.lower()
    return any(word in lowered for word in GUARD_WORDS)


def decorator_name(wrapper: Any) -> str:
    """The decorator that made `wrapper`: the function whose local it is (the qualified
    name of its code, which functools.wraps leaves alone), without its class:
    `HTTPAuth.login_required.<locals>...decorated` -> login_required."""
    code = getattr(wrapper, "__code__", None)
    if code is None:  # a decorator object (functools.update_wrapper on an instance)
        return type(wrapper).__name__
    qualname: str = getattr(code, "co_qualname", code.co_name)
    outer, found, _ = qualname.partition(".<locals>.")
    return outer.rpartition(".")[2] if found else code.co_name


def unauthenticated_case(first: Case, credentials: Mapping[str, str]) -> Case:
    """`first` (the route's first sample request) as the `unauthenticated` case: without
    the `credentials` headers (scaffold's --header), a Cookie or a case `session:`."""
    dropped = {name.lower() for name in credentials} | {"cookie"}
    headers = {k: v for k, v in first.headers.items() if k.lower() not in dropped}
    return dataclasses.replace(
        first, id=UNAUTHENTICATED, headers=headers, session=None, file="", line=0
    )


def guard_comment(guards: tuple[str, ...]) -> str:
    """Why the unauthenticated case is in the case file."""
    return (
        f"the view is decorated ({', '.join(guards)}): the port must refuse this request "
        "as legacy does"
    )
