"""/users: list, read and create users, validated by hand."""

from __future__ import annotations

from flask import Blueprint, abort, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from legacy_flask.db import get_db
from legacy_flask.models import MAX_ID, User

bp = Blueprint("users", __name__)

ROLES = ("user", "admin", "moderator")
MAX_PER_PAGE = 100


@bp.route("", methods=["GET"])
def list_users() -> ResponseReturnValue:
    page = request.args.get("page", 1, type=int)
    per_page = min(request.args.get("per_page", 20, type=int), MAX_PER_PAGE)
    if page < 1 or per_page < 1:
        abort(400, description="page and per_page must be positive integers")

    db = get_db()
    total = db.scalar(select(func.count()).select_from(User))
    users = db.scalars(
        select(User).order_by(User.id).offset((page - 1) * per_page).limit(per_page)
    ).all()
    return jsonify(
        {
            "items": [user.to_dict() for user in users],
            "page": page,
            "per_page": per_page,
            "total": total,
        }
    )


@bp.route("/<int:user_id>", methods=["GET"])
def get_user(user_id: int) -> ResponseReturnValue:
    user = get_db().get(User, user_id) if user_id <= MAX_ID else None
    if user is None:
        abort(404, description=f"User {user_id} not found")
    return jsonify(user.to_dict())


@bp.route("", methods=["POST"])
def create_user() -> ResponseReturnValue:
    data = request.get_json(silent=True)
    if not data or not isinstance(data, dict):
        abort(400, description="Request body must be a JSON object")

    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        abort(400, description="name must be a non-empty string")
    email = data.get("email")
    if not isinstance(email, str) or not email.strip():
        abort(400, description="email must be a non-empty string")
    age = data.get("age")
    if age is not None and (
        not isinstance(age, int) or isinstance(age, bool) or not 0 <= age <= 150
    ):
        abort(400, description="age must be an integer between 0 and 150")
    role = data.get("role", "user")
    if role not in ROLES:
        abort(400, description="role must be one of user, admin, moderator")

    email = email.strip().lower()
    db = get_db()
    if db.scalar(select(User).filter_by(email=email)) is not None:
        abort(409, description=f"A user with email {email} already exists")
    user = User(name=name.strip(), email=email, age=age, role=role)
    db.add(user)
    try:
        db.commit()
    except IntegrityError:
        db.rollback()
        abort(409, description=f"A user with email {email} already exists")
    return jsonify(user.to_dict()), 201
