"""The legacy context: Flask's request, session, g, current_user and hooks inside a port,
with a login made on legacy honoured on modern and a change made on modern seen by Flask."""

import inspect
import re
from typing import Annotated, Any

import pytest
from compat_client import PortClient
from fastapi import Depends, FastAPI
from fixture_apps.crossing_fastapi import create_port
from fixture_apps.crossing_flask import create_app
from flask import Flask, request

from routeshift.compat import Legacy, LegacyContext
from routeshift.errors import CrossingError


@pytest.fixture
def flask_app() -> Flask:
    return create_app({"WTF_CSRF_TIME_LIMIT": None})


@pytest.fixture
def port(flask_app: Flask) -> PortClient:
    return PortClient(create_port(flask_app))


def login(flask_app: Flask, *, remember: bool = False, user_id: int = 1) -> Any:
    """Log in on the legacy side; the Flask test client holding its cookies."""
    client = flask_app.test_client()
    data = {"id": str(user_id), "remember": "1" if remember else "0", "greeting": "grüß dich"}
    assert client.post("/login", data=data).status_code == 200
    return client


def cookie(client: Any, name: str) -> str:
    found = client.get_cookie(name) if hasattr(client, "get_cookie") else None
    if found is not None:
        return str(found.value)
    for jar_cookie in client.cookie_jar:  # Werkzeug 2.2's test client
        if jar_cookie.name == name:
            return str(jar_cookie.value)
    raise AssertionError(f"no cookie {name}")


def test_a_login_made_on_legacy_is_honoured_by_the_guarded_port(
    flask_app: Flask, port: PortClient
) -> None:
    legacy = login(flask_app, user_id=2)
    session_cookie = cookie(legacy, "session")
    answer = port.get(
        "/api/profile", cookies={"session": session_cookie}, headers={"X-Locale": "de"}
    )
    assert answer.status_code == 200
    assert answer.json() == {"id": 2, "name": "Zoë", "locale": "de"}
    # the legacy view answers the same bytes (the app's own JSON provider, non-ASCII kept)
    expected = legacy.get("/api/profile", headers={"X-Locale": "de"})
    assert answer.content == expected.data
    assert answer.headers["x-legacy-hook"] == "ran"  # after_request ran on the way out


def test_without_a_login_the_guard_refuses_as_the_view_does(
    flask_app: Flask, port: PortClient
) -> None:
    answer = port.get("/api/profile", follow_redirects=False)
    expected = flask_app.test_client().get("/api/profile")
    assert (answer.status_code, answer.headers["location"]) == (
        expected.status_code,
        expected.headers["Location"],
    )
    assert answer.status_code == 302 and "/login" in answer.headers["location"]


def test_a_remember_me_cookie_alone_logs_the_user_in_and_is_refreshed(
    flask_app: Flask, port: PortClient
) -> None:
    legacy = login(flask_app, remember=True)
    remember = cookie(legacy, "remember_token")
    answer = port.get("/api/profile", cookies={"remember_token": remember})
    assert answer.status_code == 200, answer.text
    assert answer.json()["id"] == 1
    # Flask-Login put the user in the session it loaded from the cookie: saved as Flask does
    assert "session=" in answer.headers["set-cookie"]
    flask_side = flask_app.test_client()
    flask_side.set_cookie(
        *(
            ("session", answer.cookies["session"])
            if _new_set_cookie(flask_side)
            else ("localhost", "session", answer.cookies["session"])
        )
    )
    assert flask_side.get("/api/profile").status_code == 200


def _new_set_cookie(client: Any) -> bool:
    """Werkzeug 2.3 changed set_cookie(server_name, key, value) to set_cookie(key, value)."""
    return list(inspect.signature(client.set_cookie).parameters)[0] == "key"


def set_cookie(client: Any, name: str, value: str) -> None:
    if _new_set_cookie(client):
        client.set_cookie(name, value)
    else:
        client.set_cookie("localhost", name, value)


def test_a_logout_on_the_port_is_seen_by_flask(flask_app: Flask, port: PortClient) -> None:
    legacy = login(flask_app)
    answer = port.post("/logout", cookies={"session": cookie(legacy, "session")})
    assert answer.status_code == 200
    after = flask_app.test_client()
    set_cookie(after, "session", answer.cookies["session"])
    assert after.get("/api/profile").status_code == 302  # logged out
    assert after.get("/session").get_json() == {"greeting": "grüß dich"}  # the rest kept


def test_the_before_request_hooks_run_and_their_answer_wins(port: PortClient) -> None:
    assert port.get("/hooks").json() == {"hooks": 1, "app": "fixture_apps.crossing_flask"}
    down = port.get("/hooks", headers={"X-Maintenance": "1"})
    assert (down.status_code, down.text) == (503, "down for maintenance")
    assert down.headers["x-legacy-hook"] == "ran"


def test_a_form_with_a_csrf_token_reaches_flask_wtf_after_fastapi_parsed_it(
    flask_app: Flask, port: PortClient
) -> None:
    legacy = flask_app.test_client()
    page = legacy.get("/notes").get_data(as_text=True)
    token = re.search(r'value="([^"]+)"', page)
    assert token is not None
    session_cookie = cookie(legacy, "session")
    saved = port.post(
        "/notes",
        data={"text": "café", "csrf_token": token.group(1)},
        cookies={"session": session_cookie},
    )
    assert (saved.status_code, saved.json()) == (200, {"saved": "café"})
    refused = port.post("/notes", data={"text": "x"}, cookies={"session": session_cookie})
    assert refused.status_code == 400


def test_url_for_inside_the_context_builds_as_flask_does_below_a_root_path(
    flask_app: Flask,
) -> None:
    answer = PortClient(create_port(flask_app), root_path="/shop").get("/shop/api/items/3")
    assert answer.json() == {"id": 3, "url": "http://testserver/shop/api/items/3"}
    expected = flask_app.test_client().get(
        "/api/items/3",
        environ_overrides={"SCRIPT_NAME": "/shop"},
        base_url="http://testserver/shop",
    )
    assert answer.json()["url"] == expected.get_json()["url"]


def test_the_shadow_flag_reaches_the_legacy_environ(flask_app: Flask) -> None:
    legacy = Legacy(flask_app)
    app = FastAPI()
    legacy.install(app)

    @app.get("/shadow")
    def shadow(ctx: Annotated[LegacyContext, Depends(legacy.context)]) -> Any:
        with ctx:
            return {"shadow": request.environ["routeshift.shadow"]}

    async def as_shadow(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            scope = {**scope, "state": {**scope.get("state", {}), "routeshift_shadow": True}}
        await app(scope, receive, send)

    assert PortClient(as_shadow).get("/shadow").json() == {"shadow": True}
    assert PortClient(app).get("/shadow").json() == {"shadow": False}


def test_the_teardown_runs_even_when_the_port_raises(flask_app: Flask) -> None:
    torn: list[Any] = []
    flask_app.teardown_appcontext(lambda exc: torn.append(type(exc).__name__ if exc else None))
    legacy = Legacy(flask_app)
    app = FastAPI()
    legacy.install(app, errors=False)

    @app.get("/raises")
    def raises(ctx: Annotated[LegacyContext, Depends(legacy.context)]) -> Any:
        with ctx:
            raise ValueError("inside")

    @app.get("/fine")
    def fine(ctx: Annotated[LegacyContext, Depends(legacy.context)]) -> Any:
        with ctx:
            return {}

    client = PortClient(app, raise_app_exceptions=False)
    assert client.get("/raises").status_code == 500
    assert client.get("/fine").status_code == 200
    assert torn == ["ValueError", None]


def test_without_install_the_dependency_says_what_to_do(flask_app: Flask) -> None:
    legacy = Legacy(flask_app)
    app = FastAPI()

    @app.get("/x")
    def x(ctx: Annotated[LegacyContext, Depends(legacy.context)]) -> Any:
        return {}

    with pytest.raises(CrossingError, match=r"legacy\.install\(app\)"):
        PortClient(app).get("/x")
