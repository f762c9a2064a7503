"""routeshift diffs through click's CliRunner, on stores written with record_observations."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from conftest import SHOP_ROUTES, write_registry

from routeshift.cli import main
from routeshift.compare import MISSING, Difference, Reply
from routeshift.store.records import Exchange, Observation, ShadowResult
from routeshift.store.redact import Redactor
from routeshift.store.schema import shadow_observations
from routeshift.store.sql import Store

AT = dt.datetime(2024, 5, 1, 12, 0, 3, tzinfo=dt.UTC)
JSON = (("content-type", "application/json"),)


@pytest.fixture(autouse=True)
def store_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'store' / 'routeshift.db'}"
    monkeypatch.setenv("ROUTESHIFT_STORE_URL", url)
    return url


def diffs(registry: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["diffs", "--registry", str(registry), *args])


def observation(endpoint: str, path: str, result: ShadowResult, **extra: Any) -> Observation:
    values: dict[str, Any] = {
        "endpoint": endpoint,
        "method": "GET",
        "rule": "/items/<int:item_id>" if endpoint == "items.item" else "/items/",
        "path": path,
        "result": result,
        "legacy_status": 200,
        "modern_status": 200,
        "legacy_ms": 3.0,
        "modern_ms": 2.0,
        "at": AT,
        "worker": 4242,
    }
    values.update(extra)
    return Observation(**values)


def record(url: str, *observations: Observation, redact: tuple[str, ...] = ("password",)) -> None:
    store = Store(url)
    store.record_observations(observations, Redactor(redact))
    store.close()


@pytest.fixture
def recorded(store_url: str) -> None:
    record(
        store_url,
        observation("items.item", "/items/1", ShadowResult.MATCH),
        observation(
            "items.item",
            "/items/1",
            ShadowResult.MISMATCH,
            differences=(Difference("/side", "legacy", "modern"),),
            at=AT - dt.timedelta(minutes=5),
        ),
        observation(
            "items.listing",
            "/items/",
            ShadowResult.MISMATCH,
            modern_status=500,
            differences=(
                Difference("status", 200, 500),
                Difference("/password", "hunter2", MISSING),
            ),
            exchange=Exchange(
                query="page=2&password=hunter2",
                request_headers=(("authorization", "Bearer hunter2"), ("accept", "*/*")),
                request_body=b"",
                legacy=Reply(200, JSON, b'{"items": [], "password": "hunter2"}'),
                modern=Reply(500, JSON, b'{"detail": "boom"}'),
            ),
        ),
        observation(
            "items.item",
            "/items/2",
            ShadowResult.ERROR,
            modern_status=None,
            modern_ms=None,
            error="RuntimeError: modern raised",
        ),
    )


def test_lists_the_newest_mismatches_first_and_exits_1(shop_registry: Path, recorded: None) -> None:
    result = diffs(shop_registry)
    assert result.exit_code == 1, result.output
    blocks = result.stdout.split("\n\n")
    assert [block.splitlines()[1] for block in blocks[:3]] == [
        "GET /items/2",
        "GET /items/?page=2&password=[redacted]",
        "GET /items/1",
    ]
    assert blocks[0].splitlines()[0] == "#4  2024-05-01 12:00:03 UTC  worker 4242  error"
    assert "  status  legacy 200, modern none" in blocks[0]
    assert "  error   RuntimeError: modern raised" in blocks[0]
    listing = blocks[1].splitlines()
    assert listing[2:] == [
        "  route   items.listing  /items/",
        "  status  legacy 200, modern 500",
        "  status: legacy 200 != modern 500",
        '  /password: legacy "[redacted]" != modern (missing)',
    ]
    assert blocks[2].splitlines()[-1] == '  /side: legacy "legacy" != modern "modern"'
    assert "11:55:03 UTC" in blocks[2]
    assert result.stdout.endswith(
        "\n\n2 mismatches, 1 error, newest first. --full shows the requests and replies.\n"
    )
    assert "hunter2" not in result.output


def test_route_and_limit(shop_registry: Path, recorded: None) -> None:
    result = diffs(shop_registry, "--route", "items.item", "--limit", "1")
    assert result.exit_code == 1, result.output
    assert "GET /items/2" in result.stdout
    assert "/items/1" not in result.stdout and "items.listing" not in result.stdout
    assert "1 error, newest first." in result.stdout


def test_no_mismatches_exits_0(shop_registry: Path, store_url: str) -> None:
    record(store_url, observation("items.item", "/items/1", ShadowResult.MATCH))
    result = diffs(shop_registry)
    assert (result.exit_code, result.stdout) == (
        0,
        "No shadow mismatches, errors or timeouts recorded.\n",
    )
    # an endpoint of the legacy app that the registry does not list is a known route
    result = diffs(shop_registry, "--route", "echo", "--format", "json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["mismatches"] == []
    assert document["counts"] == {"mismatch": 0, "error": 0, "timeout": 0}


def test_full_shows_the_stored_request_and_replies(shop_registry: Path, recorded: None) -> None:
    result = diffs(shop_registry, "--route", "items.listing", "--full")
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    request = lines.index("  request")
    assert lines[request + 1 : request + 3] == [
        "    authorization: [redacted]",
        "    accept: */*",
    ]
    legacy = lines.index("  legacy reply")
    assert lines[legacy + 1 : legacy + 4] == [
        "    content-type: application/json",
        "",
        '    {"items": [], "password": "[redacted]"}',
    ]
    assert '    {"detail": "boom"}' in lines[lines.index("  modern reply") :]
    assert "--full shows" not in result.stdout
    assert "hunter2" not in result.output


def test_json(shop_registry: Path, recorded: None, store_url: str) -> None:
    result = diffs(shop_registry, "--format", "json", "--limit", "2")
    assert result.exit_code == 1, result.output
    document = json.loads(result.stdout)
    assert (document["schema"], document["route"], document["store"]) == (
        "routeshift.diffs/1",
        None,
        store_url,
    )
    assert document["counts"] == {"mismatch": 1, "error": 1, "timeout": 0}
    error, listing = document["mismatches"]
    assert (error["result"], error["modern_status"], error["exchange"]) == ("error", None, None)
    assert {k: listing[k] for k in ("id", "endpoint", "rule", "method", "path", "query")} == {
        "id": 3,
        "endpoint": "items.listing",
        "rule": "/items/",
        "method": "GET",
        "path": "/items/",
        "query": "page=2&password=[redacted]",
    }
    assert dt.datetime.fromisoformat(listing["at"]) == AT
    assert listing["differences"][1] == {
        "where": "/password",
        "legacy": "[redacted]",
        "modern": None,
        "missing": ["modern"],
        "text": '/password: legacy "[redacted]" != modern (missing)',
    }
    assert listing["exchange"]["request"]["headers"] == [
        ["authorization", "[redacted]"],
        ["accept", "*/*"],
    ]
    assert listing["exchange"]["modern"]["body"] == '{"detail": "boom"}'
    assert "hunter2" not in result.output


def test_an_unknown_route_exits_2_with_a_suggestion(shop_registry: Path, recorded: None) -> None:
    result = diffs(shop_registry, "--route", "items.iten")
    assert result.exit_code == 2
    assert "unknown route 'items.iten' in --route" in result.output
    assert "Did you mean 'items.item'?" in result.output


def test_no_store_exits_2_and_says_what_to_do(shop_registry: Path, store_url: str) -> None:
    result = diffs(shop_registry)
    assert result.exit_code == 2
    assert f"no observations yet: {store_url} does not exist" in result.output
    assert "the gateway writes it with the first shadow run" in result.output
    assert "state shadow" in result.output
    assert not Path(store_url.removeprefix("sqlite:///")).exists()


def test_a_store_from_before_shadow_runs_exits_2(shop_registry: Path, store_url: str) -> None:
    store = Store(store_url)
    store.record_contract_run([])
    with store.engine.begin() as connection:  # as an older routeshift left it
        shadow_observations.drop(connection)
    store.close()
    result = diffs(shop_registry)
    assert result.exit_code == 2
    assert f"no observations yet: {store_url} has no shadow runs" in result.output


def test_bad_registry_exits_2(tmp_path: Path) -> None:
    path = write_registry(tmp_path, [dict(SHOP_ROUTES[0], state="moden")])
    result = diffs(path)
    assert result.exit_code == 2 and "Did you mean 'modern'?" in result.output


def test_a_store_that_cannot_be_opened_exits_2(
    shop_registry: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ROUTESHIFT_STORE_URL", "nosuchdialect://x")
    result = diffs(shop_registry)
    assert result.exit_code == 2
    assert "cannot open the store 'nosuchdialect://x'" in result.output


def test_timeouts_are_failures_too(shop_registry: Path, store_url: str) -> None:
    """A route whose modern side always times out is listed, counted, and exits 1."""
    timeout = observation(
        "items.item",
        "/items/1",
        ShadowResult.TIMEOUT,
        modern_status=None,
        modern_ms=None,
        error="no reply in 2 s",
    )
    record(store_url, timeout, timeout, observation("items.item", "/items/1", ShadowResult.MATCH))
    result = diffs(shop_registry)
    assert result.exit_code == 1, result.output
    assert "#2  2024-05-01 12:00:03 UTC  worker 4242  timeout" in result.stdout
    assert "  error   no reply in 2 s" in result.stdout
    assert result.stdout.endswith(
        "\n\n2 timeouts, newest first. --full shows the requests and replies.\n"
    )
    result = diffs(shop_registry, "--format", "json")
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert document["counts"] == {"mismatch": 0, "error": 0, "timeout": 2}
    assert [m["result"] for m in document["mismatches"]] == ["timeout", "timeout"]


def test_mixed_results_are_counted_each(
    shop_registry: Path, recorded: None, store_url: str
) -> None:
    record(
        store_url,
        observation("items.item", "/items/3", ShadowResult.TIMEOUT, modern_status=None),
    )
    result = diffs(shop_registry)
    assert result.stdout.endswith(
        "\n\n2 mismatches, 1 error, 1 timeout, newest first. "
        "--full shows the requests and replies.\n"
    )


def test_full_escapes_what_clients_sent(shop_registry: Path, store_url: str) -> None:
    """Headers and bodies come from clients: a terminal never gets their control
    characters (escape sequences, carriage returns, bidi overrides) raw."""
    evil = "\x1b]0;owned\x07\x1b[2J\r\u202e"
    record(
        store_url,
        observation(
            "items.item",
            f"/items/1{evil}",
            ShadowResult.MISMATCH,
            differences=(Difference("/name", evil, "b"),),
            exchange=Exchange(
                query="",
                request_headers=(("user-agent", evil),),
                request_body=f"line one\nline {evil}".encode(),
                legacy=Reply(200, (("x-echo", evil),), evil.encode()),
                modern=Reply(200, (), b"ok"),
            ),
        ),
    )
    result = diffs(shop_registry, "--full")
    assert result.exit_code == 1, result.output
    for char in "\x1b\x07\r\u202e":
        assert char not in result.stdout
    escaped = "\\x1b]0;owned\\x07\\x1b[2J\\x0d\\u202e"
    lines = result.stdout.splitlines()
    assert f"GET /items/1{escaped}" in lines
    assert f"    user-agent: {escaped}" in lines
    assert "    line one" in lines  # a body's line breaks are kept; \r is one too
    assert "    line \\x1b]0;owned\\x07\\x1b[2J" in lines
    assert f"    x-echo: {escaped}" in lines
