"""routeshift.serve.bridge: a plain WSGI app served from ASGI, driven in-process through httpx."""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
import logging
import threading
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from typing import Any

import httpx
import pytest
from conftest import http_scope

from routeshift.serve.bridge import LegacyBridge

Environ = dict[str, Any]
StartResponse = Callable[..., Callable[[bytes], None]]
WSGIApp = Callable[[Environ, StartResponse], Iterable[bytes]]
Message = dict[str, Any]

CLIENT = ("203.0.113.7", 4321)


@pytest.fixture
def make_bridge() -> Iterator[Callable[..., LegacyBridge]]:
    """make_bridge(app, **options); every bridge made is closed after the test."""
    bridges: list[LegacyBridge] = []

    def make(app: WSGIApp, **options: Any) -> LegacyBridge:
        bridge = LegacyBridge(app, **options)
        bridges.append(bridge)
        return bridge

    yield make
    for bridge in bridges:
        bridge.close()


def client(app: Any) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=CLIENT)
    return httpx.AsyncClient(transport=transport, base_url="http://legacy.test")


def request(app: Any, method: str, url: str, **kwargs: Any) -> httpx.Response:
    async def go() -> httpx.Response:
        async with client(app) as http:
            return await http.request(method, url, **kwargs)

    return asyncio.run(go())


class Exchange:
    """receive and send of one request, as a server has them: after the request body,
    receive() waits until the response is complete and then reports the disconnect."""

    def __init__(self, body: bytes = b"") -> None:
        self.incoming: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]
        self.sent: list[Message] = []
        self.done = asyncio.Event()

    async def receive(self) -> Message:
        if self.incoming:
            return self.incoming.pop(0)
        await self.done.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        self.sent.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            self.done.set()


def asgi_messages(app: Any, *, method: str = "GET", body: bytes = b"") -> list[Message]:
    """Call `app` with one request and return every message it sends."""

    async def go() -> list[Message]:
        exchange = Exchange(body)
        await app(http_scope(method), exchange.receive, exchange.send)
        return exchange.sent

    return asyncio.run(go())


def body_messages(sent: list[Message]) -> list[Message]:
    assert sent[0]["type"] == "http.response.start"
    assert all(m["type"] == "http.response.body" for m in sent[1:])
    assert not sent[-1].get("more_body", False)
    return sent[1:]


class ClosingBody:
    """An iterable of chunks that counts how often close() is called."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks
        self.closed = 0

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.chunks)

    def close(self) -> None:
        self.closed += 1


def plain(
    body: bytes,
    status: str = "200 OK",
    headers: list[tuple[str, str]] | None = None,
    *,
    length: bool = True,
) -> WSGIApp:
    def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        sent = list(headers or [("Content-Type", "text/plain")])
        if length:
            sent.append(("Content-Length", str(len(body))))
        start_response(status, sent)
        return [body]

    return app


# --- responses -------------------------------------------------------------------------


def test_status_headers_and_body_pass_through(make_bridge: Callable[..., LegacyBridge]) -> None:
    bridge = make_bridge(
        plain(
            b'{"error": "no such user"}',
            "404 NOT FOUND",
            [
                ("Content-Type", "application/json"),
                ("X-Request-Id", "abc"),
                ("Set-Cookie", "a=1; Path=/"),
                ("Set-Cookie", "b=2; Path=/"),
            ],
        )
    )
    response = request(bridge, "GET", "/users/9")
    assert response.status_code == 404
    assert response.content == b'{"error": "no such user"}'
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-request-id"] == "abc"
    assert response.headers.get_list("set-cookie") == ["a=1; Path=/", "b=2; Path=/"]
    assert response.headers["content-length"] == "25"
    assert "x-served-by" not in response.headers  # the gateway's Stamp adds it


def test_a_whole_body_is_answered_in_one_message(
    make_bridge: Callable[..., LegacyBridge],
) -> None:
    body = ClosingBody([b"hello ", b"world"])

    def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        start_response("200 OK", [("Content-Length", "6")])
        return body

    # the first chunk matches Content-Length: the rest is not even asked for
    bridge = make_bridge(app)
    messages = body_messages(asgi_messages(bridge))
    assert messages == [{"type": "http.response.body", "body": b"hello "}]
    assert body.closed == 1


def test_an_empty_body(make_bridge: Callable[..., LegacyBridge]) -> None:
    def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        start_response("204 No Content", [])
        return []

    sent = asgi_messages(make_bridge(app))
    assert sent[0]["status"] == 204
    assert body_messages(sent) == [{"type": "http.response.body", "body": b""}]


@pytest.mark.parametrize(
    ("chunks", "headers"),
    [
        pytest.param([b"one,", b"two,", b"", b"three"], [], id="no-content-length"),
        pytest.param(
            [b"one,", b"two,", b"three"],
            [("Content-Length", "13")],
            id="first-chunk-short-of-content-length",
        ),
    ],
)
def test_a_streamed_body_arrives_whole(
    make_bridge: Callable[..., LegacyBridge], chunks: list[bytes], headers: list[Any]
) -> None:
    iterable = ClosingBody(chunks)

    def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        start_response("200 OK", headers)
        return iterable

    bridge = make_bridge(app)
    response = request(bridge, "GET", "/stream")
    assert response.status_code == 200
    assert response.content == b"one,two,three"
    assert iterable.closed == 1

    iterable = ClosingBody(chunks)
    messages = body_messages(asgi_messages(bridge))
    assert [m["body"] for m in messages] == [b"one,", b"two,", b"three", b""]
    assert [m.get("more_body", False) for m in messages] == [True, True, True, False]
    assert iterable.closed == 1


def test_a_generator_streams_chunk_by_chunk(make_bridge: Callable[..., LegacyBridge]) -> None:
    gate = threading.Event()
    steps: list[str] = []

    def app(environ: Environ, start_response: StartResponse) -> Iterator[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        yield b"first"
        steps.append("waiting")
        if not gate.wait(5):
            raise RuntimeError("the first chunk was not sent before the second was asked")
        yield b"second"

    class Gated(Exchange):
        async def send(self, message: Message) -> None:
            await super().send(message)
            if message.get("body") == b"first":
                gate.set()  # the first chunk is out before the app produced the second

    async def go() -> list[Message]:
        exchange = Gated()
        await make_bridge(app)(http_scope(), exchange.receive, exchange.send)
        return exchange.sent

    sent = asyncio.run(go())
    assert [m.get("body") for m in sent[1:]] == [b"first", b"second", b""]
    assert steps == ["waiting"]


@pytest.mark.parametrize(
    ("app_body", "expected"),
    [
        pytest.param("write-then-list", b"abcd", id="write-before-the-iterable"),
        pytest.param("write-then-empty", b"ab", id="write-only"),
        pytest.param("generator-writes-first", b"abcd", id="write-inside-the-first-chunk"),
        pytest.param("generator-interleaves", b"abcdef", id="write-between-chunks"),
        pytest.param("generator-writes-last", b"abcd", id="write-after-the-last-chunk"),
    ],
)
def test_the_write_callable_keeps_the_order(
    make_bridge: Callable[..., LegacyBridge], app_body: str, expected: bytes
) -> None:
    def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        if app_body == "write-then-list":
            write(b"a")
            write(b"b")
            return [b"c", b"d"]
        if app_body == "write-then-empty":
            write(b"a")
            write(b"b")
            return []
        return generator(write)

    def generator(write: Callable[[bytes], None]) -> Iterator[bytes]:
        if app_body == "generator-writes-first":
            write(b"a")
            yield b"b"
            yield b"cd"
        elif app_body == "generator-interleaves":
            yield b"a"
            write(b"b")
            yield b"c"
            write(b"d")
            write(b"e")
            yield b"f"
        else:
            yield b"a"
            yield b"b"
            write(b"c")
            write(b"d")

    assert request(make_bridge(app), "GET", "/").content == expected


def test_start_response_can_be_called_inside_a_generator(
    make_bridge: Callable[..., LegacyBridge],
) -> None:
    def app(environ: Environ, start_response: StartResponse) -> Iterator[bytes]:
        start_response("201 Created", [("Location", "/things/1")])
        yield b"made"

    response = request(make_bridge(app), "POST", "/things")
    assert (response.status_code, response.headers["location"], response.content) == (
        201,
        "/things/1",
        b"made",
    )


def test_close_is_called_once_when_the_body_raises_midway(
    make_bridge: Callable[..., LegacyBridge],
) -> None:
    closed: list[int] = []

    class Failing:
        def __iter__(self) -> Iterator[bytes]:
            yield b"part"
            raise RuntimeError("the database went away")

        def close(self) -> None:
            closed.append(1)

    def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        start_response("200 OK", [])
        return Failing()

    with pytest.raises(RuntimeError, match="database went away"):
        asgi_messages(make_bridge(app))
    assert closed == [1]


def test_a_client_that_goes_away_stops_an_endless_stream(
    make_bridge: Callable[..., LegacyBridge],
) -> None:
    """A streamed body is not driven on for a client that is gone; the iterable is closed."""
    produced: list[int] = []
    closed: list[int] = []

    class Endless:
        def __iter__(self) -> Iterator[bytes]:
            while True:
                produced.append(1)
                yield b"tick;"

        def close(self) -> None:
            closed.append(1)

    def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return Endless()

    class Leaving(Exchange):
        async def send(self, message: Message) -> None:
            await super().send(message)
            if len(self.sent) == 3:  # start and two chunks: then the client hangs up
                self.done.set()

    async def go() -> list[Message]:
        exchange = Leaving()
        await asyncio.wait_for(make_bridge(app)(http_scope(), exchange.receive, exchange.send), 5)
        return exchange.sent

    sent = asyncio.run(go())
    assert closed == [1]
    assert len(produced) < 50
    assert all(m.get("more_body") for m in sent[1:])


class Blocking:
    """An iterable whose chunk number `block_at` (0 is the first) waits for `release`;
    it records its steps and its close() calls, and whether a chunk was under way then."""

    def __init__(self, block_at: int) -> None:
        self.block_at = block_at
        self.waiting = threading.Event()
        self.release = threading.Event()
        self.closed_event = threading.Event()
        self.events: list[str] = []
        self.inside = False

    def __iter__(self) -> Iterator[bytes]:
        for index in range(3):
            self.inside = True
            if index == self.block_at:
                self.waiting.set()
                if not self.release.wait(5):
                    raise RuntimeError("the test never released the chunk")
            self.events.append(f"chunk {index}")
            self.inside = False
            yield b"chunk;"

    def close(self) -> None:
        self.events.append("close during a chunk" if self.inside else "close")
        self.closed_event.set()


@pytest.mark.parametrize(
    ("block_at", "expected"),
    [
        pytest.param(0, ["chunk 0", "close"], id="in-begin"),
        pytest.param(1, ["chunk 0", "chunk 1", "close"], id="in-a-streamed-chunk"),
    ],
)
def test_a_cancelled_request_closes_the_iterable_once_its_step_is_over(
    make_bridge: Callable[..., LegacyBridge],
    caplog: pytest.LogCaptureFixture,
    block_at: int,
    expected: list[str],
) -> None:
    """The task is cancelled while a step runs in the pool: the cancellation goes on at
    once, and close() follows the step, in the pool, once."""
    body = Blocking(block_at)

    def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return body

    bridge = make_bridge(app)

    async def go() -> tuple[bool, list[str], bool]:
        exchange = Exchange()
        task = asyncio.create_task(bridge(http_scope(), exchange.receive, exchange.send))
        try:
            assert await asyncio.to_thread(body.waiting.wait, 5)
            task.cancel()
            await asyncio.wait({task}, timeout=5)
            # the task did not wait for the step: it is still blocked, nothing closed yet
            cancelled, before = task.cancelled(), body.events[:]
        finally:
            body.release.set()
        return cancelled, before, await asyncio.to_thread(body.closed_event.wait, 5)

    with caplog.at_level(logging.ERROR):
        cancelled, before, closed = asyncio.run(go())
        bridge.close()  # every step and close under way is over
    assert cancelled
    assert before == expected[:-2]
    assert closed
    assert body.events == expected
    assert bridge.busy == 0
    assert caplog.records == []


# --- an app that fails -----------------------------------------------------------------


def raises_before_start_response(environ: Environ, start_response: StartResponse) -> Any:
    if environ["PATH_INFO"] == "/boom":
        raise KeyError("boom")
    start_response("200 OK", [("Content-Length", "2")])
    return [b"ok"]


def test_an_app_that_raises_gives_gunicorns_500_and_the_bridge_serves_on(
    make_bridge: Callable[..., LegacyBridge], caplog: pytest.LogCaptureFixture
) -> None:
    bridge = make_bridge(raises_before_start_response, threads=1)
    with caplog.at_level(logging.ERROR, logger="routeshift.serve.bridge"):
        response = request(bridge, "GET", "/boom")
    assert response.status_code == 500
    assert response.headers["content-type"] == "text/html"  # the page: test_bridge_cut.py
    assert b"<title>Internal Server Error</title>" in response.content
    assert "the legacy app raised on GET /boom" in caplog.text
    assert "KeyError" in caplog.text
    for _ in range(2):
        after = request(bridge, "GET", "/fine")
        assert (after.status_code, after.content) == (200, b"ok")


@pytest.mark.parametrize(
    "result",
    [
        pytest.param([], id="empty-list"),
        pytest.param([b"body"], id="a-body"),
    ],
)
def test_an_app_that_never_calls_start_response_gives_500(
    make_bridge: Callable[..., LegacyBridge],
    result: list[bytes],
    caplog: pytest.LogCaptureFixture,
) -> None:
    body = ClosingBody(result)

    def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        return body

    with caplog.at_level(logging.ERROR, logger="routeshift.serve.bridge"):
        response = request(make_bridge(app), "GET", "/")
    assert response.status_code == 500
    assert b"<title>Internal Server Error</title>" in response.content
    assert "without calling start_response" in caplog.text
    assert body.closed == 1


def test_an_iterable_that_raises_on_the_first_chunk_gives_500(
    make_bridge: Callable[..., LegacyBridge], caplog: pytest.LogCaptureFixture
) -> None:
    closed: list[int] = []

    class Failing:
        def __iter__(self) -> Iterator[bytes]:
            raise ValueError("template missing")

        def close(self) -> None:
            closed.append(1)

    def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        start_response("200 OK", [])
        return Failing()

    with caplog.at_level(logging.ERROR, logger="routeshift.serve.bridge"):
        response = request(make_bridge(app), "GET", "/")
    assert response.status_code == 500
    assert closed == [1]


# --- requests --------------------------------------------------------------------------


def echo_body(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    """Read the body as werkzeug does with wsgi.input_terminated: to the end of the stream."""
    data = environ["wsgi.input"].read()
    answer = f"{len(data)} {hashlib.sha256(data).hexdigest()}".encode()
    start_response("200 OK", [("Content-Length", str(len(answer)))])
    return [answer]


def echo_by_length(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    """Read the body in small pieces, as far as Content-Length says."""
    left = int(environ.get("CONTENT_LENGTH") or 0)
    stream = environ["wsgi.input"]
    pieces = []
    while left:
        piece = stream.read(min(left, 1000))
        assert piece, "the stream ended before Content-Length"
        pieces.append(piece)
        left -= len(piece)
    data = b"".join(pieces)
    answer = f"{len(data)} {hashlib.sha256(data).hexdigest()}".encode()
    start_response("200 OK", [("Content-Length", str(len(answer)))])
    return [answer]


async def chunked(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


@pytest.mark.parametrize(
    "app",
    [pytest.param(echo_body, id="read-all"), pytest.param(echo_by_length, id="read-by-length")],
)
@pytest.mark.parametrize(
    "size",
    [
        pytest.param(0, id="empty"),
        pytest.param(10, id="small"),
        pytest.param(1024, id="at-the-limit"),
        pytest.param(1025, id="just-over-the-limit"),
        pytest.param(100 * 1024, id="100kb"),
    ],
)
def test_the_request_body_reaches_the_app_whole(
    make_bridge: Callable[..., LegacyBridge], app: WSGIApp, size: int
) -> None:
    data = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    bridge = make_bridge(app, buffer_limit=1024)
    response = request(bridge, "POST", "/upload", content=data)
    assert response.text == f"{size} {hashlib.sha256(data).hexdigest()}"


@pytest.mark.parametrize(
    "size", [pytest.param(10, id="small"), pytest.param(100 * 1024, id="100kb")]
)
def test_a_chunked_request_body_reaches_the_app_whole(
    make_bridge: Callable[..., LegacyBridge], size: int
) -> None:
    data = b"0123456789abcdef" * (size // 16) + b"z" * (size % 16)
    bridge = make_bridge(echo_body, buffer_limit=1024)
    response = request(bridge, "POST", "/upload", content=chunked(data, 700))
    assert response.text == f"{size} {hashlib.sha256(data).hexdigest()}"


def test_a_body_over_the_limit_streams_into_the_app(
    make_bridge: Callable[..., LegacyBridge],
) -> None:
    app_started = threading.Event()

    def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        app_started.set()
        return echo_body(environ, start_response)

    started_before_the_rest: list[bool] = []

    async def body() -> AsyncIterator[bytes]:
        yield b"a" * 2048
        # the app is called with the first 2 KB; the rest comes while it reads
        started_before_the_rest.append(await asyncio.to_thread(app_started.wait, 5))
        yield b"b" * 2048

    bridge = make_bridge(app, buffer_limit=1024)
    response = request(bridge, "POST", "/upload", content=body())
    data = b"a" * 2048 + b"b" * 2048
    assert response.text == f"4096 {hashlib.sha256(data).hexdigest()}"
    assert started_before_the_rest == [True]


def capture_environ(seen: list[Environ]) -> WSGIApp:
    def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        seen.append(dict(environ))
        start_response("200 OK", [("Content-Length", "0")])
        return []

    return app


def test_the_environ(make_bridge: Callable[..., LegacyBridge]) -> None:
    seen: list[Environ] = []
    bridge = make_bridge(capture_environ(seen))
    request(
        bridge,
        "PUT",
        "/a%20b/c?q=1&r=%2F",
        content=b"xyz",
        headers={"X-Custom": "yes", "Content-Type": "text/plain"},
    )
    (environ,) = seen
    assert environ["wsgi.input_terminated"] is True
    assert environ["RAW_URI"] == "/a%20b/c?q=1&r=%2F"
    assert environ["REQUEST_URI"] == "/a%20b/c?q=1&r=%2F"
    assert environ["PATH_INFO"] == "/a b/c"
    assert environ["QUERY_STRING"] == "q=1&r=%2F"
    assert environ["REQUEST_METHOD"] == "PUT"
    assert environ["REMOTE_ADDR"] == "203.0.113.7"
    assert environ["REMOTE_PORT"] == "4321"
    assert environ["HTTP_X_CUSTOM"] == "yes"
    assert environ["CONTENT_TYPE"] == "text/plain"
    assert environ["CONTENT_LENGTH"] == "3"
    assert environ["SERVER_PROTOCOL"] == "HTTP/1.1"
    assert environ["wsgi.url_scheme"] == "http"


def test_raw_uri_without_a_query_string(make_bridge: Callable[..., LegacyBridge]) -> None:
    seen: list[Environ] = []
    request(make_bridge(capture_environ(seen)), "GET", "/plain/path")
    assert seen[0]["RAW_URI"] == "/plain/path"


@pytest.mark.parametrize(
    ("headers", "cookie"),
    [
        pytest.param(
            [("cookie", "a=1"), ("cookie", "b=2"), ("cookie", "c=3")],
            "a=1; b=2; c=3",
            id="three-headers",
        ),
        pytest.param([("cookie", "a=1; b=2")], "a=1; b=2", id="one-header"),
        pytest.param(
            [("Cookie", "session=x,y"), ("cookie", "b=2")],
            "session=x,y; b=2",
            id="comma-inside-a-value",
        ),
    ],
)
def test_cookie_headers_are_joined_with_semicolons(
    make_bridge: Callable[..., LegacyBridge], headers: list[tuple[str, str]], cookie: str
) -> None:
    seen: list[Environ] = []
    request(make_bridge(capture_environ(seen)), "GET", "/", headers=headers)
    assert seen[0]["HTTP_COOKIE"] == cookie


def test_other_repeated_headers_keep_the_comma_join(
    make_bridge: Callable[..., LegacyBridge],
) -> None:
    seen: list[Environ] = []
    request(
        make_bridge(capture_environ(seen)),
        "GET",
        "/",
        headers=[("accept", "text/html"), ("accept", "application/json")],
    )
    assert seen[0]["HTTP_ACCEPT"] == "text/html,application/json"


def test_context_variables_reach_the_app(make_bridge: Callable[..., LegacyBridge]) -> None:
    request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id")

    def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        value = request_id.get("unset").encode()
        start_response("200 OK", [("Content-Length", str(len(value)))])
        return [value]

    bridge = make_bridge(app)

    async def go() -> bytes:
        request_id.set("r-42")
        async with client(bridge) as http:
            return (await http.get("/")).content

    assert asyncio.run(go()) == b"r-42"


def test_a_client_gone_before_the_body_is_not_served(
    make_bridge: Callable[..., LegacyBridge],
) -> None:
    called: list[int] = []

    def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        called.append(1)
        start_response("200 OK", [])
        return []

    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(make_bridge(app)(http_scope("POST"), receive, send))
    assert (called, sent) == ([], [])


def test_a_websocket_is_closed(make_bridge: Callable[..., LegacyBridge]) -> None:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "websocket.connect"}

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(make_bridge(plain(b""))({"type": "websocket", "path": "/ws"}, receive, send))
    assert sent == [{"type": "websocket.close", "code": 1000}]


# --- the thread pool -------------------------------------------------------------------


def test_close_shuts_the_pool_down(make_bridge: Callable[..., LegacyBridge]) -> None:
    bridge = make_bridge(plain(b"ok"))
    assert request(bridge, "GET", "/").status_code == 200
    bridge.close()
    with pytest.raises(RuntimeError):
        bridge.executor.submit(lambda: None)


def test_threads_bound_the_calls_inside_the_app(
    make_bridge: Callable[..., LegacyBridge],
) -> None:
    release = threading.Event()
    entered = threading.Semaphore(0)
    lock = threading.Lock()
    inside = 0
    peak = 0

    def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        nonlocal inside, peak
        with lock:
            inside += 1
            peak = max(peak, inside)
        entered.release()
        try:
            if not release.wait(10):
                raise RuntimeError("the test never released the app")
        finally:
            with lock:
                inside -= 1
        start_response("200 OK", [("Content-Length", "2")])
        return [b"ok"]

    bridge = make_bridge(app, threads=2)

    async def go() -> tuple[bool, bool, int, int, list[httpx.Response]]:
        async with client(bridge) as http:
            tasks = [asyncio.create_task(http.get(f"/{n}")) for n in range(3)]
            try:
                first = await asyncio.to_thread(entered.acquire, True, 5)
                second = await asyncio.to_thread(entered.acquire, True, 5)
                # a third thread would enter at once; give it a moment to show up
                third = await asyncio.to_thread(entered.acquire, True, 0.3)
                busy, now = bridge.busy, inside
            finally:
                release.set()
            responses = await asyncio.gather(*tasks)
            return first and second, third, busy, now, responses

    two_entered, third_entered, busy, now, responses = asyncio.run(go())
    assert two_entered
    assert not third_entered
    assert (busy, now, peak) == (2, 2, 2)
    assert [r.status_code for r in responses] == [200, 200, 200]
    assert bridge.busy == 0
