"""The one place a decision reaches the response: `Stamp` wraps the ASGI send of a request
the gateway routes, for either side (the gateway, its shadow copies and the contract
harness all answer through it).

- every response gets `X-Served-By: legacy|modern`;
- the methods the modern app serves on a path that legacy's Allow does not know are
  merged into it (OPTIONS and 405 answers of legacy);
- a HEAD the modern side serves as a GET (`modern_scope` turns its method) loses the
  body, as werkzeug drops it for a HEAD;
- `modern_scope` also hands the modern side the route's registry entry, in
  `scope["state"]["routeshift_route"]` (routeshift.compat reads its error_format);
- the status is kept for the metrics.
"""

from __future__ import annotations

from routeshift._asgi import Headers, Message, Scope, Send
from routeshift.apps.dispatch import SCOPE_KEY
from routeshift.decide.decision import Decision, Side

__all__ = ["Stamp", "merge_allow", "modern_scope"]

_SERVED_BY = {
    Side.LEGACY: (b"x-served-by", b"legacy"),
    Side.MODERN: (b"x-served-by", b"modern"),
}


def modern_scope(scope: Scope, decision: Decision) -> Scope:
    """The scope the modern app sees: a HEAD it serves as a GET has method GET, a route
    of the registry has its entry in `scope["state"]["routeshift_route"]` (in a new
    state dict: the server's own is never changed), and a route direct dispatch serves
    carries its bound Direct to the seam (routeshift.apps.dispatch.SCOPE_KEY)."""
    entry = decision.entry
    if entry is None:
        return dict(scope, method="GET") if decision.head_as_get else scope
    state = {**(scope.get("state") or {}), "routeshift_route": entry}
    modern = dict(scope, state=state)
    if decision.head_as_get:
        modern["method"] = "GET"
    direct = decision.direct
    if direct is not None and direct.params is not None:
        modern[SCOPE_KEY] = direct
    return modern


class Stamp:
    """An ASGI send that finishes the response as `decision` says for the side that
    serves it (`side`: the decision's own unless given; a shadow copy is a modern answer
    of a legacy decision). `status` is the status sent, 0 until the response starts."""

    __slots__ = ("send", "served_by", "extra_allow", "drop_body", "status")

    def __init__(self, send: Send, decision: Decision, side: Side | None = None) -> None:
        side = decision.side if side is None else side
        self.send = send
        self.served_by = _SERVED_BY[side]
        self.extra_allow = decision.extra_allow
        self.drop_body = decision.head_as_get and side is Side.MODERN
        self.status = 0

    async def __call__(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            self.status = message["status"]
            headers: Headers = [*message.get("headers", ()), self.served_by]
            if self.extra_allow:
                _merge_allow(headers, self.extra_allow)
            message = dict(message, headers=headers)
        elif self.drop_body and kind == "http.response.body":
            message = dict(message, body=b"")
        await self.send(message)


def merge_allow(allow: str, extra: frozenset[str]) -> str:
    """An Allow header's value with the methods of `extra` it lacks added, sorted."""
    have = [m.strip() for m in allow.split(",") if m.strip()]
    return ", ".join(have + sorted(m for m in extra if m not in have))


def _merge_allow(headers: Headers, extra: frozenset[str]) -> None:
    for index, (name, value) in enumerate(headers):
        if name.lower() == b"allow":
            merged = merge_allow(bytes(value).decode("latin-1"), extra)
            headers[index] = (b"allow", merged.encode("latin-1"))
            return
