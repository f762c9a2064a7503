"""legacy_url_for: the URL Flask's url_for builds for the request being answered, from
sync and async handlers, inside and outside a legacy context, below a root path.

No `from __future__ import annotations`: FastAPI reads the handlers' annotations.
"""

from pathlib import Path
from typing import Annotated, Any

import pytest
from compat_client import PortClient
from conftest import write_registry
from fastapi import Depends, FastAPI
from flask import Flask, jsonify, url_for
from werkzeug.routing import BuildError

from routeshift.compat import Legacy, LegacyContext
from routeshift.compat.urls import add_build_only_rules, legacy_url_for
from routeshift.errors import CrossingError
from routeshift.registry.load import load_registry


def legacy_app() -> Flask:
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "urls"

    @app.get("/users/<int:user_id>")
    def user(user_id: int) -> Any:
        return jsonify(
            {
                "self": url_for("user", user_id=user_id, tab="posts", _external=True),
                "page": url_for("page", name="café au lait"),
            }
        )

    @app.get("/pages/<path:name>")
    def page(name: str) -> Any:
        return name

    @app.url_defaults
    def language(endpoint: str, values: dict[str, Any]) -> None:
        if endpoint == "page":
            values.setdefault("lang", "en")

    return app


def port(flask_app: Flask) -> FastAPI:
    legacy = Legacy(flask_app)
    app = FastAPI()
    legacy.install(app)

    @app.get("/users/{user_id}")
    def user(user_id: int) -> Any:
        return {
            "self": legacy_url_for("user", user_id=user_id, tab="posts", _external=True),
            "page": legacy_url_for("page", name="café au lait"),
        }

    @app.get("/async/{user_id}")
    async def async_user(user_id: int) -> Any:
        return {"self": legacy_url_for("user", user_id=user_id, _anchor="top")}

    @app.get("/inside/{user_id}")
    def inside(user_id: int, ctx: Annotated[LegacyContext, Depends(legacy.context)]) -> Any:
        with ctx:
            return {"self": legacy_url_for("user", user_id=user_id)}

    @app.get("/retired")
    def retired() -> Any:
        return {"url": legacy_url_for("old.report", year=2024)}

    @app.get("/unknown")
    def unknown() -> Any:
        return {"url": legacy_url_for("usr", user_id=1)}

    return app


@pytest.mark.parametrize("root_path", ["", "/shop"])
def test_the_url_is_the_one_flask_builds_for_the_request(root_path: str) -> None:
    flask_app = legacy_app()
    answer = PortClient(port(flask_app), root_path=root_path, base_url="http://shop.test:8080")
    got = answer.get(f"{root_path}/users/7").json()
    expected = (
        flask_app.test_client()
        .get("/users/7", base_url=f"http://shop.test:8080{root_path}")
        .get_json()
    )
    assert got == expected
    assert got["self"] == f"http://shop.test:8080{root_path}/users/7?tab=posts"
    assert got["page"] == f"{root_path}/pages/caf%C3%A9%20au%20lait?lang=en"


def test_from_an_async_handler_and_inside_a_context() -> None:
    client = PortClient(port(legacy_app()), root_path="/shop")
    assert client.get("/shop/async/3").json() == {"self": "/shop/users/3#top"}
    assert client.get("/shop/inside/4").json() == {"self": "/shop/users/4"}


def test_a_removed_view_the_registry_lists_is_built_from_its_build_only_rule(
    tmp_path: Path,
) -> None:
    flask_app = legacy_app()
    retired = {
        "endpoint": "old.report",
        "rule": "/reports/<int:year>",
        "methods": ["GET"],
        "state": "modern",
        "retired": True,
    }
    path = write_registry(tmp_path, [retired], legacy_app="x:app", modern_app="x:app")
    assert add_build_only_rules(flask_app, load_registry(path)) == ("old.report",)
    assert PortClient(port(flask_app)).get("/retired").json() == {"url": "/reports/2024"}


def test_an_unknown_endpoint_is_werkzeugs_build_error_with_its_hint(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Raised in the port, answered as the legacy app's 500 and logged by it."""
    with caplog.at_level("ERROR"):
        assert PortClient(port(legacy_app())).get("/unknown").status_code == 500
    (logged,) = [r for r in caplog.records if r.exc_info and r.exc_info[0] is BuildError]
    assert "Did you mean 'user'" in str(logged.exc_info[1])


def test_outside_a_request_it_says_what_to_do() -> None:
    with pytest.raises(CrossingError, match="legacy.install"):
        legacy_url_for("user", user_id=1)
