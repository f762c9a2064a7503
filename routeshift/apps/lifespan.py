"""Run a child ASGI app's lifespan (startup, shutdown) inside the gateway's own."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from routeshift.errors import LifespanError

__all__ = [
    "ChildLifespan",
    "Message",
]

logger = logging.getLogger("routeshift.serve.gateway")

Message = dict[str, Any]


class ChildLifespan:
    """Drives `app`'s lifespan protocol with the gateway's scope (so `state` is shared).

    An app that does not speak lifespan (it raises, or returns at once) is treated the
    way uvicorn's `--lifespan auto` treats it: as having nothing to start.
    """

    def __init__(self, app: Callable[..., Any], scope: Message) -> None:
        self.app = app
        self.scope = scope
        self._inbox: asyncio.Queue[Message] = asyncio.Queue()
        self._outbox: asyncio.Queue[Message] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.supported = True

    async def startup(self) -> None:
        self._task = asyncio.create_task(self._run())
        await self._step({"type": "lifespan.startup"}, "lifespan.startup")

    async def shutdown(self) -> None:
        if self._task is None or not self.supported:
            return
        await self._step({"type": "lifespan.shutdown"}, "lifespan.shutdown")
        await self._task

    async def _run(self) -> None:
        try:
            await self.app(self.scope, self._inbox.get, self._outbox.put)
        except BaseException as exc:
            if self.supported and not isinstance(exc, asyncio.CancelledError):
                logger.debug("the modern app does not speak lifespan: %r", exc)
            self.supported = False
        finally:
            self._outbox.put_nowait({"type": "routeshift.apps.lifespan.ended"})

    async def _step(self, message: Message, kind: str) -> None:
        await self._inbox.put(message)
        reply = await self._outbox.get()
        if reply["type"] == f"{kind}.complete":
            return
        if reply["type"] == f"{kind}.failed":
            raise LifespanError(reply.get("message", "") or f"{kind} failed")
        # the app returned without answering: it has no lifespan to run
        self.supported = False
