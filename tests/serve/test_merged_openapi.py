"""The gateway answers the modern app's openapi_url with one document of both sides
(routeshift.compat.openapi), fetched through the modern app itself: the example apps of
migration_status.yaml, and small apps for middleware, root_path, app.openapi overrides,
the setting and a reload."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from conftest import write_registry
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from flask import Flask
from starlette.middleware.gzip import GZipMiddleware

from routeshift.compat.openapi import STATE_KEY
from routeshift.routes import to_fastapi_path
from routeshift.serve.assemble import build_gateway
from routeshift.serve.gateway import Gateway

REPO = Path(__file__).resolve().parents[2]
OPERATIONS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def request(app: Any, method: str, url: str, *, root_path: str = "", **kwargs: Any) -> Any:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, root_path=root_path)
        async with httpx.AsyncClient(transport=transport, base_url="http://shop.test") as client:
            return await client.request(method, url, **kwargs)

    return asyncio.run(go())


def operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method.upper(), path): operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in OPERATIONS
    }


def check_structure(document: dict[str, Any]) -> None:
    """What openapi-spec-validator would hold the document to, where it matters here
    (it is not installed): the version and info, paths and their templated parameters,
    operations with responses and unique operationIds, and every $ref resolving."""
    assert re.fullmatch(r"3\.[01]\.\d+", document["openapi"])
    assert isinstance(document["info"]["title"], str) and "version" in document["info"]
    ids = []
    for (method, path), operation in operations(document).items():
        assert path.startswith("/"), path
        assert operation["responses"], f"{method} {path} documents no response"
        for response in operation["responses"].values():
            assert isinstance(response.get("description"), str)
        ids.append(operation["operationId"])
        declared = {p["name"] for p in operation.get("parameters", ()) if p["in"] == "path"}
        assert declared == set(re.findall(r"\{([^}]+)\}", path)), f"{method} {path}"
        for parameter in operation.get("parameters", ()):
            assert parameter["in"] != "path" or parameter["required"] is True
            assert isinstance(parameter["schema"], dict)
        assert operation[STATE_KEY] in {"legacy", "shadow", "canary", "modern"}
    assert len(ids) == len(set(ids)), "operationIds are not unique"
    text = json.dumps(document)
    for ref in re.findall(r'"\$ref": "#/([^"]+)"', text):
        node: Any = document
        for part in ref.split("/"):
            node = node[part]


# --- the example apps --------------------------------------------------------------------


#: states the example's document is checked with, whatever the repository's file says now
PINNED = {"users.get_user": "modern", "main.slow": "legacy", "auth.login": "legacy"}


@pytest.fixture
def example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Gateway]:
    """The gateway of migration_status.yaml over fresh example apps, with PINNED states."""
    from legacy_flask import create_app as create_legacy
    from legacy_flask.database import dispose_engines
    from modern_api import create_app as create_modern

    url = f"sqlite:///{tmp_path / 'example.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("ROUTESHIFT_STORE_URL", f"sqlite:///{tmp_path / 'routeshift.db'}")
    document = yaml.safe_load((REPO / "migration_status.yaml").read_text(encoding="utf-8"))
    for entry in document["routes"]:
        entry["state"] = PINNED.get(entry["endpoint"], entry["state"])
    registry = tmp_path / "migration_status.yaml"
    registry.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    gateway = build_gateway(
        registry,
        legacy_app=create_legacy({"DATABASE_URL": url, "TESTING": True}),
        modern_app=create_modern(url),
        force_legacy=False,
        watch_interval=0,
    )
    yield gateway
    gateway.close()
    dispose_engines()


def document_path(rule: str) -> str:
    """The rule's path as OpenAPI writes it: FastAPI's translation, {name:path} as {name}."""
    return re.sub(r"\{(\w+):\w+\}", r"{\1}", to_fastapi_path(rule) or "")


def test_the_example_document_covers_both_sides(example: Gateway) -> None:
    response = request(example, "GET", "/openapi.json")
    assert (response.status_code, response.headers["x-served-by"]) == (200, "modern")
    assert int(response.headers["content-length"]) == len(response.content)
    document = response.json()
    check_structure(document)
    found = operations(document)
    states = {key: operation[STATE_KEY] for key, operation in found.items()}
    listed = {
        (method, document_path(entry.rule)): entry.state.value
        for entry in example.routing.registry.routes
        for method in entry.methods
    }
    assert {key: states.get(key) for key in listed} == listed
    assert {key: states[key] for key in listed if key[1] in {"/slow", "/login"}} == {
        ("GET", "/slow"): "legacy",  # ported, still legacy: legacy's operation in place
        ("POST", "/login"): "legacy",
    }
    assert states["GET", "/users/{user_id}"] == "modern"
    assert states["GET", "/health"] == "modern"  # modern-only
    # a route the registry does not list is legacy's
    unlisted = states.keys() - listed.keys() - {("GET", "/health")}
    assert {states[key] for key in unlisted} <= {"legacy"}
    assert found["GET", "/users/{user_id}"]["operationId"] == "get_user_users__user_id__get"
    login = found["POST", "/login"]
    assert (login["tags"], login["summary"]) == (["auth"], "Login")
    assert login["responses"] == {"default": {"description": "Served by the legacy Flask app"}}


def test_the_docs_pages_stay_the_modern_apps_and_load_the_merged_document(
    example: Gateway,
) -> None:
    for page in ("/docs", "/redoc"):
        response = request(example, "GET", page)
        assert (response.status_code, response.headers["x-served-by"]) == (200, "modern")
        assert "/openapi.json" in response.text


def test_head_of_the_document(example: Gateway) -> None:
    whole = request(example, "GET", "/openapi.json")
    head = request(example, "HEAD", "/openapi.json")
    assert (head.status_code, head.content, head.headers["x-served-by"]) == (200, b"", "modern")
    assert head.headers["content-length"] == whole.headers["content-length"]


def test_the_modern_app_alone_keeps_its_own_document(example: Gateway) -> None:
    document = request(example.modern, "GET", "/openapi.json").json()
    assert "/login" not in document["paths"]
    assert all(STATE_KEY not in op for op in operations(document).values())


# --- small apps: what the modern app's own answer brings ---------------------------------


def create_legacy() -> Flask:
    app = Flask(__name__)

    @app.route("/items/<int:item_id>")
    def item(item_id: int) -> str:
        """One item."""
        return "legacy"

    @app.route("/old")
    def old() -> str:
        return "legacy"

    return app


def create_modern(**options: Any) -> FastAPI:
    app = FastAPI(title="small", **options)

    @app.get("/items/{item_id}")
    def item(item_id: int) -> dict[str, int]:
        return {"id": item_id}

    return app


ROUTES = [{"endpoint": "item", "rule": "/items/<int:item_id>", "methods": ["GET"]}]


@pytest.fixture
def gateway_of(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("ROUTESHIFT_STORE_URL", f"sqlite:///{tmp_path / 'routeshift.db'}")
    built: list[Gateway] = []

    def build(modern: Any, state: str = "legacy", **settings: Any) -> Gateway:
        routes = [{**route, "state": state} for route in ROUTES]
        path = write_registry(tmp_path, routes, settings=settings or None)
        gateway = build_gateway(
            path,
            legacy_app=create_legacy(),
            modern_app=modern,
            force_legacy=False,
            watch_interval=0,
        )
        built.append(gateway)
        return gateway

    yield build
    for gateway in built:
        gateway.close()


def test_merged_openapi_false_serves_the_modern_apps_own_document(gateway_of: Any) -> None:
    modern = create_modern()
    gateway = gateway_of(modern, merged_openapi=False)
    through = request(gateway, "GET", "/openapi.json")
    assert through.headers["x-served-by"] == "modern"
    assert through.content == request(modern, "GET", "/openapi.json").content


def test_the_root_path_reaches_servers_and_paths_stay_local(gateway_of: Any) -> None:
    modern = create_modern()
    gateway = gateway_of(modern)
    for root_path in ("/api", ""):
        url = f"{root_path}/openapi.json"
        document = request(gateway, "GET", url, root_path=root_path).json()
        own = request(modern, "GET", url, root_path=root_path).json()
        assert set(document["paths"]) == {"/items/{item_id}", "/old"}
        assert document.get("servers") == own.get("servers")
    first = request(create_modern(), "GET", "/api/openapi.json", root_path="/api").json()
    assert first["servers"] == [{"url": "/api"}]


def test_an_openapi_override_of_the_app_is_honoured(gateway_of: Any) -> None:
    modern = create_modern()

    def custom() -> dict[str, Any]:
        if modern.openapi_schema is None:
            from fastapi.openapi.utils import get_openapi

            schema = get_openapi(title="custom title", version="9", routes=modern.routes)
            schema["info"]["x-logo"] = {"url": "/logo.png"}
            modern.openapi_schema = schema
        return modern.openapi_schema

    modern.openapi = custom  # type: ignore[method-assign]
    document = request(gateway_of(modern, state="modern"), "GET", "/openapi.json").json()
    assert document["info"] == {
        "title": "custom title",
        "version": "9",
        "x-logo": {"url": "/logo.png"},
    }
    assert document["paths"]["/items/{item_id}"]["get"][STATE_KEY] == "modern"
    assert document["paths"]["/old"]["get"][STATE_KEY] == "legacy"


def test_a_custom_openapi_url_is_the_one_answered(gateway_of: Any) -> None:
    gateway = gateway_of(create_modern(openapi_url="/api/schema.json"))
    assert "/old" in request(gateway, "GET", "/api/schema.json").json()["paths"]
    assert request(gateway, "GET", "/openapi.json").status_code == 404


def test_the_modern_apps_middleware_answers_first(gateway_of: Any) -> None:
    """A refusal of the modern app's middleware is passed on: never a document it
    would not give, from the gateway's cache or otherwise."""
    modern = create_modern()

    @modern.middleware("http")
    async def guard(request: Request, call_next: Any) -> Any:
        if request.headers.get("authorization") != "Bearer ok":
            return JSONResponse({"detail": "no"}, status_code=401)
        response = await call_next(request)
        response.headers["x-guarded"] = "1"
        return response

    gateway = gateway_of(modern)
    allowed = request(gateway, "GET", "/openapi.json", headers={"Authorization": "Bearer ok"})
    assert allowed.headers["x-guarded"] == "1" and "/old" in allowed.json()["paths"]
    refused = request(gateway, "GET", "/openapi.json")
    assert (refused.status_code, refused.json()) == (401, {"detail": "no"})
    assert refused.headers["x-served-by"] == "modern"


def test_a_compressing_modern_app_is_asked_for_plain_json(gateway_of: Any) -> None:
    modern = create_modern()
    modern.add_middleware(GZipMiddleware, minimum_size=1)
    gateway = gateway_of(modern)

    async def raw() -> tuple[dict[str, str], bytes]:
        transport = httpx.ASGITransport(app=gateway)
        async with httpx.AsyncClient(transport=transport, base_url="http://shop.test") as client:
            headers = {"Accept-Encoding": "gzip"}
            async with client.stream("GET", "/openapi.json", headers=headers) as response:
                return dict(response.headers), b"".join([c async for c in response.aiter_raw()])

    headers, body = asyncio.run(raw())
    assert "content-encoding" not in headers
    assert "/old" in json.loads(body)["paths"]


def test_a_reload_rebuilds_the_document(gateway_of: Any, tmp_path: Path) -> None:
    gateway = gateway_of(create_modern())
    first = request(gateway, "GET", "/openapi.json")
    assert request(gateway, "GET", "/openapi.json").content == first.content
    item = first.json()["paths"]["/items/{item_id}"]["get"]
    assert (item[STATE_KEY], item["operationId"]) == ("legacy", "legacy_item_get")
    write_registry(tmp_path, [{**ROUTES[0], "state": "modern"}])
    assert gateway.watcher.reload()
    item = request(gateway, "GET", "/openapi.json").json()["paths"]["/items/{item_id}"]["get"]
    assert (item[STATE_KEY], item["operationId"]) == ("modern", "item_items__item_id__get")
