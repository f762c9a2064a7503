"""/tasks: submit a task to the queue, list the queue, look a task up, as in the article."""

from __future__ import annotations

import uuid

from flask import Blueprint, abort, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from legacy_flask.db import get_db
from legacy_flask.models import Task, utcnow

bp = Blueprint("tasks", __name__)

PRIORITIES = ("low", "normal", "high")
STATUSES = ("queued", "running", "done", "failed")


@bp.route("", methods=["GET"])
def list_tasks() -> ResponseReturnValue:
    query = select(Task).order_by(Task.created_at, Task.id)
    status = request.args.get("status")
    if status is not None:
        if status not in STATUSES:
            abort(400, "status must be queued, running, done, or failed")
        query = query.filter_by(status=status)
    tasks = get_db().scalars(query).all()
    return jsonify({"items": [task.to_dict() for task in tasks], "total": len(tasks)})


@bp.route("", methods=["POST"])
def create_task() -> ResponseReturnValue:
    data = request.get_json(silent=True)
    if not data or not isinstance(data, dict):
        abort(400, "Request body must be JSON")
    if "command" not in data:
        abort(400, "Missing required field: command")
    if not isinstance(data["command"], str) or not data["command"].strip():
        abort(400, "command must be a non-empty string")
    priority = data.get("priority", "normal")
    if priority not in PRIORITIES:
        abort(400, "priority must be low, normal, or high")

    task = Task(
        id=str(uuid.uuid4()),
        command=data["command"].strip(),
        priority=priority,
        status="queued",
        created_at=utcnow(),
    )
    db = get_db()
    db.add(task)
    db.commit()
    return jsonify(task.to_dict()), 201


@bp.route("/<task_id>", methods=["GET"])
def get_task(task_id: str) -> ResponseReturnValue:
    task = get_db().get(Task, task_id)
    if task is None:
        abort(404, f"Task {task_id} not found")
    return jsonify(task.to_dict())
