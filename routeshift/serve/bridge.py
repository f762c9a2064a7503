"""The legacy side of the gateway: a WSGI app served from ASGI, built on a2wsgi.

a2wsgi gives the environ (its `build_environ`, completed by `routeshift._asgi.wsgi_environ`)
and the streaming request body (`Body`).
What it lacks, added here:

- one worker-thread hop per request: the body is read before the WSGI call, and the
  response is collected in the thread; when the app's whole body is there at once (the
  first chunk matches Content-Length, or there is no more), it is answered with one
  `http.response.start` and one `http.response.body`. A streamed body still streams,
  one thread hop per chunk;
- request bodies of any framing (Content-Length, chunked, `Expect: 100-continue`) reach
  the app whole: bodies up to `buffer_limit` are read at once, larger ones stream in
  through a2wsgi's `Body`; `wsgi.input_terminated` tells werkzeug the stream ends;
- a body the client cuts short (it goes away before Content-Length bytes or before the
  last chunk) never reaches the app as if whole: a buffered one is not served, and a
  streamed one makes the app's read raise werkzeug's `ClientDisconnected` (a2wsgi's
  `Body` takes `http.disconnect` for the end of the body);
- several Cookie headers joined with "; " (a2wsgi joins every header with ",");
- a thread pool of a configured size, shut down by `close()`;
- an app that raises before it answers (a Flask app in debug mode, or with
  PROPAGATE_EXCEPTIONS) gives gunicorn's HTML 500 page, logged, and the bridge serves on.
"""

from __future__ import annotations

import asyncio
import contextvars
import io
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from typing import Any

from a2wsgi.wsgi import Body
from werkzeug.exceptions import ClientDisconnected

from routeshift._asgi import Headers, Message, Receive, Send, header, wsgi_environ

__all__ = [
    "LegacyBridge",
]

logger = logging.getLogger("routeshift.serve.bridge")


_END = object()
#: gunicorn's answer to an app that raises: `gunicorn.util.write_error` for a 500 with no
#: message (clients such as boto3 know this page for a server error)
_ERROR_PAGE = (
    b"<html>\n  <head>\n    <title>Internal Server Error</title>\n  </head>\n  <body>\n"
    b"    <h1><p>Internal Server Error</p></h1>\n    \n  </body>\n</html>\n"
)


class _RequestBody:
    """`receive` for the request body, telling its end from a cut: an `http.disconnect`
    before the message with `more_body: False`, or fewer bytes than Content-Length by
    then, raises `ClientDisconnected`, and so does every call after a cut. Called from
    the worker thread through a2wsgi's `Body`, the error reaches the app's read."""

    __slots__ = ("receive", "expected", "arrived", "cut")

    def __init__(self, receive: Receive, scope: Message) -> None:
        self.receive = receive
        self.expected = _content_length(scope)
        self.arrived = 0
        self.cut = False

    async def __call__(self) -> Message:
        if self.cut:
            raise self._error()
        message = await self.receive()
        if message["type"] == "http.disconnect":
            self.cut = True
            raise self._error()
        self.arrived += len(message.get("body", b""))
        if not message.get("more_body", False) and self.arrived < (self.expected or 0):
            self.cut = True
            raise self._error()
        return message

    def _error(self) -> ClientDisconnected:
        if self.expected is None:
            received = f"{self.arrived:,} bytes of a body without Content-Length"
        else:
            received = f"{self.arrived:,} of {self.expected:,} bytes"
        return ClientDisconnected(f"The client went away after {received}.")


def _content_length(scope: Message) -> int | None:
    """The Content-Length the request declares; None without one, or when it is chunked."""
    length = header(scope, b"content-length")
    if length is None or header(scope, b"transfer-encoding") is not None:
        return None
    try:
        return int(length)
    except ValueError:
        return None


class _WSGICall:
    """One call of a WSGI app; runs in the worker threads, one step at a time."""

    __slots__ = (
        "app",
        "environ",
        "status",
        "headers",
        "written",
        "iterable",
        "iterator",
        "headers_sent",
        "closing",
    )

    def __init__(self, app: Callable[..., Iterable[bytes]], environ: dict[str, Any]) -> None:
        self.app = app
        self.environ = environ
        self.status = 0
        self.headers: Headers = []
        self.written: list[bytes] = []
        self.iterable: Iterable[bytes] | None = None
        self.iterator: Iterator[bytes] | None = None
        self.headers_sent = False
        self.closing = False  # a cancelled step closes the call once it is over

    def start_response(
        self, status: str, headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Callable[[bytes], None]:
        if exc_info is not None and self.headers_sent:
            raise exc_info[1].with_traceback(exc_info[2])
        self.status = int(status[:3])
        self.headers = [
            (name.strip().lower().encode("latin-1"), value.strip().encode("latin-1"))
            for name, value in headers
        ]
        return self.written.append

    def begin(self) -> tuple[list[bytes], bool]:
        """Call the app and take its first chunk: (chunks so far, whole body there?)."""
        self.iterable = self.app(self.environ, self.start_response)
        try:
            self.iterator = iter(self.iterable)
            first = next(self.iterator, _END)
        except BaseException:
            self.close()
            raise
        if not self.status:
            self.close()
            raise RuntimeError("the WSGI app returned without calling start_response")
        chunks = self.written[:]  # write() appends to self.written: keep the list
        self.written.clear()
        if first is not _END:
            chunks.append(first)  # type: ignore[arg-type]
        if first is _END or self._complete(chunks):
            self.close()
            return chunks, True
        return chunks, False

    def _complete(self, chunks: list[bytes]) -> bool:
        for name, value in self.headers:
            if name == b"content-length":
                try:
                    return sum(map(len, chunks)) >= int(value)
                except ValueError:
                    return False
        return False

    def next_chunk(self) -> bytes | object:
        """The next piece of a streamed body (with what write() was given meanwhile), or _END."""
        assert self.iterator is not None
        chunk = next(self.iterator, _END)
        if not self.written:
            return chunk
        pending = b"".join(self.written)
        self.written.clear()
        return pending if chunk is _END else pending + chunk  # type: ignore[operator]

    def close(self) -> None:
        iterable, self.iterable = self.iterable, None
        close = getattr(iterable, "close", None)
        if close is not None:
            close()


class LegacyBridge:
    """ASGI app that serves a WSGI app through a thread pool of `threads` threads."""

    def __init__(
        self,
        app: Callable[..., Iterable[bytes]],
        *,
        threads: int = 64,
        buffer_limit: int = 1024 * 1024,
        on_busy: Callable[[int], None] | None = None,
    ) -> None:
        """`on_busy(+1 / -1)`: a worker thread took up or finished a step (metrics)."""
        self.app = app
        self.on_busy = on_busy
        self.threads = threads
        self.buffer_limit = buffer_limit
        self.executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="routeshift")
        self._busy = 0
        self._busy_lock = threading.Lock()

    @property
    def busy(self) -> int:
        """Worker threads running the app now."""
        return self._busy

    def close(self) -> None:
        """Wait for the calls under way, then stop the worker threads."""
        self.executor.shutdown(wait=True, cancel_futures=True)

    async def __call__(self, scope: Message, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1000})
            return
        loop = asyncio.get_running_loop()
        environ = await self._environ(scope, receive, loop)
        if environ is None:
            return
        call = _WSGICall(self.app, environ)
        context = contextvars.copy_context()
        try:
            chunks, complete = await self._step(call, context, call.begin)
        except Exception:
            logger.exception("the legacy app raised on %s %s", scope["method"], scope["path"])
            await self._error(send)
            return
        call.headers_sent = True
        await send({"type": "http.response.start", "status": call.status, "headers": call.headers})
        if complete:
            await send({"type": "http.response.body", "body": b"".join(chunks)})
            return
        # the request body was read whole: the next message can only be http.disconnect
        body_read = isinstance(environ["wsgi.input"], io.BytesIO)
        await self._stream(call, context, chunks, send, receive if body_read else None)

    async def _stream(
        self,
        call: _WSGICall,
        context: contextvars.Context,
        chunks: list[bytes],
        send: Send,
        receive: Receive | None,
    ) -> None:
        """Send a streamed body chunk by chunk; stop early when the client goes away."""
        loop = asyncio.get_running_loop()
        gone = asyncio.Event()

        async def watch() -> None:
            # after a whole body, a server answers receive() only with http.disconnect;
            # anything else (a test double, say) ends the watch rather than spin on it
            assert receive is not None
            if (await receive())["type"] == "http.disconnect":
                gone.set()

        watcher = asyncio.create_task(watch()) if receive is not None else None
        try:
            for chunk in chunks:
                if chunk:
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
            while not gone.is_set():
                chunk = await self._step(call, context, call.next_chunk)
                if chunk is _END:
                    await send({"type": "http.response.body", "body": b""})
                    break
                if chunk and not gone.is_set():
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
        finally:
            if watcher is not None:
                watcher.cancel()
            if not call.closing:
                await loop.run_in_executor(self.executor, self._run, context, call.close)

    async def _step(
        self, call: _WSGICall, context: contextvars.Context, step: Callable[[], Any]
    ) -> Any:
        """Run one step of `call` in the pool. When the task is cancelled meanwhile, the
        step runs on in its thread (the context is entered there): the cancellation goes
        on at once, and the call is closed in the pool once the step is over."""
        future = self.executor.submit(self._run, context, step)
        try:
            return await asyncio.wrap_future(future)
        except asyncio.CancelledError:
            call.closing = True
            future.add_done_callback(partial(self._close_after, call, context))
            raise

    def _close_after(
        self, call: _WSGICall, context: contextvars.Context, done: Future[Any]
    ) -> None:
        """Close `call` in the pool; here when the pool is shut down or drops the close."""
        try:
            closing = self.executor.submit(self._close, call, context)
        except RuntimeError:  # the pool is shut down
            self._close(call, context)
        else:
            closing.add_done_callback(partial(self._close_dropped, call, context))

    def _close_dropped(
        self, call: _WSGICall, context: contextvars.Context, closing: Future[None]
    ) -> None:
        if closing.cancelled():  # close() of the bridge cancelled it before it ran
            self._close(call, context)

    def _close(self, call: _WSGICall, context: contextvars.Context) -> None:
        try:
            self._run(context, call.close)
        except Exception:
            logger.exception("the legacy app's iterable raised on close()")

    def _run(self, context: contextvars.Context, step: Callable[[], Any]) -> Any:
        with self._busy_lock:
            self._busy += 1
        if self.on_busy is not None:
            self.on_busy(1)
        try:
            return context.run(step)
        finally:
            with self._busy_lock:
                self._busy -= 1
            if self.on_busy is not None:
                self.on_busy(-1)

    async def _environ(
        self, scope: Message, receive: Receive, loop: asyncio.AbstractEventLoop
    ) -> dict[str, Any] | None:
        """The WSGI environ of this request, or None when the client went away before
        the part of the body that is read at once."""
        request_body = _RequestBody(receive, scope)
        body = bytearray()
        more = True
        while more and len(body) <= self.buffer_limit:
            try:
                message = await request_body()
            except ClientDisconnected:
                return None
            body += message.get("body", b"")
            more = message.get("more_body", False)
        stream: Any
        if more:
            stream = Body(loop, request_body)  # type: ignore[arg-type]  # a2wsgi types events narrower
            stream.buffer.extend(body)
        else:
            stream = io.BytesIO(bytes(body))
        return wsgi_environ(scope, stream)

    async def _error(self, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 500,
                "headers": [
                    (b"content-type", b"text/html"),
                    (b"content-length", str(len(_ERROR_PAGE)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": _ERROR_PAGE})
