"""The HTML home page and the slow report."""

from __future__ import annotations

import time

from flask import Blueprint, jsonify, render_template
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from legacy_flask.db import get_db
from legacy_flask.models import User

bp = Blueprint("main", __name__)


@bp.route("/")
def index() -> ResponseReturnValue:
    users = get_db().scalars(select(User).order_by(User.id)).all()
    return render_template("index.html", users=users)


@bp.route("/slow")
def slow() -> ResponseReturnValue:
    time.sleep(0.05)  # the 50 ms report query
    return jsonify({"result": "done"})
