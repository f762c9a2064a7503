"""`legacy.guard(...)`: a legacy view's own decorators enforced on its port. Every
refusal (a redirect to the login page, a 401 with its WWW-Authenticate, a 403) is
compared with the legacy view's answer to the same request, status, headers and body;
what a guard lets through reaches the handler with `current_user`, `g` and
`auth.current_user()` set inside `with ctx:`."""

import base64
import functools
import re
from collections.abc import Callable
from typing import Annotated, Any

import pytest
from answers import Answer, FlaskClient, assert_same
from compat_client import PortClient
from fastapi import Depends, FastAPI
from fixture_apps import crossing_fastapi, crossing_flask
from flask import Blueprint, Flask, abort, g, jsonify, redirect, session, url_for
from flask_httpauth import HTTPBasicAuth, HTTPTokenAuth
from flask_login import LoginManager, UserMixin, current_user, login_required, login_user

from routeshift.compat import FlaskJSONResponse, Legacy, LegacyContext

TOKENS = {"t-ann": "ann", "t-bob": "bob"}
ROLES = {"ann": ["admin"], "bob": []}
PASSWORDS = {"ann": "secret"}

token = HTTPTokenAuth(scheme="Bearer", realm="api")
basic = HTTPBasicAuth(realm="staff")


@token.verify_token
def verify_token(value: str) -> str | None:
    return TOKENS.get(value)


@token.get_user_roles
def token_roles(user: str) -> list[str]:
    return ROLES[user]


@basic.verify_password
def verify_password(username: str, password: str) -> str | None:
    return username if PASSWORDS.get(username) == password else None


class User(UserMixin):
    def __init__(self, user_id: str) -> None:
        self.id = user_id


def own_login_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """flaskr's own decorator."""

    @functools.wraps(view)
    def wrapped_view(**kwargs: Any) -> Any:
        if g.user is None:
            return redirect(url_for("auth.login"))
        return view(**kwargs)

    return wrapped_view


def forbid(view: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(view)
    def wrapped(**kwargs: Any) -> Any:
        abort(403)

    return wrapped


def make_flask(*, login_view: str | None = "login", config: dict[str, Any] | None = None) -> Flask:
    app = Flask("guarded")
    app.config.update(SECRET_KEY="guard-secret", **(config or {}))
    manager = LoginManager(app)
    manager.login_view = login_view
    manager.user_loader(lambda user_id: User(user_id))
    auth = Blueprint("auth", __name__, url_prefix="/auth")

    @auth.route("/login")
    def login() -> Any:
        return "the login form"

    app.register_blueprint(auth)

    @app.before_request
    def load_logged_in_user() -> None:
        g.user = session.get("user_id")

    @app.errorhandler(403)
    def forbidden(exc: Exception) -> Any:
        return "<h1>You may not</h1>", 403

    @app.route("/login", endpoint="login", methods=["GET", "POST"])
    def flask_login_page() -> Any:
        login_user(User("7"))
        session["user_id"] = "ann"
        return "logged in"

    @app.get("/profile")
    @login_required
    def profile() -> Any:
        return jsonify(id=current_user.get_id() if current_user.is_authenticated else None)

    @app.get("/token/me")
    @token.login_required
    def token_me() -> Any:
        return jsonify(user=token.current_user())

    @app.get("/token/admin")
    @token.login_required(role="admin")
    def token_admin() -> Any:
        return jsonify(user=token.current_user(), admin=True)

    @app.get("/basic/me")
    @basic.login_required
    def basic_me() -> Any:
        return jsonify(user=basic.current_user())

    @app.get("/own/me")
    @own_login_required
    def own_me() -> Any:
        return jsonify(user=g.user)

    @app.get("/forbidden")
    @forbid
    def forbidden_view() -> Any:
        return jsonify(never=True)

    return app


def make_port(flask_app: Flask) -> FastAPI:
    legacy = Legacy(flask_app)
    app = FastAPI()
    legacy.install(app)

    def guarded(*guards: Any) -> Any:
        return Annotated[LegacyContext, Depends(legacy.guard(*guards))]

    @app.get("/profile")
    def profile(ctx: guarded(login_required)) -> Any:  # type: ignore[valid-type]
        with ctx:
            user_id = current_user.get_id() if current_user.is_authenticated else None
            return FlaskJSONResponse({"id": user_id})

    @app.get("/token/me")
    def token_me(ctx: guarded(token.login_required)) -> Any:  # type: ignore[valid-type]
        with ctx:
            return FlaskJSONResponse({"user": token.current_user()})

    @app.get("/token/admin")
    async def token_admin(
        ctx: guarded(token.login_required(role="admin")),  # type: ignore[valid-type]
    ) -> Any:
        user = await ctx.run(token.current_user)
        return FlaskJSONResponse({"user": user, "admin": True})

    @app.get("/basic/me")
    def basic_me(ctx: guarded(basic.login_required)) -> Any:  # type: ignore[valid-type]
        with ctx:
            return FlaskJSONResponse({"user": basic.current_user()})

    @app.get("/own/me")
    def own_me(ctx: guarded(own_login_required)) -> Any:  # type: ignore[valid-type]
        with ctx:
            return FlaskJSONResponse({"user": g.user})

    @app.get("/forbidden")
    def forbidden_view(ctx: guarded(forbid)) -> Any:  # type: ignore[valid-type]
        return FlaskJSONResponse({"never": True})

    return app


class Twins:
    def __init__(self, **kwargs: Any) -> None:
        self.flask_app = make_flask(**kwargs)
        self.legacy = FlaskClient(self.flask_app)
        self.port = PortClient(make_port(self.flask_app))

    def both(self, path: str, **kwargs: Any) -> tuple[Answer, Answer]:
        return self.legacy.get(path, **kwargs), Answer.of(self.port.get(path, **kwargs))

    def logged_in(self) -> dict[str, str]:
        return {"session": self.legacy.post("/login").cookies()["session"].value}


@pytest.fixture
def twins() -> Twins:
    return Twins()


def basic_header(user: str, password: str) -> dict[str, str]:
    pair = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {pair}"}


# --- Flask-Login -------------------------------------------------------------------


def test_login_required_redirects_to_the_login_view_as_the_view_does(twins: Twins) -> None:
    legacy, modern = twins.both("/profile?tab=2")
    assert legacy.status == 302
    assert legacy.header("location") == "/login?next=%2Fprofile%3Ftab%3D2"
    assert_same(legacy, modern)  # the flashed "Please log in" in the same session cookie


def test_login_required_without_a_login_view_is_a_401(twins: Twins) -> None:
    twins = Twins(login_view=None)
    legacy, modern = twins.both("/profile")
    assert legacy.status == 401
    assert_same(legacy, modern)


def test_login_required_lets_a_logged_in_user_through(twins: Twins) -> None:
    cookies = twins.logged_in()
    legacy, modern = twins.both("/profile", cookies=cookies)
    assert (legacy.status, legacy.body) == (200, b'{"id":"7"}\n')
    assert (modern.status, modern.body) == (legacy.status, legacy.body)


def test_login_disabled_lets_everyone_through() -> None:
    twins = Twins(config={"LOGIN_DISABLED": True})
    legacy, modern = twins.both("/profile")
    assert (legacy.status, legacy.body) == (200, b'{"id":null}\n')
    assert (modern.status, modern.body) == (legacy.status, legacy.body)


# --- Flask-HTTPAuth ----------------------------------------------------------------

REFUSED = [
    pytest.param("/token/me", {}, id="token-none"),
    pytest.param("/token/me", {"Authorization": "Bearer wrong"}, id="token-wrong"),
    pytest.param("/token/me", {"Authorization": "Basic eDp5"}, id="token-other-scheme"),
    pytest.param("/token/admin", {}, id="role-no-token"),
    pytest.param("/token/admin", {"Authorization": "Bearer t-bob"}, id="role-missing"),
    pytest.param("/basic/me", {}, id="basic-none"),
    pytest.param("/basic/me", basic_header("ann", "nope"), id="basic-wrong"),
    pytest.param("/basic/me", basic_header("zoë", "x"), id="basic-unknown"),
]


@pytest.mark.parametrize(("path", "headers"), REFUSED)
def test_httpauth_refuses_as_the_view_does(
    twins: Twins, path: str, headers: dict[str, str]
) -> None:
    legacy, modern = twins.both(path, headers=headers)
    assert legacy.status in {401, 403}
    if legacy.status == 401:
        assert legacy.header("www-authenticate") in {'Bearer realm="api"', 'Basic realm="staff"'}
    assert_same(legacy, modern)


ALLOWED = [
    pytest.param("/token/me", {"Authorization": "Bearer t-bob"}, b'{"user":"bob"}\n', id="token"),
    pytest.param(
        "/token/admin",
        {"Authorization": "Bearer t-ann"},
        b'{"admin":true,"user":"ann"}\n',
        id="role",
    ),
    pytest.param("/basic/me", basic_header("ann", "secret"), b'{"user":"ann"}\n', id="basic"),
]


@pytest.mark.parametrize(("path", "headers", "body"), ALLOWED)
def test_httpauth_s_current_user_is_set_inside_the_context(
    twins: Twins, path: str, headers: dict[str, str], body: bytes
) -> None:
    legacy, modern = twins.both(path, headers=headers)
    assert (legacy.status, legacy.body) == (200, body)
    assert (modern.status, modern.body) == (200, body)


# --- the app's own decorators --------------------------------------------------------


def test_an_app_s_own_decorator_sees_g_set_by_the_before_request_hooks(twins: Twins) -> None:
    legacy, modern = twins.both("/own/me")
    assert (legacy.status, legacy.header("location")) == (302, "/auth/login")
    assert_same(legacy, modern)
    cookies = twins.logged_in()
    legacy, modern = twins.both("/own/me", cookies=cookies)
    assert modern.body == legacy.body == b'{"user":"ann"}\n'


def test_a_guard_that_aborts_403_answers_the_app_s_403_handler(twins: Twins) -> None:
    legacy, modern = twins.both("/forbidden")
    assert (legacy.status, legacy.body) == (403, b"<h1>You may not</h1>")
    assert_same(legacy, modern)


def test_the_hooks_run_for_the_guard_and_again_for_the_handler_s_context() -> None:
    """The limit the context's docstring names: a guard dependency and the handler's
    own `with ctx:` each run the before_request hooks (g is fresh in each)."""
    flask_app = make_flask()
    calls: list[str] = []
    flask_app.before_request(lambda: calls.append("hook"))
    legacy = Legacy(flask_app)
    app = FastAPI()
    legacy.install(app)

    @app.get("/own/me")
    def own_me(ctx: Annotated[LegacyContext, Depends(legacy.guard(own_login_required))]) -> Any:
        with ctx:
            return {"user": g.user}

    answer = PortClient(app).get("/own/me")
    assert answer.status_code == 302
    assert calls == ["hook"]  # refused by the guard: the handler never ran
    cookies = {"session": FlaskClient(flask_app).post("/login").cookies()["session"].value}
    calls.clear()
    assert PortClient(app).get("/own/me", cookies=cookies).json() == {"user": "ann"}
    assert calls == ["hook", "hook"]


def test_a_refusal_whose_after_request_hook_fails_still_tears_the_context_down() -> None:
    flask_app = make_flask()
    torn: list[str] = []
    flask_app.teardown_request(lambda exc: torn.append(type(exc).__name__))

    @flask_app.after_request
    def broken(response: Any) -> Any:
        raise LookupError("after_request broke")

    app = make_port(flask_app)
    answer = PortClient(app, raise_app_exceptions=False).get("/forbidden")
    assert answer.status_code == 500
    # the guard's context and the 500's context were both popped, with the error
    assert torn == ["LookupError", "LookupError"]


def test_a_guard_needs_a_decorator() -> None:
    from routeshift.errors import CrossingError

    with pytest.raises(CrossingError, match="at least one view decorator"):
        Legacy(make_flask()).guard()


def test_the_guard_dependency_is_named_after_its_decorators() -> None:
    dependency = Legacy(make_flask()).guard(login_required, own_login_required)
    assert dependency.__name__ == "legacy_guard(login_required, own_login_required)"


# --- the remember-me cookie ----------------------------------------------------------


@pytest.mark.parametrize("refresh", [False, True], ids=["as-set", "refreshed-each-request"])
def test_a_remember_me_cookie_logs_in_and_writes_what_flask_login_writes(refresh: bool) -> None:
    flask_app = crossing_flask.create_app({"REMEMBER_COOKIE_REFRESH_EACH_REQUEST": refresh})
    legacy = FlaskClient(flask_app)
    login = legacy.post("/login", data={"id": "2", "remember": "1"})
    remember = {"remember_token": login.cookies()["remember_token"].value}
    port = PortClient(crossing_fastapi.create_port(flask_app))
    expected = legacy.get("/api/profile", cookies=remember)
    answer = Answer.of(port.get("/api/profile", cookies=remember))
    assert expected.status == 200 and answer.body == expected.body
    assert ("remember_token" in expected.cookies()) is refresh
    assert_same(expected, answer)


def test_a_logout_on_the_port_deletes_the_remember_cookie_as_flask_does() -> None:
    flask_app = crossing_flask.create_app()
    legacy = FlaskClient(flask_app)
    login = legacy.post("/login", data={"id": "1", "remember": "1"})
    cookies = {name: cookie.value for name, cookie in login.cookies().items()}
    port = PortClient(crossing_fastapi.create_port(flask_app))
    expected = legacy.post("/logout", cookies=cookies)
    answer = Answer.of(port.post("/logout", cookies=cookies))
    assert expected.cookies()["remember_token"].attributes["max-age"] == "0"
    assert_same(expected, answer)


# --- Flask-WTF's CSRFProtect, a before_request hook that refuses ----------------------


def test_csrf_protect_s_check_refuses_on_the_port_as_on_legacy() -> None:
    flask_app = crossing_flask.create_app(
        {"WTF_CSRF_CHECK_DEFAULT": True, "WTF_CSRF_TIME_LIMIT": None}
    )
    legacy = FlaskClient(flask_app)
    port = PortClient(crossing_fastapi.create_port(flask_app))
    page = legacy.get("/notes")
    cookies = {"session": page.cookies()["session"].value}
    token = re.search(rb'value="([^"]+)"', page.body)
    assert token is not None
    expected = legacy.post("/notes", data={"text": "x"}, cookies=cookies)
    assert expected.status == 400 and b"The CSRF token is missing." in expected.body
    assert_same(expected, Answer.of(port.post("/notes", data={"text": "x"}, cookies=cookies)))
    wrong = {"text": "x", "csrf_token": "forged"}
    assert_same(
        legacy.post("/notes", data=wrong, cookies=cookies),
        Answer.of(port.post("/notes", data=wrong, cookies=cookies)),
    )
    good = {"text": "café", "csrf_token": token.group(1).decode()}
    saved = port.post("/notes", data=good, cookies=cookies)
    assert (saved.status_code, saved.json()) == (200, {"saved": "café"})
