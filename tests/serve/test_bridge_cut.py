"""routeshift.serve.bridge at the edges of a request: a body the client cuts short never
reaches the legacy app as if whole, and an exception the app lets escape is answered
with gunicorn's 500 page.

The cut bodies go over raw sockets to a real uvicorn on 127.0.0.1 (the server's own
`http.disconnect` is the subject), in both framings (Content-Length, chunked) and at both
sizes: under the bridge's buffer limit (read at once, so the view is never called) and
over it (streamed into the view, whose read must fail with `ClientDisconnected`).
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from conftest import LiveServer, http_scope
from flask import Flask, request
from werkzeug.exceptions import ClientDisconnected

from routeshift.serve.bridge import LegacyBridge

Message = dict[str, Any]

KIB = 1024
MIB = 1024 * KIB
LIMIT = MIB  # the bridge's default buffer_limit
SECONDS = 10  # the longest any step below may take


# --- a Flask view that records what it read -------------------------------------------


class Upload:
    """A Flask app whose view reads the body in one of several ways and records
    ("whole", length) or ("cut", ClientDisconnected) in `seen`."""

    def __init__(self, read: Callable[[Any], bytes] = lambda stream: stream.read()) -> None:
        self.seen: list[tuple[str, object]] = []
        self.started = threading.Event()
        self.app = Flask(__name__)
        self.app.add_url_rule("/upload", "upload", self.upload, methods=["POST"])
        self.read = read

    def upload(self) -> dict[str, int]:
        self.started.set()
        try:
            data = self.read(request.stream)
        except ClientDisconnected as error:
            self.seen.append(("cut", error))
            raise
        self.seen.append(("whole", len(data)))
        return {"length": len(data)}


def read_in_pieces(stream: Any) -> bytes:
    pieces = []
    while piece := stream.read(4000):
        pieces.append(piece)
    return b"".join(pieces)


READS = [
    pytest.param(lambda stream: stream.read(), id="read"),
    pytest.param(read_in_pieces, id="read-in-pieces"),
    pytest.param(lambda stream: b"".join(iter(stream.readline, b"")), id="readline"),
    pytest.param(lambda stream: b"".join(stream), id="iteration"),
    pytest.param(lambda stream: b"".join(stream.readlines()), id="readlines"),
]


@pytest.fixture
def bridges() -> Iterator[list[LegacyBridge]]:
    made: list[LegacyBridge] = []
    yield made
    for bridge in made:
        bridge.close()


# --- in-process: the server's messages scripted ---------------------------------------


def call(bridge: LegacyBridge, headers: list[tuple[bytes, bytes]], incoming: list[Message]) -> None:
    """One request whose receive() gives `incoming`, then http.disconnect for ever."""
    scope = http_scope("POST", "/upload")
    scope["headers"] += headers
    left = [dict(message) for message in incoming]

    async def receive() -> Message:
        return left.pop(0) if left else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        pass

    asyncio.run(asyncio.wait_for(bridge(scope, receive, send), SECONDS))


def part(size: int, more: bool = True) -> Message:
    return {"type": "http.request", "body": b"x\n" * (size // 2), "more_body": more}


LENGTH = [(b"content-length", b"8192")]
CHUNKED = [(b"transfer-encoding", b"chunked")]


@pytest.mark.parametrize("read", READS)
@pytest.mark.parametrize(
    ("headers", "incoming"),
    [
        pytest.param(LENGTH, [part(2048), part(2048)], id="length-then-disconnect"),
        pytest.param(LENGTH, [part(2048), part(2048, more=False)], id="length-ends-short"),
        pytest.param(CHUNKED, [part(2048), part(2048)], id="chunked-then-disconnect"),
    ],
)
def test_a_streamed_body_cut_short_fails_every_read(
    bridges: list[LegacyBridge],
    read: Callable[[Any], bytes],
    headers: list[tuple[bytes, bytes]],
    incoming: list[Message],
) -> None:
    upload = Upload(read)
    bridges.append(bridge := LegacyBridge(upload.app, buffer_limit=1024))
    call(bridge, headers, incoming)
    [(what, error)] = upload.seen
    assert what == "cut"
    assert "went away after 4,096" in str(error)


@pytest.mark.parametrize("read", READS)
@pytest.mark.parametrize(
    ("headers", "incoming"),
    [
        pytest.param(LENGTH, [part(4096), part(4096, more=False)], id="length"),
        pytest.param(CHUNKED, [part(4096), part(4096, more=False)], id="chunked"),
    ],
)
def test_a_streamed_body_that_ends_is_read_whole(
    bridges: list[LegacyBridge],
    read: Callable[[Any], bytes],
    headers: list[tuple[bytes, bytes]],
    incoming: list[Message],
) -> None:
    upload = Upload(read)
    bridges.append(bridge := LegacyBridge(upload.app, buffer_limit=1024))
    call(bridge, headers, incoming)
    assert upload.seen == [("whole", 8192)]


def test_a_buffered_body_that_ends_short_of_its_length_is_not_served(
    bridges: list[LegacyBridge],
) -> None:
    upload = Upload()
    bridges.append(bridge := LegacyBridge(upload.app, buffer_limit=1024 * 1024))
    call(bridge, LENGTH, [part(2048), part(2048, more=False)])
    assert upload.seen == []


# --- a real uvicorn, a raw socket ------------------------------------------------------


class Finished:
    """ASGI app around the bridge that tells when a request's call is over."""

    def __init__(self, app: LegacyBridge) -> None:
        self.app = app
        self.finished = threading.Event()

    async def __call__(self, scope: Message, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                await send({"type": message["type"] + ".complete"})
                if message["type"] == "lifespan.shutdown":
                    return
        try:
            await self.app(scope, receive, send)
        finally:
            self.finished.set()


def chunks(size: int, piece: int = 64 * KIB) -> Iterator[bytes]:
    """`size` bytes in chunks of `piece`, each in chunked framing (no last chunk)."""
    for start in range(0, size, piece):
        data = b"c" * min(piece, size - start)
        yield b"%x\r\n%s\r\n" % (len(data), data)


def head(framing: str, length: int) -> bytes:
    framed = f"Content-Length: {length}" if framing == "length" else "Transfer-Encoding: chunked"
    return (
        f"POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        f"Content-Type: application/octet-stream\r\n{framed}\r\n\r\n"
    ).encode()


def body(framing: str, size: int) -> Iterator[bytes]:
    if framing == "length":
        for start in range(0, size, 64 * KIB):
            yield b"l" * min(64 * KIB, size - start)
    else:
        yield from chunks(size)


SIZES = [
    # (bytes sent, bytes declared): the buffered one is cut before it is whole; the
    # streamed one goes past the buffer limit, so the view runs and reads into the cut
    pytest.param(256 * KIB, 512 * KIB, False, id="buffered"),
    pytest.param(2 * MIB, 3 * MIB, True, id="streamed"),
]
FRAMINGS = [pytest.param("length", id="content-length"), pytest.param("chunked", id="chunked")]


@pytest.mark.parametrize("http", ["h11", "httptools"])
@pytest.mark.parametrize("framing", FRAMINGS)
@pytest.mark.parametrize(("sent", "declared", "streamed"), SIZES)
def test_a_body_cut_short_never_reaches_the_view_whole(
    live: Callable[..., LiveServer],
    bridges: list[LegacyBridge],
    http: str,
    framing: str,
    sent: int,
    declared: int,
    streamed: bool,
) -> None:
    upload = Upload()
    bridges.append(bridge := LegacyBridge(upload.app))
    app = Finished(bridge)
    server = live(app, http=http)
    with socket.create_connection(("127.0.0.1", server.port), timeout=SECONDS) as client:
        client.sendall(head(framing, declared))
        for piece in body(framing, sent):
            client.sendall(piece)
        if streamed:  # the view is reading: now the client goes away
            assert upload.started.wait(SECONDS)
    assert app.finished.wait(SECONDS)
    if streamed:
        [(what, error)] = upload.seen
        assert what == "cut"
        assert isinstance(error, ClientDisconnected)
    else:
        assert not upload.started.is_set()
        assert upload.seen == []


@pytest.mark.parametrize("framing", FRAMINGS)
@pytest.mark.parametrize(
    "size", [pytest.param(LIMIT // 2, id="buffered"), pytest.param(3 * LIMIT, id="streamed")]
)
def test_a_whole_body_reaches_the_view_whole(
    live: Callable[..., LiveServer], bridges: list[LegacyBridge], framing: str, size: int
) -> None:
    upload = Upload()
    bridges.append(bridge := LegacyBridge(upload.app))
    server = live(Finished(bridge))
    with socket.create_connection(("127.0.0.1", server.port), timeout=SECONDS) as client:
        client.sendall(head(framing, size))
        for piece in body(framing, size):
            client.sendall(piece)
        if framing == "chunked":
            client.sendall(b"0\r\n\r\n")
        answer = b""
        while data := client.recv(64 * KIB):
            answer += data
    assert answer.startswith(b"HTTP/1.1 200 ")
    assert answer.endswith(b'{"length":%d}\n' % size)
    assert upload.seen == [("whole", size)]


# --- an exception that escapes the app: gunicorn's page --------------------------------


def gunicorns_answer(status: int, reason: str) -> tuple[int, str, bytes]:
    """What gunicorn writes to the client (`gunicorn.util.write_error`) when the app
    raises: (status, Content-Type, body)."""
    from gunicorn import util

    server, client = socket.socketpair()
    with server, client:
        util.write_error(server, status, reason, "")
        server.shutdown(socket.SHUT_WR)
        raw = b""
        while data := client.recv(64 * KIB):
            raw += data
    start, _, page = raw.partition(b"\r\n\r\n")
    status_line, *lines = start.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, value in (h.split(":", 1) for h in lines)}
    assert int(headers["content-length"]) == len(page)
    return int(status_line.split()[1]), headers["content-type"], page


@pytest.mark.parametrize(
    "config",
    [
        pytest.param({"PROPAGATE_EXCEPTIONS": True}, id="propagate-exceptions"),
        pytest.param({"DEBUG": True}, id="debug"),
        pytest.param({"TESTING": True}, id="testing"),
    ],
)
def test_an_exception_that_escapes_the_app_gets_gunicorns_500_page(
    bridges: list[LegacyBridge], config: dict[str, bool]
) -> None:
    app = Flask(__name__)
    app.config.update(config)

    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("the view broke")

    bridges.append(bridge := LegacyBridge(app))

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=bridge)
        async with httpx.AsyncClient(transport=transport, base_url="http://legacy.test") as http:
            return await http.get("/boom")

    response = asyncio.run(go())
    assert (response.status_code, response.headers["content-type"], response.content) == (
        gunicorns_answer(500, "Internal Server Error")
    )
    assert response.headers["content-length"] == str(len(response.content))
