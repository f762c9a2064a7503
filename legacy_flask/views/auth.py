"""Log in by email into Flask's signed cookie session; /me reads it back.

`POST /logout` was a view here too; its port (modern_api/routers/auth.py) serves it, and
its view was removed once the port was modern and proven (`routeshift sync` marked the
entry retired). `url_for("auth.logout")` still builds /logout behind the gateway, which
puts the rule back as a build-only rule (the home page's logout form uses it)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, jsonify, request, session
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from legacy_flask.db import get_db
from legacy_flask.models import User

bp = Blueprint("auth", __name__)


@bp.route("/login", methods=["POST"])
def login() -> ResponseReturnValue:
    email: Any = request.form.get("email")
    if email is None:
        data = request.get_json(silent=True)
        email = data.get("email") if isinstance(data, dict) else None
    if not isinstance(email, str) or not email.strip():
        abort(400, description="email is required")

    user = get_db().scalar(select(User).filter_by(email=email.strip().lower()))
    if user is None:
        abort(401, description="Unknown email address")
    session.clear()
    session["user_id"] = user.id
    return jsonify(user.to_dict())


@bp.route("/me")
def me() -> ResponseReturnValue:
    user_id = session.get("user_id")
    user = get_db().get(User, user_id) if user_id is not None else None
    if user is None:
        abort(401, description="Not logged in")
    return jsonify(user.to_dict())
