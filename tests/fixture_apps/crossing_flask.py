"""A legacy app with the machinery a crossing must carry over, the way real apps use it.

- Flask-Login (`login_required`, remember-me cookie), a `before_app_request` hook that
  sets `g.locale` and counts requests in `g`, an `after_request` hook that adds a header;
- an `api` blueprint with its own `errorhandler(HTTPException)` (JSON), and an app-wide
  `errorhandler(404)` that renders an HTML page needing `current_user`, `g.locale` and
  the flashed messages (it wins over the blueprint's class handler for 404, as Flask
  resolves handlers by code first);
- a Flask-WTF form with a CSRF token;
- a custom JSON provider (sets become sorted lists, non-ASCII kept);
- views that move: `api.profile` (GET /api/profile), `api.item` (GET /api/items/<int:id>).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import (
    Blueprint,
    Flask,
    abort,
    flash,
    g,
    get_flashed_messages,
    jsonify,
    render_template_string,
    request,
    session,
    url_for,
)
from flask.json.provider import DefaultJSONProvider
from flask_login import (
    LoginManager,
    UserMixin,
    current_user,
    login_required,
    login_user,
    logout_user,
)
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFProtect
from werkzeug.exceptions import HTTPException
from wtforms import StringField

SECRET_KEY = "crossing-test-secret"


class User(UserMixin):
    def __init__(self, user_id: int, name: str) -> None:
        self.id = user_id
        self.name = name


USERS = {1: User(1, "Ann"), 2: User(2, "Zoë")}


class SortedSetsJSON(DefaultJSONProvider):
    """A custom provider: sets as sorted lists, non-ASCII kept as it is."""

    ensure_ascii = False

    @staticmethod
    def default(o: Any) -> Any:
        if isinstance(o, set | frozenset):
            return sorted(o)
        return DefaultJSONProvider.default(o)


class NoteForm(FlaskForm):
    text = StringField("text")


NOT_FOUND_PAGE = (
    "<h1>Not here</h1><p>user={{ user }} locale={{ g.locale }}</p>"
    "{% for m in get_flashed_messages() %}<p class=flash>{{ m }}</p>{% endfor %}"
)

api = Blueprint("api", __name__, url_prefix="/api")


@api.errorhandler(HTTPException)
def api_error(exc: HTTPException) -> Any:
    return jsonify(error=exc.name, message=exc.description, code=exc.code), exc.code


@api.route("/profile")
@login_required
def profile() -> Any:
    return jsonify(id=current_user.id, name=current_user.name, locale=g.locale)


@api.route("/items/<int:item_id>")
def item(item_id: int) -> Any:
    if item_id > 10:
        abort(410, description=f"item {item_id} is gone")
    return jsonify(id=item_id, url=url_for("api.item", item_id=item_id, _external=True))


def create_app(config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__)
    app.json_provider_class = SortedSetsJSON
    app.json = SortedSetsJSON(app)
    app.config.update(
        SECRET_KEY=SECRET_KEY,
        REMEMBER_COOKIE_DURATION=timedelta(days=7),
        PERMANENT_SESSION_LIFETIME=timedelta(days=31),
        WTF_CSRF_CHECK_DEFAULT=False,  # the form checks its token itself (validate_on_submit)
    )
    app.config.update(config or {})
    CSRFProtect(app)
    login = LoginManager(app)
    login.login_view = "login"

    @login.user_loader
    def load_user(user_id: str) -> User | None:
        return USERS.get(int(user_id))

    @app.before_request
    def locale() -> Any:
        g.locale = request.headers.get("X-Locale", "en")
        g.hooks = g.get("hooks", 0) + 1
        if request.headers.get("X-Maintenance"):
            return "down for maintenance", 503
        return None

    @app.after_request
    def stamp(response: Any) -> Any:
        response.headers["X-Legacy-Hook"] = "ran"
        return response

    @app.errorhandler(404)
    def not_found(exc: HTTPException) -> Any:
        user = current_user.name if current_user.is_authenticated else "anonymous"
        return render_template_string(NOT_FOUND_PAGE, user=user), 404

    def login_view() -> Any:
        if request.method == "GET":
            return "please log in", 200
        user = USERS.get(int(request.form.get("id", "0") or 0))
        if user is None:
            abort(401)
        login_user(user, remember=request.form.get("remember") == "1")
        session["greeting"] = request.form.get("greeting", "hello")
        flash("welcome back")
        return jsonify(ok=True)

    app.add_url_rule("/login", endpoint="login", view_func=login_view, methods=["GET", "POST"])

    @app.route("/logout", methods=["POST"])
    def logout() -> Any:
        logout_user()
        return jsonify(ok=True)

    @app.route("/session")
    def show_session() -> Any:
        return jsonify({k: v for k, v in session.items() if not k.startswith("_")})

    @app.route("/notes", methods=["GET", "POST"])
    def notes() -> Any:
        form = NoteForm()
        if form.validate_on_submit():
            return jsonify(saved=form.text.data)
        return render_template_string("<form>{{ form.csrf_token }}</form>", form=form)

    @app.route("/flash")
    def flash_view() -> Any:
        return jsonify(messages=get_flashed_messages())

    app.register_blueprint(api)
    return app


app = create_app()
