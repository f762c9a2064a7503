"""/tasks: the port of blueprint `tasks`."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, HTTPException
from sqlalchemy import bindparam, insert, select

from legacy_flask.models import Task, utcnow
from modern_api.deps import Database
from modern_api.schemas import CREATE_TASK_ERRORS, CreateTaskRequest, TaskOut
from routeshift.compat import FlaskJSONResponse, legacy_body_errors

router = APIRouter(prefix="/tasks", tags=["tasks"])


#: the statements, SQLAlchemy Core on legacy's table, built once
TASKS = Task.__table__
TASK_BY_ID = select(TASKS).where(TASKS.c.id == bindparam("task_id"))
INSERT_TASK = insert(Task).values({column.key: bindparam(column.key) for column in TASKS.c})


@router.post(
    "",
    response_model=TaskOut,
    response_class=FlaskJSONResponse,
    status_code=201,
)
@legacy_body_errors(CREATE_TASK_ERRORS)
async def create_task(body: CreateTaskRequest, database: Database) -> FlaskJSONResponse:
    """The new task, queued and committed."""
    task = {
        "id": str(uuid.uuid4()),
        "command": body.command,
        "priority": body.priority,
        "status": "queued",
        "created_at": utcnow(),
    }
    await database.execute(INSERT_TASK, **task)
    return FlaskJSONResponse(TaskOut.model_validate(task), status_code=201)


@router.get("/{task_id}", response_model=TaskOut, response_class=FlaskJSONResponse)
async def get_task(task_id: str, database: Database) -> FlaskJSONResponse:
    row = await database.fetch_one(TASK_BY_ID, task_id=task_id)
    if row is None:
        raise HTTPException(404, detail=f"Task {task_id} not found")
    return FlaskJSONResponse(TaskOut.model_validate(row))
