"""/tasks: the port of blueprint `tasks`."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, HTTPException
from sqlalchemy import Connection, bindparam, select
from sqlalchemy.orm import Session

from legacy_flask.models import Task, utcnow
from modern_api.deps import Database
from modern_api.schemas import CREATE_TASK_ERRORS, CreateTaskRequest, TaskOut
from routeshift.compat import FlaskJSONResponse, legacy_body_errors

router = APIRouter(prefix="/tasks", tags=["tasks"])


#: the read, SQLAlchemy Core on legacy's table, built once
TASKS = Task.__table__
TASK_BY_ID = select(TASKS).where(TASKS.c.id == bindparam("task_id"))


def task_by_id(connection: Connection, task_id: str) -> TaskOut | None:
    """The task of that id as the response model, None when there is none."""
    row = connection.execute(TASK_BY_ID, {"task_id": task_id}).first()
    return None if row is None else TaskOut.model_validate(row)


def add_task(session: Session, body: CreateTaskRequest) -> TaskOut:
    """The new task, queued and committed."""
    task = Task(
        id=str(uuid.uuid4()),
        command=body.command,
        priority=body.priority,
        status="queued",
        created_at=utcnow(),
    )
    session.add(task)
    session.commit()
    return TaskOut.model_validate(task)


@router.post(
    "",
    response_model=TaskOut,
    response_class=FlaskJSONResponse,
    status_code=201,
)
@legacy_body_errors(CREATE_TASK_ERRORS)
async def create_task(body: CreateTaskRequest, database: Database) -> FlaskJSONResponse:
    return FlaskJSONResponse(await database.write(add_task, body), status_code=201)


@router.get("/{task_id}", response_model=TaskOut, response_class=FlaskJSONResponse)
async def get_task(task_id: str, database: Database) -> FlaskJSONResponse:
    task = await database.read(task_by_id, task_id)
    if task is None:
        raise HTTPException(404, detail=f"Task {task_id} not found")
    return FlaskJSONResponse(task)
