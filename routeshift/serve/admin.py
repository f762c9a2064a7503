"""The gateway's own pages: `/_routeshift/` (HTML), `/_routeshift/status.json` and `/metrics`.

The prefix and the metrics path are the registry's `settings.admin_prefix` and
`settings.metrics_path`, read per request (a hot reload may change them); the gateway
asks `AdminPaths.matches` before it classifies a request and hands those to `Admin`.

Who may look: with ROUTESHIFT_ADMIN_TOKEN set, a request with `Authorization: Bearer
<token>` (from anywhere, loopback included; 401 otherwise). Without a token, only a
client whose direct peer address is loopback (127.0.0.0/8, ::1); X-Forwarded-For is not
trusted, since anyone can send it. Behind a proxy every request comes from the proxy:
set a token there. The pages show what the store kept, which is redacted already, and
of a mismatch only where the replies differ, never the values.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hmac
import ipaddress
import json
import logging
import os
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast

from routeshift._asgi import Message, Receive, Send, header, local_path
from routeshift.errors import StoreError
from routeshift.prove.cases import case_endpoints
from routeshift.track.history import load_history
from routeshift.track.report.html import format_status_html
from routeshift.track.report.progress import build_progress, status_document

if TYPE_CHECKING:
    from routeshift.apps.pair import Apps
    from routeshift.registry.model import Registry, Settings
    from routeshift.serve.metrics import Metrics
    from routeshift.store.records import ShadowSummary, Verification
    from routeshift.store.sql import Store
    from routeshift.track.history import History
    from routeshift.track.report.progress import Progress

__all__ = [
    "ENV_ADMIN_TOKEN",
    "Admin",
    "AdminPaths",
    "AdminSource",
    "GatewayFigures",
    "admin_token_from_env",
    "is_loopback",
]

logger = logging.getLogger("routeshift.serve.gateway")
T = TypeVar("T")

ENV_ADMIN_TOKEN = "ROUTESHIFT_ADMIN_TOKEN"
#: seconds between reloads of the HTML page
REFRESH_SECONDS = 10
#: seconds the admin pages may show store figures that old (a page load, not a query each)
STORE_CACHE_SECONDS = 2.0
#: seconds the page may show a history that old (git is asked, or the store, once each)
HISTORY_CACHE_SECONDS = 30.0

_HTML_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


class AdminSource(Protocol):
    """What the admin pages read (GatewayFigures at assembly). Each is read per request."""

    @property
    def registry(self) -> Registry: ...

    @property
    def apps(self) -> Apps: ...

    @property
    def metrics(self) -> Metrics: ...

    def shadow_summaries(self) -> Mapping[str, ShadowSummary]: ...

    def verifications(self) -> Mapping[str, Verification]: ...

    def case_endpoints(self) -> Collection[str]: ...

    def history(self) -> History | None: ...


class _HasRegistry(Protocol):
    @property
    def registry(self) -> Registry: ...


class GatewayFigures:
    """The admin pages' source in a running gateway: the registry as it serves now (from
    the watcher), the apps, the metrics, and the store's figures, cached for
    STORE_CACHE_SECONDS (a store that fails gives none, logged)."""

    def __init__(self, live: _HasRegistry, apps: Apps, metrics: Metrics, store: Store) -> None:
        self.live = live
        self.apps = apps
        self.metrics = metrics
        self.store = store
        self._cache: dict[str, tuple[float, Any]] = {}

    @property
    def registry(self) -> Registry:
        return self.live.registry

    def shadow_summaries(self) -> Mapping[str, ShadowSummary]:
        return self._cached("shadow", self.store.shadow_summaries, {})

    def verifications(self) -> Mapping[str, Verification]:
        return self._cached("verifications", self.store.verifications, {})

    def case_endpoints(self) -> Collection[str]:
        return self._cached("cases", lambda: case_endpoints(self.registry.contracts_dir), set())

    def history(self) -> History | None:
        """The migration over time: the registry's git history, else the store's snapshots
        (routeshift.track.history), at most every HISTORY_CACHE_SECONDS."""
        return self._cached(
            "history",
            lambda: load_history(self.registry, self.store),
            None,
            seconds=HISTORY_CACHE_SECONDS,
        )

    def _cached(
        self, key: str, load: Callable[[], T], empty: T, *, seconds: float = STORE_CACHE_SECONDS
    ) -> T:
        """`load()`, at most every `seconds`; `empty` when the store fails."""
        now = time.monotonic()
        hit = self._cache.get(key)
        if hit is not None and now - hit[0] < seconds:
            return cast(T, hit[1])
        try:
            value = load()
        except StoreError as exc:
            logger.warning("the admin pages cannot read the store: %s", exc)
            value = empty
        self._cache[key] = (now, value)
        return value


def admin_token_from_env() -> str | None:
    """ROUTESHIFT_ADMIN_TOKEN, None when unset or blank (a blank token would let anyone in)."""
    token = os.environ.get(ENV_ADMIN_TOKEN, "").strip()
    return token or None


@dataclass(frozen=True, slots=True)
class AdminPaths:
    """The gateway's own paths: the admin prefix (and below it) and the metrics path."""

    prefix: str  # without its trailing slash
    metrics: str

    @classmethod
    def of(cls, settings: Settings) -> AdminPaths:
        return cls(settings.admin_prefix.rstrip("/"), settings.metrics_path)

    @property
    def page(self) -> str:
        return self.prefix + "/"

    @property
    def status(self) -> str:
        return self.prefix + "/status.json"

    def matches(self, path: str) -> bool:
        """Whether the gateway's own pages answer `path` (below the root_path)."""
        return path == self.metrics or path == self.prefix or path.startswith(self.page)


def is_loopback(client: Any) -> bool:
    """Whether an ASGI `client` (host, port) is this machine; unknown peers are not."""
    if not client:
        return False
    try:
        address = ipaddress.ip_address(str(client[0]).split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


@dataclass(frozen=True, slots=True)
class Response:
    """One whole response of the admin pages."""

    status: int
    body: bytes
    headers: tuple[tuple[bytes, bytes], ...] = ()

    @classmethod
    def text(cls, status: int, message: str, *headers: tuple[bytes, bytes]) -> Response:
        return cls(status, (message + "\n").encode(), (_PLAIN, *headers))

    async def send(self, scope: Message, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": self.status,
                "headers": [
                    *self.headers,
                    (b"content-length", str(len(self.body)).encode()),
                    (b"cache-control", b"no-store"),
                    (b"x-content-type-options", b"nosniff"),
                ],
            }
        )
        body = b"" if scope["method"] == "HEAD" else self.body
        await send({"type": "http.response.body", "body": body})

    def __repr__(self) -> str:
        return f"Response({self.status}, {len(self.body)} bytes)"


_PLAIN = (b"content-type", b"text/plain; charset=utf-8")


class Admin:
    """ASGI app of the admin pages and /metrics (the gateway routes them here)."""

    def __init__(self, source: AdminSource, *, token: str | None) -> None:
        """`token`: ROUTESHIFT_ADMIN_TOKEN (see admin_token_from_env); None or blank for
        loopback-only access."""
        self.source = source
        self.token = (token or "").strip() or None
        self._token = (self.token or "").encode()

    async def __call__(self, scope: Message, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
            return
        await self.serve(scope, send, local_path(scope))

    async def serve(self, scope: Message, send: Send, path: str) -> None:
        """Answer an HTTP request for `path` (its local_path, as the gateway has it)."""
        response = self._refusal(scope)
        if response is None:
            response = await self._answer(scope, path)
        await response.send(scope, send)

    async def _answer(self, scope: Message, path: str) -> Response:
        paths = AdminPaths.of(self.source.registry.settings)
        if path == paths.prefix and path != paths.metrics:
            return _redirect(scope, paths.page)
        page = {
            paths.metrics: self._metrics,
            paths.page: self._html,
            paths.status: self._json,
        }.get(path)
        if page is None:
            pages = ", ".join((paths.page, paths.status, paths.metrics))
            return Response.text(404, f"{path} is not one of routeshift's admin pages: {pages}.")
        if scope["method"] not in ("GET", "HEAD"):
            return Response.text(405, f"{path} answers GET and HEAD.", (b"allow", b"GET, HEAD"))
        # off the event loop: the store, the metrics files and the page take a while
        return await asyncio.to_thread(page, scope)

    # --- who may look -------------------------------------------------------------

    def _refusal(self, scope: Message) -> Response | None:
        """None when the request may see the pages, else the 401 or 403 to send."""
        if self.token is not None:
            given = _bearer(scope)
            if given is not None and hmac.compare_digest(given, self._token):
                return None
            challenge = b'Bearer realm="routeshift"'
            if given is not None:
                challenge += b', error="invalid_token"'
            return Response.text(
                401,
                "routeshift's admin pages need `Authorization: Bearer <token>` with the token "
                f"in {ENV_ADMIN_TOKEN}; this request has "
                f"{'a wrong token' if given is not None else 'no token'}.",
                (b"www-authenticate", challenge),
            )
        client = scope.get("client")
        proxied = [name for name in _PROXY_HEADERS if _header(scope, name) is not None]
        if proxied:
            # a proxy in front (or a client posing as one): the peer address may be the
            # proxy's, or one a server that trusts forwarded headers took from the request
            return Response.text(
                403,
                f"routeshift's admin pages answer a request that came through a proxy "
                f"({proxied[0].decode()}) only with a token: set {ENV_ADMIN_TOKEN} and send "
                "`Authorization: Bearer <token>`.",
            )
        if is_loopback(client):
            return None
        who = str(client[0]) if client else "an unknown address"
        return Response.text(
            403,
            f"routeshift's admin pages answer only loopback clients (this machine) while "
            f"{ENV_ADMIN_TOKEN} is not set, and this request came from {who}. To look from "
            f"elsewhere, or from behind a proxy, set {ENV_ADMIN_TOKEN} and send "
            "`Authorization: Bearer <token>` (X-Forwarded-For is not trusted).",
        )

    # --- the pages ------------------------------------------------------------------

    def progress(self) -> Progress:
        """Where the migration stands, with what the gateway and the store have seen."""
        source = self.source
        registry, apps = source.registry, source.apps
        return build_progress(
            registry,
            apps.legacy_routes,
            apps.modern_routes,
            verifications=source.verifications(),
            case_endpoints=source.case_endpoints(),
            generated_at=dt.datetime.now(dt.UTC).replace(microsecond=0),
            shadow=source.shadow_summaries(),
            traffic=source.metrics.traffic(),
            history=source.history(),
        )

    def status_document(self) -> dict[str, Any]:
        """The JSON of /_routeshift/status.json: `routeshift status --format json`'s schema."""
        return status_document(self.progress())

    def _metrics(self, scope: Message) -> Response:
        body, content_type = self.source.metrics.render(_header(scope, b"accept"))
        return Response(200, body, ((b"content-type", content_type.encode("latin-1")),))

    def _json(self, scope: Message) -> Response:
        body = json.dumps(self.status_document(), indent=2, ensure_ascii=False) + "\n"
        return Response(200, body.encode(), ((b"content-type", b"application/json"),))

    def _html(self, scope: Message) -> Response:
        page = format_status_html(self.progress(), live=True, refresh=REFRESH_SECONDS)
        return Response(
            200,
            page.encode(),
            (
                (b"content-type", b"text/html; charset=utf-8"),
                (b"content-security-policy", _HTML_POLICY.encode()),
                (b"referrer-policy", b"no-referrer"),
            ),
        )


#: headers a proxy adds; without a token, a request that has one is not let in
_PROXY_HEADERS = (b"x-forwarded-for", b"forwarded", b"x-real-ip")


def _redirect(scope: Message, target: str) -> Response:
    location = scope.get("root_path", "") + target
    if scope.get("query_string"):
        location += "?" + scope["query_string"].decode("latin-1")
    return Response.text(307, f"See {target}", (b"location", location.encode()))


def _bearer(scope: Message) -> bytes | None:
    value = _header(scope, b"authorization")
    if value is None:
        return None
    scheme, _, credentials = value.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return credentials.strip().encode("latin-1")


def _header(scope: Message, name: bytes) -> str | None:
    value = header(scope, name)
    return None if value is None else bytes(value).decode("latin-1")
