"""Shadow runs: legacy answers the client; the same request runs on modern off the
response path, and the two replies are compared and stored.

For a route in `shadow` state the gateway hands the request to `ShadowRunner.serve`:

1. sampling (`sample` of the entry) and the cap on runs in flight decide first, so a
   request that will not be copied pays nothing more;
2. the legacy side serves the client as it would anyway; on the way the request body
   (up to `shadow_body_limit`) and the legacy reply are copied. The client's bytes are
   never touched, and the client does not wait for anything below;
3. once legacy's last byte is sent, a task runs the copy on the modern app with
   `scope["state"]["routeshift_shadow"] = True` (so a write can be rolled back) beside
   the route's entry in `scope["state"]["routeshift_route"]`, bounded by
   `shadow_timeout_s`; its reply is compared with the route's rules (the same as the
   contract tests') and the observation goes to the store's writer thread.

A run that cannot be made (the cap is reached, more than half of anyio's thread pool is
busy, a body is over the limit, legacy left the request body unread, the client went
away) is skipped and counted, never queued. Copies share the event loop with the served
requests: a modern handler that blocks inside `async def` holds up every request of the
worker, shadow or not (the dashboard's modern latency shows it). A timed-out run keeps
its place under the cap until the modern app really lets go of it, so a hanging handler
cannot pile up.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import anyio.to_thread

from routeshift._asgi import ASGIApp, Message, Receive, Scope, Send, local_path
from routeshift.compare import Difference, Reply, compare
from routeshift.decide.decision import Decision, Shadow, Side
from routeshift.decide.stamp import Stamp, modern_scope
from routeshift.raised import Raised
from routeshift.registry.model import Settings
from routeshift.store.records import Exchange, Observation, ShadowResult

__all__ = [
    "INLINE_COMPARE",
    "WARN_EVERY",
    "ShadowRunner",
]

logger = logging.getLogger("routeshift.serve.shadow")

WARN_EVERY = 60.0  # seconds between two warnings about one endpoint's failing copies
#: bodies up to this size (both together) are compared on the event loop; larger ones
#: in a thread, so that parsing a large JSON body never holds up the served requests
INLINE_COMPARE = 64 * 1024


class _Copy:
    """What passed between the client and legacy: the request body and legacy's reply,
    each kept up to `limit` bytes (`whole` turns False past it)."""

    __slots__ = (
        "limit",
        "body",
        "size",
        "ended",
        "status",
        "headers",
        "reply",
        "reply_size",
        "whole",
    )

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.body: list[bytes] = []
        self.size = 0
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.reply: list[bytes] = []
        self.reply_size = 0
        self.ended = False  # the request's last chunk went by (legacy read it all)
        self.whole = True  # request and reply within the limit

    def request_chunk(self, message: Message) -> None:
        if message["type"] != "http.request" or not self.whole:
            return
        chunk = message.get("body", b"")
        self.size += len(chunk)
        if not message.get("more_body", False):
            self.ended = True
        if self.size > self.limit:
            self.whole = False
            self.body.clear()
        elif chunk:
            self.body.append(chunk)

    def reply_message(self, message: Message) -> bool:
        """Take one message of legacy's reply; True once the reply is complete."""
        kind = message["type"]
        if kind == "http.response.start":
            self.status = message["status"]
            self.headers = list(message.get("headers", ()))
            return False
        if kind != "http.response.body" or not self.whole:
            return False
        chunk = message.get("body", b"")
        self.reply_size += len(chunk)
        if self.reply_size > self.limit:
            self.whole = False
            self.reply.clear()
        elif chunk:
            self.reply.append(chunk)
        return not message.get("more_body", False)


class ShadowRunner:
    """Copies requests of shadow routes to the modern app and reports what it found.

    `record(observation)` hands an observation to the store without blocking; `count(
    endpoint, result)` counts every run, skipped ones included (the metrics); `redact(
    text)` takes the request's values out of an error before it is logged.
    """

    def __init__(
        self,
        modern: ASGIApp,
        *,
        record: Callable[[Observation], object],
        count: Callable[[str, str], None],
        chance: Callable[[], float] = random.random,
        redact: Callable[[str], str] = str,
    ) -> None:
        self.modern = modern
        self.record = record
        self.count = count
        self.chance = chance
        self.redact = redact  # an error's text, before it is logged
        self.in_flight = 0
        self.tasks: set[asyncio.Task[None]] = set()
        self.calls: set[asyncio.Future[None]] = set()  # modern calls, timed out ones too
        self._warned: dict[str, float] = {}

    async def serve(
        self,
        scope: Message,
        receive: Receive,
        send: Send,
        decision: Decision,
        legacy: ASGIApp,
        settings: Settings,
    ) -> None:
        """Serve the request from `legacy`, and copy it to modern when it is picked;
        `settings` are the registry's as this request found them."""
        shadow = decision.shadow
        assert shadow is not None
        if shadow.sample < 1 and self.chance() >= shadow.sample:
            await legacy(scope, receive, send)  # not sampled: not a run, not counted
            return
        if self.in_flight >= settings.shadow_max_in_flight or _threads_short():
            self.count(decision.endpoint, ShadowResult.SKIPPED)
            await legacy(scope, receive, send)
            return
        copy = _Copy(settings.shadow_body_limit)
        complete = False

        async def receive_copy() -> Message:
            message = await receive()
            copy.request_chunk(message)
            return message

        async def send_copy(message: Message) -> None:
            nonlocal complete
            await send(message)
            if copy.reply_message(message):
                complete = True

        started = time.perf_counter()
        await legacy(scope, receive_copy, send_copy)
        legacy_ms = (time.perf_counter() - started) * 1000
        # a copy needs the whole request (a view that left its body unread gives none),
        # the whole reply, and, again, a place under the cap and threads to spare (other
        # runs may have started while legacy was answering)
        if (
            not (complete and copy.whole and copy.ended)
            or self.in_flight >= settings.shadow_max_in_flight
            or _threads_short()
        ):
            self.count(decision.endpoint, ShadowResult.SKIPPED)
            return
        self.in_flight += 1
        task = asyncio.create_task(
            self._run(scope, decision, shadow, copy, legacy_ms, settings.shadow_timeout_s)
        )
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _run(
        self,
        scope: Message,
        decision: Decision,
        shadow: Shadow,
        copy: _Copy,
        legacy_ms: float,
        timeout: float,
    ) -> None:
        request_body = b"".join(copy.body)
        call = _ModernCall(self.modern, _shadow_scope(scope, decision), request_body, decision)
        started = time.perf_counter()
        try:
            task = asyncio.ensure_future(call.run())
        except BaseException:
            self.in_flight -= 1
            raise
        # the place under the cap is given back when the modern app lets go of the
        # copy, not at the timeout: a hanging handler cannot pile up runs
        task.add_done_callback(self._release)
        self.calls.add(task)
        task.add_done_callback(self.calls.discard)
        try:
            done, _ = await asyncio.wait({task}, timeout=timeout)
            modern_ms: float | None = round((time.perf_counter() - started) * 1000, 3)
            if done:
                result, modern, error = _outcome(task, call)
            else:
                task.cancel()
                result, modern, error = ShadowResult.TIMEOUT, None, f"no reply in {timeout:g} s"
                modern_ms = None
            legacy = Reply(copy.status, _text_headers(copy.headers), b"".join(copy.reply))
            differences: tuple[Difference, ...] = ()
            if result is ShadowResult.MATCH and modern is not None:
                # the request's path: a port that answers where legacy redirected to
                # its login page is a missing guard, as in a contract
                path = local_path(scope)
                if len(legacy.body) + len(modern.body) > INLINE_COMPARE:
                    comparison = await asyncio.to_thread(
                        partial(compare, legacy, modern, shadow.rules, path=path)
                    )
                else:
                    comparison = compare(legacy, modern, shadow.rules, path=path)
                differences = comparison.differences
                if differences:
                    result = ShadowResult.MISMATCH
            if error is not None:
                self._warn(decision.endpoint, scope, error)
            self.record(
                Observation(
                    endpoint=decision.endpoint,
                    method=scope["method"],
                    rule=decision.rule or "",
                    path=scope["path"],
                    result=result,
                    legacy_status=legacy.status,
                    modern_status=modern.status if modern is not None else None,
                    legacy_ms=round(legacy_ms, 3),
                    modern_ms=modern_ms,
                    differences=differences,
                    error=error,
                    exchange=None
                    if result is ShadowResult.MATCH
                    else _exchange(scope, request_body, legacy, modern),
                )
            )
            self.count(decision.endpoint, result)
        except Exception:  # a shadow run must never take the gateway down
            logger.exception("the shadow run of %s %s failed", scope["method"], scope["path"])
            self.count(decision.endpoint, ShadowResult.ERROR)

    def _release(self, task: asyncio.Future[Any]) -> None:
        self.in_flight -= 1
        if not task.cancelled():
            task.exception()  # retrieved: reported through the observation, not asyncio

    def _warn(self, endpoint: str, scope: Message, error: str) -> None:
        """Log a failed copy, at most once a minute per endpoint."""
        now = time.monotonic()
        if now - self._warned.get(endpoint, -WARN_EVERY) < WARN_EVERY:
            return
        self._warned[endpoint] = now
        logger.warning(
            "shadow copy of %s %s (%s) on the modern app: %s; the client got legacy's "
            "reply. See `routeshift diffs --route %s`.",
            scope["method"],
            scope["path"],
            endpoint,
            self.redact(error),
            endpoint,
        )

    async def drain(self, timeout: float) -> None:
        """Wait up to `timeout` seconds for the runs under way (at shutdown)."""
        deadline = asyncio.get_running_loop().time() + timeout
        # a run starts its modern call when it first runs: wait until neither is left
        while pending := self.tasks | self.calls:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                return
            await asyncio.wait(pending, timeout=left)


class _ModernCall:
    """One call of the modern app on a copy of the request, its reply collected."""

    __slots__ = ("app", "scope", "body", "status", "headers", "chunks", "finished", "done", "send")

    def __init__(self, app: ASGIApp, scope: Scope, body: bytes, decision: Decision) -> None:
        self.app = app
        self.scope = scope
        self.send = Stamp(self._send, decision, Side.MODERN)  # as the modern side answers
        self.body: bytes | None = body
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.chunks: list[bytes] = []
        self.finished = False
        self.done = asyncio.Event()

    async def run(self) -> None:
        try:
            await self.app(self.scope, self._receive, self.send)
        finally:
            self.done.set()

    async def _receive(self) -> Message:
        if self.body is not None:
            body, self.body = self.body, None
            return {"type": "http.request", "body": body, "more_body": False}
        await self.done.wait()  # the client of a copy never goes away before the end
        return {"type": "http.disconnect"}

    async def _send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            if self.status:
                raise RuntimeError("the modern app started its response twice")
            self.status = int(message["status"])
            self.headers = list(message.get("headers", ()))
        elif kind == "http.response.body":
            if not self.status:
                raise RuntimeError("the modern app sent a body before its status")
            if self.finished:
                raise RuntimeError("the modern app sent a body after its end")
            self.chunks.append(bytes(message.get("body", b"")))
            self.finished = not message.get("more_body", False)

    def reply(self) -> Reply | None:
        if not self.status:
            return None
        return Reply(self.status, _text_headers(self.headers), b"".join(self.chunks))


def _threads_short() -> bool:
    """Whether more than half of anyio's default thread pool is in use: sync handlers of
    the modern app (and of its modern-served routes) run there, so copies wait."""
    limiter = anyio.to_thread.current_default_thread_limiter()
    return limiter.borrowed_tokens * 2 > limiter.total_tokens


def _outcome(
    task: asyncio.Future[None], call: _ModernCall
) -> tuple[ShadowResult, Reply | None, str | None]:
    """How a finished copy went: MATCH here means "a whole reply, compare it"."""
    if task.cancelled():  # the modern app cancelled itself (asyncio.CancelledError)
        return ShadowResult.ERROR, call.reply(), "the modern app's call was cancelled"
    exc = task.exception()
    reply = call.reply()
    if exc is not None:  # its type, message and last frames (the store redacts them)
        return ShadowResult.ERROR, reply, str(Raised.of(exc))
    if reply is None:
        return ShadowResult.ERROR, None, "the modern app returned without a response"
    if not call.finished:
        return ShadowResult.ERROR, reply, "the modern app did not finish its response"
    return ShadowResult.MATCH, reply, None


def _shadow_scope(scope: Scope, decision: Decision) -> Scope:
    """The copy's scope: as the modern side would see the request (the route's entry in
    its state), the shadow flag in its state too."""
    copy = dict(modern_scope(scope, decision))
    copy["state"] = {**(copy.get("state") or {}), "routeshift_shadow": True}
    return copy


def _text_headers(headers: list[tuple[bytes, bytes]]) -> tuple[tuple[str, str], ...]:
    return tuple(
        (bytes(name).decode("latin-1").lower(), bytes(value).decode("latin-1"))
        for name, value in headers
    )


def _exchange(scope: Message, body: bytes, legacy: Reply, modern: Reply | None) -> Exchange:
    return Exchange(
        query=bytes(scope.get("query_string", b"")).decode("latin-1"),
        request_headers=_text_headers(list(scope.get("headers", ()))),
        request_body=body,
        legacy=legacy,
        modern=modern,
    )
