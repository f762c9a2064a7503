"""A synchronous client for the ports under test: httpx through ASGITransport, one
event loop per request (the ports' sync handlers run in anyio's worker threads)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx


class PortClient:
    """`client.get(path, cookies={...})`: cookies go in the Cookie header as a browser
    sends them; nothing is kept between requests."""

    def __init__(
        self,
        app: Any,
        *,
        root_path: str = "",
        raise_app_exceptions: bool = True,
        base_url: str = "http://testserver",
    ) -> None:
        self.transport = httpx.ASGITransport(
            app=app, root_path=root_path, raise_app_exceptions=raise_app_exceptions
        )
        self.base_url = base_url

    def request(
        self,
        method: str,
        path: str,
        *,
        cookies: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        sent = dict(headers or {})
        if cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())

        async def send() -> httpx.Response:
            async with httpx.AsyncClient(transport=self.transport, base_url=self.base_url) as c:
                return await c.request(method, path, headers=sent, **kwargs)

        return asyncio.run(send())

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)
