"""routeshift.serve.shadow: the client gets legacy's bytes; the copy runs on modern afterwards,
bounded in time and in number, and every run ends as one observation (or a skip)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import anyio.to_thread
import pytest

from routeshift.compare import Rules
from routeshift.decide.decision import Decision, Shadow, Side
from routeshift.registry.model import Settings
from routeshift.serve.shadow import ShadowRunner
from routeshift.store.records import Observation, ShadowResult

Message = dict[str, Any]
App = Callable[
    [Message, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]],
    Awaitable[None],
]

THING = {"id": 1, "name": "lamp", "tags": ["a", "b"]}
NO_RULES = Rules()


def json_app(document: Any, status: int = 200, seen: list[Message] | None = None) -> App:
    body = json.dumps(document).encode()

    async def app(scope: Message, receive: Any, send: Any) -> None:
        if seen is not None:
            seen.append(scope)
        while True:  # read the whole request, as a real app does
            message = await receive()
            if not message.get("more_body"):
                break
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json"), (b"x-served-by", b"legacy")],
            }
        )
        await send({"type": "http.response.body", "body": body[:5], "more_body": True})
        await send({"type": "http.response.body", "body": body[5:]})

    return app


async def raising(scope: Message, receive: Any, send: Any) -> None:
    raise RuntimeError("modern blew up")


async def silent(scope: Message, receive: Any, send: Any) -> None:
    return None


async def body_before_status(scope: Message, receive: Any, send: Any) -> None:
    await send({"type": "http.response.body", "body": b"??"})


def not_json(scope: Message, receive: Any, send: Any) -> Awaitable[None]:
    async def app() -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": b"\x00\xff{not json"})

    return app()


class Run:
    """A runner with its observations and counts, and a client that keeps its bytes."""

    def __init__(self, modern: App, *, chance: float = 0.0, **settings: Any) -> None:
        self.observations: list[Observation] = []
        self.counts: list[tuple[str, str]] = []
        self.settings = Settings(**{"shadow_timeout_s": 1.0, **settings})
        self.runner = ShadowRunner(
            modern,
            record=self.observations.append,
            count=lambda endpoint, result: self.counts.append((endpoint, result)),
            chance=lambda: chance,
        )

    async def request(
        self,
        legacy: App,
        method: str = "GET",
        body: bytes = b"",
        sample: float = 1.0,
        head_as_get: bool = False,
        rules: Rules = NO_RULES,
    ) -> list[Message]:
        scope = {
            "type": "http",
            "method": method,
            "path": "/things/1",
            "query_string": b"q=1",
            "headers": [(b"host", b"shop.test"), (b"authorization", b"Bearer s3cret")],
            "state": {"user": "x"},
            "client": ("127.0.0.1", 5000),
        }
        chunks = [body[i : i + 4] for i in range(0, len(body), 4)] or [b""]
        messages = [
            {"type": "http.request", "body": c, "more_body": i < len(chunks) - 1}
            for i, c in enumerate(chunks)
        ]

        async def receive() -> Message:
            return messages.pop(0) if messages else {"type": "http.disconnect"}

        sent: list[Message] = []

        async def send(message: Message) -> None:
            sent.append(message)

        decision = Decision(
            Side.LEGACY,
            "things.get",
            "/things/<int:id>",
            head_as_get=head_as_get,
            shadow=Shadow(sample, rules),
        )
        await self.runner.serve(scope, receive, send, decision, legacy, self.settings)
        return sent

    async def settle(self) -> None:
        await self.runner.drain(5)

    @property
    def results(self) -> list[str]:
        return [result for _, result in self.counts]


async def legacy_only(legacy: App) -> list[Message]:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    await legacy({"type": "http", "method": "GET", "path": "/things/1"}, receive, send)
    return sent


@pytest.mark.parametrize(
    ("modern", "result"),
    [
        pytest.param(json_app(THING), ShadowResult.MATCH, id="same"),
        pytest.param(json_app({**THING, "name": "bulb"}), ShadowResult.MISMATCH, id="differs"),
        pytest.param(raising, ShadowResult.ERROR, id="raises"),
        pytest.param(silent, ShadowResult.ERROR, id="no-response"),
        pytest.param(body_before_status, ShadowResult.ERROR, id="garbage-messages"),
        pytest.param(not_json, ShadowResult.MISMATCH, id="garbage-body"),
    ],
)
def test_the_client_gets_legacys_messages_whatever_modern_does(
    modern: App, result: ShadowResult
) -> None:
    legacy = json_app(THING)

    async def go() -> tuple[list[Message], list[Message], Run]:
        run = Run(modern)
        shadowed = await run.request(legacy)
        await run.settle()
        return shadowed, await legacy_only(legacy), run

    shadowed, alone, run = asyncio.run(go())
    assert shadowed == alone
    assert run.results == [result]
    (observation,) = run.observations
    assert observation.result is result
    assert (observation.endpoint, observation.method, observation.rule, observation.path) == (
        "things.get",
        "GET",
        "/things/<int:id>",
        "/things/1",
    )
    assert observation.legacy_status == 200 and observation.legacy_ms > 0
    if result is ShadowResult.MATCH:
        assert observation.exchange is None and observation.differences == ()
    else:
        assert observation.exchange is not None
        assert observation.exchange.legacy.body == json.dumps(THING).encode()
        assert observation.exchange.query == "q=1"


def test_a_mismatch_names_its_json_pointer() -> None:
    async def go() -> Run:
        run = Run(json_app({**THING, "tags": ["a", "c"]}, status=201))
        await run.request(json_app(THING))
        await run.settle()
        return run

    (observation,) = asyncio.run(go()).observations
    assert [d.where for d in observation.differences] == ["status", "/tags/1"]
    assert observation.modern_status == 201


def test_the_routes_rules_apply() -> None:
    async def go() -> Run:
        run = Run(json_app({**THING, "name": "bulb"}))
        await run.request(json_app(THING), rules=Rules.build(ignore=["/name"]))
        await run.settle()
        return run

    assert asyncio.run(go()).results == ["match"]


def test_an_error_names_the_exception() -> None:
    async def go() -> Run:
        run = Run(raising)
        await run.request(json_app(THING))
        await run.settle()
        return run

    (observation,) = asyncio.run(go()).observations
    assert observation.error is not None
    headline, *frames = observation.error.splitlines()
    assert headline == "RuntimeError: modern blew up"
    # the last frames of the traceback: the innermost is where the port raised
    assert frames[-1].startswith(f"  at {__file__}:")
    assert frames[-1].endswith('in raising: raise RuntimeError("modern blew up")')
    assert observation.modern_status is None


def test_a_hanging_modern_times_out_and_keeps_its_place_until_it_lets_go() -> None:
    release = asyncio.Event

    async def go() -> tuple[Run, list[int], list[Message]]:
        gate = release()

        async def hanging(scope: Message, receive: Any, send: Any) -> None:
            await receive()
            try:
                await asyncio.sleep(30)
            except asyncio.CancelledError:
                await gate.wait()  # like a handler in a thread: it ends when it ends
                raise

        run = Run(hanging, shadow_timeout_s=0.05, shadow_max_in_flight=1)
        first = await run.request(json_app(THING))
        await asyncio.sleep(0.2)
        in_flight = [run.runner.in_flight]
        second = await run.request(json_app(THING))  # the cap is still taken: skipped
        gate.set()
        await run.settle()
        await asyncio.sleep(0.01)
        in_flight.append(run.runner.in_flight)
        assert first == second
        return run, in_flight, first

    run, in_flight, first = asyncio.run(go())
    assert in_flight == [1, 0]
    assert sorted(run.results) == ["skipped", "timeout"]
    (observation,) = run.observations
    assert observation.result is ShadowResult.TIMEOUT
    assert observation.modern_ms is None and observation.error == "no reply in 0.05 s"
    assert first[0]["status"] == 200


def test_runs_over_the_cap_are_skipped_and_counted_not_queued() -> None:
    async def go() -> Run:
        gate = asyncio.Event()

        async def slow(scope: Message, receive: Any, send: Any) -> None:
            await gate.wait()
            await json_app(THING)(scope, receive, send)

        run = Run(slow, shadow_max_in_flight=2)
        for _ in range(5):
            await run.request(json_app(THING))
        assert run.runner.in_flight == 2
        gate.set()
        await run.settle()
        return run

    run = asyncio.run(go())
    assert sorted(run.results) == ["match", "match", "skipped", "skipped", "skipped"]
    assert len(run.observations) == 2


@pytest.mark.parametrize(
    ("request_size", "reply", "result"),
    [
        pytest.param(61, THING, "skipped", id="request-over"),
        pytest.param(60, THING, "match", id="request-at-the-limit"),
        pytest.param(0, {"text": "x" * 60}, "skipped", id="reply-over"),
    ],
)
def test_a_body_over_the_limit_is_skipped(request_size: int, reply: Any, result: str) -> None:
    async def go() -> Run:
        run = Run(json_app(reply), shadow_body_limit=60)
        await run.request(json_app(reply), method="POST", body=b"x" * request_size)
        await run.settle()
        return run

    assert asyncio.run(go()).results == [result]


def test_the_request_body_reaches_modern_whole() -> None:
    got: list[bytes] = []

    async def echo(scope: Message, receive: Any, send: Any) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        got.append(body)
        await json_app(THING)(scope, receive, send)

    async def go() -> None:
        run = Run(echo)
        await run.request(json_app(THING), method="POST", body=b'{"name": "a long body"}')
        await run.settle()

    asyncio.run(go())
    assert got == [b'{"name": "a long body"}']


def test_modern_sees_the_shadow_flag_and_legacy_does_not() -> None:
    legacy_seen: list[Message] = []
    modern_seen: list[Message] = []

    async def go() -> None:
        run = Run(json_app(THING, seen=modern_seen))
        await run.request(json_app(THING, seen=legacy_seen))
        await run.settle()

    asyncio.run(go())
    assert modern_seen[0]["state"] == {"user": "x", "routeshift_shadow": True}
    assert legacy_seen[0]["state"] == {"user": "x"}


@pytest.mark.parametrize(("chance", "runs"), [(0.49, 1), (0.5, 0), (0.9, 0)])
def test_sampling(chance: float, runs: int) -> None:
    async def go() -> Run:
        run = Run(json_app(THING), chance=chance)
        await run.request(json_app(THING), sample=0.5)
        await run.settle()
        return run

    run = asyncio.run(go())
    assert len(run.observations) == runs
    assert run.results == ["match"] * runs  # a request not sampled is not a run


def test_head_served_as_get_drops_the_modern_body() -> None:
    methods: list[str] = []

    async def modern(scope: Message, receive: Any, send: Any) -> None:
        methods.append(scope["method"])
        await json_app(THING)(scope, receive, send)

    async def legacy_head(scope: Message, receive: Any, send: Any) -> None:
        await receive()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": b""})

    async def go() -> Run:
        run = Run(modern)
        await run.request(legacy_head, method="HEAD", head_as_get=True)
        await run.settle()
        return run

    run = asyncio.run(go())
    assert methods == ["GET"]
    assert run.results == ["match"]


def test_a_client_that_goes_away_is_not_compared() -> None:
    async def half(scope: Message, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"part", "more_body": True})
        # the client went away: the app stops without the last message

    async def go() -> Run:
        run = Run(json_app(THING))
        await run.request(half)
        await run.settle()
        return run

    run = asyncio.run(go())
    assert run.results == ["skipped"] and run.observations == []


def test_a_broken_recorder_does_not_reach_the_client() -> None:
    async def go() -> tuple[list[Message], Run]:
        run = Run(json_app(THING))

        def broken(observation: Observation) -> None:
            raise OSError("disk full")

        run.runner.record = broken
        sent = await run.request(json_app(THING))
        await run.settle()
        return sent, run

    sent, run = asyncio.run(go())
    assert sent[0]["status"] == 200
    assert run.results == ["error"]
    assert run.runner.in_flight == 0


def test_large_replies_are_compared_too() -> None:
    big = {"items": [{"n": i, "text": "x" * 20} for i in range(3000)]}  # about 100 KB

    async def go() -> Run:
        run = Run(json_app({**big, "items": [*big["items"][:-1], {"n": -1}]}))
        await run.request(json_app(big))
        await run.settle()
        return run

    (observation,) = asyncio.run(go()).observations
    assert observation.result is ShadowResult.MISMATCH
    assert {d.where for d in observation.differences} == {"/items/2999/n", "/items/2999/text"}


def test_a_body_legacy_left_unread_is_not_copied() -> None:
    async def reads_one_chunk(scope: Message, receive: Any, send: Any) -> None:
        await receive()  # a view that ignores its body (the bridge streams what is past 1 MiB)
        await json_app(THING)(scope, _ended, send)

    async def _ended() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def go() -> Run:
        run = Run(json_app(THING))
        await run.request(reads_one_chunk, method="POST", body=b"0123456789abcdef")
        await run.settle()
        return run

    run = asyncio.run(go())
    assert run.results == ["skipped"] and run.observations == []


def test_no_copy_while_the_thread_pool_is_more_than_half_busy() -> None:
    async def go() -> Run:
        limiter = anyio.to_thread.current_default_thread_limiter()
        limiter.total_tokens = 4
        holders = [object() for _ in range(3)]
        for holder in holders:
            await limiter.acquire_on_behalf_of(holder)
        run = Run(json_app(THING))
        await run.request(json_app(THING))  # 3 of 4 threads busy: skipped
        for holder in holders:
            limiter.release_on_behalf_of(holder)
        await run.request(json_app(THING))  # free again: copied
        await run.settle()
        return run

    assert asyncio.run(go()).results == ["skipped", "match"]


def test_a_modern_app_that_cancels_itself_is_an_error() -> None:
    async def cancels(scope: Message, receive: Any, send: Any) -> None:
        raise asyncio.CancelledError

    async def go() -> Run:
        run = Run(cancels)
        await run.request(json_app(THING))
        await run.settle()
        return run

    run = asyncio.run(go())
    assert run.results == ["error"]
    assert run.observations[0].error == "the modern app's call was cancelled"
    assert run.runner.in_flight == 0


def test_drain_waits_for_timed_out_calls_too() -> None:
    ended: list[bool] = []

    async def slow(scope: Message, receive: Any, send: Any) -> None:
        try:
            await asyncio.sleep(0.3)
        except asyncio.CancelledError:
            await asyncio.sleep(0.2)  # lets go of the copy a while after the timeout
            ended.append(True)
            raise

    async def go() -> Run:
        run = Run(slow, shadow_timeout_s=0.05)
        await run.request(json_app(THING))
        await run.settle()  # at shutdown: the modern app must not be left mid-call
        return run

    run = asyncio.run(go())
    assert ended == [True]
    assert run.results == ["timeout"] and run.runner.in_flight == 0


def test_a_port_that_answers_where_legacy_redirected_to_login_is_a_missing_guard() -> None:
    """As in a contract: legacy sends the client to its login page, the port answers."""

    async def to_login(scope: Message, receive: Any, send: Any) -> None:
        await receive()
        headers = [(b"location", b"/login?next=%2Fthings%2F1"), (b"x-served-by", b"legacy")]
        await send({"type": "http.response.start", "status": 302, "headers": headers})
        await send({"type": "http.response.body", "body": b""})

    async def go() -> Run:
        run = Run(json_app(THING))
        await run.request(to_login, rules=Rules.build(ignore=["header:location"]))
        await run.settle()
        return run

    (observation,) = asyncio.run(go()).observations
    assert observation.differences[0].where == "guard"
    assert "lacks the view's guard" in str(observation.differences[0])
